// rr_natid: normalisation and check digit of Iranian national ids.
#include "rr_natid.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static void
test_rr_natid_accepts_the_documented_valid_examples(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1];
    assert_int_equal(rr_natid_normalize("1234567891", out, NULL), RR_OK);
    assert_string_equal(out, "1234567891");
    assert_int_equal(rr_natid_normalize("0012345679", out, NULL), RR_OK);
    assert_string_equal(out, "0012345679");
}

static void
test_rr_natid_refuses_a_wrong_check_digit_and_leaves_out_untouched(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1] = "untouched";
    const char *why = NULL;
    assert_int_equal(rr_natid_normalize("1234567890", out, &why), RR_EINVAL);
    assert_string_equal(why, "fails its check digit");
    assert_string_equal(out, "untouched");
}

static void
test_rr_natid_maps_persian_and_arabic_indic_digits(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1];
    assert_int_equal(rr_natid_normalize("۱۲۳۴۵۶۷۸۹۱", out, NULL), RR_OK); // Persian
    assert_string_equal(out, "1234567891");
    assert_int_equal(rr_natid_normalize("٠٠١٢٣٤٥٦٧٩", out, NULL), RR_OK); // Arabic-Indic
    assert_string_equal(out, "0012345679");
    assert_int_equal(rr_natid_normalize("۱234567891", out, NULL), RR_OK); // mixed
    assert_string_equal(out, "1234567891");
}

static void
test_rr_natid_left_pads_eight_and_nine_digits(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1];
    assert_int_equal(rr_natid_normalize("12345679", out, NULL), RR_OK);
    assert_string_equal(out, "0012345679");
    assert_int_equal(rr_natid_normalize("012345679", out, NULL), RR_OK);
    assert_string_equal(out, "0012345679");
}

static void
test_rr_natid_refuses_other_lengths_non_digits_and_repeated_digits(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1];
    const char *why = NULL;
    assert_int_equal(rr_natid_normalize("1234567", out, &why), RR_EINVAL);
    assert_string_equal(why, "must have 10 digits");
    assert_int_equal(rr_natid_normalize("12345678912", out, &why), RR_EINVAL);
    assert_string_equal(why, "must have 10 digits");
    assert_int_equal(rr_natid_normalize("12345-7891", out, &why), RR_EINVAL);
    assert_string_equal(why, "must contain digits only");
    assert_int_equal(rr_natid_normalize("", out, &why), RR_EINVAL);
    assert_string_equal(why, "is empty");
    assert_int_equal(rr_natid_normalize(NULL, out, &why), RR_EINVAL);
    for (char d = '0'; d <= '9'; d++) {
        char same[11];
        memset(same, d, 10);
        same[10] = '\0';
        assert_int_equal(rr_natid_normalize(same, out, &why), RR_EINVAL);
        assert_string_equal(why, "cannot be ten identical digits");
    }
    // A truncated two-byte Persian digit is not a digit.
    assert_int_equal(rr_natid_normalize("123456789\xdb", out, &why), RR_EINVAL);
}

static void
test_rr_natid_check_digit_rule_for_remainders_below_two(void **state)
{
    (void) state;
    char out[RR_NATID_LEN + 1];
    // d8 = 1 (weight 3): S = 3, r = 3, so d10 must be 11 - 3 = 8.
    assert_int_equal(rr_natid_normalize("0000000108", out, NULL), RR_OK);
    // d9 = 1 (weight 2): S = 2, r = 2, so d10 must be 9, not 1.
    assert_int_equal(rr_natid_normalize("0000000011", out, NULL), RR_EINVAL);
    // S = 11 -> r = 0 -> d10 = 0: d8=1 (x3), d9=4 (x2) gives 3+8 = 11.
    assert_int_equal(rr_natid_normalize("0000000140", out, NULL), RR_OK);
    // S = 12 -> r = 1 -> d10 = 1: d8=2 (x3), d9=3 (x2) gives 6+6 = 12.
    assert_int_equal(rr_natid_normalize("0000000231", out, NULL), RR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_natid_accepts_the_documented_valid_examples),
        cmocka_unit_test(test_rr_natid_refuses_a_wrong_check_digit_and_leaves_out_untouched),
        cmocka_unit_test(test_rr_natid_maps_persian_and_arabic_indic_digits),
        cmocka_unit_test(test_rr_natid_left_pads_eight_and_nine_digits),
        cmocka_unit_test(test_rr_natid_refuses_other_lengths_non_digits_and_repeated_digits),
        cmocka_unit_test(test_rr_natid_check_digit_rule_for_remainders_below_two),
    };
    return cmocka_run_group_tests_name("unit.natid", tests, NULL, NULL);
}
