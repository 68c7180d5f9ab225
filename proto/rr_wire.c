// Frames <-> messages, and every field check a peer's bytes must pass before
// the rest of the system sees them.
#define RR_LOG_MODULE "wire"
#include "rr_wire.h"

#include "rr_log.h"
#include "rr_natid.h"
#include "rr_uuid.h"
#include "rr_vocab.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

rr_status
rr_wire_client_header(rr_frames *f, uint8_t *command, rr_wire_error *err)
{
    if (f->too_many || f->count != 5) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed message: expected 4 frames (empty, \"RRC1\", command, "
                            "body), got %s%zu",
                            f->too_many ? "more than " : "", f->count ? f->count - 1 : 0);
    }
    if (rr_frames_size(f, 1) != 0) {
        return rr_wire_fail(err, RR_EPROTO, "", "malformed message: frame 1 must be empty");
    }
    if (!rr_frames_equal(f, 2, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN)) {
        size_t len = rr_frames_size(f, 2);
        if (len > 16 || !rr_wire_text_ok(rr_frames_data(f, 2), len, false)) {
            return rr_wire_fail(err, RR_EPROTO, "",
                                "unsupported protocol: frame 2 must be \"RRC1\"");
        }
        return rr_wire_fail(err, RR_EPROTO, "",
                            "unsupported protocol \"%.*s\": this broker speaks \"RRC1\"", (int) len,
                            (const char *) rr_frames_data(f, 2));
    }
    if (rr_frames_size(f, 3) != 1) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed message: frame 3 (command) must be one byte");
    }
    *command = *(const uint8_t *) rr_frames_data(f, 3);
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
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) {
                if (!(allow_newlines && (c == '\n' || c == '\r' || c == '\t'))) {
                    return false;
                }
            }
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return false;
        }
        i += len;
    }
    return true;
}

// Checks one string field: length within max (and non-empty when required)
// and clean UTF-8.
static rr_status
check_text(const char *value, const char *field, size_t max, bool required, bool multiline,
           rr_wire_error *err)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0) {
        if (required) {
            return rr_wire_fail(err, RR_EINVAL, field, "missing required field \"%s\"", field);
        }
        return RR_OK;
    }
    if (n > max) {
        return rr_wire_fail(err, RR_ETOOBIG, field,
                            "field \"%s\" is too long: %zu bytes, limit %zu", field, n, max);
    }
    if (!rr_wire_text_ok(value, n, multiline)) {
        return rr_wire_fail(err, RR_EINVAL, field,
                            "field \"%s\" is not valid UTF-8 text or holds control characters",
                            field);
    }
    return RR_OK;
}

