// History ring. Counters since start are turned into per-interval deltas
// here, once, so a sample stays meaningful after the ring wraps.
#include "brk_history.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct brk_history {
    brk_sample *ring;             // owned, capacity entries
    size_t capacity, head, count; // head: where the next sample goes
    long step_ms;
    double last_uptime_s;
    // The counters at the last sample.
    brk_domain_totals totals[RR_DOMAIN_COUNT + 1];
    uint64_t received[RR_DOMAIN_COUNT + 1];
    uint64_t redelivered, dead_lettered;
};

brk_history *
brk_history_new(size_t capacity, long step_ms)
{
    assert(capacity >= 1 && step_ms >= 1);
    brk_history *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return NULL;
    }
    self->ring = calloc(capacity, sizeof *self->ring);
    if (self->ring == NULL) {
        free(self);
        return NULL;
    }
    self->capacity = capacity;
    self->step_ms = step_ms;
    return self;
}

void
brk_history_destroy(brk_history **self_p)
{
    assert(self_p != NULL);
    brk_history *self = *self_p;
    if (self == NULL) {
        return;
    }
    free(self->ring);
    free(self);
    *self_p = NULL;
}

// A counter's growth since the last sample, clamped to what a sample holds.
static uint32_t
delta(uint64_t now, uint64_t before)
{
    uint64_t d = now >= before ? now - before : 0;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t) d;
}

bool
brk_history_feed(brk_history *self, const brk_snapshot *snap)
{
    double span_s = snap->uptime_s - self->last_uptime_s;
    if (span_s * 1000.0 < (double) self->step_ms) {
        return false;
    }
    brk_sample *s = &self->ring[self->head];
    memset(s, 0, sizeof *s);
    s->t_ms = snap->taken_wall_ms;
    s->span_ms = (int64_t) (span_s * 1000.0 + 0.5);
    s->redelivered = delta(snap->redelivered, self->redelivered);
    s->dead_lettered = delta(snap->dead_lettered, self->dead_lettered);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        const brk_queue_view *q = &snap->queue[d];
        const brk_domain_totals *now = &snap->totals[d], *was = &self->totals[d];
        brk_domain_sample *ds = &s->domain[d - 1];
        double oldest = 0;
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            ds->ready[p] = q->ready[p];
            oldest = q->oldest_age_s[p] > oldest ? q->oldest_age_s[p] : oldest;
        }
        ds->oldest_age_s = (float) oldest;
        ds->workers = q->workers;
        ds->workers_expected = q->workers_expected;
        ds->received = delta(q->received, self->received[d]);
        ds->acked = delta(now->accepted + now->duplicate, was->accepted + was->duplicate);
        ds->busy = delta(now->busy, was->busy);
        ds->rejected = delta(now->rejected, was->rejected);
        for (size_t b = 0; b <= BRK_LATENCY_BUCKETS; b++) {
            ds->latency[b] = delta(now->latency.bucket[b], was->latency.bucket[b]);
        }
        self->received[d] = q->received;
    }
    memcpy(self->totals, snap->totals, sizeof self->totals);
    self->redelivered = snap->redelivered;
    self->dead_lettered = snap->dead_lettered;
    self->last_uptime_s = snap->uptime_s;
    self->head = (self->head + 1) % self->capacity;
    if (self->count < self->capacity) {
        self->count++;
    }
    return true;
}

size_t
brk_history_copy(const brk_history *self, int64_t since_ms, brk_sample *out, size_t cap)
{
    size_t first = (self->head + self->capacity - self->count) % self->capacity;
    size_t n = 0;
    for (size_t i = 0; i < self->count && n < cap; i++) {
        const brk_sample *s = &self->ring[(first + i) % self->capacity];
        if (s->t_ms > since_ms) {
            out[n++] = *s;
        }
    }
    return n;
}

size_t
brk_history_capacity(const brk_history *self)
{
    return self->capacity;
}

long
brk_history_step_ms(const brk_history *self)
{
    return self->step_ms;
}

static uint32_t
add_clamped(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

void
brk_sample_merge(brk_sample *a, const brk_sample *b)
{
    a->t_ms = b->t_ms;
    a->span_ms += b->span_ms;
    a->redelivered = add_clamped(a->redelivered, b->redelivered);
    a->dead_lettered = add_clamped(a->dead_lettered, b->dead_lettered);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        brk_domain_sample *x = &a->domain[d - 1];
        const brk_domain_sample *y = &b->domain[d - 1];
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            x->ready[p] = y->ready[p] > x->ready[p] ? y->ready[p] : x->ready[p];
        }
        x->oldest_age_s = y->oldest_age_s > x->oldest_age_s ? y->oldest_age_s : x->oldest_age_s;
        x->workers = y->workers < x->workers ? y->workers : x->workers; // a drop shows
        x->workers_expected = y->workers_expected;
        x->received = add_clamped(x->received, y->received);
        x->acked = add_clamped(x->acked, y->acked);
        x->busy = add_clamped(x->busy, y->busy);
        x->rejected = add_clamped(x->rejected, y->rejected);
        for (size_t i = 0; i <= BRK_LATENCY_BUCKETS; i++) {
            x->latency[i] = add_clamped(x->latency[i], y->latency[i]);
        }
    }
}
