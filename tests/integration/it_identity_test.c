// One household, one file, as people really type (issue 13), through the
// real broker, workers and PostgreSQL: every keyboard variant of a household
// id names the same file; per-person and per-household services; answers
// that stay true; refused requests that write nothing; a file shared with
// the centers told it is a duplicate.
#include "cli_center.h"
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

static int
setup(void **state)
{
    (void) state;
    return it_session_start(&stack, &client, &db, "identity", 0, NULL, NULL) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

// Submits req, expects outcome, and returns the referral id named.
static void
expect(const Rr__V1__SubmitRequest *req, Rr__V1__Outcome outcome, char *referral, size_t cap)
{
    Rr__V1__SubmitReply *reply = it_submit(client, req);
    if (reply->outcome != outcome) {
        fail_msg("request for household \"%s\": outcome %d, expected %d (%s)", req->household_id,
                 (int) reply->outcome, (int) outcome,
                 reply->error ? reply->error->message : "no error");
    }
    if (referral != NULL) {
        snprintf(referral, cap, "%s", reply->referral_id);
    }
    rr_wire_free(reply);
}

static long long
count(const char *sql, const char *param)
{
    const char *p[] = {param};
    return it_db_scalar(db, sql, param ? 1 : 0, param ? p : NULL);
}

// Issue 13's variants of one household id, each typed on an everyday
// keyboard or system.
static const struct {
    const char *what;
    const char *text;
} VARIANTS[] = {
    {"trailing space", "آرش کریمی ۴۱ "},
    {"leading space", " آرش کریمی ۴۱"},
    {"no-break space", "آرش\u00a0کریمی ۴۱"},
    {"Arabic yeh", "آرش کريمي ۴۱"},
    {"Arabic kaf", "آرش كریمی ۴۱"},
    {"Latin digits", "آرش کریمی 41"},
    {"Arabic-Indic digits", "آرش کریمی ٤١"},
    {"ZWNJ", "آرش کری\u200cمی ۴۱"},
    {"zero-width space", "\u200bآرش کریمی ۴۱"},
    {"BOM", "\ufeffآرش کریمی ۴۱"},
    {"bidi mark", "\u200fآرش کریمی ۴۱"},
    {"NFD", "\u0627\u0653رش کریمی ۴۱"},
};

static void
test_every_keyboard_variant_of_a_household_is_answered_duplicate(void **state)
{
    (void) state;
    it_request first;
    it_request_init(&first, 941, "SOC-04", "v"); // a home visit: per household
    first.req.household_id = "آرش کریمی ۴۱";
    char r1[32];
    expect(&first.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r1, sizeof r1);
    for (size_t i = 0; i < sizeof VARIANTS / sizeof VARIANTS[0]; i++) {
        it_request r;
        it_request_init(&r, 941, "SOC-04", "v"); // another member, another request
        r.req.household_id = (char *) VARIANTS[i].text;
        Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
        if (reply->outcome != RR__V1__OUTCOME__OUTCOME_DUPLICATE ||
            strcmp(reply->referral_id, r1) != 0) {
            fail_msg("variant \"%s\": outcome %d naming %s, expected duplicate of %s",
                     VARIANTS[i].what, (int) reply->outcome, reply->referral_id, r1);
        }
        assert_true(reply->shared_file);
        rr_wire_free(reply);
    }
    // One file, one open home visit, the first member only; the answers
    // are recorded, nothing else.
    assert_int_equal(count("SELECT count(*) FROM household WHERE id = 'آرش کریمی 41'", NULL), 1);
    assert_int_equal(count("SELECT count(*) FROM household WHERE id LIKE 'آرش%'", NULL), 1);
    assert_int_equal(count("SELECT count(*) FROM referral WHERE household_id = 'آرش کریمی 41'"
                           " AND service_code = 'SOC-04'",
                           NULL),
                     1);
    assert_int_equal(count("SELECT count(*) FROM person WHERE household_id = 'آرش کریمی 41'", NULL),
                     1);
    assert_int_equal(
        count("SELECT count(*) FROM duplicate_answer WHERE referral_id = $1::bigint", r1 + 2),
        (long long) (sizeof VARIANTS / sizeof VARIANTS[0]));
}

static void
test_referralctl_submit_answers_a_variant_duplicate_and_says_it_is_shared(void **state)
{
    (void) state;
    it_request first;
    it_request_init(&first, 941, "SOC-08", "cli"); // housing support: per household
    first.req.household_id = "نارمک ۱۲";
    char r1[32];
    expect(&first.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r1, sizeof r1);
    char out[4096];
    int rc = it_run(out, sizeof out,
                    "%s submit --broker %s --center 1924 --household ' نارمك 12' "
                    "--national-id 1234567891 --service soc-08",
                    getenv("RR_CTL_BIN"), stack.frontend);
    assert_int_equal(rc, 0);
    char want[128];
    snprintf(want, sizeof want, " duplicate %s ", r1);
    if (strstr(out, want) == NULL || strstr(out, "shared") == NULL) {
        fail_msg("referralctl submit printed: %s", out);
    }
}

static void
test_person_level_services_count_per_person_across_households(void **state)
{
    (void) state;
    it_request a;
    it_request_init(&a, 941, "RHB-02", "wheel"); // a wheelchair: per person
    char ra[32], rb[32], rc[32];
    expect(&a.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, ra, sizeof ra);
    // A second child of the same household: accepted.
    it_request b;
    it_request_init(&b, 941, "RHB-02", "wheel");
    b.req.national_id = strcmp(a.req.national_id, "1234567891") ? "1234567891" : "0012345679";
    expect(&b.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, rb, sizeof rb);
    assert_string_not_equal(ra, rb);
    // The first child again, under another household id: a duplicate.
    it_request c;
    it_request_init(&c, 1924, "RHB-02", "elsewhere");
    c.req.national_id = a.req.national_id;
    expect(&c.req, RR__V1__OUTCOME__OUTCOME_DUPLICATE, rc, sizeof rc);
    assert_string_equal(rc, ra);
    // ... which moved nobody and opened no file.
    assert_int_equal(count("SELECT count(*) FROM household WHERE id = 'h-1924-elsewhere'", NULL),
                     0);
    assert_int_equal(count("SELECT count(*) FROM person WHERE national_id = $1"
                           " AND household_id = 'h-941-wheel'",
                           a.req.national_id),
                     1);
}

// Cancels referral (R-<n>) as its center: the withdraw of DOMAIN.md.
static void
withdraw(const char *referral, uint32_t center, Rr__V1__Domain domain)
{
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = (char *) referral;
    q.center_code = center;
    Rr__V1__StatusReply *s = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &s, &err), RR_OK);
    assert_int_equal(s->status, RR__V1__STATUS__STATUS_OK);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = (char *) referral;
    u.domain = domain;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED;
    u.center_code = center;
    u.office_code = "";
    u.expected_version = s->referral->version;
    u.reason = "the family moved";
    rr_wire_free(s);
    Rr__V1__UpdateReply *ur = NULL;
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
}