rr_status
rr_wire_submit_check(const Rr__V1__SubmitRequest *req, char natid_out[11], rr_wire_error *err)
{
    rr_status st;
    if (!rr_uuid_is_valid(req->request_id)) {
        if (req->request_id == NULL || req->request_id[0] == '\0') {
            return rr_wire_fail(err, RR_EINVAL, "request_id",
                                "missing required field \"request_id\"");
        }
        return rr_wire_fail(err, RR_EINVAL, "request_id",
                            "invalid request_id: must be a UUID like "
                            "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    }
    if (req->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    if ((st = check_text(req->household_id, "household_id", RR_WIRE_MAX_HOUSEHOLD_BYTES, true,
                         false, err)) != RR_OK) {
        return st;
    }
    if ((st = check_text(req->service_code, "service_code", RR_WIRE_MAX_SERVICE_BYTES, true, false,
                         err)) != RR_OK) {
        return st;
    }
    if ((st = check_text(req->note, "note", RR_WIRE_MAX_NOTE_BYTES, false, true, err)) != RR_OK) {
        return st;
    }
    if ((int) req->priority < 0 || (int) req->priority > RR_PRIORITY_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "priority", "unrecognized priority value %d",
                            (int) req->priority);
    }
    if ((int) req->domain < 0 || (int) req->domain > RR_DOMAIN_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) req->domain);
    }
    if (req->n_risk_flags > RR_WIRE_MAX_RISK_FLAGS) {
        return rr_wire_fail(err, RR_ETOOBIG, "risk_flags", "too many risk flags: %zu, limit %d",
                            req->n_risk_flags, RR_WIRE_MAX_RISK_FLAGS);
    }
    for (size_t i = 0; i < req->n_risk_flags; i++) {
        int f = (int) req->risk_flags[i];
        if (f < 1 || f > RR_RISK_FLAG_COUNT) {
            return rr_wire_fail(err, RR_EINVAL, "risk_flags", "unrecognized risk flag value %d", f);
        }
    }
    if (!req->consent) {
        return rr_wire_fail(err, RR_EINVAL, "consent",
                            "cannot refer without consent: field \"consent\" must be true");
    }
    // The national id is personal data: the message never quotes it.
    size_t nlen = req->national_id ? strlen(req->national_id) : 0;
    if (nlen == 0) {
        return rr_wire_fail(err, RR_EINVAL, "national_id",
                            "missing required field \"national_id\"");
    }
    if (nlen > RR_WIRE_MAX_NATID_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "national_id", "field \"national_id\" is too long");
    }
    char natid[RR_NATID_LEN + 1];
    const char *why = NULL;
    if (rr_natid_normalize(req->national_id, natid, &why) != RR_OK) {
        return rr_wire_fail(err, RR_EINVAL, "national_id", "invalid national id: it %s", why);
    }
    if (natid_out != NULL) {
        memcpy(natid_out, natid, sizeof natid);
    }
    return RR_OK;
}

rr_status
rr_wire_submit_unpack(const void *data, size_t size, Rr__V1__SubmitRequest **out,
                      rr_wire_error *err)
{
    *out = NULL;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    Rr__V1__SubmitRequest *req = rr__v1__submit_request__unpack(NULL, size, data);
    if (req == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed SubmitRequest: not a valid protobuf message");
    }
    *out = req;
    return rr_wire_submit_check(req, NULL, err);
}

rr_status
rr_wire_status_unpack(const void *data, size_t size, Rr__V1__StatusQuery **out, rr_wire_error *err)
{
    *out = NULL;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    Rr__V1__StatusQuery *q = rr__v1__status_query__unpack(NULL, size, data);
    if (q == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed StatusQuery: not a valid protobuf message");
    }
    *out = q;
    rr_status st;
    if ((st = check_text(q->query_id, "query_id", RR_WIRE_MAX_QUERY_ID_BYTES, false, false, err)) !=
        RR_OK) {
        return st;
    }
    switch (q->key_case) {
    case RR__V1__STATUS_QUERY__KEY_REQUEST_ID:
        if (!rr_uuid_is_valid(q->request_id)) {
            return rr_wire_fail(err, RR_EINVAL, "request_id", "invalid request_id: must be a UUID");
        }
        break;
    case RR__V1__STATUS_QUERY__KEY_REFERRAL_ID:
        return check_text(q->referral_id, "referral_id", RR_WIRE_MAX_REFERRAL_BYTES, true, false,
                          err);
    default:
        return rr_wire_fail(err, RR_EINVAL, "key",
                            "missing required field: one of \"request_id\" or \"referral_id\"");
    }
    return RR_OK;
}

