// What the broker shows operators: a snapshot of its queues, workers and
// counters, published by the broker loop to a board that the HTTP thread
// reads. The monitor never touches broker structures, only snapshots.
#ifndef BRK_MONITOR_H
#define BRK_MONITOR_H

#include "rr_status.h"
#include "rr_vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRK_SNAP_MAX_WORKERS 256
#define BRK_LATENCY_BUCKETS  13 // upper bounds in brk_latency_bounds_s

// Upper bounds (seconds) of the submit-to-acknowledgement latency buckets.
extern const double brk_latency_bounds_s[BRK_LATENCY_BUCKETS];

typedef struct brk_worker_view {
    char host[64];
    uint32_t pid;
    rr_domain domain;
    uint32_t credit;
    uint32_t inflight;
    double last_heartbeat_age_s; // since anything was heard from it
    double registered_age_s;
    uint64_t replies;
    // As the worker last reported them in a heartbeat.
    uint64_t processed, failed, batches, batch_items, db_reconnects;
    double commit_seconds_sum;
    uint64_t commits;
    bool stats_seen; // counters are known (exported only then: no false resets)
} brk_worker_view;

typedef struct brk_queue_view {
    uint32_t ready[RR_PRIORITY_COUNT + 1];         // by priority 1..4; [0] unused
    double oldest_age_s[RR_PRIORITY_COUNT + 1];    // 0 when none waits
    uint32_t inflight;
    uint32_t workers, workers_idle;
    uint64_t received;
} brk_queue_view;

typedef struct brk_snapshot {
    int64_t taken_wall_ms;
    double uptime_s;
    bool draining;
    brk_queue_view queue[RR_DOMAIN_COUNT + 1]; // [0]: status and follow-up queries
    // Counters since start.
    uint64_t accepted, duplicate, rejected, busy; // submission outcomes, broker's and workers'
    uint64_t redelivered, retried, unauthorized, dead_lettered, late_replies, undeliverable, protocol_errors;
    uint64_t replied, workers_expired;
    // Submit-to-acknowledgement latency: cumulative-free bucket counts (the
    // renderer accumulates), the sum and the count.
    uint64_t latency_bucket[BRK_LATENCY_BUCKETS + 1]; // last: over the largest bound
    double latency_sum_s;
    uint64_t latency_count;
    brk_worker_view workers[BRK_SNAP_MAX_WORKERS];
    size_t nworkers;
} brk_snapshot;

typedef struct brk_board brk_board;

// A board holding the latest snapshot, shared by two threads. NULL when out
// of memory. Caller frees with brk_board_destroy (after both threads stop).
brk_board *brk_board_new(void);
void brk_board_destroy(brk_board **self_p);

// Replaces the published snapshot with a copy of snap (broker thread).
void brk_board_publish(brk_board *self, const brk_snapshot *snap);

// Copies the latest snapshot into out (HTTP thread); false before the first publish.
bool brk_board_read(brk_board *self, brk_snapshot *out);

// Records one submit-to-acknowledgement latency in snap's histogram.
void brk_snapshot_observe_latency(brk_snapshot *snap, double seconds);

// Ready means every domain has at least one live worker.
bool brk_snapshot_ready(const brk_snapshot *snap);

#endif
