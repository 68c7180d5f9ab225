// The neighbourhood side's field work through the real stack (issue 18,
// points 2 to 4): profiles sent by center 941 over the broker (PROFILE),
// trustees (TRUSTEE), findings (FINDING) and referrals made from them
// (SUBMIT with finding_id); then what the database kept and what
// referralctl shows: versions and history, masking, the link, and the
// need-finding report's active vs walk-in split. Longer than 600 lines on
// purpose: its nine cases share one stack and one neighbourhood register
// (the group fixture), and build on each other's rows for the report.
#include "cli_nbhd.h"
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

// Tehran (2301): Narmak served by 941, Tollab-e Now by no one.
static const char REGISTER[] = "county,name,setting,red_line,centers\n"
                               "2301,نارمک,urban,false,941\n"
                               "2301,Tollab-e Now,rural,true,\n";

static int
setup(void **state)
{
    (void) state;
    if (!it_session_start(&stack, &client, &db, "fieldwork", 61, NULL, NULL)) {
        return -1;
    }
    char path[600];
    (void) snprintf(path, sizeof path, "%s/neighbourhoods.csv", stack.logdir);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(REGISTER, f) == EOF || fclose(f) != 0) {
        return -1;
    }
    char args[700];
    (void) snprintf(args, sizeof args, "neighbourhoods import '%s' --by tester", path);
    it_ctl(&stack, stack.conninfo, args, &run);
    return run.status == 0 ? 0 : -1;
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

// The head every reply shares (fields 1 to 3 and 15).
static const Rr__V1__ReplyHead *
head_of(const void *reply)
{
    return reply;
}

// Fails, printing the refusal, unless the reply is OK.
static void
expect_ok(const void *reply)
{
    const Rr__V1__ReplyHead *h = head_of(reply);
    if (h->status != RR__V1__STATUS__STATUS_OK) {
        print_message("refused: %s %s\n", h->error ? h->error->field : "",
                      h->error ? h->error->message : "");
    }
    assert_int_equal(h->status, RR__V1__STATUS__STATUS_OK);
}

static void
expect_refusal(const void *reply, Rr__V1__Status status, const char *field)
{
    const Rr__V1__ReplyHead *h = head_of(reply);
    if (h->status != status) {
        print_message("answer: %d %s %s\n", (int) h->status, h->error ? h->error->field : "",
                      h->error ? h->error->message : "");
    }
    assert_int_equal(h->status, status);
    assert_non_null(h->error);
    assert_string_equal(h->error->field, field);
}

typedef struct profile {
    char id[40];
    Rr__V1__ProfileRequest req;
    Rr__V1__ProfileCapacity cap;
    Rr__V1__ProfileCapacity *caps[1];
    Rr__V1__ProfileNeed needs[2];
    Rr__V1__ProfileNeed *needp[2];
    Rr__V1__ProfileParticipant part;
    Rr__V1__ProfileParticipant *parts[1];
} profile;

static void
profile_init(profile *p, const char *neighbourhood, uint32_t base)
{
    memset(p, 0, sizeof *p);
    rr_uuid_generate(p->id);
    rr__v1__profile_request__init(&p->req);
    rr__v1__profile_capacity__init(&p->cap);
    rr__v1__profile_participant__init(&p->part);
    p->req.update_id = p->id;
    p->req.center_code = 941;
    p->req.neighbourhood = (char *) neighbourhood;
    p->req.base_version = base;
    p->cap.kind = RR__V1__CAPACITY_KIND__CAPACITY_KIND_ORGANISATION;
    p->cap.name = "کانون فرهنگی مسجد";
    p->caps[0] = &p->cap;
    p->req.capacities = p->caps;
    p->req.n_capacities = 1;
    for (int i = 0; i < 2; i++) {
        rr__v1__profile_need__init(&p->needs[i]);
        p->needs[i].rank = (uint32_t) i + 1;
        p->needp[i] = &p->needs[i];
    }
    p->needs[0].need = "اشتغال جوانان";
    p->needs[0].service_code = "SOC-07";
    p->needs[1].need = "مناسب‌سازی معابر";
    p->req.needs = p->needp;
    p->req.n_needs = 2;
    p->part.role = "trustee";
    p->part.count = 4;
    p->parts[0] = &p->part;
    p->req.participants = p->parts;
    p->req.n_participants = 1;
    p->req.needs_assessed_on = "2026-11-20";
}

