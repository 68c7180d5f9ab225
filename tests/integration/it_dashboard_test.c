// The operators' dashboard in a real headless Chromium against the real
// stack: waiting per priority with stat singled out, rates and latency over
// time per domain from the broker's own history (so a fresh page load shows
// the past), each worker's batch size, database state and brokers, live workers
// against the expected count, and a layout that fits a phone. Screenshots
// stay in the test's log folder.
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
#include <sys/stat.h>
#include <zmq.h>

#define HISTORY_SAMPLES 40 // of 250 ms: ten seconds

static it_stack stack;
static int http_port;
static char dom[1 << 20];
static char body[1 << 20];

static int
setup(void **state)
{
    (void) state;
    const char *broker[] = {"--history-step-ms",
                            "250",
                            "--history-samples",
                            "40",
                            "--expected-workers",
                            "prevention=1,rehabilitation=1,social=2",
                            NULL};
    if (!it_stack_start(&stack, "dashboard", 11, broker, NULL)) {
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

// The text of the element with attr="value" inside the element with id;
// "" when absent. Points into a static buffer.
static const char *
field(const char *id, const char *attr, const char *value)
{
    static char out[256];
    out[0] = '\0';
    char anchor[128];
    snprintf(anchor, sizeof anchor, "id=\"%s\"", id);
    const char *scope = id[0] ? strstr(dom, anchor) : dom;
    snprintf(anchor, sizeof anchor, "%s=\"%s\"", attr, value);
    const char *at = scope ? strstr(scope, anchor) : NULL;
    const char *gt = at ? strchr(at, '>') : NULL;
    const char *lt = gt ? strchr(gt, '<') : NULL;
    if (lt != NULL && (size_t) (lt - gt - 1) < sizeof out) {
        memcpy(out, gt + 1, (size_t) (lt - gt - 1));
        out[lt - gt - 1] = '\0';
    }
    return out;
}

// The value of attribute name on the element with attr="value" in card id.
static long
attribute(const char *id, const char *attr, const char *value, const char *name)
{
    char anchor[128];
    snprintf(anchor, sizeof anchor, "id=\"%s\"", id);
    const char *scope = strstr(dom, anchor);
    snprintf(anchor, sizeof anchor, "%s=\"%s\"", attr, value);
    const char *at = scope ? strstr(scope, anchor) : NULL;
    const char *end = at ? strchr(at, '>') : NULL;
    snprintf(anchor, sizeof anchor, "%s=\"", name);
    const char *v = at ? strstr(at, anchor) : NULL;
    // The attribute may come before attr="value": look back to the tag's start.
    if (at != NULL && (v == NULL || v > end)) {
        const char *start = at;
        while (start > dom && *start != '<') {
            start--;
        }
        v = strstr(start, anchor);
    }
    return v && v < end ? strtol(v + strlen(anchor), NULL, 10) : -1;
}

static void
submit(cli_center *c, const char *service, const char *tag, Rr__V1__Priority priority, int attempts,
       rr_status want)
{
    it_request r;
    it_request_init(&r, 941, service, tag);
    r.req.priority = priority;
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    assert_int_equal(
        cli_center_submit(c, &r.req, attempts == 1 ? 100 : 10000, attempts, &reply, &err), want);
    if (reply != NULL) {
        rr_wire_free(reply);
    }
}

// PNG width and height from its IHDR chunk; false when not a PNG.
static bool
png_size(const char *path, unsigned *w, unsigned *h)
{
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (n != sizeof head || memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0) {
        return false;
    }
    *w =
        (unsigned) head[16] << 24 | (unsigned) head[17] << 16 | (unsigned) head[18] << 8 | head[19];
    *h =
        (unsigned) head[20] << 24 | (unsigned) head[21] << 16 | (unsigned) head[22] << 8 | head[23];
    return true;
}

static void
test_the_history_is_kept_by_the_broker_and_bounded(void **state)
{
    (void) state;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    for (int i = 0; i < 20; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "hist-%d", i);
        submit(c, i % 2 ? "SOC-09" : "RHB-02", tag, RR__V1__PRIORITY__PRIORITY_ROUTINE, 3, RR_OK);
    }
    cli_center_destroy(&c);
    // Until the acknowledgements are in the samples: each counted once.
    json_int_t acked = -1;
    size_t n = 0;
    json_t *root = NULL;
    for (long long deadline = it_now_ms() + 10000; acked != 10 && it_now_ms() < deadline;) {
        it_sleep_ms(200);
        json_decref(root);
        assert_int_equal(it_http_get(http_port, "/api/v1/history", body, sizeof body), 200);
        json_error_t jerr;
        root = json_loads(body, 0, &jerr);
        assert_non_null(root);
        acked = 0;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(root, "points"), i, p)
        {
            acked += json_integer_value(
                json_object_get(json_object_get(json_object_get(p, "domains"), "social"), "acked"));
        }
    }
    assert_int_equal(acked, 10);
    // Then the ring fills up, and stays at its size: the oldest samples go.
    for (long long deadline = it_now_ms() + 20000;
         n < HISTORY_SAMPLES + 1 && it_now_ms() < deadline;) {
        json_decref(root);
        assert_int_equal(it_http_get(http_port, "/api/v1/history", body, sizeof body), 200);
        json_error_t jerr;
        root = json_loads(body, 0, &jerr);
        assert_non_null(root);
        n = json_array_size(json_object_get(root, "points"));
        if (n == HISTORY_SAMPLES) {
            it_sleep_ms(1000); // four more samples' time
            json_decref(root);
            assert_int_equal(it_http_get(http_port, "/api/v1/history", body, sizeof body), 200);
            root = json_loads(body, 0, &jerr);
            assert_non_null(root);
            n = json_array_size(json_object_get(root, "points"));
            break;
        }
        it_sleep_ms(200);
    }
    assert_int_equal(n, HISTORY_SAMPLES);
    assert_int_equal(json_integer_value(json_object_get(root, "step_ms")), 250);
    json_t *last = json_array_get(json_object_get(root, "points"), n - 1);
    json_t *social = json_object_get(json_object_get(last, "domains"), "social");
    assert_int_equal(json_integer_value(json_object_get(social, "workers")), 1);
    assert_int_equal(json_integer_value(json_object_get(social, "workers_expected")), 2);
    json_decref(root);

    // Merged into fewer points, nothing is lost; a bad query is refused.
    assert_int_equal(it_http_get(http_port, "/api/v1/history?points=5", body, sizeof body), 200);
    json_error_t jerr;
    root = json_loads(body, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_array_size(json_object_get(root, "points")), 5);
    json_decref(root);
    assert_int_equal(it_http_get(http_port, "/api/v1/history?points=0", body, sizeof body), 400);
    assert_int_equal(it_http_get(http_port, "/api/v1/history?since_ms=x", body, sizeof body), 400);
}

