// The envelopes: raw frames, bytes and text, and the center envelope
// ("RRC2"); the worker envelope is rr_wire_work.c. Every frame layout of the
// system is written in these two files and nowhere else.
#define RR_LOG_MODULE "wire"
#include "rr_wire_frames.h"

#include "rr_format.h"
#include "rr_log.h"
#include "rr_text.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// ---- raw frames, bytes and text ---------------------------------------------------

rr_status
rr_wire_fail(rr_wire_error *err, rr_status code, const char *field, const char *fmt, ...)
{
    if (err != NULL) {
        err->code = code;
        int n = snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        (void) n; // field names are short constants
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        (void) n; // a long message is cut, still readable
    }
    return code;
}

static rr_status
status_from_errno(int e, const char *what)
{
    switch (e) {
    case EAGAIN:
    case EINTR:
    case EHOSTUNREACH: // ROUTER_MANDATORY: the peer is gone
        return RR_EAGAIN;
    case ETERM:
        return RR_ESHUTDOWN;
    default:
        rr_log_error("%s failed: %s", what, zmq_strerror(e));
        return RR_EIO;
    }
}

rr_status
rr_frames_recv(void *socket, rr_frames *frames, int flags)
{
    assert(socket != NULL && frames != NULL);
    frames->count = 0;
    frames->too_many = false;
    frames->want_user_id = (flags & RR_WIRE_USER_ID) != 0;
    flags &= ~RR_WIRE_USER_ID;
    int more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *part =
            frames->count < RR_WIRE_MAX_FRAMES ? &frames->part[frames->count] : &scratch;
        int rc = zmq_msg_init(part);
        assert(rc == 0); // zmq_msg_init cannot fail
        // Only the first frame may be absent: ZeroMQ delivers a message whole.
        if (zmq_msg_recv(part, socket, frames->count == 0 ? flags : 0) < 0) {
            int e = errno;
            rr_msg_close(part);
            rr_frames_close(frames);
            return status_from_errno(e, "zmq_msg_recv");
        }
        more = zmq_msg_more(part);
        if (part == &scratch) {
            frames->too_many = true;
            rr_msg_close(&scratch);
        } else {
            frames->count++;
        }
    }
    return RR_OK;
}

void
rr_msg_close(zmq_msg_t *msg)
{
    int rc = zmq_msg_close(msg);
    assert(rc == 0);
    (void) rc;
}

void
rr_msg_move(zmq_msg_t *dest, zmq_msg_t *src)
{
    int rc = zmq_msg_move(dest, src);
    assert(rc == 0);
    (void) rc;
}

void
rr_frames_close(rr_frames *frames)
{
    for (size_t i = 0; i < frames->count; i++) {
        rr_msg_close(&frames->part[i]);
    }
    frames->count = 0;
}

const void *
rr_frames_data(rr_frames *frames, size_t i)
{
    assert(i < frames->count);
    return zmq_msg_data(&frames->part[i]);
}

size_t
rr_frames_size(rr_frames *frames, size_t i)
{
    assert(i < frames->count);
    return zmq_msg_size(&frames->part[i]);
}

bool
rr_frames_equal(rr_frames *frames, size_t i, const void *s, size_t n)
{
    return i < frames->count && rr_frames_size(frames, i) == n &&
           memcmp(rr_frames_data(frames, i), s, n) == 0;
}

rr_status
rr_wire_send_bytes(void *socket, const void *data, size_t size, bool more)
{
    int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
    if (zmq_send(socket, data, size, flags) < 0) {
        return status_from_errno(errno, "zmq_send");
    }
    return RR_OK;
}

rr_status
rr_wire_send_msg(void *socket, zmq_msg_t *msg, bool more)
{
    int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
    if (zmq_msg_send(msg, socket, flags) < 0) {
        int e = errno;
        // Closed, then empty again: a later close by the owner stays valid.
        rr_msg_close(msg);
        int rc = zmq_msg_init(msg);
        assert(rc == 0);
        (void) rc;
        return status_from_errno(e, "zmq_msg_send");
    }
    return RR_OK;
}

void
rr_wire_put_u64(uint8_t out[RR_WIRE_DELIVERY_ID_LEN], uint64_t value)
{
    for (int i = RR_WIRE_DELIVERY_ID_LEN - 1; i >= 0; i--) {
        out[i] = (uint8_t) (value & 0xFF);
        value >>= 8;
    }
}