static Rr__V1__ProfileReply *
send_profile(const profile *p)
{
    Rr__V1__ProfileReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_profile(client, &p->req, 10000, 5, &reply, &err);
    if (st != RR_OK) {
        print_message("profile %s: %s %s\n", p->id, rr_status_name((int) err.code), err.message);
        fail();
    }
    return reply;
}

static void
test_profile_versions_are_kept_and_a_stale_base_is_a_conflict(void **state)
{
    (void) state;
    profile v1;
    profile_init(&v1, "نارمك", 0); // Arabic kaf: the canonical name finds نارمک
    Rr__V1__ProfileReply *r = send_profile(&v1);
    expect_ok(r);
    assert_false(r->replayed);
    assert_int_equal(r->version, 1);
    rr_wire_free(r);
    r = send_profile(&v1); // a retry
    expect_ok(r);
    assert_true(r->replayed);
    assert_int_equal(r->version, 1);
    rr_wire_free(r);
    v1.needs[1].need = "something else"; // the same update_id, other content
    r = send_profile(&v1);
    expect_refusal(r, RR__V1__STATUS__STATUS_ECONFLICT, "needs");
    rr_wire_free(r);

    profile v2, stale;
    profile_init(&v2, "نارمک", 1);
    v2.needs[0].rank = 2; // the community reordered its needs
    v2.needs[1].rank = 1;
    v2.req.capacity_assessed_on = "2026-11-18";
    v2.req.asset_assessed_on = "2026-11-19";
    r = send_profile(&v2);
    expect_ok(r);
    assert_int_equal(r->version, 2);
    rr_wire_free(r);
    profile_init(&stale, "نارمک", 1); // another edit of version 1
    r = send_profile(&stale);
    expect_refusal(r, RR__V1__STATUS__STATUS_ECONFLICT, "base_version");
    assert_string_equal(r->error->message, "cannot record profile of neighbourhood \"نارمک\" on "
                                           "version 1: the latest version is 2");
    rr_wire_free(r);

    // Refused by the checks: a rank twice (the broker), an unknown service
    // and a day that does not exist (the database).
    profile bad;
    profile_init(&bad, "نارمک", 2);
    bad.needs[1].rank = 1;
    r = send_profile(&bad);
    expect_refusal(r, RR__V1__STATUS__STATUS_EINVAL, "needs[1].rank");
    rr_wire_free(r);
    profile_init(&bad, "نارمک", 2);
    bad.needs[1].service_code = "SOC-99";
    r = send_profile(&bad);
    expect_refusal(r, RR__V1__STATUS__STATUS_ENOTFOUND, "needs[1].service_code");
    rr_wire_free(r);
    profile_init(&bad, "نارمک", 2);
    bad.req.needs_assessed_on = "2026-02-30";
    r = send_profile(&bad);
    expect_refusal(r, RR__V1__STATUS__STATUS_EINVAL, "needs_assessed_on");
    rr_wire_free(r);

    assert_int_equal(scalar("SELECT count(*) FROM neighbourhood_profile", NULL), 2);
    assert_int_equal(scalar("SELECT count(*) FROM neighbourhood_profile WHERE version = 2"
                            " AND base_version = 1 AND body -> 'needs' -> 0 ->> 'rank' = '2'",
                            NULL),
                     1);
    PGresult *res = PQexec(db, "UPDATE neighbourhood_profile SET body = '{}'");
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK); // append-only
    PQclear(res);

    it_ctl(&stack, stack.conninfo, "neighbourhood history نارمک", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "(2 rows)"));
    assert_non_null(strstr(run.out, "center:941"));
    it_ctl(&stack, stack.conninfo, "neighbourhood show نارمک", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "1405/08/29")); // 2026-11-20 in Solar Hijri
    assert_non_null(strstr(run.out, "complete within 30 days"));
    // Ranked as the latest version has it: rank 1 first.
    const char *first = strstr(run.out, "مناسب‌سازی معابر");
    const char *second = strstr(run.out, "اشتغال جوانان");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_true(it_wait_metric(&stack, "referral_profiles_total{outcome=\"recorded\"}", 2, 5000));
}

