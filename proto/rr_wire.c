// Messages <-> bodies: one descriptor-driven unpack (applying the field
// checks of rr_wire_check.c to what peers send), packing, refusals, and the
// C enums tied to their protobuf mirrors.
#define RR_LOG_MODULE "wire"
#include "rr_wire.h"
#include "rr_wire_check.h"

#include "rr_log.h"
#include "rr_vocab.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The C vocabulary is the wire's: every enum equals its generated mirror.
#define SAME(c, pb) _Static_assert((int) (c) == (int) (pb), #c " must equal " #pb)
SAME(RR_OK, RR__V1__STATUS__STATUS_OK);
SAME(RR_EINVAL, RR__V1__STATUS__STATUS_EINVAL);
SAME(RR_ENOMEM, RR__V1__STATUS__STATUS_ENOMEM);
SAME(RR_EAGAIN, RR__V1__STATUS__STATUS_EAGAIN);
SAME(RR_ESTATE, RR__V1__STATUS__STATUS_ESTATE);
SAME(RR_EDB, RR__V1__STATUS__STATUS_EDB);
SAME(RR_ETIMEDOUT, RR__V1__STATUS__STATUS_ETIMEDOUT);
SAME(RR_ESHUTDOWN, RR__V1__STATUS__STATUS_ESHUTDOWN);
SAME(RR_ENOTFOUND, RR__V1__STATUS__STATUS_ENOTFOUND);
SAME(RR_ECONFLICT, RR__V1__STATUS__STATUS_ECONFLICT);
SAME(RR_EBUSY, RR__V1__STATUS__STATUS_EBUSY);
SAME(RR_EPROTO, RR__V1__STATUS__STATUS_EPROTO);
SAME(RR_ETOOBIG, RR__V1__STATUS__STATUS_ETOOBIG);
SAME(RR_EUNAVAIL, RR__V1__STATUS__STATUS_EUNAVAIL);
SAME(RR_EPERM, RR__V1__STATUS__STATUS_EPERM);
SAME(RR_EINTERNAL, RR__V1__STATUS__STATUS_EINTERNAL);
SAME(RR_EIO, RR__V1__STATUS__STATUS_EIO);
SAME(RR_STATUS_MAX, RR__V1__STATUS__STATUS_EIO);
SAME(RR_DOMAIN_NONE, RR__V1__DOMAIN__DOMAIN_UNSPECIFIED);
SAME(RR_DOMAIN_PREVENTION, RR__V1__DOMAIN__DOMAIN_PREVENTION);
SAME(RR_DOMAIN_REHABILITATION, RR__V1__DOMAIN__DOMAIN_REHABILITATION);
SAME(RR_DOMAIN_SOCIAL, RR__V1__DOMAIN__DOMAIN_SOCIAL);
SAME(RR_DOMAIN_COUNT, RR__V1__DOMAIN__DOMAIN_SOCIAL);
SAME(RR_PRIORITY_NONE, RR__V1__PRIORITY__PRIORITY_UNSPECIFIED);
SAME(RR_PRIORITY_ROUTINE, RR__V1__PRIORITY__PRIORITY_ROUTINE);
SAME(RR_PRIORITY_URGENT, RR__V1__PRIORITY__PRIORITY_URGENT);
SAME(RR_PRIORITY_ASAP, RR__V1__PRIORITY__PRIORITY_ASAP);
SAME(RR_PRIORITY_STAT, RR__V1__PRIORITY__PRIORITY_STAT);
SAME(RR_PRIORITY_COUNT, RR__V1__PRIORITY__PRIORITY_STAT);
SAME(RR_RISK_FLAG_COUNT, RR__V1__RISK_FLAG__RISK_FLAG_CHILD_AT_RISK);
SAME(RR_REF_NONE, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_UNSPECIFIED);
SAME(RR_REF_REQUESTED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED);
SAME(RR_REF_RECEIVED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED);
SAME(RR_REF_ACCEPTED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED);
SAME(RR_REF_IN_PROGRESS, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_IN_PROGRESS);
SAME(RR_REF_ON_HOLD, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ON_HOLD);
SAME(RR_REF_COMPLETED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_COMPLETED);
SAME(RR_REF_REJECTED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REJECTED);
SAME(RR_REF_FAILED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_FAILED);
SAME(RR_REF_CANCELLED, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED);
SAME(RR_REF_STATE_MAX, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED);
SAME(RR_WIRE_NO_OUTCOME, RR__V1__OUTCOME__OUTCOME_UNSPECIFIED);
SAME(RR_WIRE_MAX_OUTCOME, RR__V1__OUTCOME__OUTCOME_BUSY);
#undef SAME