uint64_t
rr_wire_get_u64(const uint8_t in[RR_WIRE_DELIVERY_ID_LEN])
{
    uint64_t value = 0;
    for (int i = 0; i < RR_WIRE_DELIVERY_ID_LEN; i++) {
        value = (value << 8) | in[i];
    }
    return value;
}

bool
rr_wire_text_ok(const char *s, size_t n, bool allow_newlines)
{
    return rr_text_check(s, n, allow_newlines ? RR_TEXT_MULTILINE : RR_TEXT_LINE, NULL);
}

// ---- center <-> broker ------------------------------------------------------

void
rr_wire_call_init(rr_wire_call *call)
{
    memset(call, 0, sizeof *call);
    int rc = zmq_msg_init(&call->peer);
    assert(rc == 0);
    rc = zmq_msg_init(&call->body);
    assert(rc == 0);
    (void) rc;
    call->version = 2;
}

void
rr_wire_call_close(rr_wire_call *call)
{
    rr_msg_close(&call->peer);
    rr_msg_close(&call->body);
    rr_wire_call_init(call); // closing twice stays harmless
}

// Copies a correlation frame into out when it is short, clean text; false
// (out "") otherwise: it could not be echoed safely.
static bool
read_correlation(rr_frames *f, size_t i, char out[RR_WIRE_MAX_CORRELATION + 1])
{
    out[0] = '\0';
    size_t n = rr_frames_size(f, i);
    const char *text = rr_frames_data(f, i);
    if (n > RR_WIRE_MAX_CORRELATION || !rr_wire_text_ok(text, n, false)) {
        return false;
    }
    memcpy(out, text, n);
    out[n] = '\0';
    return true;
}

// The key a message came with: ZAP's user id, a property of every frame
// the peer sent (not of the routing id the ROUTER adds).
void
rr_frames_user_id(rr_frames *f, size_t i, char out[RR_WIRE_MAX_USER_ID + 1])
{
    out[0] = '\0';
    // A metadata lookup per message: only for a receiver that asked.
    const char *key = f->want_user_id && i < f->count ? zmq_msg_gets(&f->part[i], "User-Id") : NULL;
    if (key != NULL && strlen(key) <= RR_WIRE_MAX_USER_ID) {
        memcpy(out, key, strlen(key) + 1);
    }
}

// Checks frames [base..] = [""][proto][command][correlation][body] and fills
// call (the body is moved out of f). Reads what it can even when something
// is wrong, so the answer names the request.
static rr_status
parse_call(rr_frames *f, size_t base, rr_wire_call *call, rr_wire_error *err)
{
    size_t n = f->count - base; // frames after the routing id
    rr_frames_user_id(f, base, call->user_id);
    if (n >= 3 && !rr_frames_equal(f, base + 1, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN) &&
        rr_frames_equal(f, base + 1, RR_WIRE_CLIENT_PROTO_V1, RR_WIRE_PROTO_LEN)) {
        call->version = 1;
        if (rr_frames_size(f, base + 2) == 1) {
            call->command = *(const uint8_t *) rr_frames_data(f, base + 2);
        }
        return rr_wire_fail(err, RR_EPROTO, "",
                            "unsupported protocol \"RRC1\": this broker speaks \"RRC2\" "
                            "(a correlation frame before the body; docs/PROTOCOL.md)");
    }
    if (n >= 3 && rr_frames_size(f, base + 2) == 1) {
        call->command = *(const uint8_t *) rr_frames_data(f, base + 2);
    }
    bool correlation_ok = true;
    if (n >= 4) {
        correlation_ok = read_correlation(f, base + 3, call->correlation);
    }
    if (f->too_many || n != 5) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed message: expected 5 frames (empty, \"RRC2\", command, "
                            "correlation, body), got %s%zu",
                            f->too_many ? "more than " : "", n);
    }
    if (rr_frames_size(f, base) != 0) {
        return rr_wire_fail(err, RR_EPROTO, "", "malformed message: frame 1 must be empty");
    }
    if (!rr_frames_equal(f, base + 1, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN)) {
        size_t len = rr_frames_size(f, base + 1);
        if (len > 16 || !rr_wire_text_ok(rr_frames_data(f, base + 1), len, false)) {
            return rr_wire_fail(err, RR_EPROTO, "",
                                "unsupported protocol: frame 2 must be \"RRC2\"");
        }
        return rr_wire_fail(err, RR_EPROTO, "",
                            "unsupported protocol \"%.*s\": this broker speaks \"RRC2\"", (int) len,
                            (const char *) rr_frames_data(f, base + 1));
    }
    if (rr_frames_size(f, base + 2) != 1) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed message: frame 3 (command) must be one byte");
    }
    if (!correlation_ok) {
        return rr_wire_fail(err, RR_EPROTO, "correlation",
                            "malformed message: frame 4 (correlation) must be text of at most "
                            "%d bytes without control characters",
                            RR_WIRE_MAX_CORRELATION);
    }
    rr_msg_move(&call->body, &f->part[base + 4]);
    return RR_OK;
}