// What PROFILE's statement runs, from a database session of its own.
static const char RACE_SQL[] =
    "SELECT outcome || ' ' || field || ' ' || message FROM record_profile($1::uuid, 941, 'نارمک',"
    " 2, '{\"capacities\": [], \"assets\": [], \"needs\": [], \"participants\": []}', NULL,"
    " NULL, NULL, 'center:941')";

// Two centers' edits of version 2 at once: the second waits on the first's
// version 3 (the primary key), then finds its base stale.
static void
test_two_edits_of_the_same_version_at_once_record_one_and_refuse_the_other(void **state)
{
    (void) state;
    PGconn *a = PQconnectdb(stack.conninfo), *b = PQconnectdb(stack.conninfo);
    assert_int_equal(PQstatus(a), CONNECTION_OK);
    assert_int_equal(PQstatus(b), CONNECTION_OK);
    it_db_exec(a, "SET search_path = referral");
    it_db_exec(b, "SET search_path = referral");
    char ua[40], ub[40];
    rr_uuid_generate(ua);
    rr_uuid_generate(ub);
    it_db_exec(a, "BEGIN");
    const char *pa[1] = {ua}, *pb[1] = {ub};
    PGresult *ra = PQexecParams(a, RACE_SQL, 1, NULL, pa, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(ra), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(ra, 0, 0), "ok  ");
    PQclear(ra);
    assert_int_equal(PQsendQueryParams(b, RACE_SQL, 1, NULL, pb, NULL, NULL, 0), 1);
    // b waits on a's uncommitted version 3.
    char pid[16];
    (void) snprintf(pid, sizeof pid, "%d", PQbackendPID(b));
    const char *pp[1] = {pid};
    bool waiting = false;
    for (long long end = it_now_ms() + 5000; !waiting && it_now_ms() < end; it_sleep_ms(20)) {
        waiting = it_db_scalar(db,
                               "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::integer"
                               " AND wait_event_type = 'Lock'",
                               1, pp) == 1;
    }
    assert_true(waiting);
    it_db_exec(a, "COMMIT");
    PGresult *rb = PQgetResult(b);
    assert_int_equal(PQresultStatus(rb), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(rb, 0, 0),
                        "conflict base_version cannot record profile of neighbourhood \"نارمک\""
                        " on version 2: the latest version is 3");
    PQclear(rb);
    assert_null(PQgetResult(b));
    PQfinish(a);
    PQfinish(b);
    assert_int_equal(scalar("SELECT count(*) FROM neighbourhood_profile", NULL), 3);
}

