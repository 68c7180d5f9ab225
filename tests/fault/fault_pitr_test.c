// Point-in-time recovery under load (issue 17, point 5): the pg_auto_failover
// formation of deploy/ha/formation.sh archiving its WAL with pgbackrest, a
// full backup taken while retrying centers load it, a moment T read from
// the database clock, the load kept going, then a restore to T into a fresh
// cluster. There, every request acknowledged before T is present with the
// referral id its client was told, and none first sent after T is.
#include "fault_load.h"
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// About 500 requests/s: each client sends, waits for its answer (a few ms:
// the commit waits for the synchronous standby) and pauses.
enum { CLIENTS = 8, PAUSE_MS = 8, BUDGET_MS = 20000, SLOT = 54 };

// Broker and workers notice a lost peer within 3 × 200 ms.
static const char *const fast[] = {"--heartbeat-ms", "200", NULL};

// What the teardown must take down even when an assertion stopped the test.
static struct {
    char formation[1536]; // "env ... formation.sh": the formation's commands
    char restored[600];   // the restored cluster's folder
    char logdir[512];
} pitr;

static int
run_logged(const char *what, const char *args)
{
    static char out[8192];
    int st = it_run(out, sizeof out,
                    "%s %s >>'%s/formation.log' 2>&1; s=$?; tail -n 5 '%s/formation.log'; exit $s",
                    pitr.formation, args, pitr.logdir, pitr.logdir);
    printf("# %s: exit %d\n%s", what, st, out);
    fflush(stdout);
    return st;
}

static int
take_down(void **state)
{
    (void) state;
    if (pitr.formation[0] == '\0') {
        return 0;
    }
    char out[4096];
    int st = 0;
    char pgversion[700];
    snprintf(pgversion, sizeof pgversion, "%s/PG_VERSION", pitr.restored);
    if (access(pgversion, F_OK) == 0) {
        st |= it_run(out, sizeof out, "%s restore-stop '%s'", pitr.formation, pitr.restored);
    }
    st |= it_run(out, sizeof out, "rm -rf '%s'", pitr.restored);
    st |= it_run(out, sizeof out, "%s destroy >>'%s/formation.log' 2>&1", pitr.formation,
                 pitr.logdir);
    return st == 0 ? 0 : -1;
}

// The test's teardown: once done, nothing is left for the exit handler.
static int
teardown(void **state)
{
    int st = take_down(state);
    pitr.formation[0] = '\0';
    return st;
}

// At exit too: the harness exits on a failed precondition without running
// the teardown, and the formation's processes are not the harness's.
static void
take_down_at_exit(void)
{
    (void) take_down(NULL);
}

static PGconn *
connect_db(const char *conninfo)
{
    PGconn *db = PQconnectdb(conninfo);
    if (PQstatus(db) != CONNECTION_OK) {
        fail_msg("cannot connect to \"%s\": %s", conninfo, PQerrorMessage(db));
    }
    it_db_exec(db, "SET search_path = referral");
    return db;
}

// T from the primary's clock: as text for pgbackrest, and in microseconds
// since the epoch to compare with the clients' wall-clock times.
static void
read_moment(PGconn *db, char *text, size_t cap, long long *us)
{
    PGresult *res = PQexec(db, "SELECT to_char(t AT TIME ZONE 'UTC',"
                               " 'YYYY-MM-DD HH24:MI:SS.US') || '+00',"
                               " (extract(epoch FROM t) * 1000000)::bigint"
                               " FROM (SELECT clock_timestamp() AS t) x");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fail_msg("clock_timestamp(): %s", PQresultErrorMessage(res));
    }
    snprintf(text, cap, "%s", PQgetvalue(res, 0, 0));
    *us = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
}

// A count over load_times and the restored referrals, with T as $1.
static long long
count_at(PGconn *db, const char *sql, long long t_us)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", t_us);
    const char *params[] = {t};
    return it_db_scalar(db, sql, 1, params);
}

