// A worker's answer to DONATE (issue 18): decode, check who acts, record
// the donation in the ledger (record_donation, migration 0018), pack the
// reply with the outcome byte the broker counts.
#ifndef WRK_DONATE_H
#define WRK_DONATE_H

#include "rr_wire.h"
#include "wrk_session.h"
#include "wrk_store.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

// The outcome byte of a DONATE or RATE REPLY (docs/PROTOCOL.md, section 6).
enum {
    WRK_DONATE_RECORDED = 1,
    WRK_DONATE_REPLAYED = 2,
    WRK_DONATE_REFUSED = 3,
    WRK_DONATE_BUSY = 4,
};

typedef struct wrk_donation {
    bool replayed; // recorded before with the same content
    uint64_t earmark_id;
    char earmark[64]; // "neighbourhood:12", "county:2301", ...
    char province[3];
    int64_t recorded_at_ms; // Unix ms, UTC
} wrk_donation;

// Records d as actor ("center:941"). RR_OK fills out. Otherwise err names
// the field and why: RR_ECONFLICT (the id or the bank reference used for
// another donation), RR_ENOTFOUND, RR_ESTATE (inactive center), RR_EPERM
// (a neighbourhood the center does not serve, another county), RR_EDB (the
// database away: retry), RR_EAGAIN (serialization: retry), RR_EINTERNAL.
RR_NODISCARD rr_status wrk_store_donate(wrk_store *self, const Rr__V1__DonateRequest *d,
                                        const char *actor, wrk_donation *out, rr_wire_error *err);

// Initialises *reply with the answer to job and sets job->outcome.
void wrk_query_donate(wrk_store *store, wrk_job *job, zmq_msg_t *reply);

// Runs statement (n values), a database function that records what a
// center sent (record_donation, record_rating: one row, "outcome, field,
// message, ..."), in its own implicit transaction. RR_OK with *res_p the
// row (caller PQclears it) when the outcome is "ok"; otherwise *res_p is
// NULL and err says why, naming kind ("donation") and id: the function's
// refusal word as RR_ECONFLICT, RR_ENOTFOUND, RR_ESTATE or RR_EPERM with
// its field and message; RR_EDB (database away), RR_EAGAIN (serialization
// or deadlock: retry), RR_EINTERNAL (logged).
RR_NODISCARD rr_status wrk_store_record_call(wrk_store *self, const char *statement, int n,
                                             const char *const *values, const char *kind,
                                             const char *id, PGresult **res_p, rr_wire_error *err);

// The actor a center's record is written as: the key's principal, or
// "center:<center_code>" without authentication (--insecure).
void wrk_center_actor(const wrk_job *job, uint32_t center_code, char actor[RR_PRINCIPAL_MAX + 1]);

#endif
