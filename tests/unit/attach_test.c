// Which brokers a worker is attached to, from its heartbeat to the pages:
// rr_wire's checks of WorkerStats.brokers_*, the broker's copy of them
// (brk_attach_take), the /readyz lines (brk_render_readyz) and the metrics
// and JSON that show them only when the worker reported them.
#include "brk_attach.h"
#include "brk_render.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A WorkerStats with processed 5 and the given attachment, packed and
// unpacked as the broker does; the status of rr_wire_unpack, with the
// message in *out (rr_wire_free it) and the refusal in err.
static rr_status
round_trip(uint32_t configured, uint32_t attached, const char *const *detached, size_t n,
           Rr__V1__WorkerStats **out, rr_wire_error *err)
{
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    ws.processed = 5;
    ws.brokers_configured = configured;
    ws.brokers_attached = attached;
    ws.n_brokers_detached = n;
    ws.brokers_detached = (char **) detached;
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(&ws.base, &buf, &size), RR_OK);
    *out = NULL;
    memset(err, 0, sizeof *err);
    rr_status st = rr_wire_unpack(buf, size, out, err);
    free(buf);
    return st;
}

static void
expect_wire_refusal(uint32_t configured, uint32_t attached, const char *const *detached, size_t n,
                    rr_status code, const char *field, const char *message)
{
    Rr__V1__WorkerStats *got = NULL;
    rr_wire_error err;
    assert_int_equal(round_trip(configured, attached, detached, n, &got, &err), code);
    assert_string_equal(err.field, field);
    assert_string_equal(err.message, message);
    rr_wire_free(got);
}

static void
test_rr_wire_takes_worker_stats_without_brokers_as_an_older_worker_sends_them(void **state)
{
    (void) state;
    Rr__V1__WorkerStats *got = NULL;
    rr_wire_error err;
    assert_int_equal(round_trip(0, 0, NULL, 0, &got, &err), RR_OK);
    assert_int_equal(got->processed, 5);
    assert_int_equal(got->brokers_configured, 0);
    assert_int_equal(got->n_brokers_detached, 0);
    rr_wire_free(got);
}

static void
test_rr_wire_takes_a_worker_attached_to_one_of_two_brokers(void **state)
{
    (void) state;
    const char *detached[] = {"tcp://10.0.0.2:5556"};
    Rr__V1__WorkerStats *got = NULL;
    rr_wire_error err;
    assert_int_equal(round_trip(2, 1, detached, 1, &got, &err), RR_OK);
    assert_int_equal(got->brokers_configured, 2);
    assert_int_equal(got->brokers_attached, 1);
    assert_int_equal(got->n_brokers_detached, 1);
    assert_string_equal(got->brokers_detached[0], "tcp://10.0.0.2:5556");
    rr_wire_free(got);
}

static void
test_rr_wire_refuses_broker_counts_that_disagree(void **state)
{
    (void) state;
    const char *two[] = {"tcp://a:1", "tcp://b:1"};
    expect_wire_refusal(0, 1, NULL, 0, RR_EINVAL, "brokers_configured",
                        "missing field \"brokers_configured\": \"brokers_attached\" and "
                        "\"brokers_detached\" come with it");
    expect_wire_refusal(0, 0, two, 1, RR_EINVAL, "brokers_configured",
                        "missing field \"brokers_configured\": \"brokers_attached\" and "
                        "\"brokers_detached\" come with it");
    expect_wire_refusal(9, 9, NULL, 0, RR_EINVAL, "brokers_configured",
                        "brokers_configured 9 out of range 1..8");
    expect_wire_refusal(2, 3, NULL, 0, RR_EINVAL, "brokers_attached",
                        "brokers_attached 3 is more than brokers_configured 2");
    expect_wire_refusal(3, 1, two, 1, RR_EINVAL, "brokers_detached",
                        "brokers_detached names 1 endpoint(s), expected 2 (brokers_configured - "
                        "brokers_attached)");
    expect_wire_refusal(2, 2, two, 1, RR_EINVAL, "brokers_detached",
                        "brokers_detached names 1 endpoint(s), expected 0 (brokers_configured - "
                        "brokers_attached)");
}

