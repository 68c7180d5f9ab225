// What operators see, built once: brk_view_fill reads the live queues,
// workers and counters into a snapshot, and both the HTTP monitor (through
// the board) and the STATS answer are made from that snapshot.
#include "brk_server_impl.h"

#include "rr_clock.h"

#include <string.h>
#include <utlist.h>

static void
view_worker(brk_worker *w, void *arg)
{
    void **ctx = arg;
    brk_snapshot *snap = ctx[0];
    const int64_t *now = ctx[1];
    // A worker of every domain counts in each: it serves each of them.
    int first = w->domain == RR_DOMAIN_NONE ? 1 : w->domain;
    int last = w->domain == RR_DOMAIN_NONE ? RR_DOMAIN_COUNT : w->domain;
    for (int d = first; d <= last; d++) {
        brk_queue_view *q = &snap->queue[d];
        q->workers++;
        if (w->inflight == 0) {
            q->workers_idle++;
        }
        if (w->inflight < w->credit) {
            q->workers_ready++;
        }
    }
    if (w->domain != RR_DOMAIN_NONE) {
        snap->queue[w->domain].inflight += w->inflight;
    } else {
        const brk_request *r;
        DL_FOREACH(w->deliveries, r) // each in its own domain's row
        {
            snap->queue[r->domain].inflight++;
        }
    }
    if (snap->nworkers == BRK_SNAP_MAX_WORKERS) {
        return; // the list is capped; the per-domain sums above are not
    }
    brk_worker_view *v = &snap->workers[snap->nworkers++];
    memcpy(v->host, w->host, sizeof v->host);
    memcpy(v->version, w->version, sizeof v->version);
    v->pid = w->pid;
    v->domain = w->domain;
    v->credit = w->credit;
    v->inflight = w->inflight;
    v->last_heartbeat_age_s = (double) (*now - w->last_seen_ms) / 1000.0;
    v->registered_age_s = (double) (*now - w->registered_ms) / 1000.0;
    v->replies = w->replies;
    v->counters = w->counters;
    v->stats_seen = w->stats_seen;
    v->brokers = w->brokers;
}

void
brk_view_fill(brk_server *self, brk_snapshot *snap, int64_t now_ms)
{
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
    void *ctx[2] = {snap, &now_ms};
    brk_registry_foreach(self->registry, view_worker, ctx);
    snap->redelivered = self->stats.redelivered;
    snap->retried = self->stats.retried;
    snap->unauthorized = self->stats.unauthorized;
    snap->resends_joined = self->stats.resends_joined;
    snap->limited[0] = self->stats.limited_outstanding;
    snap->limited[1] = self->stats.limited_rate;
    snap->risk_rules = (uint32_t) self->risk_count;
    snap->dead_lettered = self->stats.dead_lettered;
    snap->late_replies = self->stats.late_replies;
    snap->undeliverable = self->stats.undeliverable;
    snap->protocol_errors = self->stats.protocol_errors;
    snap->replied = self->stats.replied;
    snap->refused_busy = self->stats.busy;
    snap->refused_rejected = self->stats.rejected;
    memcpy(snap->donations, self->stats.donations, sizeof snap->donations);
    memcpy(snap->neighbourhood, self->stats.neighbourhood, sizeof snap->neighbourhood);
    memcpy(snap->ratings, self->stats.ratings, sizeof snap->ratings);
    brk_conns *conns[2] = {self->front_conns, self->back_conns};
    for (int i = 0; i < 2; i++) {
        brk_conns_counts c = brk_conns_count(conns[i]);
        snap->conns_open[i] = c.open;
        snap->conns_refused_total[i] = c.refused_total;
        snap->conns_refused_addr[i] = c.refused_addr;
    }
}

rr_status
brk_view_stats(const brk_server *self, const brk_snapshot *snap, zmq_msg_t *out)
{
    (void) self;
    Rr__V1__BrokerStats bs = RR__V1__BROKER_STATS__INIT;
    Rr__V1__QueueStats qs[RR_DOMAIN_COUNT + 1];
    Rr__V1__QueueStats *qp[RR_DOMAIN_COUNT + 1];
    uint32_t by_priority[RR_DOMAIN_COUNT + 1][RR_PRIORITY_COUNT];
    uint32_t inflight = 0;
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        const brk_queue_view *q = &snap->queue[d];
        rr__v1__queue_stats__init(&qs[d]);
        qs[d].domain = (Rr__V1__Domain) d;
        double oldest = 0;
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            by_priority[d][p - 1] = q->ready[p];
            qs[d].depth += q->ready[p];
            oldest = q->oldest_age_s[p] > oldest ? q->oldest_age_s[p] : oldest;
        }
        qs[d].n_depth_by_priority = RR_PRIORITY_COUNT;
        qs[d].depth_by_priority = by_priority[d];
        qs[d].oldest_age_seconds = oldest;
        qs[d].workers = q->workers;
        qs[d].workers_ready = q->workers_ready;
        qs[d].received_total = q->received;
        inflight += q->inflight;
        qp[d] = &qs[d];
    }
    bs.n_queues = RR_DOMAIN_COUNT + 1;
    bs.queues = qp;
    bs.inflight = inflight;
    bs.replied_total = snap->replied;
    bs.busy_total = snap->refused_busy;
    bs.rejected_total = snap->refused_rejected;
    bs.redelivered_total = snap->redelivered;
    bs.dead_lettered_total = snap->dead_lettered;
    bs.late_replies_total = snap->late_replies;
    bs.undeliverable_total = snap->undeliverable;
    bs.protocol_errors_total = snap->protocol_errors;
    bs.uptime_seconds = snap->uptime_s;
    return rr_wire_pack(&bs.base, out);
}
