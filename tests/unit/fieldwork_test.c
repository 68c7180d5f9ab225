// The field checks of PROFILE, TRUSTEE and FINDING (rr_wire_check_nbhd.c):
// what a center's profile, trustee or finding must say before the broker
// queues it, each refusal with its code, field and words; the phone's
// canonical form; and that the broker's unpack looks inside list items.
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#define ID "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59"

static void
expect(rr_status got, const rr_wire_error *err, rr_status code, const char *field,
       const char *message)
{
    assert_int_equal(got, code);
    assert_int_equal(err->code, code);
    assert_string_equal(err->field, field);
    if (message != NULL) {
        assert_string_equal(err->message, message);
    }
}

typedef struct profile {
    Rr__V1__ProfileRequest req;
    Rr__V1__ProfileNeed needs[2];
    Rr__V1__ProfileNeed *needp[2];
    Rr__V1__ProfileCapacity cap;
    Rr__V1__ProfileCapacity *capp[1];
} profile;

static void
profile_init(profile *p)
{
    rr__v1__profile_request__init(&p->req);
    p->req.update_id = ID;
    p->req.center_code = 941;
    p->req.neighbourhood = "نارمک";
    for (int i = 0; i < 2; i++) {
        rr__v1__profile_need__init(&p->needs[i]);
        p->needs[i].rank = (uint32_t) i + 1;
        p->needs[i].need = "اشتغال";
        p->needp[i] = &p->needs[i];
    }
    p->req.needs = p->needp;
    p->req.n_needs = 2;
    rr__v1__profile_capacity__init(&p->cap);
    p->cap.kind = RR__V1__CAPACITY_KIND__CAPACITY_KIND_PLACE;
    p->cap.name = "پارک محله";
    p->capp[0] = &p->cap;
    p->req.capacities = p->capp;
    p->req.n_capacities = 1;
    p->req.needs_assessed_on = "2026-11-20";
}

static void
test_a_profile_with_ranked_needs_and_a_place_passes(void **state)
{
    (void) state;
    profile p;
    profile_init(&p);
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_profile_check(&p.req, &err), RR_OK);
}

static void
test_a_profile_refuses_a_rank_given_twice_naming_the_item(void **state)
{
    (void) state;
    profile p;
    profile_init(&p);
    p.needs[1].rank = 1;
    rr_wire_error err = {0};
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "needs[1].rank",
           "need rank 1 is given twice: each rank once");
    p.needs[1].rank = 51;
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "needs[1].rank",
           "need rank 51 is out of range 1..50");
}

static void
test_a_profile_refuses_an_unknown_kind_a_missing_name_and_a_bad_day(void **state)
{
    (void) state;
    profile p;
    profile_init(&p);
    rr_wire_error err = {0};
    p.cap.kind = 0;
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "capacities[0].kind",
           "unrecognized capacity kind value 0");
    profile_init(&p);
    p.cap.name = "";
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "capacities[0].name",
           "missing required field \"capacities[0].name\"");
    profile_init(&p);
    p.req.needs_assessed_on = "1405/08/29";
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "needs_assessed_on",
           "invalid needs_assessed_on \"1405/08/29\": expected a day like \"2026-11-20\"");
    profile_init(&p);
    p.req.neighbourhood = "";
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_EINVAL, "neighbourhood",
           "missing required field \"neighbourhood\"");
}

static void
test_a_profile_over_fifty_items_is_too_big(void **state)
{
    (void) state;
    profile p;
    profile_init(&p);
    p.req.n_assets = RR_WIRE_MAX_PROFILE_ITEMS + 1; // counted before any item is read
    rr_wire_error err = {0};
    expect(rr_wire_profile_check(&p.req, &err), &err, RR_ETOOBIG, "assets",
           "too many assets: 51, limit 50");
}

