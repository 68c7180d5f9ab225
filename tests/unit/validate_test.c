// wrk_validate: catalogue checks of a submission for a worker's domain.
#include "catalog_fixture.h"
#include "wrk_validate.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

static Rr__V1__SubmitRequest
valid_request(void)
{
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    req.center_code = 941;
    req.national_id = "۰۰۱۲۳۴۵۶۷۹";
    req.household_id = "H-941-0007";
    req.service_code = "SOC-01";
    req.note = "";
    req.consent = true;
    return req;
}

static void
test_wrk_validate_accepts_a_valid_request_and_normalises_it(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    Rr__V1__SubmitRequest req = valid_request();
    wrk_submit_facts facts;
    rr_wire_error err;
    assert_int_equal(wrk_validate_submit(cat, RR_DOMAIN_SOCIAL, &req, &facts, &err), RR_OK);
    assert_string_equal(facts.natid, "0012345679");
    assert_int_equal(facts.priority, RR_PRIORITY_ROUTINE);
    assert_string_equal(facts.service->code, "SOC-01");
    assert_int_equal(facts.center->code, 941);
    wrk_catalog_destroy(&cat);
}

static void
expect(wrk_catalog *cat, rr_domain domain, Rr__V1__SubmitRequest *req, rr_status code,
       const char *field, const char *message)
{
    wrk_submit_facts facts;
    rr_wire_error err;
    assert_int_equal(wrk_validate_submit(cat, domain, req, &facts, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_string_equal(err.message, message);
}

static void
test_wrk_validate_refuses_each_catalogue_problem_with_its_field(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    Rr__V1__SubmitRequest req = valid_request();
    req.service_code = "SOC-99";
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_ENOTFOUND, "service_code",
           "unrecognized service \"SOC-99\"");
    req = valid_request();
    expect(cat, RR_DOMAIN_PREVENTION, &req, RR_EINVAL, "service_code",
           "service \"SOC-01\" belongs to domain \"social\", not \"prevention\"");
    req = valid_request();
    req.service_code = "SOC-11";
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_ESTATE, "service_code",
           "cannot accept service \"SOC-11\": it is withdrawn from the catalogue");
    req = valid_request();
    req.center_code = 5;
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_ENOTFOUND, "center_code", "unrecognized center \"5\"");
    req = valid_request();
    req.center_code = 77;
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_ESTATE, "center_code",
           "cannot accept requests from center \"77\": it is inactive");
    wrk_catalog_destroy(&cat);
}

static void
test_wrk_validate_applies_the_wire_field_checks_first(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    Rr__V1__SubmitRequest req = valid_request();
    req.national_id = "1234567890";
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_EINVAL, "national_id",
           "invalid national id: it fails its check digit");
    wrk_catalog_destroy(&cat);
}

static void
test_wrk_validate_actor_lets_a_key_act_only_as_itself(void **state)
{
    (void) state;
    rr_wire_error err;
    const wrk_action R = WRK_ACTION_READ;
    assert_int_equal(wrk_validate_actor("", R, 941, NULL, &err), RR_OK); // --insecure
    assert_int_equal(wrk_validate_actor("center:941", R, 941, NULL, &err), RR_OK);
    assert_int_equal(wrk_validate_actor("center:941", R, 941, "", &err), RR_OK);
    assert_int_equal(wrk_validate_actor("center:941", R, 1924, NULL, &err), RR_EPERM);
    assert_string_equal(err.field, "center_code");
    assert_non_null(strstr(err.message, "belongs to center:941"));
    assert_int_equal(wrk_validate_actor("center:94", R, 941, NULL, &err), RR_EPERM); // not a prefix
    assert_int_equal(wrk_validate_actor("center:941", R, 941, "CO-2301", &err), RR_EPERM);
    assert_string_equal(err.field, "office_code");
    assert_int_equal(wrk_validate_actor("office:CO-2301", R, 0, "CO-2301", &err), RR_OK);
    assert_int_equal(wrk_validate_actor("office:CO-2301", R, 0, "CO-2302", &err), RR_EPERM);
    assert_int_equal(wrk_validate_actor("office:CO-2301", R, 941, NULL, &err), RR_EPERM);
    assert_int_equal(wrk_validate_actor("worker:social", R, 941, NULL, &err), RR_EPERM);
    // The same rules for changes and submissions.
    assert_int_equal(wrk_validate_actor("center:941", WRK_ACTION_SUBMIT, 941, NULL, &err), RR_OK);
    assert_int_equal(wrk_validate_actor("center:941", WRK_ACTION_SUBMIT, 942, NULL, &err),
                     RR_EPERM);
    assert_int_equal(wrk_validate_actor("office:CO-2301", WRK_ACTION_CHANGE, 0, "CO-2301", &err),
                     RR_OK);
    assert_int_equal(wrk_validate_actor("office:CO-2301", WRK_ACTION_CHANGE, 0, "CO-2302", &err),
                     RR_EPERM);
}

