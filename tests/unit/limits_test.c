// brk_limits: requests outstanding per sender, the query rate as a token
// bucket (and an operator's larger one), the retry-after it gives, and the
// table forgetting idle senders.
#include "brk_limits.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static brk_limits *
limits(size_t outstanding, double rate, double burst)
{
    brk_limits_config cfg = {outstanding, rate, burst, 10.0, 100};
    brk_limits *l = brk_limits_new(&cfg);
    assert_non_null(l);
    return l;
}

static void
test_brk_limits_refuses_a_sender_past_its_outstanding_requests_until_one_is_released(void **state)
{
    (void) state;
    brk_limits *l = limits(3, 20, 40);
    int64_t retry = -7;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(brk_limits_admit(l, "center:941", false, false, 0, &retry), BRK_LIMIT_OK);
    }
    assert_int_equal(brk_limits_admit(l, "center:941", false, false, 0, &retry),
                     BRK_LIMIT_OUTSTANDING);
    assert_int_equal(retry, -7); // untouched: no time can be promised
    assert_int_equal(brk_limits_admit(l, "center:1924", false, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_outstanding(l, "center:941"), 3);
    brk_limits_release(l, "center:941", 10);
    assert_int_equal(brk_limits_admit(l, "center:941", false, false, 10, &retry), BRK_LIMIT_OK);
    brk_limits_destroy(&l);
    assert_null(l);
}

static void
test_brk_limits_allows_a_burst_of_queries_then_one_per_token_with_the_wait_until_it(void **state)
{
    (void) state;
    brk_limits *l = limits(0, 20, 40);
    int64_t retry = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(brk_limits_admit(l, "office:CO-2301", true, false, 0, &retry),
                         BRK_LIMIT_OK);
        brk_limits_release(l, "office:CO-2301", 0);
    }
    assert_int_equal(brk_limits_admit(l, "office:CO-2301", true, false, 0, &retry), BRK_LIMIT_RATE);
    assert_int_equal(retry, 50); // one token every 50 ms at 20 a second
    assert_int_equal(brk_limits_admit(l, "office:CO-2301", true, false, 30000, &retry),
                     BRK_LIMIT_RATE);
    assert_int_equal(retry, 20);
    assert_int_equal(brk_limits_admit(l, "office:CO-2301", true, false, 50000, &retry),
                     BRK_LIMIT_OK);
    // Submissions are not rated.
    assert_int_equal(brk_limits_admit(l, "office:CO-2301", false, false, 50000, &retry),
                     BRK_LIMIT_OK);
    brk_limits_destroy(&l);
}

static void
test_brk_limits_gives_an_operator_ten_times_the_rate_and_burst(void **state)
{
    (void) state;
    brk_limits *l = limits(0, 20, 40);
    int64_t retry = 0;
    for (int i = 0; i < 400; i++) {
        assert_int_equal(brk_limits_admit(l, "operator:maryam", true, true, 0, &retry),
                         BRK_LIMIT_OK);
    }
    assert_int_equal(brk_limits_admit(l, "operator:maryam", true, true, 0, &retry), BRK_LIMIT_RATE);
    assert_int_equal(retry, 5);
    brk_limits_destroy(&l);
}

static void
test_brk_limits_forgets_a_sender_once_idle_and_its_bucket_full(void **state)
{
    (void) state;
    brk_limits *l = limits(10, 20, 40);
    int64_t retry = 0;
    assert_int_equal(brk_limits_admit(l, "center:1", false, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_admit(l, "center:2", true, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_senders(l), 2);
    brk_limits_release(l, "center:1", 5); // nothing outstanding, bucket full: gone at once
    assert_int_equal(brk_limits_senders(l), 1);
    brk_limits_release(l, "center:2", 5); // its bucket still lacks a token
    assert_int_equal(brk_limits_senders(l), 1);
    brk_limits_expire(l, 40000); // 0.8 token back
    assert_int_equal(brk_limits_senders(l), 1);
    brk_limits_expire(l, 50000);
    assert_int_equal(brk_limits_senders(l), 0);
    brk_limits_destroy(&l);
}

static void
test_brk_limits_refuses_a_new_sender_when_the_table_is_full(void **state)
{
    (void) state;
    brk_limits_config cfg = {10, 20, 40, 10.0, 2};
    brk_limits *l = brk_limits_new(&cfg);
    assert_non_null(l);
    int64_t retry = 0;
    assert_int_equal(brk_limits_admit(l, "center:1", false, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_admit(l, "center:2", false, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_admit(l, "center:3", false, false, 0, &retry), BRK_LIMIT_SENDERS);
    assert_int_equal(brk_limits_admit(l, "center:1", false, false, 0, &retry), BRK_LIMIT_OK);
    assert_int_equal(brk_limits_senders(l), 2);
    brk_limits_destroy(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_brk_limits_refuses_a_sender_past_its_outstanding_requests_until_one_is_released),
        cmocka_unit_test(
            test_brk_limits_allows_a_burst_of_queries_then_one_per_token_with_the_wait_until_it),
        cmocka_unit_test(test_brk_limits_gives_an_operator_ten_times_the_rate_and_burst),
        cmocka_unit_test(test_brk_limits_forgets_a_sender_once_idle_and_its_bucket_full),
        cmocka_unit_test(test_brk_limits_refuses_a_new_sender_when_the_table_is_full),
    };
    return cmocka_run_group_tests_name("unit.limits", tests, NULL, NULL);
}
