// Failures on purpose: a worker that dies holding a request, a full queue,
// a broker killed and restarted, PostgreSQL stopped and started. Nothing
// acknowledged is lost or doubled, and every refusal is explicit.
#include "cli_center.h"
#include "it_harness.h"
#include "it_raw.h"
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

static void *ctx;

static void
test_request_of_a_dead_worker_goes_to_another_and_its_late_reply_is_dropped(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "deadworker", 2);
    const char *fast[] = {"--heartbeat-ms", "100", "--liveness", "3", NULL};
    it_broker_start(&s, fast);

    // A fake worker registers for "social" and takes the request.
    void *fake = it_fake_worker(ctx, s.backend, RR__V1__DOMAIN__DOMAIN_SOCIAL, 1, 0);
    assert_true(it_wait_workers(&s, 1, 10000));

    void *center = it_raw_socket(ctx, s.frontend);
    it_request r;
    it_request_init(&r, 941, "SOC-02", "dead");
    it_raw_submit(center, &r.req);

    rr_wire_work w;
    assert_true(it_fake_request(fake, 10000, &w));
    uint64_t delivery = w.delivery_id;
    assert_int_equal(w.request, RR_CMD_SUBMIT);
    rr_wire_work_close(&w);

    // The fake goes silent. A real worker joins; the broker must declare the
    // fake dead and hand the request over.
    const char *wfast[] = {"--heartbeat-ms", "100", NULL};
    it_worker_start(&s, "social", wfast);
    Rr__V1__SubmitReply *reply = it_raw_submit_reply(center, 15000);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->request_id, r.request_id);
    rr_wire_free(reply);
    assert_true(it_wait_metric(&s, "referral_workers_expired_total{domain=\"social\"}", 1, 5000));

    // Its late reply must not reach the center a second time.
    it_fake_reply(fake, delivery, RR__V1__OUTCOME__OUTCOME_ACCEPTED, "late", 4);
    assert_null(it_raw_submit_reply(center, 1000));

    PGconn *db = it_db(&s);
    const char *p[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    PQfinish(db);
    zmq_close(fake);
    zmq_close(center);
    assert_true(it_stack_stop(&s));
}

static void
test_full_queue_answers_busy_at_once_and_shutdown_answers_the_queued(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "busy", 3);
    const char *small[] = {"--queue-max", "2", "--retry-after-ms", "750", NULL};
    it_broker_start(&s, small);
    void *center = it_raw_socket(ctx, s.frontend);
    it_request r[3];
    for (int i = 0; i < 3; i++) {
        char tag[8];
        snprintf(tag, sizeof tag, "b%d", i);
        it_request_init(&r[i], 941, "SOC-04", tag);
        it_raw_submit(center, &r[i].req);
    }
    // No worker: two wait, the third is refused at once.
    long long t0 = it_now_ms();
    Rr__V1__SubmitReply *reply = it_raw_submit_reply(center, 2000);
    assert_non_null(reply);
    assert_true(it_now_ms() - t0 < 2000);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_string_equal(reply->request_id, r[2].request_id);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EBUSY);
    assert_int_equal(reply->retry_after_ms, 750);
    rr_wire_free(reply);
    assert_null(it_raw_submit_reply(center, 300));

    // Another domain is not affected by the full social queue.
    it_request other;
    it_request_init(&other, 941, "PRV-05", "other");
    it_raw_submit(center, &other.req);
    assert_null(it_raw_submit_reply(center, 300)); // queued, not refused

    // SIGTERM: queued requests are answered busy, none is dropped silently.
    assert_int_equal(kill(s.broker.pid, SIGTERM), 0);
    int shutdown_replies = 0;
    while ((reply = it_raw_submit_reply(center, 5000)) != NULL) {
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
        assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_ESHUTDOWN);
        shutdown_replies++;
        rr_wire_free(reply);
        if (shutdown_replies == 3) {
            break;
        }
    }
    assert_int_equal(shutdown_replies, 3);
    zmq_close(center);
    assert_true(it_stack_stop(&s));
}

