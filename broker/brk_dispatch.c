// From queues to workers: admission to a queue, dispatch by credit, and
// what becomes of a request whose worker fails it or is lost (the rules are
// brk_policy's; this module applies them).
#define RR_LOG_MODULE "server"
#include "brk_server_impl.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_log.h"

#include <assert.h>
#include <string.h>
#include <utlist.h>

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

// Answers busy a request that a request of higher priority displaced from
// its full queue (brk_queue_push), and frees it.
static void
refuse_displaced(brk_server *self, brk_request **r_p, const char *queue_name)
{
    brk_request *r = *r_p;
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_EBUSY, "",
                        "could not queue request \"%s\": the %s queue is full and a request of "
                        "higher priority took its place",
                        r->correlation, queue_name);
    if (brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
        rr_log_warn_id(r->correlation,
                       "%s queue full: request %s (priority %s) gave its place to one of higher "
                       "priority, answered busy",
                       queue_name, r->correlation, rr_priority_name(r->priority));
    }
    brk_front_refuse(self, r, &err, true);
    brk_dispatch_release(self, r_p);
}

void
brk_dispatch_release(brk_server *self, brk_request **r_p)
{
    brk_request *r = *r_p;
    if (r == NULL) {
        return;
    }
    if (r->limited) {
        brk_limits_release(self->limits, r->sender, rr_clock_mono_us());
    }
    if (r->join != NULL) {
        brk_joins_remove(self->joins, r);
    }
    brk_pool_put(self->pool, r_p);
}

// Sends req to worker w and records the delivery. False when w cannot be
// reached: req is still the caller's, and so is handling w as lost.
static bool
deliver(brk_server *self, brk_worker *w, brk_request *req, bool solo)
{
    uint64_t did = self->next_delivery_id++;
    rr_status st =
        rr_wire_send_request(self->backend, w->id, w->id_len, did, req->command,
                             brk_policy_delivery_flags(&self->policy, &req->tries), &req->body,
                             req->principal, w->counts_deliveries ? (int) req->tries.attempts : -1);
    if (st != RR_OK) {
        return false;
    }
    req->tries.attempts++;
    brk_registry_assign(self->registry, w, req, did, solo);
    rr_log_debug_id(req->correlation,
                    "request %s delivered to worker pid %u (delivery %llu, attempt %u)",
                    req->correlation, w->pid, (unsigned long long) did, req->tries.attempts);
    return true;
}

void
brk_dispatch_admit(brk_server *self, brk_request *req)
{
    brk_queue *q = self->queue[req->domain];
    const char *dname = req->domain ? rr_domain_name(req->domain) : "status";
    // Nothing waiting and a worker with credit: straight to it. The queue
    // would take the request and hand it back at once (its sender's FIFO
    // made and freed, its bytes charged and refunded); with nothing
    // waiting there is no order, turn or budget to keep.
    brk_worker *unreachable = NULL;
    if (brk_queue_depth(q) == 0 && !self->draining) {
        brk_worker *w = brk_registry_next_ready(self->registry, (rr_domain) req->domain);
        if (w != NULL && deliver(self, w, req, false)) {
            self->stats.received[req->domain]++;
            return;
        }
        unreachable = w; // queued below, then the worker is handled as lost
    }
    if (brk_queue_depth(q) > 0 ||
        brk_registry_next_ready(self->registry, (rr_domain) req->domain) == NULL) {
        compact(&req->body); // it will wait
    }
    brk_request *displaced = NULL;
    rr_status pushed = brk_queue_push(q, req, &displaced);
    if (pushed != RR_OK) {
        rr_wire_error err;
        if (pushed == RR_ENOMEM) {
            (void) rr_wire_fail(&err, RR_ENOMEM, "",
                                "could not queue request \"%s\": broker out of memory",
                                req->correlation);
        } else if (brk_queue_depth(q) >= brk_queue_max(q)) {
            (void) rr_wire_fail(&err, RR_EBUSY, "",
                                "could not queue request \"%s\": the %s queue is full (%zu "
                                "waiting)",
                                req->correlation, dname, brk_queue_depth(q));
        } else {
            (void) rr_wire_fail(&err, RR_EBUSY, "",
                                "could not queue request \"%s\": the %s queue is full (%zu bytes "
                                "waiting, budget %zu bytes)",
                                req->correlation, dname, brk_queue_bytes(q),
                                brk_queue_max_bytes(q));
        }
        if (brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
            rr_log_warn_id(req->correlation, "%s queue full: request %s answered busy", dname,
                           req->correlation);
        }
        brk_front_refuse(self, req, &err, true);
        brk_dispatch_release(self, &req);
        if (unreachable != NULL) {
            brk_dispatch_worker_lost(self, &unreachable, "cannot be reached", true);
        }
        return;
    }
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(displaced, r, tmp)
    {
        DL_DELETE(displaced, r);
        r->next = r->prev = NULL;
        refuse_displaced(self, &r, dname);
    }
    self->stats.received[req->domain]++;
    if (unreachable != NULL) {
        brk_dispatch_worker_lost(self, &unreachable, "cannot be reached", true);
    }
    brk_dispatch(self, req->domain);
}

