// The broker's protocol handlers and poll loop. Frames are moved, not
// copied: the center's body frame travels into the queue record, a
// reference-counted copy goes to the worker (the record keeps the original
// for redelivery), and the worker's reply frame is moved on to the center.
#define RR_LOG_MODULE "server"
#include "brk_server.h"
#include "rr_format.h"

#include "brk_auth.h"
#include "brk_queue.h"
#include "brk_registry.h"
#include "rr_clock.h"
#include "rr_log.h"
#include "rr_service.h"
#include "rr_wire.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <zmq.h>

// Messages read from one socket before the loop looks at the other one and
// at its timers: keeps either side from starving the other.
#define BATCH_MAX 256

#define QUEUE_ANY 0 // index of the queue for requests any worker may serve

// Bounds on the heartbeat interval a worker may declare.
#define BRK_MIN_HEARTBEAT_MS 50
#define BRK_MAX_HEARTBEAT_MS 60000

struct brk_server {
    brk_config cfg;
    void *ctx;
    void *frontend; // ROUTER, centers
    void *backend;  // ROUTER, workers
    brk_auth *auth; // NULL: --insecure
    brk_pool *pool;
    brk_queue *queue[RR_DOMAIN_COUNT + 1]; // [QUEUE_ANY] = status queries
    brk_registry *registry;
    brk_request *delayed; // failed, waiting to be retried (by due_us)
    uint64_t next_delivery_id;
    bool draining;
    int64_t tick_ms; // heartbeat period: ours, or a faster worker's
    int64_t started_ms;
    rr_risk_rule risk[RR_RISK_MAX_RULES]; // from the workers' catalogue (RULES)
    size_t risk_count;
    brk_stats stats;
    brk_board *board;   // borrowed; NULL: nobody watches
    brk_snapshot *snap; // owned; built here, copied to the board
    int64_t next_publish_ms;
    int64_t noisy_window_ms; // log lines peers can cause: see noisy_ok
    unsigned noisy_in_window;
    uint64_t noisy_suppressed;
};

#define PUBLISH_EVERY_MS 250

// Warnings a peer can cause at will (refusals, protocol errors, replies it
// would not take) are limited to NOISY_BURST a second, so that a flooding
// client cannot flood the log or the disk; the rest are counted and summed
// up in one line a second (the metrics count every one).
#define NOISY_BURST 50

static void
noisy_flush(brk_server *self, int64_t now_ms)
{
    if (now_ms - self->noisy_window_ms < 1000) {
        return;
    }
    if (self->noisy_suppressed > 0) {
        rr_log_warn("%llu more refusal and protocol-error lines suppressed in the last %lld ms",
                    (unsigned long long) self->noisy_suppressed,
                    (long long) (now_ms - self->noisy_window_ms));
    }
    self->noisy_window_ms = now_ms;
    self->noisy_in_window = 0;
    self->noisy_suppressed = 0;
}

static bool
noisy_ok(brk_server *self)
{
    noisy_flush(self, rr_clock_mono_ms());
    if (self->noisy_in_window < NOISY_BURST) {
        self->noisy_in_window++;
        return true;
    }
    self->noisy_suppressed++;
    return false;
}

