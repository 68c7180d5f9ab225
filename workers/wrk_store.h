// The worker's PostgreSQL side: the connection (wrk_store.c, the driver),
// the catalogue load (wrk_store_catalog.c), recording referrals with their
// first event and dead letters (wrk_record.c), reads (wrk_read.c) and
// changes (wrk_update.c, checked by wrk_change.c). With the worker's
// notice receiver, the only libpq users in production code.
#ifndef WRK_STORE_H
#define WRK_STORE_H

#include "referral.pb-c.h"
#include "rr_status.h"
#include "rr_uuid.h"
#include "rr_vocab.h"
#include "rr_wire.h"
#include "wrk_catalog.h"
#include "wrk_change.h"
#include "wrk_pgcause.h"
#include "wrk_route.h"
#include "wrk_validate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wrk_store wrk_store;

// A store for conninfo (a libpq connection string or URI), not yet
// connected. NULL when out of memory. Caller frees with wrk_store_destroy.
wrk_store *wrk_store_new(const char *conninfo, const char *application_name);
void wrk_store_destroy(wrk_store **self_p);

// Sets a function the store calls at least every 200 ms while it waits
// on the database (to keep the broker's heartbeats going); NULL for none.
void wrk_store_set_keepalive(wrk_store *self, void (*fn)(void *), void *arg);

// Connects if not connected: pins search_path and prepares the statements.
// Attempts are spaced by a growing backoff (100 ms to 5 s): within it this
// returns RR_EDB at once. RR_OK when connected, RR_EDB otherwise (logged).
RR_NODISCARD rr_status wrk_store_ensure(wrk_store *self);

// Counters since start: commits made, seconds spent waiting for them, and
// reconnections after the first connection.
void wrk_store_counters(const wrk_store *self, uint64_t *commits, double *commit_seconds,
                        uint64_t *reconnects);

// True while the connection is up as far as libpq knows.
bool wrk_store_connected(const wrk_store *self);

// True when the catalogue may have changed since the last call: a
// "referral_catalog" notification arrived, or the connection was re-made
// (notifications sent while away are lost). Costs no round trip.
bool wrk_store_catalog_changed(wrk_store *self);

// Loads services, centers, offices and active routing rules into a new
// catalogue (*out, caller frees with wrk_catalog_destroy). RR_EDB on failure.
RR_NODISCARD rr_status wrk_store_load_catalog(wrk_store *self, wrk_catalog **out);

// One submission to record; everything is borrowed.
typedef struct wrk_submission {
    const Rr__V1__SubmitRequest *req;
    const wrk_submit_facts *facts;
    const wrk_route_decision *route;
    rr_domain domain;
    rr_priority priority; // effective: raised by risk rules from facts->priority
} wrk_submission;

