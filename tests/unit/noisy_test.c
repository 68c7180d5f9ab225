// brk_noisy: at most `burst` lines a second; the rest are counted and the
// window starts again once a second has passed.
#include "brk_noisy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_brk_noisy_lets_a_burst_through_each_second_and_counts_the_rest(void **state)
{
    (void) state;
    brk_noisy n;
    brk_noisy_init(&n, 3, "test");
    int64_t t = 5000;
    int passed = 0;
    for (int i = 0; i < 100; i++) {
        passed += brk_noisy_ok(&n, t + i); // a flood within one second
    }
    assert_int_equal(passed, 3);
    assert_int_equal(n.suppressed, 97);
    brk_noisy_flush(&n, t + 999); // not a second yet: the window stays
    assert_int_equal(n.suppressed, 97);
    brk_noisy_flush(&n, t + 1000); // one summary line, a fresh window
    assert_int_equal(n.suppressed, 0);
    assert_true(brk_noisy_ok(&n, t + 1001));
    assert_string_equal(n.what, "test");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_noisy_lets_a_burst_through_each_second_and_counts_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
