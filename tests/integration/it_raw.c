// Raw peers (it_raw.h).
#include "it_raw.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

void *
it_raw_socket(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(s);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}

void
it_raw_submit(void *center, const Rr__V1__SubmitRequest *req)
{
    size_t size = rr__v1__submit_request__get_packed_size(req);
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    rr__v1__submit_request__pack(req, buf);
    assert_int_equal(rr_wire_send_call(center, 0, RR_CMD_SUBMIT, req->request_id, buf, size),
                     RR_OK);
    free(buf);
}

static bool
readable_within(void *s, long timeout_ms)
{
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, timeout_ms) == 1;
}

Rr__V1__SubmitReply *
it_raw_submit_reply(void *center, long timeout_ms)
{
    if (!readable_within(center, timeout_ms)) {
        return NULL;
    }
    rr_wire_call a;
    rr_wire_error err;
    assert_int_equal(rr_wire_recv_answer(center, 0, &a, &err), RR_OK);
    assert_int_equal(a.command, RR_CMD_SUBMIT);
    Rr__V1__SubmitReply *reply = NULL;
    assert_int_equal(rr_wire_unpack(zmq_msg_data(&a.body), zmq_msg_size(&a.body), &reply, NULL),
                     RR_OK);
    assert_string_equal(a.correlation, reply->request_id);
    rr_wire_call_close(&a);
    return reply;
}

void
it_raw_call(void *center, uint8_t command, const char *correlation, const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(size ? size : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(msg, buf);
    assert_int_equal(rr_wire_send_call(center, 0, command, correlation, buf, size), RR_OK);
    free(buf);
}

bool
it_raw_answer(void *center, long timeout_ms, rr_wire_call *a)
{
    if (!readable_within(center, timeout_ms)) {
        return false;
    }
    rr_wire_error err;
    assert_int_equal(rr_wire_recv_answer(center, 0, a, &err), RR_OK);
    return true;
}

void *
it_fake_worker(void *ctx, const char *endpoint, Rr__V1__Domain domain, uint32_t credit,
               uint32_t heartbeat_ms)
{
    return it_fake_worker_on(ctx, endpoint, domain, credit, heartbeat_ms, "fake", "");
}

void *
it_fake_worker_on(void *ctx, const char *endpoint, Rr__V1__Domain domain, uint32_t credit,
                  uint32_t heartbeat_ms, const char *host, const char *version)
{
    void *fake = it_raw_socket(ctx, endpoint);
    Rr__V1__WorkerReady ready = RR__V1__WORKER_READY__INIT;
    ready.domain = domain;
    ready.credit = credit;
    ready.host = (char *) host;
    ready.version = (char *) version;
    ready.pid = 1;
    ready.heartbeat_ms = heartbeat_ms;
    zmq_msg_t body;
    assert_int_equal(rr_wire_pack(&ready.base, &body), RR_OK);
    assert_int_equal(rr_wire_send_to_broker(fake, RR_WCMD_READY, &body), RR_OK);
    return fake;
}

bool
it_fake_request(void *fake, long timeout_ms, rr_wire_work *w)
{
    long long deadline_polls = timeout_ms / 50 + 1;
    for (long long i = 0; i < deadline_polls; i++) {
        if (!readable_within(fake, 50)) {
            continue;
        }
        rr_wire_error err;
        assert_int_equal(rr_wire_recv_work(fake, false, 0, w, &err), RR_OK);
        if (w->command == RR_WCMD_REQUEST) {
            return true;
        }
        rr_wire_work_close(w); // heartbeats
    }
    return false;
}

void
it_fake_reply(void *fake, uint64_t delivery_id, uint8_t outcome, const void *body, size_t len)
{
    zmq_msg_t msg;
    assert_int_equal(zmq_msg_init_size(&msg, len), 0);
    if (len > 0) {
        memcpy(zmq_msg_data(&msg), body, len);
    }
    assert_int_equal(rr_wire_send_reply(fake, RR_WCMD_REPLY, delivery_id, outcome, &msg), RR_OK);
}

void
it_fake_heartbeat(void *fake)
{
    assert_int_equal(rr_wire_send_to_broker(fake, RR_WCMD_HEARTBEAT, NULL), RR_OK);
}

void
it_fake_stats(void *fake, const Rr__V1__WorkerStats *ws)
{
    zmq_msg_t body;
    assert_int_equal(rr_wire_pack(&ws->base, &body), RR_OK);
    assert_int_equal(rr_wire_send_to_broker(fake, RR_WCMD_HEARTBEAT, &body), RR_OK);
}