static void
test_a_duplicate_stays_a_duplicate_after_its_referral_closes(void **state)
{
    (void) state;
    it_request first, dup;
    it_request_init(&first, 941, "SOC-06", "stays"); // a pension: per household
    it_request_init(&dup, 941, "SOC-06", "stays");
    char r1[32], r2[32];
    expect(&first.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r1, sizeof r1);
    expect(&dup.req, RR__V1__OUTCOME__OUTCOME_DUPLICATE, r2, sizeof r2);
    assert_string_equal(r2, r1);
    withdraw(r1, 941, RR__V1__DOMAIN__DOMAIN_SOCIAL);
    // The same request again: the same answer, the referral now cancelled.
    Rr__V1__SubmitReply *again = it_submit(client, &dup.req);
    assert_int_equal(again->outcome, RR__V1__OUTCOME__OUTCOME_DUPLICATE);
    assert_string_equal(again->referral_id, r1);
    assert_int_equal(again->referral_status, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED);
    assert_int_equal(again->version, 2); // submitted, then withdrawn
    rr_wire_free(again);
    // A new request for the need is a new referral.
    it_request fresh;
    it_request_init(&fresh, 941, "SOC-06", "stays");
    expect(&fresh.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r2, sizeof r2);
    assert_string_not_equal(r2, r1);
}

