// The worker envelope ("RRW2", docs/PROTOCOL.md section 6): parsing by a
// table of each command's frames, and the typed sends of both sides.
#define RR_LOG_MODULE "wire"
#include "rr_wire_frames.h"

#include "rr_log.h"
#include "rr_principal.h"

#include <assert.h>
#include <string.h>

void
rr_wire_work_init(rr_wire_work *work)
{
    memset(work, 0, sizeof *work);
    int rc = zmq_msg_init(&work->peer);
    assert(rc == 0);
    rc = zmq_msg_init(&work->body);
    assert(rc == 0);
    (void) rc;
}

void
rr_wire_work_close(rr_wire_work *work)
{
    rr_msg_close(&work->peer);
    rr_msg_close(&work->body);
    rr_wire_work_init(work);
}

// How many frames follow the command frame, by command: exactly `min`, or
// up to `max` (HEARTBEAT's optional counters). -1: unknown command.
static int
frames_after(uint8_t command, int *max)
{
    switch (command) {
    case RR_WCMD_READY:
    case RR_WCMD_RULES:
        *max = 1;
        return 1;
    case RR_WCMD_REQUEST:
        *max = 4; // delivery (id and command), body, principal, earlier deliveries (0.5.0 on)
        return 3;
    case RR_WCMD_REPLY:
    case RR_WCMD_FAILED:
        *max = 2; // delivery (id and outcome), body
        return 2;
    case RR_WCMD_HEARTBEAT:
        *max = 1;
        return 0;
    case RR_WCMD_DISCONNECT:
        *max = 0;
        return 0;
    default:
        *max = -1;
        return -1;
    }
}

static rr_status
parse_work(rr_frames *f, size_t base, rr_wire_work *w, rr_wire_error *err)
{
    size_t n = f->count - base;
    rr_frames_user_id(f, base, w->user_id);
    if (f->too_many || n < 3 || rr_frames_size(f, base) != 0 || rr_frames_size(f, base + 2) != 1) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed message: expected empty, \"RRW2\", command and the "
                            "command's frames, got %s%zu frames",
                            f->too_many ? "more than " : "", n);
    }
    if (!rr_frames_equal(f, base + 1, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN)) {
        size_t len = rr_frames_size(f, base + 1);
        bool text = len <= 16 && rr_wire_text_ok(rr_frames_data(f, base + 1), len, false);
        return rr_wire_fail(
            err, RR_EPROTO, "", "unsupported protocol \"%.*s\": this broker speaks \"RRW2\"",
            text ? (int) len : 1, text ? (const char *) rr_frames_data(f, base + 1) : "?");
    }
    w->command = *(const uint8_t *) rr_frames_data(f, base + 2);
    int max = 0;
    int min = frames_after(w->command, &max);
    size_t rest = n - 3;
    if (min < 0) {
        return rr_wire_fail(err, RR_EPROTO, "", "unrecognized command 0x%02x", w->command);
    }
    if (rest < (size_t) min || rest > (size_t) max) {
        return rr_wire_fail(err, RR_EPROTO, "", "command 0x%02x with %zu frames", w->command, rest);
    }
    size_t at = base + 3;
    if (w->command == RR_WCMD_REQUEST || w->command == RR_WCMD_REPLY ||
        w->command == RR_WCMD_FAILED) {
        if (rr_frames_size(f, at) != RR_WIRE_DELIVERY_LEN) {
            return rr_wire_fail(err, RR_EPROTO, "",
                                "command 0x%02x needs a %d-byte delivery frame (an 8-byte id and "
                                "a 1-byte %s)",
                                w->command, RR_WIRE_DELIVERY_LEN,
                                w->command == RR_WCMD_REQUEST ? "command" : "outcome");
        }
        const uint8_t *delivery = rr_frames_data(f, at);
        w->delivery_id = rr_wire_get_u64(delivery);
        uint8_t b = delivery[RR_WIRE_DELIVERY_ID_LEN];
        if (w->command == RR_WCMD_REQUEST) {
            w->request = b & (uint8_t) ~RR_CMD_FLAGS;
            w->flags = b & RR_CMD_FLAGS;
            size_t plen = rr_frames_size(f, at + 2);
            if (plen > RR_PRINCIPAL_MAX) {
                return rr_wire_fail(err, RR_EPROTO, "", "malformed principal in a REQUEST");
            }
            memcpy(w->principal, rr_frames_data(f, at + 2), plen);
            w->principal[plen] = '\0';
            if (plen > 0 && !rr_principal_valid(w->principal)) {
                w->principal[0] = '\0';
                return rr_wire_fail(err, RR_EPROTO, "", "malformed principal in a REQUEST");
            }
            if (at + 3 < f->count) {
                if (rr_frames_size(f, at + 3) != 2) {
                    return rr_wire_fail(err, RR_EPROTO, "",
                                        "a REQUEST's earlier-deliveries frame must be 2 bytes");
                }
                const uint8_t *e = rr_frames_data(f, at + 3);
                w->earlier = (uint16_t) (e[0] << 8 | e[1]);
            }
        } else if (b > RR_WIRE_MAX_OUTCOME) {
            return rr_wire_fail(err, RR_EPROTO, "", "unrecognized outcome %u in a %s", b,
                                w->command == RR_WCMD_REPLY ? "REPLY" : "FAILED");
        } else {
            w->outcome = b;
        }
        at += 1;
    }
    if (at < f->count) {
        rr_msg_move(&w->body, &f->part[at]);
        w->has_body = true;
    }
    return RR_OK;
}