// Hands queued requests to workers with spare credit while both exist. A
// suspect (held by a worker that was lost) goes to a worker holding
// nothing, and alone, so that if that worker is lost too the blame is
// certain; the queue waits for such a worker, which takes one batch's time.
void
brk_dispatch(brk_server *self, int queue_index)
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
        bool solo = req->tries.suspect && queue_index != QUEUE_ANY;
        if (solo && w->inflight > 0) {
            w = brk_registry_next_idle(self->registry, (rr_domain) queue_index);
            if (w == NULL) {
                brk_queue_push_front(q, req);
                return;
            }
        }
        if (!deliver(self, w, req, solo)) {
            brk_queue_push_front(q, req);
            brk_dispatch_worker_lost(self, &w, "cannot be reached", true);
        }
    }
}

// The rank of a queue's most urgent request: its priority, then its age
// (lower is more urgent); false when the queue is empty.
static bool
head_rank(const brk_queue *q, int *priority, int64_t *enqueued_us)
{
    for (int p = RR_PRIORITY_COUNT; p >= 1; p--) { // stat first
        const brk_request *r = brk_queue_peek_oldest(q, p);
        if (r != NULL) {
            *priority = p;
            *enqueued_us = r->enqueued_us;
            return true;
        }
    }
    return false;
}

void
brk_dispatch_for(brk_server *self, rr_domain domain)
{
    if (domain != RR_DOMAIN_NONE) {
        brk_dispatch(self, domain);
        brk_dispatch(self, QUEUE_ANY);
        return;
    }
    // A worker of every domain had credit freed: the domains' queues in
    // the order of their most urgent requests, then the queries.
    int order[RR_DOMAIN_COUNT], prio[RR_DOMAIN_COUNT + 1];
    int64_t age[RR_DOMAIN_COUNT + 1];
    int n = 0;
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        if (!head_rank(self->queue[d], &prio[d], &age[d])) {
            continue;
        }
        int at = n++;
        while (at > 0 && (prio[order[at - 1]] < prio[d] ||
                          (prio[order[at - 1]] == prio[d] && age[order[at - 1]] > age[d]))) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = d;
    }
    for (int i = 0; i < n; i++) {
        brk_dispatch(self, order[i]);
    }
    brk_dispatch(self, QUEUE_ANY);
}

// Holds a failed request back until its backoff has passed.
static void
delay(brk_server *self, brk_request *r, int64_t now_us)
{
    // The delivery counter varies enough to spread requests failed together.
    r->due_us = now_us + brk_policy_backoff_us(&self->policy, r->tries.failures,
                                               self->next_delivery_id * 2654435761u);
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

void
brk_dispatch_release_delayed(brk_server *self, int64_t now_us)
{
    while (self->delayed != NULL && self->delayed->due_us <= now_us) {
        brk_request *r = self->delayed;
        DL_DELETE(self->delayed, r);
        r->next = r->prev = NULL;
        r->enqueued_us = now_us; // its wait for a worker starts again
        brk_queue_push_front(self->queue[r->domain], r);
        brk_dispatch_for(self, (rr_domain) r->domain);
    }
}

void
brk_dispatch_next(brk_server *self, brk_request *r, brk_next next, const char *why)
{
    switch (next) {
    case BRK_NEXT_REQUEUE:
        brk_queue_push_front(self->queue[r->domain], r);
        return;
    case BRK_NEXT_RETRY_LATER:
        delay(self, r, rr_clock_mono_us());
        return;
    case BRK_NEXT_DEAD_LETTER:
        // The next worker records it as a dead letter (or answers with the
        // referral, if one attempt committed it).
        rr_log_error_id(r->correlation, "request %s %s: dead-lettering it", r->correlation, why);
        r->enqueued_us = rr_clock_mono_us(); // not expired before a worker records it
        brk_queue_push_front(self->queue[r->domain], r);
        return;
    case BRK_NEXT_GIVE_UP: {
        // Busy, not rejected: one of those workers may have committed it
        // before dying, and a retry with the same request_id finds out.
        rr_wire_error err;
        (void) rr_wire_fail(&err, RR_EINTERNAL, "",
                            "could not process request \"%s\": %u workers failed on it",
                            r->correlation, r->tries.attempts);
        rr_log_error_id(r->correlation, "request %s given up: %s", r->correlation, why);
        brk_front_refuse(self, r, &err, true);
        brk_dispatch_release(self, &r);
        return;
    }
    }
}

void
brk_dispatch_worker_lost(brk_server *self, brk_worker **worker_p, const char *why, bool crashed)
{
    brk_worker *w = *worker_p;
    rr_domain domain = w->domain;
    unsigned held = w->inflight;
    rr_log_warn("worker pid %u on \"%s\" (%s) %s: requeueing %u request(s)", w->pid, w->host,
                rr_domain_or_any(domain), why, held);
    brk_request *orphans = NULL;
    brk_registry_remove(self->registry, worker_p, &orphans);
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(orphans, r, tmp)
    {
        DL_DELETE(orphans, r);
        r->next = r->prev = NULL;
        if (self->draining) {
            brk_front_refuse_shutdown(self, &r);
            continue;
        }
        brk_next next = brk_policy_worker_lost(&self->policy, &r->tries, crashed, held,
                                               r->command == RR_CMD_SUBMIT);
        if (next == BRK_NEXT_REQUEUE || next == BRK_NEXT_RETRY_LATER) {
            self->stats.redelivered++;
        }
        char why_given_up[64];
        (void) rr_format(why_given_up, sizeof why_given_up, "failed on %u workers",
                         r->tries.attempts);
        brk_dispatch_next(self, r, next, why_given_up);
    }
    brk_dispatch_for(self, domain);
}