// An operator reads as anyone (or as no one: center 0, no office), never
// changes a referral, and submits only as a dead-letter retry (checked by
// the store, so allowed here).
static void
test_wrk_validate_actor_lets_an_operator_read_and_retry_but_not_change(void **state)
{
    (void) state;
    rr_wire_error err;
    const char *op = "operator:maryam";
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_READ, 0, NULL, &err), RR_OK);
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_READ, 941, NULL, &err), RR_OK);
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_READ, 0, "CO-2301", &err), RR_OK);
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_SUBMIT, 941, NULL, &err), RR_OK);
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_CHANGE, 0, "CO-2301", &err), RR_EPERM);
    assert_string_equal(err.field, "office_code");
    assert_non_null(strstr(err.message, "cannot change a referral as operator:maryam"));
    assert_int_equal(wrk_validate_actor(op, WRK_ACTION_CHANGE, 941, NULL, &err), RR_EPERM);
    assert_string_equal(err.field, "center_code");
    assert_true(wrk_is_operator(op));
    assert_false(wrk_is_operator("center:941"));
    assert_false(wrk_is_operator(""));
}

static void
test_wrk_validate_finds_a_named_neighbourhood_canonically_in_the_centers_county(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    // As the database keys them: canonical_text(name) (rr_text_canon).
    assert_int_equal(wrk_catalog_add_neighbourhood(cat, 12, "2301", "نارمک"), RR_OK);
    assert_int_equal(wrk_catalog_add_neighbourhood(cat, 13, "1002", "jolfa"), RR_OK);
    assert_int_equal(wrk_catalog_add_neighbourhood(cat, 14, "2301", "نارمک"), RR_EINVAL);
    Rr__V1__SubmitRequest req = valid_request();
    wrk_submit_facts facts;
    rr_wire_error err;
    assert_int_equal(wrk_validate_submit(cat, RR_DOMAIN_SOCIAL, &req, &facts, &err), RR_OK);
    assert_int_equal(facts.neighbourhood_id, 0); // none named
    req.neighbourhood = " نارمك";                // Arabic kaf, a leading space
    assert_int_equal(wrk_validate_submit(cat, RR_DOMAIN_SOCIAL, &req, &facts, &err), RR_OK);
    assert_int_equal(facts.neighbourhood_id, 12);
    // Jolfa is Isfahan's (1002), not in center 941's county.
    req.neighbourhood = "Jolfa";
    expect(cat, RR_DOMAIN_SOCIAL, &req, RR_ENOTFOUND, "neighbourhood",
           "unrecognized neighbourhood \"Jolfa\" in county \"2301\"");
    req.center_code = 1924;
    assert_int_equal(wrk_validate_submit(cat, RR_DOMAIN_SOCIAL, &req, &facts, &err), RR_OK);
    assert_int_equal(facts.neighbourhood_id, 13);
    wrk_catalog_destroy(&cat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrk_validate_accepts_a_valid_request_and_normalises_it),
        cmocka_unit_test(
            test_wrk_validate_finds_a_named_neighbourhood_canonically_in_the_centers_county),
        cmocka_unit_test(test_wrk_validate_refuses_each_catalogue_problem_with_its_field),
        cmocka_unit_test(test_wrk_validate_applies_the_wire_field_checks_first),
        cmocka_unit_test(test_wrk_validate_actor_lets_a_key_act_only_as_itself),
        cmocka_unit_test(test_wrk_validate_actor_lets_an_operator_read_and_retry_but_not_change),
    };
    return cmocka_run_group_tests_name("unit.validate", tests, NULL, NULL);
}