rr_status
rr_wire_parse_call(rr_frames *f, bool from_router, rr_wire_call *call, rr_wire_error *err)
{
    rr_wire_call_init(call);
    size_t base = 0;
    if (from_router) {
        if (f->count == 0) {
            return rr_wire_fail(err, RR_EPROTO, "", "malformed message: no routing id");
        }
        rr_msg_move(&call->peer, &f->part[0]);
        base = 1;
    }
    return parse_call(f, base, call, err);
}

rr_status
rr_wire_recv_call(void *router, int flags, rr_wire_call *call, rr_wire_error *err)
{
    rr_wire_call_init(call);
    rr_frames f;
    rr_status st = rr_frames_recv(router, &f, flags);
    if (st != RR_OK) {
        return st;
    }
    st = rr_wire_parse_call(&f, true, call, err); // a ROUTER always gives the routing id
    rr_frames_close(&f);
    return st;
}

rr_status
rr_wire_recv_answer(void *dealer, int flags, rr_wire_call *answer, rr_wire_error *err)
{
    rr_wire_call_init(answer);
    rr_frames f;
    rr_status st = rr_frames_recv(dealer, &f, flags);
    if (st != RR_OK) {
        return st;
    }
    st = rr_wire_parse_call(&f, false, answer, err);
    rr_frames_close(&f);
    return st;
}

rr_status
rr_wire_send_call(void *dealer, int flags, uint8_t command, const char *correlation,
                  const void *body, size_t size)
{
    size_t clen = strlen(correlation);
    if (clen > RR_WIRE_MAX_CORRELATION || !rr_wire_text_ok(correlation, clen, false)) {
        return RR_EINVAL;
    }
    if (zmq_send(dealer, "", 0, flags | ZMQ_SNDMORE) < 0) {
        return status_from_errno(errno, "zmq_send");
    }
    // Once the first frame is queued the rest of the message is too.
    if (rr_wire_send_bytes(dealer, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN, true) != RR_OK ||
        rr_wire_send_bytes(dealer, &command, 1, true) != RR_OK ||
        rr_wire_send_bytes(dealer, correlation, clen, true) != RR_OK ||
        rr_wire_send_bytes(dealer, body, size, false) != RR_OK) {
        rr_log_error("request to the broker cut short");
        return RR_EIO;
    }
    return RR_OK;
}

rr_status
rr_wire_send_answer(void *router, const zmq_msg_t *peer, uint8_t version, uint8_t command,
                    const char *correlation, zmq_msg_t *body)
{
    zmq_msg_t id;
    int rc = zmq_msg_init(&id);
    assert(rc == 0);
    rc = zmq_msg_copy(&id, (zmq_msg_t *) peer); // zmq_msg_copy does not write its source
    assert(rc == 0);
    (void) rc;
    rr_status st = rr_wire_send_msg(router, &id, true);
    if (st != RR_OK) {
        rr_msg_close(body);
        rc = zmq_msg_init(body); // empty again: the owner may close it once more
        assert(rc == 0);
        return st;
    }
    bool v1 = version == 1;
    const char *proto = v1 ? RR_WIRE_CLIENT_PROTO_V1 : RR_WIRE_CLIENT_PROTO;
    if (rr_wire_send_bytes(router, "", 0, true) != RR_OK ||
        rr_wire_send_bytes(router, proto, RR_WIRE_PROTO_LEN, true) != RR_OK ||
        rr_wire_send_bytes(router, &command, 1, true) != RR_OK ||
        (!v1 && rr_wire_send_bytes(router, correlation, strlen(correlation), true) != RR_OK)) {
        rr_msg_close(body);
        rc = zmq_msg_init(body);
        assert(rc == 0);
        rr_log_error("answer to a center cut short");
        return RR_EIO;
    }
    return rr_wire_send_msg(router, body, false);
}
