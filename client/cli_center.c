// The center client: a DEALER socket used request by request (the Lazy
// Pirate pattern). Each request names itself in the correlation frame (its
// request_id, update_id or query_id), so answers to earlier attempts are
// skipped by that name, and a request that breaks a documented limit is
// refused here, with the broker's own typed error, before it is sent.
#define RR_LOG_MODULE "client"
#include "cli_center.h"
#include "rr_format.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "rr_wire.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENDPOINTS 16

struct cli_center {
    void *ctx;
    void *socket;
    void *monitor;     // PAIR: the socket's failed-authentication events (CURVE)
    unsigned monitors; // monitor endpoints used, for unique names
    rr_curve_client curve;
    char *endpoints[MAX_ENDPOINTS]; // owned
    size_t count;
    size_t current;
    unsigned long tokens; // correlation tokens made for requests without an id
};

static void
close_socket(cli_center *self)
{
    if (self->monitor != NULL) {
        zmq_close(self->monitor);
        self->monitor = NULL;
        (void) zmq_socket_monitor(self->socket, NULL, 0);
    }
    if (self->socket != NULL) {
        zmq_close(self->socket);
        self->socket = NULL;
    }
}

static rr_status
open_socket(cli_center *self)
{
    close_socket(self);
    self->socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (self->socket == NULL) {
        rr_log_error("zmq_socket failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    int linger = 0;
    int64_t maxmsg = RR_WIRE_MAX_MESSAGE_BYTES; // an answer is at most what a worker may send
    if (zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        rr_log_error("zmq_setsockopt failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    char why[256];
    if (rr_curve_client_apply(&self->curve, self->socket, why, sizeof why) != RR_OK) {
        rr_log_error("%s", why);
        return RR_EIO;
    }
    if (self->curve.on) {
        // A broker that refuses our key says so only in the handshake:
        // watch for it, so that a refusal is an answer, not a silence.
        char ep[64];
        if (rr_format_exact(ep, sizeof ep, "inproc://cli-center-%p-%u", (void *) self,
                            self->monitors++) != RR_OK ||
            zmq_socket_monitor(self->socket, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
            (self->monitor = zmq_socket(self->ctx, ZMQ_PAIR)) == NULL ||
            zmq_connect(self->monitor, ep) != 0) {
            rr_log_error("cannot monitor the broker connection: %s", zmq_strerror(errno));
            return RR_EIO;
        }
    }
    if (zmq_connect(self->socket, self->endpoints[self->current]) != 0) {
        rr_log_error("cannot connect to \"%s\": %s", self->endpoints[self->current],
                     zmq_strerror(errno));
        return RR_EIO;
    }
    return RR_OK;
}

cli_center *
cli_center_new(const char *const *endpoints, size_t count)
{
    assert(count >= 1);
    cli_center *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return NULL;
    }
    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        rr_log_error("zmq_ctx_new failed: %s", zmq_strerror(errno));
        cli_center_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < count && i < MAX_ENDPOINTS; i++) {
        self->endpoints[i] = strdup(endpoints[i]);
        if (self->endpoints[i] == NULL) {
            cli_center_destroy(&self);
            return NULL;
        }
        self->count++;
    }
    if (open_socket(self) != RR_OK) {
        cli_center_destroy(&self);
        return NULL;
    }
    return self;
}

rr_status
cli_center_set_curve(cli_center *self, const rr_curve_client *curve)
{
    self->curve = *curve;
    return open_socket(self);
}

void
cli_center_destroy(cli_center **self_p)
{
    assert(self_p != NULL);
    cli_center *self = *self_p;
    if (self == NULL) {
        return;
    }
    close_socket(self);
    for (size_t i = 0; i < self->count; i++) {
        free(self->endpoints[i]);
    }
    if (self->ctx != NULL) {
        zmq_ctx_term(self->ctx);
    }
    free(self);
    *self_p = NULL;
}

// Sends one request. A fresh socket queues it for the connection to come,
// but a socket whose connection failed (a refused handshake) has nowhere to
// queue: the send then waits at most timeout_ms (RR_ETIMEDOUT).
static rr_status
send_request(cli_center *self, uint8_t command, const char *correlation, const void *body,
             size_t size, long timeout_ms)
{
    int sndtimeo = timeout_ms > 0 && timeout_ms < 2000000000L ? (int) timeout_ms : -1;
    if (zmq_setsockopt(self->socket, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) != 0) {
        rr_log_error("zmq_setsockopt(ZMQ_SNDTIMEO) failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    rr_status st = rr_wire_send_call(self->socket, 0, command, correlation, body, size);
    return st == RR_EAGAIN ? RR_ETIMEDOUT : st; // nothing sent: no message cut short
}

// Waits until deadline for one well-formed answer; RR_ETIMEDOUT if none.
// answer is initialised here; on RR_OK the caller closes it.
static rr_status
recv_answer(cli_center *self, int64_t deadline, rr_wire_call *answer)
{
    rr_wire_call_init(answer);
    for (;;) {
        int64_t left = deadline - rr_clock_mono_ms();
        if (left <= 0) {
            return RR_ETIMEDOUT;
        }
        zmq_pollitem_t items[] = {{self->socket, 0, ZMQ_POLLIN, 0},
                                  {self->monitor, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, self->monitor ? 2 : 1, (long) left);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            rr_log_error("zmq_poll failed: %s", zmq_strerror(errno));
            return RR_EIO;
        }
        if (rc == 0) {
            continue;
        }
        if (self->monitor != NULL && (items[1].revents & ZMQ_POLLIN)) {
            rr_frames ev;
            if (rr_frames_recv(self->monitor, &ev, ZMQ_DONTWAIT) == RR_OK) {
                uint16_t event = 0;
                if (ev.count >= 1 && rr_frames_size(&ev, 0) >= sizeof event) {
                    memcpy(&event, rr_frames_data(&ev, 0), sizeof event);
                }
                bool refused = (event & ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0;
                rr_frames_close(&ev);
                if (refused) {
                    rr_log_error("the broker at %s refused our key",
                                 self->endpoints[self->current]);
                    return RR_EPERM;
                }
            }
        }
        if (!(items[0].revents & ZMQ_POLLIN)) {
            continue;
        }
        rr_wire_error err;
        rr_status st = rr_wire_recv_answer(self->socket, ZMQ_DONTWAIT, answer, &err);
        if (st == RR_EAGAIN) {
            continue;
        }
        if (st == RR_EPROTO && answer->version == 1) {
            // An older broker (or one mid-upgrade): nothing it says can be
            // matched to our requests, so stop rather than time out.
            rr_log_error("the broker at %s speaks protocol version 1 (RRC1); this client speaks "
                         "RRC2",
                         self->endpoints[self->current]);
            rr_wire_call_close(answer);
            return RR_EPROTO;
        }
        if (st == RR_EPROTO) {
            rr_log_warn("malformed answer from the broker ignored: %s", err.message);
            rr_wire_call_close(answer);
            continue;
        }
        return st;
    }
}

static void
next_endpoint(cli_center *self)
{
    self->current = (self->current + 1) % self->count;
    if (open_socket(self) != RR_OK) {
        rr_log_error("could not reopen the broker connection");
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

// Sends one attempt of a request and waits until timeout_ms for its answer:
// the one that names the same correlation (an ERROR the broker could not
// name counts too). On RR_OK *answer holds it (caller closes it). On
// RR_ETIMEDOUT the socket is replaced by one to the next endpoint, ready
// for the next attempt.
static rr_status
attempt(cli_center *self, uint8_t command, const char *correlation, const void *buf, size_t size,
        long timeout_ms, rr_wire_call *answer)
{
    rr_wire_call_init(answer);
    if (self->socket == NULL && open_socket(self) != RR_OK) {
        return RR_EIO;
    }
    rr_status st = send_request(self, command, correlation, buf, size, timeout_ms);
    if (st == RR_ETIMEDOUT) {
        rr_log_warn("could not send to %s within %ld ms", self->endpoints[self->current],
                    timeout_ms);
        next_endpoint(self);
    }
    if (st != RR_OK) {
        return st;
    }
    int64_t deadline = rr_clock_mono_ms() + timeout_ms;
    for (;;) {
        st = recv_answer(self, deadline, answer);
        if (st != RR_OK) {
            if (st == RR_ETIMEDOUT) {
                rr_log_warn("no answer from %s within %ld ms", self->endpoints[self->current],
                            timeout_ms);
            }
            if (st == RR_ETIMEDOUT || st == RR_EPERM || st == RR_EPROTO) {
                next_endpoint(self); // a fresh socket for the next attempt or call
            }
            return st;
        }
        if (strcmp(answer->correlation, correlation) == 0 ||
            (answer->command == RR_CMD_ERROR && answer->correlation[0] == '\0')) {
            return RR_OK;
        }
        rr_wire_call_close(answer); // the answer to an earlier attempt
    }
}

rr_status
cli_center_call_raw(cli_center *self, uint8_t command, const char *correlation, const void *body,
                    size_t size, long timeout_ms, rr_wire_call *answer)
{
    return attempt(self, command, correlation, body, size, timeout_ms, answer);
}

// Turns a broker ERROR answer into err.
static rr_status
protocol_refusal(zmq_msg_t *body, rr_wire_error *err)
{
    Rr__V1__ErrorReply *er = NULL;
    if (rr_wire_unpack(zmq_msg_data(body), zmq_msg_size(body), &er, NULL) == RR_OK &&
        er->error != NULL) {
        (void) rr_wire_fail(err, (rr_status) er->error->code, er->error->field, "%s",
                            er->error->message);
    } else {
        (void) rr_wire_fail(err, RR_EPROTO, "", "broker refused the request");
    }
    if (er != NULL) {
        rr_wire_free(er);
    }
    return RR_EPROTO;
}

static const char *
unreachable(rr_status st)
{
    switch (st) {
    case RR_EPERM:
        return "the broker refused this key: it is not registered, or was revoked";
    case RR_EPROTO:
        return "the broker speaks protocol version 1 (RRC1): this client needs a broker that "
               "speaks RRC2";
    default:
        return "could not reach the broker";
    }
}

// The checks the broker and the worker would apply, applied before sending:
// the body's size, then the command's own field checks (rr_wire's unpack on
// the packed bytes). RR_OK, or the typed refusal in err.
static rr_status
precheck(uint8_t command, const uint8_t *buf, size_t size, rr_wire_error *err)
{
    if (size > RR_WIRE_MAX_BODY_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %d", size,
                            RR_WIRE_MAX_BODY_BYTES);
    }
    const ProtobufCMessageDescriptor *d = rr_wire_request_type(command);
    if (d == NULL) {
        return RR_OK;
    }
    ProtobufCMessage *m = NULL;
    rr_status st = rr_wire_unpack_as(d, buf, size, &m, err);
    rr_wire_free(m);
    return st;
}

rr_status
cli_center_submit(cli_center *self, const Rr__V1__SubmitRequest *req, long timeout_ms, int attempts,
                  Rr__V1__SubmitReply **reply_p, rr_wire_error *err)
{
    *reply_p = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    if (rr_wire_pack_buffer(&req->base, &buf, &size) != RR_OK) {
        return rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
    }
    const char *id = req->request_id ? req->request_id : "";
    rr_wire_error local;
    // The fields first, so that an over-long note is named as such.
    if (rr_wire_submit_check(req, NULL, &local) != RR_OK ||
        precheck(RR_CMD_SUBMIT, buf, size, &local) != RR_OK) {
        // Refused here, as the broker would: rejected, with the field at fault.
        free(buf);
        zmq_msg_t body;
        bool id_ok = strlen(id) <= RR_WIRE_MAX_CORRELATION;
        if (rr_wire_pack_refusal(RR_CMD_SUBMIT, id_ok ? id : "", RR__V1__OUTCOME__OUTCOME_REJECTED,
                                 0, &local, &body) != RR_OK) {
            return rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
        }
        rr_status st = rr_wire_unpack(zmq_msg_data(&body), zmq_msg_size(&body), reply_p, NULL);
        rr_msg_close(&body);
        return st == RR_OK ? RR_OK : rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
    }
    rr_status result = rr_wire_fail(err, RR_ETIMEDOUT, "", "no answer from any broker");
    for (int n = 1; n <= attempts; n++) {
        rr_wire_call answer;
        rr_status st = attempt(self, RR_CMD_SUBMIT, id, buf, size, timeout_ms, &answer);
        if (st == RR_ETIMEDOUT) {
            continue;
        }
        if (st != RR_OK) {
            result = rr_wire_fail(err, st, "", "%s", unreachable(st));
            break;
        }
        if (answer.command != RR_CMD_SUBMIT) {
            result = answer.command == RR_CMD_ERROR
                         ? protocol_refusal(&answer.body, err)
                         : rr_wire_fail(err, RR_EPROTO, "", "unexpected answer 0x%02x to SUBMIT",
                                        answer.command);
            rr_wire_call_close(&answer);
            break;
        }
        if (*reply_p != NULL) {
            rr_wire_free(*reply_p);
            *reply_p = NULL;
        }
        st = rr_wire_unpack(zmq_msg_data(&answer.body), zmq_msg_size(&answer.body), reply_p, NULL);
        rr_wire_call_close(&answer);
        if (st != RR_OK) {
            result = rr_wire_fail(err, RR_EPROTO, "", "malformed SubmitReply from the broker");
            break;
        }
        result = RR_OK;
        if ((*reply_p)->outcome != RR__V1__OUTCOME__OUTCOME_BUSY || n == attempts) {
            break;
        }
        long wait = (*reply_p)->retry_after_ms ? (long) (*reply_p)->retry_after_ms : 500;
        sleep_ms(wait > 10000 ? 10000 : wait);
    }
    if (result != RR_OK && *reply_p != NULL) {
        rr_wire_free(*reply_p);
        *reply_p = NULL;
    }
    free(buf);
    return result;
}

// The status field every StatusReply, UpdateReply, FollowReply and InboxReply carries
// (their shared ReplyHead).
static Rr__V1__Status
reply_status(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "status");
    assert(f != NULL && f->type == PROTOBUF_C_TYPE_ENUM);
    Rr__V1__Status status;
    memcpy(&status, (const char *) m + f->offset, sizeof status);
    return status;
}

// The broker's retry-after hint in a busy StatusReply, UpdateReply,
// FollowReply or InboxReply (field 15 of each); 0 when it gave none.
static uint32_t
reply_retry_after(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "retry_after_ms");
    uint32_t ms = 0;
    if (f != NULL && f->type == PROTOBUF_C_TYPE_UINT32) {
        memcpy(&ms, (const char *) m + f->offset, sizeof ms);
    }
    return ms;
}

// True for answers that may change on a retry: queue full, broker stopping,
// database away, no worker in time.
static bool
transient(Rr__V1__Status status)
{
    switch ((int) status) {
    case RR_EAGAIN:
    case RR_EDB:
    case RR_ETIMEDOUT:
    case RR_ESHUTDOWN:
    case RR_EBUSY:
    case RR_EUNAVAIL:
        return true;
    default:
        return false;
    }
}

// Packs msg and sends it as kind's command until its answer comes, retrying
// on silence and on transient statuses while attempts remain; unpacks the
// last answer into *reply_p. id (may be empty: a token is made) names the
// request in the correlation frame.
static rr_status
call(cli_center *self, uint8_t command, const ProtobufCMessage *msg, const char *id,
     long timeout_ms, int attempts, ProtobufCMessage **reply_p, rr_wire_error *err)
{
    *reply_p = NULL;
    const ProtobufCMessageDescriptor *answer_type = rr_wire_answer_type(command);
    uint8_t *buf = NULL;
    size_t size = 0;
    if (rr_wire_pack_buffer(msg, &buf, &size) != RR_OK) {
        return rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
    }
    char correlation[RR_WIRE_MAX_CORRELATION + 1];
    if (id != NULL && id[0] != '\0' && strlen(id) <= RR_WIRE_MAX_CORRELATION) {
        rr_format_fits(correlation, sizeof correlation, "%s", id);
    } else {
        rr_format_fits(correlation, sizeof correlation, "q-%lu", ++self->tokens);
    }
    rr_wire_error local;
    if (precheck(command, buf, size, &local) != RR_OK) {
        free(buf);
        zmq_msg_t body;
        if (rr_wire_pack_refusal(command, id && strlen(id) <= RR_WIRE_MAX_CORRELATION ? id : "", 0,
                                 0, &local, &body) != RR_OK) {
            return rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
        }
        rr_status st =
            rr_wire_unpack_as(answer_type, zmq_msg_data(&body), zmq_msg_size(&body), reply_p, NULL);
        rr_msg_close(&body);
        return st == RR_OK ? RR_OK : rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
    }
    rr_status result = rr_wire_fail(err, RR_ETIMEDOUT, "", "no answer from any broker");
    for (int n = 1; n <= attempts; n++) {
        rr_wire_call answer;
        rr_status st = attempt(self, command, correlation, buf, size, timeout_ms, &answer);
        if (st == RR_ETIMEDOUT) {
            continue;
        }
        if (st != RR_OK) {
            result = rr_wire_fail(err, st, "", "%s", unreachable(st));
        } else if (answer.command != command) {
            result =
                answer.command == RR_CMD_ERROR
                    ? protocol_refusal(&answer.body, err)
                    : rr_wire_fail(err, RR_EPROTO, "", "unexpected answer 0x%02x", answer.command);
            rr_wire_call_close(&answer);
        } else {
            rr_wire_free(*reply_p);
            *reply_p = NULL;
            st = rr_wire_unpack_as(answer_type, zmq_msg_data(&answer.body),
                                   zmq_msg_size(&answer.body), reply_p, NULL);
            rr_wire_call_close(&answer);
            if (st != RR_OK) {
                result = rr_wire_fail(err, RR_EPROTO, "", "malformed answer from the broker");
                break;
            }
            result = RR_OK;
            if (transient(reply_status(*reply_p)) && n < attempts) {
                long wait = (long) reply_retry_after(*reply_p);
                sleep_ms(wait == 0 ? 500 : wait > 10000 ? 10000 : wait);
                continue;
            }
        }
        break;
    }
    if (result != RR_OK && *reply_p != NULL) {
        rr_wire_free(*reply_p); // a transient answer, then a failure: nothing to hand out
        *reply_p = NULL;
    }
    free(buf);
    return result;
}

rr_status
cli_center_status(cli_center *self, const Rr__V1__StatusQuery *query, long timeout_ms, int attempts,
                  Rr__V1__StatusReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st =
        call(self, RR_CMD_STATUS, &query->base, query->query_id, timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__StatusReply *) reply; // rr_wire_answer_type(RR_CMD_STATUS)
    return st;
}

rr_status
cli_center_update(cli_center *self, const Rr__V1__UpdateRequest *update, long timeout_ms,
                  int attempts, Rr__V1__UpdateReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = call(self, RR_CMD_UPDATE, &update->base, update->update_id, timeout_ms, attempts,
                        &reply, err);
    *reply_p = (Rr__V1__UpdateReply *) reply; // rr_wire_answer_type(RR_CMD_UPDATE)
    return st;
}

rr_status
cli_center_follow(cli_center *self, const Rr__V1__FollowRequest *follow, long timeout_ms,
                  int attempts, Rr__V1__FollowReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = call(self, RR_CMD_FOLLOW, &follow->base, follow->query_id, timeout_ms, attempts,
                        &reply, err);
    *reply_p = (Rr__V1__FollowReply *) reply; // rr_wire_answer_type(RR_CMD_FOLLOW)
    return st;
}

rr_status
cli_center_inbox(cli_center *self, const Rr__V1__InboxRequest *inbox, long timeout_ms, int attempts,
                 Rr__V1__InboxReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st =
        call(self, RR_CMD_INBOX, &inbox->base, inbox->query_id, timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__InboxReply *) reply; // rr_wire_answer_type(RR_CMD_INBOX)
    return st;
}

rr_status
cli_center_donate(cli_center *self, const Rr__V1__DonateRequest *donation, long timeout_ms,
                  int attempts, Rr__V1__DonateReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = call(self, RR_CMD_DONATE, &donation->base, donation->donation_id, timeout_ms,
                        attempts, &reply, err);
    *reply_p = (Rr__V1__DonateReply *) reply; // rr_wire_answer_type(RR_CMD_DONATE)
    return st;
}

rr_status
cli_center_call(cli_center *self, uint8_t command, const ProtobufCMessage *msg, const char *id,
                long timeout_ms, int attempts, ProtobufCMessage **reply_p, rr_wire_error *err)
{
    return call(self, command, msg, id, timeout_ms, attempts, reply_p, err);
}
