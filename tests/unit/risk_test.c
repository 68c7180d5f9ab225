// rr_risk: risk flags raise priority through rules, never lower it.
#include "rr_risk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static const int ADDICTION = 1, UNEMPLOYMENT = 2, VIOLENCE = 4, DISABILITY = 6;

static void
test_rr_risk_a_combination_applies_only_when_all_its_flags_are_present(void **state)
{
    (void) state;
    int pair[] = {ADDICTION, UNEMPLOYMENT};
    rr_risk_rule rules[] = {{rr_risk_mask(pair, 2), RR_PRIORITY_URGENT}};
    int one[] = {ADDICTION};
    assert_int_equal(rr_risk_effective(rules, 1, RR_PRIORITY_ROUTINE, rr_risk_mask(one, 1)),
                     RR_PRIORITY_ROUTINE);
    int both[] = {UNEMPLOYMENT, DISABILITY, ADDICTION};
    assert_int_equal(rr_risk_effective(rules, 1, RR_PRIORITY_ROUTINE, rr_risk_mask(both, 3)),
                     RR_PRIORITY_URGENT);
}

static void
test_rr_risk_takes_the_highest_matching_rule_and_never_lowers(void **state)
{
    (void) state;
    int v[] = {VIOLENCE};
    int d[] = {DISABILITY};
    rr_risk_rule rules[] = {{rr_risk_mask(d, 1), RR_PRIORITY_URGENT},
                            {rr_risk_mask(v, 1), RR_PRIORITY_STAT}};
    int flags[] = {DISABILITY, VIOLENCE};
    assert_int_equal(rr_risk_effective(rules, 2, RR_PRIORITY_ROUTINE, rr_risk_mask(flags, 2)),
                     RR_PRIORITY_STAT);
    assert_int_equal(rr_risk_effective(rules, 2, RR_PRIORITY_ASAP, rr_risk_mask(d, 1)),
                     RR_PRIORITY_ASAP);
    assert_int_equal(rr_risk_effective(rules, 2, RR_PRIORITY_NONE, 0), RR_PRIORITY_ROUTINE);
}

static void
test_rr_risk_mask_ignores_out_of_range_flags(void **state)
{
    (void) state;
    int flags[] = {0, 9, -1, 3};
    assert_int_equal(rr_risk_mask(flags, 4), 1u << 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_risk_a_combination_applies_only_when_all_its_flags_are_present),
        cmocka_unit_test(test_rr_risk_takes_the_highest_matching_rule_and_never_lowers),
        cmocka_unit_test(test_rr_risk_mask_ignores_out_of_range_flags),
    };
    return cmocka_run_group_tests_name("unit.risk", tests, NULL, NULL);
}