static void
hex_id(const void *id, size_t len, char *out, size_t cap)
{
    const uint8_t *p = id;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < cap; i++) {
        o += (size_t) snprintf(out + o, cap - o, "%02x", p[i]);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

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
open_router(void *ctx, const char *endpoint, long hwm, const char *secret_key,
            const char *zap_domain)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    if (s == NULL) {
        rr_log_error("zmq_socket failed: %s", zmq_strerror(errno));
        return NULL;
    }
    int64_t maxmsg = (int64_t) 1024 * 1024; // hard cap; 64 KiB bodies get a typed error
    // ROUTER_MANDATORY turns ZeroMQ's silent drop of a message to a gone or
    // full peer into an error we count.
    if (set_int_opt(s, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY") != RR_OK ||
        set_int_opt(s, ZMQ_LINGER, 1000, "ZMQ_LINGER") != RR_OK ||
        set_int_opt(s, ZMQ_SNDHWM, (int) hwm, "ZMQ_SNDHWM") != RR_OK ||
        set_int_opt(s, ZMQ_RCVHWM, (int) hwm, "ZMQ_RCVHWM") != RR_OK) {
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
    if (self->pool == NULL || self->registry == NULL) {
        rr_log_error("out of memory creating the broker");
        goto fail;
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        self->queue[d] = brk_queue_new((size_t) config->queue_max, (unsigned) config->fair_every);
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
        self->auth = brk_auth_new(self->ctx, config->keys_dir);
        if (self->auth == NULL) {
            goto fail;
        }
    }
    self->frontend =
        open_router(self->ctx, config->frontend, config->hwm, secret, BRK_ZAP_DOMAIN_CENTERS);
    if (self->frontend == NULL) {
        goto fail;
    }
    self->backend =
        open_router(self->ctx, config->backend, config->hwm, secret, BRK_ZAP_DOMAIN_WORKERS);
    if (self->backend == NULL) {
        goto fail;
    }
    if (self->auth != NULL) {
        rr_log_info("CURVE authentication on, public key %s", key.public_key);
        memset(key.secret_key, 0, sizeof key.secret_key); // it stays in libzmq only
    } else {
        rr_log_warn("INSECURE: no authentication; any peer may act as any center, office or "
                    "worker. For local development only");
    }
    rr_log_info("listening for centers on %s and workers on %s (queue bound %ld per domain)",
                config->frontend, config->backend, config->queue_max);
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
    free(self->snap);
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

// ---- replies to centers -------------------------------------------------

// Sends [client_id]["" ]["RRC1"][command][body] to a center. Consumes body.
// client_id is copied (the caller may still need it).
static void
send_to_client(brk_server *self, zmq_msg_t *client_id, uint8_t command, zmq_msg_t *body)
{
    zmq_msg_t id;
    int rc = zmq_msg_init(&id);
    assert(rc == 0);
    rc = zmq_msg_copy(&id, client_id);
    assert(rc == 0);
    rr_status st = rr_wire_send_msg(self->frontend, &id, true);
    if (st != RR_OK) {
        // The center disconnected or stopped reading: it will retry.
        self->stats.undeliverable++;
        if (noisy_ok(self)) {
            rr_log_warn("reply not delivered to center: %s", rr_strerror(st));
        }
        rr_msg_close(body);
        rc = zmq_msg_init(body); // empty again: the owner may close it once more
        assert(rc == 0);
        return;
    }
    // Once the routing frame is accepted the rest of the message is too.
    if (rr_wire_send_bytes(self->frontend, "", 0, true) != RR_OK ||
        rr_wire_send_bytes(self->frontend, RR_WIRE_CLIENT_PROTO, RR_WIRE_PROTO_LEN, true) !=
            RR_OK ||
        rr_wire_send_bytes(self->frontend, &command, 1, true) != RR_OK) {
        rr_msg_close(body);
        rc = zmq_msg_init(body);
        assert(rc == 0);
        self->stats.undeliverable++;
        rr_log_error("reply to center cut short");
        return;
    }
    if (rr_wire_send_msg(self->frontend, body, false) != RR_OK) {
        self->stats.undeliverable++;
        rr_log_error("reply to center cut short");
    }
}

// Answers a center's request with a refusal made by the broker itself:
// a SubmitReply (busy or rejected), a StatusReply or an ErrorReply,
// according to the command.
static void
refuse(brk_server *self, zmq_msg_t *client_id, uint8_t command, uint8_t domain,
       const char *correlation, rr_wire_error *err, bool busy)
{
    zmq_msg_t body;
    rr_status st;
    uint8_t reply_cmd = command;
    if (command == RR_CMD_SUBMIT) {
        st = rr_wire_pack_submit_refusal(
            correlation, busy ? RR__V1__OUTCOME__OUTCOME_BUSY : RR__V1__OUTCOME__OUTCOME_REJECTED,
            err, (uint32_t) self->cfg.retry_after_ms, &body);
    } else if (command == RR_CMD_STATUS) {
        st = rr_wire_pack_status_refusal(correlation, err, &body);
    } else if (command == RR_CMD_UPDATE) {
        st = rr_wire_pack_update_refusal(correlation, err, &body);
    } else if (command == RR_CMD_FOLLOW) {
        st = rr_wire_pack_follow_refusal(correlation, err, &body);
    } else {
        reply_cmd = RR_CMD_ERROR;
        st = rr_wire_pack_error_reply(correlation, err, &body);
    }
    if (st != RR_OK) {
        return; // logged by rr_wire
    }
    if (busy) {
        self->stats.busy++;
    } else {
        self->stats.rejected++;
    }
    if (command == RR_CMD_SUBMIT) {
        assert(domain <= RR_DOMAIN_COUNT);
        if (busy) {
            self->snap->totals[domain].busy++;
        } else {
            self->snap->totals[domain].rejected++;
        }
    }
    send_to_client(self, client_id, reply_cmd, &body);
}

// Answers a request `busy` because the broker is stopping, and frees it.
static void
refuse_shutdown(brk_server *self, brk_request **req_p)
{
    brk_request *r = *req_p;
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_ESHUTDOWN, "",
                        "could not process request \"%s\": broker is shutting down",
                        r->correlation);
    refuse(self, &r->client_id, r->command, r->domain, r->correlation, &err, true);
    brk_pool_put(self->pool, req_p);
}

// ---- dispatch -------------------------------------------------------------

static void worker_lost(brk_server *self, brk_worker **worker_p, const char *why, bool crashed);

// Sends one request to a worker: [wid]["" ]["RRW1"][REQUEST][delivery id]
// [command][body]. The worker gets a reference-counted copy of the body.
static rr_status
send_request(brk_server *self, brk_worker *w, brk_request *req, uint64_t delivery_id)
{
    rr_status st = rr_wire_send_bytes(self->backend, w->id, w->id_len, true);
    if (st != RR_OK) {
        return st;
    }
    uint8_t cmd = RR_WCMD_REQUEST;
    uint8_t wire_cmd = req->command;
    if (req->dead) {
        wire_cmd |= RR_CMD_DEAD_LETTER_FLAG;
    } else if (req->failures + 1 >= self->cfg.max_failures) {
        wire_cmd |= RR_CMD_LAST_ATTEMPT_FLAG; // one more failure and it is a dead letter
    }
    uint8_t did[RR_WIRE_DELIVERY_ID_LEN];
    rr_wire_put_u64(did, delivery_id);
    zmq_msg_t body;
    int rc = zmq_msg_init(&body);
    assert(rc == 0);
    rc = zmq_msg_copy(&body, &req->body);
    assert(rc == 0);
    (void) rc;
    bool signed_by = req->principal[0] != '\0';
    if (rr_wire_send_bytes(self->backend, "", 0, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, &cmd, 1, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, did, sizeof did, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, &wire_cmd, 1, true) != RR_OK) {
        rr_msg_close(&body);
        rr_log_error("request to worker cut short");
        return RR_EIO;
    }
    st = rr_wire_send_msg(self->backend, &body, signed_by);
    if (st == RR_OK && signed_by) {
        // Who sent it: the worker checks the request acts for that sender.
        st = rr_wire_send_bytes(self->backend, req->principal, strlen(req->principal), false);
    }
    return st;
}

// Hands queued requests to workers with spare credit while both exist. A
// suspect (held by a worker that was lost) goes to a worker holding
// nothing, and alone, so that if that worker is lost too the blame is
// certain; the queue waits for such a worker, which takes one batch's time.
static void
dispatch(brk_server *self, int queue_index)
{
    brk_queue *q = self->queue[queue_index];
    if (self->draining) {
        return; // what is queued now is answered busy when the drain ends
    }
    for (;;) {
        if (brk_queue_depth(q) == 0) {
            return;
        }
        brk_worker *w = brk_registry_next_ready(self->registry, (rr_domain) queue_index);
        if (w == NULL) {
            return;
        }
        brk_request *req = brk_queue_pop(q);
        bool solo = req->suspect && queue_index != QUEUE_ANY;
        if (solo && w->inflight > 0) {
            w = brk_registry_next_idle(self->registry, (rr_domain) queue_index);
            if (w == NULL) {
                brk_queue_push_front(q, req);
                return;
            }
        }
        uint64_t did = self->next_delivery_id++;
        rr_status st = send_request(self, w, req, did);
        if (st != RR_OK) {
            brk_queue_push_front(q, req);
            worker_lost(self, &w, "cannot be reached", true);
            continue;
        }
        req->attempts++;
        brk_registry_assign(self->registry, w, req, did, solo);
        rr_log_debug_id(req->correlation,
                        "request %s delivered to worker pid %u (delivery %llu, attempt %u)",
                        req->correlation, w->pid, (unsigned long long) did, req->attempts);
    }
}

static void
dispatch_for(brk_server *self, rr_domain domain)
{
    dispatch(self, domain);
    dispatch(self, QUEUE_ANY);
}

// Backoff before retry n (1-based): retry_backoff_ms doubled per failure,
// capped at 32 times, and spread by up to a quarter so that requests failed
// together do not come back together.
static int64_t
backoff_us(const brk_server *self, const brk_request *r)
{
    int shift = r->failures > 6 ? 5 : r->failures - 1;
    int64_t base = (int64_t) self->cfg.retry_backoff_ms * 1000 << (shift < 0 ? 0 : shift);
    return base + (int64_t) (self->next_delivery_id * 2654435761u % (uint64_t) (base / 4 + 1));
}

// Holds a failed request back until its backoff has passed.
static void
delay(brk_server *self, brk_request *r, int64_t now_us)
{
    r->due_us = now_us + backoff_us(self, r);
    self->stats.retried++;
    brk_request *at = self->delayed;
    while (at != NULL && at->due_us <= r->due_us) {
        at = at->next;
    }
    if (at == NULL) {
        DL_APPEND(self->delayed, r);
    } else {
        DL_PREPEND_ELEM(self->delayed, at, r);
    }
}

// Puts delayed requests whose time has come back at the head of their queue.
static void
release_delayed(brk_server *self, int64_t now_us)
{
    while (self->delayed != NULL && self->delayed->due_us <= now_us) {
        brk_request *r = self->delayed;
        DL_DELETE(self->delayed, r);
        r->next = r->prev = NULL;
        r->enqueued_us = now_us; // its wait for a worker starts again
        brk_queue_push_front(self->queue[r->domain], r);
        dispatch_for(self, (rr_domain) r->domain);
    }
}

// A request is given up: a submission is dead-lettered by the next worker
// (which answers with the referral instead, if one attempt committed it);
// other requests are refused.
static void
give_up(brk_server *self, brk_request *r, const char *why)
{
    if (r->command == RR_CMD_SUBMIT && !r->dead) {
        rr_log_error_id(r->correlation, "request %s %s: dead-lettering it", r->correlation, why);
        r->dead = true;
        r->enqueued_us = rr_clock_mono_us(); // not expired before a worker records it
        brk_queue_push_front(self->queue[r->domain], r);
        return;
    }
    // Busy, not rejected: one of those workers may have committed it
    // before dying, and a retry with the same request_id finds out.
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_EINTERNAL, "",
                        "could not process request \"%s\": %u workers failed on it", r->correlation,
                        r->attempts);
    rr_log_error_id(r->correlation, "request %s given up: %s", r->correlation, why);
    refuse(self, &r->client_id, r->command, r->domain, r->correlation, &err, true);
    brk_pool_put(self->pool, &r);
}

// A worker is gone (expired, disconnected or unreachable): its in-flight
// requests go back to the head of their queues. Only a request the worker
// held alone, after an earlier loss, counts a failure (and is retried after
// a backoff): a worker lost with a batch, or once, says nothing about any
// one request. max_failures such failures, or max_attempts deliveries in
// all, and the request is given up, so that a request that kills workers
// cannot kill them all.
static void
worker_lost(brk_server *self, brk_worker **worker_p, const char *why, bool crashed)
{
    brk_worker *w = *worker_p;
    rr_domain domain = w->domain;
    bool alone = w->inflight == 1;
    int64_t now_us = rr_clock_mono_us();
    rr_log_warn("worker pid %u on \"%s\" (%s) %s: requeueing %u request(s)", w->pid, w->host,
                rr_domain_name(domain), why, w->inflight);
    brk_request *orphans = NULL;
    brk_registry_remove(self->registry, worker_p, &orphans);
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(orphans, r, tmp)
    {
        DL_DELETE(orphans, r);
        r->next = r->prev = NULL;
        if (self->draining) {
            refuse_shutdown(self, &r);
            continue;
        }
        // A worker that left on purpose (DISCONNECT, a new READY, a revoked
        // key) says nothing about its requests: they simply go back.
        bool blamed = crashed && alone && r->suspect && !r->dead;
        r->suspect |= crashed;
        if (blamed) {
            r->failures++;
        }
        if (r->attempts >= self->cfg.max_attempts || r->failures >= self->cfg.max_failures) {
            char why_given_up[64];
            (void) rr_format(why_given_up, sizeof why_given_up, "failed on %u workers",
                             r->attempts);
            give_up(self, r, why_given_up);
            continue;
        }
        self->stats.redelivered++;
        if (blamed) {
            delay(self, r, now_us);
        } else {
            brk_queue_push_front(self->queue[r->domain], r);
        }
    }
    dispatch_for(self, domain);
}

// ---- front end: centers ---------------------------------------------------

// ZeroMQ's decoder reads messages into a shared ~18 KiB buffer that lives
// as long as any message in it: a request that waits in a queue could pin
// a whole buffer. A waiting request's body gets its own allocation instead
// (one small copy, only when it waits), so a backlog costs its own size.
static void
compact(zmq_msg_t *body)
{
    size_t n = zmq_msg_size(body);
    zmq_msg_t copy;
    if (zmq_msg_init_size(&copy, n) != 0) {
        return; // keep the shared one
    }
    memcpy(zmq_msg_data(&copy), zmq_msg_data(body), n);
    rr_msg_move(body, &copy);
    rr_msg_close(&copy);
}

// The principal of the key a message came with (ZAP user id: the public
// key; brk_auth: its principal). False when the key is no longer
// registered (revoked while connected) or is not a center's or office's.
// Always true, with principal "", without authentication.
static bool
client_principal(brk_server *self, rr_frames *f, char principal[RR_PRINCIPAL_MAX + 1])
{
    principal[0] = '\0';
    if (self->auth == NULL) {
        return true;
    }
    const char *key = zmq_msg_gets(&f->part[1], "User-Id");
    const char *p = brk_auth_principal(self->auth, key);
    if (p == NULL || strncmp(p, "worker:", 7) == 0) {
        return false;
    }
    memcpy(principal, p, strlen(p) + 1);
    return true;
}

static void
refuse_unauthorized(brk_server *self, rr_frames *f, uint8_t command, const char *correlation)
{
    const char *key = zmq_msg_gets(&f->part[1], "User-Id");
    if (noisy_ok(self)) {
        rr_log_warn("refused a message from key %s: not registered (revoked?)", key ? key : "?");
    }
    self->stats.unauthorized++;
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_EPERM, "",
                        "not permitted: this key is not registered with the broker (revoked?)");
    refuse(self, &f->part[0], command, 0, correlation, &err, false);
}