rr_status
rr_wire_update_unpack(const void *data, size_t size, Rr__V1__UpdateRequest **out,
                      rr_wire_error *err)
{
    *out = NULL;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    Rr__V1__UpdateRequest *u = rr__v1__update_request__unpack(NULL, size, data);
    if (u == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed UpdateRequest: not a valid protobuf message");
    }
    *out = u;
    rr_status st;
    if (!rr_uuid_is_valid(u->update_id)) {
        return rr_wire_fail(err, RR_EINVAL, "update_id", "invalid update_id: must be a UUID");
    }
    if ((st = check_text(u->referral_id, "referral_id", RR_WIRE_MAX_REFERRAL_BYTES, true, false,
                         err)) != RR_OK) {
        return st;
    }
    if (rr_domain_name((int) u->domain) == NULL) {
        return rr_wire_fail(err, RR_EINVAL, "domain",
                            "missing required field \"domain\": the referral's domain");
    }
    if (rr_ref_state_name((int) u->to_status) == NULL) {
        return rr_wire_fail(err, RR_EINVAL, "to_status", "unrecognized status value %d",
                            (int) u->to_status);
    }
    bool office = u->office_code != NULL && u->office_code[0] != '\0';
    if (office == (u->center_code != 0)) {
        return rr_wire_fail(
            err, RR_EINVAL, "office_code",
            "exactly one of \"office_code\" or \"center_code\" must name the actor");
    }
    if ((st = check_text(u->office_code, "office_code", RR_WIRE_MAX_OFFICE_BYTES, false, false,
                         err)) != RR_OK ||
        (st = check_text(u->forward_to, "forward_to", RR_WIRE_MAX_OFFICE_BYTES, false, false,
                         err)) != RR_OK ||
        (st = check_text(u->reason, "reason", RR_WIRE_MAX_REASON_BYTES, false, true, err)) !=
            RR_OK) {
        return st;
    }
    if (u->expected_version == 0) {
        return rr_wire_fail(err, RR_EINVAL, "expected_version",
                            "missing required field \"expected_version\": the version you last "
                            "saw");
    }
    return RR_OK;
}

rr_status
rr_wire_follow_unpack(const void *data, size_t size, Rr__V1__FollowRequest **out,
                      rr_wire_error *err)
{
    *out = NULL;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    Rr__V1__FollowRequest *f = rr__v1__follow_request__unpack(NULL, size, data);
    if (f == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "",
                            "malformed FollowRequest: not a valid protobuf message");
    }
    *out = f;
    rr_status st =
        check_text(f->query_id, "query_id", RR_WIRE_MAX_QUERY_ID_BYTES, false, false, err);
    if (st != RR_OK) {
        return st;
    }
    if (f->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    if (f->limit > RR_WIRE_MAX_FOLLOW_LIMIT) {
        return rr_wire_fail(err, RR_ETOOBIG, "limit", "limit %u is over the maximum %d", f->limit,
                            RR_WIRE_MAX_FOLLOW_LIMIT);
    }
    return RR_OK;
}

rr_status
rr_wire_ready_unpack(const void *data, size_t size, Rr__V1__WorkerReady **out, rr_wire_error *err)
{
    *out = NULL;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large");
    }
    Rr__V1__WorkerReady *r = rr__v1__worker_ready__unpack(NULL, size, data);
    if (r == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "", "malformed WorkerReady");
    }
    *out = r;
    if (rr_domain_name((int) r->domain) == NULL) {
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) r->domain);
    }
    if (r->credit < 1 || r->credit > 1024) {
        return rr_wire_fail(err, RR_EINVAL, "credit", "credit %u out of range 1..1024", r->credit);
    }
    rr_status st = check_text(r->host, "host", RR_WIRE_MAX_HOST_BYTES, false, false, err);
    return st != RR_OK
               ? st
               : check_text(r->version, "version", RR_WIRE_MAX_VERSION_BYTES, false, false, err);
}

rr_status
rr_wire_rules_unpack(const void *data, size_t size, rr_risk_rule *rules, size_t *count)
{
    *count = 0;
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return RR_ETOOBIG;
    }
    Rr__V1__RiskRules *msg = rr__v1__risk_rules__unpack(NULL, size, data);
    if (msg == NULL) {
        return RR_EPROTO;
    }
    rr_status st = RR_OK;
    for (size_t i = 0; i < msg->n_rules && st == RR_OK; i++) {
        const Rr__V1__RiskRule *r = msg->rules[i];
        int flags[RR_RISK_FLAG_COUNT];
        if (*count == RR_RISK_MAX_RULES || r->n_flags == 0 || r->n_flags > RR_RISK_FLAG_COUNT ||
            r->min_priority < 1 || (int) r->min_priority > RR_PRIORITY_COUNT) {
            st = RR_EINVAL;
            break;
        }
        for (size_t k = 0; k < r->n_flags; k++) {
            flags[k] = (int) r->flags[k];
            if (flags[k] < 1 || flags[k] > RR_RISK_FLAG_COUNT) {
                st = RR_EINVAL;
            }
        }
        rules[*count].flags = rr_risk_mask(flags, r->n_flags);
        rules[*count].priority = (rr_priority) r->min_priority;
        (*count)++;
    }
    rr__v1__risk_rules__free_unpacked(msg, NULL);
    if (st != RR_OK) {
        *count = 0;
    }
    return st;
}

