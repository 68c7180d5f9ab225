// Fault tests across PostgreSQL servers: a pg_auto_failover formation
// (deploy/ha/formation.sh: a monitor, a primary and two standbys, one of
// which must confirm every commit) under the real broker and workers, whose
// --db is the formation's multi-host conninfo (target_session_attrs =
// read-write). Each test has a database of its own, copied from the
// migrated "referral" on the primary, and ends with the usual
// reconciliation (fault_load.h) on whichever server is primary then.
//
// RR_HA_TRIALS=N repeats the failover and the switchover N times (default
// 1; the closing figures of issue 17 come from N=5), printing each trial's
// outage and their median.
#include "cli_center.h"
#include "fault_load.h"
#include "it_harness.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT = 51, RATE = 500, CLIENTS = 10, BUDGET_MS = 60000, MAX_TRIALS = 20 };

// Broker and workers notice a lost peer within 3 × 200 ms.
static const char *const fast[] = {"--heartbeat-ms", "200", NULL};
static const char *const domains[] = {"prevention", "rehabilitation", "social"};

static char env[2048];      // the formation's settings, as shell assignments
static char script[1024];   // deploy/ha/formation.sh
static char formation[700]; // its conninfo (dbname=referral)
static it_stack stack;

static int
run_formation(const char *verb, char *out, size_t cap)
{
    return it_run(out, cap, "%s '%s' %s", env, script, verb);
}

static void
formation_or_fail(const char *verb)
{
    static char out[65536];
    int rc = run_formation(verb, out, sizeof out);
    if (rc != 0) {
        fprintf(stderr, "# formation.sh %s exited %d:\n%s\n", verb, rc, out);
    }
    assert_int_equal(rc, 0);
}

static int
setup(void **state)
{
    (void) state;
    const char *db_dir = getenv("RR_DB_DIR"), *ctl = getenv("RR_CTL_BIN");
    const char *logs = getenv("RR_IT_LOGDIR"), *base = getenv("RR_IT_PORT_BASE");
    if (db_dir == NULL || ctl == NULL || logs == NULL || base == NULL) {
        fprintf(stderr,
                "# RR_DB_DIR, RR_CTL_BIN, RR_IT_LOGDIR, RR_IT_PORT_BASE: run through ctest\n");
        return -1;
    }
    char root[512], build[512], logdir[512];
    snprintf(root, sizeof root, "%s", db_dir);
    snprintf(build, sizeof build, "%s", ctl); // <build>/tools/referralctl
    snprintf(logdir, sizeof logdir, "%s", logs);
    snprintf(script, sizeof script, "%s/deploy/ha/formation.sh", dirname(root));
    char *tools = dirname(build);
    // The formation's four ports sit 1000 above the tests' own.
    snprintf(env, sizeof env, "REFERRAL_HA_DIR='%s/ha' REFERRAL_HA_PORT=%d REFERRAL_BUILD='%s'",
             dirname(logdir), atoi(base) + 1000, dirname(tools));
    static char out[65536];
    (void) run_formation("destroy", out, sizeof out); // a formation left by a killed run
    if (run_formation("up", out, sizeof out) != 0) {
        fprintf(stderr, "# formation.sh up failed:\n%s\n", out);
        return -1;
    }
    if (run_formation("conninfo", formation, sizeof formation) != 0) {
        return -1;
    }
    formation[strcspn(formation, "\n")] = '\0';
    it_stack_init(&stack, "ha", SLOT);
    it_broker_start(&stack, fast);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    bool clean = it_stack_stop(&stack);
    static char out[65536];
    int rc = run_formation("destroy", out, sizeof out);
    return clean && rc == 0 ? 0 : -1;
}

// Workers on a fresh database db (a copy of the migrated "referral").
static void
workers_on(const char *db)
{
    for (int i = 0; i < stack.nworkers; i++) {
        if (stack.workers[i].pid != 0) {
            assert_int_equal(it_proc_stop(&stack.workers[i], SIGTERM, 10000), 0);
        }
    }
    stack.nworkers = 0;
    char admin[800], sql[128];
    snprintf(admin, sizeof admin, "%s dbname=postgres", formation);
    PGconn *conn = PQconnectdb(admin);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE referral", db);
    it_db_exec(conn, sql);
    PQfinish(conn);
    assert_true(snprintf(stack.conninfo, sizeof stack.conninfo, "%s dbname=%s", formation, db) <
                (int) sizeof stack.conninfo);
    for (int i = 0; i < 3; i++) {
        it_worker_start(&stack, domains[i], fast);
    }
    assert_true(it_wait_workers(&stack, 3, 30000));
}

