// brk_render: snapshots built by hand, rendered as Prometheus text (exact
// sample lines, escaped labels, cumulative histograms ending in +Inf = count,
// a TYPE for every family) and as JSON parsed back with jansson. The
// dashboard's history JSON is in render_history_test.c.
#include "brk_render.h"
#include "rr_version.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
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

// True when text holds line as a whole line.
static bool
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return true;
        }
    }
    return false;
}

#define assert_line(text, line)                                                                    \
    do {                                                                                           \
        if (!has_line((text), (line))) {                                                           \
            print_error("no line \"%s\"\n", (line));                                               \
            _fail(__FILE__, __LINE__);                                                             \
        }                                                                                          \
    } while (0)

// Lines of text that begin with prefix.
static size_t
count_lines_starting(const char *text, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = text; *p != '\0';) {
        n += strncmp(p, prefix, len) == 0;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    return n;
}

// Every sample follows the one "# TYPE" line of its family (a histogram's
// _bucket, _sum and _count included), and the text ends in a newline.
static void
assert_every_sample_is_typed(const char *text)
{
    assert_true(text[0] != '\0' && text[strlen(text) - 1] == '\n');
    for (const char *p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
        if (p[0] == '#') {
            assert_true(strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0);
            continue;
        }
        int n = (int) strcspn(p, "{ ");
        char decl[128];
        snprintf(decl, sizeof decl, "# TYPE %.*s ", n, p);
        if (strstr(text, decl) == NULL) {
            int base = n;
            while (base > 0 && p[base - 1] != '_') {
                base--;
            }
            assert_true(base > 1);
            const char *suffix = p + base - 1;
            assert_true(strncmp(suffix, "_bucket{", 8) == 0 || strncmp(suffix, "_sum{", 5) == 0 ||
                        strncmp(suffix, "_count{", 7) == 0);
            snprintf(decl, sizeof decl, "# TYPE %.*s histogram\n", base - 1, p);
        }
        const char *at = strstr(text, decl);
        if (at == NULL || at > p || count_lines_starting(text, decl) != 1) {
            print_error("sample \"%.*s\" has not one TYPE before it\n", n, p);
            _fail(__FILE__, __LINE__);
        }
    }
}

// The latency histogram of domain dn: buckets in the order of the bounds,
// cumulative, the last +Inf equal to the count line; returns the count.
static unsigned long long
assert_histogram_is_cumulative(const char *text, const char *dn)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "referral_ack_latency_seconds_bucket{domain=\"%s\",le=\"", dn);
    const char *p = text;
    unsigned long long last = 0;
    for (int i = 0; i <= BRK_LATENCY_BUCKETS; i++) {
        p = strstr(p, prefix);
        assert_non_null(p);
        p += strlen(prefix);
        char le[16];
        unsigned long long v = 0;
        assert_int_equal(sscanf(p, "%15[^\"]\"} %llu", le, &v), 2);
        if (i < BRK_LATENCY_BUCKETS) {
            char want[16];
            snprintf(want, sizeof want, "%g", brk_latency_bounds_s[i]);
            assert_string_equal(le, want);
        } else {
            assert_string_equal(le, "+Inf");
        }
        assert_true(v >= last);
        last = v;
    }
    assert_null(strstr(p, prefix)); // no bucket after +Inf
    snprintf(prefix, sizeof prefix, "referral_ack_latency_seconds_count{domain=\"%s\"} %llu", dn,
             last);
    assert_line(text, prefix);
    return last;
}