rr_status
rr_wire_rules_pack(const rr_risk_rule *rules, size_t count, zmq_msg_t *out)
{
    Rr__V1__RiskRules msg = RR__V1__RISK_RULES__INIT;
    Rr__V1__RiskRule items[RR_RISK_MAX_RULES];
    Rr__V1__RiskRule *ptrs[RR_RISK_MAX_RULES];
    Rr__V1__RiskFlag flags[RR_RISK_MAX_RULES][RR_RISK_FLAG_COUNT];
    if (count > RR_RISK_MAX_RULES) {
        count = RR_RISK_MAX_RULES;
    }
    for (size_t i = 0; i < count; i++) {
        rr__v1__risk_rule__init(&items[i]);
        size_t n = 0;
        for (int f = 1; f <= RR_RISK_FLAG_COUNT; f++) {
            if (rules[i].flags & (UINT32_C(1) << f)) {
                flags[i][n++] = (Rr__V1__RiskFlag) f;
            }
        }
        items[i].n_flags = n;
        items[i].flags = flags[i];
        items[i].min_priority = (Rr__V1__Priority) rules[i].priority;
        ptrs[i] = &items[i];
    }
    msg.n_rules = count;
    msg.rules = ptrs;
    return rr_wire_pack(&msg.base, out);
}

// Reads a base-128 varint at *p (before end); false when truncated or
// longer than 10 bytes.
static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t) (b & 0x7F) << shift;
        if (!(b & 0x80)) {
            return true;
        }
    }
    return false;
}

rr_status
rr_wire_submit_reply_outcome(const void *data, size_t size, int *outcome)
{
    const uint8_t *p = data, *end = p + size;
    *outcome = 0; // proto3: absent means the default
    while (p < end) {
        uint64_t key, v;
        if (!read_varint(&p, end, &key)) {
            return RR_EPROTO;
        }
        switch (key & 7) {
        case 0:
            if (!read_varint(&p, end, &v)) {
                return RR_EPROTO;
            }
            if ((key >> 3) == 2) {
                *outcome = (int) v; // the last occurrence wins, as in protobuf
            }
            break;
        case 1:
            if ((size_t) (end - p) < 8) {
                return RR_EPROTO;
            }
            p += 8;
            break;
        case 2:
            if (!read_varint(&p, end, &v) || v > (uint64_t) (end - p)) {
                return RR_EPROTO;
            }
            p += v;
            break;
        case 5:
            if ((size_t) (end - p) < 4) {
                return RR_EPROTO;
            }
            p += 4;
            break;
        default:
            return RR_EPROTO;
        }
    }
    return RR_OK;
}

