// brk_render_history_json: the dashboard's history, samples built by hand
// and merged into at most max_points points, parsed back with jansson.
#include "brk_render.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
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

static json_t *
parse(const char *text, size_t len)
{
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    if (root == NULL) {
        print_error("not JSON: %s\n", err.text);
        _fail(__FILE__, __LINE__);
    }
    return root;
}

static json_int_t
int_at(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static double
real_at(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static const char *
string_at(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

// Three one-second samples of the social domain with something in every
// field; the latency of the third is all beyond the largest bound.
static void
three_samples(brk_sample samples[3])
{
    memset(samples, 0, 3 * sizeof samples[0]);
    const uint32_t routine[] = {4, 0, 7}, urgent[] = {1, 5, 0}, workers[] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        samples[i].t_ms = 1000 * (i + 1);
        samples[i].span_ms = 1000;
        brk_domain_sample *d = &samples[i].domain[RR_DOMAIN_SOCIAL - 1];
        d->ready[RR_PRIORITY_ROUTINE] = routine[i];
        d->ready[RR_PRIORITY_URGENT] = urgent[i];
        d->workers = workers[i];
        d->workers_expected = 3;
    }
    samples[0].redelivered = 1;
    samples[1].redelivered = 2;
    samples[1].dead_lettered = 1;
    brk_domain_sample *d0 = &samples[0].domain[RR_DOMAIN_SOCIAL - 1];
    d0->ready[RR_PRIORITY_STAT] = 2;
    d0->oldest_age_s = 1.5f;
    d0->received = 10;
    d0->acked = 8;
    d0->busy = 1;
    d0->rejected = 1;
    d0->latency[2] = 8;
    brk_domain_sample *d1 = &samples[1].domain[RR_DOMAIN_SOCIAL - 1];
    d1->oldest_age_s = 0.5f;
    d1->received = 5;
    d1->acked = 4;
    d1->rejected = 2;
    d1->latency[2] = 2;
    d1->latency[7] = 2;
    brk_domain_sample *d2 = &samples[2].domain[RR_DOMAIN_SOCIAL - 1];
    d2->received = 3;
    d2->acked = 3;
    d2->latency[BRK_LATENCY_BUCKETS] = 3;
}

static json_t *
social_of(json_t *point)
{
    json_t *social = json_object_get(json_object_get(point, "domains"), "social");
    assert_true(json_is_object(social));
    return social;
}

static void
test_brk_render_history_json_merges_samples_in_equal_groups_into_at_most_max_points(void **state)
{
    (void) state;
    brk_sample samples[3];
    three_samples(samples);
    size_t len = 0;
    char *text = brk_render_history_json(samples, 3, 2, 1000, &len);
    json_t *root = parse(text, len);
    assert_int_equal(int_at(root, "step_ms"), 1000);
    assert_string_equal(string_at(root, "ready_order"), "stat,asap,urgent,routine");
    json_t *points = json_object_get(root, "points");
    assert_int_equal(json_array_size(points), 2); // 3 samples in groups of 2
    json_t *p = json_array_get(points, 0);        // samples 0 and 1 merged
    assert_int_equal(int_at(p, "t_ms"), 2000);    // the later end
    assert_int_equal(int_at(p, "span_ms"), 2000);
    assert_int_equal(int_at(p, "redelivered"), 3);
    assert_int_equal(int_at(p, "dead_lettered"), 1);
    json_t *social = social_of(p);
    json_t *ready = json_object_get(social, "ready");
    assert_int_equal(json_array_size(ready), 4);
    const json_int_t want_ready[] = {2, 0, 5, 4}; // the highest of both, stat first
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(json_integer_value(json_array_get(ready, i)), want_ready[i]);
    }
    assert_near(real_at(social, "oldest_age_seconds"), 1.5, 0);
    assert_int_equal(int_at(social, "workers"), 1); // the fewest
    assert_int_equal(int_at(social, "workers_expected"), 3);
    assert_int_equal(int_at(social, "received"), 15);
    assert_int_equal(int_at(social, "acked"), 12);
    assert_int_equal(int_at(social, "busy"), 1);
    assert_int_equal(int_at(social, "rejected"), 3);
    // 10 in (0.0025, 0.005], 2 in (0.1, 0.25]: p50 at 6/10 of the first,
    // p99 (rank 11.88) at 0.94 of the second.
    assert_near(real_at(social, "latency_p50_seconds"), 0.004, 1e-12);
    assert_near(real_at(social, "latency_p99_seconds"), 0.241, 1e-12);
    json_t *prevention = json_object_get(json_object_get(p, "domains"), "prevention");
    assert_int_equal(int_at(prevention, "received"), 0);
    assert_true(json_is_null(json_object_get(prevention, "latency_p50_seconds")));
    p = json_array_get(points, 1); // sample 2 alone
    assert_int_equal(int_at(p, "t_ms"), 3000);
    assert_int_equal(int_at(p, "span_ms"), 1000);
    social = social_of(p);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(social, "ready"), 3)), 7);
    assert_near(real_at(social, "latency_p50_seconds"), 60.0, 0); // all beyond: capped
    json_decref(root);
    free(text);

    // One point: everything merged.
    text = brk_render_history_json(samples, 3, 1, 1000, &len);
    root = parse(text, len);
    points = json_object_get(root, "points");
    assert_int_equal(json_array_size(points), 1);
    p = json_array_get(points, 0);
    assert_int_equal(int_at(p, "t_ms"), 3000);
    assert_int_equal(int_at(p, "span_ms"), 3000);
    assert_int_equal(int_at(social_of(p), "received"), 18);
    assert_int_equal(int_at(social_of(p), "acked"), 15);
    assert_int_equal(int_at(social_of(p), "workers"), 1);
    json_decref(root);
    free(text);

    // Four samples into two points: two in each, not three and one.
    brk_sample four[4];
    three_samples(four);
    four[3] = four[2];
    four[3].t_ms = 4000;
    text = brk_render_history_json(four, 4, 2, 1000, &len);
    root = parse(text, len);
    points = json_object_get(root, "points");
    assert_int_equal(json_array_size(points), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(int_at(json_array_get(points, i), "t_ms"), 2000 * (json_int_t) (i + 1));
        assert_int_equal(int_at(json_array_get(points, i), "span_ms"), 2000);
    }
    json_decref(root);
    free(text);
}

