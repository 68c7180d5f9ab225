// RATE: the client's satisfaction with a completed referral, recorded by the
// database function record_rating (migration 0020) in one statement, so its
// own implicit transaction: the answer is read after its COMMIT. The rules
// (once per referral, the center's own, completed only, idempotency) live
// in that function.
#include "wrk_rate.h"

#include "wrk_nbhd.h"
#include "wrk_queries.h"
#include "wrk_store_impl.h"
#include "wrk_validate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wrk_statement STATEMENTS[] = {
    {"record_rating",
     "SELECT outcome, field, message, replayed, score, rated_at_ms"
     " FROM record_rating($1::uuid, $2::integer, $3::bigint, $4::integer, $5, $6)",
     6},
};

const wrk_statements wrk_rate_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

rr_status
wrk_store_rate(wrk_store *self, const Rr__V1__RateRequest *r, int64_t referral, const char *actor,
               wrk_rating *out, rr_wire_error *err)
{
    memset(out, 0, sizeof *out);
    char center[16], ref[24], score[16];
    (void) snprintf(center, sizeof center, "%u", r->center_code);
    (void) snprintf(ref, sizeof ref, "%lld", (long long) referral);
    (void) snprintf(score, sizeof score, "%u", r->score);
    const char *v[6] = {r->rating_id, center, ref, score, r->comment ? r->comment : "", actor};
    PGresult *res = NULL;
    // The function's messages name the rating, the referral and centers;
    // never the comment.
    rr_status st = wrk_nbhd_exec(self, "record_rating", 6, v, "rating", r->rating_id, &res, err);
    if (st != RR_OK) {
        return st;
    }
    out->replayed = PQgetvalue(res, 0, 3)[0] == 't';
    out->score = (uint32_t) strtoul(PQgetvalue(res, 0, 4), NULL, 10);
    out->rated_at_ms = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    PQclear(res);
    return RR_OK;
}

void
wrk_query_rate(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__RateRequest *r = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &r, &err);
    const char *id = r && r->rating_id ? r->rating_id : "";
    int64_t referral = 0;
    if (st == RR_OK) {
        assert(r != NULL); // unpacked whenever RR_OK
    }
    // A rating is the center's record of its client's word: an operator's
    // key records none.
    char actor[RR_PRINCIPAL_MAX + 1];
    if (st == RR_OK) {
        st = wrk_nbhd_actor(job, r->center_code, "a rating",
                            "ratings come from the center that made the referral", actor, &err);
    }
    if (st == RR_OK && !wrk_referral_id_parse(r->referral_id, &referral)) {
        st = rr_wire_fail(&err, RR_EINVAL, "referral_id",
                          "invalid referral id \"%s\": expected \"R-\" and a number",
                          r->referral_id);
    }
    wrk_rating done;
    if (st == RR_OK) {
        st = wrk_store_rate(store, r, referral, actor, &done, &err);
    }
    if (st == RR_OK) {
        Rr__V1__RateReply out = RR__V1__RATE_REPLY__INIT;
        char refid[WRK_REFERRAL_ID_CAP];
        wrk_referral_id_format(referral, refid);
        out.rating_id = (char *) id;
        out.status = RR__V1__STATUS__STATUS_OK;
        out.replayed = done.replayed;
        out.referral_id = refid;
        out.score = done.score;
        out.rated_at_ms = done.rated_at_ms;
        job->outcome = done.replayed ? WRK_NBHD_REPLAYED : WRK_NBHD_RECORDED;
        wrk_pack_or_empty(&out.base, reply);
    } else {
        wrk_nbhd_refuse(job, RR_CMD_RATE, id, st, &err, reply);
    }
    if (r != NULL) {
        rr_wire_free(r);
    }
}
