// RATE's field checks (rr_wire_rate_check): what a center's rating must say
// before the broker queues it, each refusal with its code, field and words,
// and that the broker's unpack applies them.
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static Rr__V1__RateRequest
valid(void)
{
    Rr__V1__RateRequest r = RR__V1__RATE_REQUEST__INIT;
    r.rating_id = "0b7d3c52-6c1d-4b7e-9a51-0d2c4b6a8e77";
    r.center_code = 941;
    r.referral_id = "R-1042";
    r.score = 4;
    r.comment = "کار پرونده زود انجام شد";
    return r;
}

static void
assert_refused(const Rr__V1__RateRequest *r, rr_status code, const char *field, const char *message)
{
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_rate_check(r, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_string_equal(err.message, message);
}

static void
test_every_point_of_the_scale_passes_with_or_without_a_comment(void **state)
{
    (void) state;
    Rr__V1__RateRequest r = valid();
    rr_wire_error err = {0};
    for (uint32_t s = RR_WIRE_MIN_SCORE; s <= RR_WIRE_MAX_SCORE; s++) {
        r.score = s;
        assert_int_equal(rr_wire_rate_check(&r, &err), RR_OK);
    }
    r.comment = "";
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_OK);
    r.comment = NULL;
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_OK);
}

static void
test_the_id_the_center_and_the_referral_are_required(void **state)
{
    (void) state;
    Rr__V1__RateRequest r = valid();
    r.rating_id = "";
    assert_refused(&r, RR_EINVAL, "rating_id", "missing required field \"rating_id\"");
    r.rating_id = "rating-1";
    assert_refused(&r, RR_EINVAL, "rating_id",
                   "invalid rating_id: must be a UUID like "
                   "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    r = valid();
    r.center_code = 0;
    assert_refused(&r, RR_EINVAL, "center_code", "missing required field \"center_code\"");
    r = valid();
    r.referral_id = "";
    assert_refused(&r, RR_EINVAL, "referral_id", "missing required field \"referral_id\"");
    r.referral_id = "R-1234567890123456789012345";
    assert_refused(&r, RR_ETOOBIG, "referral_id",
                   "field \"referral_id\" is too long: 27 bytes, limit 24");
}

static void
test_the_score_is_required_and_on_the_five_point_scale(void **state)
{
    (void) state;
    Rr__V1__RateRequest r = valid();
    r.score = 0;
    assert_refused(&r, RR_EINVAL, "score", "missing required field \"score\"");
    r.score = 6;
    assert_refused(&r, RR_EINVAL, "score", "invalid score 6: the scale is 1 to 5");
    r.score = 4000000000U;
    assert_refused(&r, RR_EINVAL, "score", "invalid score 4000000000: the scale is 1 to 5");
}

static void
test_the_comment_is_one_clean_line_within_its_limit_and_not_blank(void **state)
{
    (void) state;
    Rr__V1__RateRequest r = valid();
    char big[RR_WIRE_MAX_COMMENT_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r.comment = big;
    assert_refused(&r, RR_ETOOBIG, "comment",
                   "field \"comment\" is too long: 1001 bytes, limit 1000");
    big[RR_WIRE_MAX_COMMENT_BYTES] = '\0'; // exactly the limit
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_OK);
    r.comment = "two\nlines";
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_EINVAL);
    assert_string_equal(err.field, "comment");
    r.comment = "\xd8\xa2\xe2\x80\xae"; // a bidi override reorders what a reader sees
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_EINVAL);
    assert_string_equal(err.field, "comment");
    r.comment = " \xe2\x80\x8c  "; // spaces and a ZWNJ: nothing left once canonical
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_EINVAL);
    assert_string_equal(err.field, "comment");
    assert_non_null(strstr(err.message, "field \"comment\" is empty"));
    r.comment = "كار خوب بود"; // Arabic kaf: a comment like any other
    assert_int_equal(rr_wire_rate_check(&r, &err), RR_OK);
}

static void
test_unpack_applies_the_checks_and_keeps_the_message_for_its_id(void **state)
{
    (void) state;
    Rr__V1__RateRequest r = valid();
    r.score = 9;
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(&r.base, &buf, &size), RR_OK);
    Rr__V1__RateRequest *got = NULL;
    rr_wire_error err = {0};
    assert_int_equal(rr_wire_unpack(buf, size, &got, &err), RR_EINVAL);
    assert_string_equal(err.field, "score");
    assert_non_null(got);
    assert_string_equal(got->rating_id, r.rating_id);
    rr_wire_free(got);
    free(buf);
    assert_int_equal(rr_wire_refusal_command(RR_CMD_RATE), RR_CMD_RATE);
    assert_ptr_equal(rr_wire_request_type(RR_CMD_RATE), &rr__v1__rate_request__descriptor);
    assert_ptr_equal(rr_wire_answer_type(RR_CMD_RATE), &rr__v1__rate_reply__descriptor);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_point_of_the_scale_passes_with_or_without_a_comment),
        cmocka_unit_test(test_the_id_the_center_and_the_referral_are_required),
        cmocka_unit_test(test_the_score_is_required_and_on_the_five_point_scale),
        cmocka_unit_test(test_the_comment_is_one_clean_line_within_its_limit_and_not_blank),
        cmocka_unit_test(test_unpack_applies_the_checks_and_keeps_the_message_for_its_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