// The production roles (migration 0005): workers record as referral_worker
// and cannot rewrite a version or a history; reports read as
// referral_reporting.
static void
test_the_worker_role_records_field_work_and_cannot_rewrite_it(void **state)
{
    (void) state;
    it_db_exec(db, "SET ROLE referral_worker");
    assert_int_equal(scalar("SELECT (outcome = 'ok')::int FROM record_trustee("
                            "'2b9a4c1d-3e5f-4a6b-8c7d-9e0f1a2b3c4d', 941, 'register', 'نارمک',"
                            " 'role tester', 'teacher', NULL, NULL, NULL, 'center:941')",
                            NULL),
                     1);
    assert_int_equal(scalar("SELECT (outcome = 'ok')::int FROM record_finding("
                            "'2b9a4c1d-3e5f-4a6b-8c7d-9e0f1a2b3c4e', 941, 'h-941-role', NULL,"
                            " 'نارمک', NULL, 'role test', 'other', NULL, 'center:941')",
                            NULL),
                     1);
    assert_int_equal(scalar("SELECT (outcome = 'ok')::int FROM close_finding("
                            "'2b9a4c1d-3e5f-4a6b-8c7d-9e0f1a2b3c4e', 941, 'role test done',"
                            " 'center:941')",
                            NULL),
                     1);
    static const char *const refused[] = {
        "UPDATE neighbourhood_profile SET body = '{}'",
        "DELETE FROM trustee_event",
        "DELETE FROM finding",
        "UPDATE finding_event SET reason = 'rewritten'",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        PGresult *res = PQexec(db, refused[i]);
        assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    it_db_exec(db, "RESET ROLE");
    it_db_exec(db, "SET ROLE referral_reporting");
    assert_true(scalar("SELECT (SELECT count(*) FROM finding) + (SELECT count(*) FROM trustee)"
                       " + (SELECT count(*) FROM neighbourhood_profile)",
                       NULL) > 0);
    it_db_exec(db, "RESET ROLE");
}

typedef struct trustee {
    char id[40];
    Rr__V1__TrusteeRequest req;
} trustee;

static void
trustee_init(trustee *t, const char *neighbourhood)
{
    rr_uuid_generate(t->id);
    rr__v1__trustee_request__init(&t->req);
    t->req.trustee_id = t->id;
    t->req.center_code = 941;
    t->req.action = RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_REGISTER;
    t->req.neighbourhood = (char *) neighbourhood;
    t->req.name = "حاج علی رضایی";
    t->req.role = "imam";
    t->req.consent = true;
}

static Rr__V1__TrusteeReply *
send_trustee(const trustee *t)
{
    Rr__V1__TrusteeReply *reply = NULL;
    rr_wire_error err = {0};
    if (cli_center_trustee(client, &t->req, 10000, 5, &reply, &err) != RR_OK) {
        print_message("trustee %s: %s\n", t->id, err.message);
        fail();
    }
    return reply;
}

typedef struct finding {
    char id[40];
    Rr__V1__FindingRequest req;
} finding;

static void
finding_init(finding *f, const char *household, int source)
{
    rr_uuid_generate(f->id);
    rr__v1__finding_request__init(&f->req);
    f->req.finding_id = f->id;
    f->req.center_code = 941;
    f->req.action = RR__V1__FINDING_ACTION__FINDING_ACTION_RECORD;
    f->req.household_id = (char *) household;
    f->req.neighbourhood = "نارمک";
    f->req.source = (Rr__V1__FindingSource) source;
}

static Rr__V1__FindingReply *
send_finding(const finding *f)
{
    Rr__V1__FindingReply *reply = NULL;
    rr_wire_error err = {0};
    if (cli_center_finding(client, &f->req, 10000, 5, &reply, &err) != RR_OK) {
        print_message("finding %s: %s\n", f->id, err.message);
        fail();
    }
    return reply;
}

static char kept_trustee[40]; // active, for the finding tests

static void
test_a_trustee_needs_consent_is_masked_everywhere_and_deactivation_is_kept(void **state)
{
    (void) state;
    trustee t;
    trustee_init(&t, "نارمک");
    t.req.phone = "۰۹۱۲ ۳۴۵ ۶۷۸۹"; // Persian digits
    t.req.national_id = "1234567891";
    t.req.consent = false;
    Rr__V1__TrusteeReply *r = send_trustee(&t);
    expect_refusal(r, RR__V1__STATUS__STATUS_EINVAL, "consent");
    rr_wire_free(r);
    assert_int_equal(scalar("SELECT count(*) FROM trustee", NULL), 0);
    t.req.consent = true;
    r = send_trustee(&t);
    expect_ok(r);
    assert_true(r->active);
    rr_wire_free(r);
    assert_int_equal(scalar("SELECT count(*) FROM trustee WHERE phone = '09123456789'"
                            " AND national_id = '1234567891' AND consent",
                            NULL),
                     1);
    it_ctl(&stack, stack.conninfo, "trustees list", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "******6789"));
    assert_non_null(strstr(run.out, "******7891"));
    assert_null(strstr(run.out, "09123456789"));
    assert_null(strstr(run.out, "1234567891"));

    Rr__V1__TrusteeRequest off = RR__V1__TRUSTEE_REQUEST__INIT;
    off.trustee_id = t.id;
    off.center_code = 941;
    off.action = RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_DEACTIVATE;
    off.reason = "moved away";
    Rr__V1__TrusteeReply *dr = NULL;
    rr_wire_error err = {0};
    for (int i = 0; i < 2; i++) { // the second is a harmless retry
        assert_int_equal(cli_center_trustee(client, &off, 10000, 5, &dr, &err), RR_OK);
        expect_ok(dr);
        assert_false(dr->active);
        assert_int_equal(dr->replayed, i == 1);
        rr_wire_free(dr);
    }
    assert_int_equal(scalar("SELECT count(*) FROM trustee_event WHERE trustee_id = $1::uuid", t.id),
                     2);
    it_ctl(&stack, stack.conninfo, "trustees list", &run);
    assert_non_null(strstr(run.out, "deactivate"));
    assert_non_null(strstr(run.out, "moved away"));
    // A finding cannot come from an inactive trustee.
    finding f;
    finding_init(&f, "H-941-inactive", RR__V1__FINDING_SOURCE__FINDING_SOURCE_TRUSTEE);
    f.req.trustee_id = t.id;
    f.req.need = "a widow with three children";
    Rr__V1__FindingReply *fr = send_finding(&f);
    expect_refusal(fr, RR__V1__STATUS__STATUS_ESTATE, "trustee_id");
    rr_wire_free(fr);

    trustee active;
    trustee_init(&active, "نارمک");
    r = send_trustee(&active);
    expect_ok(r);
    rr_wire_free(r);
    memcpy(kept_trustee, active.id, sizeof kept_trustee);
}

