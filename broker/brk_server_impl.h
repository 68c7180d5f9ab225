// Inside the broker: the server's state and the functions its modules call
// on each other. Only the broker's own modules include this header:
//   brk_server.c   sockets, the poll loop, timers
//   brk_front.c    the center protocol (RRC2): admission, refusals, answers
//   brk_back.c     the worker protocol (RRW2)
//   brk_dispatch.c queues to workers, retries and losses (rules: brk_policy)
//   brk_view.c     the monitor's snapshot and STATS, both from one view
#ifndef BRK_SERVER_IMPL_H
#define BRK_SERVER_IMPL_H

#include "brk_auth.h"
#include "brk_monitor.h"
#include "brk_conns.h"
#include "brk_join.h"
#include "brk_limits.h"
#include "brk_noisy.h"
#include "brk_policy.h"
#include "brk_queue.h"
#include "brk_registry.h"
#include "brk_server.h"
#include "rr_risk.h"
#include "rr_wire.h"

#define QUEUE_ANY 0 // index of the queue for requests any worker may serve

// Principals the per-principal limits track at once (those with requests
// outstanding or queries recent enough to count); registered keys are far
// fewer (about 2,400 centers and 450 offices).
#define BRK_MAX_SENDERS 100000

// Bounds on the heartbeat interval a worker may declare.
#define BRK_MIN_HEARTBEAT_MS 50
#define BRK_MAX_HEARTBEAT_MS 60000

struct brk_server {
    brk_config cfg;
    brk_policy policy; // retry and blame limits, from cfg
    void *ctx;
    void *frontend;                      // ROUTER, centers
    void *backend;                       // ROUTER, workers
    brk_auth *auth;                      // NULL: --insecure
    brk_conns *front_conns, *back_conns; // connection caps (brk_conns.h)
    brk_pool *pool;
    brk_limits *limits;                    // per principal; NULL: --insecure (no principals)
    brk_joins *joins;                      // submissions held, by sender and request_id
    brk_queue *queue[RR_DOMAIN_COUNT + 1]; // [QUEUE_ANY] = status and follow-up queries
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
    brk_snapshot *snap; // owned: the per-domain totals live here; views fill the rest
    int64_t next_publish_ms;
    brk_noisy noisy; // lines peers can cause: server and authentication
};

// ---- brk_front.c: centers ----

// Handles one message read from the front end (well formed or not: err
// says what was wrong when st is RR_EPROTO). Takes the call's frames.
void brk_front_on_call(brk_server *self, rr_wire_call *call, rr_status st, const rr_wire_error *err,
                       int64_t now_us);

// Answers a held request with a refusal made by the broker (its command's
// answer type, busy or rejected) and counts it. The request stays the
// caller's.
void brk_front_refuse(brk_server *self, brk_request *r, rr_wire_error *err, bool busy);

// Answers a held request busy/ESHUTDOWN and frees it.
void brk_front_refuse_shutdown(brk_server *self, brk_request **r_p);

// Passes a worker's answer on to the request's center (consumes body).
void brk_front_deliver(brk_server *self, const brk_request *r, zmq_msg_t *body);

// ---- brk_back.c: workers ----

// Handles one message read from the back end (st RR_EPROTO: malformed, err
// says why). Takes the message's frames.
void brk_back_on_work(brk_server *self, rr_wire_work *work, rr_status st, const rr_wire_error *err,
                      int64_t now_ms);

// Sends a frameless command (HEARTBEAT, DISCONNECT) to a worker.
void brk_back_send(brk_server *self, const void *id, size_t id_len, uint8_t command);

// ---- brk_dispatch.c: queues, workers, retries ----

// Queues an admitted request (answering it busy when its queue is full)
// and dispatches. Takes the request.
void brk_dispatch_admit(brk_server *self, brk_request *req);

// Frees a request the broker is done with (answered, refused or dropped):
// its count against its sender's limits and its resend index entry go with
// it. Takes the request.
void brk_dispatch_release(brk_server *self, brk_request **r_p);

// Hands queued requests of one queue to workers with spare credit.
void brk_dispatch(brk_server *self, int queue_index);

// Dispatches a domain's queue and the any-worker queue.
void brk_dispatch_for(brk_server *self, rr_domain domain);

// Applies a brk_policy decision to a request no worker holds: requeue it,
// hold it back for its backoff, queue its dead-letter delivery, or refuse it.
void brk_dispatch_next(brk_server *self, brk_request *r, brk_next next, const char *why);

// Puts held-back requests whose backoff has passed at the head of their queue.
void brk_dispatch_release_delayed(brk_server *self, int64_t now_us);

// A worker is gone: unregisters it and decides, request by request, what
// becomes of what it held. crashed: expired, unreachable or broke the
// protocol (see brk_policy_worker_lost).
void brk_dispatch_worker_lost(brk_server *self, brk_worker **worker_p, const char *why,
                              bool crashed);

// ---- brk_view.c: what operators see ----

// Fills snap's queue and worker views and counters from the live state (the
// per-domain totals are kept in self->snap as they happen).
void brk_view_fill(brk_server *self, brk_snapshot *snap, int64_t now_ms);

// Packs the STATS answer from a view filled by brk_view_fill.
RR_NODISCARD rr_status brk_view_stats(const brk_server *self, const brk_snapshot *snap,
                                      zmq_msg_t *out);

#endif
