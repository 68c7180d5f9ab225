// Pending requests: the request record, a recycling pool of records, and
// one priority queue per domain, bounded by a count and by bytes, where a
// request of higher priority displaces the newest ones of lower priority.
// Within a priority, senders take turns (round robin, FIFO per sender), so
// a center with a thousand waiting requests cannot starve one with one.
// Pure data structure: no sockets, no clock reads.
#ifndef BRK_QUEUE_H
#define BRK_QUEUE_H

#include "brk_policy.h"
#include "rr_keys.h"
#include "rr_status.h"
#include "rr_vocab.h"
#include "rr_wire_frames.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include <zmq.h>

struct brk_worker;
struct brk_lane;
struct brk_join;

// One center request held by the broker, queued or in flight. The record
// owns client_id and body.
typedef struct brk_request {
    struct brk_request *next, *prev;         // its sender's FIFO in a queue, or a worker's list
    struct brk_request *age_next, *age_prev; // its priority's arrival order, while queued
    struct brk_lane *lane;                   // its sender's FIFO, while queued
    struct brk_join *join;                   // its resend index entry (brk_join.h), or NULL
    zmq_msg_t client_id;                     // routing id of the center's socket (owned)
    zmq_msg_t body;                          // the center's protobuf body (owned)
    uint64_t delivery_id;                    // set while in flight
    struct brk_worker *worker;               // set while in flight
    int64_t received_us;                     // when the broker first read it (monotonic)
    int64_t enqueued_us;                     // when it last entered a queue (monotonic)
    uint8_t command;                         // RR_CMD_SUBMIT, _STATUS, _UPDATE or _FOLLOW
    uint8_t domain;                          // rr_domain; RR_DOMAIN_NONE for "any worker"
    uint8_t priority;                        // rr_priority, 1..RR_PRIORITY_COUNT
    brk_attempts tries;                      // deliveries, failures, suspect, dead (brk_policy.h)
    int64_t due_us;                          // while delayed for a retry: when it may go again
    // The correlation frame the center sent, echoed in its answer.
    char correlation[RR_WIRE_MAX_CORRELATION + 1];
    // The authenticated sender ("center:941"), or "" (insecure).
    char principal[RR_PRINCIPAL_MAX + 1];
    // Whom the queue's turns and the per-sender limits count it against:
    // the principal, or without authentication the center or office the
    // body names (brk_front.c).
    char sender[RR_PRINCIPAL_MAX + 1];
    bool limited;      // counted in the per-sender limits (brk_limits.h) until released
    UT_hash_handle hh; // in-flight map, keyed by delivery_id
} brk_request;

typedef struct brk_pool brk_pool;

// A free list of records so that the hot path does not call malloc for
// each request. Caller frees with brk_pool_destroy.
brk_pool *brk_pool_new(void);
void brk_pool_destroy(brk_pool **self_p);

// A zeroed record with both frames initialised empty, or NULL when out of
// memory. The caller owns it until brk_pool_put.
brk_request *brk_pool_get(brk_pool *self);

// Closes the record's frames and keeps it for reuse. Takes ownership.
void brk_pool_put(brk_pool *self, brk_request **req_p);

typedef struct brk_queue brk_queue;

// What one waiting request is charged against its queue's byte budget
// beyond its body: the record, the body's frame header and the allocator's
// bookkeeping (128), and at most one sender FIFO and one resend index
// entry (brk_join.h) of its own. The heap's fragmentation comes on top: a
// queue full of the largest bodies measured 1.10-1.13 times its charge in
// resident memory (docs/OPERATIONS.md, "Memory and full queues").
#define BRK_QUEUE_LANE_BYTES 128
#define BRK_QUEUE_JOIN_BYTES 144
#define BRK_QUEUE_RECORD_BYTES                                                                     \
    (sizeof(brk_request) + 128 + BRK_QUEUE_LANE_BYTES + BRK_QUEUE_JOIN_BYTES)

// The bytes req is charged while it waits: its body plus
// BRK_QUEUE_RECORD_BYTES. Its body must not change while it is queued.
size_t brk_queue_cost(const brk_request *req);

// A queue holding at most max requests whose costs (brk_queue_cost) add up
// to at most max_bytes. Every fair_every-th pop takes the request that has
// waited longest, whatever its priority, so that a flood of urgent work
// cannot starve routine requests (0: strict priority). Caller frees with
// brk_queue_destroy, which returns every queued record to pool.
//
// Within a priority each sender (brk_request.sender) has its own FIFO, and
// the senders with waiting requests take turns: a pop serves the sender
// whose turn it is, and that sender goes to the back of the line. A
// sender's FIFO is freed when it empties. Push, pop and remove are O(1).
brk_queue *brk_queue_new(size_t max, size_t max_bytes, unsigned fair_every);
void brk_queue_destroy(brk_queue **self_p, brk_pool *pool);

// Appends req behind the others of its priority. When it does not fit
// (max requests, or max_bytes), the newest waiting requests of lower
// priority make room: the lowest priority first, newest first within it,
// as few as free enough. They leave the queue and go to the caller in
// *displaced, a list linked through next and prev (the caller owns them and
// answers them busy); *displaced is NULL when none had to go. RR_EBUSY when
// even all of the lower-priority requests would not make room, RR_ENOMEM
// when the sender's FIFO could not be allocated: then nothing changes and
// the caller keeps req. A sender new to the priority takes its turn after
// the senders already waiting.
RR_NODISCARD rr_status brk_queue_push(brk_queue *self, brk_request *req, brk_request **displaced);

// Puts a request back at the head of its priority, ignoring both bounds: it
// was admitted once already (redelivery after a worker died). Its sender's
// turn comes next. Its cost still counts. Never fails (out of memory, it
// waits in a FIFO kept for that).
void brk_queue_push_front(brk_queue *self, brk_request *req);

// Removes and returns the next request to dispatch: in the highest
// priority, the oldest of the sender whose turn it is; or on every
// fair_every-th pop the oldest of all (by enqueued_us); NULL when empty.
brk_request *brk_queue_pop(brk_queue *self);

// The request of a priority that arrived first (or was put back at its
// head) without removing it, or NULL.
brk_request *brk_queue_peek_oldest(const brk_queue *self, int priority);

// Removes a given queued request (e.g. expired). It must be in this queue.
void brk_queue_remove(brk_queue *self, brk_request *req);

size_t brk_queue_depth(const brk_queue *self);
// Senders with waiting requests, counted once per priority they wait in
// (each has a FIFO).
size_t brk_queue_senders(const brk_queue *self);
size_t brk_queue_depth_at(const brk_queue *self, int priority);
size_t brk_queue_max(const brk_queue *self);
// The sum of the queued requests' brk_queue_cost, and the budget for it.
size_t brk_queue_bytes(const brk_queue *self);
size_t brk_queue_max_bytes(const brk_queue *self);

#endif