static void
test_a_finding_becomes_a_referral_with_the_link_and_a_retry_is_harmless(void **state)
{
    (void) state;
    it_request ref;
    it_request_init(&ref, 941, "RHB-02", "found-1");
    finding f;
    finding_init(&f, ref.household, RR__V1__FINDING_SOURCE__FINDING_SOURCE_TRUSTEE);
    f.req.trustee_id = kept_trustee;
    f.req.service_code = "RHB-02";
    f.req.national_id = ref.national_id;
    Rr__V1__FindingReply *fr = send_finding(&f);
    expect_ok(fr);
    assert_string_equal(fr->state, "open");
    rr_wire_free(fr);

    ref.req.finding_id = f.id;
    ref.req.neighbourhood = "نارمک";
    for (int i = 0; i < 2; i++) { // the second is a retry
        Rr__V1__SubmitReply *sr = it_submit(client, &ref.req);
        assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        rr_wire_free(sr);
    }
    const char *id[1] = {ref.request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM finding f JOIN referral r"
                                  " ON r.id = f.referral_id WHERE r.request_id = $1::uuid"
                                  " AND f.state = 'referred'",
                                  1, id),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM finding_event WHERE finding_id = $1::uuid"
                            " AND kind = 'referred'",
                            f.id),
                     1);
    fr = send_finding(&f); // FINDING's own retry answers the state now
    assert_true(fr->replayed);
    assert_string_equal(fr->state, "referred");
    assert_int_equal(strncmp(fr->referral_id, "R-", 2), 0);
    rr_wire_free(fr);

    // A second finding of the same need, referred by another request: that
    // request is a duplicate of the open referral, which answers both
    // findings; its retry is harmless too.
    finding again;
    finding_init(&again, ref.household, RR__V1__FINDING_SOURCE__FINDING_SOURCE_OUTREACH);
    again.req.service_code = "RHB-02";
    fr = send_finding(&again);
    expect_ok(fr);
    rr_wire_free(fr);
    it_request dup;
    it_request_init(&dup, 941, "RHB-02", "found-1-again");
    memcpy(dup.household, ref.household, sizeof dup.household);
    memcpy(dup.national_id, ref.national_id, sizeof dup.national_id);
    dup.req.finding_id = again.id;
    for (int i = 0; i < 2; i++) {
        Rr__V1__SubmitReply *sr = it_submit(client, &dup.req);
        assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_DUPLICATE);
        rr_wire_free(sr);
    }
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM finding f JOIN referral r"
                                  " ON r.id = f.referral_id WHERE r.request_id = $1::uuid",
                                  1, id),
                     2);

    // Another request naming it, a request for another household, closing it.
    it_request other;
    it_request_init(&other, 941, "SOC-07", "found-1b");
    memcpy(other.household, ref.household, sizeof other.household);
    other.req.finding_id = f.id;
    Rr__V1__SubmitReply *sr = it_submit(client, &other.req);
    assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(sr->error->code, RR__V1__STATUS__STATUS_ESTATE);
    assert_string_equal(sr->error->field, "finding_id");
    rr_wire_free(sr);
    it_request_init(&other, 941, "SOC-07", "someone-else");
    other.req.finding_id = f.id;
    sr = it_submit(client, &other.req);
    assert_int_equal(sr->error->code, RR__V1__STATUS__STATUS_EINVAL);
    rr_wire_free(sr);
    Rr__V1__FindingRequest close = RR__V1__FINDING_REQUEST__INIT;
    close.finding_id = f.id;
    close.center_code = 941;
    close.action = RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE;
    close.reason = "no longer needed";
    fr = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_finding(client, &close, 10000, 5, &fr, &err), RR_OK);
    expect_refusal(fr, RR__V1__STATUS__STATUS_ESTATE, "finding_id");
    rr_wire_free(fr);
    assert_true(it_wait_metric(&stack, "referral_findings_total{outcome=\"recorded\"}", 1, 5000));
}

