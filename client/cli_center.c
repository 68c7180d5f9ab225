// The center client: a DEALER socket used request by request (the Lazy
// Pirate pattern), with stale answers to earlier attempts skipped by their
// request_id or query_id.
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
    int64_t maxmsg = (int64_t) 4 * 1024 * 1024;
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
send_request(cli_center *self, uint8_t command, const void *body, size_t size, long timeout_ms)
{
    int sndtimeo = timeout_ms > 0 && timeout_ms < 2000000000L ? (int) timeout_ms : -1;
    if (zmq_setsockopt(self->socket, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) != 0) {
        rr_log_error("zmq_setsockopt(ZMQ_SNDTIMEO) failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    if (zmq_send(self->socket, "", 0, ZMQ_SNDMORE) < 0) {
        if (errno == EAGAIN) {
            return RR_ETIMEDOUT; // nothing sent: no message cut short
        }
        rr_log_error("zmq_send failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    // The first frame went into a pipe: the others of the message follow it.
    if (zmq_send(self->socket, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->socket, &command, 1, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->socket, body, size, 0) < 0) {
        rr_log_error("zmq_send failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    return RR_OK;
}

// Waits until deadline for one well-formed answer; RR_ETIMEDOUT if none.
static rr_status
recv_answer(cli_center *self, int64_t deadline, uint8_t *command, zmq_msg_t *body)
{
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
        rr_frames f;
        rr_status st = rr_frames_recv(self->socket, &f, ZMQ_DONTWAIT);
        if (st == RR_EAGAIN) {
            continue;
        }
        if (st != RR_OK) {
            return st;
        }
        if (f.too_many || f.count != 4 || rr_frames_size(&f, 0) != 0 ||
            !rr_frames_equal(&f, 1, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN) ||
            rr_frames_size(&f, 2) != 1) {
            rr_log_warn("malformed answer from broker ignored");
            rr_frames_close(&f);
            continue;
        }
        *command = *(const uint8_t *) rr_frames_data(&f, 2);
        rr_msg_move(body, &f.part[3]);
        rr_frames_close(&f);
        return RR_OK;
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

rr_status
cli_center_call_raw(cli_center *self, uint8_t command, const void *body, size_t size,
                    long timeout_ms, uint8_t *answer_command, zmq_msg_t *answer)
{
    if (self->socket == NULL && open_socket(self) != RR_OK) {
        return RR_EIO;
    }
    rr_status st = send_request(self, command, body, size, timeout_ms);
    if (st == RR_ETIMEDOUT) {
        next_endpoint(self);
    }
    if (st != RR_OK) {
        return st;
    }
    int rc = zmq_msg_init(answer);
    assert(rc == 0);
    (void) rc;
    st = recv_answer(self, rr_clock_mono_ms() + timeout_ms, answer_command, answer);
    if (st != RR_OK) {
        rr_msg_close(answer);
    }
    return st;
}

// Turns a broker ERROR answer into err.
static rr_status
protocol_refusal(zmq_msg_t *body, rr_wire_error *err)
{
    Rr__V1__ErrorReply *er = NULL;
    if (rr_wire_error_reply_unpack(zmq_msg_data(body), zmq_msg_size(body), &er) == RR_OK &&
        er->error != NULL) {
        (void) rr_wire_fail(err, (rr_status) er->error->code, er->error->field, "%s",
                            er->error->message);
    } else {
        (void) rr_wire_fail(err, RR_EPROTO, "", "broker refused the request");
    }
    if (er != NULL) {
        rr__v1__error_reply__free_unpacked(er, NULL);
    }
    return RR_EPROTO;
}

// Decides whether an answer body belongs to the request being waited for;
// answers to earlier requests on the same socket are skipped.
typedef bool (*answer_match)(uint8_t command, zmq_msg_t *body, const void *ctx);

// Sends one attempt of a request and waits until timeout_ms for its answer
// (an ERROR answer always counts). On RR_OK *answer holds the body (caller
// closes it). On RR_ETIMEDOUT the socket is replaced by one to the next
// endpoint, ready for the next attempt.
static rr_status
attempt(cli_center *self, uint8_t command, const uint8_t *buf, size_t size, long timeout_ms,
        answer_match match, const void *ctx, uint8_t *answer_command, zmq_msg_t *answer)
{
    if (self->socket == NULL && open_socket(self) != RR_OK) {
        return RR_EIO;
    }
    rr_status st = send_request(self, command, buf, size, timeout_ms);
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
        int rc = zmq_msg_init(answer);
        assert(rc == 0);
        (void) rc;
        st = recv_answer(self, deadline, answer_command, answer);
        if (st != RR_OK) {
            rr_msg_close(answer);
            if (st == RR_ETIMEDOUT) {
                rr_log_warn("no answer from %s within %ld ms", self->endpoints[self->current],
                            timeout_ms);
            }
            if (st == RR_ETIMEDOUT || st == RR_EPERM) {
                next_endpoint(self); // a fresh socket for the next attempt or call
            }
            return st;
        }
        if (*answer_command == RR_CMD_ERROR || match(*answer_command, answer, ctx)) {
            return RR_OK;
        }
        rr_msg_close(answer);
    }
}

static const char *
unreachable(rr_status st)
{
    return st == RR_EPERM ? "the broker refused this key: it is not registered, or was revoked"
                          : "could not reach the broker";
}

static bool
match_submit(uint8_t command, zmq_msg_t *body, const void *ctx)
{
    const char *request_id = ctx;
    Rr__V1__SubmitReply *reply = NULL;
    if (command != RR_CMD_SUBMIT ||
        rr_wire_submit_reply_unpack(zmq_msg_data(body), zmq_msg_size(body), &reply) != RR_OK) {
        return false;
    }
    bool ours = strcmp(reply->request_id, request_id) == 0;
    rr__v1__submit_reply__free_unpacked(reply, NULL);
    return ours;
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
    rr_status result = rr_wire_fail(err, RR_ETIMEDOUT, "", "no answer from any broker");
    for (int n = 1; n <= attempts; n++) {
        uint8_t cmd = 0;
        zmq_msg_t body;
        rr_status st = attempt(self, RR_CMD_SUBMIT, buf, size, timeout_ms, match_submit,
                               req->request_id, &cmd, &body);
        if (st == RR_ETIMEDOUT) {
            continue;
        }
        if (st != RR_OK) {
            result = rr_wire_fail(err, st, "", "%s", unreachable(st));
            break;
        }
        if (cmd == RR_CMD_ERROR) {
            result = protocol_refusal(&body, err);
            rr_msg_close(&body);
            break;
        }
        if (*reply_p != NULL) {
            rr__v1__submit_reply__free_unpacked(*reply_p, NULL);
        }
        st = rr_wire_submit_reply_unpack(zmq_msg_data(&body), zmq_msg_size(&body), reply_p);
        rr_msg_close(&body);
        assert(st == RR_OK); // match_submit unpacked it already
        (void) st;
        result = RR_OK;
        if ((*reply_p)->outcome != RR__V1__OUTCOME__OUTCOME_BUSY || n == attempts) {
            break;
        }
        long wait = (*reply_p)->retry_after_ms ? (long) (*reply_p)->retry_after_ms : 500;
        sleep_ms(wait > 10000 ? 10000 : wait);
    }
    free(buf);
    return result;
}

// Answer types other than SubmitReply share one retry loop: a typed
// unpacker, its status, correlation id and free functions.
typedef struct answer_kind {
    uint8_t command;
    rr_status (*unpack)(const void *data, size_t size, void **out);
    Rr__V1__Status (*status)(const void *msg);
    const char *(*correlation)(const void *msg);
    void (*release)(void *msg);
} answer_kind;

static rr_status
unpack_status(const void *data, size_t size, void **out)
{
    return rr_wire_status_reply_unpack(data, size, (Rr__V1__StatusReply **) out);
}

static Rr__V1__Status
status_of_status(const void *m)
{
    return ((const Rr__V1__StatusReply *) m)->status;
}

static const char *
id_of_status(const void *m)
{
    return ((const Rr__V1__StatusReply *) m)->query_id;
}

static void
free_status(void *m)
{
    rr__v1__status_reply__free_unpacked(m, NULL);
}

static rr_status
unpack_update(const void *data, size_t size, void **out)
{
    return rr_wire_update_reply_unpack(data, size, (Rr__V1__UpdateReply **) out);
}

static Rr__V1__Status
status_of_update(const void *m)
{
    return ((const Rr__V1__UpdateReply *) m)->status;
}

static const char *
id_of_update(const void *m)
{
    return ((const Rr__V1__UpdateReply *) m)->update_id;
}

static void
free_update(void *m)
{
    rr__v1__update_reply__free_unpacked(m, NULL);
}

static rr_status
unpack_follow(const void *data, size_t size, void **out)
{
    return rr_wire_follow_reply_unpack(data, size, (Rr__V1__FollowReply **) out);
}

static Rr__V1__Status
status_of_follow(const void *m)
{
    return ((const Rr__V1__FollowReply *) m)->status;
}

static const char *
id_of_follow(const void *m)
{
    return ((const Rr__V1__FollowReply *) m)->query_id;
}

static void
free_follow(void *m)
{
    rr__v1__follow_reply__free_unpacked(m, NULL);
}

static const answer_kind STATUS_ANSWER = {RR_CMD_STATUS, unpack_status, status_of_status,
                                          id_of_status, free_status};
static const answer_kind UPDATE_ANSWER = {RR_CMD_UPDATE, unpack_update, status_of_update,
                                          id_of_update, free_update};
static const answer_kind FOLLOW_ANSWER = {RR_CMD_FOLLOW, unpack_follow, status_of_follow,
                                          id_of_follow, free_follow};

typedef struct match_ctx {
    const answer_kind *kind;
    const char *id;
} match_ctx;

static bool
match_answer(uint8_t command, zmq_msg_t *body, const void *ctx)
{
    const match_ctx *m = ctx;
    void *msg = NULL;
    if (command != m->kind->command ||
        m->kind->unpack(zmq_msg_data(body), zmq_msg_size(body), &msg) != RR_OK) {
        return false;
    }
    bool ours = strcmp(m->kind->correlation(msg), m->id) == 0;
    m->kind->release(msg);
    return ours;
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

// Packs msg and sends it as kind's command until a matching answer comes,
// retrying on silence and on transient statuses while attempts remain;
// unpacks the last answer into *reply_p.
static rr_status
call(cli_center *self, const answer_kind *kind, const ProtobufCMessage *msg, const char *id,
     long timeout_ms, int attempts, void **reply_p, rr_wire_error *err)
{
    *reply_p = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    if (rr_wire_pack_buffer(msg, &buf, &size) != RR_OK) {
        return rr_wire_fail(err, RR_ENOMEM, "", "out of memory");
    }
    match_ctx ctx = {kind, id ? id : ""};
    rr_status result = rr_wire_fail(err, RR_ETIMEDOUT, "", "no answer from any broker");
    for (int n = 1; n <= attempts; n++) {
        uint8_t cmd = 0;
        zmq_msg_t body;
        rr_status st =
            attempt(self, kind->command, buf, size, timeout_ms, match_answer, &ctx, &cmd, &body);
        if (st == RR_ETIMEDOUT) {
            continue;
        }
        if (st != RR_OK) {
            result = rr_wire_fail(err, st, "", "%s", unreachable(st));
        } else if (cmd == RR_CMD_ERROR) {
            result = protocol_refusal(&body, err);
            rr_msg_close(&body);
        } else {
            if (*reply_p != NULL) {
                kind->release(*reply_p);
                *reply_p = NULL;
            }
            st = kind->unpack(zmq_msg_data(&body), zmq_msg_size(&body), reply_p);
            rr_msg_close(&body);
            assert(st == RR_OK); // match_answer unpacked it already
            (void) st;
            result = RR_OK;
            if (transient(kind->status(*reply_p)) && n < attempts) {
                sleep_ms(500);
                continue;
            }
        }
        break;
    }
    if (result != RR_OK && *reply_p != NULL) {
        kind->release(*reply_p); // a transient answer, then a failure: nothing to hand out
        *reply_p = NULL;
    }
    free(buf);
    return result;
}

rr_status
cli_center_status(cli_center *self, const Rr__V1__StatusQuery *query, long timeout_ms, int attempts,
                  Rr__V1__StatusReply **reply_p, rr_wire_error *err)
{
    void *reply = NULL;
    rr_status st = call(self, &STATUS_ANSWER, &query->base, query->query_id, timeout_ms, attempts,
                        &reply, err);
    *reply_p = reply;
    return st;
}

rr_status
cli_center_update(cli_center *self, const Rr__V1__UpdateRequest *update, long timeout_ms,
                  int attempts, Rr__V1__UpdateReply **reply_p, rr_wire_error *err)
{
    void *reply = NULL;
    rr_status st = call(self, &UPDATE_ANSWER, &update->base, update->update_id, timeout_ms,
                        attempts, &reply, err);
    *reply_p = reply;
    return st;
}

rr_status
cli_center_follow(cli_center *self, const Rr__V1__FollowRequest *follow, long timeout_ms,
                  int attempts, Rr__V1__FollowReply **reply_p, rr_wire_error *err)
{
    void *reply = NULL;
    rr_status st = call(self, &FOLLOW_ANSWER, &follow->base, follow->query_id, timeout_ms, attempts,
                        &reply, err);
    *reply_p = reply;
    return st;
}
