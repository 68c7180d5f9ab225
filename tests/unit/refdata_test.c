// The pure decisions of the reference-data commands: reading RFC 4180
// records, the center register's header and rows (with the refusal each bad
// row gets), codes that appear twice, the actor, office and service codes,
// a routing rule's area and a risk rule's flags.
#include "tool_refcheck.h"
#include "tool_refcsv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static char scratch[4096];

// The records of data, each as "field|field|..." (or "!error"), joined by "\n".
static void
records(const char *data, char *out, size_t cap)
{
    size_t pos = 0, line = 1, used = 0;
    tool_csv_record rec;
    out[0] = '\0';
    while (tool_csv_next(data, strlen(data), &pos, &line, scratch, &rec)) {
        int n;
        if (rec.error != NULL) {
            n = snprintf(out + used, cap - used, "%zu!%s\n", rec.line, rec.error);
        } else {
            n = snprintf(out + used, cap - used, "%zu:", rec.line);
            for (size_t f = 0; f < rec.count && n >= 0 && (size_t) n < cap - used; f++) {
                used += (size_t) n;
                n = snprintf(out + used, cap - used, "%s%s", f ? "|" : "", rec.field[f]);
            }
            assert_true(n >= 0 && (size_t) n < cap - used);
            used += (size_t) n;
            n = snprintf(out + used, cap - used, "\n");
        }
        assert_true(n > 0 && (size_t) n < cap - used);
        used += (size_t) n;
    }
}

static void
test_csv_reads_quoted_commas_doubled_quotes_and_line_breaks_with_line_numbers(void **state)
{
    (void) state;
    char out[1024];
    records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n,\nlast,row", out, sizeof out);
    assert_string_equal(out, "1:a|b\n2:x, y|say \"hi\"\n3:two\nlines|z\n5:|\n6:last|row\n");
}

static void
test_csv_refuses_stray_quotes_and_resumes_at_the_next_line(void **state)
{
    (void) state;
    char out[1024];
    records("ab\"c,d\n\"ab\"c,d\nok,1\n\"never closed,2\n", out, sizeof out);
    assert_string_equal(out, "1!has a quote inside an unquoted field\n"
                             "2!has text after the closing quote of a field\n"
                             "3:ok|1\n"
                             "4!has a quoted field that is never closed\n");
}

static void
test_csv_blank_lines_are_blank_and_empty_fields_are_not(void **state)
{
    (void) state;
    size_t pos = 0, line = 1;
    tool_csv_record rec;
    const char *data = "\r\n,\n";
    assert_true(tool_csv_next(data, strlen(data), &pos, &line, scratch, &rec));
    assert_true(tool_csv_blank(&rec));
    assert_true(tool_csv_next(data, strlen(data), &pos, &line, scratch, &rec));
    assert_false(tool_csv_blank(&rec));
    assert_int_equal(rec.count, 2);
    assert_false(tool_csv_next(data, strlen(data), &pos, &line, scratch, &rec));
}

static tool_csv_record
one_record(const char *data)
{
    size_t pos = 0, line = 1;
    tool_csv_record rec;
    assert_true(tool_csv_next(data, strlen(data), &pos, &line, scratch, &rec));
    return rec;
}

static void
test_header_takes_columns_in_any_order_with_a_bom_and_active_optional(void **state)
{
    (void) state;
    tool_center_columns cols;
    tool_refusal why;
    tool_csv_record rec = one_record("\xEF\xBB\xBFname,code,neighbourhood,county\n");
    assert_true(tool_center_header(&rec, &cols, &why));
    assert_int_equal(cols.name, 0);
    assert_int_equal(cols.code, 1);
    assert_int_equal(cols.neighbourhood, 2);
    assert_int_equal(cols.county, 3);
    assert_int_equal(cols.active, -1);
    assert_int_equal(cols.count, 4);
}

