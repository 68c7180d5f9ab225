// submit_referrals (migration 0006), the set-based batch a worker records
// in one statement, against the real PostgreSQL: retries and duplicates
// within a batch, the fallback for what the set-based pass cannot settle,
// batches racing each other on other connections, and referralctl bench
// against the whole stack.
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct item {
    const char *request_id, *household, *service, *flags;
} item;

typedef struct row {
    long long id;
    bool inserted, duplicate;
    char status[16];
} row;

// The statement for a batch of 941's requests (routed to CO-2301), each
// for a social service, routine, with note "x".
static void
batch_sql(char *sql, size_t cap, const item *it, size_t n)
{
    char ids[2048] = "", hh[2048] = "", nat[1024] = "", svc[1024] = "", fl[1024] = "";
    for (size_t i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        size_t l;
        l = strlen(ids), snprintf(ids + l, sizeof ids - l, "%s%s", sep, it[i].request_id);
        l = strlen(hh), snprintf(hh + l, sizeof hh - l, "%s\"%s\"", sep, it[i].household);
        l = strlen(nat), snprintf(nat + l, sizeof nat - l, "%s00%08zu", sep, 10000000 + i);
        l = strlen(svc), snprintf(svc + l, sizeof svc - l, "%s%s", sep, it[i].service);
        l = strlen(fl), snprintf(fl + l, sizeof fl - l, "%s\"%s\"", sep, it[i].flags);
    }
    snprintf(sql, cap,
             "SELECT id, inserted, duplicate, status"
             " FROM referral.submit_referrals('{%s}', array_fill(941, ARRAY[%zu]), '{%s}',"
             " '{%s}', '{%s}', array_fill('household'::text, ARRAY[%zu]),"
             " array_fill('social'::text, ARRAY[%zu]),"
             " array_fill('routine'::text, ARRAY[%zu]), array_fill('routine'::text, ARRAY[%zu]),"
             " '{%s}', array_fill('x'::text, ARRAY[%zu]), array_fill('CO-2301'::text, ARRAY[%zu]),"
             " array_fill(NULL::integer, ARRAY[%zu])) ORDER BY ord",
             ids, n, hh, nat, svc, n, n, n, n, fl, n, n, n);
}

static void
read_rows(PGresult *res, row *out, size_t n)
{
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), (int) n);
    for (size_t i = 0; i < n; i++) {
        out[i].id = strtoll(PQgetvalue(res, (int) i, 0), NULL, 10);
        out[i].inserted = PQgetvalue(res, (int) i, 1)[0] == 't';
        out[i].duplicate = PQgetvalue(res, (int) i, 2)[0] == 't';
        snprintf(out[i].status, sizeof out[i].status, "%s", PQgetvalue(res, (int) i, 3));
    }
}

static void
submit(PGconn *db, const item *it, size_t n, row *out)
{
    char sql[16384];
    batch_sql(sql, sizeof sql, it, n);
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail_msg("submit_referrals failed: %s", PQresultErrorMessage(res));
    }
    read_rows(res, out, n);
    PQclear(res);
}

static long long
count(PGconn *db, const char *sql)
{
    return it_db_scalar(db, sql, 0, NULL);
}