static void
test_the_dashboard_shows_stat_waiting_workers_and_history_after_a_fresh_load(void **state)
{
    (void) state;
    // No prevention worker: a stat and a routine request wait.
    assert_int_equal(it_proc_stop(&stack.workers[0], SIGTERM, 20000), 0);
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    submit(c, "PRV-04", "waiting-stat", RR__V1__PRIORITY__PRIORITY_STAT, 1, RR_ETIMEDOUT);
    submit(c, "PRV-05", "waiting-routine", RR__V1__PRIORITY__PRIORITY_ROUTINE, 1, RR_ETIMEDOUT);
    assert_true(it_wait_metric(
        &stack, "referral_queue_ready_requests{domain=\"prevention\",priority=\"stat\"}", 1,
        10000));
    // A steady trickle keeps the social rate and latency charts moving.
    for (int i = 0; i < 12; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "trickle-%d", i);
        submit(c, "SOC-03", tag, RR__V1__PRIORITY__PRIORITY_URGENT, 3, RR_OK);
        it_sleep_ms(150);
    }
    cli_center_destroy(&c);

    // A first load of the page, by a browser that has never seen it.
    char png[700];
    snprintf(png, sizeof png, "%s/dashboard-desktop.png", stack.logdir);
    assert_true(it_chromium(&stack, "/", 1280, 900, png, dom, sizeof dom));
    // The page works under its own Content-Security-Policy: its script and
    // style sheet load, nothing is refused, nothing throws.
    assert_false(it_file_count(it_chromium_log(), "Content Security Policy", 1));
    assert_false(it_file_count(it_chromium_log(), "Uncaught", 1));
    assert_string_equal(field("card-prevention", "data-field", "stat"), "1");
    assert_string_equal(field("card-prevention", "data-field", "routine"), "1");
    assert_string_equal(field("card-prevention", "data-field", "ready"), "2");
    assert_non_null(strstr(strstr(dom, "id=\"card-prevention\""), "class=\"stat-box hot\""));
    assert_string_equal(field("card-social", "data-field", "stat"), "0");
    assert_string_equal(field("card-prevention", "data-field", "workers"), "0 of 1 workers live");
    assert_string_equal(field("card-social", "data-field", "workers"), "1 of 2 workers live");
    assert_string_equal(field("card-rehabilitation", "data-field", "workers"),
                        "1 of 1 workers live");
    // The charts were drawn from the broker's history, not from this page's
    // own polling: several points in each, the rates and latency included.
    assert_true(attribute("card-social", "data-chart", "waiting", "data-points") >= 8);
    assert_true(attribute("card-social", "data-chart", "rates", "data-points") >= 8);
    assert_true(attribute("card-social", "data-chart", "latency", "data-points") >= 1);
    // Workers: one row each, with version, batch size and database state.
    const char *table = strstr(dom, "id=\"workers\"");
    assert_non_null(table);
    int rows = 0;
    for (const char *row = strstr(table, "data-worker="); row != NULL;
         row = strstr(row + 1, "data-worker=")) {
        rows++;
        const char *version = strstr(row, "<td>" RR_IT_VERSION);
        const char *batch = strstr(row, "data-field=\"batch\">");
        const char *db = strstr(row, "data-field=\"database\"");
        // One broker in its --broker list, and attached to it.
        const char *brokers =
            strstr(row, "<td data-field=\"brokers\" class=\"\">attached 1 of 1</td>");
        const char *next = strstr(row + 1, "data-worker=");
        assert_non_null(version);
        assert_non_null(batch);
        assert_non_null(db);
        assert_non_null(brokers);
        assert_true(next == NULL ||
                    (version < next && batch < next && db < next && brokers < next));
        assert_true(strtod(batch + strlen("data-field=\"batch\">"), NULL) >= 1.0);
        assert_non_null(strstr(db, ">connected · ")); // not "DISCONNECTED", not unknown
    }
    assert_int_equal(rows, 2); // rehabilitation and social; prevention was stopped
    assert_non_null(strstr(dom, "data-overflow=\"false\""));
    unsigned w = 0, h = 0;
    assert_true(png_size(png, &w, &h));
    assert_int_equal(w, 1280);
    assert_int_equal(h, 900);
    printf("# dashboard screenshot: %s\n", png);

    // At phone width the page still fits: no sideways scrolling.
    snprintf(png, sizeof png, "%s/dashboard-phone.png", stack.logdir);
    assert_true(it_chromium(&stack, "/", 390, 844, png, dom, sizeof dom));
    assert_non_null(strstr(dom, "data-overflow=\"false\""));
    assert_string_equal(field("card-prevention", "data-field", "stat"), "1");
    assert_true(png_size(png, &w, &h));
    assert_int_equal(w, 390);
    printf("# dashboard screenshot: %s\n", png);
}