// Keeps the client's id for replies and logs; an id too long to keep whole
// (and so refused anyway) is not echoed rather than cut inside a character.
static void
set_correlation(brk_request *req, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n >= sizeof req->correlation) {
        n = 0;
    }
    memcpy(req->correlation, id ? id : "", n);
    req->correlation[n] = '\0';
}

// Reads the routing facts the broker needs from a request body and checks
// it; on failure err says why (and correlation holds what could be read).
static rr_status
admit(const brk_server *self, rr_frames *f, uint8_t command, brk_request *req, rr_wire_error *err)
{
    const void *data = rr_frames_data(f, 4);
    size_t size = rr_frames_size(f, 4);
    rr_status st;
    if (size > (size_t) self->cfg.max_body_bytes) {
        return rr_wire_fail(err, RR_ETOOBIG, "", "message too large: %zu bytes, limit %ld", size,
                            self->cfg.max_body_bytes);
    }
    if (command == RR_CMD_SUBMIT) {
        Rr__V1__SubmitRequest *sub = NULL;
        st = rr_wire_submit_unpack(data, size, &sub, err);
        if (sub != NULL) {
            set_correlation(req, sub->request_id);
            if (st == RR_OK) {
                rr_domain d = (rr_domain) sub->domain;
                if (d == RR_DOMAIN_NONE) {
                    d = rr_domain_of_service_code(sub->service_code);
                }
                if (d == RR_DOMAIN_NONE) {
                    st = rr_wire_fail(err, RR_ENOTFOUND, "service_code",
                                      "unrecognized service \"%s\": its code names no domain",
                                      sub->service_code);
                }
                req->domain = (uint8_t) d;
                // Queue by the priority the worker will record: risk flags
                // raise it by the rules the workers passed on.
                int flags[RR_WIRE_MAX_RISK_FLAGS];
                for (size_t k = 0; k < sub->n_risk_flags; k++) {
                    flags[k] = (int) sub->risk_flags[k];
                }
                req->priority = (uint8_t) rr_risk_effective(self->risk, self->risk_count,
                                                            (rr_priority) sub->priority,
                                                            rr_risk_mask(flags, sub->n_risk_flags));
            }
            rr__v1__submit_request__free_unpacked(sub, NULL);
        }
        return st;
    }
    if (command == RR_CMD_UPDATE) {
        // Status changes close the loop: they queue with the referral's
        // domain, ahead of routine submissions.
        Rr__V1__UpdateRequest *u = NULL;
        st = rr_wire_update_unpack(data, size, &u, err);
        if (u != NULL) {
            set_correlation(req, u->update_id);
            req->domain = (uint8_t) u->domain;
            rr__v1__update_request__free_unpacked(u, NULL);
        }
        req->priority = RR_PRIORITY_URGENT;
        return st;
    }
    if (command == RR_CMD_FOLLOW) {
        Rr__V1__FollowRequest *fr = NULL;
        st = rr_wire_follow_unpack(data, size, &fr, err);
        if (fr != NULL) {
            set_correlation(req, fr->query_id);
            rr__v1__follow_request__free_unpacked(fr, NULL);
        }
        req->domain = QUEUE_ANY;
        req->priority = RR_PRIORITY_ROUTINE;
        return st;
    }
    Rr__V1__StatusQuery *q = NULL;
    st = rr_wire_status_unpack(data, size, &q, err);
    if (q != NULL) {
        set_correlation(req, q->query_id);
        rr__v1__status_query__free_unpacked(q, NULL);
    }
    req->domain = QUEUE_ANY;
    req->priority = RR_PRIORITY_ROUTINE;
    return st;
}