static Rr__V1__SubmitReply *
submit_with(cli_center *c, const Rr__V1__SubmitRequest *req, long timeout_ms, int attempts)
{
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    if (cli_center_submit(c, req, timeout_ms, attempts, &reply, &err) != RR_OK) {
        return NULL;
    }
    return reply;
}

static void
test_worker_reregisters_after_the_broker_is_killed_and_restarted(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "brokerkill", 4);
    const char *fast[] = {"--heartbeat-ms", "200", NULL};
    it_broker_start(&s, fast);
    const char *wfast[] = {"--heartbeat-ms", "200", NULL};
    it_worker_start(&s, "rehabilitation", wfast);
    assert_true(it_wait_workers(&s, 1, 10000));
    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request a;
    it_request_init(&a, 2441, "RHB-04", "before");
    Rr__V1__SubmitReply *reply = submit_with(c, &a.req, 5000, 3);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);

    assert_true(it_proc_stop(&s.broker, SIGKILL, 5000) == 128 + SIGKILL);
    it_broker_start(&s, fast);
    it_request b;
    it_request_init(&b, 2441, "RHB-04", "after");
    reply = submit_with(c, &b.req, 2000, 10);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    cli_center_destroy(&c);

    PGconn *db = it_db(&s);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL), 2);
    PQfinish(db);
    assert_true(it_stack_stop(&s));
}

static void
test_database_outage_answers_busy_and_the_worker_resumes_after(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "pgdown", 5);
    it_broker_start(&s, NULL);
    it_worker_start(&s, "prevention", NULL);
    assert_true(it_wait_workers(&s, 1, 10000));
    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request warm;
    it_request_init(&warm, 5165, "PRV-06", "warm");
    Rr__V1__SubmitReply *reply = submit_with(c, &warm.req, 5000, 3);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);

    assert_true(it_pg_ctl("stop"));
    it_request r;
    it_request_init(&r, 5165, "PRV-06", "outage");
    reply = submit_with(c, &r.req, 5000, 1);
    // Never a false acknowledgement: busy with the database's status if the
    // worker met the outage with this request; if it noticed first, it has
    // left the broker, which holds the request and reports not ready.
    bool left = reply == NULL && it_wait_http(&s, "/readyz", 503, "prevention", 1000);
    bool pg_started = it_pg_ctl("start");
    assert_true(pg_started);
    if (!left) {
        assert_non_null(reply);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
        assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EDB);
        assert_true(reply->retry_after_ms > 0);
        rr_wire_free(reply);
    }

    // The same request, retried, is recorded once the database is back.
    reply = submit_with(c, &r.req, 5000, 20);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    cli_center_destroy(&c);

    PGconn *db = it_db(&s);
    const char *p[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    PQfinish(db);
    assert_true(it_stack_stop(&s));
}

// Sets the fixture cluster's default_transaction_read_only ("on", or NULL
// for its default) and reloads: every session's next transaction is
// read-only, as on a primary demoted to a standby without a restart.
static void
cluster_read_only(const it_stack *s, const char *value)
{
    char admin[700], sql[128];
    (void) snprintf(admin, sizeof admin, "host=%s user=postgres dbname=postgres", s->pghost);
    PGconn *conn = PQconnectdb(admin);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    (void) snprintf(sql, sizeof sql,
                    value ? "ALTER SYSTEM SET default_transaction_read_only = %s"
                          : "ALTER SYSTEM RESET default_transaction_read_only%s",
                    value ? value : "");
    it_db_exec(conn, sql);
    assert_int_equal(it_db_scalar(conn, "SELECT pg_reload_conf()::int", 0, NULL), 1);
    PQfinish(conn);
    it_sleep_ms(300); // sessions take the reload at their next command
}

static it_stack readonly_stack;

// The cluster writable again whatever happened in the test.
static int
writable_again(void **state)
{
    (void) state;
    cluster_read_only(&readonly_stack, NULL);
    return 0;
}