static void
test_brk_render_history_json_gives_each_sample_its_point_when_there_is_room(void **state)
{
    (void) state;
    brk_sample samples[3];
    three_samples(samples);
    size_t len = 0;
    char *text = brk_render_history_json(samples, 3, 10, 1000, &len);
    json_t *root = parse(text, len);
    json_t *points = json_object_get(root, "points");
    assert_int_equal(json_array_size(points), 3);
    const json_int_t received[] = {10, 5, 3}, workers[] = {3, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        json_t *p = json_array_get(points, i);
        assert_int_equal(int_at(p, "t_ms"), 1000 * (json_int_t) (i + 1));
        assert_int_equal(int_at(p, "span_ms"), 1000);
        assert_int_equal(int_at(social_of(p), "received"), received[i]);
        assert_int_equal(int_at(social_of(p), "workers"), workers[i]);
    }
    json_decref(root);
    free(text);
}

static void
test_brk_render_history_json_of_no_samples_has_no_points(void **state)
{
    (void) state;
    size_t len = 0;
    brk_sample none[1];
    memset(none, 0, sizeof none);
    char *text = brk_render_history_json(none, 0, 10, 5000, &len);
    json_t *root = parse(text, len);
    assert_int_equal(int_at(root, "step_ms"), 5000);
    assert_true(json_is_array(json_object_get(root, "points")));
    assert_int_equal(json_array_size(json_object_get(root, "points")), 0);
    json_decref(root);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_brk_render_history_json_merges_samples_in_equal_groups_into_at_most_max_points),
        cmocka_unit_test(
            test_brk_render_history_json_gives_each_sample_its_point_when_there_is_room),
        cmocka_unit_test(test_brk_render_history_json_of_no_samples_has_no_points),
    };
    return cmocka_run_group_tests_name("unit.render_history", tests, NULL, NULL);
}
