// wrk_route: the most specific routing rule wins; the center's county
// office is the default.
#include "catalog_fixture.h"
#include "wrk_route.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

static void
test_wrk_route_defaults_to_the_center_county_office(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    wrk_route_decision d;
    assert_int_equal(
        wrk_route_decide(cat, wrk_catalog_center(cat, 941), "SOC-01", RR_PRIORITY_ROUTINE, &d),
        RR_OK);
    assert_string_equal(d.office->code, "CO-2301");
    assert_int_equal(d.rule_id, 0);
    assert_non_null(strstr(d.why, "default"));
    wrk_catalog_destroy(&cat);
    assert_null(cat);
}

static void
test_wrk_route_prefers_the_most_specific_matching_rule(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    fixture_rule(cat, 1, "", "23", "", RR_PRIORITY_NONE, "PO-23");         // province: 2
    fixture_rule(cat, 2, "SOC-01", "", "", RR_PRIORITY_NONE, "CO-2302");   // service: 8
    fixture_rule(cat, 3, "SOC-01", "23", "", RR_PRIORITY_STAT, "PO-23");   // 8+2+1 = 11
    fixture_rule(cat, 4, "PRV-01", "", "1002", RR_PRIORITY_NONE, "PO-10"); // other county
    const wrk_center *c = wrk_catalog_center(cat, 941);
    wrk_route_decision d;
    assert_int_equal(wrk_route_decide(cat, c, "SOC-01", RR_PRIORITY_ROUTINE, &d), RR_OK);
    assert_int_equal(d.rule_id, 2);
    assert_string_equal(d.office->code, "CO-2302");
    assert_int_equal(wrk_route_decide(cat, c, "SOC-01", RR_PRIORITY_STAT, &d), RR_OK);
    assert_int_equal(d.rule_id, 3);
    assert_string_equal(d.office->code, "PO-23");
    assert_int_equal(wrk_route_decide(cat, c, "PRV-01", RR_PRIORITY_ROUTINE, &d), RR_OK);
    assert_int_equal(d.rule_id, 1); // rule 4 is for another county
    assert_string_equal(d.office->code, "PO-23");
    assert_non_null(strstr(d.why, "rule 1"));
    wrk_catalog_destroy(&cat);
}

static void
test_wrk_route_breaks_ties_by_the_oldest_rule(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    fixture_rule(cat, 9, "SOC-01", "", "", RR_PRIORITY_NONE, "PO-23");
    fixture_rule(cat, 5, "SOC-01", "", "", RR_PRIORITY_NONE, "CO-2302");
    wrk_route_decision d;
    assert_int_equal(
        wrk_route_decide(cat, wrk_catalog_center(cat, 941), "SOC-01", RR_PRIORITY_ROUTINE, &d),
        RR_OK);
    assert_int_equal(d.rule_id, 5);
    wrk_catalog_destroy(&cat);
}

static void
test_wrk_route_skips_rules_to_inactive_offices(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    fixture_rule(cat, 1, "SOC-01", "", "", RR_PRIORITY_NONE, "CO-1099"); // inactive
    fixture_rule(cat, 2, "SOC-01", "", "", RR_PRIORITY_NONE, "CO-9999"); // missing
    wrk_route_decision d;
    assert_int_equal(
        wrk_route_decide(cat, wrk_catalog_center(cat, 1924), "SOC-01", RR_PRIORITY_ROUTINE, &d),
        RR_OK);
    assert_int_equal(d.rule_id, 0);
    assert_string_equal(d.office->code, "CO-1002");
    wrk_catalog_destroy(&cat);
}

static void
test_wrk_route_reports_a_county_without_office(void **state)
{
    (void) state;
    wrk_catalog *cat = fixture_catalog();
    wrk_center orphan = {.code = 5, .county = "3001", .province = "30", .active = true};
    wrk_route_decision d;
    assert_int_equal(wrk_route_decide(cat, &orphan, "SOC-01", RR_PRIORITY_ROUTINE, &d),
                     RR_ENOTFOUND);
    assert_null(d.office);
    assert_non_null(strstr(d.why, "3001"));
    wrk_catalog_destroy(&cat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrk_route_defaults_to_the_center_county_office),
        cmocka_unit_test(test_wrk_route_prefers_the_most_specific_matching_rule),
        cmocka_unit_test(test_wrk_route_breaks_ties_by_the_oldest_rule),
        cmocka_unit_test(test_wrk_route_skips_rules_to_inactive_offices),
        cmocka_unit_test(test_wrk_route_reports_a_county_without_office),
    };
    return cmocka_run_group_tests_name("unit.route", tests, NULL, NULL);
}