// Every queue, total and counter set to a distinct value; two workers, the
// second without stats yet and with a host name that needs escaping.
static brk_snapshot *
full_snapshot(void)
{
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->taken_wall_ms = 1700000000123;
    s->uptime_s = 3600.5;
    s->queue[0].ready[RR_PRIORITY_ROUTINE] = 2;
    s->queue[0].received = 7;
    s->queue[RR_DOMAIN_SOCIAL] = (brk_queue_view){
        .ready = {[RR_PRIORITY_STAT] = 1, [RR_PRIORITY_URGENT] = 3, [RR_PRIORITY_ROUTINE] = 5},
        .oldest_age_s =
            {[RR_PRIORITY_STAT] = 0.25, [RR_PRIORITY_URGENT] = 1.5, [RR_PRIORITY_ROUTINE] = 12.125},
        .inflight = 4,
        .workers = 2,
        .workers_idle = 1,
        .workers_expected = 3,
        .received = 1234};
    s->queue[RR_DOMAIN_PREVENTION].workers = 1;
    s->queue[RR_DOMAIN_REHABILITATION].workers = 1;
    s->totals[0].rejected = 6;
    s->totals[RR_DOMAIN_PREVENTION].accepted = 3;
    s->totals[RR_DOMAIN_SOCIAL] = (brk_domain_totals){
        .accepted = 1000, .duplicate = 12, .rejected = 34, .busy = 5, .workers_expired = 2};
    const double seen[] = {0.0005, 0.0005, 0.003, 0.003, 0.003, 0.2, 0.2, 0.2, 0.2, 100};
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++) {
        brk_latency_observe(&s->totals[RR_DOMAIN_SOCIAL].latency, seen[i]);
    }
    s->redelivered = 11;
    s->retried = 12;
    s->unauthorized = 13;
    s->dead_lettered = 14;
    s->late_replies = 15;
    s->undeliverable = 16;
    s->protocol_errors = 17;
    s->workers[0] = (brk_worker_view){.host = "node-1",
                                      .version = "0.3.0",
                                      .pid = 4242,
                                      .domain = RR_DOMAIN_SOCIAL,
                                      .credit = 8,
                                      .inflight = 2,
                                      .last_heartbeat_age_s = 0.5,
                                      .registered_age_s = 100,
                                      .replies = 77,
                                      .counters = {.processed = 70,
                                                   .failed = 3,
                                                   .batches = 9,
                                                   .batch_items = 72,
                                                   .db_reconnects = 1,
                                                   .commit_seconds_sum = 1.25,
                                                   .commits = 9,
                                                   .db_connected = true},
                                      .stats_seen = true};
    // Not yet reported: its counters (processed 99) must not be exported.
    s->workers[1] = (brk_worker_view){.host = "we\"ird\\host\nx",
                                      .version = "v\"1",
                                      .pid = 7,
                                      .domain = RR_DOMAIN_PREVENTION,
                                      .last_heartbeat_age_s = 3,
                                      .counters = {.processed = 99}};
    s->nworkers = 2;
    return s;
}

static const brk_process_view process = {52428800, 12, 1700000000.5, 7, 3, 41, 9};

static void
test_brk_render_prometheus_of_an_empty_snapshot_reports_zeros_and_no_workers(void **state)
{
    (void) state;
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    size_t len = 0;
    char *text = brk_render_prometheus(s, &process, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_every_sample_is_typed(text);
    // Four queues (queries and three domains) by four priorities.
    assert_int_equal(count_lines_starting(text, "referral_queue_ready_requests{"), 16);
    assert_line(text, "referral_queue_ready_requests{domain=\"queries\",priority=\"stat\"} 0");
    assert_line(text, "referral_queue_oldest_ready_age_seconds{domain=\"social\","
                      "priority=\"routine\"} 0.000");
    assert_line(text, "referral_submissions_total{domain=\"none\",outcome=\"rejected\"} 0");
    assert_line(text, "referral_submissions_total{domain=\"social\",outcome=\"accepted\"} 0");
    assert_line(text, "referral_redelivered_total 0");
    assert_line(text, "referral_protocol_errors_total 0");
    assert_line(text, "referral_broker_ready 0"); // no worker anywhere
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        assert_int_equal(assert_histogram_is_cumulative(text, rr_domain_name(d)), 0);
    }
    assert_line(text, "referral_ack_latency_seconds_sum{domain=\"prevention\"} 0.000000");
    // The worker families are declared, with no samples.
    assert_line(text, "# TYPE referral_worker_processed_total counter");
    assert_int_equal(count_lines_starting(text, "referral_worker_"), 0);
    assert_line(text, "process_resident_memory_bytes 52428800");
    assert_line(text, "process_open_fds 12");
    assert_line(text, "process_start_time_seconds 1700000000.500");
    // The monitor's own connections come from the process view.
    assert_line(text, "referral_monitor_connections 7");
    assert_line(text, "referral_monitor_connections_refused_total{cap=\"total\"} 3");
    assert_line(text, "referral_monitor_connections_refused_total{cap=\"address\"} 41");
    assert_line(text, "referral_monitor_request_timeouts_total 9");
    free(text);
    free(s);
}

