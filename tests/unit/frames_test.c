// rr_wire_frames: both envelopes over real ZeroMQ sockets (inproc ROUTER and
// DEALER pairs): what each side reads, what a malformed message still
// yields (so its answer can name it), and the one ERROR a v1 peer gets.
#include "rr_wire_frames.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void *ctx, *router, *dealer;

static int
setup(void **state)
{
    (void) state;
    static int n = 0;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://frames-%d", n++);
    ctx = zmq_ctx_new();
    router = zmq_socket(ctx, ZMQ_ROUTER);
    dealer = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, timeout = 2000;
    if (ctx == NULL || router == NULL || dealer == NULL || zmq_bind(router, ep) != 0 ||
        zmq_connect(dealer, ep) != 0 ||
        zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0) {
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    return 0;
}

// Sends count frames from the dealer, as given.
static void
send_frames(const char *const *frames, const size_t *sizes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        assert_true(zmq_send(dealer, frames[i], sizes[i], i + 1 < count ? ZMQ_SNDMORE : 0) >= 0);
    }
}

static void
test_rr_wire_a_call_and_its_answer_carry_the_correlation_both_ways(void **state)
{
    (void) state;
    assert_int_equal(rr_wire_send_call(dealer, 0, 0x01, "req-7", "body", 4), RR_OK);
    rr_wire_call call;
    rr_wire_error err;
    assert_int_equal(rr_wire_recv_call(router, 0, &call, &err), RR_OK);
    assert_int_equal(call.version, 2);
    assert_int_equal(call.command, 0x01);
    assert_string_equal(call.correlation, "req-7");
    assert_int_equal(zmq_msg_size(&call.body), 4);
    assert_memory_equal(zmq_msg_data(&call.body), "body", 4);
    assert_true(zmq_msg_size(&call.peer) > 0);
    zmq_msg_t answer;
    assert_int_equal(zmq_msg_init_size(&answer, 2), 0);
    memcpy(zmq_msg_data(&answer), "ok", 2);
    assert_int_equal(
        rr_wire_send_answer(router, &call.peer, call.version, 0x01, call.correlation, &answer),
        RR_OK);
    rr_wire_call_close(&call);
    rr_wire_call back;
    assert_int_equal(rr_wire_recv_answer(dealer, 0, &back, &err), RR_OK);
    assert_int_equal(back.command, 0x01);
    assert_string_equal(back.correlation, "req-7");
    assert_memory_equal(zmq_msg_data(&back.body), "ok", 2);
    rr_wire_call_close(&back);
    rr_wire_call_close(&back); // twice is harmless
}

static void
test_rr_wire_a_malformed_call_still_yields_its_command_and_correlation(void **state)
{
    (void) state;
    rr_wire_call call;
    rr_wire_error err;
    // Frame 1 not empty: refused, but named.
    const char *f1[] = {"x", RR_WIRE_CLIENT_PROTO, "\x02", "q-1", ""};
    const size_t s1[] = {1, 4, 1, 3, 0};
    send_frames(f1, s1, 5);
    assert_int_equal(rr_wire_recv_call(router, 0, &call, &err), RR_EPROTO);
    assert_int_equal(call.command, 0x02);
    assert_string_equal(call.correlation, "q-1");
    assert_non_null(strstr(err.message, "frame 1 must be empty"));
    rr_wire_call_close(&call);
    // No correlation frame (a v1 layout under the v2 id).
    const char *f2[] = {"", RR_WIRE_CLIENT_PROTO, "\x01", "body"};
    const size_t s2[] = {0, 4, 1, 4};
    send_frames(f2, s2, 4);
    assert_int_equal(rr_wire_recv_call(router, 0, &call, &err), RR_EPROTO);
    assert_non_null(strstr(err.message, "expected 5 frames"));
    rr_wire_call_close(&call);
    // A correlation with a control character cannot be echoed.
    const char *f3[] = {"", RR_WIRE_CLIENT_PROTO, "\x01", "a\nb", ""};
    const size_t s3[] = {0, 4, 1, 3, 0};
    send_frames(f3, s3, 5);
    assert_int_equal(rr_wire_recv_call(router, 0, &call, &err), RR_EPROTO);
    assert_string_equal(err.field, "correlation");
    assert_string_equal(call.correlation, "");
    rr_wire_call_close(&call);
    // A client cannot send one either.
    assert_int_equal(rr_wire_send_call(dealer, 0, 0x01, "a\nb", "", 0), RR_EINVAL);
}

