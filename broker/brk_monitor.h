// What the broker shows operators: a snapshot of its queues, workers and
// counters, published by the broker loop to a board that the HTTP thread
// reads. The monitor never touches broker structures, only snapshots.
#ifndef BRK_MONITOR_H
#define BRK_MONITOR_H

#include "rr_status.h"
#include "rr_vocab.h"
#include "rr_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRK_SNAP_MAX_WORKERS 256
#define BRK_LATENCY_BUCKETS  17 // upper bounds in brk_latency_bounds_s

// Upper bounds (seconds) of the submit-to-acknowledgement latency buckets.
// They reach past the default request TTL (30 s): a request can wait that
// long in a queue and still be acknowledged, and a p99 above the top
// bound would be invisible (histogram_quantile caps it there).
extern const double brk_latency_bounds_s[BRK_LATENCY_BUCKETS];

// A worker's own counters, as it last reported them in a heartbeat.
typedef struct brk_worker_counters {
    uint64_t processed, failed, batches, batch_items, commits, db_reconnects;
    double commit_seconds_sum;
    bool db_connected;
} brk_worker_counters;

// Which brokers of its --broker list a worker is attached to, as it last
// reported (known false: it did not report them, being older than that).
typedef struct brk_worker_brokers {
    bool known;
    uint32_t configured, attached, ndetached;
    char detached[RR_WIRE_MAX_BROKERS][RR_WIRE_MAX_ENDPOINT_BYTES + 1]; // as in its --broker list
} brk_worker_brokers;

typedef struct brk_worker_view {
    char host[RR_WIRE_MAX_HOST_BYTES + 1];
    char version[RR_WIRE_MAX_VERSION_BYTES + 1]; // as the worker reported it in READY
    uint32_t pid;
    rr_domain domain;
    uint32_t credit;
    uint32_t inflight;
    double last_heartbeat_age_s; // since anything was heard from it
    double registered_age_s;
    uint64_t replies;
    brk_worker_counters counters;
    bool stats_seen; // counters are known (exported only then: no false resets)
    brk_worker_brokers brokers;
} brk_worker_view;

typedef struct brk_queue_view {
    uint32_t ready[RR_PRIORITY_COUNT + 1];      // by priority 1..4; [0] unused
    double oldest_age_s[RR_PRIORITY_COUNT + 1]; // 0 when none waits
    uint32_t inflight;
    uint32_t workers, workers_idle;
    uint32_t workers_ready;    // with spare credit
    uint32_t workers_expected; // --expected-workers (0: not set)
    uint64_t received;
} brk_queue_view;

// A histogram of submit-to-acknowledgement latency: per-bucket counts (not
// cumulative; renderers accumulate), the sum and the count.
typedef struct brk_latency {
    uint64_t bucket[BRK_LATENCY_BUCKETS + 1]; // last: over the largest bound
    double sum_s;
    uint64_t count;
} brk_latency;

// Counters of one domain since start.
typedef struct brk_domain_totals {
    uint64_t accepted, duplicate, rejected, busy; // answers to submissions, broker's and workers'
    brk_latency latency;                          // of accepted submissions
    uint64_t workers_expired;                     // declared dead for missed heartbeats
} brk_domain_totals;

typedef struct brk_snapshot {
    int64_t taken_wall_ms;
    double uptime_s;
    bool draining;
    brk_queue_view queue[RR_DOMAIN_COUNT + 1]; // [0]: status and follow-up queries
    // [0]: submissions refused before their domain was known (bad frames).
    brk_domain_totals totals[RR_DOMAIN_COUNT + 1];
    // Counters since start.
    uint64_t redelivered, retried, unauthorized, dead_lettered, late_replies, undeliverable,
        protocol_errors;
    uint64_t replied;
    uint64_t resends_joined; // SUBMITs joined to the same request held already
    // Answered busy by the per-principal limits: [0] requests outstanding,
    // [1] query rate.
    uint64_t limited[2];
    uint64_t refused_busy, refused_rejected; // answers the broker made itself
    uint64_t donations[4];        // workers' DONATE answers: recorded, replayed, refused, busy
    uint64_t neighbourhood[3][4]; // PROFILE, TRUSTEE, FINDING answers: the same outcomes
    uint64_t ratings[4];          // workers' RATE answers: the same outcomes
    uint32_t risk_rules;          // the risk rules it queues by, as the workers last sent them
    // Connections per socket ([0] centers, [1] workers): open now, and
    // shut at the total and at the per-address cap since start (brk_conns).
    uint64_t conns_open[2], conns_refused_total[2], conns_refused_addr[2];
    brk_worker_view workers[BRK_SNAP_MAX_WORKERS];
    size_t nworkers;
} brk_snapshot;

typedef struct brk_board brk_board;
struct brk_sample;

// A board holding the latest snapshot and a history of history_samples
// samples, one per history_step_ms, shared by two threads. NULL when out of
// memory. Caller frees with brk_board_destroy (after both threads stop).
brk_board *brk_board_new(size_t history_samples, long history_step_ms);
void brk_board_destroy(brk_board **self_p);

// Replaces the published snapshot with a copy of snap, and records a
// history sample when one is due (broker thread).
void brk_board_publish(brk_board *self, const brk_snapshot *snap);

// Copies the latest snapshot into out (HTTP thread); false before the first publish.
bool brk_board_read(brk_board *self, brk_snapshot *out);

// Copies the history samples newer than since_ms (wall clock), oldest
// first, into out (room for cap; brk_history.h); returns how many, and the
// history's step in *step_ms (HTTP thread).
size_t brk_board_history(brk_board *self, int64_t since_ms, struct brk_sample *out, size_t cap,
                         long *step_ms);

// How many samples the history keeps.
size_t brk_board_history_capacity(const brk_board *self);

// Records one submit-to-acknowledgement latency in a histogram.
void brk_latency_observe(brk_latency *h, double seconds);

// The q-quantile (0 < q < 1) of a histogram's counts, interpolated linearly
// within the bucket as Prometheus' histogram_quantile does; capped at the
// largest bound; -1 when it holds no observation.
double brk_latency_quantile(const uint64_t bucket[BRK_LATENCY_BUCKETS + 1], double q);

// Parses --expected-workers: "N" for every domain, or "domain=N,..." (the
// domains not named expect 0). RR_EINVAL with why filled for anything else.
RR_NODISCARD rr_status brk_expected_workers_parse(const char *text,
                                                  uint32_t out[RR_DOMAIN_COUNT + 1], char *why,
                                                  size_t why_cap);

// Ready means every domain has at least one live worker.
bool brk_snapshot_ready(const brk_snapshot *snap);

#endif
