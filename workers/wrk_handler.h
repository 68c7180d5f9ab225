// What a worker does with a batch of requests: decode and validate, route,
// record in PostgreSQL, and build each reply, which may be sent only after
// the record's COMMIT (wrk_store_record returns after it).
#ifndef WRK_HANDLER_H
#define WRK_HANDLER_H

#include "rr_risk.h"
#include "rr_status.h"
#include "rr_vocab.h"
#include "wrk_session.h"
#include "wrk_store.h"

#include <stddef.h>
#include <zmq.h>

#define WRK_MAX_BATCH 256

typedef struct wrk_handler wrk_handler;

// A handler for domain over store (borrowed: it must outlive the handler).
// A request naming an unknown center or service reloads the catalogue, at
// most once per reload_min_ms. NULL when out of memory. Caller frees with
// wrk_handler_destroy.
wrk_handler *wrk_handler_new(rr_domain domain, wrk_store *store, long reload_min_ms);
void wrk_handler_destroy(wrk_handler **self_p);

// Loads the catalogue if it is not loaded yet, or reloads it when
// PostgreSQL announced a change (no round trip otherwise). Call between
// batches, e.g. at start and on each idle loop, so the broker learns new
// risk rules soon. RR_EDB when no catalogue could be loaded.
RR_NODISCARD rr_status wrk_handler_prepare(wrk_handler *self);

// Copies the current catalogue's risk rules into rules (room for
// RR_RISK_MAX_RULES) and returns a number that changes with each catalogue
// load (0 while none is loaded).
uint64_t wrk_handler_risk_rules(const wrk_handler *self, rr_risk_rule *rules, size_t *count);

// Counters since start: requests answered, refused (other than busy),
// batches and the requests in them.
void wrk_handler_counters(const wrk_handler *self, uint64_t *processed, uint64_t *failed,
                          uint64_t *batches, uint64_t *items);

// Processes n jobs (n <= WRK_MAX_BATCH) and initialises replies[i] with the
// reply body for jobs[i]; the caller sends or closes each. Never fails as a
// whole: each reply carries its own outcome.
void wrk_handler_process(wrk_handler *self, wrk_job *jobs, size_t n, zmq_msg_t *replies);

#endif
