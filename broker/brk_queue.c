// Priority queues: per priority, every waiting request in arrival order
// (the aging rule, expiry and displacement read it) and, per sender, a FIFO
// with its turn in a ring (DL lists whose head is served next). Push, pop
// and remove are O(1) (a hash lookup for the sender's FIFO); a push that
// displaces lower-priority requests walks only those it displaces.
#include "brk_queue.h"

#include "rr_wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <uthash.h>

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

// One sender's waiting requests of one priority, and its place in that
// priority's turns. Keyed by the priority byte, then the sender.
typedef struct brk_lane {
    char key[RR_PRINCIPAL_MAX + 2]; // zero-padded: the hash key is every byte
    brk_request *head;              // FIFO through next/prev
    size_t depth;
    struct brk_lane *next, *prev; // the priority's turns; the head is served next
    bool spare;                   // one of brk_queue.spare: not in the table, never freed
    UT_hash_handle hh;
} brk_lane;

#define UNUSED_LANES_MAX 64

_Static_assert(sizeof(brk_lane) <= BRK_QUEUE_LANE_BYTES, "BRK_QUEUE_RECORD_BYTES charges a lane");

struct brk_queue {
    brk_request *age[RR_PRIORITY_COUNT + 1]; // index by priority (0 unused): arrival order
    brk_lane *turns[RR_PRIORITY_COUNT + 1];  // senders with waiting requests, next first
    brk_lane *lanes;                         // every lane but the spares, by key
    // Lanes freed, kept for the next sender: with workers keeping up, each
    // request makes and frees a lane, and malloc showed in the profile.
    brk_lane *unused;
    size_t nunused;
    // Where a request put back at the head waits when no lane could be
    // allocated for its sender: redelivery cannot fail.
    brk_lane spare[RR_PRIORITY_COUNT + 1];
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
        for (int p = 0; p <= RR_PRIORITY_COUNT; p++) {
            self->spare[p].spare = true;
        }
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
    assert(self->lanes == NULL); // each lane goes with its last request
    while (self->unused != NULL) {
        brk_lane *next = self->unused->next;
        free(self->unused);
        self->unused = next;
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

static void
lane_key(char key[RR_PRINCIPAL_MAX + 2], int priority, const char *sender)
{
    memset(key, 0, RR_PRINCIPAL_MAX + 2);
    key[0] = (char) priority;
    size_t n = strnlen(sender, RR_PRINCIPAL_MAX);
    memcpy(key + 1, sender, n);
}

// The lane of req's sender at req's priority, made when it has none; NULL
// when one cannot be allocated.
static brk_lane *
lane_of(brk_queue *self, const brk_request *req)
{
    char key[RR_PRINCIPAL_MAX + 2];
    lane_key(key, req->priority, req->sender);
    brk_lane *lane = NULL;
    HASH_FIND(hh, self->lanes, key, sizeof key, lane);
    if (lane == NULL && self->unused != NULL) {
        lane = self->unused;
        self->unused = lane->next;
        self->nunused--;
        memset(lane, 0, sizeof *lane);
        memcpy(lane->key, key, sizeof key);
        HASH_ADD(hh, self->lanes, key, sizeof lane->key, lane);
        return lane;
    }
    if (lane == NULL) {
        lane = calloc(1, sizeof *lane);
        if (lane == NULL) {
            return NULL;
        }
        memcpy(lane->key, key, sizeof key);
        HASH_ADD(hh, self->lanes, key, sizeof lane->key, lane);
    }
    return lane;
}

// Links req in at its lane's tail (or head) and its priority's arrival
// order, gives a lane that had nothing waiting a turn (the last one; the
// next one when front), and counts req.
static void
link_in(brk_queue *self, brk_request *req, brk_lane *lane, bool front)
{
    int p = req->priority;
    if (lane->depth == 0) {
        if (front) {
            DL_PREPEND(self->turns[p], lane);
        } else {
            DL_APPEND(self->turns[p], lane);
        }
    } else if (front && self->turns[p] != lane) {
        DL_DELETE(self->turns[p], lane);
        DL_PREPEND(self->turns[p], lane);
    }
    if (front) {
        DL_PREPEND(lane->head, req);
        DL_PREPEND2(self->age[p], req, age_prev, age_next);
    } else {
        DL_APPEND(lane->head, req);
        DL_APPEND2(self->age[p], req, age_prev, age_next);
    }
    lane->depth++;
    req->lane = lane;
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
        if (prev != self->age[prev->priority]) {
            return prev->age_prev; // an older one of the same priority
        }
        p = prev->priority + 1;
    }
    for (; p < below; p++) {
        if (self->age[p] != NULL) {
            return self->age[p]->age_prev; // a list head's prev is its tail
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
    brk_lane *lane = lane_of(self, req);
    if (lane == NULL) {
        return RR_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        brk_request *out = next_displaced(self, NULL, p);
        brk_queue_remove(self, out);
        DL_APPEND(*displaced, out);
    }
    link_in(self, req, lane, false);
    return RR_OK;
}

void
brk_queue_push_front(brk_queue *self, brk_request *req)
{
    int p = clamp_priority(req->priority);
    req->priority = (uint8_t) p;
    brk_lane *lane = lane_of(self, req);
    link_in(self, req, lane != NULL ? lane : &self->spare[p], true);
}

brk_request *
brk_queue_pop(brk_queue *self)
{
    int pick = 0;   // the highest non-empty priority
    int oldest = 0; // the priority whose first arrival waited longest
    for (int p = RR_PRIORITY_COUNT; p >= 1; p--) {
        brk_request *r = self->age[p];
        if (r == NULL) {
            continue;
        }
        if (pick == 0) {
            pick = p;
        }
        if (oldest == 0 || r->enqueued_us < self->age[oldest]->enqueued_us) {
            oldest = p;
        }
    }
    if (pick == 0) {
        return NULL;
    }
    self->pops++;
    brk_request *r;
    if (self->fair_every > 0 && self->pops >= self->fair_every) {
        r = self->age[oldest]; // the aging rule: the oldest of all, whoever sent it
        self->pops = 0;
    } else {
        brk_lane *lane = self->turns[pick];
        r = lane->head;
        if (lane->depth > 1 && lane->next != NULL) {
            DL_DELETE(self->turns[pick], lane); // its turn is over: to the back
            DL_APPEND(self->turns[pick], lane);
        }
        if (r == self->age[oldest]) {
            self->pops = 0; // the oldest is served: the starvation count starts again
        }
    }
    brk_queue_remove(self, r);
    return r;
}

brk_request *
brk_queue_peek_oldest(const brk_queue *self, int priority)
{
    assert(priority >= 1 && priority <= RR_PRIORITY_COUNT);
    return self->age[priority];
}

void
brk_queue_remove(brk_queue *self, brk_request *req)
{
    int p = req->priority;
    brk_lane *lane = req->lane;
    assert(p >= 1 && p <= RR_PRIORITY_COUNT && self->depth_at[p] > 0);
    assert(lane != NULL && lane->depth > 0);
    size_t cost = brk_queue_cost(req);
    assert(self->bytes >= cost);
    DL_DELETE(lane->head, req);
    DL_DELETE2(self->age[p], req, age_prev, age_next);
    req->next = req->prev = NULL;
    req->age_next = req->age_prev = NULL;
    req->lane = NULL;
    if (--lane->depth == 0) {
        DL_DELETE(self->turns[p], lane);
        lane->next = lane->prev = NULL;
        if (!lane->spare) {
            HASH_DEL(self->lanes, lane);
            if (self->nunused < UNUSED_LANES_MAX) {
                lane->next = self->unused;
                self->unused = lane;
                self->nunused++;
            } else {
                free(lane);
            }
        }
    }
    self->depth_at[p]--;
    self->depth--;
    self->bytes -= cost;
}

size_t
brk_queue_senders(const brk_queue *self)
{
    size_t n = HASH_COUNT(self->lanes);
    for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
        n += self->spare[p].depth > 0;
    }
    return n;
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
