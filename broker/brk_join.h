// Resends joined to the request they repeat: an index of the submissions
// the broker holds (queued, held back for a retry, or with a worker) by
// sender and request_id, and for each the resends waiting for its one
// answer (their routing ids and correlations). Pure data structure: the
// caller sends the answers.
#ifndef BRK_JOIN_H
#define BRK_JOIN_H

#include "brk_queue.h"
#include "rr_wire_frames.h"

#include <stdbool.h>
#include <zmq.h>

typedef struct brk_joins brk_joins;

// One resend waiting for the answer of the request it repeats.
typedef struct brk_waiter {
    struct brk_waiter *next;
    zmq_msg_t client_id; // its connection's routing id (owned)
    char correlation[RR_WIRE_MAX_CORRELATION + 1];
} brk_waiter;

// Resends kept waiting per request, and in all: beyond either a resend is
// queued as its own copy (the database answers it), so the waiters' memory
// (about 150 bytes each) stays bounded whatever the centers send.
#define BRK_JOIN_MAX_PER_REQUEST 16
#define BRK_JOIN_MAX_WAITERS     65536

// An empty index. NULL when out of memory. Caller frees with
// brk_joins_destroy, which frees the index entries and their waiters (not
// the requests).
brk_joins *brk_joins_new(void);
void brk_joins_destroy(brk_joins **self_p);

// Indexes req, a SUBMIT whose request_id is request_id, under req->sender,
// and sets req->join. RR_ENOMEM: not indexed (a resend of it then queues
// a copy, as any request). RR_ESTATE: that sender and request_id are
// indexed already (for another copy, whose body differs).
RR_NODISCARD rr_status brk_joins_add(brk_joins *self, brk_request *req, const char *request_id);

// The request held for sender's request_id, or NULL.
brk_request *brk_joins_find(const brk_joins *self, const char *sender, const char *request_id);

// Whether a resend (command, body) may join held instead of being queued:
// only a SUBMIT whose body is byte for byte held's. A resend that differs
// (same request_id, other content) is queued, so that the database answers
// the conflict (ECONFLICT) instead of the first request's answer hiding it.
bool brk_joins_same(const brk_request *held, uint8_t command, const zmq_msg_t *body);

// Records a resend of held (which must be indexed) from client_id (moved
// from: the caller's frame is left empty) with correlation as waiting for
// held's answer. A resend from a routing id and correlation already
// waiting (or held's own) adds nothing. False when the bounds (or memory)
// leave no room: nothing changes, and the caller queues the resend.
RR_NODISCARD bool brk_joins_resend(brk_joins *self, brk_request *held, zmq_msg_t *client_id,
                                   const char *correlation);

// The resends waiting for held's answer, besides held's own sender (a list
// through next, oldest first; NULL when none). Owned by the index.
const brk_waiter *brk_joins_waiters(const brk_request *held);

// Takes req out of the index (req->join set) and frees its entry.
void brk_joins_remove(brk_joins *self, brk_request *req);

// Requests indexed now, and resends waiting in all.
size_t brk_joins_count(const brk_joins *self);
size_t brk_joins_waiting(const brk_joins *self);

#endif