static void
test_a_finding_is_closed_with_a_reason_and_then_cannot_be_referred(void **state)
{
    (void) state;
    finding f;
    finding_init(&f, "H-941-closed", RR__V1__FINDING_SOURCE__FINDING_SOURCE_SCHOOL);
    f.req.need = "a child out of school";
    Rr__V1__FindingReply *fr = send_finding(&f);
    expect_ok(fr);
    rr_wire_free(fr);
    Rr__V1__FindingRequest close = RR__V1__FINDING_REQUEST__INIT;
    close.finding_id = f.id;
    close.center_code = 941;
    close.action = RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE;
    close.reason = "the family moved to another county";
    rr_wire_error err = {0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cli_center_finding(client, &close, 10000, 5, &fr, &err), RR_OK);
        expect_ok(fr);
        assert_string_equal(fr->state, "closed");
        assert_int_equal(fr->replayed, i == 1);
        rr_wire_free(fr);
    }
    close.reason = "another reason";
    assert_int_equal(cli_center_finding(client, &close, 10000, 5, &fr, &err), RR_OK);
    expect_refusal(fr, RR__V1__STATUS__STATUS_ECONFLICT, "reason");
    rr_wire_free(fr);
    assert_int_equal(scalar("SELECT count(*) FROM finding_event WHERE finding_id = $1::uuid"
                            " AND kind = 'closed' AND reason = 'the family moved to another"
                            " county'",
                            f.id),
                     1);
    it_request r;
    it_request_init(&r, 941, "SOC-10", "closed");
    memcpy(r.household, "H-941-closed", sizeof "H-941-closed");
    r.req.finding_id = f.id;
    Rr__V1__SubmitReply *sr = it_submit(client, &r.req);
    assert_int_equal(sr->error->code, RR__V1__STATUS__STATUS_ESTATE);
    char want[200];
    (void) snprintf(want, sizeof want, "cannot refer finding \"%s\": it is closed", f.id);
    assert_string_equal(sr->error->message, want);
    rr_wire_free(sr);
}