static void
test_restore_to_a_moment_keeps_what_was_acknowledged_before_it_and_nothing_sent_after(void **state)
{
    (void) state;
    long long t_start = it_now_ms();
    int base = atoi(getenv("RR_IT_PORT_BASE"));
    int ha_port = base + 1010;      // monitor, then the nodes on +1..+3
    int restore_port = base + 1014; // the restored cluster
    it_stack s;
    it_stack_init(&s, "f_pitr", SLOT); // its fixture database stays unused
    snprintf(pitr.logdir, sizeof pitr.logdir, "%s", s.logdir);
    snprintf(pitr.restored, sizeof pitr.restored, "%s/restored", s.logdir);
    snprintf(pitr.formation, sizeof pitr.formation,
             "env REFERRAL_HA_DIR='%s/ha' REFERRAL_HA_PORT=%d REFERRAL_CTL='%s' "
             "'%s/deploy/ha/formation.sh'",
             s.logdir, ha_port, getenv("RR_CTL_BIN"), RR_SOURCE_DIR);
    char log[600];
    snprintf(log, sizeof log, "%s/formation.log", s.logdir);
    unlink(log);
    assert_int_equal(take_down(NULL), 0); // what an earlier, failed run left
    assert_int_equal(atexit(take_down_at_exit), 0);

    long long t0 = it_now_ms();
    assert_int_equal(run_logged("formation up", "up"), 0);
    long long up_ms = it_now_ms() - t0;
    char out[1024];
    assert_int_equal(it_run(out, sizeof out, "%s conninfo", pitr.formation), 0);
    out[strcspn(out, "\n")] = '\0';
    if (strlen(out) >= sizeof s.conninfo) {
        fail_msg("conninfo too long: %s", out);
    }
    memcpy(s.conninfo, out, strlen(out) + 1);

    it_broker_start(&s, fast);
    static const char *const domains[] = {"prevention", "rehabilitation", "social"};
    for (int i = 0; i < 3; i++) {
        it_worker_start(&s, domains[i], fast);
    }
    assert_true(it_wait_workers(&s, 3, 30000));

    fault_load *load = fault_load_start(&s, CLIENTS, PAUSE_MS, BUDGET_MS, "pitr");
    assert_non_null(load);
    long long load_start = it_now_ms();
    fault_load_wait_acked(load, 1000, 30000);

    // A full backup while the load goes on.
    long acked_before_backup = fault_load_acked(load);
    t0 = it_now_ms();
    assert_int_equal(run_logged("full backup", "backup full"), 0);
    long long backup_ms = it_now_ms() - t0;
    long acked_during_backup = fault_load_acked(load) - acked_before_backup;
    fault_load_wait_acked(load, fault_load_acked(load) + 1000, 30000);

    // T, then as much load again after it.
    PGconn *live = connect_db(s.conninfo);
    char t_text[64];
    long long t_us = 0;
    read_moment(live, t_text, sizeof t_text, &t_us);
    PQfinish(live);
    long acked_at_t = fault_load_acked(load);
    fault_load_wait_acked(load, acked_at_t + 1000, 30000);
    assert_true(fault_load_stop(load, BUDGET_MS + 5000));
    double rate = (double) fault_load_acked(load) * 1000.0 / (double) (it_now_ms() - load_start);

    // The restore: the archive flushed, the files, the replay to T.
    char args[1024];
    snprintf(args, sizeof args, "restore '%s' '%s' %d", t_text, pitr.restored, restore_port);
    t0 = it_now_ms();
    assert_int_equal(run_logged("restore", args), 0);
    long long restore_ms = it_now_ms() - t0;

    char rinfo[256];
    snprintf(rinfo, sizeof rinfo, "host=127.0.0.1 port=%d user=postgres dbname=referral",
             restore_port);
    PGconn *restored = connect_db(rinfo);
    assert_int_equal(it_db_scalar(restored, "SELECT pg_is_in_recovery()::int", 0, NULL), 0);
    assert_true(fault_load_copy_times(load, restored));
    long long before = count_at(restored,
                                "SELECT count(*) FROM load_times WHERE state = 'a'"
                                " AND answered_us < $1::bigint",
                                t_us);
    long long before_missing =
        count_at(restored,
                 "SELECT count(*) FROM load_times l WHERE l.state = 'a' AND l.answered_us <"
                 " $1::bigint AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.request_id ="
                 " l.request_id AND r.id = l.referral_id)",
                 t_us);
    long long after =
        count_at(restored, "SELECT count(*) FROM load_times WHERE sent_us > $1::bigint", t_us);
    long long after_present =
        count_at(restored,
                 "SELECT count(*) FROM load_times l JOIN referral r USING (request_id)"
                 " WHERE l.sent_us > $1::bigint",
                 t_us);
    // Sent before T, answered after it: committed on either side of T.
    long long across = count_at(restored,
                                "SELECT count(*) FROM load_times WHERE sent_us <= $1::bigint"
                                " AND NOT (state = 'a' AND answered_us < $1::bigint)",
                                t_us);
    long long across_present =
        count_at(restored,
                 "SELECT count(*) FROM load_times l JOIN referral r USING (request_id)"
                 " WHERE l.sent_us <= $1::bigint AND NOT (l.state = 'a' AND l.answered_us <"
                 " $1::bigint)",
                 t_us);
    long long rows = it_db_scalar(restored, "SELECT count(*) FROM referral", 0, NULL);
    long long unreported = it_db_scalar(restored,
                                        "SELECT count(*) FROM referral r WHERE NOT EXISTS"
                                        " (SELECT 1 FROM load_times l WHERE l.request_id ="
                                        " r.request_id)",
                                        0, NULL);
    long long without_event = it_db_referrals_without_history(restored);
    PQfinish(restored);
    printf("# pitr: T = %s; load %.0f/s; formation up %lld ms, full backup %lld ms (%ld"
           " acknowledged meanwhile), restore %lld ms\n"
           "# pitr: acknowledged before T %lld, missing from the restore %lld; first sent after"
           " T %lld, present %lld; across T %lld, present %lld; restored rows %lld, unreported"
           " %lld\n",
           t_text, rate, up_ms, backup_ms, acked_during_backup, restore_ms, before, before_missing,
           after, after_present, across, across_present, rows, unreported);
    fflush(stdout);

    assert_true(acked_during_backup > 0);
    assert_true(before >= 1000);
    assert_true(after >= 900); // the in-flight requests at T are across it
    assert_int_equal(before_missing, 0);
    assert_int_equal(after_present, 0);
    assert_int_equal(unreported, 0);
    assert_int_equal(without_event, 0);
    assert_int_equal(rows, before + across_present);
    // The live formation reconciles as every fault test does.
    fault_report r;
    fault_load_settle(&load, &s, "pitr (live formation)", &r);
    assert_true(it_stack_stop(&s));
    printf("# pitr: %lld ms in all before the teardown\n", it_now_ms() - t_start);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            test_restore_to_a_moment_keeps_what_was_acknowledged_before_it_and_nothing_sent_after,
            teardown),
    };
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