rr_status
rr_wire_submit_reply_unpack(const void *data, size_t size, Rr__V1__SubmitReply **out)
{
    *out = rr__v1__submit_reply__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_status_reply_unpack(const void *data, size_t size, Rr__V1__StatusReply **out)
{
    *out = rr__v1__status_reply__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_error_reply_unpack(const void *data, size_t size, Rr__V1__ErrorReply **out)
{
    *out = rr__v1__error_reply__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_worker_stats_unpack(const void *data, size_t size, Rr__V1__WorkerStats **out)
{
    *out = size <= RR_WIRE_MAX_BODY_BYTES ? rr__v1__worker_stats__unpack(NULL, size, data) : NULL;
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_stats_unpack(const void *data, size_t size, Rr__V1__BrokerStats **out)
{
    *out = rr__v1__broker_stats__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_pack_buffer(const ProtobufCMessage *msg, uint8_t **buf, size_t *size)
{
    *size = protobuf_c_message_get_packed_size(msg);
    *buf = malloc(*size ? *size : 1);
    if (*buf == NULL) {
        return RR_ENOMEM;
    }
    size_t packed = protobuf_c_message_pack(msg, *buf);
    assert(packed == *size);
    (void) packed;
    return RR_OK;
}

rr_status
rr_wire_pack(const ProtobufCMessage *msg, zmq_msg_t *out)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (zmq_msg_init_size(out, size) != 0) {
        rr_log_error("zmq_msg_init_size(%zu) failed: %s", size, zmq_strerror(errno));
        return RR_ENOMEM;
    }
    size_t packed = protobuf_c_message_pack(msg, zmq_msg_data(out));
    assert(packed == size);
    (void) packed;
    return RR_OK;
}

void
rr_wire_error_fill(Rr__V1__Error *pb, rr_wire_error *err)
{
    rr__v1__error__init(pb);
    pb->code = (Rr__V1__Status) err->code;
    pb->field = err->field;
    pb->message = err->message;
}

rr_status
rr_wire_pack_submit_refusal(const char *request_id, Rr__V1__Outcome outcome, rr_wire_error *err,
                            uint32_t retry_after_ms, zmq_msg_t *out)
{
    Rr__V1__SubmitReply reply = RR__V1__SUBMIT_REPLY__INIT;
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    reply.request_id = (char *) (request_id ? request_id : "");
    reply.outcome = outcome;
    reply.error = &pb_err;
    reply.retry_after_ms = (outcome == RR__V1__OUTCOME__OUTCOME_BUSY) ? retry_after_ms : 0;
    return rr_wire_pack(&reply.base, out);
}

rr_status
rr_wire_pack_status_refusal(const char *query_id, rr_wire_error *err, zmq_msg_t *out)
{
    Rr__V1__StatusReply reply = RR__V1__STATUS_REPLY__INIT;
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    reply.query_id = (char *) (query_id ? query_id : "");
    reply.status = (Rr__V1__Status) err->code;
    reply.error = &pb_err;
    return rr_wire_pack(&reply.base, out);
}

rr_status
rr_wire_pack_update_refusal(const char *update_id, rr_wire_error *err, zmq_msg_t *out)
{
    Rr__V1__UpdateReply reply = RR__V1__UPDATE_REPLY__INIT;
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    reply.update_id = (char *) (update_id ? update_id : "");
    reply.status = (Rr__V1__Status) err->code;
    reply.error = &pb_err;
    return rr_wire_pack(&reply.base, out);
}

rr_status
rr_wire_pack_follow_refusal(const char *query_id, rr_wire_error *err, zmq_msg_t *out)
{
    Rr__V1__FollowReply reply = RR__V1__FOLLOW_REPLY__INIT;
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    reply.query_id = (char *) (query_id ? query_id : "");
    reply.status = (Rr__V1__Status) err->code;
    reply.error = &pb_err;
    return rr_wire_pack(&reply.base, out);
}

rr_status
rr_wire_update_reply_unpack(const void *data, size_t size, Rr__V1__UpdateReply **out)
{
    *out = rr__v1__update_reply__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_follow_reply_unpack(const void *data, size_t size, Rr__V1__FollowReply **out)
{
    *out = rr__v1__follow_reply__unpack(NULL, size, data);
    return *out ? RR_OK : RR_EPROTO;
}

rr_status
rr_wire_pack_error_reply(const char *correlation_id, rr_wire_error *err, zmq_msg_t *out)
{
    Rr__V1__ErrorReply reply = RR__V1__ERROR_REPLY__INIT;
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    reply.correlation_id = (char *) (correlation_id ? correlation_id : "");
    reply.error = &pb_err;
    return rr_wire_pack(&reply.base, out);
}