static void
test_header_refuses_unknown_repeated_and_missing_columns(void **state)
{
    (void) state;
    static const struct {
        const char *header, *reason;
    } cases[] = {
        {"code,county,neighbourhood,name,colour\n",
         "unrecognized column \"colour\": expected code, county, neighbourhood, name and "
         "optionally active"},
        {"code,county,code,neighbourhood,name\n", "column \"code\" appears twice"},
        {"code,county,name\n", "column \"neighbourhood\" is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tool_center_columns cols;
        tool_refusal why;
        tool_csv_record rec = one_record(cases[i].header);
        assert_false(tool_center_header(&rec, &cols, &why));
        assert_string_equal(why.field, "header");
        assert_string_equal(why.reason, cases[i].reason);
    }
}

static bool
county_2301_or_1002(void *ctx, const char *code)
{
    (void) ctx;
    return strcmp(code, "2301") == 0 || strcmp(code, "1002") == 0;
}

static const tool_center_columns COLS = {
    .code = 0, .county = 1, .neighbourhood = 2, .name = 3, .active = 4, .count = 5};

static void
test_row_reads_a_persian_center_with_persian_digits_and_trims_spaces(void **state)
{
    (void) state;
    tool_center_row row;
    tool_refusal why;
    tool_csv_record rec = one_record("۹۴۱, ۲۳۰۱ ,\"نارمک، شرقی\", مرکز مثبت زندگی ۹۴۱ ,FALSE\n");
    assert_true(tool_center_row_check(&rec, &COLS, county_2301_or_1002, NULL, &row, &why));
    assert_int_equal(row.code, 941);
    assert_string_equal(row.county, "2301");
    assert_string_equal(row.neighbourhood, "نارمک، شرقی");
    assert_string_equal(row.name, "مرکز مثبت زندگی ۹۴۱");
    assert_int_equal(row.active, 0);
    rec = one_record("941,2301,,name,\n");
    assert_true(tool_center_row_check(&rec, &COLS, county_2301_or_1002, NULL, &row, &why));
    assert_int_equal(row.active, -1); // the row does not say: an existing center keeps its state
}

static void
test_row_refuses_each_bad_field_naming_it_and_why(void **state)
{
    (void) state;
    static const struct {
        const char *row, *field, *reason;
    } cases[] = {
        {"941,2301,n,x\n", "row", "has 4 fields, expected 5"},
        {"abc,2301,n,x,\n", "code",
         "invalid center code \"ABC\": expected a number from 1 to "
         "2147483647"},
        {"0,2301,n,x,\n", "code",
         "invalid center code \"0\": expected a number from 1 to "
         "2147483647"},
        {"2147483648,2301,n,x,\n", "code",
         "invalid center code \"2147483648\": expected a number from 1 to 2147483647"},
        {",2301,n,x,\n", "code", "is empty"},
        {"941,9999,n,x,\n", "county", "unrecognized county \"9999\""},
        {"941,230,n,x,\n", "county", "invalid county code \"230\": expected four digits"},
        {"941,2301,n,  ,\n", "name", "is empty"},
        {"941,2301,n,\"\xE2\x80\xAEمرکز\",\n", "name",
         "holds a bidi embedding, override or isolate character"},
        {"941,2301,n,\"a\xff\",\n", "name", "is not valid UTF-8"},
        {"941,2301,\"a\tb\",x,\n", "neighbourhood", "holds a control character"},
        {"941,2301,n,x,maybe\n", "active", "is not true or false"},
        {"941,2301,n\"x\",x,\n", "row", "has a quote inside an unquoted field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tool_center_row row;
        tool_refusal why;
        tool_csv_record rec = one_record(cases[i].row);
        assert_false(tool_center_row_check(&rec, &COLS, county_2301_or_1002, NULL, &row, &why));
        assert_int_equal(why.line, 1);
        assert_string_equal(why.field, cases[i].field);
        assert_string_equal(why.reason, cases[i].reason);
    }
}

static void
test_row_refuses_a_name_longer_than_its_limit_instead_of_cutting_it(void **state)
{
    (void) state;
    char data[1024];
    char name[TOOL_CENTER_NAME_MAX_BYTES + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int n = snprintf(data, sizeof data, "941,2301,,%s,\n", name);
    assert_true(n > 0 && (size_t) n < sizeof data);
    tool_center_row row;
    tool_refusal why;
    tool_csv_record rec = one_record(data);
    assert_false(tool_center_row_check(&rec, &COLS, county_2301_or_1002, NULL, &row, &why));
    assert_string_equal(why.field, "name");
    assert_string_equal(why.reason, "is longer than 400 bytes");
}

static void
test_every_row_of_a_code_that_appears_twice_is_refused(void **state)
{
    (void) state;
    tool_center_row rows[4] = {{.line = 2, .code = 941},
                               {.line = 3, .code = 1924},
                               {.line = 4, .code = 5165},
                               {.line = 7, .code = 941}};
    bool dup[4];
    tool_refusal why[4];
    size_t refused = 0;
    assert_true(tool_center_rows_duplicates(rows, 4, dup, why, &refused));
    assert_int_equal(refused, 2);
    assert_true(dup[0] && dup[3]);
    assert_false(dup[1] || dup[2]);
    assert_int_equal(why[0].line, 2);
    assert_string_equal(why[0].field, "code");
    assert_string_equal(why[0].reason, "duplicate code \"941\" in the file (also on line 7)");
    assert_int_equal(why[1].line, 7);
    assert_string_equal(why[1].reason, "duplicate code \"941\" in the file (also on line 2)");
}

static void
test_actor_is_by_then_the_environment_then_the_system_user(void **state)
{
    (void) state;
    char out[TOOL_ACTOR_MAX_BYTES + 1], why[TOOL_WHY_BYTES];
    assert_true(tool_actor_choose("alice", "bob", "root", out, why));
    assert_string_equal(out, "alice");
    assert_true(tool_actor_choose("", "bob", "root", out, why));
    assert_string_equal(out, "bob");
    assert_true(tool_actor_choose(NULL, NULL, "root", out, why));
    assert_string_equal(out, "root");
    assert_false(tool_actor_choose("", "", NULL, out, why));
    assert_string_equal(why, "no actor: give --by NAME or set REFERRAL_ACTOR");
    assert_false(tool_actor_choose("al\nice", NULL, "root", out, why));
    assert_string_equal(why, "invalid actor name: it holds a control character");
}

static void
test_office_codes_name_their_kind_and_area(void **state)
{
    (void) state;
    tool_office_code oc;
    assert_true(tool_office_code_parse("CO-2301", &oc));
    assert_int_equal(oc.kind, TOOL_OFFICE_COUNTY);
    assert_string_equal(oc.area, "2301");
    assert_true(tool_office_code_parse("PO-23", &oc));
    assert_int_equal(oc.kind, TOOL_OFFICE_PROVINCE);
    assert_string_equal(oc.area, "23");
    const char *bad[] = {"CO-230", "PO-234", "XO-23", "CO-23a1", "co-2301", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(tool_office_code_parse(bad[i], &oc));
    }
}

static void
test_a_service_code_prefix_must_name_its_domain(void **state)
{
    (void) state;
    static const struct {
        const char *code;
        rr_domain domain;
        const char *why; // NULL: accepted
    } cases[] = {
        {"SOC-12", RR_DOMAIN_SOCIAL, NULL},
        {"PRV-08", RR_DOMAIN_PREVENTION, NULL},
        {"RHB-05", RR_DOMAIN_REHABILITATION, NULL},
        {"SOC-12", RR_DOMAIN_PREVENTION,
         "service code \"SOC-12\" does not match domain \"prevention\": its prefix names domain "
         "\"social\""},
        {"ABC-01", RR_DOMAIN_SOCIAL,
         "invalid service code \"ABC-01\": it must start with PRV- (prevention), RHB- "
         "(rehabilitation) or SOC- (social)"},
        {"SOC-1", RR_DOMAIN_SOCIAL,
         "invalid service code \"SOC-1\": expected three capitals, \"-\" and two digits, as in "
         "\"SOC-12\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[TOOL_WHY_BYTES] = "";
        assert_int_equal(tool_service_code_check(cases[i].code, cases[i].domain, why),
                         cases[i].why == NULL);
        if (cases[i].why != NULL) {
            assert_string_equal(why, cases[i].why);
        }
    }
}

static void
test_a_rules_office_must_be_in_the_rules_province_unless_cross_province(void **state)
{
    (void) state;
    static const struct {
        tool_rule_area area;
        const char *field, *why; // why NULL: accepted
    } cases[] = {
        {{"2301", "23", "", "CO-2301", "23", false}, NULL, NULL},
        {{"2301", "23", "", "PO-23", "23", false}, NULL, NULL},
        {{"", "", "23", "CO-2302", "23", false}, NULL, NULL},
        {{"2301", "23", "23", "CO-2301", "23", false}, NULL, NULL},
        {{"2301", "23", "", "CO-1002", "10", true}, NULL, NULL},
        {{"", "", "", "PO-23", "23", true}, NULL, NULL},
        {{"2301", "23", "", "CO-1002", "10", false},
         "office",
         "office \"CO-1002\" is in province \"10\", not in province \"23\" of the rule's county "
         "\"2301\" (add --cross-province if that is intended)"},
        {{"", "", "23", "PO-10", "10", false},
         "office",
         "office \"PO-10\" is in province \"10\", not in the rule's province \"23\" (add "
         "--cross-province if that is intended)"},
        {{"2301", "23", "10", "CO-1002", "10", true},
         "county",
         "county \"2301\" is not in province \"10\" (it is in province \"23\")"},
        {{"", "", "", "PO-23", "23", false},
         "office",
         "a rule without a county or province covers every province: add --cross-province to "
         "send it all to office \"PO-23\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *field = NULL;
        char why[TOOL_WHY_BYTES] = "";
        assert_int_equal(tool_rule_area_check(&cases[i].area, &field, why), cases[i].why == NULL);
        if (cases[i].why != NULL) {
            assert_string_equal(field, cases[i].field);
            assert_string_equal(why, cases[i].why);
        }
    }
}

static void
test_risk_flags_are_known_distinct_and_sorted_by_name(void **state)
{
    (void) state;
    char out[TOOL_RISK_FLAGS_BYTES], why[TOOL_WHY_BYTES];
    assert_true(
        tool_risk_flags_parse("domestic_violence,child_at_risk,domestic_violence", out, why));
    assert_string_equal(out, "{child_at_risk,domestic_violence}");
    assert_false(tool_risk_flags_parse("addiction,poverty", out, why));
    assert_string_equal(why, "unrecognized risk flag \"poverty\"");
    assert_false(tool_risk_flags_parse("addiction,,divorce_risk", out, why));
    assert_string_equal(why, "unrecognized risk flag \"\"");
}

static void
test_neighbourhood_header_needs_county_name_setting_and_takes_the_rest_optionally(void **state)
{
    (void) state;
    tool_nbhd_columns cols;
    tool_refusal why;
    tool_csv_record rec = one_record("centers,setting,name,county\n");
    assert_true(tool_nbhd_header(&rec, &cols, &why));
    assert_int_equal(cols.centers, 0);
    assert_int_equal(cols.setting, 1);
    assert_int_equal(cols.name, 2);
    assert_int_equal(cols.county, 3);
    assert_int_equal(cols.red_line, -1);
    rec = one_record("county,name,red_line\n");
    assert_false(tool_nbhd_header(&rec, &cols, &why));
    assert_string_equal(why.reason, "column \"setting\" is missing");
    rec = one_record("county,name,setting,code\n");
    assert_false(tool_nbhd_header(&rec, &cols, &why));
    assert_string_equal(why.reason, "unrecognized column \"code\": expected county, name, "
                                    "setting and optionally red_line and centers");
}

static void
test_neighbourhood_row_reads_persian_digits_flags_and_its_centers(void **state)
{
    (void) state;
    tool_nbhd_columns cols;
    tool_refusal why;
    tool_csv_record rec = one_record("county,name,setting,red_line,centers\n");
    assert_true(tool_nbhd_header(&rec, &cols, &why));
    tool_nbhd_row row;
    rec = one_record("۲۳۰۱, خاک سفید ,rural,TRUE,941; ۱۹۲۴ 7001\n");
    assert_true(tool_nbhd_row_check(&rec, &cols, &row, &why));
    assert_string_equal(row.county, "2301");
    assert_string_equal(row.name, "خاک سفید");
    assert_true(row.rural);
    assert_true(row.red_line);
    assert_int_equal(row.n_centers, 3);
    assert_int_equal(row.centers[0], 941);
    assert_int_equal(row.centers[1], 1924);
    assert_int_equal(row.centers[2], 7001);
    rec = one_record("2301,Narmak,urban,,\n");
    assert_true(tool_nbhd_row_check(&rec, &cols, &row, &why));
    assert_false(row.rural);
    assert_false(row.red_line);
    assert_int_equal(row.n_centers, 0);
}

static void
test_neighbourhood_row_refuses_each_bad_field_naming_it_and_why(void **state)
{
    (void) state;
    static const struct {
        const char *row, *field, *reason;
    } cases[] = {
        {"2301,n,urban,false\n", "row", "has 4 fields, expected 5"},
        {"230,n,urban,false,\n", "county", "invalid county code \"230\": expected four digits"},
        {"2301, ,urban,false,\n", "name", "is empty"},
        {"2301,n,town,false,\n", "setting", "is not urban or rural"},
        {"2301,n,urban,yes,\n", "red_line", "is not true or false"},
        {"2301,n,urban,false,941;x\n", "centers",
         "invalid center code \"X\": expected a number from 1 to 2147483647"},
    };
    tool_nbhd_columns cols;
    tool_refusal why;
    tool_csv_record head = one_record("county,name,setting,red_line,centers\n");
    assert_true(tool_nbhd_header(&head, &cols, &why));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tool_nbhd_row row;
        tool_csv_record rec = one_record(cases[i].row);
        assert_false(tool_nbhd_row_check(&rec, &cols, &row, &why));
        assert_string_equal(why.field, cases[i].field);
        assert_string_equal(why.reason, cases[i].reason);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_csv_reads_quoted_commas_doubled_quotes_and_line_breaks_with_line_numbers),
        cmocka_unit_test(test_csv_refuses_stray_quotes_and_resumes_at_the_next_line),
        cmocka_unit_test(test_csv_blank_lines_are_blank_and_empty_fields_are_not),
        cmocka_unit_test(test_header_takes_columns_in_any_order_with_a_bom_and_active_optional),
        cmocka_unit_test(test_header_refuses_unknown_repeated_and_missing_columns),
        cmocka_unit_test(test_row_reads_a_persian_center_with_persian_digits_and_trims_spaces),
        cmocka_unit_test(test_row_refuses_each_bad_field_naming_it_and_why),
        cmocka_unit_test(test_row_refuses_a_name_longer_than_its_limit_instead_of_cutting_it),
        cmocka_unit_test(test_every_row_of_a_code_that_appears_twice_is_refused),
        cmocka_unit_test(test_actor_is_by_then_the_environment_then_the_system_user),
        cmocka_unit_test(test_office_codes_name_their_kind_and_area),
        cmocka_unit_test(test_a_service_code_prefix_must_name_its_domain),
        cmocka_unit_test(test_a_rules_office_must_be_in_the_rules_province_unless_cross_province),
        cmocka_unit_test(test_risk_flags_are_known_distinct_and_sorted_by_name),
        cmocka_unit_test(
            test_neighbourhood_header_needs_county_name_setting_and_takes_the_rest_optionally),
        cmocka_unit_test(test_neighbourhood_row_reads_persian_digits_flags_and_its_centers),
        cmocka_unit_test(test_neighbourhood_row_refuses_each_bad_field_naming_it_and_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
