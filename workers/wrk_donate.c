// DONATE: a center's cash donation, recorded by the database function
// record_donation (migration 0018) in one statement, so its own implicit
// transaction: the answer is read after its COMMIT. The ledger's rules
// (idempotency, the earmark, who may give for what) live in that function.
#define RR_LOG_MODULE "donate"
#include "wrk_donate.h"

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

// The database's word for a refusal, as a status.
static rr_status
refusal_status(const char *outcome)
{
    static const struct {
        const char *word;
        rr_status status;
    } WORDS[] = {{"conflict", RR_ECONFLICT},
                 {"notfound", RR_ENOTFOUND},
                 {"state", RR_ESTATE},
                 {"perm", RR_EPERM}};
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++) {
        if (strcmp(outcome, WORDS[i].word) == 0) {
            return WORDS[i].status;
        }
    }
    return RR_EINTERNAL;
}

void
wrk_center_actor(const wrk_job *job, uint32_t center_code, char actor[RR_PRINCIPAL_MAX + 1])
{
    if (job->principal[0] != '\0') {
        memcpy(actor, job->principal, RR_PRINCIPAL_MAX + 1);
    } else {
        (void) snprintf(actor, RR_PRINCIPAL_MAX + 1, "center:%u", center_code);
    }
}

rr_status
wrk_store_record_call(wrk_store *self, const char *statement, int n, const char *const *values,
                      const char *kind, const char *id, PGresult **res_p, rr_wire_error *err)
{
    *res_p = NULL;
    PGresult *res = NULL;
    if (wrk_store_ensure(self) != RR_OK ||
        (res = wrk_store_exec(self, statement, NULL, n, values)) == NULL) {
        return rr_wire_fail(err, RR_EDB, "", "could not record %s \"%s\": database unavailable",
                            kind, id);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        bool retry = wrk_store_sqlstate_is(res, "40001") || wrk_store_sqlstate_is(res, "40P01");
        rr_log_error_id(id, "recording %s %s failed: %s", kind, id, wrk_store_primary(res));
        PQclear(res);
        return rr_wire_fail(err, retry ? RR_EAGAIN : RR_EINTERNAL, "",
                            "could not record %s \"%s\": %s", kind, id,
                            retry ? "retry" : "the database refused it");
    }
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "ok") != 0) {
        rr_status st = refusal_status(outcome);
        // The functions' messages name what the center sent (ids, the
        // neighbourhood, the reference); never a donor or a comment.
        (void) rr_wire_fail(err, st, PQgetvalue(res, 0, 1), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);
        return st;
    }
    *res_p = res;
    return RR_OK;
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
    PGresult *res = NULL;
    rr_status st = wrk_store_record_call(self, "record_donation", 11, v, "donation", d->donation_id,
                                         &res, err);
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
    // A donation is a center's act: an operator's key records none.
    if (st == RR_OK && wrk_is_operator(job->principal)) {
        st = rr_wire_fail(&err, RR_EPERM, "center_code",
                          "cannot record a donation as %s: donations come from the center that "
                          "received them",
                          job->principal);
    }
    if (st == RR_OK) {
        st = wrk_check_actor(job, WRK_ACTION_SUBMIT, d->center_code, NULL, &err);
    }
    wrk_donation done;
    if (st == RR_OK) {
        char actor[RR_PRINCIPAL_MAX + 1];
        wrk_center_actor(job, d->center_code, actor);
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
        bool busy = st == RR_EDB || st == RR_EAGAIN;
        job->outcome = busy ? WRK_DONATE_BUSY : WRK_DONATE_REFUSED;
        if (rr_wire_pack_refusal(RR_CMD_DONATE, id, 0, 0, &err, reply) != RR_OK) {
            int rc = zmq_msg_init(reply);
            assert(rc == 0);
            (void) rc;
        }
    }
    if (d != NULL) {
        rr_wire_free(d);
    }
}
