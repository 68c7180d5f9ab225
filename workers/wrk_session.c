// Broker session of a worker (Majordomo-style worker side, "RRW2").
#define RR_LOG_MODULE "session"
#include "wrk_session.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_log.h"
#include "rr_service.h"
#include "rr_version.h"
#include "rr_wire.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct wrk_session {
    wrk_session_config cfg;
    void *ctx;                             // borrowed
    void *socket;                          // DEALER, owned
    int64_t broker_expiry;                 // broker counts as gone after this (monotonic ms)
    int64_t next_heartbeat;                // monotonic ms
    char host[RR_WIRE_MAX_HOST_BYTES + 1]; // gethostname: at most HOST_NAME_MAX (64)
    uint64_t reconnects;
    rr_risk_rule rules[RR_RISK_MAX_RULES];
    size_t rule_count;
    bool have_rules; // set once the catalogue was loaded
    wrk_session_stats stats;
    wrk_session_brokers brokers; // configured 0: none to report yet
    int64_t next_stats;          // a heartbeat with counters goes out by then, busy or not
    bool heard;                  // a message came on the current socket
};

static rr_status
send_ready(wrk_session *self)
{
    Rr__V1__WorkerReady ready = RR__V1__WORKER_READY__INIT;
    ready.domain = (Rr__V1__Domain) self->cfg.domain;
    ready.credit = self->cfg.credit;
    ready.host = self->host;
    ready.pid = (uint32_t) getpid();
    ready.version = (char *) rr_version_string();
    ready.heartbeat_ms = (uint32_t) self->cfg.heartbeat_ms;
    zmq_msg_t body;
    rr_status st = rr_wire_pack(&ready.base, &body);
    if (st != RR_OK) {
        return st;
    }
    return rr_wire_send_to_broker(self->socket, RR_WCMD_READY, &body);
}

static void
send_rules(wrk_session *self)
{
    if (!self->have_rules || self->socket == NULL) {
        return;
    }
    zmq_msg_t body;
    if (rr_wire_rules_pack(self->rules, self->rule_count, &body) != RR_OK ||
        rr_wire_send_to_broker(self->socket, RR_WCMD_RULES, &body) != RR_OK) {
        rr_log_warn("could not send the risk rules to the broker");
    }
}

void
wrk_session_set_rules(wrk_session *self, const rr_risk_rule *rules, size_t count)
{
    if (count > RR_RISK_MAX_RULES) {
        count = RR_RISK_MAX_RULES;
    }
    memcpy(self->rules, rules, count * sizeof rules[0]);
    self->rule_count = count;
    self->have_rules = true;
    send_rules(self);
}