static void
client_protocol_error(brk_server *self, rr_frames *f, const char *message)
{
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_EPROTO, "", "%s", message);
    char peer[64];
    hex_id(rr_frames_data(f, 0), rr_frames_size(f, 0), peer, sizeof peer);
    if (noisy_ok(self)) {
        rr_log_warn("protocol error from center peer %s: %s", peer, err.message);
    }
    self->stats.protocol_errors++;
    refuse(self, &f->part[0], RR_CMD_ERROR, 0, NULL, &err, false);
}

// The oldest waiting request's age in a queue, seconds.
static double
oldest_age(const brk_queue *q, int64_t now_us)
{
    int64_t oldest = now_us;
    for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
        const brk_request *r = brk_queue_peek_oldest(q, p);
        if (r != NULL && r->enqueued_us < oldest) {
            oldest = r->enqueued_us;
        }
    }
    return (double) (now_us - oldest) / 1e6;
}

static void
answer_stats(brk_server *self, zmq_msg_t *client_id, int64_t now_us)
{
    Rr__V1__BrokerStats bs = RR__V1__BROKER_STATS__INIT;
    Rr__V1__QueueStats qs[RR_DOMAIN_COUNT + 1];
    Rr__V1__QueueStats *qp[RR_DOMAIN_COUNT + 1];
    uint32_t by_priority[RR_DOMAIN_COUNT + 1][RR_PRIORITY_COUNT];
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        rr__v1__queue_stats__init(&qs[d]);
        qs[d].domain = (Rr__V1__Domain) d;
        qs[d].depth = (uint32_t) brk_queue_depth(self->queue[d]);
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            by_priority[d][p - 1] = (uint32_t) brk_queue_depth_at(self->queue[d], p);
        }
        qs[d].n_depth_by_priority = RR_PRIORITY_COUNT;
        qs[d].depth_by_priority = by_priority[d];
        qs[d].oldest_age_seconds = oldest_age(self->queue[d], now_us);
        if (d > 0) {
            qs[d].workers = (uint32_t) brk_registry_count(self->registry, (rr_domain) d);
            qs[d].workers_ready =
                (uint32_t) brk_registry_ready_count(self->registry, (rr_domain) d);
        }
        qs[d].received_total = self->stats.received[d];
        qp[d] = &qs[d];
    }
    bs.n_queues = RR_DOMAIN_COUNT + 1;
    bs.queues = qp;
    bs.inflight = (uint32_t) brk_registry_inflight(self->registry);
    bs.replied_total = self->stats.replied;
    bs.busy_total = self->stats.busy;
    bs.rejected_total = self->stats.rejected;
    bs.redelivered_total = self->stats.redelivered;
    bs.dead_lettered_total = self->stats.dead_lettered;
    bs.late_replies_total = self->stats.late_replies;
    bs.undeliverable_total = self->stats.undeliverable;
    bs.protocol_errors_total = self->stats.protocol_errors;
    bs.uptime_seconds = (double) (rr_clock_mono_ms() - self->started_ms) / 1000.0;
    zmq_msg_t body;
    if (rr_wire_pack(&bs.base, &body) == RR_OK) {
        send_to_client(self, client_id, RR_CMD_STATS, &body);
    }
}

