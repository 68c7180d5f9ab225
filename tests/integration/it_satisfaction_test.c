// Satisfaction through the real stack (issue 18, point 6): referrals
// submitted by centers 941 and 1924 and carried to completion by their
// offices over the broker, then rated by their centers (RATE): once per
// referral, a retry replayed, a second rating refused, a referral not
// completed refused, another center's referral not found; the report's
// figures against the database; the counters in /metrics and on the
// dashboard's neighbourhood panel in headless Chromium.
#include "cli_rate.h"
#include "it_harness.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static it_stack stack;
static cli_center *client;
static PGconn *db;
static it_ctl_run run;
static int recorded; // ratings this test had recorded (not replayed)

static int
setup(void **state)
{
    (void) state;
    return it_session_start(&stack, &client, &db, "satisfaction", 65, NULL, NULL) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

static long long
scalar(const char *sql, const char *param)
{
    const char *p[1] = {param};
    return it_db_scalar(db, sql, param ? 1 : 0, p);
}

static void
referral(unsigned center, const char *service, const char *tag, const Rr__V1__ReferralStatus *to,
         size_t nto, char id[32])
{
    it_referral(client, center, service, tag, to, nto, id);
}

static void
completed(unsigned center, const char *service, const char *tag, char id[32])
{
    it_referral(client, center, service, tag, IT_TO_COMPLETED, 3, id);
}

typedef struct rating {
    char id[40];
    Rr__V1__RateRequest req;
} rating;

static void
rating_init(rating *g, unsigned center, const char *referral_id, uint32_t score,
            const char *comment)
{
    rr_uuid_generate(g->id);
    rr__v1__rate_request__init(&g->req);
    g->req.rating_id = g->id;
    g->req.center_code = center;
    g->req.referral_id = (char *) referral_id;
    g->req.score = score;
    g->req.comment = (char *) comment;
}

// Sends g and returns the reply (rr_wire_free it); fails the test when no
// answer came.
static Rr__V1__RateReply *
rate(const rating *g)
{
    Rr__V1__RateReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_rate(client, &g->req, 10000, 5, &reply, &err);
    if (st != RR_OK) {
        print_message("rate %s: %s %s\n", g->id, rr_status_name((int) err.code), err.message);
        fail();
    }
    if (reply->status == RR__V1__STATUS__STATUS_OK && !reply->replayed) {
        recorded++;
    }
    return reply;
}

// Rates and expects a refusal with status and field; the message is
// returned in msg (cap bytes).
static void
refused(const rating *g, Rr__V1__Status status, const char *field, char *msg, size_t cap)
{
    Rr__V1__RateReply *r = rate(g);
    assert_int_equal(r->status, status);
    assert_non_null(r->error);
    assert_string_equal(r->error->field, field);
    assert_string_equal(r->rating_id, g->id);
    (void) snprintf(msg, cap, "%s", r->error->message);
    rr_wire_free(r);
}

static void
test_a_completed_referral_is_rated_once_and_a_retry_replays_the_answer(void **state)
{
    (void) state;
    char id[32], msg[512];
    completed(941, "SOC-03", "rate-once", id);
    rating g;
    rating_init(&g, 941, id, 4, "کار پرونده زود انجام شد");
    Rr__V1__RateReply *first = rate(&g);
    assert_int_equal(first->status, RR__V1__STATUS__STATUS_OK);
    assert_false(first->replayed);
    assert_string_equal(first->referral_id, id);
    assert_int_equal(first->score, 4);
    assert_true(first->rated_at_ms > 0);
    // The same rating again, and again typed with Arabic kaf and yeh (the
    // same comment in canonical form): replayed, the first answer.
    for (int i = 0; i < 2; i++) {
        g.req.comment = i == 0 ? "کار پرونده زود انجام شد" : "كار پرونده زود انجام شد";
        Rr__V1__RateReply *again = rate(&g);
        assert_int_equal(again->status, RR__V1__STATUS__STATUS_OK);
        assert_true(again->replayed);
        assert_int_equal(again->score, 4);
        assert_int_equal(again->rated_at_ms, first->rated_at_ms);
        rr_wire_free(again);
    }
    // The same rating_id with other content: a conflict naming the field.
    g.req.score = 5;
    refused(&g, RR__V1__STATUS__STATUS_ECONFLICT, "score", msg, sizeof msg);
    assert_non_null(strstr(msg, "this rating_id was already used for a different rating"));
    g.req.score = 4;
    g.req.comment = "another comment";
    refused(&g, RR__V1__STATUS__STATUS_ECONFLICT, "comment", msg, sizeof msg);
    // Another rating of the same referral: refused, naming the first.
    rating second;
    rating_init(&second, 941, id, 2, NULL);
    refused(&second, RR__V1__STATUS__STATUS_ECONFLICT, "referral_id", msg, sizeof msg);
    assert_non_null(strstr(msg, "it was already rated"));
    assert_non_null(strstr(msg, g.id));
    const char *p[1] = {id + 2};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral_rating WHERE referral_id = $1::bigint", 1,
                     p),
        1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_rating WHERE referral_id ="
                                  " $1::bigint AND score = 4 AND comment = 'کار پرونده زود انجام"
                                  " شد' AND recorded_by = 'center:941'",
                                  1, p),
                     1);
    rr_wire_free(first);
    // The table is append-only: a rating is not edited afterwards.
    PGresult *res = PQexec(db, "UPDATE referral_rating SET score = 1");
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
}