// A worker key holder reports markup as its host name and version: every
// operator's page shows it as text, and none of it runs.
static void
test_a_worker_reporting_markup_as_its_host_name_runs_no_script_in_the_page(void **state)
{
    (void) state;
    static const char host[] =
        "<img src=x onerror=\"document.body.setAttribute('data-injected','img')\">"
        "<script>document.body.setAttribute('data-injected','script')</script>";
    static const char version[] = "<b onmouseover=alert(1)>0.5</b>";
    const char *series = "referral_workers_registered{domain=\"social\"}";
    double before = it_metric(&stack, series);
    void *ctx = zmq_ctx_new();
    // Social has nothing waiting, so it is handed nothing; a heartbeat of a
    // minute keeps it registered through the page load.
    void *fake = it_fake_worker_on(ctx, stack.backend, RR__V1__DOMAIN__DOMAIN_SOCIAL, 1, 60000,
                                   host, version);
    assert_true(it_wait_metric(&stack, series, before + 1, 10000));
    assert_true(it_chromium(&stack, "/", 1280, 900, NULL, dom, sizeof dom));
    assert_null(strstr(dom, "data-injected=\"")); // neither ran
    assert_null(strstr(dom, "<img src=\"x\""));   // no element was made of it
    assert_non_null(strstr(dom, "<td>&lt;img src=x onerror=\"document.body.setAttribute("
                                "'data-injected','img')\"&gt;&lt;script&gt;document.body."
                                "setAttribute('data-injected','script')&lt;/script&gt; #1</td>"));
    assert_non_null(strstr(dom, "<td>&lt;b onmouseover=alert(1)&gt;0.5&lt;/b&gt;</td>"));
    assert_false(it_file_count(it_chromium_log(), "Content Security Policy", 1));
    zmq_close(fake);
    zmq_ctx_term(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_history_is_kept_by_the_broker_and_bounded),
        cmocka_unit_test(
            test_the_dashboard_shows_stat_waiting_workers_and_history_after_a_fresh_load),
        cmocka_unit_test(
            test_a_worker_reporting_markup_as_its_host_name_runs_no_script_in_the_page),
    };
    return cmocka_run_group_tests_name("integration.dashboard", tests, setup, teardown);
}
