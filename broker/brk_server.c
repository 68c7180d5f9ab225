// The broker's sockets and poll loop, and its timers. The protocols are
// brk_front.c (centers) and brk_back.c (workers); frames are moved, not
// copied: a center's body travels into its queue record, a
// reference-counted copy goes to the worker (the record keeps the original
// for redelivery), and the worker's answer is moved on to the center.
#define RR_LOG_MODULE "server"
#include "brk_server_impl.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "rr_service.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <zmq.h>

// Messages read from one socket before the loop looks at the other one and
// at its timers: keeps either side from starving the other.
#define BATCH_MAX 256

#define PUBLISH_EVERY_MS 250

// Warnings a peer can cause at will are limited to this many a second
// (brk_noisy.h); the metrics count every one.
#define NOISY_BURST 50

static rr_status
set_int_opt(void *socket, int option, int value, const char *name)
{
    if (zmq_setsockopt(socket, option, &value, sizeof value) != 0) {
        rr_log_error("zmq_setsockopt(%s) failed: %s", name, zmq_strerror(errno));
        return RR_EIO;
    }
    return RR_OK;
}

// A ROUTER bound to endpoint; with secret_key a CURVE server whose peers
// the ZAP handler admits under zap_domain.
static void *
open_router(void *ctx, const char *endpoint, long hwm, long handshake_ms, const char *secret_key,
            const char *zap_domain)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    if (s == NULL) {
        rr_log_error("zmq_socket failed: %s", zmq_strerror(errno));
        return NULL;
    }
    int64_t maxmsg = RR_WIRE_MAX_MESSAGE_BYTES; // hard cap; 64 KiB bodies get a typed error
    // ROUTER_MANDATORY turns ZeroMQ's silent drop of a message to a gone or
    // full peer into an error we count.
    if (set_int_opt(s, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY") != RR_OK ||
        set_int_opt(s, ZMQ_LINGER, 1000, "ZMQ_LINGER") != RR_OK ||
        set_int_opt(s, ZMQ_SNDHWM, (int) hwm, "ZMQ_SNDHWM") != RR_OK ||
        set_int_opt(s, ZMQ_RCVHWM, (int) hwm, "ZMQ_RCVHWM") != RR_OK ||
        // A connection that never greets holds a descriptor only this long
        // (libzmq's default is 30 s).
        set_int_opt(s, ZMQ_HANDSHAKE_IVL, (int) handshake_ms, "ZMQ_HANDSHAKE_IVL") != RR_OK) {
        zmq_close(s);
        return NULL;
    }
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        rr_log_error("zmq_setsockopt(ZMQ_MAXMSGSIZE) failed: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (secret_key != NULL &&
        (set_int_opt(s, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER") != RR_OK ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_key, RR_KEY_TEXT_LEN + 1) != 0 ||
         zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, zap_domain, strlen(zap_domain)) != 0)) {
        rr_log_error("cannot make \"%s\" a CURVE server: %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_bind(s, endpoint) != 0) {
        rr_log_error("cannot bind \"%s\": %s", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

brk_server *
brk_server_new(const brk_config *config)
{
    brk_server *self = calloc(1, sizeof *self);
    if (self == NULL) {
        rr_log_error("out of memory creating the broker");
        return NULL;
    }
    self->cfg = *config;
    self->policy = (brk_policy){(unsigned) config->max_attempts, (unsigned) config->max_failures,
                                (int64_t) config->retry_backoff_ms * 1000};
    brk_noisy_init(&self->noisy, NOISY_BURST, "refusal, protocol-error and connection");
    self->next_delivery_id = 1;
    self->started_ms = rr_clock_mono_ms();
    self->tick_ms = config->heartbeat_ms;
    self->snap = calloc(1, sizeof *self->snap);
    if (self->snap == NULL) {
        rr_log_error("out of memory creating the broker");
        goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (self->ctx == NULL) {
        rr_log_error("zmq_ctx_new failed: %s", zmq_strerror(errno));
        goto fail;
    }
    self->pool = brk_pool_new();
    self->registry = brk_registry_new();
    self->joins = brk_joins_new();
    if (self->pool == NULL || self->registry == NULL || self->joins == NULL) {
        rr_log_error("out of memory creating the broker");
        goto fail;
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        self->queue[d] = brk_queue_new((size_t) config->queue_max, (size_t) config->queue_max_bytes,
                                       (unsigned) config->fair_every);
        if (self->queue[d] == NULL) {
            rr_log_error("out of memory creating the broker");
            goto fail;
        }
    }
    const char *secret = NULL;
    rr_key_file key;
    memset(&key, 0, sizeof key);
    if (!config->insecure) {
        char why[512];
        if (config->curve_key_file == NULL || config->curve_key_file[0] == '\0' ||
            config->keys_dir == NULL || config->keys_dir[0] == '\0') {
            rr_log_error("authentication needs --curve-key-file and --keys-dir (or --insecure, "
                         "for local development only)");
            goto fail;
        }
        if (rr_keys_read(config->curve_key_file, &key, why, sizeof why) != RR_OK) {
            rr_log_error("%s", why);
            goto fail;
        }
        if (key.secret_key[0] == '\0') {
            rr_log_error("key file \"%s\" holds no secret key", config->curve_key_file);
            goto fail;
        }
        secret = key.secret_key;
        self->auth = brk_auth_new(self->ctx, config->keys_dir, &self->noisy);
        // Operators read for people (referralctl, scripts of an office's
        // staff): ten times a center's query rate and burst.
        brk_limits_config lim = {(size_t) config->max_outstanding, (double) config->queries_per_s,
                                 (double) config->query_burst, 10.0, BRK_MAX_SENDERS};
        self->limits = brk_limits_new(&lim);
        if (self->auth == NULL || self->limits == NULL) {
            goto fail;
        }
    }
    self->frontend = open_router(self->ctx, config->frontend, config->hwm, config->handshake_ms,
                                 secret, BRK_ZAP_DOMAIN_CENTERS);
    if (self->frontend == NULL) {
        goto fail;
    }
    self->backend = open_router(self->ctx, config->backend, config->hwm, config->handshake_ms,
                                secret, BRK_ZAP_DOMAIN_WORKERS);
    if (self->backend == NULL) {
        goto fail;
    }
    self->front_conns = brk_conns_new(
        self->ctx, self->frontend, "centers",
        (brk_conns_limits){(size_t) config->max_centers, (size_t) config->max_per_address},
        &self->noisy);
    self->back_conns = brk_conns_new(
        self->ctx, self->backend, "workers",
        (brk_conns_limits){(size_t) config->max_workers, (size_t) config->max_per_address},
        &self->noisy);
    if (self->front_conns == NULL || self->back_conns == NULL) {
        goto fail;
    }
    if (self->auth != NULL) {
        rr_log_info("CURVE authentication on, public key %s", key.public_key);
        memset(key.secret_key, 0, sizeof key.secret_key); // it stays in libzmq only
    } else {
        rr_log_warn("INSECURE: no authentication; any peer may act as any center, office or "
                    "worker. For local development only");
    }
    rr_log_info("listening for centers on %s and workers on %s (queue bound %ld requests and %ld "
                "bytes per domain; at most %ld center and %ld worker connections, %ld per "
                "address, handshakes within %ld ms)",
                config->frontend, config->backend, config->queue_max, config->queue_max_bytes,
                config->max_centers, config->max_workers, config->max_per_address,
                config->handshake_ms);
    return self;
fail:
    brk_server_destroy(&self);
    return NULL;
}

void
brk_server_destroy(brk_server **self_p)
{
    assert(self_p != NULL);
    brk_server *self = *self_p;
    if (self == NULL) {
        return;
    }
    // Records hold frames: free them before the context goes.
    brk_registry_destroy(&self->registry, self->pool);
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(self->delayed, r, tmp)
    {
        DL_DELETE(self->delayed, r);
        brk_pool_put(self->pool, &r);
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        brk_queue_destroy(&self->queue[d], self->pool);
    }
    brk_pool_destroy(&self->pool);
    brk_joins_destroy(&self->joins);
    brk_limits_destroy(&self->limits);
    free(self->snap);
    brk_conns_destroy(&self->front_conns);
    brk_conns_destroy(&self->back_conns);
    if (self->frontend != NULL) {
        zmq_close(self->frontend);
    }
    if (self->backend != NULL) {
        zmq_close(self->backend);
    }
    brk_auth_destroy(&self->auth);
    if (self->ctx != NULL) {
        zmq_ctx_term(self->ctx);
    }
    free(self);
    *self_p = NULL;
}

const brk_stats *
brk_server_stats(const brk_server *self)
{
    return &self->stats;
}

void
brk_server_set_board(brk_server *self, brk_board *board)
{
    self->board = board;
}

// ---- timers -----------------------------------------------------------------

static void
heartbeat_one(brk_worker *w, void *arg)
{
    brk_server *self = arg;
    brk_back_send(self, w->id, w->id_len, RR_WCMD_HEARTBEAT);
}

// Answers `busy` to requests that waited past the TTL: their center has
// given up on this attempt and will retry, so working on them is waste.
static void
expire_queued(brk_server *self, int64_t now_us)
{
    int64_t ttl_us = self->cfg.request_ttl_ms * 1000;
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            brk_request *r;
            while ((r = brk_queue_peek_oldest(self->queue[d], p)) != NULL &&
                   now_us - r->enqueued_us > ttl_us) {
                brk_queue_remove(self->queue[d], r);
                rr_wire_error err;
                (void) rr_wire_fail(&err, RR_ETIMEDOUT, "",
                                    "could not process request \"%s\" in time: no worker took it "
                                    "within %ld ms",
                                    r->correlation, self->cfg.request_ttl_ms);
                brk_front_refuse(self, r, &err, true);
                brk_dispatch_release(self, &r);
            }
        }
    }
}

static void
on_tick(brk_server *self, int64_t now_ms)
{
    brk_worker *w;
    while ((w = brk_registry_expired(self->registry, now_ms)) != NULL) {
        self->stats.workers_expired++;
        self->snap->totals[w->domain].workers_expired++;
        brk_dispatch_worker_lost(self, &w, "missed its heartbeats", true);
    }
    brk_registry_foreach(self->registry, heartbeat_one, self);
    expire_queued(self, now_ms * 1000);
    if (self->limits != NULL) {
        brk_limits_expire(self->limits, now_ms * 1000);
    }
    if (self->auth != NULL) {
        brk_auth_reload_if_changed(self->auth); // a revoked key stops at the next message
    }
    brk_noisy_flush(&self->noisy, now_ms);
}

static void
answer_queued_busy(brk_server *self)
{
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(self->delayed, r, tmp)
    {
        DL_DELETE(self->delayed, r);
        r->next = r->prev = NULL;
        brk_front_refuse_shutdown(self, &r);
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        while ((r = brk_queue_pop(self->queue[d])) != NULL) {
            brk_front_refuse_shutdown(self, &r);
        }
    }
}

static void
disconnect_one(brk_worker *w, void *arg)
{
    brk_server *self = arg;
    brk_back_send(self, w->id, w->id_len, RR_WCMD_DISCONNECT);
}

// Fills the snapshot's views from the live structures and publishes it.
static void
publish(brk_server *self, int64_t now_ms)
{
    if (self->board == NULL) {
        return;
    }
    brk_view_fill(self, self->snap, now_ms);
    brk_board_publish(self->board, self->snap);
}

// ---- loop -------------------------------------------------------------------

static rr_status
drain_socket(brk_server *self, void *socket, bool front)
{
    for (int i = 0; i < BATCH_MAX; i++) {
        rr_wire_error err;
        rr_status st;
        if (front) {
            rr_wire_call call;
            st = rr_wire_recv_call(socket, ZMQ_DONTWAIT | (self->auth ? RR_WIRE_USER_ID : 0), &call,
                                   &err);
            if (st == RR_OK || st == RR_EPROTO) {
                brk_front_on_call(self, &call, st, &err, rr_clock_mono_us());
                rr_wire_call_close(&call);
                continue;
            }
        } else {
            rr_wire_work work;
            st = rr_wire_recv_work(socket, true, ZMQ_DONTWAIT | (self->auth ? RR_WIRE_USER_ID : 0),
                                   &work, &err);
            if (st == RR_OK || st == RR_EPROTO) {
                brk_back_on_work(self, &work, st, &err, rr_clock_mono_ms());
                rr_wire_work_close(&work);
                continue;
            }
        }
        return st == RR_EAGAIN ? RR_OK : st;
    }
    return RR_OK;
}

rr_status
brk_server_run(brk_server *self, volatile sig_atomic_t *stop)
{
    int64_t next_tick = rr_clock_mono_ms() + self->tick_ms;
    int64_t drain_deadline = 0;
    for (;;) {
        int64_t now = rr_clock_mono_ms();
        if (*stop && !self->draining) {
            self->draining = true;
            drain_deadline = now + self->cfg.drain_ms;
            rr_log_info("stopping: answering new requests busy, waiting up to %ld ms for %zu "
                        "in-flight replies",
                        self->cfg.drain_ms, brk_registry_inflight(self->registry));
            rr_service_stopping();
            answer_queued_busy(self);
        }
        if (self->draining &&
            (brk_registry_inflight(self->registry) == 0 || now >= drain_deadline)) {
            if (brk_registry_inflight(self->registry) > 0) {
                rr_log_warn("drain time over with %zu replies outstanding; centers will retry",
                            brk_registry_inflight(self->registry));
            }
            brk_registry_foreach(self->registry, disconnect_one, self);
            answer_queued_busy(self); // anything requeued while draining
            rr_log_info("stopped");
            return RR_OK;
        }
        if (now >= self->next_publish_ms) {
            publish(self, now);
            self->next_publish_ms = now + PUBLISH_EVERY_MS;
            rr_service_watchdog(now); // the loop turns: tell systemd's watchdog
        }
        int64_t wake = next_tick < self->next_publish_ms ? next_tick : self->next_publish_ms;
        if (self->delayed != NULL && self->delayed->due_us / 1000 + 1 < wake) {
            wake = self->delayed->due_us / 1000 + 1;
        }
        long timeout = (long) (wake - now);
        if (self->draining && drain_deadline - now < timeout) {
            timeout = (long) (drain_deadline - now);
        }
        if (timeout < 0) {
            timeout = 0;
        }
        zmq_pollitem_t items[] = {
            {self->frontend, 0, ZMQ_POLLIN, 0},
            {self->backend, 0, ZMQ_POLLIN, 0},
            {brk_conns_socket(self->front_conns), 0, ZMQ_POLLIN, 0},
            {brk_conns_socket(self->back_conns), 0, ZMQ_POLLIN, 0},
            {self->auth ? brk_auth_socket(self->auth) : NULL, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, self->auth ? 5 : 4, timeout);
        if (rc < 0) {
            if (errno == EINTR) {
                continue; // a signal: the loop head looks at *stop
            }
            if (errno == ETERM) {
                return RR_OK;
            }
            rr_log_error("zmq_poll failed: %s", zmq_strerror(errno));
            return RR_EIO;
        }
        // New connections first: one over a cap is shut down before its
        // handshake costs anything.
        if (items[2].revents & ZMQ_POLLIN) {
            brk_conns_handle(self->front_conns, now);
        }
        if (items[3].revents & ZMQ_POLLIN) {
            brk_conns_handle(self->back_conns, now);
        }
        if (self->auth != NULL && (items[4].revents & ZMQ_POLLIN)) {
            brk_auth_handle(self->auth); // handshakes wait on it: answer first
        }
        // Workers first: replies free credit for the requests behind them.
        if ((items[1].revents & ZMQ_POLLIN) && drain_socket(self, self->backend, false) == RR_EIO) {
            return RR_EIO;
        }
        if ((items[0].revents & ZMQ_POLLIN) && drain_socket(self, self->frontend, true) == RR_EIO) {
            return RR_EIO;
        }
        if (self->delayed != NULL) {
            brk_dispatch_release_delayed(self, rr_clock_mono_us());
        }
        now = rr_clock_mono_ms();
        if (now >= next_tick) {
            on_tick(self, now);
            next_tick = now + self->tick_ms;
        }
    }
}
