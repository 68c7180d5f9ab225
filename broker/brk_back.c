// The worker protocol (RRW2) as a table: for each command, whether the
// worker must be registered and what handles it. A worker that breaks the
// protocol is dropped and told to register again.
#define RR_LOG_MODULE "server"
#include "brk_server_impl.h"

#include "brk_attach.h"
#include "rr_clock.h"
#include "rr_log.h"
#include "rr_version.h"

#include <stdio.h>
#include <string.h>

void
brk_back_send(brk_server *self, const void *id, size_t id_len, uint8_t command)
{
    if (rr_wire_send_to_worker(self->backend, id, id_len, command) != RR_OK) {
        // Gone already, or not reading: its expiry cleans up.
        rr_log_debug("command 0x%02x not delivered to a worker", command);
    }
}

static void
peer_hex(const zmq_msg_t *peer, char *out, size_t cap)
{
    const uint8_t *p = zmq_msg_data((zmq_msg_t *) peer);
    size_t len = zmq_msg_size((zmq_msg_t *) peer), o = 0;
    for (size_t i = 0; i < len && o + 3 < cap; i++) {
        o += (size_t) snprintf(out + o, cap - o, "%02x", p[i]);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static void
protocol_error(brk_server *self, const rr_wire_work *work, brk_worker *w, const char *what)
{
    char peer[64];
    peer_hex(&work->peer, peer, sizeof peer);
    self->stats.protocol_errors++;
    if (brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
        rr_log_warn("protocol error from worker peer %s: %s", peer, what);
    }
    if (w != NULL) {
        brk_dispatch_worker_lost(self, &w, "broke the protocol", true);
    }
    brk_back_send(self, zmq_msg_data((zmq_msg_t *) &work->peer),
                  zmq_msg_size((zmq_msg_t *) &work->peer), RR_WCMD_DISCONNECT);
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
ready_domain_allowed(brk_server *self, const rr_wire_work *work, rr_domain domain)
{
    if (self->auth == NULL) {
        return true;
    }
    const char *p = brk_auth_principal(self->auth, work->user_id[0] ? work->user_id : NULL);
    rr_principal who;
    if (rr_principal_parse(p, &who) && rr_principal_serves(&who, domain)) {
        return true;
    }
    rr_log_warn("refused READY from %s: not a key for that domain", p ? p : "?");
    self->stats.unauthorized++;
    return false;
}

static void
on_ready(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    Rr__V1__WorkerReady *ready = NULL;
    rr_wire_error err;
    if (rr_wire_unpack(zmq_msg_data(&work->body), zmq_msg_size(&work->body), &ready, &err) !=
        RR_OK) {
        if (ready != NULL) {
            rr_wire_free(ready);
        }
        protocol_error(self, work, w, err.message);
        return;
    }
    if (!brk_policy_label_ok(ready->host, RR_WIRE_MAX_HOST_BYTES) ||
        !brk_policy_label_ok(ready->version, RR_WIRE_MAX_VERSION_BYTES)) {
        rr_wire_free(ready);
        protocol_error(self, work, w, "READY's host or version is too long or not printable ASCII");
        return;
    }
    if (!ready_domain_allowed(self, work, (rr_domain) ready->domain)) {
        rr_wire_free(ready);
        if (w != NULL) {
            brk_dispatch_worker_lost(self, &w, "was refused by authentication", false);
        }
        return;
    }
    if (w != NULL) {
        // A second READY means the worker restarted its session.
        brk_dispatch_worker_lost(self, &w, "registered again", false);
    }
    const void *id = zmq_msg_data(&work->peer);
    size_t id_len = zmq_msg_size(&work->peer);
    if (self->draining) {
        rr_wire_free(ready);
        brk_back_send(self, id, id_len, RR_WCMD_DISCONNECT);
        return;
    }
    // The declared heartbeat is the peer's word: keep it within our range.
    if (ready->heartbeat_ms > 0 && ready->heartbeat_ms < BRK_MIN_HEARTBEAT_MS) {
        ready->heartbeat_ms = BRK_MIN_HEARTBEAT_MS;
    }
    if (ready->heartbeat_ms > BRK_MAX_HEARTBEAT_MS) {
        ready->heartbeat_ms = BRK_MAX_HEARTBEAT_MS;
    }
    rr_status st = brk_registry_add(self->registry, id, id_len, (rr_domain) ready->domain,
                                    ready->credit, ready->host, ready->pid, now_ms, &w);
    uint32_t worker_hb = ready->heartbeat_ms;
    if (st == RR_OK) {
        int n = snprintf(w->version, sizeof w->version, "%s", ready->version);
        (void) n; // rr_wire_ready_unpack bounds it to fit
        // REQUEST's frame 7 is 0.5's: an older worker refuses a frame too many.
        w->counts_deliveries = rr_version_at_least(w->version, 0, 5);
    }
    rr_wire_free(ready);
    if (st != RR_OK) {
        protocol_error(self, work, NULL, "could not register worker");
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
                w->pid, w->host, rr_domain_or_any(w->domain), w->credit,
                brk_registry_count(self->registry, w->domain));
    brk_dispatch_for(self, w->domain);
}

// Counts a worker's answer to a submission by the outcome the worker put in
// the envelope, and the time from the broker first reading the request to
// its acknowledgement.
static void
count_outcome(brk_server *self, rr_domain domain, uint8_t outcome, int64_t received_us, bool dead)
{
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

// The request a REPLY or FAILED answers, or NULL when it moved on (it was
// redelivered after this worker was declared dead, or answered already:
// the center must not hear twice).
static brk_request *
answered(brk_server *self, const rr_wire_work *work, brk_worker *w)
{
    brk_request *req = brk_registry_complete(self->registry, w, work->delivery_id);
    if (req == NULL) {
        self->stats.late_replies++;
        rr_log_warn("late %s for delivery %llu from worker pid %u discarded",
                    work->command == RR_WCMD_REPLY ? "reply" : "FAILED",
                    (unsigned long long) work->delivery_id, w->pid);
    }
    return req;
}

static void
on_reply(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    (void) now_ms;
    brk_request *req = answered(self, work, w);
    if (req != NULL) {
        w->replies++;
        self->stats.replied++;
        if (req->command == RR_CMD_SUBMIT) {
            count_outcome(self, (rr_domain) req->domain, work->outcome, req->received_us,
                          req->tries.dead);
        } else if (req->command == RR_CMD_DONATE && work->outcome >= 1 && work->outcome <= 4) {
            self->stats.donations[work->outcome - 1]++; // the worker's DONATE outcome byte
        } else if (req->command >= RR_CMD_PROFILE && req->command <= RR_CMD_FINDING &&
                   work->outcome >= 1 && work->outcome <= 4) {
            self->stats.neighbourhood[req->command - RR_CMD_PROFILE][work->outcome - 1]++;
        } else if (req->command == RR_CMD_RATE && work->outcome >= 1 && work->outcome <= 4) {
            self->stats.ratings[work->outcome - 1]++; // the worker's RATE outcome byte
        }
        brk_front_deliver(self, req, &work->body);
        rr_log_debug("reply for %s delivered", req->correlation);
        brk_dispatch_release(self, &req);
    }
    brk_dispatch_for(self, w->domain);
}

// The worker could not process the request (the database refused it):
// brk_policy says whether it is retried, dead-lettered or refused.
static void
on_failed(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    (void) now_ms;
    rr_domain domain = w->domain;
    brk_request *req = answered(self, work, w);
    if (req != NULL) {
        brk_next next =
            brk_policy_failed(&self->policy, &req->tries, req->command == RR_CMD_SUBMIT);
        if (next == BRK_NEXT_RETRY_LATER) {
            rr_log_info_id(req->correlation, "request %s failed (%u of %ld): retrying it later",
                           req->correlation, req->tries.failures, self->cfg.max_failures);
        }
        brk_dispatch_next(self, req, next, "failed on its last attempt");
    }
    brk_dispatch_for(self, domain);
}

// A worker's counters that cannot be shown are skipped, not fatal: they are
// for display. Logged when a worker's first bad set follows good ones, so a
// worker sending them every heartbeat writes one line, not one a second.
static void
skip_stats(brk_server *self, brk_worker *w, const char *why)
{
    if (!w->stats_refused && brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
        rr_log_warn("heartbeat counters of worker pid %u on \"%s\" skipped until they are valid: "
                    "%s",
                    w->pid, w->host, why);
    }
    w->stats_refused = true;
}

static void
on_heartbeat(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    (void) now_ms;
    if (!work->has_body) {
        return;
    }
    Rr__V1__WorkerStats *ws = NULL;
    rr_wire_error err = {0};
    if (rr_wire_unpack(zmq_msg_data(&work->body), zmq_msg_size(&work->body), &ws, &err) != RR_OK) {
        rr_wire_free(ws); // kept when only a field check failed
        skip_stats(self, w, err.message);
        return;
    }
    char why[160];
    brk_worker_brokers brokers;
    if (brk_attach_take(ws, &brokers, why, sizeof why) != RR_OK) {
        rr_wire_free(ws);
        skip_stats(self, w, why);
        return;
    }
    w->counters = (brk_worker_counters){.processed = ws->processed,
                                        .failed = ws->failed,
                                        .batches = ws->batches,
                                        .batch_items = ws->batch_items,
                                        .commits = ws->commits,
                                        .db_reconnects = ws->db_reconnects,
                                        .commit_seconds_sum = ws->commit_seconds_sum,
                                        .db_connected = ws->db_connected};
    w->brokers = brokers;
    w->stats_seen = true;
    if (w->stats_refused) {
        rr_log_info("heartbeat counters of worker pid %u on \"%s\" are valid again", w->pid,
                    w->host);
        w->stats_refused = false;
    }
    rr_wire_free(ws);
}

// The risk rules of a worker's catalogue: the latest set wins (workers of
// one database converge on the same rules within a reload).
static void
on_rules(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    (void) now_ms;
    rr_risk_rule rules[RR_RISK_MAX_RULES];
    size_t count = 0;
    if (rr_wire_rules_unpack(zmq_msg_data(&work->body), zmq_msg_size(&work->body), rules, &count) !=
        RR_OK) {
        protocol_error(self, work, w, "RULES must carry valid RiskRules");
        return;
    }
    if (count != self->risk_count || memcmp(rules, self->risk, count * sizeof rules[0]) != 0) {
        memcpy(self->risk, rules, count * sizeof rules[0]);
        self->risk_count = count;
        rr_log_info("risk rules from worker pid %u: %zu rule(s)", w->pid, count);
    }
}

static void
on_disconnect(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms)
{
    (void) work;
    (void) now_ms;
    brk_dispatch_worker_lost(self, &w, "disconnected", false);
}

typedef struct back_command {
    uint8_t command;
    bool registered; // from a registered worker only
    void (*handle)(brk_server *self, rr_wire_work *work, brk_worker *w, int64_t now_ms);
} back_command;

static const back_command COMMANDS[] = {
    {RR_WCMD_READY, false, on_ready},  {RR_WCMD_REPLY, true, on_reply},
    {RR_WCMD_FAILED, true, on_failed}, {RR_WCMD_HEARTBEAT, true, on_heartbeat},
    {RR_WCMD_RULES, true, on_rules},   {RR_WCMD_DISCONNECT, true, on_disconnect},
};

// True when the worker's key is (still) registered as a worker's.
static bool
authorized(brk_server *self, const rr_wire_work *work)
{
    const char *key = work->user_id[0] ? work->user_id : NULL;
    if (brk_auth_admission(brk_auth_principal(self->auth, key), BRK_AUTH_BACK_END) !=
        BRK_AUTH_ADMITTED) {
        if (brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
            rr_log_warn("refused a worker message from key %s: not registered (revoked?)",
                        key ? key : "?");
        }
        self->stats.unauthorized++;
        return false;
    }
    return true;
}

void
brk_back_on_work(brk_server *self, rr_wire_work *work, rr_status st, const rr_wire_error *err,
                 int64_t now_ms)
{
    const void *id = zmq_msg_data(&work->peer);
    size_t id_len = zmq_msg_size(&work->peer);
    brk_worker *w = brk_registry_find(self->registry, id, id_len);
    if (st != RR_OK) {
        protocol_error(self, work, w, err->message);
        return;
    }
    if (self->auth != NULL && !authorized(self, work)) {
        if (w != NULL) {
            brk_dispatch_worker_lost(self, &w, "was refused by authentication", false);
        }
        if (work->command != RR_WCMD_DISCONNECT) {
            brk_back_send(self, id, id_len, RR_WCMD_DISCONNECT);
        }
        return;
    }
    const back_command *cmd = NULL;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (COMMANDS[i].command == work->command) {
            cmd = &COMMANDS[i];
        }
    }
    if (cmd == NULL) {
        protocol_error(self, work, w, "a command workers do not send");
        return;
    }
    if (cmd->registered && w == NULL) {
        // A worker we do not know (broker restarted, or it was declared
        // dead): tell it to register again. Its requests went to other
        // workers when it was dropped: the center must not hear twice.
        if (work->command == RR_WCMD_REPLY || work->command == RR_WCMD_FAILED) {
            self->stats.late_replies++;
            rr_log_warn("late reply from a worker no longer registered discarded");
        }
        if (work->command != RR_WCMD_DISCONNECT) {
            brk_back_send(self, id, id_len, RR_WCMD_DISCONNECT);
        }
        return;
    }
    if (w != NULL) {
        brk_registry_touch(w, now_ms, liveness_ms(self, w));
    }
    cmd->handle(self, work, w, now_ms);
}
