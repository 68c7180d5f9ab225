// The broker's HTTP monitor against the real stack: health and readiness,
// Prometheus metrics that promtool accepts and that move with the traffic,
// worker counters carried by heartbeats (the brokers a worker is attached
// to among them, and what the broker does with a set it cannot show), the
// JSON API, and a real Prometheus server scraping a queue depth.
#include "cli_center.h"
#include "it_harness.h"
#include "it_raw.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zmq.h>

static it_stack stack;
static int http_port;
static char body[1 << 20];

static int
setup(void **state)
{
    (void) state;
    if (!it_stack_start(&stack, "monitor", 10, NULL, NULL)) {
        return -1;
    }
    http_port = atoi(strrchr(stack.http, ':') + 1);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    return it_stack_stop(&stack) ? 0 : -1;
}

// The value of the first sample line that starts with series; -1 if none.
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            return strtod(line + n + 1, NULL);
        }
    }
    return -1;
}

// Polls /metrics until series has at least want, or 10 s pass.
static double
wait_sample(const char *series, double want)
{
    double v = -1;
    long long deadline = it_now_ms() + 10000;
    while (it_now_ms() < deadline) {
        if (it_http_get(http_port, "/metrics", body, sizeof body) == 200) {
            v = sample(body, series);
            if (v >= want) {
                return v;
            }
        }
        it_sleep_ms(100);
    }
    return v;
}

static void
test_health_and_readiness_follow_the_worker_pool(void **state)
{
    (void) state;
    assert_int_equal(it_http_get(http_port, "/healthz", body, sizeof body), 200);
    assert_string_equal(body, "ok\n");
    long long deadline = it_now_ms() + 10000;
    int code = 0;
    while ((code = it_http_get(http_port, "/readyz", body, sizeof body)) != 200 &&
           it_now_ms() < deadline) {
        it_sleep_ms(100);
    }
    assert_int_equal(code, 200);
    assert_int_equal(it_http_get(http_port, "/nothing-here", body, sizeof body), 404);
    assert_int_equal(it_http_get(http_port, "/", body, sizeof body), 200);
    assert_non_null(strstr(body, "<title>Referral router"));
}

