// A worker's answers to the neighbourhood side's field work (issue 18):
// PROFILE and TRUSTEE here, FINDING in wrk_finding.c, and the path they
// share with DONATE (wrk_donate.c). Each decodes, checks
// who acts, runs one database function of migration 0019 (one statement,
// its own transaction: the answer is read after its COMMIT) and packs the
// reply with the outcome byte the broker counts.
#ifndef WRK_NBHD_H
#define WRK_NBHD_H

#include "rr_wire.h"
#include "wrk_session.h"
#include "wrk_store.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <zmq.h>

// The outcome byte of these REPLYs: as DONATE's (wrk_donate.h).
enum {
    WRK_NBHD_RECORDED = 1,
    WRK_NBHD_REPLAYED = 2,
    WRK_NBHD_REFUSED = 3,
    WRK_NBHD_BUSY = 4,
};

// Runs the prepared statement name with values; the function answers
// (outcome, field, message, replayed, ...). On RR_OK *res_p holds that row
// (caller PQclears it). Otherwise err names the field and why:
// RR_ECONFLICT, RR_ENOTFOUND, RR_ESTATE, RR_EPERM, RR_EINVAL (the
// database's refusals), RR_EDB (the database away: retry), RR_EAGAIN
// (serialization or a concurrent copy: retry), RR_EINTERNAL. what and id
// name the record in messages and the log ("profile update", its id).
RR_NODISCARD rr_status wrk_nbhd_exec(wrk_store *store, const char *name, int nparams,
                                     const char *const *values, const char *what, const char *id,
                                     PGresult **res_p, rr_wire_error *err);

// The actor a center acts as ("center:941", or its key's principal), after
// wrk_check_actor; RR_EPERM on center_code for an operator's key ("cannot
// record WHAT as operator:…: WHY"): these records come from the center.
RR_NODISCARD rr_status wrk_nbhd_actor(const wrk_job *job, uint32_t center_code, const char *what,
                                      const char *why, char actor[RR_PRINCIPAL_MAX + 1],
                                      rr_wire_error *err);

// Packs a refusal of command for id into reply and sets job->outcome.
void wrk_nbhd_refuse(wrk_job *job, uint8_t command, const char *id, rr_status st,
                     rr_wire_error *err, zmq_msg_t *reply);

// Initialise *reply with the answer to job and set job->outcome.
void wrk_query_profile(wrk_store *store, wrk_job *job, zmq_msg_t *reply);
void wrk_query_trustee(wrk_store *store, wrk_job *job, zmq_msg_t *reply);
void wrk_query_finding(wrk_store *store, wrk_job *job, zmq_msg_t *reply);

// Whether a SUBMIT may name finding_id (finding_for_referral, migration
// 0019): RR_OK, or RR_ENOTFOUND, RR_EPERM, RR_EINVAL (another household),
// RR_ESTATE (closed, or referred by another request), RR_EDB, with err
// naming field "finding_id". household is the request's canonical one.
RR_NODISCARD rr_status wrk_store_finding_check(wrk_store *store, const char *finding_id,
                                               uint32_t center_code, const char *household,
                                               const char *request_id, rr_wire_error *err);

#endif
