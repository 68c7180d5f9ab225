// tool_calendar: Solar Hijri and Gregorian days, both ways, through ICU.
#include "tool_calendar.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

typedef struct day {
    const char *jalali;
    const char *gregorian;
} day;

// Nowruz of four years (1403 is a leap year: its Esfand has 30 days), and
// the first of Azar 1405.
static const day DAYS[] = {
    {"1402/01/01", "2023-03-21"}, {"1403/01/01", "2024-03-20"}, {"1403/12/30", "2025-03-20"},
    {"1404/01/01", "2025-03-21"}, {"1405/01/01", "2026-03-21"}, {"1405/09/01", "2026-11-22"},
};

static void
test_jalali_days_read_and_print_as_their_gregorian_days(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof DAYS / sizeof DAYS[0]; i++) {
        char iso[TOOL_DATE_LEN + 1], back[TOOL_DATE_LEN + 1];
        const char *why = NULL;
        if (!tool_calendar_parse(DAYS[i].jalali, iso, &why)) {
            fail_msg("%s: %s", DAYS[i].jalali, why);
        }
        assert_string_equal(iso, DAYS[i].gregorian);
        assert_true(tool_calendar_format(DAYS[i].gregorian, TOOL_CALENDAR_JALALI, back));
        assert_string_equal(back, DAYS[i].jalali);
        assert_true(tool_calendar_format(DAYS[i].gregorian, TOOL_CALENDAR_GREGORIAN, back));
        assert_string_equal(back, DAYS[i].gregorian);
        assert_true(tool_calendar_parse(DAYS[i].gregorian, iso, &why));
        assert_string_equal(iso, DAYS[i].gregorian);
    }
}

static void
test_persian_digits_are_read(void **state)
{
    (void) state;
    char iso[TOOL_DATE_LEN + 1];
    const char *why = NULL;
    assert_true(tool_calendar_parse("۱۴۰۵/۰۹/۰۱", iso, &why));
    assert_string_equal(iso, "2026-11-22");
    assert_true(tool_calendar_parse("٢٠٢٤-٠٢-٢٩", iso, &why)); // Arabic-Indic, a leap day
    assert_string_equal(iso, "2024-02-29");
}

static void
test_days_that_do_not_exist_are_refused_with_a_reason(void **state)
{
    (void) state;
    static const struct {
        const char *text;
        const char *why;
    } BAD[] = {
        {"1404/12/30", "no such day in the Solar Hijri calendar"}, // 1404 is not leap
        {"1405/13/01", "no such day in the Solar Hijri calendar"},
        {"1405/07/31", "no such day in the Solar Hijri calendar"}, // Mehr has 30 days
        {"2025-02-29", "no such day in the Gregorian calendar"},
        {"2025-04-31", "no such day in the Gregorian calendar"},
        {"14050901", "expected a date, YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Solar Hijri)"},
        {"1405-9-1", "expected a date, YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Solar Hijri)"},
        {"", "expected a date, YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Solar Hijri)"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char iso[TOOL_DATE_LEN + 1];
        const char *why = NULL;
        if (tool_calendar_parse(BAD[i].text, iso, &why)) {
            fail_msg("\"%s\" read as %s", BAD[i].text, iso);
        }
        assert_string_equal(why, BAD[i].why);
    }
    char out[TOOL_DATE_LEN + 1];
    assert_false(tool_calendar_format("2025-02-29", TOOL_CALENDAR_JALALI, out));
    assert_false(tool_calendar_format("", TOOL_CALENDAR_JALALI, out));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jalali_days_read_and_print_as_their_gregorian_days),
        cmocka_unit_test(test_persian_digits_are_read),
        cmocka_unit_test(test_days_that_do_not_exist_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
