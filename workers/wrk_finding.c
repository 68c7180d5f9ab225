// FINDING (record or close a household in need found in the field), and
// the check a SUBMIT naming a finding passes before it is recorded; the
// link itself is written by the recording statement (wrk_record.c).
#define RR_LOG_MODULE "finding"
#include "wrk_nbhd.h"

#include "rr_format.h"
#include "rr_log.h"
#include "rr_natid.h"
#include "wrk_queries.h"
#include "wrk_store_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
null_if_empty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

// The finding's canonical fields and the statement's values.
static rr_status
finding_params(const Rr__V1__FindingRequest *f, const char *actor, char center[16],
               char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1], char natid[RR_NATID_LEN + 1],
               const char *v[10], rr_wire_error *err)
{
    rr_format_fits(center, 16, "%u", f->center_code);
    v[0] = f->finding_id;
    v[1] = center;
    if (f->action == RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE) {
        v[2] = f->reason;
        v[3] = actor;
        return RR_OK;
    }
    rr_status st = rr_wire_household_canon(f->household_id, household, err);
    if (st != RR_OK) {
        return st;
    }
    const char *why = NULL;
    natid[0] = '\0';
    if (f->national_id != NULL && f->national_id[0] != '\0' &&
        rr_natid_normalize(f->national_id, natid, &why) != RR_OK) {
        return rr_wire_fail(err, RR_EINVAL, "national_id", "invalid national id: it %s", why);
    }
    v[2] = household;
    v[3] = null_if_empty(natid);
    v[4] = f->neighbourhood;
    v[5] = null_if_empty(f->service_code);
    v[6] = null_if_empty(f->need);
    v[7] = rr_wire_finding_source_name((int) f->source); // checked on the wire
    v[8] = null_if_empty(f->trustee_id);
    v[9] = actor;
    return RR_OK;
}

void
wrk_query_finding(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__FindingRequest *f = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &f, &err);
    const char *id = f && f->finding_id ? f->finding_id : "";
    char actor[RR_PRINCIPAL_MAX + 1], center[16], household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1],
        natid[RR_NATID_LEN + 1];
    const char *v[10] = {NULL};
    if (st == RR_OK) {
        assert(f != NULL); // unpacked whenever RR_OK
        st = wrk_nbhd_actor(job, f->center_code, "a finding",
                            "the center that serves the neighbourhood records it", actor, &err);
    }
    if (st == RR_OK) {
        st = finding_params(f, actor, center, household, natid, v, &err);
    }
    PGresult *res = NULL;
    if (st == RR_OK) {
        bool close = f->action == RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE;
        st = wrk_nbhd_exec(store, close ? "close_finding" : "record_finding", close ? 4 : 10, v,
                           "finding", id, &res, &err);
    }
    if (st == RR_OK) {
        Rr__V1__FindingReply out = RR__V1__FINDING_REPLY__INIT;
        char refid[32] = "";
        out.finding_id = (char *) id;
        out.replayed = PQgetvalue(res, 0, 3)[0] == 't';
        out.state = PQgetvalue(res, 0, 4);
        if (!PQgetisnull(res, 0, 5)) {
            rr_format_fits(refid, sizeof refid, "R-%s", PQgetvalue(res, 0, 5));
        }
        out.referral_id = refid;
        out.neighbourhood_id = (uint32_t) strtoul(PQgetvalue(res, 0, 6), NULL, 10);
        out.recorded_at_ms = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
        job->outcome = out.replayed ? WRK_NBHD_REPLAYED : WRK_NBHD_RECORDED;
        wrk_pack_or_empty(&out.base, reply);
        PQclear(res);
    } else {
        wrk_nbhd_refuse(job, RR_CMD_FINDING, id, st, &err, reply);
    }
    rr_wire_free(f);
}

rr_status
wrk_store_finding_check(wrk_store *store, const char *finding_id, uint32_t center_code,
                        const char *household, const char *request_id, rr_wire_error *err)
{
    char center[16];
    rr_format_fits(center, sizeof center, "%u", center_code);
    const char *v[4] = {finding_id, center, household, request_id};
    PGresult *res = NULL;
    rr_status st = wrk_nbhd_exec(store, "finding_for_referral", 4, v, "referral for request",
                                 request_id, &res, err);
    PQclear(res);
    return st;
}