static void
test_brk_render_prometheus_of_a_full_snapshot_reports_each_value_under_its_labels(void **state)
{
    (void) state;
    brk_snapshot *s = full_snapshot();
    size_t len = 0;
    char *text = brk_render_prometheus(s, &process, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_every_sample_is_typed(text);
    assert_line(text, "# TYPE referral_queue_ready_requests gauge");
    assert_line(text, "referral_queue_ready_requests{domain=\"social\",priority=\"stat\"} 1");
    assert_line(text, "referral_queue_ready_requests{domain=\"social\",priority=\"asap\"} 0");
    assert_line(text, "referral_queue_ready_requests{domain=\"social\",priority=\"urgent\"} 3");
    assert_line(text, "referral_queue_ready_requests{domain=\"social\",priority=\"routine\"} 5");
    assert_line(text, "referral_queue_ready_requests{domain=\"queries\",priority=\"routine\"} 2");
    assert_line(text, "referral_queue_oldest_ready_age_seconds{domain=\"social\","
                      "priority=\"routine\"} 12.125");
    assert_line(text, "referral_queue_inflight_requests{domain=\"social\"} 4");
    assert_line(text, "referral_workers_registered{domain=\"social\"} 2");
    assert_line(text, "referral_workers_idle{domain=\"social\"} 1");
    assert_line(text, "referral_workers_expected{domain=\"social\"} 3");
    assert_line(text, "referral_workers_expired_total{domain=\"social\"} 2");
    assert_line(text, "referral_requests_received_total{domain=\"social\"} 1234");
    assert_line(text, "referral_requests_received_total{domain=\"queries\"} 7");
    assert_line(text, "# TYPE referral_submissions_total counter");
    assert_line(text, "referral_submissions_total{domain=\"social\",outcome=\"accepted\"} 1000");
    assert_line(text, "referral_submissions_total{domain=\"social\",outcome=\"duplicate\"} 12");
    assert_line(text, "referral_submissions_total{domain=\"social\",outcome=\"rejected\"} 34");
    assert_line(text, "referral_submissions_total{domain=\"social\",outcome=\"busy\"} 5");
    assert_line(text, "referral_submissions_total{domain=\"prevention\",outcome=\"accepted\"} 3");
    assert_line(text, "referral_submissions_total{domain=\"none\",outcome=\"rejected\"} 6");
    const char *counters[] = {
        "referral_redelivered_total 11",    "referral_retried_total 12",
        "referral_unauthorized_total 13",   "referral_dead_lettered_total 14",
        "referral_late_replies_total 15",   "referral_undeliverable_replies_total 16",
        "referral_protocol_errors_total 17"};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        assert_line(text, counters[i]);
    }
    assert_line(text, "referral_broker_ready 1");
    char build[256];
    snprintf(build, sizeof build, "referral_build_info{version=\"%s\",revision=\"%s\"} 1",
             rr_version_number(), rr_version_revision());
    assert_line(text, build);
    free(text);
    free(s);
}