static void
test_a_reused_request_id_with_other_content_is_a_conflict_naming_the_field(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "PRV-04", "reuse");
    Rr__V1__RiskFlag flags[2] = {RR__V1__RISK_FLAG__RISK_FLAG_DISABILITY,
                                 RR__V1__RISK_FLAG__RISK_FLAG_UNEMPLOYMENT};
    r.req.risk_flags = flags;
    r.req.n_risk_flags = 2;
    r.req.note = "first note";
    char r1[32], again[32];
    expect(&r.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r1, sizeof r1);
    // The same request, the household typed otherwise and the flags in
    // another order: the same request, the same answer.
    it_request same = r;
    same.req.household_id = " H-941-REUSE ";
    Rr__V1__RiskFlag swapped[2] = {flags[1], flags[0]};
    same.req.risk_flags = swapped;
    expect(&same.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, again, sizeof again);
    assert_string_equal(again, r1);
    // Each case changes one field, named as the refusal must name it.
    static const char *const CHANGED[] = {"national_id", "priority", "risk_flags", "note",
                                          "household_id"};
    for (size_t i = 0; i < sizeof CHANGED / sizeof CHANGED[0]; i++) {
        it_request other = r;
        Rr__V1__RiskFlag one[1] = {RR__V1__RISK_FLAG__RISK_FLAG_DISABILITY};
        switch (i) {
        case 0:
            other.req.national_id = "1234567891";
            break;
        case 1:
            other.req.priority = RR__V1__PRIORITY__PRIORITY_URGENT;
            break;
        case 2:
            other.req.risk_flags = one;
            other.req.n_risk_flags = 1;
            break;
        case 3:
            other.req.note = "another note";
            break;
        default:
            other.req.household_id = "H-941-other";
            break;
        }
        Rr__V1__SubmitReply *reply = it_submit(client, &other.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
        assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_ECONFLICT);
        assert_string_equal(reply->error->field, "request_id");
        char differs[64];
        snprintf(differs, sizeof differs, "(its %s differs)", CHANGED[i]);
        if (strstr(reply->error->message, differs) == NULL) {
            fail_msg("change of %s: %s", CHANGED[i], reply->error->message);
        }
        rr_wire_free(reply);
    }
    // The refusals wrote nothing: no household H-941-other, no person moved.
    assert_int_equal(count("SELECT count(*) FROM household WHERE id = 'h-941-other'", NULL), 0);
    assert_int_equal(count("SELECT count(*) FROM person WHERE national_id = '1234567891'"
                           " AND household_id = 'h-941-reuse'",
                           NULL),
                     0);
}

static void
test_text_with_a_nul_or_a_bidi_override_is_refused_naming_the_field(void **state)
{
    (void) state;
    // A NUL cannot be sent through protobuf-c's packer: write the body by
    // hand (request_id 1, center 2, national id 3, household 4, service 5,
    // consent 9).
    char id[40];
    rr_uuid_generate(id);
    uint8_t body[160];
    size_t n = 0;
    body[n++] = 0x0a;
    body[n++] = 36;
    memcpy(body + n, id, 36);
    n += 36;
    const uint8_t center[] = {0x10, 0xad, 0x07}; // 941
    memcpy(body + n, center, sizeof center);
    n += sizeof center;
    body[n++] = 0x1a;
    body[n++] = 10;
    memcpy(body + n, "0012345679", 10);
    n += 10;
    const char household[] = "H-941-NUL\0hidden";
    body[n++] = 0x22;
    body[n++] = (uint8_t) (sizeof household - 1);
    memcpy(body + n, household, sizeof household - 1);
    n += sizeof household - 1;
    body[n++] = 0x2a;
    body[n++] = 6;
    memcpy(body + n, "SOC-04", 6);
    n += 6;
    body[n++] = 0x48;
    body[n++] = 1;
    rr_wire_call answer;
    assert_int_equal(cli_center_call_raw(client, RR_CMD_SUBMIT, id, body, n, 10000, &answer),
                     RR_OK);
    assert_string_equal(answer.correlation, id);
    Rr__V1__SubmitReply *reply = NULL;
    assert_int_equal(
        rr_wire_unpack(zmq_msg_data(&answer.body), zmq_msg_size(&answer.body), &reply, NULL),
        RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(reply->error->field, "household_id");
    assert_non_null(strstr(reply->error->message, "holds a NUL byte"));
    rr_wire_free(reply);
    rr_wire_call_close(&answer);
    // A right-to-left override in a note, refused by the client library
    // before sending, as the broker would.
    it_request r;
    it_request_init(&r, 941, "SOC-04", "rlo");
    r.req.note = "pay \u202e0001\u202c rials";
    Rr__V1__SubmitReply *local = it_submit(client, &r.req);
    assert_int_equal(local->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_string_equal(local->error->field, "note");
    rr_wire_free(local);
    assert_int_equal(count("SELECT count(*) FROM household WHERE id LIKE 'h-941-nul%'"
                           " OR id = 'h-941-rlo'",
                           NULL),
                     0);
}

// STATUS of referral (or of a request_id) as center; the status code.
static Rr__V1__Status
status_as(uint32_t center, const char *referral, const char *request_id)
{
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    if (referral != NULL) {
        q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
        q.referral_id = (char *) referral;
    } else {
        q.key_case = RR__V1__STATUS_QUERY__KEY_REQUEST_ID;
        q.request_id = (char *) request_id;
    }
    q.center_code = center;
    Rr__V1__StatusReply *s = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &s, &err), RR_OK);
    Rr__V1__Status st = s->status;
    if (st == RR__V1__STATUS__STATUS_OK && request_id != NULL) {
        assert_non_null(s->referral);
    }
    rr_wire_free(s);
    return st;
}

