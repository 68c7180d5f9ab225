// Resends joined to the request they repeat: an index of the submissions
// the broker holds (queued, held back for a retry, or with a worker) by
// sender and request_id, and for each the latest resend still waiting for
// the one answer. Pure data structure: the caller sends the answers.
#ifndef BRK_JOIN_H
#define BRK_JOIN_H

#include "brk_queue.h"

#include <stdbool.h>
#include <zmq.h>

typedef struct brk_joins brk_joins;

// An empty index. NULL when out of memory. Caller frees with
// brk_joins_destroy, which frees the index entries (not the requests).
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
// from: the caller's frame is left empty) with correlation as the latest
// copy waiting for held's answer, in place of an earlier resend. A resend
// from held's own routing id with held's own correlation adds nothing.
void brk_joins_resend(brk_request *held, zmq_msg_t *client_id, const char *correlation);

// The latest resend to answer besides held's own sender: true with its
// routing id and correlation; false when there is none.
bool brk_joins_latest(const brk_request *held, const zmq_msg_t **client_id,
                      const char **correlation);

// Takes req out of the index (req->join set) and frees its entry.
void brk_joins_remove(brk_joins *self, brk_request *req);

// Requests indexed now.
size_t brk_joins_count(const brk_joins *self);

#endif