static void
test_brk_render_prometheus_latency_buckets_are_cumulative_and_end_with_the_count(void **state)
{
    (void) state;
    brk_snapshot *s = full_snapshot();
    size_t len = 0;
    char *text = brk_render_prometheus(s, &process, &len);
    assert_non_null(text);
    assert_line(text, "# TYPE referral_ack_latency_seconds histogram");
    assert_int_equal(assert_histogram_is_cumulative(text, "social"), 10);
    // 2 at 0.5 ms, 3 at 3 ms, 4 at 200 ms, 1 at 100 s (beyond the last bound).
    const char *lines[] = {
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"0.001\"} 2",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"0.0025\"} 2",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"0.005\"} 5",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"0.1\"} 5",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"0.25\"} 9",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"1\"} 9",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"60\"} 9",
        "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"+Inf\"} 10",
        "referral_ack_latency_seconds_sum{domain=\"social\"} 100.810000",
        "referral_ack_latency_seconds_count{domain=\"social\"} 10",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        assert_line(text, lines[i]);
    }
    assert_int_equal(assert_histogram_is_cumulative(text, "prevention"), 0);
    free(text);
    free(s);
}

static void
test_brk_render_prometheus_exports_worker_counters_only_once_reported(void **state)
{
    (void) state;
    brk_snapshot *s = full_snapshot();
    size_t len = 0;
    char *text = brk_render_prometheus(s, &process, &len);
    assert_non_null(text);
    const char *lines[] = {
        "referral_worker_processed_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 70",
        "referral_worker_failed_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 3",
        "referral_worker_batches_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 9",
        "referral_worker_batch_items_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 72",
        "referral_worker_commits_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 9",
        "referral_worker_db_reconnects_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} 1",
        "referral_worker_commit_seconds_total{domain=\"social\",host=\"node-1\",pid=\"4242\"} "
        "1.250000",
        "referral_worker_db_connected{domain=\"social\",host=\"node-1\",pid=\"4242\"} 1",
        "referral_worker_last_heartbeat_age_seconds{domain=\"social\",host=\"node-1\","
        "pid=\"4242\"} 0.500",
        "referral_worker_build_info{domain=\"social\",host=\"node-1\",pid=\"4242\","
        "version=\"0.3.0\"} 1",
        // The second worker's host and version escaped: \" \\ and \n.
        "referral_worker_last_heartbeat_age_seconds{domain=\"prevention\","
        "host=\"we\\\"ird\\\\host\\nx\",pid=\"7\"} 3.000",
        "referral_worker_build_info{domain=\"prevention\",host=\"we\\\"ird\\\\host\\nx\","
        "pid=\"7\",version=\"v\\\"1\"} 1",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        assert_line(text, lines[i]);
    }
    // No counters for a worker that has not reported them (a false reset),
    // and no database state either; its liveness and version do show.
    assert_int_equal(count_lines_starting(text, "referral_worker_processed_total{"), 1);
    assert_int_equal(count_lines_starting(text, "referral_worker_db_connected{"), 1);
    assert_int_equal(count_lines_starting(text, "referral_worker_last_heartbeat_age_seconds{"), 2);
    assert_int_equal(count_lines_starting(text, "referral_worker_build_info{"), 2);
    assert_null(strstr(text, "} 99\n"));
    free(text);
    free(s);
}

// ---- JSON ---------------------------------------------------------------------------

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

static void
assert_outcomes(const json_t *o, json_int_t accepted, json_int_t duplicate, json_int_t rejected,
                json_int_t busy)
{
    assert_true(json_is_object(o));
    assert_int_equal(int_at(o, "accepted"), accepted);
    assert_int_equal(int_at(o, "duplicate"), duplicate);
    assert_int_equal(int_at(o, "rejected"), rejected);
    assert_int_equal(int_at(o, "busy"), busy);
}