static void
on_client_message(brk_server *self, rr_frames *f, int64_t now_us)
{
    if (f->count < 1) {
        return;
    }
    rr_wire_error perr;
    uint8_t command = 0;
    if (rr_wire_client_header(f, &command, &perr) != RR_OK) {
        client_protocol_error(self, f, perr.message);
        return;
    }
    char principal[RR_PRINCIPAL_MAX + 1] = "";
    bool allowed = client_principal(self, f, principal);
    if (!allowed && (command == RR_CMD_PING || command == RR_CMD_STATS)) {
        refuse_unauthorized(self, f, RR_CMD_ERROR, NULL);
        return;
    }
    if (command == RR_CMD_PING) {
        zmq_msg_t empty;
        int rc = zmq_msg_init(&empty);
        assert(rc == 0);
        (void) rc;
        send_to_client(self, &f->part[0], RR_CMD_PING, &empty);
        return;
    }
    if (command == RR_CMD_STATS) {
        answer_stats(self, &f->part[0], now_us);
        return;
    }
    if (command != RR_CMD_SUBMIT && command != RR_CMD_STATUS && command != RR_CMD_UPDATE &&
        command != RR_CMD_FOLLOW) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "unrecognized command 0x%02x", command);
        (void) n;
        client_protocol_error(self, f, msg);
        return;
    }

    brk_request *req = brk_pool_get(self->pool);
    if (req == NULL) {
        rr_wire_error err;
        (void) rr_wire_fail(&err, RR_ENOMEM, "", "could not queue request: broker out of memory");
        rr_log_error("out of memory queueing a request");
        refuse(self, &f->part[0], command, 0, NULL, &err, true);
        return;
    }
    req->command = command;
    rr_wire_error err;
    rr_status st = admit(self, f, command, req, &err);
    if (st != RR_OK) {
        if (noisy_ok(self)) {
            rr_log_warn_id(req->correlation, "request %s refused: %s",
                           req->correlation[0] ? req->correlation : "(no id)", err.message);
        }
        if (st == RR_EPROTO) {
            self->stats.protocol_errors++;
        }
        refuse(self, &f->part[0], command, 0, req->correlation, &err, false);
        brk_pool_put(self->pool, &req);
        return;
    }
    if (!allowed) {
        refuse_unauthorized(self, f, command, req->correlation);
        brk_pool_put(self->pool, &req);
        return;
    }
    memcpy(req->principal, principal, sizeof req->principal);
    if (self->draining) {
        (void) rr_wire_fail(&err, RR_ESHUTDOWN, "",
                            "could not queue request \"%s\": broker is shutting down",
                            req->correlation);
        refuse(self, &f->part[0], command, req->domain, req->correlation, &err, true);
        brk_pool_put(self->pool, &req);
        return;
    }
    req->received_us = now_us;
    req->enqueued_us = now_us;
    rr_msg_move(&req->client_id, &f->part[0]);
    rr_msg_move(&req->body, &f->part[4]);
    if (brk_queue_depth(self->queue[req->domain]) > 0 ||
        brk_registry_next_ready(self->registry, (rr_domain) req->domain) == NULL) {
        compact(&req->body); // it will wait
    }
    if (brk_queue_push(self->queue[req->domain], req) != RR_OK) {
        const char *dname = req->domain ? rr_domain_name(req->domain) : "status";
        (void) rr_wire_fail(&err, RR_EBUSY, "",
                            "could not queue request \"%s\": the %s queue is full (%zu waiting)",
                            req->correlation, dname, brk_queue_depth(self->queue[req->domain]));
        if (noisy_ok(self)) {
            rr_log_warn_id(req->correlation, "%s queue full: request %s answered busy", dname,
                           req->correlation);
        }
        refuse(self, &req->client_id, command, req->domain, req->correlation, &err, true);
        brk_pool_put(self->pool, &req);
        return;
    }
    self->stats.received[req->domain]++;
    dispatch(self, req->domain);
}

// ---- back end: workers ----------------------------------------------------

static void
send_to_worker(brk_server *self, const void *wid, size_t wid_len, uint8_t command)
{
    if (rr_wire_send_bytes(self->backend, wid, wid_len, true) != RR_OK) {
        return; // gone already: its expiry will clean up
    }
    if (rr_wire_send_bytes(self->backend, "", 0, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN, true) != RR_OK ||
        rr_wire_send_bytes(self->backend, &command, 1, false) != RR_OK) {
        rr_log_error("message to worker cut short");
    }
}