rr_status
rr_wire_parse_work(rr_frames *f, bool from_router, rr_wire_work *work, rr_wire_error *err)
{
    rr_wire_work_init(work);
    size_t base = 0;
    if (from_router) {
        if (f->count == 0) {
            return rr_wire_fail(err, RR_EPROTO, "", "malformed message: no routing id");
        }
        rr_msg_move(&work->peer, &f->part[0]);
        base = 1;
    }
    return parse_work(f, base, work, err);
}

rr_status
rr_wire_recv_work(void *socket, bool from_router, int flags, rr_wire_work *work, rr_wire_error *err)
{
    rr_wire_work_init(work);
    rr_frames f;
    rr_status st = rr_frames_recv(socket, &f, flags);
    if (st != RR_OK) {
        return st;
    }
    st = rr_wire_parse_work(&f, from_router, work, err);
    rr_frames_close(&f);
    return st;
}

// [worker id][""]["RRW2"][command]: the head of every message to a worker.
static rr_status
send_worker_head(void *router, const void *worker_id, size_t id_len, uint8_t command, bool more)
{
    rr_status st = rr_wire_send_bytes(router, worker_id, id_len, true);
    if (st != RR_OK) {
        return st; // gone already: its expiry will clean up
    }
    if (rr_wire_send_bytes(router, "", 0, true) != RR_OK ||
        rr_wire_send_bytes(router, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN, true) != RR_OK ||
        rr_wire_send_bytes(router, &command, 1, more) != RR_OK) {
        rr_log_error("message to a worker cut short");
        return RR_EIO;
    }
    return RR_OK;
}

rr_status
rr_wire_send_to_worker(void *router, const void *worker_id, size_t id_len, uint8_t command)
{
    return send_worker_head(router, worker_id, id_len, command, false);
}

rr_status
rr_wire_send_request(void *router, const void *worker_id, size_t id_len, uint64_t delivery_id,
                     uint8_t command, uint8_t flags, zmq_msg_t *body, const char *principal,
                     int earlier)
{
    rr_status st = send_worker_head(router, worker_id, id_len, RR_WCMD_REQUEST, true);
    if (st != RR_OK) {
        return st;
    }
    uint8_t delivery[RR_WIRE_DELIVERY_LEN];
    rr_wire_put_u64(delivery, delivery_id);
    delivery[RR_WIRE_DELIVERY_ID_LEN] = (uint8_t) (command | flags);
    unsigned capped = earlier > UINT16_MAX ? UINT16_MAX : (unsigned) (earlier < 0 ? 0 : earlier);
    uint8_t count[2] = {(uint8_t) (capped >> 8), (uint8_t) (capped & 0xFF)};
    zmq_msg_t copy; // a reference-counted copy: the broker keeps the body to redeliver
    int rc = zmq_msg_init(&copy);
    assert(rc == 0);
    rc = zmq_msg_copy(&copy, body);
    assert(rc == 0);
    (void) rc;
    if (rr_wire_send_bytes(router, delivery, sizeof delivery, true) != RR_OK ||
        rr_wire_send_msg(router, &copy, true) != RR_OK ||
        rr_wire_send_bytes(router, principal, strlen(principal), earlier >= 0) != RR_OK ||
        (earlier >= 0 && rr_wire_send_bytes(router, count, sizeof count, false) != RR_OK)) {
        rr_msg_close(&copy);
        rr_log_error("request to a worker cut short");
        return RR_EIO;
    }
    return RR_OK;
}

rr_status
rr_wire_send_to_broker(void *dealer, uint8_t command, zmq_msg_t *body)
{
    rr_status st = rr_wire_send_bytes(dealer, "", 0, true);
    if (st == RR_OK) {
        st = rr_wire_send_bytes(dealer, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN, true);
    }
    if (st == RR_OK) {
        st = rr_wire_send_bytes(dealer, &command, 1, body != NULL);
    }
    if (body != NULL) {
        if (st == RR_OK) {
            st = rr_wire_send_msg(dealer, body, false);
        } else {
            rr_msg_close(body);
            int rc = zmq_msg_init(body);
            assert(rc == 0);
            (void) rc;
        }
    }
    return st;
}

rr_status
rr_wire_send_reply(void *dealer, uint8_t command, uint64_t delivery_id, uint8_t outcome,
                   zmq_msg_t *body)
{
    uint8_t delivery[RR_WIRE_DELIVERY_LEN];
    rr_wire_put_u64(delivery, delivery_id);
    delivery[RR_WIRE_DELIVERY_ID_LEN] = outcome;
    rr_status st = rr_wire_send_bytes(dealer, "", 0, true);
    if (st == RR_OK) {
        st = rr_wire_send_bytes(dealer, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN, true);
    }
    if (st == RR_OK) {
        st = rr_wire_send_bytes(dealer, &command, 1, true);
    }
    if (st == RR_OK) {
        st = rr_wire_send_bytes(dealer, delivery, sizeof delivery, true);
    }
    if (st == RR_OK) {
        return rr_wire_send_msg(dealer, body, false);
    }
    rr_msg_close(body);
    int rc = zmq_msg_init(body);
    assert(rc == 0);
    (void) rc;
    return st;
}