static void
test_brk_render_queues_json_of_an_empty_snapshot_is_not_ready_with_null_quantiles(void **state)
{
    (void) state;
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    size_t len = 0;
    char *text = brk_render_queues_json(s, &len);
    json_t *root = parse(text, len);
    assert_true(json_is_false(json_object_get(root, "ready")));
    assert_true(json_is_false(json_object_get(root, "draining")));
    assert_int_equal(int_at(root, "time_ms"), 0);
    assert_int_equal(int_at(root, "latency_count"), 0);
    assert_outcomes(json_object_get(root, "submissions"), 0, 0, 0, 0);
    json_t *queues = json_object_get(root, "queues");
    assert_int_equal(json_array_size(queues), RR_DOMAIN_COUNT + 1);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        json_t *q = json_array_get(queues, (size_t) d);
        assert_string_equal(string_at(q, "domain"), rr_domain_name(d));
        assert_int_equal(int_at(q, "ready"), 0);
        json_t *latency = json_object_get(q, "latency");
        assert_int_equal(int_at(latency, "count"), 0);
        assert_true(json_is_null(json_object_get(latency, "p50_seconds")));
        assert_true(json_is_null(json_object_get(latency, "p99_seconds")));
    }
    json_decref(root);
    free(text);
    free(s);
}

static void
test_brk_render_queues_json_of_a_full_snapshot_reports_each_queue(void **state)
{
    (void) state;
    brk_snapshot *s = full_snapshot();
    size_t len = 0;
    char *text = brk_render_queues_json(s, &len);
    json_t *root = parse(text, len);
    assert_int_equal(int_at(root, "time_ms"), 1700000000123);
    assert_near(real_at(root, "uptime_seconds"), 3600.5, 0);
    assert_true(json_is_true(json_object_get(root, "ready")));
    assert_true(json_is_false(json_object_get(root, "draining")));
    assert_outcomes(json_object_get(root, "submissions"), 1003, 12, 40, 5); // all domains
    assert_int_equal(int_at(root, "redelivered_total"), 11);
    assert_int_equal(int_at(root, "retried_total"), 12);
    assert_int_equal(int_at(root, "dead_lettered_total"), 14);
    assert_int_equal(int_at(root, "latency_count"), 10);
    json_t *build = json_object_get(root, "build");
    assert_string_equal(string_at(build, "version"), rr_version_number());
    assert_string_equal(string_at(build, "revision"), rr_version_revision());

    json_t *queues = json_object_get(root, "queues");
    assert_int_equal(json_array_size(queues), RR_DOMAIN_COUNT + 1);
    json_t *queries = json_array_get(queues, 0);
    assert_string_equal(string_at(queries, "domain"), "queries");
    assert_string_equal(string_at(queries, "domain_fa"), "");
    assert_int_equal(int_at(queries, "ready"), 2);
    assert_int_equal(int_at(queries, "received_total"), 7);
    assert_null(json_object_get(queries, "submissions")); // queries are not submissions
    assert_null(json_object_get(queries, "latency"));

    json_t *q = json_array_get(queues, RR_DOMAIN_SOCIAL);
    assert_string_equal(string_at(q, "domain"), "social");
    assert_string_equal(string_at(q, "domain_fa"), "اجتماعی");
    assert_int_equal(int_at(q, "ready"), 9);
    json_t *ready = json_object_get(q, "ready_by_priority");
    assert_int_equal(int_at(ready, "stat"), 1);
    assert_int_equal(int_at(ready, "asap"), 0);
    assert_int_equal(int_at(ready, "urgent"), 3);
    assert_int_equal(int_at(ready, "routine"), 5);
    assert_near(real_at(q, "oldest_age_seconds"), 12.125, 0); // the oldest of any priority
    json_t *age = json_object_get(q, "oldest_age_seconds_by_priority");
    assert_near(real_at(age, "stat"), 0.25, 0);
    assert_near(real_at(age, "urgent"), 1.5, 0);
    assert_near(real_at(age, "asap"), 0, 0);
    assert_int_equal(int_at(q, "inflight"), 4);
    assert_int_equal(int_at(q, "workers"), 2);
    assert_int_equal(int_at(q, "workers_idle"), 1);
    assert_int_equal(int_at(q, "workers_expected"), 3);
    assert_int_equal(int_at(q, "received_total"), 1234);
    assert_int_equal(int_at(q, "workers_expired_total"), 2);
    assert_outcomes(json_object_get(q, "submissions"), 1000, 12, 34, 5);
    json_t *latency = json_object_get(q, "latency");
    assert_int_equal(int_at(latency, "count"), 10);
    // p50: the 5th of 10 is the last in (0.0025, 0.005]; p99 is beyond 60 s: capped.
    assert_near(real_at(latency, "p50_seconds"), 0.005, 1e-12);
    assert_near(real_at(latency, "p99_seconds"), 60.0, 0);

    json_t *prevention = json_array_get(queues, RR_DOMAIN_PREVENTION);
    assert_outcomes(json_object_get(prevention, "submissions"), 3, 0, 0, 0);
    assert_true(
        json_is_null(json_object_get(json_object_get(prevention, "latency"), "p50_seconds")));
    json_decref(root);
    free(text);
    free(s);
}

