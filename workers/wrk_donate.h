// A worker's answer to DONATE (issue 18): decode, check who acts, record
// the donation in the ledger (record_donation, migration 0018), pack the
// reply with the outcome byte the broker counts.
#ifndef WRK_DONATE_H
#define WRK_DONATE_H

#include "rr_wire.h"
#include "wrk_session.h"
#include "wrk_store.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

// The outcome byte of a DONATE REPLY (docs/PROTOCOL.md, section 6).
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

#endif