static void
test_a_batch_settles_retries_and_duplicates_within_it(void **state)
{
    PGconn *db = *state;
    const item it[] = {
        {"5a000000-0000-4000-8000-000000000001", "h-941-b1", "SOC-04", ""},
        // Another request for the same household and service: a duplicate.
        {"5a000000-0000-4000-8000-000000000002", "h-941-b1", "SOC-04", ""},
        // The first request again (a center's retry in the same batch).
        {"5a000000-0000-4000-8000-000000000001", "h-941-b1", "SOC-04", ""},
        {"5a000000-0000-4000-8000-000000000003", "h-941-b2", "SOC-04", "disability,elderly"},
        {"5a000000-0000-4000-8000-000000000004", "h-941-b1", "SOC-05", ""},
    };
    row r[5];
    submit(db, it, 5, r);
    assert_true(r[0].inserted);
    assert_false(r[0].duplicate);
    assert_int_equal(r[1].id, r[0].id);
    assert_false(r[1].inserted);
    assert_true(r[1].duplicate);
    assert_int_equal(r[2].id, r[0].id);
    assert_false(r[2].inserted);
    assert_false(r[2].duplicate);
    assert_true(r[3].inserted);
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT array_to_string(risk_flags, ',') = 'disability,elderly'"
             " FROM referral.referral WHERE id = %lld",
             r[3].id);
    PGresult *res = PQexec(db, sql);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    assert_true(r[4].inserted);
    assert_true(r[3].id != r[0].id && r[4].id != r[0].id && r[4].id != r[3].id);
    assert_int_equal(count(db, "SELECT count(*) FROM referral.referral"
                               " WHERE household_id IN ('h-941-b1', 'h-941-b2')"),
                     3);
    // One first event per referral, none for the duplicate or the retry.
    assert_int_equal(count(db, "SELECT count(*) FROM referral.referral_event e"
                               " JOIN referral.referral r ON r.id = e.referral_id"
                               " WHERE r.household_id IN ('h-941-b1', 'h-941-b2')"
                               " AND e.kind = 'submit' AND e.actor = 'center:941'"),
                     3);
    assert_int_equal(count(db, "SELECT count(*) FROM referral.household"
                               " WHERE id IN ('h-941-b1', 'h-941-b2')"),
                     2);

    // The whole batch again, as after a lost reply: the same answers, no row.
    row again[5];
    submit(db, it, 5, again);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(again[i].id, r[i].id);
        assert_false(again[i].inserted);
        assert_int_equal(again[i].duplicate, i == 1);
    }
    assert_int_equal(count(db, "SELECT count(*) FROM referral.referral"
                               " WHERE household_id IN ('h-941-b1', 'h-941-b2')"),
                     3);
}

// A retry of a closed referral next to a new request for the same need:
// the set-based pass skips the new one (the retry came first), the
// fallback records it.
static void
test_a_new_request_beside_the_retry_of_a_closed_one_is_recorded(void **state)
{
    PGconn *db = *state;
    const item first = {"5a000000-0000-4000-8000-000000000011", "h-941-b3", "SOC-04", ""};
    row r0;
    submit(db, &first, 1, &r0);
    assert_true(r0.inserted);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE referral.referral SET status = 'completed' WHERE id = %lld",
             r0.id);
    it_db_exec(db, sql);
    const item it[] = {
        first,
        {"5a000000-0000-4000-8000-000000000012", "h-941-b3", "SOC-04", ""},
    };
    row r[2];
    submit(db, it, 2, r);
    assert_int_equal(r[0].id, r0.id);
    assert_false(r[0].inserted);
    assert_false(r[0].duplicate);
    assert_string_equal(r[0].status, "completed");
    assert_true(r[1].inserted);
    assert_false(r[1].duplicate);
    assert_string_equal(r[1].status, "requested");
    assert_true(r[1].id != r0.id);
}

// Waits until conn's query is blocked (still busy after 300 ms).
static void
assert_blocked(PGconn *conn)
{
    it_sleep_ms(300);
    assert_int_equal(PQconsumeInput(conn), 1);
    if (!PQisBusy(conn)) {
        PGresult *res = PQgetResult(conn);
        fail_msg("not blocked: %s %s", PQresStatus(PQresultStatus(res)), PQresultErrorMessage(res));
    }
}

static PGresult *
finish(PGconn *conn)
{
    PGresult *last = NULL, *res;
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(last);
        last = res;
    }
    return last;
}

