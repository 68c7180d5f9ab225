// A worker's answer to RATE (issue 18): decode, check who acts, record the
// client's satisfaction with a completed referral (record_rating,
// migration 0020), pack the reply with the outcome byte the broker counts.
#ifndef WRK_RATE_H
#define WRK_RATE_H

#include "rr_wire.h"
#include "wrk_session.h"
#include "wrk_store.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

typedef struct wrk_rating {
    bool replayed;       // recorded before with the same content
    uint32_t score;      // as recorded
    int64_t rated_at_ms; // Unix ms, UTC
} wrk_rating;

// Records r (referral_id already parsed into referral) as actor
// ("center:941"). RR_OK fills out. Otherwise err names the field and why:
// RR_ENOTFOUND (no such center; no such referral or another center's),
// RR_EPERM (another center's referral this one was shown by a duplicate
// answer), RR_ESTATE (not completed), RR_ECONFLICT (the rating_id used for
// other content, or the referral already rated), RR_EDB (the database
// away: retry), RR_EAGAIN (serialization: retry), RR_EINTERNAL.
RR_NODISCARD rr_status wrk_store_rate(wrk_store *self, const Rr__V1__RateRequest *r,
                                      int64_t referral, const char *actor, wrk_rating *out,
                                      rr_wire_error *err);

// Initialises *reply with the answer to job and sets job->outcome (the
// outcome bytes are DONATE's, wrk_nbhd.h).
void wrk_query_rate(wrk_store *store, wrk_job *job, zmq_msg_t *reply);

#endif