static void
test_rr_wire_a_v1_peer_is_told_the_version_in_its_own_framing(void **state)
{
    (void) state;
    const char *f[] = {"", RR_WIRE_CLIENT_PROTO_V1, "\x01", "body"};
    const size_t s[] = {0, 4, 1, 4};
    send_frames(f, s, 4);
    rr_wire_call call;
    rr_wire_error err;
    assert_int_equal(rr_wire_recv_call(router, 0, &call, &err), RR_EPROTO);
    assert_int_equal(call.version, 1);
    assert_non_null(strstr(err.message, "this broker speaks \"RRC2\""));
    zmq_msg_t body;
    assert_int_equal(zmq_msg_init(&body), 0);
    assert_int_equal(
        rr_wire_send_answer(router, &call.peer, call.version, 0x7F, call.correlation, &body),
        RR_OK);
    rr_wire_call_close(&call);
    // Four frames, as a v1 client reads them.
    rr_frames got;
    assert_int_equal(rr_frames_recv(dealer, &got, 0), RR_OK);
    assert_int_equal(got.count, 4);
    assert_true(rr_frames_equal(&got, 1, RR_WIRE_CLIENT_PROTO_V1, 4));
    assert_true(rr_frames_equal(&got, 2, "\x7F", 1));
    rr_frames_close(&got);
}

static void
test_rr_wire_worker_messages_round_trip_with_their_fields(void **state)
{
    (void) state;
    // The dealer plays the worker: its READY first, so the router knows it.
    zmq_msg_t ready;
    assert_int_equal(zmq_msg_init_size(&ready, 3), 0);
    memcpy(zmq_msg_data(&ready), "rdy", 3);
    assert_int_equal(rr_wire_send_to_broker(dealer, RR_WCMD_READY, &ready), RR_OK);
    rr_wire_work w;
    rr_wire_error err;
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_OK);
    assert_int_equal(w.command, RR_WCMD_READY);
    assert_true(w.has_body);
    zmq_msg_t id;
    assert_int_equal(zmq_msg_init(&id), 0);
    assert_int_equal(zmq_msg_copy(&id, &w.peer), 0);
    rr_wire_work_close(&w);
    // A REQUEST with flags and a principal.
    zmq_msg_t body;
    assert_int_equal(zmq_msg_init_size(&body, 4), 0);
    memcpy(zmq_msg_data(&body), "subm", 4);
    assert_int_equal(rr_wire_send_request(router, zmq_msg_data(&id), zmq_msg_size(&id),
                                          0x0102030405060708ull, RR_CMD_SUBMIT,
                                          RR_CMD_LAST_ATTEMPT_FLAG, &body, "center:941", 258),
                     RR_OK);
    assert_int_equal(zmq_msg_size(&body), 4); // the broker keeps its body
    zmq_msg_close(&body);
    assert_int_equal(rr_wire_recv_work(dealer, false, 0, &w, &err), RR_OK);
    assert_int_equal(w.command, RR_WCMD_REQUEST);
    assert_true(w.delivery_id == 0x0102030405060708ull);
    assert_int_equal(w.request, RR_CMD_SUBMIT);
    assert_int_equal(w.flags, RR_CMD_LAST_ATTEMPT_FLAG);
    assert_string_equal(w.principal, "center:941");
    assert_int_equal(w.earlier, 258); // frame 7, big-endian
    assert_memory_equal(zmq_msg_data(&w.body), "subm", 4);
    rr_wire_work_close(&w);
    // For a worker older than 0.5: six frames, read as no earlier delivery.
    assert_int_equal(zmq_msg_init_size(&body, 4), 0);
    memcpy(zmq_msg_data(&body), "subm", 4);
    assert_int_equal(rr_wire_send_request(router, zmq_msg_data(&id), zmq_msg_size(&id), 7,
                                          RR_CMD_SUBMIT, 0, &body, "center:941", -1),
                     RR_OK);
    zmq_msg_close(&body);
    rr_frames frames;
    assert_int_equal(rr_frames_recv(dealer, &frames, 0), RR_OK);
    assert_int_equal(frames.count, 6);
    assert_int_equal(rr_wire_parse_work(&frames, false, &w, &err), RR_OK);
    assert_int_equal(w.earlier, 0);
    assert_string_equal(w.principal, "center:941");
    rr_frames_close(&frames);
    rr_wire_work_close(&w);
    // Its REPLY with the outcome in the envelope.
    zmq_msg_t reply;
    assert_int_equal(zmq_msg_init_size(&reply, 1), 0);
    assert_int_equal(rr_wire_send_reply(dealer, RR_WCMD_REPLY, 42, 2, &reply), RR_OK);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_OK);
    assert_int_equal(w.command, RR_WCMD_REPLY);
    assert_true(w.delivery_id == 42);
    assert_int_equal(w.outcome, 2);
    rr_wire_work_close(&w);
    // A HEARTBEAT with no counters, and DISCONNECT.
    assert_int_equal(rr_wire_send_to_broker(dealer, RR_WCMD_HEARTBEAT, NULL), RR_OK);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_OK);
    assert_false(w.has_body);
    rr_wire_work_close(&w);
    assert_int_equal(
        rr_wire_send_to_worker(router, zmq_msg_data(&id), zmq_msg_size(&id), RR_WCMD_DISCONNECT),
        RR_OK);
    assert_int_equal(rr_wire_recv_work(dealer, false, 0, &w, &err), RR_OK);
    assert_int_equal(w.command, RR_WCMD_DISCONNECT);
    rr_wire_work_close(&w);
    zmq_msg_close(&id);
}