// The referral ids in center's FOLLOW feed from the beginning.
static bool
follow_names(uint32_t center, const char *referral)
{
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.center_code = center;
    f.limit = 1000;
    Rr__V1__FollowReply *reply = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_follow(client, &f, 10000, 3, &reply, &err), RR_OK);
    assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
    bool found = false;
    for (size_t i = 0; i < reply->n_events; i++) {
        found = found || strcmp(reply->events[i]->referral_id, referral) == 0;
    }
    rr_wire_free(reply);
    return found;
}

static void
test_a_center_told_duplicate_reads_and_follows_the_shared_file(void **state)
{
    (void) state;
    it_request mine, theirs;
    it_request_init(&mine, 2441, "SOC-03", "shared"); // 2441 opens the file
    it_request_init(&theirs, 5165, "SOC-03", "x");
    theirs.req.household_id = "H-2441-SHARED"; // 5165 serves the same household
    char r1[32], r2[32];
    expect(&mine.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r1, sizeof r1);
    assert_int_equal(status_as(5165, r1, NULL), RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_false(follow_names(5165, r1));
    expect(&theirs.req, RR__V1__OUTCOME__OUTCOME_DUPLICATE, r2, sizeof r2);
    assert_string_equal(r2, r1);
    // Now it is 5165's file too: by the referral id and by its own request.
    assert_int_equal(status_as(5165, r1, NULL), RR__V1__STATUS__STATUS_OK);
    assert_int_equal(status_as(5165, NULL, theirs.request_id), RR__V1__STATUS__STATUS_OK);
    assert_true(follow_names(5165, r1));
    // The opener has no hold on the file: 5165 refers the household for
    // another need, its own referral.
    it_request other;
    it_request_init(&other, 5165, "RHB-03", "x");
    other.req.household_id = "h-2441-shared";
    expect(&other.req, RR__V1__OUTCOME__OUTCOME_ACCEPTED, r2, sizeof r2);
    assert_string_not_equal(r2, r1);
    // A center never told stays out.
    assert_int_equal(status_as(3102, r1, NULL), RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_false(follow_names(3102, r1));
    // Reading is not owning: 5165 cannot withdraw 2441's referral.
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = r1;
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED;
    u.center_code = 5165;
    u.office_code = "";
    u.expected_version = 1;
    u.reason = "not mine";
    Rr__V1__UpdateReply *ur = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_not_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
    assert_int_equal(count("SELECT count(*) FROM referral WHERE id = $1::bigint"
                           " AND status = 'requested'",
                           r1 + 2),
                     1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_keyboard_variant_of_a_household_is_answered_duplicate),
        cmocka_unit_test(test_referralctl_submit_answers_a_variant_duplicate_and_says_it_is_shared),
        cmocka_unit_test(test_person_level_services_count_per_person_across_households),
        cmocka_unit_test(test_a_duplicate_stays_a_duplicate_after_its_referral_closes),
        cmocka_unit_test(
            test_a_reused_request_id_with_other_content_is_a_conflict_naming_the_field),
        cmocka_unit_test(test_text_with_a_nul_or_a_bidi_override_is_refused_naming_the_field),
        cmocka_unit_test(test_a_center_told_duplicate_reads_and_follows_the_shared_file),
    };
    return cmocka_run_group_tests_name("integration.identity", tests, setup, teardown);
}
