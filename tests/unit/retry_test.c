// tool_retry: the tools' reconnection schedule.
#include "tool_retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_reconnection_waits_grow_from_nothing_to_two_seconds(void **state)
{
    (void) state;
    const long want[] = {0, 100, 200, 400, 800, 1600, 2000, 2000};
    for (int i = 0; i < (int) (sizeof want / sizeof want[0]); i++) {
        assert_int_equal(tool_retry_wait_ms(i, 0, TOOL_RETRY_BUDGET_MS), want[i]);
    }
    assert_int_equal(tool_retry_wait_ms(1000, 0, TOOL_RETRY_BUDGET_MS), 2000); // no overflow
}

static void
test_reconnection_gives_up_rather_than_wait_past_its_budget(void **state)
{
    (void) state;
    assert_int_equal(tool_retry_wait_ms(0, 30000, 30000), 0);
    assert_int_equal(tool_retry_wait_ms(9, 28000, 30000), 2000); // ends at the budget exactly
    assert_int_equal(tool_retry_wait_ms(9, 28001, 30000), -1);
    assert_int_equal(tool_retry_wait_ms(0, 30001, 30000), -1);
    // The whole schedule: attempts until the budget is spent, about 30 s.
    long elapsed = 0;
    int attempts = 0;
    for (long w; (w = tool_retry_wait_ms(attempts, elapsed, TOOL_RETRY_BUDGET_MS)) >= 0;) {
        elapsed += w;
        attempts++;
    }
    assert_int_equal(attempts, 19); // 0+100+...+1600 = 3100 ms, then 13 × 2 s
    assert_int_equal(elapsed, 29100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconnection_waits_grow_from_nothing_to_two_seconds),
        cmocka_unit_test(test_reconnection_gives_up_rather_than_wait_past_its_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