static void
test_a_center_records_only_for_neighbourhoods_it_serves(void **state)
{
    (void) state;
    long long before = scalar("SELECT (SELECT count(*) FROM neighbourhood_profile)"
                              " + (SELECT count(*) FROM trustee) + (SELECT count(*) FROM finding)",
                              NULL);
    profile p;
    profile_init(&p, "Tollab-e Now", 0);
    Rr__V1__ProfileReply *pr = send_profile(&p);
    expect_refusal(pr, RR__V1__STATUS__STATUS_EPERM, "neighbourhood");
    assert_string_equal(pr->error->message, "cannot record a profile for neighbourhood \"Tollab-e "
                                            "Now\": center \"941\" does not serve it");
    rr_wire_free(pr);
    trustee t;
    trustee_init(&t, "Tollab-e Now");
    Rr__V1__TrusteeReply *tr = send_trustee(&t);
    expect_refusal(tr, RR__V1__STATUS__STATUS_EPERM, "neighbourhood");
    rr_wire_free(tr);
    finding f;
    finding_init(&f, "H-941-far", RR__V1__FINDING_SOURCE__FINDING_SOURCE_OUTREACH);
    f.req.neighbourhood = "Tollab-e Now";
    f.req.need = "x";
    Rr__V1__FindingReply *fr = send_finding(&f);
    expect_refusal(fr, RR__V1__STATUS__STATUS_EPERM, "neighbourhood");
    rr_wire_free(fr);
    f.req.neighbourhood = "Jolfa"; // not in Tehran at all
    fr = send_finding(&f);
    expect_refusal(fr, RR__V1__STATUS__STATUS_ENOTFOUND, "neighbourhood");
    rr_wire_free(fr);
    assert_int_equal(scalar("SELECT (SELECT count(*) FROM neighbourhood_profile)"
                            " + (SELECT count(*) FROM trustee) + (SELECT count(*) FROM finding)",
                            NULL),
                     before);
}

static void
test_the_report_separates_needs_found_actively_from_walk_ins(void **state)
{
    (void) state;
    // One open finding, and one walk-in referral in the neighbourhood.
    finding f;
    finding_init(&f, "H-941-open", RR__V1__FINDING_SOURCE__FINDING_SOURCE_HEALTH_HOUSE);
    f.req.service_code = "PRV-04";
    Rr__V1__FindingReply *fr = send_finding(&f);
    expect_ok(fr);
    rr_wire_free(fr);
    it_request walk;
    it_request_init(&walk, 941, "SOC-03", "walk-in");
    walk.req.neighbourhood = "نارمک";
    Rr__V1__SubmitReply *sr = it_submit(client, &walk.req);
    assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(sr);
    // A walk-in naming no neighbourhood counts in the one its center
    // serves (941 serves only نارمک, whatever the center register calls it).
    it_request unnamed;
    it_request_init(&unnamed, 941, "SOC-04", "walk-in-unnamed");
    sr = it_submit(client, &unnamed.req);
    assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(sr);
    it_ctl(&stack, stack.conninfo, "report needs --origin --county 2301 --format csv", &run);
    assert_int_equal(run.status, 0);
    // province,county,county_name,neighbourhood,findings,open,referred,
    // closed,sources,referrals_from_findings,walk_in_referrals: four
    // findings (two referred as the same referral, one closed, one open),
    // one referral from findings, two walk-ins.
    assert_non_null(strstr(run.out, "23,2301,Tehran,نارمک,4,1,2,1,"
                                    "\"health_house, outreach, school, trustee\",1,2"));
    assert_non_null(strstr(run.out, "23,2301,Tehran,(county total),4,1,2,1,"));
}

