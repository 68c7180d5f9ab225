// DONATE: a center's cash donation, recorded by the database function
// record_donation (migration 0018) in one statement, so its own implicit
// transaction: the answer is read after its COMMIT. The ledger's rules
// (idempotency, the earmark, who may give for what) live in that function.
#define RR_LOG_MODULE "donate"
#include "wrk_donate.h"

#include "wrk_nbhd.h"

#include "rr_log.h"
#include "rr_vocab.h"
#include "wrk_queries.h"
#include "wrk_store_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wrk_statement STATEMENTS[] = {
    {"record_donation",
     "SELECT outcome, field, message, replayed, earmark_id, target, province_code,"
     " recorded_at_ms FROM record_donation($1::uuid, $2::integer, $3::bigint, $4, $5, $6, $7,"
     " $8, $9, $10, $11)",
     11},
};

const wrk_statements wrk_donate_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

static const char *
null_if_empty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

rr_status
wrk_store_donate(wrk_store *self, const Rr__V1__DonateRequest *d, const char *actor,
                 wrk_donation *out, rr_wire_error *err)
{
    memset(out, 0, sizeof *out);
    char center[16], amount[24];
    (void) snprintf(center, sizeof center, "%u", d->center_code);
    (void) snprintf(amount, sizeof amount, "%llu", (unsigned long long) d->amount_rials);
    const char *v[11] = {d->donation_id,
                         center,
                         amount,
                         d->bank_reference,
                         null_if_empty(d->donor),
                         rr_wire_donation_intent_name((int) d->intent), // checked on the wire
                         null_if_empty(d->neighbourhood),
                         null_if_empty(d->county_code),
                         d->domain != 0 ? rr_domain_name((int) d->domain) : NULL,
                         null_if_empty(d->service_code),
                         actor};
    // The function's messages name the donation, neighbourhood or reference
    // the center sent; never the donor.
    PGresult *res = NULL;
    rr_status st =
        wrk_nbhd_exec(self, "record_donation", 11, v, "donation", d->donation_id, &res, err);
    if (st != RR_OK) {
        return st;
    }
    out->replayed = PQgetvalue(res, 0, 3)[0] == 't';
    out->earmark_id = strtoull(PQgetvalue(res, 0, 4), NULL, 10);
    wrk_store_copy_field(out->earmark, sizeof out->earmark, res, 0, 5);
    wrk_store_copy_field(out->province, sizeof out->province, res, 0, 6);
    out->recorded_at_ms = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    PQclear(res);
    return RR_OK;
}

void
wrk_query_donate(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__DonateRequest *d = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &d, &err);
    const char *id = d && d->donation_id ? d->donation_id : "";
    if (st == RR_OK) {
        assert(d != NULL); // unpacked whenever RR_OK
    }
    char actor[RR_PRINCIPAL_MAX + 1];
    if (st == RR_OK) {
        st = wrk_nbhd_actor(job, d->center_code, "a donation",
                            "donations come from the center that received them", actor, &err);
    }
    wrk_donation done;
    if (st == RR_OK) {
        st = wrk_store_donate(store, d, actor, &done, &err);
    }
    if (st == RR_OK) {
        Rr__V1__DonateReply out = RR__V1__DONATE_REPLY__INIT;
        out.donation_id = (char *) id;
        out.status = RR__V1__STATUS__STATUS_OK;
        out.replayed = done.replayed;
        out.earmark_id = done.earmark_id;
        out.earmark = done.earmark;
        out.province_code = done.province;
        out.recorded_at_ms = done.recorded_at_ms;
        job->outcome = done.replayed ? WRK_DONATE_REPLAYED : WRK_DONATE_RECORDED;
        wrk_pack_or_empty(&out.base, reply);
    } else {
        wrk_nbhd_refuse(job, RR_CMD_DONATE, id, st, &err, reply);
    }
    if (d != NULL) {
        rr_wire_free(d);
    }
}
