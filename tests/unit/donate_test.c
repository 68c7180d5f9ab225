// DONATE's field checks (rr_wire_donate_check): what a center's donation
// must say before the broker queues it, each refusal with its code, field
// and words, and that the broker's unpack applies them.
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static Rr__V1__DonateRequest
valid(void)
{
    Rr__V1__DonateRequest d = RR__V1__DONATE_REQUEST__INIT;
    d.donation_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    d.center_code = 941;
    d.amount_rials = 5000000;
    d.bank_reference = "SHBA-1405-0001";
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD;
    d.neighbourhood = "نارمک";
    return d;
}

static void
assert_refused(const Rr__V1__DonateRequest *d, rr_status code, const char *field,
               const char *message)
{
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_donate_check(d, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_string_equal(err.message, message);
}

static void
test_a_donation_for_a_neighbourhood_with_an_anonymous_donor_passes(void **state)
{
    (void) state;
    Rr__V1__DonateRequest d = valid();
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
}

static void
test_each_intent_passes_with_its_own_target_and_county_may_be_left_out(void **state)
{
    (void) state;
    rr_wire_error err = {0};
    Rr__V1__DonateRequest d = valid();
    d.neighbourhood = "";
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_UNRESTRICTED;
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY;
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK); // the center's own county
    d.county_code = "2301";
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
    d.county_code = "";
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_DOMAIN;
    d.domain = RR__V1__DOMAIN__DOMAIN_REHABILITATION;
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
    d.domain = 0;
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE;
    d.service_code = "RHB-02";
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
}

static void
test_identity_and_amount_are_required_and_bounded(void **state)
{
    (void) state;
    Rr__V1__DonateRequest d = valid();
    d.donation_id = "";
    assert_refused(&d, RR_EINVAL, "donation_id", "missing required field \"donation_id\"");
    d.donation_id = "D-1";
    assert_refused(&d, RR_EINVAL, "donation_id",
                   "invalid donation_id: must be a UUID like "
                   "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    d = valid();
    d.center_code = 0;
    assert_refused(&d, RR_EINVAL, "center_code", "missing required field \"center_code\"");
    d = valid();
    d.amount_rials = 0;
    assert_refused(&d, RR_EINVAL, "amount_rials", "missing required field \"amount_rials\"");
    d.amount_rials = RR_WIRE_MAX_RIALS;
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_OK);
    d.amount_rials = RR_WIRE_MAX_RIALS + 1;
    assert_refused(&d, RR_ETOOBIG, "amount_rials",
                   "amount 10000000000001 rials is over the maximum 10000000000000");
    d = valid();
    d.bank_reference = "";
    assert_refused(&d, RR_EINVAL, "bank_reference", "missing required field \"bank_reference\"");
}

static void
test_texts_are_clean_and_within_their_limits(void **state)
{
    (void) state;
    char long_ref[RR_WIRE_MAX_BANK_REF_BYTES + 2];
    memset(long_ref, 'x', sizeof long_ref - 1);
    long_ref[sizeof long_ref - 1] = '\0';
    Rr__V1__DonateRequest d = valid();
    d.bank_reference = long_ref;
    assert_refused(&d, RR_ETOOBIG, "bank_reference",
                   "field \"bank_reference\" is too long: 65 bytes, limit 64");
    d = valid();
    d.donor = "Ali\nReza";
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_donate_check(&d, &err), RR_EINVAL);
    assert_string_equal(err.field, "donor");
}

static void
test_the_intent_is_required_and_takes_exactly_its_own_target(void **state)
{
    (void) state;
    Rr__V1__DonateRequest d = valid();
    d.intent = 0;
    assert_refused(&d, RR_EINVAL, "intent", "missing required field \"intent\"");
    d.intent = 9;
    assert_refused(&d, RR_EINVAL, "intent", "unrecognized intent value 9");
    d = valid();
    d.neighbourhood = "";
    assert_refused(&d, RR_EINVAL, "neighbourhood",
                   "missing required field \"neighbourhood\" for intent \"neighbourhood\"");
    d = valid();
    d.service_code = "RHB-02";
    assert_refused(&d, RR_EINVAL, "service_code",
                   "field \"service_code\" does not go with intent \"neighbourhood\"");
    d = valid();
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_DOMAIN;
    assert_refused(&d, RR_EINVAL, "neighbourhood",
                   "field \"neighbourhood\" does not go with intent \"domain\"");
    d.neighbourhood = "";
    assert_refused(&d, RR_EINVAL, "domain",
                   "missing required field \"domain\" for intent \"domain\"");
    d.domain = 7;
    assert_refused(&d, RR_EINVAL, "domain", "unrecognized domain value 7");
    d = valid();
    d.neighbourhood = "";
    d.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY;
    d.county_code = "23O1";
    assert_refused(&d, RR_EINVAL, "county_code",
                   "invalid county_code \"23O1\": expected four digits like \"2301\"");
}

static void
test_intent_names_are_the_databases(void **state)
{
    (void) state;
    assert_null(rr_wire_donation_intent_name(0));
    assert_string_equal(rr_wire_donation_intent_name(1), "unrestricted");
    assert_string_equal(rr_wire_donation_intent_name(2), "neighbourhood");
    assert_string_equal(rr_wire_donation_intent_name(3), "county");
    assert_string_equal(rr_wire_donation_intent_name(4), "domain");
    assert_string_equal(rr_wire_donation_intent_name(5), "service");
    assert_null(rr_wire_donation_intent_name(6));
}

static void
test_unpack_applies_the_checks_and_keeps_the_message_for_its_id(void **state)
{
    (void) state;
    Rr__V1__DonateRequest d = valid();
    d.amount_rials = 0;
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(&d.base, &buf, &size), RR_OK);
    Rr__V1__DonateRequest *got = NULL;
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_unpack(buf, size, &got, &err), RR_EINVAL);
    assert_string_equal(err.field, "amount_rials");
    assert_non_null(got);
    assert_string_equal(got->donation_id, d.donation_id);
    rr_wire_free(got);
    free(buf);
    assert_int_equal(rr_wire_refusal_command(RR_CMD_DONATE), RR_CMD_DONATE);
    assert_ptr_equal(rr_wire_answer_type(RR_CMD_DONATE), &rr__v1__donate_reply__descriptor);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_donation_for_a_neighbourhood_with_an_anonymous_donor_passes),
        cmocka_unit_test(test_each_intent_passes_with_its_own_target_and_county_may_be_left_out),
        cmocka_unit_test(test_identity_and_amount_are_required_and_bounded),
        cmocka_unit_test(test_texts_are_clean_and_within_their_limits),
        cmocka_unit_test(test_the_intent_is_required_and_takes_exactly_its_own_target),
        cmocka_unit_test(test_intent_names_are_the_databases),
        cmocka_unit_test(test_unpack_applies_the_checks_and_keeps_the_message_for_its_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