// A server that turns read-only under an open connection (SQLSTATE 25006:
// a primary demoted in place) is left: the request is answered busy (EDB),
// never acknowledged, the worker says it connects again, and once writes
// are possible the same request is recorded once.
static void
test_a_worker_whose_server_turns_read_only_connects_again(void **state)
{
    (void) state;
    it_stack *s = &readonly_stack;
    it_stack_init(s, "readonly", 68);
    it_broker_start(s, NULL);
    it_worker_start(s, "prevention", NULL);
    assert_true(it_wait_workers(s, 1, 10000));
    const char *eps[] = {s->frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request warm;
    it_request_init(&warm, 5165, "PRV-06", "ro-warm");
    Rr__V1__SubmitReply *reply = submit_with(c, &warm.req, 5000, 3);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);

    cluster_read_only(s, "on");
    it_request r;
    it_request_init(&r, 5165, "PRV-06", "ro");
    reply = submit_with(c, &r.req, 5000, 1);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EDB);
    rr_wire_free(reply);
    assert_true(it_file_count(s->workers[0].log, "SQLSTATE 25006", 1));
    assert_true(it_file_count(s->workers[0].log, "connecting again, to the primary", 1));

    cluster_read_only(s, NULL);
    reply = submit_with(c, &r.req, 5000, 20);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    cli_center_destroy(&c);
    PGconn *db = it_db(s);
    const char *p[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    PQfinish(db);
    assert_true(it_stack_stop(s));
}

// A broker (broker_opts) and one social worker (worker_opts), registered,
// and a center socket that has had one request accepted, so the worker's
// connection and catalogue are warm. Returns the center socket.
static void *
start_social(it_stack *s, const char *name, int slot, const char *const *broker_opts,
             const char *const *worker_opts)
{
    it_stack_init(s, name, slot);
    it_broker_start(s, broker_opts);
    it_worker_start(s, "social", worker_opts);
    assert_true(it_wait_workers(s, 1, 10000));
    void *center = it_raw_socket(ctx, s->frontend);
    it_request warm;
    it_request_init(&warm, 941, "SOC-08", "warm");
    it_raw_submit(center, &warm.req);
    Rr__V1__SubmitReply *reply = it_raw_submit_reply(center, 10000);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    return center;
}

static void
test_a_worker_waiting_on_a_locked_table_keeps_its_heartbeats_and_answers_once(void **state)
{
    (void) state;
    it_stack s;
    const char *fast[] = {"--heartbeat-ms", "200", NULL};
    void *center = start_social(&s, "slowdb", 6, fast, fast);
    Rr__V1__SubmitReply *reply = NULL;

    // Hold the table for ten heartbeat intervals: the worker waits on it.
    PGconn *locker = it_db(&s);
    it_db_exec(locker, "BEGIN");
    it_db_exec(locker, "LOCK TABLE referral IN ACCESS EXCLUSIVE MODE");
    it_request r;
    it_request_init(&r, 941, "SOC-08", "locked");
    it_raw_submit(center, &r.req);
    assert_null(it_raw_submit_reply(center, 2000));
    it_db_exec(locker, "ROLLBACK");
    PQfinish(locker);

    reply = it_raw_submit_reply(center, 10000);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->request_id, r.request_id);
    rr_wire_free(reply);
    assert_null(it_raw_submit_reply(center, 500)); // exactly one answer
    it_sleep_ms(300);                              // a published snapshot newer than the answer
    assert_true(it_metric(&s, "referral_workers_expired_total") == 0);
    assert_true(it_metric(&s, "referral_late_replies_total") == 0);
    PGconn *db = it_db(&s);
    const char *p[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    PQfinish(db);
    zmq_close(center);
    assert_true(it_stack_stop(&s));
}

// Holds the referral table locked so that a worker's commit waits; returns
// the locking connection (ROLLBACK and PQfinish it to let go).
static PGconn *
lock_referrals(it_stack *s)
{
    PGconn *locker = it_db(s);
    it_db_exec(locker, "BEGIN");
    it_db_exec(locker, "LOCK TABLE referral IN ACCESS EXCLUSIVE MODE");
    return locker;
}

static void
release(PGconn *locker)
{
    it_db_exec(locker, "ROLLBACK");
    PQfinish(locker);
}