static void
test_the_unpack_refuses_an_unknown_field_inside_a_list_item(void **state)
{
    (void) state;
    // ProfileRequest{update_id, center_code 941, neighbourhood "N",
    // needs[0]{rank 1, need "x", field 9 = 1}}.
    static const uint8_t body[] = {0x0a, 36,  '5',  'f', '0',  'c',  '8',  'a',  '5',  '2', '-',
                                   '1',  'd', '2',  'e', '-',  '4',  'c',  '3',  'b',  '-', '9',
                                   'a',  '7', 'f',  '-', '0',  'e',  '1',  'd',  '2',  'c', '3',
                                   'b',  '4', 'a',  '5', '9',  0x10, 0xad, 0x07, 0x1a, 1,   'N',
                                   0x3a, 7,   0x08, 1,   0x12, 1,    'x',  0x48, 0x01};
    Rr__V1__ProfileRequest *p = NULL;
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_unpack(body, sizeof body, &p, &err), RR_EINVAL);
    assert_string_equal(err.field, "needs[0]");
    assert_string_equal(err.message, "unrecognized field number 9 in needs[0]: this version of "
                                     "the protocol has no such field");
    rr_wire_free(p);
}

static Rr__V1__TrusteeRequest
trustee(void)
{
    Rr__V1__TrusteeRequest t = RR__V1__TRUSTEE_REQUEST__INIT;
    t.trustee_id = ID;
    t.center_code = 941;
    t.action = RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_REGISTER;
    t.neighbourhood = "نارمک";
    t.name = "حاج علی رضایی";
    t.role = "imam";
    t.consent = true;
    return t;
}

static void
test_a_trustee_is_refused_without_consent(void **state)
{
    (void) state;
    Rr__V1__TrusteeRequest t = trustee();
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_trustee_check(&t, &err), RR_OK);
    t.consent = false;
    expect(rr_wire_trustee_check(&t, &err), &err, RR_EINVAL, "consent",
           "cannot register a trustee without consent: field \"consent\" must be true");
}

static void
test_a_trustee_phone_and_national_id_are_checked_without_quoting_them(void **state)
{
    (void) state;
    Rr__V1__TrusteeRequest t = trustee();
    rr_wire_error err = {0};
    t.phone = "0912-ABC";
    expect(rr_wire_trustee_check(&t, &err), &err, RR_EINVAL, "phone", NULL);
    assert_null(strstr(err.message, "0912"));
    t.phone = "";
    t.national_id = "1234567890"; // wrong check digit
    expect(rr_wire_trustee_check(&t, &err), &err, RR_EINVAL, "national_id", NULL);
    assert_null(strstr(err.message, "1234567890"));
}

static void
test_a_deactivation_needs_a_reason_and_nothing_else(void **state)
{
    (void) state;
    Rr__V1__TrusteeRequest t = RR__V1__TRUSTEE_REQUEST__INIT;
    t.trustee_id = ID;
    t.center_code = 941;
    t.action = RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_DEACTIVATE;
    rr_wire_error err = {0};
    expect(rr_wire_trustee_check(&t, &err), &err, RR_EINVAL, "reason",
           "missing required field \"reason\"");
    t.reason = "moved away";
    assert_int_equal(rr_wire_trustee_check(&t, &err), RR_OK);
}

static void
test_the_phone_is_kept_as_its_digits(void **state)
{
    (void) state;
    char out[RR_WIRE_MAX_PHONE_BYTES + 1];
    assert_true(rr_wire_phone_canon("۰۹۱۲ ۳۴۵ ۶۷۸۹", out));
    assert_string_equal(out, "09123456789");
    assert_true(rr_wire_phone_canon("+98-21-7777-1234", out));
    assert_string_equal(out, "+982177771234");
    assert_false(rr_wire_phone_canon("123456", out));           // 6 digits
    assert_false(rr_wire_phone_canon("1234567890123456", out)); // 16 digits
    assert_false(rr_wire_phone_canon(" 0912345678", out));      // a leading space
}