static void
test_rr_wire_refuses_more_than_eight_detached_brokers(void **state)
{
    (void) state;
    const char *nine[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    expect_wire_refusal(8, 0, nine, 9, RR_ETOOBIG, "brokers_detached",
                        "too many brokers_detached: 9, limit 8");
}

static void
test_rr_wire_refuses_a_detached_broker_empty_or_longer_than_255_bytes(void **state)
{
    (void) state;
    char longest[RR_WIRE_MAX_ENDPOINT_BYTES + 2];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0'; // 256 bytes: one over
    const char *one[] = {longest};
    expect_wire_refusal(1, 0, one, 1, RR_ETOOBIG, "brokers_detached",
                        "field \"brokers_detached\" is too long: 256 bytes, limit 255");
    longest[RR_WIRE_MAX_ENDPOINT_BYTES] = '\0'; // exactly the limit
    Rr__V1__WorkerStats *got = NULL;
    rr_wire_error err;
    assert_int_equal(round_trip(1, 0, one, 1, &got, &err), RR_OK);
    rr_wire_free(got);
    const char *empty[] = {"tcp://a:1", ""};
    expect_wire_refusal(2, 0, empty, 2, RR_EINVAL, "brokers_detached",
                        "missing required field \"brokers_detached\"");
}

static void
test_brk_attach_take_copies_a_report_and_knows_when_there_was_none(void **state)
{
    (void) state;
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    brk_worker_brokers b;
    memset(&b, 0x5a, sizeof b);
    char why[160] = "";
    assert_int_equal(brk_attach_take(&ws, &b, why, sizeof why), RR_OK);
    assert_false(b.known);

    char *detached[] = {"tcp://10.0.0.2:5556", "ipc:///run/rr/b.sock"};
    ws.brokers_configured = 3;
    ws.brokers_attached = 1;
    ws.n_brokers_detached = 2;
    ws.brokers_detached = detached;
    assert_int_equal(brk_attach_take(&ws, &b, why, sizeof why), RR_OK);
    assert_true(b.known);
    assert_int_equal(b.configured, 3);
    assert_int_equal(b.attached, 1);
    assert_int_equal(b.ndetached, 2);
    assert_string_equal(b.detached[0], "tcp://10.0.0.2:5556");
    assert_string_equal(b.detached[1], "ipc:///run/rr/b.sock");
    assert_ptr_not_equal(b.detached[0], detached[0]); // a copy: the message is freed
    assert_string_equal(why, "");
}

// Each refusal names the reason and leaves the caller's copy as it was.
static void
expect_take_refusal(uint32_t configured, uint32_t attached, char **detached, size_t n,
                    const char *reason)
{
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    ws.brokers_configured = configured;
    ws.brokers_attached = attached;
    ws.n_brokers_detached = n;
    ws.brokers_detached = detached;
    brk_worker_brokers b, before;
    memset(&b, 0x5a, sizeof b);
    before = b;
    char why[160] = "";
    assert_int_equal(brk_attach_take(&ws, &b, why, sizeof why), RR_EINVAL);
    assert_memory_equal(&b, &before, sizeof b);
    assert_string_equal(why, reason);
}

static void
test_brk_attach_take_refuses_an_endpoint_that_is_not_printable_ascii(void **state)
{
    (void) state;
    char *markup[] = {"tcp://a:1", "<script>x</script>\x1b[2J"};
    expect_take_refusal(3, 1, markup, 2,
                        "detached broker 2 is empty, longer than 255 bytes or not printable ASCII");
    char *utf8[] = {"tcp://caf\xc3\xa9:5556"};
    expect_take_refusal(2, 1, utf8, 1,
                        "detached broker 1 is empty, longer than 255 bytes or not printable ASCII");
    char *empty[] = {""};
    expect_take_refusal(1, 0, empty, 1,
                        "detached broker 1 is empty, longer than 255 bytes or not printable ASCII");
    char *many[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    expect_take_refusal(9, 0, many, 9,
                        "its broker counts disagree: attached to 0 of 9, 9 named detached");
    expect_take_refusal(2, 1, many, 2,
                        "its broker counts disagree: attached to 1 of 2, 2 named detached");
}

static void
set_detached(brk_worker_brokers *b, size_t i, const char *endpoint)
{
    assert_true((size_t) snprintf(b->detached[i], sizeof b->detached[i], "%s", endpoint) <
                sizeof b->detached[i]);
}

// A snapshot of three workers: social attached to 1 of 2, prevention to 2
// of 2, rehabilitation not reporting its brokers.
static brk_snapshot *
three_workers(void)
{
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        s->queue[d].workers = 1;
    }
    s->workers[0] = (brk_worker_view){
        .host = "w1",
        .pid = 41,
        .domain = RR_DOMAIN_SOCIAL,
        .stats_seen = true,
        .brokers = {.known = true, .configured = 2, .attached = 1, .ndetached = 1}};
    set_detached(&s->workers[0].brokers, 0, "tcp://10.0.0.2:5556");
    s->workers[1] = (brk_worker_view){.host = "w2",
                                      .pid = 42,
                                      .domain = RR_DOMAIN_PREVENTION,
                                      .stats_seen = true,
                                      .brokers = {.known = true, .configured = 2, .attached = 2}};
    s->workers[2] = (brk_worker_view){
        .host = "w3", .pid = 43, .domain = RR_DOMAIN_REHABILITATION, .stats_seen = true};
    s->nworkers = 3;
    return s;
}

static void
test_brk_render_readyz_stays_ready_and_names_a_worker_that_lost_a_broker(void **state)
{
    (void) state;
    brk_snapshot *s = three_workers();
    char body[BRK_READYZ_BODY_BYTES];
    size_t len = brk_render_readyz(s, body, sizeof body);
    assert_string_equal(body, "ready\n"
                              "worker w1:41 (social) attached to 1 of 2 brokers; not to "
                              "tcp://10.0.0.2:5556\n");
    assert_int_equal(len, strlen(body));
    // All attached again: the body is what it always was.
    s->workers[0].brokers = (brk_worker_brokers){.known = true, .configured = 2, .attached = 2};
    len = brk_render_readyz(s, body, sizeof body);
    assert_string_equal(body, "ready\n");
    assert_int_equal(len, 6);
    free(s);
}

static void
test_brk_render_readyz_says_why_it_is_not_ready_before_the_detached_workers(void **state)
{
    (void) state;
    brk_snapshot *s = three_workers();
    s->queue[RR_DOMAIN_PREVENTION].workers = 0;
    s->draining = true;
    s->workers[2].brokers =
        (brk_worker_brokers){.known = true, .configured = 3, .attached = 0, .ndetached = 3};
    set_detached(&s->workers[2].brokers, 0, "tcp://a:1");
    set_detached(&s->workers[2].brokers, 1, "tcp://b:1");
    set_detached(&s->workers[2].brokers, 2, "tcp://c:1");
    s->workers[2].domain = RR_DOMAIN_NONE;
    char body[BRK_READYZ_BODY_BYTES];
    brk_render_readyz(s, body, sizeof body);
    assert_string_equal(body, "not ready: no prevention worker; stopping;\n"
                              "worker w1:41 (social) attached to 1 of 2 brokers; not to "
                              "tcp://10.0.0.2:5556\n"
                              "worker w3:43 (any) attached to 0 of 3 brokers; not to tcp://a:1, "
                              "tcp://b:1, tcp://c:1\n");
    free(s);
}

static void
test_brk_render_readyz_is_bounded_with_the_longest_endpoints_and_counts_the_rest(void **state)
{
    (void) state;
    brk_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        s->queue[d].workers = 1;
    }
    // As many workers as a snapshot holds, each detached from eight
    // endpoints of 255 bytes: about half a megabyte if written out.
    for (size_t i = 0; i < BRK_SNAP_MAX_WORKERS; i++) {
        brk_worker_view *w = &s->workers[i];
        memset(w->host, 'h', RR_WIRE_MAX_HOST_BYTES);
        w->pid = (uint32_t) i + 1;
        w->domain = RR_DOMAIN_SOCIAL;
        w->brokers =
            (brk_worker_brokers){.known = true, .configured = 8, .attached = 0, .ndetached = 8};
        for (int k = 0; k < 8; k++) {
            memset(w->brokers.detached[k], 'a' + k, RR_WIRE_MAX_ENDPOINT_BYTES);
        }
    }
    s->nworkers = BRK_SNAP_MAX_WORKERS;
    char body[BRK_READYZ_BODY_BYTES];
    size_t len = brk_render_readyz(s, body, sizeof body);
    assert_int_equal(len, strlen(body));
    assert_true(len < sizeof body);
    assert_memory_equal(body, "ready\nworker hhh", 16);
    // Each line cut at its bound, ending in "...".
    size_t lines = 0;
    for (const char *p = strchr(body, '\n') + 1; *p != '\0'; lines++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true((size_t) (nl - p) < BRK_READYZ_LINE_BYTES);
        if (strncmp(p, "worker ", 7) == 0) {
            assert_memory_equal(nl - 3, "...", 3);
        }
        p = nl + 1;
    }
    // 4096 bytes hold 10 lines of 383 bytes, and the count of the others.
    assert_int_equal(lines, 11);
    char tail[96];
    snprintf(tail, sizeof tail, "... and %d more worker(s) not attached to all their brokers\n",
             BRK_SNAP_MAX_WORKERS - 10);
    assert_string_equal(body + len - strlen(tail), tail);
    free(s);
}