static void
test_rr_wire_malformed_worker_messages_are_refused_with_the_reason(void **state)
{
    (void) state;
    rr_wire_work w;
    rr_wire_error err;
    const char *v1[] = {"", "RRW1", "\x04"};
    const size_t s1[] = {0, 4, 1};
    send_frames(v1, s1, 3);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_non_null(strstr(err.message, "this broker speaks \"RRW2\""));
    rr_wire_work_close(&w);
    const char *unknown[] = {"", RR_WIRE_WORKER_PROTO, "\x42"};
    send_frames(unknown, s1, 3);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_non_null(strstr(err.message, "unrecognized command 0x42"));
    rr_wire_work_close(&w);
    // A REPLY whose delivery frame lacks the outcome byte.
    const char *short_reply[] = {"", RR_WIRE_WORKER_PROTO, "\x03", "12345678", "body"};
    const size_t s2[] = {0, 4, 1, 8, 4};
    send_frames(short_reply, s2, 5);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_non_null(strstr(err.message, "needs a 9-byte delivery frame"));
    rr_wire_work_close(&w);
    // A REPLY with a frame too many (v2's first draft: the outcome alone).
    const char *long_reply[] = {"", RR_WIRE_WORKER_PROTO, "\x03", "12345678\x01", "\x01", "body"};
    const size_t s5[] = {0, 4, 1, 9, 1, 4};
    send_frames(long_reply, s5, 6);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_non_null(strstr(err.message, "command 0x03 with 3 frames"));
    rr_wire_work_close(&w);
    // A REPLY whose outcome byte is no Outcome, and a REQUEST whose
    // principal frame is no principal.
    const char *bad_outcome[] = {"", RR_WIRE_WORKER_PROTO, "\x03", "12345678\x05", "body"};
    const size_t s6[] = {0, 4, 1, 9, 4};
    send_frames(bad_outcome, s6, 5);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_string_equal(err.message, "unrecognized outcome 5 in a REPLY");
    rr_wire_work_close(&w);
    const char *bad_principal[] = {"",     RR_WIRE_WORKER_PROTO, "\x02", "12345678\x01",
                                   "body", "operator:Root"};
    const size_t s4[] = {0, 4, 1, 9, 4, 13};
    send_frames(bad_principal, s4, 6);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_string_equal(err.message, "malformed principal in a REQUEST");
    rr_wire_work_close(&w);
    // A REQUEST whose earlier-deliveries frame is not two bytes.
    const char *bad_earlier[] = {"",     RR_WIRE_WORKER_PROTO, "\x02",        "12345678\x01",
                                 "body", "center:941",         "\x00\x01\x02"};
    const size_t s7[] = {0, 4, 1, 9, 4, 10, 3};
    send_frames(bad_earlier, s7, 7);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    assert_string_equal(err.message, "a REQUEST's earlier-deliveries frame must be 2 bytes");
    rr_wire_work_close(&w);
    // A READY without its body.
    const char *bare_ready[] = {"", RR_WIRE_WORKER_PROTO, "\x01"};
    send_frames(bare_ready, s1, 3);
    assert_int_equal(rr_wire_recv_work(router, true, 0, &w, &err), RR_EPROTO);
    rr_wire_work_close(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_rr_wire_a_call_and_its_answer_carry_the_correlation_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_rr_wire_a_malformed_call_still_yields_its_command_and_correlation, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_rr_wire_a_v1_peer_is_told_the_version_in_its_own_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rr_wire_worker_messages_round_trip_with_their_fields,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_rr_wire_malformed_worker_messages_are_refused_with_the_reason, setup, teardown),
    };
    return cmocka_run_group_tests_name("unit.frames", tests, NULL, NULL);
}