static void
worker_protocol_error(brk_server *self, rr_frames *f, const char *what)
{
    char peer[64];
    hex_id(rr_frames_data(f, 0), rr_frames_size(f, 0), peer, sizeof peer);
    rr_log_warn("protocol error from worker peer %s: %s", peer, what);
    self->stats.protocol_errors++;
    brk_worker *w = brk_registry_find(self->registry, rr_frames_data(f, 0), rr_frames_size(f, 0));
    if (w != NULL) {
        worker_lost(self, &w, "broke the protocol", true);
    }
    send_to_worker(self, rr_frames_data(f, 0), rr_frames_size(f, 0), RR_WCMD_DISCONNECT);
}

// How long a worker may stay silent: liveness intervals of the slower of its
// heartbeat and ours, so a worker configured slower than the broker is not
// declared dead between its own heartbeats.
static int64_t
liveness_ms(const brk_server *self, const brk_worker *w)
{
    int64_t hb =
        w->heartbeat_ms > self->cfg.heartbeat_ms ? w->heartbeat_ms : self->cfg.heartbeat_ms;
    return hb * self->cfg.liveness;
}

// With authentication, a READY must be for the domain of the worker's key
// ("worker:any" serves all); checked on every READY, since a second one
// may ask for another domain.
static bool
ready_domain_allowed(brk_server *self, rr_frames *f, rr_domain domain)
{
    if (self->auth == NULL) {
        return true;
    }
    const char *p = brk_auth_principal(self->auth, zmq_msg_gets(&f->part[1], "User-Id"));
    if (p != NULL && (strcmp(p + 7, "any") == 0 || strcmp(p + 7, rr_domain_name(domain)) == 0)) {
        return true;
    }
    rr_log_warn("refused READY from %s: not a key for that domain", p ? p : "?");
    self->stats.unauthorized++;
    return false;
}

static void
on_worker_ready(brk_server *self, rr_frames *f, brk_worker *w, int64_t now_ms)
{
    if (f->count != 5) {
        worker_protocol_error(self, f, "READY must have a WorkerReady body");
        return;
    }
    Rr__V1__WorkerReady *ready = NULL;
    rr_wire_error err;
    if (rr_wire_ready_unpack(rr_frames_data(f, 4), rr_frames_size(f, 4), &ready, &err) != RR_OK) {
        if (ready != NULL) {
            rr__v1__worker_ready__free_unpacked(ready, NULL);
        }
        worker_protocol_error(self, f, err.message);
        return;
    }
    if (!ready_domain_allowed(self, f, (rr_domain) ready->domain)) {
        rr__v1__worker_ready__free_unpacked(ready, NULL);
        if (w != NULL) {
            worker_lost(self, &w, "was refused by authentication", false);
        }
        return;
    }
    if (w != NULL) {
        // A second READY means the worker restarted its session.
        worker_lost(self, &w, "registered again", false);
    }
    if (self->draining) {
        rr__v1__worker_ready__free_unpacked(ready, NULL);
        send_to_worker(self, rr_frames_data(f, 0), rr_frames_size(f, 0), RR_WCMD_DISCONNECT);
        return;
    }
    // The declared heartbeat is the peer's word: keep it within our range.
    if (ready->heartbeat_ms > 0 && ready->heartbeat_ms < BRK_MIN_HEARTBEAT_MS) {
        ready->heartbeat_ms = BRK_MIN_HEARTBEAT_MS;
    }
    if (ready->heartbeat_ms > BRK_MAX_HEARTBEAT_MS) {
        ready->heartbeat_ms = BRK_MAX_HEARTBEAT_MS;
    }
    rr_status st = brk_registry_add(self->registry, rr_frames_data(f, 0), rr_frames_size(f, 0),
                                    (rr_domain) ready->domain, ready->credit, ready->host,
                                    ready->pid, now_ms, &w);
    uint32_t worker_hb = ready->heartbeat_ms;
    if (st == RR_OK) {
        int n = snprintf(w->version, sizeof w->version, "%s", ready->version);
        (void) n; // rr_wire_ready_unpack bounds it to fit
    }
    rr__v1__worker_ready__free_unpacked(ready, NULL);
    if (st != RR_OK) {
        worker_protocol_error(self, f, "could not register worker");
        return;
    }
    w->heartbeat_ms = worker_hb;
    brk_registry_touch(w, now_ms, liveness_ms(self, w));
    // Heartbeat at the pace of the fastest worker, so that none of them
    // thinks us gone between our heartbeats.
    if (worker_hb > 0 && worker_hb < self->tick_ms) {
        self->tick_ms = worker_hb;
    }
    rr_log_info("worker pid %u on \"%s\" registered for %s with credit %u (%zu in the pool)",
                w->pid, w->host, rr_domain_name(w->domain), w->credit,
                brk_registry_count(self->registry, w->domain));
    dispatch_for(self, w->domain);
}

// Counts a worker's answer to a submission by outcome, and the time from
// the broker first reading the request to the acknowledgement.
static void
count_submit_reply(brk_server *self, rr_domain domain, zmq_msg_t *body, int64_t received_us,
                   bool dead)
{
    int outcome = 0;
    if (rr_wire_submit_reply_outcome(zmq_msg_data(body), zmq_msg_size(body), &outcome) != RR_OK) {
        return;
    }
    brk_domain_totals *t = &self->snap->totals[domain];
    switch (outcome) {
    case RR__V1__OUTCOME__OUTCOME_ACCEPTED:
        t->accepted++;
        brk_latency_observe(&t->latency, (double) (rr_clock_mono_us() - received_us) / 1e6);
        break;
    case RR__V1__OUTCOME__OUTCOME_DUPLICATE:
        t->duplicate++;
        break;
    case RR__V1__OUTCOME__OUTCOME_BUSY:
        t->busy++;
        break;
    default:
        t->rejected++;
        if (dead) {
            self->stats.dead_lettered++; // the worker kept it as a dead letter
        }
        break;
    }
}

