// wrk_pgcause: a dead letter's cause names the SQLSTATE, its class and the
// primary message, and never a value the message quoted.
#include "wrk_pgcause.h"

// cmocka.h needs these first.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

static void
test_wrk_pgcause_server_lost_only_for_a_server_that_cannot_take_writes(void **state)
{
    (void) state;
    assert_true(wrk_pgcause_server_lost("25006")); // demoted to a standby
    assert_true(wrk_pgcause_server_lost("57P01")); // admin shutdown
    assert_true(wrk_pgcause_server_lost("57P02"));
    assert_true(wrk_pgcause_server_lost("57P03"));
    assert_true(wrk_pgcause_server_lost("08006"));
    assert_false(wrk_pgcause_server_lost("40001")); // a serialization failure: retry here
    assert_false(wrk_pgcause_server_lost("23505"));
    assert_false(wrk_pgcause_server_lost("25P02"));
    assert_false(wrk_pgcause_server_lost("57014")); // a cancelled statement
    assert_false(wrk_pgcause_server_lost("08"));
    assert_false(wrk_pgcause_server_lost(NULL));
}

static void
test_wrk_pgcause_class_names_known_classes(void **state)
{
    (void) state;
    assert_string_equal(wrk_pgcause_class("23514"), "integrity constraint violation");
    assert_string_equal(wrk_pgcause_class("22P02"), "data exception");
    assert_string_equal(wrk_pgcause_class("P0001"), "PL/pgSQL error");
    assert_string_equal(wrk_pgcause_class("42501"), "syntax error or access rule violation");
    assert_string_equal(wrk_pgcause_class("ZZ000"), "unknown class");
    assert_string_equal(wrk_pgcause_class("23"), "unknown class"); // not a SQLSTATE
    assert_string_equal(wrk_pgcause_class(NULL), "unknown class");
}

typedef struct cause_case {
    const char *sqlstate;
    const char *primary;
    const char *names[3];
    const char *want;
} cause_case;

static const cause_case CASES[] = {
    // Names the server reported stay; they say where.
    {"23514",
     "new row for relation \"referral\" violates check constraint \"referral_household_check\"",
     {"referral", "referral_household_check", NULL},
     "SQLSTATE 23514 (integrity constraint violation): new row for relation \"referral\" "
     "violates check constraint \"referral_household_check\""},
    // A quoted value goes, whatever it is.
    {"22P02",
     "invalid input syntax for type uuid: \"0012345679\"",
     {NULL, NULL, NULL},
     "SQLSTATE 22P02 (data exception): invalid input syntax for type uuid: \"\xE2\x80\xA6"},
    {"22P02",
     "invalid input value for enum status: \"\xD8\xB9\xD9\x84\xDB\x8C\"",
     {"status", NULL, NULL},
     "SQLSTATE 22P02 (data exception): invalid input value for enum status: \"\xE2\x80\xA6"},
    // A quoted word that is not one of the names goes too, and all after
    // it: a value may hold quotes PostgreSQL did not escape.
    {"23505",
     "duplicate key value violates unique constraint \"x\" on \"h-941-a\" of \"x\"",
     {"x", NULL, NULL},
     "SQLSTATE 23505 (integrity constraint violation): duplicate key value violates unique "
     "constraint \"x\" on \"\xE2\x80\xA6"},
    {"22P02",
     "invalid input: \"ab\"cd\" for \"referral\"",
     {"referral", NULL, NULL},
     "SQLSTATE 22P02 (data exception): invalid input: \"\xE2\x80\xA6"},
    // Numbers joined by dashes, slashes, dots or spaces are one number;
    // Persian and Arabic-Indic digits count.
    {"P0001",
     "phone 0912-345 6789, date 1403/05/12, step 42 of 7 1",
     {NULL, NULL, NULL},
     "SQLSTATE P0001 (PL/pgSQL error): phone \xE2\x80\xA6, date \xE2\x80\xA6, step 42 of 7 1"},
    {"P0001",
     "\xDA\xA9\xD8\xAF \xDB\xB0\xDB\xB0\xDB\xB1\xDB\xB2\xDB\xB3 "
     "\xD9\xA1\xD9\xA2",
     {NULL, NULL, NULL},
     "SQLSTATE P0001 (PL/pgSQL error): \xDA\xA9\xD8\xAF \xE2\x80\xA6"},
    // Long digit runs go, quoted or not; short numbers stay.
    {"P0001",
     "poisoned household 0012345679 at step 42",
     {NULL, NULL, NULL},
     "SQLSTATE P0001 (PL/pgSQL error): poisoned household \xE2\x80\xA6 at step 42"},
    // An unbalanced quote hides the rest.
    {"P0001",
     "bad \"secret",
     {NULL, NULL, NULL},
     "SQLSTATE P0001 (PL/pgSQL error): bad \"\xE2\x80\xA6"},
    // No SQLSTATE, no message.
    {NULL, NULL, {NULL, NULL, NULL}, "SQLSTATE ????? (unknown class): (no message)"},
};

static void
test_wrk_pgcause_format_keeps_names_and_hides_values(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char out[WRK_PGCAUSE_CAP];
        wrk_pgcause_format(CASES[i].sqlstate, CASES[i].primary, CASES[i].names, 3, out, sizeof out);
        if (strcmp(out, CASES[i].want) != 0) {
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, CASES[i].want);
        }
    }
}

// A long message is cut at a character boundary, never inside one: two-,
// three- and four-byte characters, and the three-byte "…" itself.
static void
test_wrk_pgcause_format_cuts_at_a_character(void **state)
{
    (void) state;
    static const char *const CHARS[] = {"\xD8\xB3", "\xE2\x80\xA6", "\xF0\x9F\x99\x82"};
    for (size_t c = 0; c < sizeof CHARS / sizeof CHARS[0]; c++) {
        size_t w = strlen(CHARS[c]);
        char primary[600];
        size_t at = 0;
        while (at + w < sizeof primary) {
            memcpy(primary + at, CHARS[c], w);
            at += w;
        }
        primary[at] = '\0';
        for (size_t cap = 40; cap <= 60; cap++) {
            char out[64];
            wrk_pgcause_format("P0001", primary, NULL, 0, out, cap);
            size_t len = strlen(out);
            assert_true(len < cap);
            size_t head = strlen("SQLSTATE P0001 (PL/pgSQL error): ");
            assert_true(len >= head);
            assert_int_equal((len - head) % w, 0); // whole characters only
            assert_true(cap - 1 - len < w);        // and as many as fit
        }
    }
    // A hidden number at the cut: "…" whole or not at all.
    for (size_t cap = 34; cap <= 40; cap++) {
        char out[64];
        wrk_pgcause_format("P0001", "0012345679", NULL, 0, out, cap);
        size_t len = strlen(out);
        assert_true(len == 33 || (len == 36 && strcmp(out + 33, "\xE2\x80\xA6") == 0));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrk_pgcause_class_names_known_classes),
        cmocka_unit_test(test_wrk_pgcause_server_lost_only_for_a_server_that_cannot_take_writes),
        cmocka_unit_test(test_wrk_pgcause_format_keeps_names_and_hides_values),
        cmocka_unit_test(test_wrk_pgcause_format_cuts_at_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