static void
test_brk_render_shows_brokers_only_for_workers_that_reported_them(void **state)
{
    (void) state;
    brk_snapshot *s = three_workers();
    brk_process_view proc = {0};
    size_t len = 0;
    char *text = brk_render_prometheus(s, &proc, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE referral_worker_brokers_configured gauge\n"
                                 "referral_worker_brokers_configured{domain=\"social\",host=\"w1\","
                                 "pid=\"41\"} 2\n"
                                 "referral_worker_brokers_configured{domain=\"prevention\","
                                 "host=\"w2\",pid=\"42\"} 2\n"
                                 "# HELP referral_worker_brokers_attached "));
    assert_non_null(strstr(text, "# TYPE referral_worker_brokers_attached gauge\n"
                                 "referral_worker_brokers_attached{domain=\"social\",host=\"w1\","
                                 "pid=\"41\"} 1\n"
                                 "referral_worker_brokers_attached{domain=\"prevention\","
                                 "host=\"w2\",pid=\"42\"} 2\n"
                                 "# HELP "));
    assert_null(strstr(text, "brokers_configured{domain=\"rehabilitation\""));
    assert_null(strstr(text, "brokers_attached{domain=\"rehabilitation\""));
    free(text);

    text = brk_render_workers_json(s, &len);
    assert_non_null(text);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    assert_non_null(root);
    json_t *workers = json_object_get(root, "workers");
    assert_int_equal(json_array_size(workers), 3);
    char *b0 = json_dumps(json_object_get(json_array_get(workers, 0), "brokers"),
                          JSON_COMPACT | JSON_SORT_KEYS);
    char *b1 = json_dumps(json_object_get(json_array_get(workers, 1), "brokers"),
                          JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(b0,
                        "{\"attached\":1,\"configured\":2,\"detached\":[\"tcp://10.0.0.2:5556\"]}");
    assert_string_equal(b1, "{\"attached\":2,\"configured\":2,\"detached\":[]}");
    // Unknown: null, not zeros.
    json_t *b2 = json_object_get(json_array_get(workers, 2), "brokers");
    assert_non_null(b2);
    assert_true(json_is_null(b2));
    free(b0);
    free(b1);
    json_decref(root);
    free(text);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_rr_wire_takes_worker_stats_without_brokers_as_an_older_worker_sends_them),
        cmocka_unit_test(test_rr_wire_takes_a_worker_attached_to_one_of_two_brokers),
        cmocka_unit_test(test_rr_wire_refuses_broker_counts_that_disagree),
        cmocka_unit_test(test_rr_wire_refuses_more_than_eight_detached_brokers),
        cmocka_unit_test(test_rr_wire_refuses_a_detached_broker_empty_or_longer_than_255_bytes),
        cmocka_unit_test(test_brk_attach_take_copies_a_report_and_knows_when_there_was_none),
        cmocka_unit_test(test_brk_attach_take_refuses_an_endpoint_that_is_not_printable_ascii),
        cmocka_unit_test(test_brk_render_readyz_stays_ready_and_names_a_worker_that_lost_a_broker),
        cmocka_unit_test(
            test_brk_render_readyz_says_why_it_is_not_ready_before_the_detached_workers),
        cmocka_unit_test(
            test_brk_render_readyz_is_bounded_with_the_longest_endpoints_and_counts_the_rest),
        cmocka_unit_test(test_brk_render_shows_brokers_only_for_workers_that_reported_them),
    };
    return cmocka_run_group_tests_name("unit.attach", tests, NULL, NULL);
}
