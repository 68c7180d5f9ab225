// Priority queues as one doubly linked list per priority: push, pop and
// remove are O(1), and an empty priority costs one pointer test. A push
// that displaces lower-priority requests walks only those it displaces.
#include "brk_queue.h"

#include "rr_wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

struct brk_pool {
    brk_request *free; // singly linked through next
    size_t free_count;
};

// Records kept for reuse beyond this are freed: a burst leaves no permanent
// footprint above the steady state.
#define POOL_KEEP_MAX 4096

brk_pool *
brk_pool_new(void)
{
    return calloc(1, sizeof(brk_pool));
}

void
brk_pool_destroy(brk_pool **self_p)
{
    assert(self_p != NULL);
    brk_pool *self = *self_p;
    if (self == NULL) {
        return;
    }
    while (self->free != NULL) {
        brk_request *r = self->free;
        self->free = r->next;
        free(r);
    }
    free(self);
    *self_p = NULL;
}

brk_request *
brk_pool_get(brk_pool *self)
{
    brk_request *r = self->free;
    if (r != NULL) {
        self->free = r->next;
        self->free_count--;
        memset(r, 0, sizeof *r);
    } else {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return NULL;
        }
    }
    int rc = zmq_msg_init(&r->client_id);
    assert(rc == 0);
    rc = zmq_msg_init(&r->body);
    assert(rc == 0);
    (void) rc;
    return r;
}

void
brk_pool_put(brk_pool *self, brk_request **req_p)
{
    brk_request *r = *req_p;
    if (r == NULL) {
        return;
    }
    rr_msg_close(&r->client_id);
    rr_msg_close(&r->body);
    if (self->free_count < POOL_KEEP_MAX) {
        r->next = self->free;
        self->free = r;
        self->free_count++;
    } else {
        free(r);
    }
    *req_p = NULL;
}

struct brk_queue {
    brk_request *head[RR_PRIORITY_COUNT + 1]; // index by priority; 0 unused
    size_t depth_at[RR_PRIORITY_COUNT + 1];
    size_t depth;
    size_t max;
    size_t bytes;     // sum of brk_queue_cost of the queued requests
    size_t max_bytes; // the budget for bytes
    unsigned fair_every;
    unsigned pops; // pops since the last one that took the oldest of all
};

size_t
brk_queue_cost(const brk_request *req)
{
    return zmq_msg_size(&req->body) + BRK_QUEUE_RECORD_BYTES;
}

brk_queue *
brk_queue_new(size_t max, size_t max_bytes, unsigned fair_every)
{
    brk_queue *self = calloc(1, sizeof *self);
    if (self != NULL) {
        self->max = max;
        self->max_bytes = max_bytes;
        self->fair_every = fair_every;
    }
    return self;
}

void
brk_queue_destroy(brk_queue **self_p, brk_pool *pool)
{
    assert(self_p != NULL);
    brk_queue *self = *self_p;
    if (self == NULL) {
        return;
    }
    brk_request *r;
    while ((r = brk_queue_pop(self)) != NULL) {
        brk_pool_put(pool, &r);
    }
    free(self);
    *self_p = NULL;
}

static int
clamp_priority(int p)
{
    return (p < 1 || p > RR_PRIORITY_COUNT) ? RR_PRIORITY_ROUTINE : p;
}

static bool
fits(const brk_queue *self, size_t depth, size_t bytes, size_t cost)
{
    return depth < self->max && cost <= self->max_bytes && bytes <= self->max_bytes - cost;
}

// Links req in at its priority's tail (or head) and counts it.
static void
link_in(brk_queue *self, brk_request *req, bool front)
{
    int p = clamp_priority(req->priority);
    req->priority = (uint8_t) p;
    if (front) {
        DL_PREPEND(self->head[p], req);
    } else {
        DL_APPEND(self->head[p], req);
    }
    self->depth_at[p]++;
    self->depth++;
    self->bytes += brk_queue_cost(req);
}

// The next request to displace after prev (NULL: the first): walking the
// priorities below `below` from the lowest up, each from its newest back
// to its oldest. NULL when none is left.
static brk_request *
next_displaced(const brk_queue *self, const brk_request *prev, int below)
{
    int p = 1;
    if (prev != NULL) {
        if (prev != self->head[prev->priority]) {
            return prev->prev; // an older one of the same priority
        }
        p = prev->priority + 1;
    }
    for (; p < below; p++) {
        if (self->head[p] != NULL) {
            return self->head[p]->prev; // a list head's prev is its tail
        }
    }
    return NULL;
}

rr_status
brk_queue_push(brk_queue *self, brk_request *req, brk_request **displaced)
{
    *displaced = NULL;
    int p = clamp_priority(req->priority);
    req->priority = (uint8_t) p;
    size_t cost = brk_queue_cost(req);
    // First find how many must go (the queue untouched), then take them.
    size_t depth = self->depth, bytes = self->bytes, count = 0;
    const brk_request *d = NULL;
    while (!fits(self, depth, bytes, cost)) {
        d = next_displaced(self, d, p);
        if (d == NULL) {
            return RR_EBUSY;
        }
        depth--;
        bytes -= brk_queue_cost(d);
        count++;
    }
    for (size_t i = 0; i < count; i++) {
        brk_request *out = next_displaced(self, NULL, p);
        brk_queue_remove(self, out);
        DL_APPEND(*displaced, out);
    }
    link_in(self, req, false);
    return RR_OK;
}

void
brk_queue_push_front(brk_queue *self, brk_request *req)
{
    link_in(self, req, true);
}

brk_request *
brk_queue_pop(brk_queue *self)
{
    int pick = 0;   // the highest non-empty priority
    int oldest = 0; // the priority whose head waited longest
    for (int p = RR_PRIORITY_COUNT; p >= 1; p--) {
        brk_request *r = self->head[p];
        if (r == NULL) {
            continue;
        }
        if (pick == 0) {
            pick = p;
        }
        if (oldest == 0 || r->enqueued_us < self->head[oldest]->enqueued_us) {
            oldest = p;
        }
    }
    if (pick == 0) {
        return NULL;
    }
    self->pops++;
    if (self->fair_every > 0 && self->pops >= self->fair_every) {
        pick = oldest;
    }
    if (pick == oldest) {
        self->pops = 0; // the oldest is served: the starvation count starts again
    }
    brk_request *r = self->head[pick];
    brk_queue_remove(self, r);
    return r;
}

brk_request *
brk_queue_peek_oldest(const brk_queue *self, int priority)
{
    assert(priority >= 1 && priority <= RR_PRIORITY_COUNT);
    return self->head[priority];
}

void
brk_queue_remove(brk_queue *self, brk_request *req)
{
    int p = req->priority;
    assert(p >= 1 && p <= RR_PRIORITY_COUNT && self->depth_at[p] > 0);
    size_t cost = brk_queue_cost(req);
    assert(self->bytes >= cost);
    DL_DELETE(self->head[p], req);
    req->next = req->prev = NULL;
    self->depth_at[p]--;
    self->depth--;
    self->bytes -= cost;
}

size_t
brk_queue_depth(const brk_queue *self)
{
    return self->depth;
}

size_t
brk_queue_depth_at(const brk_queue *self, int priority)
{
    assert(priority >= 1 && priority <= RR_PRIORITY_COUNT);
    return self->depth_at[priority];
}

size_t
brk_queue_max(const brk_queue *self)
{
    return self->max;
}

size_t
brk_queue_bytes(const brk_queue *self)
{
    return self->bytes;
}

size_t
brk_queue_max_bytes(const brk_queue *self)
{
    return self->max_bytes;
}
