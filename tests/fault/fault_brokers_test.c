// Fault test across brokers (issue 17): two brokers, every worker serving
// both (--broker A,B), centers with both endpoints (half of them trying A
// first, half B) under 500 requests/s; broker A is killed with SIGKILL.
// Nothing acknowledged is lost or doubled, and A's centers are served by B
// within the stated bound: their attempt timeout (1 s here) plus a resend.
#include "fault_load.h"
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

enum { RATE = 500, CLIENTS = 10, ATTEMPT_MS = 1000, BOUND_MS = 5000 };

static const char *const fast[] = {"--heartbeat-ms", "200", NULL};

static void
test_one_of_two_brokers_killed_under_load(void **state)
{
    (void) state;
    it_stack a, b;
    it_stack_init(&a, "two_brokers_a", 52);
    it_broker_start(&a, fast);
    it_stack_init(&b, "two_brokers_b", 53);
    it_broker_start(&b, fast);
    // The workers take a's database and both back ends (it_worker_start
    // passes s->backend: a's own is put back afterwards).
    char own[sizeof a.backend];
    memcpy(own, a.backend, sizeof own);
    assert_true(snprintf(a.backend, sizeof a.backend, "%s,%s", own, b.backend) <
                (int) sizeof a.backend);
    static const char *const domains[] = {"prevention", "rehabilitation", "social"};
    for (int i = 0; i < 3; i++) {
        it_worker_start(&a, domains[i], fast);
    }
    memcpy(a.backend, own, sizeof own);
    assert_true(it_wait_workers(&a, 3, 30000));
    assert_true(it_wait_workers(&b, 3, 30000));

    const char *eps[] = {a.frontend, b.frontend};
    fault_load_opts o = {.endpoints = eps,
                         .nendpoints = 2,
                         .clients = CLIENTS,
                         .rate = RATE,
                         .budget_ms = 30000,
                         .attempt_ms = ATTEMPT_MS,
                         .tag = "TB"};
    fault_load *load = fault_load_start_with(&a, &o);
    assert_non_null(load);
    long long deadline = it_now_ms() + 20000;
    while (fault_load_acked(load) < 1500 && it_now_ms() < deadline) {
        it_sleep_ms(20);
    }
    assert_true(fault_load_acked(load) >= 1500);
    // Both brokers carried the load before the kill.
    double on_a = it_metric(&a, "referral_submissions_total");
    double on_b = it_metric(&b, "referral_submissions_total");
    assert_true(on_a > 300 && on_b > 300);
    fault_load_mark(load);
    assert_int_equal(it_proc_stop(&a.broker, SIGKILL, 5000), 128 + SIGKILL);
    long before = fault_load_acked(load);
    it_sleep_ms(4000);
    fault_report r;
    // Reconciled on the workers' database (a's), with b's counters (a is gone).
    memcpy(b.conninfo, a.conninfo, sizeof b.conninfo);
    fault_load_settle(&load, &b, "one_of_two_brokers_killed", &r);
    printf("# before the kill: %.0f submissions through a, %.0f through b\n", on_a, on_b);
    assert_true(r.acked > before + 1000); // b went on serving everyone
    assert_int_equal(r.gave_up, 0);
    // a's centers were waiting on it: each was served through b within the
    // bound (the slowest request of the fault is the failover time).
    assert_true(r.max_during_ms < BOUND_MS);
    assert_true(it_stack_stop(&a)); // the workers (a's broker is gone)
    assert_true(it_stack_stop(&b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_of_two_brokers_killed_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