static void
test_a_referral_not_completed_is_refused_naming_its_state_and_nothing_is_written(void **state)
{
    (void) state;
    char requested[32], started[32], msg[512];
    referral(941, "SOC-04", "rate-open", NULL, 0, requested);
    referral(941, "SOC-09", "rate-started", IT_TO_COMPLETED, 2, started);
    long long before = scalar("SELECT count(*) FROM referral_rating", NULL);
    rating g;
    rating_init(&g, 941, requested, 5, NULL);
    refused(&g, RR__V1__STATUS__STATUS_ESTATE, "referral_id", msg, sizeof msg);
    char want[128];
    (void) snprintf(want, sizeof want,
                    "cannot rate referral \"%s\": it is requested, not completed", requested);
    assert_string_equal(msg, want);
    rating_init(&g, 941, started, 5, NULL);
    refused(&g, RR__V1__STATUS__STATUS_ESTATE, "referral_id", msg, sizeof msg);
    assert_non_null(strstr(msg, "it is in-progress, not completed"));
    assert_int_equal(scalar("SELECT count(*) FROM referral_rating", NULL), before);
}

static void
test_another_centers_referral_is_not_found_like_a_missing_one(void **state)
{
    (void) state;
    char theirs[32], msg[512], missing[512];
    completed(1924, "SOC-03", "rate-theirs", theirs);
    long long before = scalar("SELECT count(*) FROM referral_rating", NULL);
    rating g;
    rating_init(&g, 941, theirs, 5, NULL);
    refused(&g, RR__V1__STATUS__STATUS_ENOTFOUND, "referral_id", msg, sizeof msg);
    char want[256];
    (void) snprintf(want, sizeof want, "referral \"%s\" does not exist", theirs);
    assert_string_equal(msg, want);
    rating_init(&g, 941, "R-999999999", 5, NULL);
    refused(&g, RR__V1__STATUS__STATUS_ENOTFOUND, "referral_id", missing, sizeof missing);
    assert_string_equal(missing, "referral \"R-999999999\" does not exist");
    assert_int_equal(scalar("SELECT count(*) FROM referral_rating", NULL), before);
    // A referral this center was shown by a duplicate answer (the same
    // household asking 1924 for the service 941's referral already gives):
    // it may read it, not rate it.
    it_request first, dup;
    it_request_init(&first, 941, "SOC-01", "rate-shared");
    Rr__V1__SubmitReply *s1 = it_submit(client, &first.req);
    assert_int_equal(s1->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    it_request_init(&dup, 1924, "SOC-01", "rate-shared");
    dup.req.household_id = first.req.household_id;
    dup.req.national_id = first.req.national_id;
    Rr__V1__SubmitReply *s2 = it_submit(client, &dup.req);
    assert_int_equal(s2->outcome, RR__V1__OUTCOME__OUTCOME_DUPLICATE);
    assert_string_equal(s2->referral_id, s1->referral_id);
    char shared[32];
    (void) snprintf(shared, sizeof shared, "%s", s1->referral_id);
    it_advance(client, shared, s1->domain, s1->office_code, s1->version, IT_TO_COMPLETED, 3);
    rr_wire_free(s1);
    rr_wire_free(s2);
    rating_init(&g, 1924, shared, 5, NULL);
    refused(&g, RR__V1__STATUS__STATUS_EPERM, "referral_id", msg, sizeof msg);
    (void) snprintf(want, sizeof want,
                    "cannot rate referral \"%s\": it was made by center \"941\"; only that "
                    "center records its client's satisfaction",
                    shared);
    assert_string_equal(msg, want);
    assert_int_equal(scalar("SELECT count(*) FROM referral_rating", NULL), before);
    // Its own center rates it.
    rating_init(&g, 1924, theirs, 3, NULL);
    Rr__V1__RateReply *ok = rate(&g);
    assert_int_equal(ok->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ok);
}

static void
test_the_broker_and_the_worker_refuse_bad_fields_with_the_field_named(void **state)
{
    (void) state;
    char id[32], msg[512];
    completed(941, "PRV-01", "rate-fields", id);
    char longer[RR_WIRE_MAX_COMMENT_BYTES + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    static const struct {
        const char *referral;
        uint32_t score;
        const char *comment;
        Rr__V1__Status status;
        const char *field;
    } cases[] = {
        {NULL, 0, NULL, RR__V1__STATUS__STATUS_EINVAL, "score"},
        {NULL, 6, NULL, RR__V1__STATUS__STATUS_EINVAL, "score"},
        {"", 3, NULL, RR__V1__STATUS__STATUS_EINVAL, "referral_id"},
        {"X-12", 3, NULL, RR__V1__STATUS__STATUS_EINVAL, "referral_id"},
        {NULL, 3, "two\nlines", RR__V1__STATUS__STATUS_EINVAL, "comment"},
        {NULL, 3, " \u200c ", RR__V1__STATUS__STATUS_EINVAL, "comment"},
        {NULL, 3, "longer", RR__V1__STATUS__STATUS_ETOOBIG, "comment"},
    };
    long long before = scalar("SELECT count(*) FROM referral_rating", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rating g;
        rating_init(&g, 941, cases[i].referral ? cases[i].referral : id, cases[i].score,
                    cases[i].comment && strcmp(cases[i].comment, "longer") == 0 ? longer
                                                                                : cases[i].comment);
        refused(&g, cases[i].status, cases[i].field, msg, sizeof msg);
    }
    assert_int_equal(scalar("SELECT count(*) FROM referral_rating", NULL), before);
    assert_string_equal(msg, "field \"comment\" is too long: 1001 bytes, limit 1000");
}

// The CSV line of the report whose first cell is key, or NULL.
static const char *
csv_line(const char *out, const char *key, char *line, size_t cap)
{
    char anchor[64];
    (void) snprintf(anchor, sizeof anchor, "\n%s,", key);
    const char *at = strstr(out, anchor);
    if (at == NULL) {
        return NULL;
    }
    at++;
    const char *end = strchr(at, '\n');
    size_t n = end ? (size_t) (end - at) : strlen(at);
    if (n > 0 && at[n - 1] == '\r') {
        n--; // CSV lines end in CRLF
    }
    if (n >= cap) {
        return NULL;
    }
    memcpy(line, at, n);
    line[n] = '\0';
    return line;
}

static void
test_the_report_figures_equal_the_database_by_service_center_and_office(void **state)
{
    (void) state;
    // Three more completed referrals of 941's: two rated 5 and 2, one not.
    char a[32], b[32], c[32];
    completed(941, "RHB-02", "rate-report-a", a);
    completed(941, "RHB-02", "rate-report-b", b);
    completed(941, "RHB-02", "rate-report-c", c);
    rating g;
    rating_init(&g, 941, a, 5, "عالی");
    rr_wire_free(rate(&g));
    rating_init(&g, 941, b, 2, NULL);
    rr_wire_free(rate(&g));
    static const struct {
        const char *by, *key_sql;
    } groups[] = {
        {"service", "r.service_code"},
        {"center", "r.center_code::text"},
        {"office", "r.office_code"},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        char args[256];
        (void) snprintf(args, sizeof args,
                        "report satisfaction --province 23 --by %s --format csv --calendar "
                        "gregorian",
                        groups[i].by);
        it_ctl(&stack, stack.conninfo, args, &run);
        if (run.status != 0) {
            print_message("referralctl %s printed:\n%s%s\n", args, run.out, run.err);
        }
        assert_int_equal(run.status, 0);
        char header[160];
        (void) snprintf(header, sizeof header,
                        "%s,name,completed,rated,rated_pct,mean,1,2,3,4,5,first_rated,last_rated",
                        groups[i].by);
        if (strncmp(run.out, header, strlen(header)) != 0) {
            print_message("report printed:\n%s\n", run.out);
            fail();
        }
        // Each group of the database (province 23: center 941's referrals
        // only; 1924's are Isfahan's) and the total, computed here without
        // the report's query.
        char sql[1200];
        (void) snprintf(
            sql, sizeof sql,
            "SELECT string_agg(line, '|' ORDER BY k) FROM ("
            " SELECT coalesce(%s, 'total') AS k, coalesce(%s, 'total') || ','"
            "  || count(*) || ',' || count(g.score) || ','"
            "  || round(100.0 * count(g.score) / count(*), 1) || ','"
            "  || coalesce(round(avg(g.score), 1)::text, '') || ','"
            "  || count(*) FILTER (WHERE g.score = 1) || ',' || count(*) FILTER (WHERE g.score = 2)"
            "  || ',' || count(*) FILTER (WHERE g.score = 3) || ','"
            "  || count(*) FILTER (WHERE g.score = 4) || ',' || count(*) FILTER (WHERE g.score = 5)"
            "  AS line"
            " FROM referral r JOIN center c ON c.code = r.center_code"
            " JOIN county k ON k.code = c.county_code"
            " LEFT JOIN referral_rating g ON g.referral_id = r.id"
            " WHERE r.status = 'completed' AND k.province_code = '23'"
            " GROUP BY ROLLUP (%s)) x",
            groups[i].key_sql, groups[i].key_sql, groups[i].key_sql);
        PGresult *res = PQexec(db, sql);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        char expected[2048];
        (void) snprintf(expected, sizeof expected, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        int rows = 0;
        for (char *save = NULL, *want = strtok_r(expected, "|", &save); want != NULL;
             want = strtok_r(NULL, "|", &save)) {
            char key[32], line[512];
            size_t klen = strcspn(want, ",");
            (void) snprintf(key, sizeof key, "%.*s", (int) klen, want);
            assert_non_null(csv_line(run.out, key, line, sizeof line));
            // key,name,<figures>,first,last: the name may be quoted and
            // hold commas, so the figures are found between commas.
            char figures[256];
            (void) snprintf(figures, sizeof figures, ",%s,", want + klen + 1);
            if (strstr(line, figures) == NULL) {
                print_message("report row:   %s\nexpected:     %s\n", line, want);
                fail();
            }
            rows++;
        }
        assert_true(rows >= 2); // at least one group and the total
    }
    // The RHB-02 row exactly: 3 completed, 2 rated, 66.7%, mean 3.5; rated
    // today (Gregorian here, Solar Hijri by default).
    it_ctl(&stack, stack.conninfo,
           "report satisfaction --province 23 --county 2301 --by service --format csv "
           "--calendar gregorian",
           &run);
    char line[512], today[16];
    PGresult *res = PQexec(db, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    (void) snprintf(today, sizeof today, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char want[256];
    (void) snprintf(want, sizeof want,
                    "RHB-02,Wheelchair and assistive devices,3,2,66.7,3.5,0,1,0,0,1,%s,%s", today,
                    today);
    assert_non_null(csv_line(run.out, "RHB-02", line, sizeof line));
    assert_string_equal(line, want);
    it_ctl(&stack, stack.conninfo, "report satisfaction --province 23 --by service", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "RHB-02"));
    assert_non_null(strstr(run.out, "140")); // a Solar Hijri year, 1400-1409
    // A wrong --by is a usage error.
    it_ctl(&stack, stack.conninfo, "report satisfaction --by household", &run);
    assert_int_equal(run.status, 2);
    assert_non_null(strstr(run.err, "invalid --by \"household\""));
}

// The value shown in the element with this id (">value<").
static const char *
shown(const char *dom, const char *id, char *out, size_t cap)
{
    char anchor[64];
    (void) snprintf(anchor, sizeof anchor, "id=\"%s\">", id);
    const char *at = strstr(dom, anchor);
    out[0] = '\0';
    if (at != NULL) {
        at += strlen(anchor);
        size_t n = strcspn(at, "<");
        (void) snprintf(out, cap, "%.*s", (int) (n < cap ? n : cap - 1), at);
    }
    return out;
}

static void
test_the_counters_and_the_dashboard_panel_show_donations_and_ratings(void **state)
{
    (void) state;
    // One donation (unrestricted) and one more rating, by referralctl over
    // the broker, as a center's software would.
    char args[512], id[32];
    (void) snprintf(args, sizeof args,
                    "donations record --broker %s --center 941 --amount 250000 --bank-ref "
                    "IT-RATE-DASH-1 --intent unrestricted",
                    stack.frontend);
    it_ctl(&stack, stack.conninfo, args, &run);
    if (run.status != 0) {
        print_message("referralctl %s printed:\n%s%s\n", args, run.out, run.err);
    }
    assert_int_equal(run.status, 0);
    completed(941, "SOC-01", "rate-dash", id);
    // rate has no --db (it only talks to the broker), so not through it_ctl.
    char out[4096];
    (void) snprintf(args, sizeof args,
                    "--broker %s --center 941 --referral %s --score 5 --comment 'خوب' --id "
                    "0b7d3c52-6c1d-4b7e-9a51-0d2c4b6a8e77",
                    stack.frontend, id);
    int status = it_run(out, sizeof out, "%s rate %s 2>&1", getenv("RR_CTL_BIN"), args);
    if (status != 0) {
        print_message("referralctl rate printed:\n%s\n", out);
    }
    assert_int_equal(status, 0);
    char want[128];
    (void) snprintf(want, sizeof want, "0b7d3c52-6c1d-4b7e-9a51-0d2c4b6a8e77 recorded %s score 5",
                    id);
    assert_non_null(strstr(out, want));
    recorded++;
    // The retry replays.
    assert_int_equal(it_run(out, sizeof out, "%s rate %s 2>&1", getenv("RR_CTL_BIN"), args), 0);
    assert_non_null(strstr(out, "replayed"));
    // Refused: a typed error, exit status 1.
    assert_int_equal(it_run(out, sizeof out,
                            "%s rate --broker %s --center 941 --referral %s --score 3 2>&1",
                            getenv("RR_CTL_BIN"), stack.frontend, id),
                     1);
    assert_non_null(strstr(out, "ECONFLICT referral_id: cannot rate referral"));
    // The broker counted every worker's answer: recorded as the database has them.
    assert_int_equal(scalar("SELECT count(*) FROM referral_rating", NULL), recorded);
    assert_true(
        it_wait_metric(&stack, "referral_ratings_total{outcome=\"recorded\"}", recorded, 5000));
    // Replays: two in the first test, one here.
    assert_true(
        it_wait_metric_equal(&stack, "referral_ratings_total{outcome=\"replayed\"}", 3, 5000));
    assert_true(it_wait_metric(&stack, "referral_donations_total{outcome=\"recorded\"}", 1, 5000));
    // The workers' refusals: 3 conflicts, 2 not completed, 2 not found, 1
    // not permitted,
    // "X-12" and the second rating by referralctl; the bad fields the client library (and the
    // broker) refuse never reach a worker and are not counted.
    assert_true(
        it_wait_metric_equal(&stack, "referral_ratings_total{outcome=\"refused\"}", 10, 5000));
    // The panel in headless Chromium, under the page's CSP.
    static char dom[1 << 20];
    assert_true(it_chromium(&stack, "/", 1280, 900, NULL, dom, sizeof dom));
    assert_false(it_file_count(it_chromium_log(), "Content Security Policy", 1));
    assert_false(it_file_count(it_chromium_log(), "Uncaught", 1));
    char v[32], n[32];
    (void) snprintf(n, sizeof n, "%d", recorded);
    assert_string_equal(shown(dom, "ratings-recorded", v, sizeof v), n);
    assert_string_equal(shown(dom, "ratings-replayed", v, sizeof v), "3");
    assert_string_equal(shown(dom, "ratings-refused", v, sizeof v), "10");
    assert_string_equal(shown(dom, "donations-recorded", v, sizeof v), "1");
    assert_string_equal(shown(dom, "donations-replayed", v, sizeof v), "0");
    assert_non_null(strstr(dom, "referral_ratings_total"));
    // The other neighbourhood counters have their entries too, at zero here.
    assert_non_null(strstr(dom, "referral_findings_total"));
    assert_string_equal(shown(dom, "findings-recorded", v, sizeof v), "0");
    assert_string_equal(shown(dom, "profiles-recorded", v, sizeof v), "0");
    assert_non_null(strstr(dom, "data-overflow=\"false\""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_completed_referral_is_rated_once_and_a_retry_replays_the_answer),
        cmocka_unit_test(
            test_a_referral_not_completed_is_refused_naming_its_state_and_nothing_is_written),
        cmocka_unit_test(test_another_centers_referral_is_not_found_like_a_missing_one),
        cmocka_unit_test(test_the_broker_and_the_worker_refuse_bad_fields_with_the_field_named),
        cmocka_unit_test(test_the_report_figures_equal_the_database_by_service_center_and_office),
        cmocka_unit_test(test_the_counters_and_the_dashboard_panel_show_donations_and_ratings),
    };
    return cmocka_run_group_tests_name("integration.satisfaction", tests, setup, teardown);
}