// Two workers record the same need at once: the second waits for the
// first's transaction, then answers with its referral (committed) or
// records its own (rolled back); the same request_id waits on its lock.
static void
test_racing_batches_record_each_need_once(void **state)
{
    PGconn *db = *state;
    const char *conninfo = getenv("IT_BATCH_CONNINFO");
    PGconn *other = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    it_db_exec(other, "SET search_path = referral"); // as a worker's connection
    struct {
        item mine, theirs;
        const char *end;
        bool theirs_inserted, same_referral;
    } cases[] = {
        {{"5a000000-0000-4000-8000-000000000021", "h-941-b4", "SOC-04", ""},
         {"5a000000-0000-4000-8000-000000000022", "h-941-b4", "SOC-04", ""},
         "COMMIT",
         false,
         true},
        {{"5a000000-0000-4000-8000-000000000031", "h-941-b5", "SOC-04", ""},
         {"5a000000-0000-4000-8000-000000000032", "h-941-b5", "SOC-04", ""},
         "ROLLBACK",
         true,
         false},
        {{"5a000000-0000-4000-8000-000000000041", "h-941-b6", "SOC-04", ""},
         {"5a000000-0000-4000-8000-000000000041", "h-941-b6", "SOC-04", ""},
         "COMMIT",
         false,
         true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        it_db_exec(db, "BEGIN");
        row mine;
        submit(db, &cases[c].mine, 1, &mine);
        assert_true(mine.inserted);
        char sql[16384];
        batch_sql(sql, sizeof sql, &cases[c].theirs, 1);
        assert_int_equal(PQsendQuery(other, sql), 1);
        assert_blocked(other);
        it_db_exec(db, cases[c].end);
        PGresult *res = finish(other);
        row theirs;
        read_rows(res, &theirs, 1);
        PQclear(res);
        assert_int_equal(theirs.inserted, cases[c].theirs_inserted);
        assert_int_equal(theirs.id == mine.id, cases[c].same_referral);
        bool same_request = strcmp(cases[c].mine.request_id, cases[c].theirs.request_id) == 0;
        assert_int_equal(theirs.duplicate, cases[c].same_referral && !same_request);
        char q[256];
        snprintf(q, sizeof q, "SELECT count(*) FROM referral.referral WHERE household_id = '%s'",
                 cases[c].mine.household);
        assert_int_equal(count(db, q), 1);
    }
    PQfinish(other);
}

static it_stack stack;

// referralctl bench against the real stack, with duplicates asked for: it
// measures the ceiling, loads, and finds every acknowledged request in the
// database once.
static void
test_the_bench_loads_the_stack_and_reconciles_every_acknowledgement(void **state)
{
    PGconn *db = *state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s bench --broker %s --db '%s' --count 600 --clients 4 --window 8 --dup-rate 0.2"
             " --ceiling-seconds 1 --json 2>%s/bench.err",
             getenv("RR_CTL_BIN"), stack.frontend, stack.conninfo, stack.logdir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("bench failed (status %d): %s; see %s/bench.err", status, out, stack.logdir);
    }
    json_error_t jerr;
    json_t *r = json_loads(out, 0, &jerr);
    if (r == NULL) {
        fail_msg("bench printed no JSON: %s", out);
    }
    assert_int_equal(json_integer_value(json_object_get(r, "acked")), 600);
    assert_int_equal(json_integer_value(json_object_get(r, "lost")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "duplicated")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "rejected")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "recorded_unacknowledged")), 0);
    double ceiling = json_real_value(json_object_get(r, "pg_ceiling_per_s"));
    double rate = json_real_value(json_object_get(r, "acked_per_s"));
    double ratio = json_real_value(json_object_get(r, "ratio"));
    assert_true(ceiling > 0 && rate > 0);
    assert_true(ratio > 0.99 * rate / ceiling && ratio < 1.01 * rate / ceiling);
    assert_true(json_real_value(json_object_get(r, "p50_ms")) <=
                json_real_value(json_object_get(r, "p99_ms")));
    json_decref(r);
    // Duplicates answered with the open referral: fewer rows than requests.
    long long rows = it_db_scalar(db,
                                  "SELECT count(*) FROM referral.referral"
                                  " WHERE household_id LIKE 'h-%-%-%-%'",
                                  0, NULL);
    assert_true(rows > 0 && rows < 600);
    // The ceiling wrote the same rows into the same tables, each referral
    // with its event, in whole batches of 100.
    long long ceiling_rows = it_db_scalar(db,
                                          "SELECT count(*) FROM referral.referral"
                                          " WHERE household_id LIKE 'c-%'",
                                          0, NULL);
    assert_true(ceiling_rows >= 100 && ceiling_rows % 100 == 0);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral.referral r"
                                  " JOIN referral.referral_event e ON e.referral_id = r.id"
                                  " JOIN referral.person p ON p.national_id = r.national_id"
                                  " WHERE r.household_id LIKE 'c-%'",
                                  0, NULL),
                     ceiling_rows);
}