static bool center_request(const ProtobufCMessageDescriptor *d);

uint32_t
rr_wire_unknown_field(const ProtobufCMessage *m)
{
    return m->n_unknown_fields > 0 ? m->unknown_fields[0].tag : 0;
}

rr_status
rr_wire_unpack_as(const ProtobufCMessageDescriptor *d, const void *data, size_t size, void *out,
                  rr_wire_error *err)
{
    // out points to a pointer to d's message type: all pointers to structs
    // share one representation (C11 6.2.5), and base is the first member.
    ProtobufCMessage *m = NULL;
    memcpy(out, &m, sizeof m); // NOLINT(bugprone-sizeof-expression): the pointer itself
    rr_wire_check_fn check = NULL;
    bool from_peer = rr_wire_peer_message(d, &check);
    if (from_peer && size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    m = protobuf_c_message_unpack(d, NULL, size, data);
    if (m == NULL) {
        return rr_wire_fail(err, RR_EPROTO, "", "malformed %s: not a valid protobuf message",
                            d->short_name);
    }
    memcpy(out, &m, sizeof m); // NOLINT(bugprone-sizeof-expression): the pointer itself
    if (!from_peer) {
        return RR_OK;
    }
    // protobuf-c ends a string at its first NUL: look at the bytes themselves.
    const char *cut = rr_wire_nul_field(d, data, size);
    if (cut != NULL) {
        return rr_wire_fail(err, RR_EINVAL, cut, "field \"%s\" holds a NUL byte", cut);
    }
    // A center's body waits in the broker's queue as it came: a field
    // nobody reads would be memory a center spends at will. (The workers'
    // messages keep theirs: a newer worker may tell an older broker more.)
    uint32_t unknown = center_request(d) ? rr_wire_unknown_field(m) : 0;
    if (unknown != 0) {
        return rr_wire_fail(err, RR_EINVAL, "",
                            "unrecognized field number %u in %s: this version of the protocol "
                            "has no such field",
                            unknown, d->short_name);
    }
    return check != NULL ? check(m, err) : RR_OK;
}

void
rr_wire_free(void *msg)
{
    if (msg != NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
    }
}

rr_status
rr_wire_rules_unpack(const void *data, size_t size, rr_risk_rule *rules, size_t *count)
{
    *count = 0;
    Rr__V1__RiskRules *msg = NULL;
    rr_status unpacked = rr_wire_unpack(data, size, &msg, NULL);
    if (unpacked != RR_OK) {
        rr_wire_free(msg); // kept when only a field check failed
        return unpacked;
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

// Which message a command's body is, which of its fields names it, and
// which message answers it.
typedef struct body_kind {
    uint8_t command;
    const ProtobufCMessageDescriptor *request;
    const char *id_field;
    const ProtobufCMessageDescriptor *answer;
} body_kind;

static const body_kind BODIES[] = {
    {RR_CMD_SUBMIT, &rr__v1__submit_request__descriptor, "request_id",
     &rr__v1__submit_reply__descriptor},
    {RR_CMD_STATUS, &rr__v1__status_query__descriptor, "query_id",
     &rr__v1__status_reply__descriptor},
    {RR_CMD_UPDATE, &rr__v1__update_request__descriptor, "update_id",
     &rr__v1__update_reply__descriptor},
    {RR_CMD_FOLLOW, &rr__v1__follow_request__descriptor, "query_id",
     &rr__v1__follow_reply__descriptor},
    {RR_CMD_INBOX, &rr__v1__inbox_request__descriptor, "query_id",
     &rr__v1__inbox_reply__descriptor},
    {RR_CMD_DONATE, &rr__v1__donate_request__descriptor, "donation_id",
     &rr__v1__donate_reply__descriptor},
    {RR_CMD_PROFILE, &rr__v1__profile_request__descriptor, "update_id",
     &rr__v1__profile_reply__descriptor},
    {RR_CMD_TRUSTEE, &rr__v1__trustee_request__descriptor, "trustee_id",
     &rr__v1__trustee_reply__descriptor},
    {RR_CMD_FINDING, &rr__v1__finding_request__descriptor, "finding_id",
     &rr__v1__finding_reply__descriptor},
    {RR_CMD_RATE, &rr__v1__rate_request__descriptor, "rating_id", &rr__v1__rate_reply__descriptor},
    {RR_CMD_STATS, NULL, NULL, &rr__v1__broker_stats__descriptor},
    {RR_CMD_ERROR, NULL, NULL, &rr__v1__error_reply__descriptor},
};

// A body a center sends: no unknown fields at its top level (wire_unknown_test
// checks). ProfileRequest alone holds messages: its check looks inside them.
static bool
center_request(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < sizeof BODIES / sizeof BODIES[0]; i++) {
        if (BODIES[i].request == d) {
            return true;
        }
    }
    return false;
}

static const body_kind *
body_kind_of(uint8_t command)
{
    for (size_t i = 0; i < sizeof BODIES / sizeof BODIES[0]; i++) {
        if (BODIES[i].command == command) {
            return &BODIES[i];
        }
    }
    return NULL;
}

const ProtobufCMessageDescriptor *
rr_wire_request_type(uint8_t command)
{
    const body_kind *k = body_kind_of(command);
    return k ? k->request : NULL;
}

const ProtobufCMessageDescriptor *
rr_wire_answer_type(uint8_t command)
{
    const body_kind *k = body_kind_of(command);
    return k ? k->answer : NULL;
}

void
rr_wire_body_id(uint8_t command, const void *data, size_t size,
                char out[RR_WIRE_MAX_QUERY_ID_BYTES + 1])
{
    out[0] = '\0';
    const body_kind *k = body_kind_of(command);
    if (k == NULL || k->request == NULL || size > RR_WIRE_MAX_BODY_BYTES) {
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(k->request, NULL, size, data);
    if (m == NULL) {
        return;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(k->request, k->id_field);
    assert(f != NULL && f->type == PROTOBUF_C_TYPE_STRING);
    const char *id = *(char *const *) ((const char *) m + f->offset);
    size_t n = id ? strlen(id) : 0;
    if (n <= RR_WIRE_MAX_QUERY_ID_BYTES) {
        memcpy(out, id ? id : "", n);
        out[n] = '\0';
    }
    protobuf_c_message_free_unpacked(m, NULL);
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

uint8_t
rr_wire_refusal_command(uint8_t command)
{
    switch (command) {
    case RR_CMD_SUBMIT:
    case RR_CMD_STATUS:
    case RR_CMD_UPDATE:
    case RR_CMD_FOLLOW:
    case RR_CMD_INBOX:
    case RR_CMD_DONATE:
    case RR_CMD_PROFILE:
    case RR_CMD_TRUSTEE:
    case RR_CMD_FINDING:
    case RR_CMD_RATE:
        return command;
    default:
        return RR_CMD_ERROR;
    }
}

rr_status
rr_wire_pack_refusal(uint8_t command, const char *id, Rr__V1__Outcome outcome,
                     uint32_t retry_after_ms, rr_wire_error *err, zmq_msg_t *out)
{
    Rr__V1__Error pb_err;
    rr_wire_error_fill(&pb_err, err);
    char *text_id = (char *) (id ? id : "");
    switch (rr_wire_refusal_command(command)) {
    case RR_CMD_SUBMIT: {
        Rr__V1__SubmitReply reply = RR__V1__SUBMIT_REPLY__INIT;
        reply.request_id = text_id;
        reply.outcome = outcome;
        reply.error = &pb_err;
        reply.retry_after_ms = outcome == RR__V1__OUTCOME__OUTCOME_BUSY ? retry_after_ms : 0;
        return rr_wire_pack(&reply.base, out);
    }
    case RR_CMD_ERROR: {
        Rr__V1__ErrorReply reply = RR__V1__ERROR_REPLY__INIT;
        reply.correlation_id = text_id;
        reply.error = &pb_err;
        return rr_wire_pack(&reply.base, out);
    }
    default: { // the other replies (StatusReply ... FindingReply, RateReply): their shared head
        Rr__V1__ReplyHead head = RR__V1__REPLY_HEAD__INIT;
        head.id = text_id;
        head.status = (Rr__V1__Status) err->code;
        head.error = &pb_err;
        head.retry_after_ms = outcome == RR__V1__OUTCOME__OUTCOME_BUSY ? retry_after_ms : 0;
        return rr_wire_pack(&head.base, out);
    }
    }
}
