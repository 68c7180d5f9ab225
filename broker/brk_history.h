// The broker's recent past for the dashboard: one sample per step of what
// the snapshots showed (queues, workers) and what happened in between
// (submissions, acknowledgements and their latency, redeliveries, dead
// letters), the newest `capacity` kept. Pure data structure: the board
// (brk_monitor) feeds it and guards it with its lock.
#ifndef BRK_HISTORY_H
#define BRK_HISTORY_H

#include "brk_monitor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brk_domain_sample {
    uint32_t ready[RR_PRIORITY_COUNT + 1];     // waiting at the sample, by priority 1..4
    float oldest_age_s;                        // the oldest waiting request, at the sample
    uint32_t workers, workers_expected;        // at the sample
    uint32_t received, acked, busy, rejected;  // during the interval (acked: accepted or duplicate)
    uint32_t latency[BRK_LATENCY_BUCKETS + 1]; // accepted submissions during the interval
} brk_domain_sample;

typedef struct brk_sample {
    int64_t t_ms;                              // wall clock at the end of the interval
    int64_t span_ms;                           // the interval's length
    uint32_t redelivered, dead_lettered;       // during the interval
    brk_domain_sample domain[RR_DOMAIN_COUNT]; // domain d at [d - 1]
} brk_sample;

typedef struct brk_history brk_history;

// NULL when out of memory. capacity >= 1 samples, step_ms >= 1. Caller frees
// with brk_history_destroy.
brk_history *brk_history_new(size_t capacity, long step_ms);
void brk_history_destroy(brk_history **self_p);

// Records a sample when step_ms of the broker's uptime have passed since the
// last one (counting from start, when every counter was 0). Returns true
// when it recorded one.
bool brk_history_feed(brk_history *self, const brk_snapshot *snap);

// Copies the samples newer than since_ms (wall clock), oldest first, into
// out (room for cap); returns how many.
size_t brk_history_copy(const brk_history *self, int64_t since_ms, brk_sample *out, size_t cap);

size_t brk_history_capacity(const brk_history *self);
long brk_history_step_ms(const brk_history *self);

// Adds b's interval to a (a is the earlier): sums what happened, keeps b's
// state at its end, the highest waiting counts and ages of both and the
// fewest workers (so a drop in either interval shows).
void brk_sample_merge(brk_sample *a, const brk_sample *b);

#endif