static void
test_metrics_pass_promtool_and_count_an_acknowledged_submission(void **state)
{
    (void) state;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request r;
    it_request_init(&r, 941, "SOC-09", "metrics");
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    assert_int_equal(cli_center_submit(c, &r.req, 10000, 3, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    cli_center_destroy(&c);

    assert_true(
        wait_sample("referral_submissions_total{domain=\"social\",outcome=\"accepted\"}", 1) >= 1);
    assert_int_equal(
        sample(body, "referral_submissions_total{domain=\"prevention\",outcome=\"accepted\"}"), 0);
    assert_true(sample(body, "referral_ack_latency_seconds_count{domain=\"social\"}") >= 1);
    // The buckets reach past the request TTL (30 s): a slow p99 stays visible.
    assert_true(sample(body, "referral_ack_latency_seconds_bucket{domain=\"social\",le=\"60\"}") >=
                1);
    assert_int_equal(sample(body, "referral_workers_expected{domain=\"social\"}"), 1);
    assert_int_equal(sample(body, "referral_workers_expired_total{domain=\"social\"}"), 0);
    // The version comes from the build, the same for broker and workers.
    char build[256];
    snprintf(build, sizeof build, "referral_build_info{version=\"%s\",revision=\"", RR_IT_VERSION);
    assert_non_null(strstr(body, build));
    snprintf(build, sizeof build, "version=\"%s", RR_IT_VERSION);
    assert_non_null(strstr(strstr(body, "referral_worker_build_info{domain=\"social\""), build));
    assert_true(sample(body, "referral_requests_received_total{domain=\"social\"}") >= 1);
    assert_int_equal(sample(body, "referral_workers_registered{domain=\"prevention\"}"), 1);
    assert_int_equal(sample(body, "referral_broker_ready"), 1);
    assert_true(sample(body, "process_resident_memory_bytes") > 1e6);
    assert_true(sample(body, "process_open_fds") > 3);

    // Every sample line is well formed for Prometheus' own checker.
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.txt", stack.logdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_worker_counters_arrive_with_heartbeats(void **state)
{
    (void) state;
    // The social worker answered at least one request above; its next
    // heartbeat (at most a second later) carries the count.
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int) stack.workers[2].pid);
    double processed = -1;
    long long deadline = it_now_ms() + 10000;
    while (processed < 1 && it_now_ms() < deadline) {
        assert_int_equal(it_http_get(http_port, "/api/v1/workers", body, sizeof body), 200);
        json_error_t jerr;
        json_t *root = json_loads(body, 0, &jerr);
        assert_non_null(root);
        json_t *workers = json_object_get(root, "workers");
        assert_int_equal(json_array_size(workers), 3);
        size_t i;
        json_t *w;
        json_array_foreach(workers, i, w)
        {
            if (json_integer_value(json_object_get(w, "pid")) == stack.workers[2].pid) {
                assert_string_equal(json_string_value(json_object_get(w, "domain")), "social");
                processed = (double) json_integer_value(json_object_get(w, "processed_total"));
                assert_true(json_real_value(json_object_get(w, "last_heartbeat_age_seconds")) < 5);
            }
        }
        json_decref(root);
        if (processed < 1) {
            it_sleep_ms(200);
        }
    }
    assert_true(processed >= 1);
    char series[160];
    snprintf(series, sizeof series, "referral_worker_processed_total{domain=\"social\",host=");
    assert_int_equal(it_http_get(http_port, "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, series));
}

// The fake worker "fake-attach" of /api/v1/workers once its processed
// count reaches want, as a new JSON object (json_decref it); NULL when it
// did not within 10 s.
static json_t *
wait_fake_worker(json_int_t want)
{
    long long deadline = it_now_ms() + 10000;
    do {
        if (it_http_get(http_port, "/api/v1/workers", body, sizeof body) == 200) {
            json_error_t jerr;
            json_t *root = json_loads(body, 0, &jerr);
            size_t i;
            json_t *w;
            json_array_foreach(json_object_get(root, "workers"), i, w)
            {
                const char *host = json_string_value(json_object_get(w, "host"));
                if (host != NULL && strcmp(host, "fake-attach") == 0 &&
                    json_integer_value(json_object_get(w, "processed_total")) == want) {
                    json_incref(w);
                    json_decref(root);
                    return w;
                }
            }
            json_decref(root);
        }
        it_sleep_ms(100);
    } while (it_now_ms() < deadline);
    return NULL;
}

// Waits for "fake-attach" to show processed, and asserts its "brokers" is
// want (JSON, keys sorted).
static void
assert_fake_brokers(json_int_t processed, const char *want)
{
    json_t *w = wait_fake_worker(processed);
    assert_non_null(w);
    char *b =
        json_dumps(json_object_get(w, "brokers"), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_string_equal(b, want);
    free(b);
    json_decref(w);
}

static void
test_a_workers_brokers_show_as_reported_and_a_set_the_broker_cannot_show_is_skipped(void **state)
{
    (void) state;
    const char *series = "referral_workers_registered{domain=\"social\"}";
    double before = it_metric(&stack, series);
    void *ctx = zmq_ctx_new();
    // A heartbeat of a minute: the broker keeps it without our help.
    void *fake = it_fake_worker_on(ctx, stack.backend, RR__V1__DOMAIN__DOMAIN_SOCIAL, 1, 60000,
                                   "fake-attach", "0.6.0");
    assert_true(it_wait_metric(&stack, series, before + 1, 10000));

    // A worker of 0.6.0 reports no brokers: none shown, not zeros.
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    ws.processed = 5;
    it_fake_stats(fake, &ws);
    assert_fake_brokers(5, "null");
    assert_int_equal(it_http_get(http_port, "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "referral_worker_processed_total{domain=\"social\",host=\"fake-"
                                 "attach\",pid=\"1\"} 5\n"));
    assert_null(strstr(body, "referral_worker_brokers_configured{domain=\"social\",host=\"fake-"
                             "attach\""));
    assert_null(strstr(body, "referral_worker_brokers_attached{domain=\"social\",host=\"fake-"
                             "attach\""));
    assert_int_equal(it_http_get(http_port, "/readyz", body, sizeof body), 200);
    assert_string_equal(body, "ready\n");

    // Attached to 1 of 2: JSON, metrics and /readyz say so.
    char *detached[] = {"tcp://broker-2.example:5556"};
    ws.processed = 6;
    ws.brokers_configured = 2;
    ws.brokers_attached = 1;
    ws.n_brokers_detached = 1;
    ws.brokers_detached = detached;
    it_fake_stats(fake, &ws);
    assert_fake_brokers(
        6, "{\"attached\":1,\"configured\":2,\"detached\":[\"tcp://broker-2.example:5556\"]}");
    assert_int_equal(it_http_get(http_port, "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "referral_worker_brokers_configured{domain=\"social\",host=\"fake-"
                                 "attach\",pid=\"1\"} 2\n"));
    assert_non_null(strstr(body, "referral_worker_brokers_attached{domain=\"social\",host=\"fake-"
                                 "attach\",pid=\"1\"} 1\n"));
    assert_int_equal(it_http_get(http_port, "/readyz", body, sizeof body), 200);
    assert_string_equal(body, "ready\nworker fake-attach:1 (social) attached to 1 of 2 brokers; "
                              "not to tcp://broker-2.example:5556\n");

    // An endpoint that is UTF-8 but not ASCII (rr_wire lets it through,
    // the broker does not): the whole set is skipped, with one warning,
    // and what was shown stays.
    char *accented[] = {"tcp://caf\xc3\xa9:5556"};
    ws.processed = 7;
    ws.brokers_detached = accented;
    it_fake_stats(fake, &ws);
    const char *skipped = "heartbeat counters of worker pid 1 on \"fake-attach\" skipped until "
                          "they are valid: detached broker 1 is empty, longer than 255 bytes or "
                          "not printable ASCII";
    long long deadline = it_now_ms() + 10000;
    while (!it_file_count(stack.broker.log, skipped, 1) && it_now_ms() < deadline) {
        it_sleep_ms(100);
    }
    assert_true(it_file_count(stack.broker.log, skipped, 1));
    assert_fake_brokers(
        6, "{\"attached\":1,\"configured\":2,\"detached\":[\"tcp://broker-2.example:5556\"]}");
    // Counts that disagree (rr_wire refuses them): skipped without a
    // second warning; then a valid set is shown, and said to be.
    ws.processed = 8;
    ws.brokers_attached = 2;
    ws.brokers_detached = detached;
    it_fake_stats(fake, &ws);
    ws.processed = 9;
    ws.n_brokers_detached = 0;
    ws.brokers_detached = NULL;
    it_fake_stats(fake, &ws);
    assert_fake_brokers(9, "{\"attached\":2,\"configured\":2,\"detached\":[]}");
    assert_false(it_file_count(stack.broker.log, "on \"fake-attach\" skipped until", 2));
    assert_true(it_file_count(stack.broker.log,
                              "heartbeat counters of worker pid 1 on \"fake-attach\" are valid "
                              "again",
                              1));
    assert_int_equal(it_http_get(http_port, "/readyz", body, sizeof body), 200);
    assert_string_equal(body, "ready\n");

    assert_int_equal(rr_wire_send_to_broker(fake, RR_WCMD_DISCONNECT, NULL), RR_OK);
    assert_true(it_wait_metric_equal(&stack, series, before, 10000));
    zmq_close(fake);
    zmq_ctx_term(ctx);
}

static void
test_queue_depth_shows_in_the_api_and_in_a_real_prometheus(void **state)
{
    (void) state;
    // No prevention worker: three requests wait, and readiness says why.
    assert_int_equal(it_proc_stop(&stack.workers[0], SIGTERM, 20000), 0);
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    for (int i = 0; i < 3; i++) {
        it_request r;
        char tag[16];
        snprintf(tag, sizeof tag, "depth-%d", i);
        it_request_init(&r, 941, "PRV-04", tag);
        Rr__V1__SubmitReply *reply = NULL;
        rr_wire_error err;
        // One short attempt each: the request stays queued in the broker.
        rr_status st = cli_center_submit(c, &r.req, 100, 1, &reply, &err);
        assert_int_equal(st, RR_ETIMEDOUT);
    }
    cli_center_destroy(&c);
    assert_int_equal(
        wait_sample("referral_queue_ready_requests{domain=\"prevention\",priority=\"routine\"}", 3),
        3);
    assert_int_equal(it_http_get(http_port, "/readyz", body, sizeof body), 503);
    assert_non_null(strstr(body, "no prevention worker"));
    assert_int_equal(it_http_get(http_port, "/api/v1/queues", body, sizeof body), 200);
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);
    assert_non_null(root);
    json_t *q = json_array_get(json_object_get(root, "queues"), 1);
    assert_string_equal(json_string_value(json_object_get(q, "domain")), "prevention");
    assert_int_equal(json_integer_value(json_object_get(q, "ready")), 3);
    assert_true(json_real_value(json_object_get(q, "oldest_age_seconds")) > 0);
    json_decref(root);

    // The operator's command line shows the same, from the same API.
    char cmd0[1200];
    snprintf(cmd0, sizeof cmd0, "%s queues --http %s", getenv("RR_CTL_BIN"), stack.http);
    FILE *p0 = popen(cmd0, "r");
    assert_non_null(p0);
    size_t n0 = fread(body, 1, sizeof body - 1, p0);
    body[n0] = '\0';
    assert_int_equal(pclose(p0), 0);
    assert_non_null(
        strstr(body, "prevention      پیشگیری            3       0       0       0       3"));
    assert_non_null(strstr(body, "NOT READY"));
    snprintf(cmd0, sizeof cmd0, "%s workers --http %s", getenv("RR_CTL_BIN"), stack.http);
    p0 = popen(cmd0, "r");
    assert_non_null(p0);
    n0 = fread(body, 1, sizeof body - 1, p0);
    body[n0] = '\0';
    assert_int_equal(pclose(p0), 0);
    assert_non_null(strstr(body, "(2 workers)"));

    // A real Prometheus scrapes the broker; its query API returns the depth.
    char dir[700], config[800], log[800], cmd[4096];
    snprintf(dir, sizeof dir, "%s/prometheus", stack.logdir);
    snprintf(config, sizeof config, "%s/prometheus.yml", stack.logdir);
    snprintf(log, sizeof log, "%s/prometheus.log", stack.logdir);
    FILE *f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: referral-broker\n"
            "    static_configs:\n      - targets: ['%s']\n",
            stack.http);
    fclose(f);
    int prom_port = http_port + 50;
    snprintf(cmd, sizeof cmd,
             "prometheus --config.file=%s --storage.tsdb.path=%s "
             "--web.listen-address=127.0.0.1:%d >%s 2>&1 & echo $!",
             config, dir, prom_port, log);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int prom_pid = 0;
    assert_int_equal(fscanf(p, "%d", &prom_pid), 1);
    pclose(p);
    double depth = -1;
    long long deadline = it_now_ms() + 60000;
    while (depth < 0 && it_now_ms() < deadline) {
        it_sleep_ms(500);
        if (it_http_get(prom_port,
                        "/api/v1/query?query=referral_queue_ready_requests%7Bdomain%3D%22"
                        "prevention%22%2Cpriority%3D%22routine%22%7D",
                        body, sizeof body) != 200) {
            continue;
        }
        root = json_loads(body, 0, &jerr);
        json_t *result = json_object_get(json_object_get(root, "data"), "result");
        if (json_array_size(result) == 1) {
            json_t *value = json_array_get(json_object_get(json_array_get(result, 0), "value"), 1);
            depth = atof(json_string_value(value));
        }
        json_decref(root);
    }
    kill(prom_pid, SIGTERM);
    assert_int_equal(depth, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_readiness_follow_the_worker_pool),
        cmocka_unit_test(test_metrics_pass_promtool_and_count_an_acknowledged_submission),
        cmocka_unit_test(test_worker_counters_arrive_with_heartbeats),
        cmocka_unit_test(
            test_a_workers_brokers_show_as_reported_and_a_set_the_broker_cannot_show_is_skipped),
        cmocka_unit_test(test_queue_depth_shows_in_the_api_and_in_a_real_prometheus),
    };
    return cmocka_run_group_tests_name("integration.monitor", tests, setup, teardown);
}