static void
on_worker_reply(brk_server *self, rr_frames *f, brk_worker *w)
{
    if (f->count != 6 || rr_frames_size(f, 4) != RR_WIRE_DELIVERY_ID_LEN) {
        worker_protocol_error(self, f, "REPLY must carry a delivery id and a body");
        return;
    }
    uint64_t did = rr_wire_get_u64(rr_frames_data(f, 4));
    brk_request *req = brk_registry_complete(self->registry, w, did);
    if (req == NULL) {
        // The request was redelivered after this worker was declared dead,
        // or answered already: the center must not hear twice.
        self->stats.late_replies++;
        rr_log_warn("late reply for delivery %llu from worker pid %u discarded",
                    (unsigned long long) did, w->pid);
        dispatch_for(self, w->domain);
        return;
    }
    w->replies++;
    self->stats.replied++;
    if (req->command == RR_CMD_SUBMIT) {
        count_submit_reply(self, w->domain, &f->part[5], req->received_us, req->dead);
    }
    send_to_client(self, &req->client_id, req->command, &f->part[5]);
    rr_log_debug("reply for %s delivered", req->correlation);
    brk_pool_put(self->pool, &req);
    dispatch_for(self, w->domain);
}

// A worker could not process a request (the database refused it): it is
// retried after a backoff; the attempt after max_failures - 1 failures went
// out marked as the last, and its worker dead-letters it instead.
static void
on_worker_failed(brk_server *self, rr_frames *f, brk_worker *w)
{
    if (f->count != 6 || rr_frames_size(f, 4) != RR_WIRE_DELIVERY_ID_LEN) {
        worker_protocol_error(self, f, "FAILED must carry a delivery id and a body");
        return;
    }
    uint64_t did = rr_wire_get_u64(rr_frames_data(f, 4));
    brk_request *req = brk_registry_complete(self->registry, w, did);
    if (req == NULL) {
        self->stats.late_replies++;
        rr_log_warn("late FAILED for delivery %llu from worker pid %u discarded",
                    (unsigned long long) did, w->pid);
        dispatch_for(self, w->domain);
        return;
    }
    req->failures++;
    if (req->failures >= self->cfg.max_failures || req->dead) {
        // The worker did not honour the last-attempt mark.
        give_up(self, req, "failed on its last attempt");
    } else {
        rr_log_info_id(req->correlation, "request %s failed (%u of %ld): retrying it later",
                       req->correlation, req->failures, self->cfg.max_failures);
        delay(self, req, rr_clock_mono_us());
    }
    dispatch_for(self, w->domain);
}

// The risk rules of a worker's catalogue: the latest set wins (workers of
// one database converge on the same rules within a reload).
static void
on_worker_rules(brk_server *self, rr_frames *f, brk_worker *w)
{
    rr_risk_rule rules[RR_RISK_MAX_RULES];
    size_t count = 0;
    if (f->count != 5 ||
        rr_wire_rules_unpack(rr_frames_data(f, 4), rr_frames_size(f, 4), rules, &count) != RR_OK) {
        worker_protocol_error(self, f, "RULES must carry valid RiskRules");
        return;
    }
    if (count != self->risk_count || memcmp(rules, self->risk, count * sizeof rules[0]) != 0) {
        memcpy(self->risk, rules, count * sizeof rules[0]);
        self->risk_count = count;
        rr_log_info("risk rules from worker pid %u: %zu rule(s)", w->pid, count);
    }
}

// True when the worker's key is (still) registered as a worker's.
static bool
worker_authorized(brk_server *self, rr_frames *f, uint8_t command)
{
    const char *key = zmq_msg_gets(&f->part[1], "User-Id");
    const char *p = brk_auth_principal(self->auth, key);
    if (p == NULL || strncmp(p, "worker:", 7) != 0) {
        rr_log_warn("refused a worker message from key %s: not registered (revoked?)",
                    key ? key : "?");
        self->stats.unauthorized++;
        if (command != RR_WCMD_DISCONNECT) {
            send_to_worker(self, rr_frames_data(f, 0), rr_frames_size(f, 0), RR_WCMD_DISCONNECT);
        }
        return false;
    }
    return true;
}

static void
on_worker_message(brk_server *self, rr_frames *f, int64_t now_ms)
{
    if (f->count < 1) {
        return;
    }
    if (f->too_many || f->count < 4 || rr_frames_size(f, 1) != 0 ||
        !rr_frames_equal(f, 2, RR_WIRE_WORKER_PROTO, RR_WIRE_PROTO_LEN) ||
        rr_frames_size(f, 3) != 1) {
        worker_protocol_error(self, f, "malformed message header");
        return;
    }
    uint8_t command = *(const uint8_t *) rr_frames_data(f, 3);
    brk_worker *w = brk_registry_find(self->registry, rr_frames_data(f, 0), rr_frames_size(f, 0));
    if (self->auth != NULL && !worker_authorized(self, f, command)) {
        if (w != NULL) {
            worker_lost(self, &w, "was refused by authentication", false);
        }
        return;
    }
    if (command == RR_WCMD_READY) {
        on_worker_ready(self, f, w, now_ms);
        return;
    }
    if (w == NULL) {
        // A worker we do not know (broker restarted, or it was declared
        // dead): tell it to register again.
        if (command == RR_WCMD_REPLY || command == RR_WCMD_FAILED) {
            // Its requests went to other workers when it was dropped: the
            // center must not hear twice.
            self->stats.late_replies++;
            rr_log_warn("late reply from a worker no longer registered discarded");
        }
        if (command != RR_WCMD_DISCONNECT) {
            send_to_worker(self, rr_frames_data(f, 0), rr_frames_size(f, 0), RR_WCMD_DISCONNECT);
        }
        return;
    }
    brk_registry_touch(w, now_ms, liveness_ms(self, w));
    switch (command) {
    case RR_WCMD_REPLY:
        on_worker_reply(self, f, w);
        break;
    case RR_WCMD_FAILED:
        on_worker_failed(self, f, w);
        break;
    case RR_WCMD_HEARTBEAT:
        if (f->count == 5) {
            Rr__V1__WorkerStats *ws = NULL;
            if (rr_wire_worker_stats_unpack(rr_frames_data(f, 4), rr_frames_size(f, 4), &ws) ==
                RR_OK) {
                w->processed = ws->processed;
                w->failed = ws->failed;
                w->batches = ws->batches;
                w->batch_items = ws->batch_items;
                w->commits = ws->commits;
                w->commit_seconds_sum = ws->commit_seconds_sum;
                w->db_reconnects = ws->db_reconnects;
                w->db_connected = ws->db_connected;
                w->stats_seen = true;
                rr__v1__worker_stats__free_unpacked(ws, NULL);
            }
        }
        break;
    case RR_WCMD_RULES:
        on_worker_rules(self, f, w);
        break;
    case RR_WCMD_DISCONNECT:
        worker_lost(self, &w, "disconnected", false);
        break;
    default:
        worker_protocol_error(self, f, "unrecognized command");
        break;
    }
}