static void
test_brk_render_workers_json_reports_each_worker_and_null_db_state_before_stats(void **state)
{
    (void) state;
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    size_t len = 0;
    char *text = brk_render_workers_json(s, &len);
    json_t *root = parse(text, len);
    assert_int_equal(json_array_size(json_object_get(root, "workers")), 0);
    assert_true(json_is_array(json_object_get(root, "workers")));
    json_decref(root);
    free(text);
    free(s);

    s = full_snapshot();
    text = brk_render_workers_json(s, &len);
    root = parse(text, len);
    assert_int_equal(int_at(root, "time_ms"), 1700000000123);
    json_t *workers = json_object_get(root, "workers");
    assert_int_equal(json_array_size(workers), 2);
    json_t *w = json_array_get(workers, 0);
    assert_string_equal(string_at(w, "domain"), "social");
    assert_string_equal(string_at(w, "host"), "node-1");
    assert_string_equal(string_at(w, "version"), "0.3.0");
    const struct {
        const char *key;
        json_int_t value;
    } ints[] = {{"pid", 4242},           {"credit", 8},
                {"inflight", 2},         {"replies_total", 77},
                {"processed_total", 70}, {"failed_total", 3},
                {"batches_total", 9},    {"batch_items_total", 72},
                {"commits_total", 9},    {"db_reconnects_total", 1}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        assert_int_equal(int_at(w, ints[i].key), ints[i].value);
    }
    assert_near(real_at(w, "last_heartbeat_age_seconds"), 0.5, 0);
    assert_near(real_at(w, "registered_age_seconds"), 100, 0);
    assert_near(real_at(w, "commit_seconds_total"), 1.25, 0);
    assert_true(json_is_true(json_object_get(w, "db_connected")));
    w = json_array_get(workers, 1);
    assert_string_equal(string_at(w, "domain"), "prevention");
    assert_string_equal(string_at(w, "host"), "we\"ird\\host\nx"); // JSON-escaped and back
    assert_string_equal(string_at(w, "version"), "v\"1");
    assert_true(json_is_null(json_object_get(w, "db_connected"))); // unknown, not "down"
    json_decref(root);
    free(text);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_brk_render_prometheus_of_an_empty_snapshot_reports_zeros_and_no_workers),
        cmocka_unit_test(
            test_brk_render_prometheus_of_a_full_snapshot_reports_each_value_under_its_labels),
        cmocka_unit_test(
            test_brk_render_prometheus_latency_buckets_are_cumulative_and_end_with_the_count),
        cmocka_unit_test(test_brk_render_prometheus_exports_worker_counters_only_once_reported),
        cmocka_unit_test(
            test_brk_render_queues_json_of_an_empty_snapshot_is_not_ready_with_null_quantiles),
        cmocka_unit_test(test_brk_render_queues_json_of_a_full_snapshot_reports_each_queue),
        cmocka_unit_test(
            test_brk_render_workers_json_reports_each_worker_and_null_db_state_before_stats),
    };
    return cmocka_run_group_tests_name("unit.render", tests, NULL, NULL);
}