static void
test_sigterm_on_a_worker_finishes_its_request_replies_and_deregisters(void **state)
{
    (void) state;
    it_stack s;
    void *center = start_social(&s, "workerterm", 11, NULL, NULL);
    Rr__V1__SubmitReply *reply = NULL;

    PGconn *locker = lock_referrals(&s);
    it_request r;
    it_request_init(&r, 941, "SOC-01", "term");
    it_raw_submit(center, &r.req);
    // The worker now waits on the lock with the request in hand.
    assert_true(
        it_wait_metric(&s, "referral_queue_inflight_requests{domain=\"social\"}", 1, 10000));
    assert_int_equal(kill(s.workers[0].pid, SIGTERM), 0);
    release(locker);
    reply = it_raw_submit_reply(center, 10000);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->request_id, r.request_id);
    rr_wire_free(reply);
    assert_int_equal(it_proc_stop(&s.workers[0], SIGTERM, 10000), 0); // exits cleanly
    // It said goodbye (gone at once, not expired) holding nothing to requeue.
    long long deadline = it_now_ms() + 5000;
    while (it_metric(&s, "referral_workers_registered") != 0 && it_now_ms() < deadline) {
        it_sleep_ms(50);
    }
    assert_true(it_metric(&s, "referral_workers_registered") == 0);
    assert_true(it_metric(&s, "referral_workers_expired_total") == 0);
    assert_true(it_metric(&s, "referral_redelivered_total") == 0);
    zmq_close(center);
    assert_true(it_stack_stop(&s));
}

static void
test_sigterm_on_the_broker_lets_in_flight_replies_through_then_exits(void **state)
{
    (void) state;
    it_stack s;
    const char *drain[] = {"--drain-ms", "10000", NULL};
    void *center = start_social(&s, "brokerterm", 12, drain, NULL);
    Rr__V1__SubmitReply *reply = NULL;

    PGconn *locker = lock_referrals(&s);
    it_request r;
    it_request_init(&r, 941, "SOC-01", "in-flight");
    it_raw_submit(center, &r.req);
    // Delivered: the worker waits on the lock.
    assert_true(
        it_wait_metric(&s, "referral_queue_inflight_requests{domain=\"social\"}", 1, 10000));
    assert_int_equal(kill(s.broker.pid, SIGTERM), 0);
    assert_true(it_wait_http(&s, "/readyz", 503, "stopping", 10000));
    // A new request while the broker drains: busy at once.
    it_request late;
    it_request_init(&late, 941, "SOC-01", "late");
    it_raw_submit(center, &late.req);
    reply = it_raw_submit_reply(center, 5000);
    assert_non_null(reply);
    assert_string_equal(reply->request_id, late.request_id);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_ESHUTDOWN);
    rr_wire_free(reply);
    release(locker);
    // The in-flight one still gets its acknowledgement, then the broker exits.
    reply = it_raw_submit_reply(center, 10000);
    assert_non_null(reply);
    assert_string_equal(reply->request_id, r.request_id);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    assert_int_equal(it_proc_stop(&s.broker, SIGTERM, 10000), 0);
    zmq_close(center);
    assert_true(it_stack_stop(&s));
}

static int
setup(void **state)
{
    (void) state;
    ctx = zmq_ctx_new();
    return ctx ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    zmq_ctx_term(ctx);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_request_of_a_dead_worker_goes_to_another_and_its_late_reply_is_dropped),
        cmocka_unit_test(test_full_queue_answers_busy_at_once_and_shutdown_answers_the_queued),
        cmocka_unit_test(test_worker_reregisters_after_the_broker_is_killed_and_restarted),
        cmocka_unit_test(test_database_outage_answers_busy_and_the_worker_resumes_after),
        cmocka_unit_test_teardown(test_a_worker_whose_server_turns_read_only_connects_again,
                                  writable_again),
        cmocka_unit_test(
            test_a_worker_waiting_on_a_locked_table_keeps_its_heartbeats_and_answers_once),
        cmocka_unit_test(test_sigterm_on_a_worker_finishes_its_request_replies_and_deregisters),
        cmocka_unit_test(test_sigterm_on_the_broker_lets_in_flight_replies_through_then_exits),
    };
    return cmocka_run_group_tests_name("integration.failover", tests, setup, teardown);
}
