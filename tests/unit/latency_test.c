// The acknowledgement latency histogram (brk_monitor): which bucket an
// observation lands in at and around each bound, the count and sum, and
// quantiles interpolated within a bucket and capped at the largest bound,
// as Prometheus' histogram_quantile computes them.
#include "brk_monitor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

// cmocka's assert_float_equal compares floats: doubles need their own.
#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), __FILE__, __LINE__)
static void
assert_near_at(double a, double b, double eps, const char *file, int line)
{
    double d = a > b ? a - b : b - a;
    if (!(d <= eps)) {
        print_error("%.17g != %.17g (within %g)\n", a, b, eps);
        _fail(file, line);
    }
}

static void
test_brk_latency_observe_puts_a_value_equal_to_a_bound_in_that_bound_s_bucket(void **state)
{
    (void) state;
    for (int i = 0; i < BRK_LATENCY_BUCKETS; i++) {
        brk_latency h;
        memset(&h, 0, sizeof h);
        brk_latency_observe(&h, brk_latency_bounds_s[i]); // le="bound" includes the bound
        for (int b = 0; b <= BRK_LATENCY_BUCKETS; b++) {
            assert_int_equal(h.bucket[b], b == i ? 1 : 0);
        }
        assert_int_equal(h.count, 1);
        assert_near(h.sum_s, brk_latency_bounds_s[i], 0);
    }
}

static void
test_brk_latency_observe_puts_a_value_just_above_a_bound_in_the_next_bucket(void **state)
{
    (void) state;
    for (int i = 0; i < BRK_LATENCY_BUCKETS; i++) {
        brk_latency h;
        memset(&h, 0, sizeof h);
        brk_latency_observe(&h, brk_latency_bounds_s[i] * (1 + 1e-9));
        assert_int_equal(h.bucket[i], 0);
        assert_int_equal(h.bucket[i + 1], 1); // [BRK_LATENCY_BUCKETS]: over the largest bound
    }
}

static void
test_brk_latency_observe_puts_zero_in_the_first_and_huge_values_in_the_overflow_bucket(void **state)
{
    (void) state;
    brk_latency h;
    memset(&h, 0, sizeof h);
    brk_latency_observe(&h, 0.0);
    brk_latency_observe(&h, 0.0004);
    brk_latency_observe(&h, 60.5);
    brk_latency_observe(&h, 3600.0);
    assert_int_equal(h.bucket[0], 2);
    assert_int_equal(h.bucket[BRK_LATENCY_BUCKETS], 2);
    for (int b = 1; b < BRK_LATENCY_BUCKETS; b++) {
        assert_int_equal(h.bucket[b], 0);
    }
    assert_int_equal(h.count, 4);
    assert_near(h.sum_s, 3660.5004, 1e-9);
}

static void
test_brk_latency_observe_counts_and_sums_every_observation(void **state)
{
    (void) state;
    brk_latency h;
    memset(&h, 0, sizeof h);
    const double values[] = {0.002, 0.003, 0.04, 0.04, 0.3, 1.5, 7.0, 12.0, 25.0, 45.0};
    double sum = 0;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        brk_latency_observe(&h, values[i]);
        sum += values[i];
    }
    assert_int_equal(h.count, 10);
    assert_near(h.sum_s, sum, 1e-12);
    uint64_t in_buckets = 0;
    for (int b = 0; b <= BRK_LATENCY_BUCKETS; b++) {
        in_buckets += h.bucket[b];
    }
    assert_int_equal(in_buckets, h.count);
    assert_int_equal(h.bucket[1], 1);  // 0.002 in (0.001, 0.0025]
    assert_int_equal(h.bucket[2], 1);  // 0.003 in (0.0025, 0.005]
    assert_int_equal(h.bucket[5], 2);  // 0.04 in (0.025, 0.05]
    assert_int_equal(h.bucket[8], 1);  // 0.3 in (0.25, 0.5]
    assert_int_equal(h.bucket[10], 1); // 1.5 in (1, 2.5]
    assert_int_equal(h.bucket[12], 1); // 7 in (5, 10]
    assert_int_equal(h.bucket[13], 1); // 12 in (10, 15]
    assert_int_equal(h.bucket[15], 1); // 25 in (20, 30]
    assert_int_equal(h.bucket[16], 1); // 45 in (30, 60]
}

static void
test_brk_latency_quantile_of_an_empty_histogram_is_minus_one(void **state)
{
    (void) state;
    const uint64_t empty[BRK_LATENCY_BUCKETS + 1] = {0};
    const double qs[] = {0.001, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        assert_near(brk_latency_quantile(empty, qs[i]), -1.0, 0);
    }
}

