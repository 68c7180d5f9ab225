// The worker's sessions with several brokers, polled in one zmq_poll.
#define RR_LOG_MODULE "session"
#include "wrk_brokers.h"

#include "rr_format.h"
#include "rr_log.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wrk_brokers {
    wrk_endpoints eps; // the sessions' configs point into it
    wrk_session *sessions[WRK_MAX_BROKERS];
    bool was_attached[WRK_MAX_BROKERS]; // at the last wrk_brokers_tick
    size_t count;
    size_t first; // the session drained first by the next recv
};

// Tells every session which brokers we are attached to now, so that each
// heartbeat reports the present state to its broker. Attachment moves only
// on a tick or a message, so this before each round of heartbeats is
// current to within one poll. Each session counts its own broker as
// attached: a heartbeat reaches a broker only over a registration it holds
// (it answers any other with DISCONNECT), while our own view waits for its
// first message, which would have a new registration report itself missing.
static void
share_attachment(wrk_brokers *self)
{
    bool up[WRK_MAX_BROKERS];
    for (size_t i = 0; i < self->count; i++) {
        up[i] = wrk_session_attached(self->sessions[i]);
    }
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_brokers b = {.configured = (uint32_t) self->count};
        for (size_t j = 0; j < self->count; j++) {
            if (j == i || up[j]) {
                b.attached++;
            } else {
                b.detached[b.ndetached++] = self->eps.list[j];
            }
        }
        wrk_session_set_brokers(self->sessions[i], &b);
    }
}

wrk_brokers *
wrk_brokers_new(void *ctx, const wrk_endpoints *eps, const wrk_session_config *base)
{
    assert(eps->count > 0 && eps->count <= WRK_MAX_BROKERS);
    wrk_brokers *self = calloc(1, sizeof *self);
    if (self == NULL) {
        rr_log_error("out of memory creating the broker sessions");
        return NULL;
    }
    self->eps = *eps;
    for (size_t i = 0; i < eps->count; i++) {
        wrk_session_config cfg = *base;
        cfg.endpoint = self->eps.list[i];
        self->sessions[i] = wrk_session_new(ctx, &cfg);
        if (self->sessions[i] == NULL) {
            wrk_brokers_destroy(&self);
            return NULL;
        }
        self->count++;
    }
    share_attachment(self);
    return self;
}

void
wrk_brokers_destroy(wrk_brokers **self_p)
{
    assert(self_p != NULL);
    wrk_brokers *self = *self_p;
    if (self == NULL) {
        return;
    }
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_destroy(&self->sessions[i]);
    }
    free(self);
    *self_p = NULL;
}

rr_status
wrk_brokers_recv(wrk_brokers *self, wrk_job *jobs, size_t max, size_t *count, long timeout_ms)
{
    *count = 0;
    zmq_pollitem_t items[WRK_MAX_BROKERS];
    int n = 0;
    for (size_t i = 0; i < self->count; i++) {
        void *socket = wrk_session_socket(self->sessions[i]);
        if (socket != NULL) {
            items[n++] = (zmq_pollitem_t){socket, 0, ZMQ_POLLIN, 0};
        }
    }
    if (n == 0) {
        // Every session between failed reconnects: wait, and let
        // wrk_brokers_tick retry.
        struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return RR_OK;
    }
    if (zmq_poll(items, n, timeout_ms) < 0) {
        if (errno == EINTR) {
            return RR_OK;
        }
        if (errno == ETERM) {
            return RR_ESHUTDOWN;
        }
        rr_log_error("zmq_poll failed: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    // Draining is non-blocking, so every session is asked, ready or not.
    for (size_t k = 0; k < self->count && *count < max; k++) {
        size_t i = (self->first + k) % self->count;
        size_t got = 0;
        rr_status st = wrk_session_drain(self->sessions[i], jobs + *count, max - *count, &got);
        for (size_t j = 0; j < got; j++) {
            jobs[*count + j].broker = (unsigned) i;
        }
        *count += got;
        if (st != RR_OK) {
            return st; // the jobs taken are the caller's to answer or close
        }
    }
    self->first = (self->first + 1) % self->count;
    return RR_OK;
}

void
wrk_brokers_reply(wrk_brokers *self, const wrk_job *job, zmq_msg_t *body)
{
    assert(job->broker < self->count);
    wrk_session_reply(self->sessions[job->broker], job, body);
}

bool
wrk_brokers_tick(wrk_brokers *self)
{
    share_attachment(self);
    bool changed = false;
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_tick(self->sessions[i]);
        bool now = wrk_session_attached(self->sessions[i]);
        if (now != self->was_attached[i]) {
            changed = true;
            self->was_attached[i] = now;
            if (now) {
                rr_log_info("attached to broker %s", self->eps.list[i]);
            } else {
                rr_log_warn("detached from broker %s", self->eps.list[i]);
            }
        }
    }
    return changed;
}

long
wrk_brokers_next_tick_ms(const wrk_brokers *self)
{
    long soonest = -1;
    for (size_t i = 0; i < self->count; i++) {
        long left = wrk_session_next_tick_ms(self->sessions[i]);
        if (soonest < 0 || left < soonest) {
            soonest = left;
        }
    }
    return soonest < 0 ? 0 : soonest;
}

void
wrk_brokers_keepalive(void *arg)
{
    wrk_brokers *self = arg;
    share_attachment(self);
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_keepalive(self->sessions[i]);
    }
}

void
wrk_brokers_set_rules(wrk_brokers *self, const rr_risk_rule *rules, size_t count)
{
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_set_rules(self->sessions[i], rules, count);
    }
}

void
wrk_brokers_set_stats(wrk_brokers *self, const wrk_session_stats *stats)
{
    for (size_t i = 0; i < self->count; i++) {
        wrk_session_set_stats(self->sessions[i], stats);
    }
}

size_t
wrk_brokers_count(const wrk_brokers *self)
{
    return self->count;
}

size_t
wrk_brokers_attached(const wrk_brokers *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++) {
        n += wrk_session_attached(self->sessions[i]) ? 1 : 0;
    }
    return n;
}

void
wrk_brokers_describe(const wrk_brokers *self, char *buf, size_t cap)
{
    char list[WRK_MAX_BROKERS * (WRK_MAX_ENDPOINT_BYTES + 8)] = "";
    size_t used = 0;
    for (size_t i = 0; i < self->count && used < sizeof list; i++) {
        int w =
            snprintf(list + used, sizeof list - used, "%s%s %s", i ? ", " : "", self->eps.list[i],
                     wrk_session_attached(self->sessions[i]) ? "up" : "down");
        if (w < 0) {
            break;
        }
        used += (size_t) w;
    }
    (void) rr_format(buf, cap, "attached to %zu of %zu brokers: %s", wrk_brokers_attached(self),
                     self->count, list);
}
