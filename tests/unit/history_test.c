// The broker's monitoring arithmetic: latency quantiles from histogram
// buckets, --expected-workers, and the dashboard's history ring (deltas per
// interval, a bounded ring, merging into fewer points).
#include "brk_history.h"
#include "brk_monitor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static void
test_brk_latency_quantile_interpolates_within_the_bucket(void **state)
{
    (void) state;
    uint64_t b[BRK_LATENCY_BUCKETS + 1] = {0};
    assert_true(brk_latency_quantile(b, 0.5) < 0); // nothing observed
    brk_latency h;
    memset(&h, 0, sizeof h);
    for (int i = 0; i < 100; i++) {
        brk_latency_observe(&h, 12.0); // all in (10, 15]
    }
    assert_int_equal(h.count, 100);
    assert_int_equal(h.bucket[13], 100); // the 15 s bucket
    // p99 at 99 of 100 observations across (10, 15]: 10 + 5 * 0.99.
    assert_float_equal(brk_latency_quantile(h.bucket, 0.99), 14.95, 1e-9);
    assert_float_equal(brk_latency_quantile(h.bucket, 0.5), 12.5, 1e-9);
    // Beyond the last bound: the largest bound, as histogram_quantile does.
    memset(&h, 0, sizeof h);
    brk_latency_observe(&h, 100.0);
    assert_int_equal(h.bucket[BRK_LATENCY_BUCKETS], 1);
    assert_float_equal(brk_latency_quantile(h.bucket, 0.5), 60.0, 1e-9);
}

static void
test_brk_latency_bounds_reach_past_the_default_request_ttl(void **state)
{
    (void) state;
    assert_true(brk_latency_bounds_s[BRK_LATENCY_BUCKETS - 1] > 30.0);
    for (int i = 1; i < BRK_LATENCY_BUCKETS; i++) {
        assert_true(brk_latency_bounds_s[i] > brk_latency_bounds_s[i - 1]);
    }
}

static void
test_brk_expected_workers_parse_accepts_a_number_or_pairs_and_refuses_the_rest(void **state)
{
    (void) state;
    uint32_t e[RR_DOMAIN_COUNT + 1] = {9, 9, 9, 9};
    char why[256];
    assert_int_equal(brk_expected_workers_parse("2", e, why, sizeof why), RR_OK);
    assert_int_equal(e[RR_DOMAIN_PREVENTION], 2);
    assert_int_equal(e[RR_DOMAIN_REHABILITATION], 2);
    assert_int_equal(e[RR_DOMAIN_SOCIAL], 2);
    assert_int_equal(brk_expected_workers_parse("social=3,prevention=1", e, why, sizeof why),
                     RR_OK);
    assert_int_equal(e[RR_DOMAIN_SOCIAL], 3);
    assert_int_equal(e[RR_DOMAIN_PREVENTION], 1);
    assert_int_equal(e[RR_DOMAIN_REHABILITATION], 0); // not named: none expected
    const char *bad[] = {
        "",          "-1", "social",      "social=", "social=x", "social=1,", "social=1,social=2",
        "housing=1", "1x", "social=10001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t keep[RR_DOMAIN_COUNT + 1] = {5, 5, 5, 5};
        why[0] = '\0';
        assert_int_equal(brk_expected_workers_parse(bad[i], keep, why, sizeof why), RR_EINVAL);
        assert_non_null(strstr(why, "invalid --expected-workers"));
        assert_int_equal(keep[RR_DOMAIN_SOCIAL], 5); // untouched on refusal
    }
}

// A snapshot at uptime seconds with n accepted social submissions so far.
static void
snapshot_at(brk_snapshot *s, double uptime, uint64_t accepted, uint32_t waiting)
{
    memset(s, 0, sizeof *s);
    s->uptime_s = uptime;
    s->taken_wall_ms = 1000000 + (int64_t) (uptime * 1000);
    s->totals[RR_DOMAIN_SOCIAL].accepted = accepted;
    s->totals[RR_DOMAIN_SOCIAL].latency.bucket[2] = accepted;
    s->queue[RR_DOMAIN_SOCIAL].received = accepted;
    s->queue[RR_DOMAIN_SOCIAL].ready[RR_PRIORITY_STAT] = waiting;
    s->queue[RR_DOMAIN_SOCIAL].workers = 2;
}

static void
test_brk_history_keeps_deltas_per_interval_in_a_bounded_ring(void **state)
{
    (void) state;
    brk_history *h = brk_history_new(3, 1000);
    assert_non_null(h);
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    snapshot_at(s, 0.5, 4, 0);
    assert_false(brk_history_feed(h, s)); // not a step since start yet
    uint64_t accepted[] = {10, 10, 25, 40, 41};
    for (int i = 0; i < 5; i++) {
        snapshot_at(s, 1.0 + i, accepted[i], (uint32_t) i);
        assert_true(brk_history_feed(h, s));
    }
    brk_sample out[8];
    assert_int_equal(brk_history_copy(h, 0, out, 8), 3); // the ring keeps 3
    // The last three intervals: 25 - 10, 40 - 25, 41 - 40 acknowledgements.
    assert_int_equal(out[0].domain[RR_DOMAIN_SOCIAL - 1].acked, 15);
    assert_int_equal(out[1].domain[RR_DOMAIN_SOCIAL - 1].acked, 15);
    assert_int_equal(out[2].domain[RR_DOMAIN_SOCIAL - 1].acked, 1);
    assert_int_equal(out[2].domain[RR_DOMAIN_SOCIAL - 1].received, 1);
    assert_int_equal(out[2].domain[RR_DOMAIN_SOCIAL - 1].latency[2], 1);
    assert_int_equal(out[2].domain[RR_DOMAIN_SOCIAL - 1].ready[RR_PRIORITY_STAT], 4);
    assert_int_equal(out[2].span_ms, 1000);
    assert_true(out[0].t_ms < out[1].t_ms && out[1].t_ms < out[2].t_ms);
    // Only what is newer than a time.
    assert_int_equal(brk_history_copy(h, out[1].t_ms, out, 8), 1);
    assert_int_equal(out[0].domain[RR_DOMAIN_SOCIAL - 1].acked, 1);

    // Merged: sums over the intervals, the highest waiting count, the
    // fewest workers, the later time.
    assert_int_equal(brk_history_copy(h, 0, out, 8), 3);
    out[1].domain[RR_DOMAIN_SOCIAL - 1].workers = 1;
    brk_sample m = out[0];
    brk_sample_merge(&m, &out[1]);
    brk_sample_merge(&m, &out[2]);
    assert_int_equal(m.domain[RR_DOMAIN_SOCIAL - 1].acked, 31);
    assert_int_equal(m.domain[RR_DOMAIN_SOCIAL - 1].ready[RR_PRIORITY_STAT], 4);
    assert_int_equal(m.domain[RR_DOMAIN_SOCIAL - 1].workers, 1);
    assert_int_equal(m.span_ms, 3000);
    assert_int_equal(m.t_ms, out[2].t_ms);
    free(s);
    brk_history_destroy(&h);
    assert_null(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_latency_quantile_interpolates_within_the_bucket),
        cmocka_unit_test(test_brk_latency_bounds_reach_past_the_default_request_ttl),
        cmocka_unit_test(
            test_brk_expected_workers_parse_accepts_a_number_or_pairs_and_refuses_the_rest),
        cmocka_unit_test(test_brk_history_keeps_deltas_per_interval_in_a_bounded_ring),
    };
    return cmocka_run_group_tests_name("unit.history", tests, NULL, NULL);
}