// What the database holds for a submission's request_id after recording.
typedef struct wrk_recorded {
    int64_t referral_id;
    bool inserted;        // false: an earlier attempt recorded it
    bool duplicate;       // the need's open referral, named by a duplicate answer
    uint32_t center_code; // as stored
    char household_id[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    char service_code[RR_WIRE_MAX_SERVICE_BYTES + 1];
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1];
    char office_name_en[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    char office_name_fa[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    rr_ref_state status;
    int64_t created_at_ms;
    uint32_t version;
    // Non-empty: this request_id was answered before for a request that
    // differed in this field ("national_id", "note", ...): refuse it.
    char conflict[16];
    // When the database refused it for good (item_status RR_EINTERNAL):
    // the SQLSTATE and wrk_pgcause's text, for its dead letter.
    char sqlstate[6];
    char cause[WRK_PGCAUSE_CAP];
} wrk_recorded;

// Records each submission with its household, person and first event, each
// committed before this returns. item_status[i] is RR_OK with out[i] filled
// once the row is durably committed (new, the stored answer to the same
// request_id, or, with out[i].duplicate, the open referral for the same
// person or household and service, which is not changed, the duplicate
// answer being recorded); out[i].conflict set means the request_id was
// answered before for other content; RR_EDB when the
// database was unavailable (nothing to acknowledge: the center retries);
// another code with item_err[i] set when the row was refused for good.
// Designed for batches: items are independent.
void wrk_store_record(wrk_store *self, const wrk_submission *subs, size_t n, wrk_recorded *out,
                      rr_status *item_status, rr_wire_error *item_err);

#define WRK_STATUS_MAX_EVENTS 200

typedef struct wrk_event {
    uint64_t id;
    uint64_t seq; // 0 until sequenced for follow-up
    int64_t referral_id;
    char request_id[RR_UUID_TEXT_LEN + 1];
    char service_code[RR_WIRE_MAX_SERVICE_BYTES + 1];
    char kind[RR_WIRE_MAX_KIND_BYTES + 1];
    rr_ref_state from, to;
    char actor[RR_WIRE_MAX_ACTOR_BYTES + 1];
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1]; // owner after the event
    char reason[RR_WIRE_MAX_REASON_BYTES + 1];
    int64_t at_ms;
} wrk_event;

// One referral with its history, as read for a status query.
typedef struct wrk_status {
    int64_t referral_id;
    char request_id[RR_UUID_TEXT_LEN + 1];
    uint32_t center_code;
    char household_id[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    char service_code[RR_WIRE_MAX_SERVICE_BYTES + 1];
    rr_domain domain;
    rr_priority priority;
    rr_ref_state status;
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1];
    char office_name_en[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    char office_name_fa[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    uint32_t version;
    int64_t created_at_ms, updated_at_ms;
    int risk_flags[RR_WIRE_MAX_RISK_FLAGS];
    size_t n_risk_flags;
    wrk_event *events; // owned; free with wrk_status_clear
    size_t n_events;
    bool answered_duplicate; // the key was a request_id answered as a duplicate of this
} wrk_status;

// Reads the referral the query names (request_id or "R-<n>"; a request_id
// answered as a duplicate names the referral its answer named). A center
// (center_code > 0) sees its own referrals and those a duplicate answer
// named to it; an office (office_code) those it owns or owned, a former
// owner the history up to the change that took the referral away; any
// other answers RR_ENOTFOUND just like a missing one.
// RR_EDB when the database failed.
// On RR_OK the caller clears *out with wrk_status_clear.
RR_NODISCARD rr_status wrk_store_status(wrk_store *self, const Rr__V1__StatusQuery *query,
                                        wrk_status *out, rr_wire_error *err);
void wrk_status_clear(wrk_status *status);

// Applies u in one transaction after checking, against the locked row: the
// domain, the actor's ownership (an office its own referrals; a center may
// only cancel its own), the version, the lifecycle table and the reason.
// On RR_OK (also when update_id was applied before: *event_id is then that
// event) the change is committed. Refusals: RR_ENOTFOUND (no such referral,
// or another center's), RR_EPERM (another office's, or not the actor's move),
// RR_ECONFLICT (stale version), RR_ESTATE (the table has no such move; the
// message names the current state), RR_EINVAL (reason missing, bad forward
// target, wrong domain); RR_EDB when the database failed (the outcome may be
// unknown: retry with the same update_id).
RR_NODISCARD rr_status wrk_store_update(wrk_store *self, const wrk_update *u, uint64_t *event_id,
                                        rr_wire_error *err);

// An operator's retry of a dead letter (wrk_validate_actor lets operators
// submit for nothing else): in one transaction, finds the center's dead
// letter with this request_id (open, or retried before, whose retry then
// gets its answer again) carrying the same request, records the submission
// as wrk_store_record does with operator_principal as the actor of its
// first event (migration 0013), and marks the dead letter retried by them.
// RR_EPERM (field request_id) when there is no such dead letter or the
// request differs from it; RR_EINTERNAL (out->sqlstate and cause set) when
// the database refuses it again; RR_EDB when it is unavailable (retry).
RR_NODISCARD rr_status wrk_store_retry(wrk_store *self, const wrk_submission *sub,
                                       const char *operator_principal, wrk_recorded *out,
                                       rr_wire_error *err);

// A request that could not be processed, as a dead letter keeps it.
typedef struct wrk_dead_letter {
    const char *request_id;
    uint32_t center;
    rr_domain domain;
    const char *service;
    const void *body; // the center's request as received
    size_t size;
    const rr_wire_error *error; // what the center was answered
    unsigned attempts;          // the failed deliveries this accounts for
    const char *sqlstate;       // the database's refusal, or NULL (the workers died)
    const char *cause;          // wrk_pgcause's text, or ""
} wrk_dead_letter;

// Records dl in the dead-letter table (a retry of the same request_id adds
// its attempts to the open dead letter and replaces the cause).
// RR_ECONFLICT, storing nothing, when a referral with this request_id exists
// (the check and the insert hold the request's lock, as submit_referral
// does, so the two cannot both happen). RR_EDB when the database failed.
RR_NODISCARD rr_status wrk_store_dead_letter(wrk_store *self, const wrk_dead_letter *dl);

// Escalates up to max referrals past their acceptance deadline to their
// province office (see escalate_overdue in migration 0003); *count is how
// many. Safe to run from every worker at once. RR_EDB on failure.
RR_NODISCARD rr_status wrk_store_escalate(wrk_store *self, int max, int *count);

// One page of changes with seq > after (events committed so far are
// sequenced first), at most limit; *has_more when another page is ready.
// For center (office empty or NULL): its referrals' changes and those of
// referrals shared with it. For office: every change that left a referral
// in its hands (arrivals by submission, forward or escalation included),
// and the forward or escalation that took one away. The caller frees
// *events with free().
// An office's inbox page (InboxRequest): the referrals it owns now,
// filtered, most urgent first (priority, then oldest, then id).
typedef struct wrk_inbox_item {
    wrk_status referral; // no events
    int64_t accept_deadline_ms;
    bool overdue;
} wrk_inbox_item;

typedef struct wrk_inbox {
    wrk_inbox_item *items; // owned; wrk_inbox_clear
    size_t n_items;
    char next[RR_WIRE_MAX_INBOX_CURSOR + 1]; // "" when no page follows
    uint32_t counts[RR_REF_STATE_MAX + 1];   // every referral it owns, by state
} wrk_inbox;

// Reads the page q asks for. RR_EINVAL "after" for a cursor this did not
// write; RR_EDB; RR_ENOMEM. On RR_OK the caller clears *out.
RR_NODISCARD rr_status wrk_store_inbox(wrk_store *self, const Rr__V1__InboxRequest *q,
                                       wrk_inbox *out, rr_wire_error *err);
void wrk_inbox_clear(wrk_inbox *inbox);

RR_NODISCARD rr_status wrk_store_follow(wrk_store *self, uint32_t center, const char *office,
                                        uint64_t after, uint32_t limit, wrk_event **events,
                                        size_t *count, bool *has_more, rr_wire_error *err);

#endif