static void
test_brk_latency_quantile_interpolates_from_zero_within_the_first_bucket(void **state)
{
    (void) state;
    uint64_t b[BRK_LATENCY_BUCKETS + 1] = {0};
    b[0] = 4;
    assert_near(brk_latency_quantile(b, 0.5), 0.0005, 1e-12);   // 2 of 4 across (0, 0.001]
    assert_near(brk_latency_quantile(b, 0.25), 0.00025, 1e-12); // 1 of 4
    assert_near(brk_latency_quantile(b, 0.999), 0.000999, 1e-12);
}

static void
test_brk_latency_quantile_ends_at_the_upper_bound_when_the_rank_fills_a_bucket(void **state)
{
    (void) state;
    uint64_t b[BRK_LATENCY_BUCKETS + 1] = {0};
    b[0] = 2;
    b[1] = 2;
    // Rank 2 of 4 is the last observation of the first bucket: its upper bound.
    assert_near(brk_latency_quantile(b, 0.5), 0.001, 1e-12);
    // Rank 3 is halfway through (0.001, 0.0025].
    assert_near(brk_latency_quantile(b, 0.75), 0.00175, 1e-12);
}

static void
test_brk_latency_quantile_takes_the_lower_bound_from_the_previous_bound_across_empty_buckets(
    void **state)
{
    (void) state;
    uint64_t b[BRK_LATENCY_BUCKETS + 1] = {0};
    b[0] = 5;  // (0, 0.001]
    b[10] = 5; // (1, 2.5]; buckets 1..9 are empty
    // Rank 9 of 10: the 4th of 5 in (1, 2.5]: 1 + 1.5 * 4/5.
    assert_near(brk_latency_quantile(b, 0.9), 2.2, 1e-12);
    // Rank 5 of 10 is the last of the first bucket, not somewhere in the empty ones.
    assert_near(brk_latency_quantile(b, 0.5), 0.001, 1e-12);
}

static void
test_brk_latency_quantile_is_capped_at_the_largest_bound_beyond_it(void **state)
{
    (void) state;
    uint64_t b[BRK_LATENCY_BUCKETS + 1] = {0};
    b[BRK_LATENCY_BUCKETS] = 3; // all over 60 s
    assert_near(brk_latency_quantile(b, 0.01), 60.0, 0);
    assert_near(brk_latency_quantile(b, 0.99), 60.0, 0);
    // 90 within bounds, 10 beyond: p50 inside (5, 10], p95 capped.
    memset(b, 0, sizeof b);
    b[12] = 90;
    b[BRK_LATENCY_BUCKETS] = 10;
    assert_near(brk_latency_quantile(b, 0.5), 5.0 + 5.0 * 50.0 / 90.0, 1e-12);
    assert_near(brk_latency_quantile(b, 0.9), 10.0, 1e-12); // exactly the 90th
    assert_near(brk_latency_quantile(b, 0.95), 60.0, 0);
}

static void
test_brk_latency_quantile_grows_with_q_and_stays_within_the_bounds(void **state)
{
    (void) state;
    brk_latency h;
    memset(&h, 0, sizeof h);
    for (int i = 1; i <= 200; i++) {
        brk_latency_observe(&h, 0.0005 * i * i / 10.0); // 0.00005 .. 2 s, spread over buckets
    }
    double last = 0;
    for (int k = 1; k < 1000; k++) {
        double v = brk_latency_quantile(h.bucket, k / 1000.0);
        assert_true(v >= last);
        assert_true(v > 0 && v <= brk_latency_bounds_s[BRK_LATENCY_BUCKETS - 1]);
        last = v;
    }
    assert_true(last <= 2.5); // the largest observation's bucket ends at 2.5 s
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_brk_latency_observe_puts_a_value_equal_to_a_bound_in_that_bound_s_bucket),
        cmocka_unit_test(
            test_brk_latency_observe_puts_a_value_just_above_a_bound_in_the_next_bucket),
        cmocka_unit_test(
            test_brk_latency_observe_puts_zero_in_the_first_and_huge_values_in_the_overflow_bucket),
        cmocka_unit_test(test_brk_latency_observe_counts_and_sums_every_observation),
        cmocka_unit_test(test_brk_latency_quantile_of_an_empty_histogram_is_minus_one),
        cmocka_unit_test(test_brk_latency_quantile_interpolates_from_zero_within_the_first_bucket),
        cmocka_unit_test(
            test_brk_latency_quantile_ends_at_the_upper_bound_when_the_rank_fills_a_bucket),
        cmocka_unit_test(
            test_brk_latency_quantile_takes_the_lower_bound_from_the_previous_bound_across_empty_buckets),
        cmocka_unit_test(test_brk_latency_quantile_is_capped_at_the_largest_bound_beyond_it),
        cmocka_unit_test(test_brk_latency_quantile_grows_with_q_and_stays_within_the_bounds),
    };
    return cmocka_run_group_tests_name("unit.latency", tests, NULL, NULL);
}
