// Workers on several brokers: each worker serves two brokers at once, a
// center with both endpoints loses the first to SIGKILL and goes on through
// the second within a stated bound, nothing acknowledged is lost or doubled,
// and the restarted broker gets its workers back without restarting them.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_PHASE 20
// The client's wait per attempt: the failover bound is about one of these.
#define ATTEMPT_MS  1000
#define FAILOVER_MS 5000 // what docs/OPERATIONS.md promises with defaults

static const char *const services[] = {"SOC-02", "PRV-02", "RHB-02"};

// Submits r through c and asserts it was accepted.
static void
submit_accepted(cli_center *c, it_request *r)
{
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_submit(c, &r->req, ATTEMPT_MS, 5, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->request_id, r->request_id);
    rr_wire_free(reply);
}

static void
test_center_fails_over_to_the_second_broker_within_five_seconds_and_nothing_is_doubled(void **state)
{
    (void) state;
    it_stack a, b;
    it_stack_init(&a, "multibroker_a", 47);
    it_broker_start(&a, NULL);
    it_stack_init(&b, "multibroker_b", 48);
    it_broker_start(&b, NULL);

    // One worker per domain, each with both brokers in its --broker list
    // (it_worker_start passes s->backend; a's own is put back afterwards).
    char own[sizeof a.backend], both[sizeof a.backend];
    memcpy(own, a.backend, sizeof own);
    assert_true(snprintf(both, sizeof both, "%s,%s", a.backend, b.backend) < (int) sizeof both);
    memcpy(a.backend, both, sizeof both);
    for (int i = 0; i < 3; i++) {
        static const char *const domains[] = {"prevention", "rehabilitation", "social"};
        it_worker_start(&a, domains[i], NULL);
    }
    memcpy(a.backend, own, sizeof own);
    // Each broker's metrics say which workers are attached to it: all three.
    assert_true(it_wait_workers(&a, 3, 30000));
    assert_true(it_wait_workers(&b, 3, 30000));

    const char *eps[] = {a.frontend, b.frontend};
    cli_center *c = cli_center_new(eps, 2);
    assert_non_null(c);
    static it_request r[2 * PER_PHASE + 1];
    char tag[32];
    for (int i = 0; i < PER_PHASE; i++) {
        snprintf(tag, sizeof tag, "mb-a-%d", i);
        it_request_init(&r[i], 941, services[i % 3], tag);
        submit_accepted(c, &r[i]);
    }
    // The center used the first endpoint only.
    assert_true(it_wait_metric_equal(&a, "referral_submissions_total", PER_PHASE, 5000));
    assert_true(it_wait_metric_equal(&b, "referral_submissions_total", 0, 1000));

    long long killed = it_now_ms();
    assert_int_equal(it_proc_stop(&a.broker, SIGKILL, 5000), 128 + SIGKILL);
    it_request_init(&r[PER_PHASE], 941, services[0], "mb-first-after-kill");
    submit_accepted(c, &r[PER_PHASE]);
    long long failover_ms = it_now_ms() - killed;
    print_message("kill to next acknowledgement: %lld ms (attempt timeout %d ms)\n", failover_ms,
                  ATTEMPT_MS);
    assert_true(failover_ms < FAILOVER_MS);

    for (int i = PER_PHASE + 1; i < 2 * PER_PHASE + 1; i++) {
        snprintf(tag, sizeof tag, "mb-b-%d", i);
        it_request_init(&r[i], 941, services[i % 3], tag);
        submit_accepted(c, &r[i]);
    }
    assert_true(it_wait_metric_equal(&b, "referral_submissions_total", PER_PHASE + 1, 5000));

    // Every acknowledged request recorded exactly once.
    PGconn *db = it_db(&a);
    for (int i = 0; i < 2 * PER_PHASE + 1; i++) {
        const char *p[] = {r[i].request_id};
        assert_int_equal(
            it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    }
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL), 2 * PER_PHASE + 1);
    PQfinish(db);

    // Broker a restarted: the same worker processes register with it again
    // (their sessions with a reconnect on their own), still serving b.
    it_broker_start(&a, NULL);
    assert_true(it_wait_workers(&a, 3, 15000));
    assert_true(it_wait_metric_equal(&b, "referral_workers_registered", 3, 1000));
    for (int i = 0; i < 3; i++) {
        assert_true(a.workers[i].pid > 0);
    }

    cli_center_destroy(&c);
    assert_true(it_stack_stop(&a)); // the workers, then broker a
    assert_true(it_stack_stop(&b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_center_fails_over_to_the_second_broker_within_five_seconds_and_nothing_is_doubled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