// With CURVE keys (a stack of its own, slot 62): a center's key records
// only as that center, an operator's key records no field work.
static void
test_with_keys_a_center_records_only_as_itself_and_an_operator_not_at_all(void **state)
{
    (void) state;
    char keys[600], registry[700], broker_pub[700], bkey[700], wkey[700];
    (void) snprintf(keys, sizeof keys, "%s/fieldwork-keys", getenv("RR_IT_LOGDIR"));
    (void) snprintf(registry, sizeof registry, "%s/registry", keys);
    (void) snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys);
    (void) snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    (void) snprintf(wkey, sizeof wkey, "%s/worker-any.key", keys);
    char cmd[1400];
    (void) snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", keys, keys);
    assert_int_equal(system(cmd), 0);
    it_key_make(keys, "broker", registry, NULL);
    it_key_make(keys, "worker-any", registry, "worker:any");
    it_key_make(keys, "center-941", registry, "center:941");
    it_key_make(keys, "operator", registry, "operator:maryam");
    const char *broker_opts[] = {"--curve-key-file", bkey, "--keys-dir", registry, NULL};
    const char *worker_opts[] = {"--curve-key-file", wkey, "--broker-key", broker_pub, NULL};
    it_stack keyed;
    assert_true(it_stack_start(&keyed, "fieldwork_keys", 62, broker_opts, worker_opts));
    assert_true(it_wait_workers(&keyed, 3, 10000));
    char path[700], args[800];
    (void) snprintf(path, sizeof path, "%s/neighbourhoods.csv", stack.logdir);
    (void) snprintf(args, sizeof args, "neighbourhoods import '%s' --by tester", path);
    it_ctl(&keyed, keyed.conninfo, args, &run);
    assert_int_equal(run.status, 0);

    cli_center *c941 = it_client_with_key(&keyed, keys, "center-941", broker_pub);
    cli_center *op = it_client_with_key(&keyed, keys, "operator", broker_pub);
    Rr__V1__ProfileReply *pr = NULL;
    rr_wire_error err = {0};
    profile p;
    profile_init(&p, "نارمک", 0);
    assert_int_equal(cli_center_profile(c941, &p.req, 10000, 3, &pr, &err), RR_OK);
    expect_ok(pr);
    rr_wire_free(pr);

    finding f;
    finding_init(&f, "H-1924-keys", RR__V1__FINDING_SOURCE__FINDING_SOURCE_OUTREACH);
    f.req.center_code = 1924; // 941's key speaking for 1924
    f.req.need = "x";
    Rr__V1__FindingReply *fr = NULL;
    assert_int_equal(cli_center_finding(c941, &f.req, 10000, 3, &fr, &err), RR_OK);
    expect_refusal(fr, RR__V1__STATUS__STATUS_EPERM, "center_code");
    rr_wire_free(fr);

    trustee t;
    trustee_init(&t, "نارمک");
    Rr__V1__TrusteeReply *tr = NULL;
    assert_int_equal(cli_center_trustee(op, &t.req, 10000, 3, &tr, &err), RR_OK);
    expect_refusal(tr, RR__V1__STATUS__STATUS_EPERM, "center_code");
    assert_string_equal(tr->error->message, "cannot record a trustee as operator:maryam: the "
                                            "center that serves the neighbourhood records it");
    rr_wire_free(tr);
    PGconn *kdb = PQconnectdb(keyed.conninfo);
    assert_int_equal(PQstatus(kdb), CONNECTION_OK);
    assert_int_equal(it_db_scalar(kdb,
                                  "SELECT (SELECT count(*) FROM referral.neighbourhood_profile)"
                                  " * 100 + (SELECT count(*) FROM referral.trustee)"
                                  " + (SELECT count(*) FROM referral.finding)",
                                  0, NULL),
                     100);
    PQfinish(kdb);
    cli_center_destroy(&c941);
    cli_center_destroy(&op);
    assert_true(it_stack_stop(&keyed));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_versions_are_kept_and_a_stale_base_is_a_conflict),
        cmocka_unit_test(
            test_two_edits_of_the_same_version_at_once_record_one_and_refuse_the_other),
        cmocka_unit_test(
            test_a_trustee_needs_consent_is_masked_everywhere_and_deactivation_is_kept),
        cmocka_unit_test(test_a_finding_becomes_a_referral_with_the_link_and_a_retry_is_harmless),
        cmocka_unit_test(test_a_finding_is_closed_with_a_reason_and_then_cannot_be_referred),
        cmocka_unit_test(test_a_center_records_only_for_neighbourhoods_it_serves),
        cmocka_unit_test(test_the_report_separates_needs_found_actively_from_walk_ins),
        cmocka_unit_test(test_the_worker_role_records_field_work_and_cannot_rewrite_it),
        cmocka_unit_test(test_with_keys_a_center_records_only_as_itself_and_an_operator_not_at_all),
    };
    return cmocka_run_group_tests_name("integration.fieldwork", tests, setup, teardown);
}