static Rr__V1__FindingRequest
finding(void)
{
    Rr__V1__FindingRequest f = RR__V1__FINDING_REQUEST__INIT;
    f.finding_id = ID;
    f.center_code = 941;
    f.action = RR__V1__FINDING_ACTION__FINDING_ACTION_RECORD;
    f.household_id = "H-941-0412";
    f.neighbourhood = "نارمک";
    f.service_code = "RHB-02";
    f.source = RR__V1__FINDING_SOURCE__FINDING_SOURCE_OUTREACH;
    return f;
}

static void
test_a_finding_needs_a_need_and_a_source(void **state)
{
    (void) state;
    Rr__V1__FindingRequest f = finding();
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_finding_check(&f, &err), RR_OK);
    f.service_code = "";
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "need",
           "a finding needs \"service_code\" or \"need\": the need found");
    f.need = "a widow with three children";
    f.source = 0;
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "source",
           "missing required field \"source\"");
}

static void
test_a_trustee_id_goes_with_the_trustee_source_only(void **state)
{
    (void) state;
    Rr__V1__FindingRequest f = finding();
    rr_wire_error err = {0};
    f.source = RR__V1__FINDING_SOURCE__FINDING_SOURCE_TRUSTEE;
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "trustee_id",
           "missing required field \"trustee_id\" for source \"trustee\"");
    f.trustee_id = ID;
    assert_int_equal(rr_wire_finding_check(&f, &err), RR_OK);
    f.source = RR__V1__FINDING_SOURCE__FINDING_SOURCE_SCHOOL;
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "trustee_id",
           "field \"trustee_id\" goes with source \"trustee\" only");
}

static void
test_closing_a_finding_needs_only_its_id_and_a_reason(void **state)
{
    (void) state;
    Rr__V1__FindingRequest f = RR__V1__FINDING_REQUEST__INIT;
    f.finding_id = ID;
    f.center_code = 941;
    f.action = RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE;
    rr_wire_error err = {0};
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "reason",
           "missing required field \"reason\"");
    f.reason = "moved away";
    assert_int_equal(rr_wire_finding_check(&f, &err), RR_OK);
    f.action = 7;
    expect(rr_wire_finding_check(&f, &err), &err, RR_EINVAL, "action",
           "unrecognized action value 7");
}

static void
test_a_submission_names_a_finding_by_its_uuid(void **state)
{
    (void) state;
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = ID;
    req.center_code = 941;
    req.national_id = "0012345679";
    req.household_id = "H-941-0007";
    req.service_code = "SOC-01";
    req.consent = true;
    req.finding_id = "not-a-uuid";
    rr_wire_error err = {0};
    expect(rr_wire_submit_check(&req, NULL, &err), &err, RR_EINVAL, "finding_id", NULL);
    req.finding_id = ID;
    assert_int_equal(rr_wire_submit_check(&req, NULL, &err), RR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_profile_with_ranked_needs_and_a_place_passes),
        cmocka_unit_test(test_a_profile_refuses_a_rank_given_twice_naming_the_item),
        cmocka_unit_test(test_a_profile_refuses_an_unknown_kind_a_missing_name_and_a_bad_day),
        cmocka_unit_test(test_a_profile_over_fifty_items_is_too_big),
        cmocka_unit_test(test_the_unpack_refuses_an_unknown_field_inside_a_list_item),
        cmocka_unit_test(test_a_trustee_is_refused_without_consent),
        cmocka_unit_test(test_a_trustee_phone_and_national_id_are_checked_without_quoting_them),
        cmocka_unit_test(test_a_deactivation_needs_a_reason_and_nothing_else),
        cmocka_unit_test(test_the_phone_is_kept_as_its_digits),
        cmocka_unit_test(test_a_finding_needs_a_need_and_a_source),
        cmocka_unit_test(test_a_trustee_id_goes_with_the_trustee_source_only),
        cmocka_unit_test(test_closing_a_finding_needs_only_its_id_and_a_reason),
        cmocka_unit_test(test_a_submission_names_a_finding_by_its_uuid),
    };
    return cmocka_run_group_tests_name("unit.fieldwork", tests, NULL, NULL);
}