// The conflict column of submit_referrals for a batch given as literals:
// request ids, notes; one household (h-941-b7), service SOC-04, national
// id 0012345679, routine, no flags.
static void
answers(PGconn *db, const char *ids, const char *notes, int n, char conflicts[][16])
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(conflict, '-') FROM referral.submit_referrals('{%s}',"
             " array_fill(941, ARRAY[%d]), array_fill('h-941-b7'::text, ARRAY[%d]),"
             " array_fill('0012345679'::text, ARRAY[%d]), array_fill('SOC-04'::text, ARRAY[%d]),"
             " array_fill('household'::text, ARRAY[%d]), array_fill('social'::text, ARRAY[%d]),"
             " array_fill('routine'::text, ARRAY[%d]), array_fill('routine'::text, ARRAY[%d]),"
             " array_fill(''::text, ARRAY[%d]), '{%s}', array_fill('CO-2301'::text, ARRAY[%d]),"
             " array_fill(NULL::integer, ARRAY[%d])) ORDER BY ord",
             ids, n, n, n, n, n, n, n, n, n, notes, n, n);
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != n) {
        fail_msg("submit_referrals: %s", PQresultErrorMessage(res));
    }
    for (int i = 0; i < n; i++) {
        snprintf(conflicts[i], 16, "%s", PQgetvalue(res, i, 0));
    }
    PQclear(res);
}

static void
test_copies_of_one_request_in_a_batch_get_one_answer_or_a_conflict(void **state)
{
    PGconn *db = *state;
    char c[4][16];
    // A new referral; its request again with another note; a duplicate
    // request for the need; that request again with another note.
    answers(db,
            "5a000000-0000-4000-8000-000000000071,5a000000-0000-4000-8000-000000000071,"
            "5a000000-0000-4000-8000-000000000072,5a000000-0000-4000-8000-000000000072",
            "a,b,c,d", 4, c);
    assert_string_equal(c[0], "-");
    assert_string_equal(c[1], "note");
    assert_string_equal(c[2], "-");
    assert_string_equal(c[3], "note");
    // Sent again alone, each copy with its first content: no conflict; with
    // the other content: the same conflict. The answers were recorded once.
    answers(db, "5a000000-0000-4000-8000-000000000072,5a000000-0000-4000-8000-000000000072", "c,d",
            2, c);
    assert_string_equal(c[0], "-");
    assert_string_equal(c[1], "note");
    assert_int_equal(count(db, "SELECT count(*) FROM referral.duplicate_answer WHERE request_id ="
                               " '5a000000-0000-4000-8000-000000000072' AND note = 'c'"),
                     1);
    // A request answered as a duplicate is never dead-lettered as well.
    assert_int_equal(count(db, "SELECT count(*) FROM referral.dead_letter_request("
                               "'5a000000-0000-4000-8000-000000000072', 941, 'social', 'SOC-04',"
                               " '\\x00', 'EINTERNAL', 'test') r WHERE NOT r"),
                     1);
    assert_int_equal(count(db, "SELECT count(*) FROM referral.dead_letter WHERE request_id ="
                               " '5a000000-0000-4000-8000-000000000072'"),
                     0);
}

static int
setup(void **state)
{
    assert_true(it_stack_start(&stack, "batch", 30, NULL, NULL));
    setenv("IT_BATCH_CONNINFO", stack.conninfo, 1);
    *state = it_db(&stack);
    return 0;
}

static int
teardown(void **state)
{
    PQfinish(*state);
    return it_stack_stop(&stack) ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_batch_settles_retries_and_duplicates_within_it),
        cmocka_unit_test(test_a_new_request_beside_the_retry_of_a_closed_one_is_recorded),
        cmocka_unit_test(test_racing_batches_record_each_need_once),
        cmocka_unit_test(test_copies_of_one_request_in_a_batch_get_one_answer_or_a_conflict),
        cmocka_unit_test(test_the_bench_loads_the_stack_and_reconciles_every_acknowledgement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
