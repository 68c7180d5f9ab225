// referralctl's result printing (tool_db): results built with libpq's own
// constructors (no server), printed as an aligned table (numbers on the
// right, Persian text measured in characters, no trailing blanks) and as
// RFC 4180 CSV (quoting of separators, quotes and line breaks).
#include "tool_db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Type OIDs (pg_type): text, int8, int4, numeric.
#define OID_TEXT    25
#define OID_INT8    20
#define OID_INT4    23
#define OID_NUMERIC 1700

typedef struct column {
    const char *name;
    Oid type;
} column;

// A PGRES_TUPLES_OK result with the given columns and nrows x ncols values
// (row by row; NULL is SQL NULL). Caller PQclear-s it.
static PGresult *
result_of(const column *cols, int ncols, const char *const *values, int nrows)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(res);
    PGresAttDesc attrs[8];
    assert_true(ncols <= 8);
    memset(attrs, 0, sizeof attrs);
    for (int c = 0; c < ncols; c++) {
        attrs[c].name = (char *) cols[c].name;
        attrs[c].typid = cols[c].type;
        attrs[c].typlen = -1;
        attrs[c].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(res, ncols, attrs), 1);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = values[r * ncols + c];
            assert_int_equal(PQsetvalue(res, r, c, (char *) v, v ? (int) strlen(v) : -1), 1);
        }
    }
    assert_int_equal(PQntuples(res), nrows);
    return res;
}

// What tool_db_print writes for res, as a string (caller frees).
static char *
printed(const PGresult *res, tool_db_format format)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(tool_db_print(out, res, format), RR_OK);
    assert_int_equal(fclose(out), 0);
    assert_non_null(buf);
    return buf;
}

static void
test_tool_db_print_table_aligns_numbers_right_and_prints_null_as_blank(void **state)
{
    (void) state;
    const column cols[] = {{"county", OID_TEXT}, {"requests", OID_INT8}, {"share", OID_NUMERIC}};
    const char *values[] = {"Tehran", "1200", "12.5", //
                            "Qom",    "7",    NULL};
    PGresult *res = result_of(cols, 3, values, 2);
    assert_true(PQgetisnull(res, 1, 2));
    char *text = printed(res, TOOL_DB_TABLE);
    assert_string_equal(text, "county  requests  share\n"
                              "------  --------  -----\n"
                              "Tehran      1200   12.5\n"
                              "Qom            7\n" // NULL share: nothing, not blanks
                              "(2 rows)\n");
    free(text);
    PQclear(res);
}

static void
test_tool_db_print_table_measures_persian_text_in_characters(void **state)
{
    (void) state;
    const column cols[] = {{"name", OID_TEXT}, {"n", OID_INT4}};
    const char *values[] = {"تهران", "12", //
                            "Qom", "3"};
    PGresult *res = result_of(cols, 2, values, 2);
    char *text = printed(res, TOOL_DB_TABLE);
    // "تهران" is 5 characters (10 bytes): the column is 5 wide, not 10.
    assert_string_equal(text, "name    n\n"
                              "-----  --\n"
                              "تهران  12\n"
                              "Qom     3\n"
                              "(2 rows)\n");
    free(text);
    PQclear(res);
}

static void
test_tool_db_print_table_leaves_no_trailing_blanks_and_counts_rows(void **state)
{
    (void) state;
    const column cols[] = {{"code", OID_TEXT}, {"name", OID_TEXT}};
    const char *values[] = {"CO-2301", "Tehran", //
                            "CO-7",    "",       //
                            "",        "Qom"};
    PGresult *res = result_of(cols, 2, values, 3);
    char *text = printed(res, TOOL_DB_TABLE);
    assert_string_equal(text, "code     name\n"
                              "-------  ------\n"
                              "CO-2301  Tehran\n"
                              "CO-7\n"
                              "         Qom\n"
                              "(3 rows)\n");
    assert_null(strstr(text, " \n"));
    free(text);
    PQclear(res);

    res = result_of(cols, 2, values, 1);
    text = printed(res, TOOL_DB_TABLE);
    assert_non_null(strstr(text, "\n(1 row)\n")); // singular
    free(text);
    PQclear(res);

    res = result_of(cols, 2, values, 0);
    text = printed(res, TOOL_DB_TABLE);
    assert_string_equal(text, "code  name\n"
                              "----  ----\n"
                              "(0 rows)\n");
    free(text);
    PQclear(res);
}

static void
test_tool_db_print_table_of_no_columns_prints_nothing(void **state)
{
    (void) state;
    PGresult *res = result_of(NULL, 0, NULL, 0);
    char *text = printed(res, TOOL_DB_TABLE);
    assert_string_equal(text, "");
    free(text);
    PQclear(res);
}