// A retry answered from a stored referral acknowledges it again: its
// COMMIT must wait for the standby as the first one did, else a failover
// could lose a referral the center was told about (migration 0017).
static void
test_a_retry_answered_from_storage_waits_for_the_standby(void **state)
{
    (void) state;
    workers_on("ha_retry");
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    assert_non_null(c);
    it_request r;
    it_request_init(&r, 941, "SOC-02", "ha-retry");
    Rr__V1__SubmitReply *reply = it_submit(c, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    char first[32];
    snprintf(first, sizeof first, "%s", reply->referral_id);
    rr_wire_free(reply);

    // A donation too: its replay answers from storage as well (0018).
    char donation_id[40];
    rr_uuid_generate(donation_id);
    Rr__V1__DonateRequest gift = RR__V1__DONATE_REQUEST__INIT;
    gift.donation_id = donation_id;
    gift.center_code = 941;
    gift.amount_rials = 5000000;
    gift.bank_reference = "HA-RETRY-1";
    gift.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_UNRESTRICTED;
    Rr__V1__DonateReply *given = NULL;
    rr_wire_error gift_err = {0};
    assert_int_equal(cli_center_donate(c, &gift, 5000, 3, &given, &gift_err), RR_OK);
    assert_int_equal(given->status, RR__V1__STATUS__STATUS_OK);
    assert_false(given->replayed);
    rr_wire_free(given);

    formation_or_fail("stall-standbys");
    // The same request again: answered from storage, and now held until a
    // standby confirms (no answer within 3 s).
    rr_wire_error err = {0};
    reply = NULL;
    long long t0 = it_now_ms();
    rr_status st = cli_center_submit(c, &r.req, 3000, 1, &reply, &err);
    long waited = (long) (it_now_ms() - t0);
    if (reply != NULL) {
        fprintf(stderr, "# the retry was answered in %ld ms with the standbys stalled\n", waited);
        rr_wire_free(reply);
    }
    given = NULL;
    rr_status gift_st = cli_center_donate(c, &gift, 3000, 1, &given, &gift_err);
    if (given != NULL) {
        rr_wire_free(given);
    }
    PGconn *db = it_db(&stack);
    long long syncrep = it_db_scalar(db,
                                     "SELECT count(*) FROM pg_stat_activity"
                                     " WHERE wait_event = 'SyncRep'",
                                     0, NULL);
    formation_or_fail("resume-standbys");
    assert_int_equal(st, RR_ETIMEDOUT);
    assert_int_equal(gift_st, RR_ETIMEDOUT); // the donation's replay waits as well
    assert_true(syncrep >= 1);               // a worker's COMMIT waits for the standby
    printf("# with the standbys stalled the retry had no answer in %ld ms; %lld COMMIT(s) waited"
           " on SyncRep\n",
           waited, syncrep);

    // Resumed: the same answer as the first time, one referral.
    reply = it_submit(c, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->referral_id, first);
    rr_wire_free(reply);
    given = NULL;
    assert_int_equal(cli_center_donate(c, &gift, 5000, 3, &given, &gift_err), RR_OK);
    assert_int_equal(given->status, RR__V1__STATUS__STATUS_OK);
    assert_true(given->replayed);
    rr_wire_free(given);
    const char *params[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, params),
        1);
    PQfinish(db);
    cli_center_destroy(&c);
}

static int
trials(void)
{
    const char *v = getenv("RR_HA_TRIALS");
    int n = v ? atoi(v) : 1;
    return n < 1 ? 1 : n > MAX_TRIALS ? MAX_TRIALS : n;
}

// One fault (a formation.sh verb) under RATE requests/s on a database of
// its own; returns when writes were back, after the reconciliation.
static long
under_load(const char *what, const char *verb, int trial)
{
    char db[32], tag[16];
    snprintf(db, sizeof db, "ha_%s_%d", what, trial);
    snprintf(tag, sizeof tag, "%c%d", what[0], trial);
    workers_on(db);
    fault_load_opts o = {.clients = CLIENTS, .rate = RATE, .budget_ms = BUDGET_MS, .tag = tag};
    fault_load *load = fault_load_start_with(&stack, &o);
    assert_non_null(load);
    long long deadline = it_now_ms() + 20000;
    while (fault_load_acked(load) < 1500 && it_now_ms() < deadline) {
        it_sleep_ms(20); // three seconds of load first
    }
    assert_true(fault_load_acked(load) >= 1500);
    long before = fault_load_acked(load);
    fault_load_mark(load);
    formation_or_fail(verb);
    // Writes are back when requests sent after the fault are acknowledged.
    deadline = it_now_ms() + 45000;
    while (fault_load_acked(load) < before + 1000 && it_now_ms() < deadline) {
        it_sleep_ms(50);
    }
    it_sleep_ms(2000);
    char name[64];
    snprintf(name, sizeof name, "%s (trial %d)", what, trial + 1);
    fault_report r;
    fault_load_settle(&load, &stack, name, &r); // reconciled on the primary now
    assert_true(r.acked > before + 1000);
    // referralctl takes the same string and reaches the new primary (its
    // migrate, a writer, runs in formation.sh up below).
    static it_ctl_run run;
    it_ctl(&stack, stack.conninfo, "centers list", &run);
    assert_int_equal(run.status, 0);
    // Far above the 15 s target: a bound that fails only when failover
    // is broken, not when this machine is slow (the figures are printed).
    assert_true(r.back_ms > 0 && r.back_ms < 40000);
    // The node that was lost comes back as a standby before the next fault.
    formation_or_fail("up");
    return r.back_ms;
}

static void
repeat(const char *what, const char *verb)
{
    long back[MAX_TRIALS];
    int n = trials();
    for (int t = 0; t < n; t++) {
        back[t] = under_load(what, verb, t);
    }
    qsort(back, (size_t) n, sizeof back[0], it_cmp_long);
    printf("# %s: writes back after the fault: median %ld ms, min %ld, max %ld over %d trial(s)\n",
           what, back[n / 2], back[0], back[n - 1], n);
    fflush(stdout);
}

// kill -9 every process of the primary's node (pg_autoctl and postgres):
// the monitor promotes the synchronous standby; the workers find it.
static void
test_primary_killed_under_load(void **state)
{
    (void) state;
    repeat("primary_killed", "kill-primary");
}

// A planned switchover (pg_autoctl perform switchover) under load.
static void
test_switchover_under_load(void **state)
{
    (void) state;
    repeat("switchover", "switchover");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_retry_answered_from_storage_waits_for_the_standby),
        cmocka_unit_test(test_primary_killed_under_load),
        cmocka_unit_test(test_switchover_under_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