static rr_status
open_socket(wrk_session *self)
{
    self->socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (self->socket == NULL) {
        rr_log_error("zmq_socket failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    int linger = 0, hwm = 10000;
    int64_t maxmsg = RR_WIRE_MAX_MESSAGE_BYTES;
    if (zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(self->socket, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        rr_log_error("zmq_setsockopt failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    char why[256];
    if (rr_curve_client_apply(&self->cfg.curve, self->socket, why, sizeof why) != RR_OK) {
        rr_log_error("%s", why);
        return RR_EIO;
    }
    if (zmq_connect(self->socket, self->cfg.endpoint) != 0) {
        rr_log_error("cannot connect to broker \"%s\": %s", self->cfg.endpoint,
                     zmq_strerror(errno));
        return RR_EIO;
    }
    int64_t now = rr_clock_mono_ms();
    self->broker_expiry = now + self->cfg.heartbeat_ms * self->cfg.liveness;
    self->next_heartbeat = now + self->cfg.heartbeat_ms;
    self->heard = false;
    // The READY waits in the socket until the connection is up.
    rr_status st = send_ready(self);
    if (st == RR_OK) {
        send_rules(self);
    }
    return st;
}

static void
close_socket(wrk_session *self)
{
    if (self->socket != NULL) {
        zmq_close(self->socket);
        self->socket = NULL;
    }
}

// A fresh socket: the broker restarted or lost us. Requests delivered on the
// old socket and not answered are the broker's to redeliver.
static rr_status
reconnect(wrk_session *self, const char *why)
{
    self->reconnects++;
    rr_log_warn("reconnecting to broker %s: %s", self->cfg.endpoint, why);
    if (self->socket != NULL) {
        // Replies just sent still go out if the old connection lives: the
        // broker then discards them as late, counted, rather than never
        // hearing of them.
        int linger = 200;
        (void) zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    }
    close_socket(self);
    rr_status st = open_socket(self);
    if (st != RR_OK) {
        close_socket(self); // wrk_session_tick tries again
    }
    return st;
}

wrk_session *
wrk_session_new(void *ctx, const wrk_session_config *config)
{
    wrk_session *self = calloc(1, sizeof *self);
    if (self == NULL) {
        rr_log_error("out of memory creating the session");
        return NULL;
    }
    self->cfg = *config;
    self->ctx = ctx;
    if (gethostname(self->host, sizeof self->host) != 0) {
        memcpy(self->host, "unknown", sizeof "unknown");
    }
    self->host[sizeof self->host - 1] = '\0';
    if (open_socket(self) != RR_OK) {
        close_socket(self);
        free(self);
        return NULL;
    }
    rr_log_info("serving %s for broker %s with credit %u", rr_domain_or_any(config->domain),
                config->endpoint, config->credit);
    return self;
}

void
wrk_session_destroy(wrk_session **self_p)
{
    assert(self_p != NULL);
    wrk_session *self = *self_p;
    if (self == NULL) {
        return;
    }
    if (self->socket != NULL) {
        // Tell the broker at once, so it redelivers rather than waits for expiry.
        int linger = 500;
        (void) zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
        if (rr_wire_send_to_broker(self->socket, RR_WCMD_DISCONNECT, NULL) != RR_OK) {
            rr_log_warn("could not tell the broker we are leaving");
        }
    }
    close_socket(self);
    free(self);
    *self_p = NULL;
}

// Handles one message from the broker; appends a job when it is a request.
static void
on_message(wrk_session *self, rr_wire_work *m, wrk_job *jobs, size_t max, size_t *count)
{
    switch (m->command) {
    case RR_WCMD_REQUEST: {
        if (*count >= max) {
            // The broker sent beyond our credit: a bug on its side. Without a
            // reply the request is redelivered when we reconnect.
            rr_log_error("broker exceeded credit %zu: request dropped", max);
            return;
        }
        wrk_job *job = &jobs[(*count)++];
        job->delivery_id = m->delivery_id;
        job->command = m->request;
        job->dead = (m->flags & RR_CMD_DEAD_LETTER_FLAG) != 0;
        job->last_attempt = (m->flags & RR_CMD_LAST_ATTEMPT_FLAG) != 0;
        job->earlier = m->earlier;
        job->failed = false;
        job->outcome = RR_WIRE_NO_OUTCOME;
        memcpy(job->principal, m->principal, sizeof job->principal);
        if (job->principal[0] == '\0' && self->cfg.curve.on) {
            // We authenticate, so the broker does: a request without its
            // sender must not pass as sent by anyone.
            rr_format_fits(job->principal, sizeof job->principal, "unauthenticated:");
        }
        int rc = zmq_msg_init(&job->body);
        assert(rc == 0);
        (void) rc;
        rr_msg_move(&job->body, &m->body);
        return;
    }
    case RR_WCMD_HEARTBEAT:
        return;
    case RR_WCMD_DISCONNECT:
        if (reconnect(self, "the broker asked us to register again") != RR_OK) {
            rr_log_error("could not reconnect to the broker");
        }
        return;
    default:
        rr_log_warn("command 0x%02x from the broker ignored: workers do not take it", m->command);
        return;
    }
}

void *
wrk_session_socket(const wrk_session *self)
{
    return self->socket;
}

const char *
wrk_session_endpoint(const wrk_session *self)
{
    return self->cfg.endpoint;
}

bool
wrk_session_attached(const wrk_session *self)
{
    return self->socket != NULL && self->heard && rr_clock_mono_ms() <= self->broker_expiry;
}

rr_status
wrk_session_drain(wrk_session *self, wrk_job *jobs, size_t max, size_t *count)
{
    *count = 0;
    // Take everything already here, up to max: that is the batch.
    while (self->socket != NULL && *count < max) {
        rr_wire_work m;
        rr_wire_error err;
        rr_status st = rr_wire_recv_work(self->socket, false, ZMQ_DONTWAIT, &m, &err);
        if (st == RR_EAGAIN) {
            break;
        }
        if (st != RR_OK && st != RR_EPROTO) {
            return st;
        }
        self->broker_expiry = rr_clock_mono_ms() + self->cfg.heartbeat_ms * self->cfg.liveness;
        self->heard = true;
        void *before = self->socket;
        if (st == RR_EPROTO) {
            rr_log_warn("malformed message from the broker ignored: %s", err.message);
        } else {
            on_message(self, &m, jobs, max, count);
        }
        rr_wire_work_close(&m);
        if (self->socket != before) {
            break; // reconnected: the old socket is gone
        }
    }
    return RR_OK;
}

void
wrk_session_reply(wrk_session *self, const wrk_job *job, zmq_msg_t *body)
{
    if (self->socket == NULL) {
        rr_msg_close(body);
        rr_log_warn("reply for delivery %llu dropped: no broker connection",
                    (unsigned long long) job->delivery_id);
        return;
    }
    rr_status st = rr_wire_send_reply(self->socket, job->failed ? RR_WCMD_FAILED : RR_WCMD_REPLY,
                                      job->delivery_id, job->outcome, body);
    if (st != RR_OK) {
        rr_log_warn("reply for delivery %llu not sent: %s", (unsigned long long) job->delivery_id,
                    rr_strerror(st));
    } else {
        // Any message to the broker counts as a heartbeat.
        self->next_heartbeat = rr_clock_mono_ms() + self->cfg.heartbeat_ms;
    }
}

// True when messages from the broker wait unread: it is alive, we were busy.
static bool
input_pending(wrk_session *self)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(self->socket, ZMQ_EVENTS, &events, &len) == 0 &&
           (events & ZMQ_POLLIN) != 0;
}

void
wrk_session_set_stats(wrk_session *self, const wrk_session_stats *stats)
{
    self->stats = *stats;
}

void
wrk_session_set_brokers(wrk_session *self, const wrk_session_brokers *brokers)
{
    assert(brokers->configured <= RR_WIRE_MAX_BROKERS && brokers->attached <= brokers->configured &&
           brokers->ndetached == brokers->configured - brokers->attached);
    self->brokers = *brokers;
}

// A heartbeat carrying the worker's counters and its brokers.
static void
send_heartbeat(wrk_session *self)
{
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    ws.processed = self->stats.processed;
    ws.failed = self->stats.failed;
    ws.batches = self->stats.batches;
    ws.batch_items = self->stats.batch_items;
    ws.commits = self->stats.commits;
    ws.commit_seconds_sum = self->stats.commit_seconds;
    ws.db_reconnects = self->stats.db_reconnects;
    ws.db_connected = self->stats.db_connected;
    ws.brokers_configured = self->brokers.configured;
    ws.brokers_attached = self->brokers.attached;
    ws.n_brokers_detached = self->brokers.ndetached;
    // protobuf-c only reads the strings while packing.
    ws.brokers_detached = (char **) self->brokers.detached;
    zmq_msg_t body;
    if (rr_wire_pack(&ws.base, &body) != RR_OK ||
        rr_wire_send_to_broker(self->socket, RR_WCMD_HEARTBEAT, &body) != RR_OK) {
        rr_log_debug("heartbeat not sent");
    }
}

void
wrk_session_keepalive(void *arg)
{
    wrk_session *self = arg;
    int64_t now = rr_clock_mono_ms();
    rr_service_watchdog(now); // waiting on the database is not hanging
    // Replies count as heartbeats, but only heartbeats carry the counters:
    // send one at least every interval even while busy.
    if (self->socket != NULL && (now >= self->next_heartbeat || now >= self->next_stats)) {
        send_heartbeat(self);
        self->next_heartbeat = now + self->cfg.heartbeat_ms;
        self->next_stats = now + self->cfg.heartbeat_ms;
    }
}

void
wrk_session_tick(wrk_session *self)
{
    int64_t now = rr_clock_mono_ms();
    if (self->socket == NULL) {
        if (now >= self->next_heartbeat) {
            self->next_heartbeat = now + self->cfg.heartbeat_ms;
            if (open_socket(self) != RR_OK) {
                close_socket(self);
                rr_log_error("could not reconnect to the broker; retrying");
            }
        }
        return;
    }
    if (now > self->broker_expiry && input_pending(self)) {
        self->broker_expiry = now + self->cfg.heartbeat_ms * self->cfg.liveness;
    }
    if (now > self->broker_expiry) {
        if (reconnect(self, "no heartbeat from the broker") != RR_OK) {
            rr_log_error("could not reconnect to the broker");
        }
        return;
    }
    wrk_session_keepalive(self);
}

long
wrk_session_next_tick_ms(const wrk_session *self)
{
    int64_t left = self->next_heartbeat - rr_clock_mono_ms();
    int64_t to_expiry = self->broker_expiry - rr_clock_mono_ms();
    if (to_expiry < left) {
        left = to_expiry;
    }
    return left < 0 ? 0 : (long) left;
}