static void
test_tool_db_print_csv_quotes_separators_quotes_and_line_breaks(void **state)
{
    (void) state;
    const column cols[] = {{"id", OID_INT4}, {"note, free text", OID_TEXT}, {"count", OID_INT8}};
    const char *values[] = {"1",  "plain",
                            "5", //
                            "2",  "a,b",
                            NULL, //
                            "3",  "say \"hi\"",
                            "0", //
                            "4",  "line1\nline2",
                            "", //
                            "5",  "cr\rx",
                            "9", //
                            "6",  "مرکز مثبت زندگی",
                            "7"};
    PGresult *res = result_of(cols, 3, values, 6);
    char *text = printed(res, TOOL_DB_CSV);
    assert_string_equal(text, "id,\"note, free text\",count\r\n"
                              "1,plain,5\r\n"
                              "2,\"a,b\",\r\n" // NULL: an empty field
                              "3,\"say \"\"hi\"\"\",0\r\n"
                              "4,\"line1\nline2\",\r\n"
                              "5,\"cr\rx\",9\r\n"
                              "6,مرکز مثبت زندگی,7\r\n"); // numbers and Persian: no quotes
    free(text);
    PQclear(res);

    res = result_of(cols, 3, values, 0);
    text = printed(res, TOOL_DB_CSV);
    assert_string_equal(text, "id,\"note, free text\",count\r\n"); // the header alone
    free(text);
    PQclear(res);
}

static void
test_tool_db_print_reports_a_failed_write(void **state)
{
    (void) state;
    if (access("/dev/full", W_OK) != 0) {
        skip(); // no device that fails every write
    }
    const column cols[] = {{"id", OID_INT4}};
    const char *values[] = {"1"};
    PGresult *res = result_of(cols, 1, values, 1);
    const tool_db_format formats[] = {TOOL_DB_TABLE, TOOL_DB_CSV};
    for (size_t i = 0; i < 2; i++) {
        FILE *full = fopen("/dev/full", "w");
        assert_non_null(full);
        assert_int_equal(tool_db_print(full, res, formats[i]), RR_EIO);
        (void) fclose(full); // fails too: nothing can be written
    }
    PQclear(res);
}

static void
test_tool_db_text_width_counts_code_points(void **state)
{
    (void) state;
    assert_int_equal(tool_db_text_width(""), 0);
    assert_int_equal(tool_db_text_width("Tehran"), 6);
    assert_int_equal(tool_db_text_width("تهران"), 5);            // 2 bytes each
    assert_int_equal(tool_db_text_width("H-۹۴۱"), 5);            // Persian digits
    assert_int_equal(tool_db_text_width("\xe2\x82\xac 5"), 3);   // a 3-byte euro sign
    assert_int_equal(tool_db_text_width("\xf0\x9f\x99\x82"), 1); // a 4-byte emoji
    assert_int_equal(tool_db_text_width("اداره بهزیستی"), 13);   // with a space
}

static void
test_tool_db_format_parse_accepts_table_and_csv_only(void **state)
{
    (void) state;
    tool_db_format f = TOOL_DB_CSV;
    assert_int_equal(tool_db_format_parse("table", &f), RR_OK);
    assert_int_equal(f, TOOL_DB_TABLE);
    assert_int_equal(tool_db_format_parse("csv", &f), RR_OK);
    assert_int_equal(f, TOOL_DB_CSV);
    const char *bad[] = {"CSV", "Table", "", "json", "csv "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tool_db_format_parse(bad[i], &f), RR_EINVAL);
        assert_int_equal(f, TOOL_DB_CSV); // untouched on refusal
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_db_print_table_aligns_numbers_right_and_prints_null_as_blank),
        cmocka_unit_test(test_tool_db_print_table_measures_persian_text_in_characters),
        cmocka_unit_test(test_tool_db_print_table_leaves_no_trailing_blanks_and_counts_rows),
        cmocka_unit_test(test_tool_db_print_table_of_no_columns_prints_nothing),
        cmocka_unit_test(test_tool_db_print_csv_quotes_separators_quotes_and_line_breaks),
        cmocka_unit_test(test_tool_db_print_reports_a_failed_write),
        cmocka_unit_test(test_tool_db_text_width_counts_code_points),
        cmocka_unit_test(test_tool_db_format_parse_accepts_table_and_csv_only),
    };
    return cmocka_run_group_tests_name("unit.dbout", tests, NULL, NULL);
}
