// Registered workers: lookup by routing id, one round-robin list per domain
// of workers with spare credit, and the map of requests in flight by
// delivery id. Pure data structure: the caller does the I/O.
#ifndef BRK_REGISTRY_H
#define BRK_REGISTRY_H

#include "brk_monitor.h"
#include "brk_queue.h"
#include "rr_wire.h"
#include "rr_status.h"
#include "rr_vocab.h"

#include <stddef.h>
#include <stdint.h>

#define BRK_MAX_ID_BYTES 255

typedef struct brk_worker {
    uint8_t id[BRK_MAX_ID_BYTES]; // ZeroMQ routing id of the worker's socket
    size_t id_len;
    rr_domain domain;
    uint32_t credit;      // requests it takes at once
    uint32_t inflight;    // requests delivered and not answered
    int64_t expiry_ms;    // declared dead after this (monotonic ms)
    int64_t heartbeat_ms; // the interval it declared (0: the broker's)
    int64_t registered_ms;
    char host[RR_WIRE_MAX_HOST_BYTES + 1];
    char version[RR_WIRE_MAX_VERSION_BYTES + 1]; // as it reported it in READY
    bool counts_deliveries; // 0.5 or later: its REQUESTs carry the earlier deliveries
    uint32_t pid;
    uint64_t replies;                 // replies received from it
    int64_t last_seen_ms;             // anything heard from it (monotonic)
    brk_worker_counters counters;     // its own, from its last heartbeat
    bool stats_seen;                  // a heartbeat brought its counters
    bool stats_refused;               // its last counters were skipped (logged once)
    brk_worker_brokers brokers;       // its brokers, from its last heartbeat
    brk_request *deliveries;          // its in-flight requests (list through next/prev)
    struct brk_worker *rnext, *rprev; // ready list links
    bool ready;                       // in its domain's ready list (inflight < credit)
    bool solo;                        // holds a suspect request, alone, until it answers
    UT_hash_handle hh;
} brk_worker;

typedef struct brk_registry brk_registry;

// Caller frees with brk_registry_destroy, which frees every worker and
// returns every in-flight request to pool.
brk_registry *brk_registry_new(void);
void brk_registry_destroy(brk_registry **self_p, brk_pool *pool);

// The worker with this routing id, or NULL.
brk_worker *brk_registry_find(brk_registry *self, const void *id, size_t id_len);

// Registers a new worker (the id must not be registered). RR_EINVAL for an
// id longer than BRK_MAX_ID_BYTES, RR_ENOMEM when out of memory. The
// registry owns the worker; *out borrows it.
RR_NODISCARD rr_status brk_registry_add(brk_registry *self, const void *id, size_t id_len,
                                        rr_domain domain, uint32_t credit, const char *host,
                                        uint32_t pid, int64_t now_ms, brk_worker **out);

// Unregisters and frees a worker, handing its in-flight requests to the
// caller as a list (through next/prev, *orphans_p) to requeue or answer.
void brk_registry_remove(brk_registry *self, brk_worker **worker_p, brk_request **orphans_p);

// The next worker of domain with spare credit, round robin, else the next
// worker of every domain ("any", registered with RR_DOMAIN_NONE), or NULL.
// With RR_DOMAIN_NONE, any worker (round robin over domains, then "any").
brk_worker *brk_registry_next_ready(brk_registry *self, rr_domain domain);

// The next worker of domain (1..RR_DOMAIN_COUNT) holding nothing, else an
// "any" worker holding nothing, or NULL.
brk_worker *brk_registry_next_idle(brk_registry *self, rr_domain domain);

// Records that req was delivered to worker under delivery_id. With solo the
// worker gets nothing else until it has answered (it must hold nothing).
void brk_registry_assign(brk_registry *self, brk_worker *worker, brk_request *req,
                         uint64_t delivery_id, bool solo);

// Takes the in-flight request with this delivery id, delivered to worker,
// out of the map and the worker's list; the caller owns it again. NULL when
// the id is unknown or was delivered to another worker (a late reply after
// the request was redelivered).
brk_request *brk_registry_complete(brk_registry *self, brk_worker *worker, uint64_t delivery_id);

// Pushes a worker's expiry to now + liveness_ms.
void brk_registry_touch(brk_worker *worker, int64_t now_ms, int64_t liveness_ms);

// A worker whose expiry has passed, or NULL.
brk_worker *brk_registry_expired(brk_registry *self, int64_t now_ms);

// Calls fn for every worker (fn must not add or remove workers).
void brk_registry_foreach(brk_registry *self, void (*fn)(brk_worker *, void *), void *arg);

// The workers that serve domain (1..RR_DOMAIN_COUNT), "any" ones included,
// or with RR_DOMAIN_NONE the "any" ones alone; and those of them with spare
// credit.
size_t brk_registry_count(const brk_registry *self, rr_domain domain);
size_t brk_registry_ready_count(const brk_registry *self, rr_domain domain);
size_t brk_registry_inflight(const brk_registry *self);

#endif