// ---- timers -----------------------------------------------------------------

static void
heartbeat_one(brk_worker *w, void *arg)
{
    brk_server *self = arg;
    send_to_worker(self, w->id, w->id_len, RR_WCMD_HEARTBEAT);
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
                refuse(self, &r->client_id, r->command, r->domain, r->correlation, &err, true);
                brk_pool_put(self->pool, &r);
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
        worker_lost(self, &w, "missed its heartbeats", true);
    }
    brk_registry_foreach(self->registry, heartbeat_one, self);
    expire_queued(self, now_ms * 1000);
    if (self->auth != NULL) {
        brk_auth_reload_if_changed(self->auth); // a revoked key stops at the next message
    }
    noisy_flush(self, now_ms);
}

static void
answer_queued_busy(brk_server *self)
{
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(self->delayed, r, tmp)
    {
        DL_DELETE(self->delayed, r);
        r->next = r->prev = NULL;
        refuse_shutdown(self, &r);
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        while ((r = brk_queue_pop(self->queue[d])) != NULL) {
            refuse_shutdown(self, &r);
        }
    }
}

static void
disconnect_one(brk_worker *w, void *arg)
{
    brk_server *self = arg;
    send_to_worker(self, w->id, w->id_len, RR_WCMD_DISCONNECT);
}

// ---- monitoring -----------------------------------------------------------------

static void
view_worker(brk_worker *w, void *arg)
{
    brk_server *self = arg;
    brk_snapshot *snap = self->snap;
    int64_t now = rr_clock_mono_ms();
    brk_queue_view *q = &snap->queue[w->domain];
    q->workers++;
    q->inflight += w->inflight;
    if (w->inflight == 0) {
        q->workers_idle++;
    }
    if (snap->nworkers == BRK_SNAP_MAX_WORKERS) {
        return; // the list is capped; the per-domain sums above are not
    }
    brk_worker_view *v = &snap->workers[snap->nworkers++];
    memcpy(v->host, w->host, sizeof v->host);
    v->pid = w->pid;
    v->domain = w->domain;
    v->credit = w->credit;
    v->inflight = w->inflight;
    v->last_heartbeat_age_s = (double) (now - w->last_seen_ms) / 1000.0;
    v->registered_age_s = (double) (now - w->registered_ms) / 1000.0;
    v->replies = w->replies;
    v->processed = w->processed;
    v->failed = w->failed;
    v->batches = w->batches;
    v->batch_items = w->batch_items;
    v->commits = w->commits;
    v->commit_seconds_sum = w->commit_seconds_sum;
    v->db_reconnects = w->db_reconnects;
    v->db_connected = w->db_connected;
    v->stats_seen = w->stats_seen;
    memcpy(v->version, w->version, sizeof v->version);
}

// Fills the snapshot's views from the live structures and publishes it.
static void
publish(brk_server *self, int64_t now_ms)
{
    if (self->board == NULL) {
        return;
    }
    brk_snapshot *snap = self->snap;
    int64_t now_us = now_ms * 1000;
    snap->taken_wall_ms = rr_clock_wall_ms();
    snap->uptime_s = (double) (now_ms - self->started_ms) / 1000.0;
    snap->draining = self->draining;
    snap->nworkers = 0;
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        brk_queue_view *q = &snap->queue[d];
        memset(q, 0, sizeof *q);
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            q->ready[p] = (uint32_t) brk_queue_depth_at(self->queue[d], p);
            const brk_request *r = brk_queue_peek_oldest(self->queue[d], p);
            q->oldest_age_s[p] = r ? (double) (now_us - r->enqueued_us) / 1e6 : 0;
        }
        q->received = self->stats.received[d];
        q->workers_expected = self->cfg.workers_expected[d];
    }
    brk_registry_foreach(self->registry, view_worker, self);
    snap->redelivered = self->stats.redelivered;
    snap->retried = self->stats.retried;
    snap->unauthorized = self->stats.unauthorized;
    snap->dead_lettered = self->stats.dead_lettered;
    snap->late_replies = self->stats.late_replies;
    snap->undeliverable = self->stats.undeliverable;
    snap->protocol_errors = self->stats.protocol_errors;
    snap->replied = self->stats.replied;
    brk_board_publish(self->board, snap);
}

// ---- loop -------------------------------------------------------------------

static rr_status
drain_socket(brk_server *self, void *socket, bool front)
{
    for (int i = 0; i < BATCH_MAX; i++) {
        rr_frames f;
        rr_status st = rr_frames_recv(socket, &f, ZMQ_DONTWAIT);
        if (st == RR_EAGAIN) {
            return RR_OK;
        }
        if (st != RR_OK) {
            return st;
        }
        if (front) {
            on_client_message(self, &f, rr_clock_mono_us());
        } else {
            on_worker_message(self, &f, rr_clock_mono_ms());
        }
        rr_frames_close(&f);
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
            {self->auth ? brk_auth_socket(self->auth) : NULL, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, self->auth ? 3 : 2, timeout);
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
        if (self->auth != NULL && (items[2].revents & ZMQ_POLLIN)) {
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
            release_delayed(self, rr_clock_mono_us());
        }
        now = rr_clock_mono_ms();
        if (now >= next_tick) {
            on_tick(self, now);
            next_tick = now + self->tick_ms;
        }
    }
}
