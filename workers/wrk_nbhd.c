// PROFILE and TRUSTEE, and the shared path of the neighbourhood side's
// commands: one database function each (migration 0019), whose answer row
// is read after the statement's own COMMIT.
#define RR_LOG_MODULE "nbhd"
#include "wrk_nbhd.h"

#include "rr_format.h"
#include "rr_log.h"
#include "rr_natid.h"
#include "wrk_queries.h"
#include "wrk_store_impl.h"
#include "wrk_validate.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wrk_statement STATEMENTS[] = {
    {"record_profile",
     "SELECT outcome, field, message, replayed, neighbourhood_id, version, recorded_at_ms"
     " FROM record_profile($1::uuid, $2::integer, $3, $4::integer, $5::jsonb, $6, $7, $8, $9)",
     9},
    {"record_trustee",
     "SELECT outcome, field, message, replayed, neighbourhood_id, active, recorded_at_ms"
     " FROM record_trustee($1::uuid, $2::integer, $3, $4, $5, $6, $7, $8, $9, $10)",
     10},
    {"record_finding",
     "SELECT outcome, field, message, replayed, state, referral_id, neighbourhood_id,"
     " recorded_at_ms FROM record_finding($1::uuid, $2::integer, $3, $4, $5, $6, $7, $8,"
     " $9::uuid, $10)",
     10},
    {"close_finding",
     "SELECT outcome, field, message, replayed, state, referral_id, neighbourhood_id,"
     " recorded_at_ms FROM close_finding($1::uuid, $2::integer, $3, $4)",
     4},
    {"finding_for_referral",
     "SELECT outcome, field, message FROM finding_for_referral($1::uuid, $2::integer, $3,"
     " $4::uuid)",
     4},
};

// Why an operator's key may not record field work.
#define SERVING_CENTER "the center that serves the neighbourhood records it"

const wrk_statements wrk_nbhd_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

// The database's word for a refusal, as a status.
static rr_status
refusal_status(const char *outcome)
{
    static const struct {
        const char *word;
        rr_status status;
    } WORDS[] = {{"conflict", RR_ECONFLICT}, {"notfound", RR_ENOTFOUND}, {"state", RR_ESTATE},
                 {"perm", RR_EPERM},         {"invalid", RR_EINVAL},     {"eagain", RR_EAGAIN}};
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++) {
        if (strcmp(outcome, WORDS[i].word) == 0) {
            return WORDS[i].status;
        }
    }
    return RR_EINTERNAL;
}

rr_status
wrk_nbhd_exec(wrk_store *store, const char *name, int nparams, const char *const *values,
              const char *what, const char *id, PGresult **res_p, rr_wire_error *err)
{
    *res_p = NULL;
    PGresult *res = wrk_store_ensure(store) == RR_OK
                        ? wrk_store_exec(store, name, NULL, nparams, values)
                        : NULL;
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "", "could not record %s \"%s\": database unavailable",
                            what, id);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        bool retry = wrk_store_sqlstate_is(res, "40001") || wrk_store_sqlstate_is(res, "40P01");
        rr_log_error_id(id, "recording %s %s failed: %s", what, id, wrk_store_primary(res));
        PQclear(res);
        return rr_wire_fail(err, retry ? RR_EAGAIN : RR_EINTERNAL, "",
                            "could not record %s \"%s\": %s", what, id,
                            retry ? "retry" : "the database refused it");
    }
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "ok") != 0) {
        rr_status st = refusal_status(outcome);
        // The functions' messages name ids, neighbourhoods and fields the
        // center sent; never a name, phone or national id.
        (void) rr_wire_fail(err, st, PQgetvalue(res, 0, 1), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);
        return st;
    }
    *res_p = res;
    return RR_OK;
}

rr_status
wrk_nbhd_actor(const wrk_job *job, uint32_t center_code, const char *what, const char *why,
               char actor[RR_PRINCIPAL_MAX + 1], rr_wire_error *err)
{
    if (wrk_is_operator(job->principal)) {
        return rr_wire_fail(err, RR_EPERM, "center_code", "cannot record %s as %s: %s", what,
                            job->principal, why);
    }
    rr_status st = wrk_check_actor(job, WRK_ACTION_SUBMIT, center_code, NULL, err);
    if (st != RR_OK) {
        return st;
    }
    if (job->principal[0] != '\0') {
        memcpy(actor, job->principal, RR_PRINCIPAL_MAX + 1);
    } else {
        rr_format_fits(actor, RR_PRINCIPAL_MAX + 1, "center:%u", center_code);
    }
    return RR_OK;
}

void
wrk_nbhd_refuse(wrk_job *job, uint8_t command, const char *id, rr_status st, rr_wire_error *err,
                zmq_msg_t *reply)
{
    job->outcome = st == RR_EDB || st == RR_EAGAIN ? WRK_NBHD_BUSY : WRK_NBHD_REFUSED;
    if (rr_wire_pack_refusal(command, id, 0, 0, err, reply) != RR_OK) {
        int rc = zmq_msg_init(reply);
        assert(rc == 0);
        (void) rc;
    }
}

static const char *
null_if_empty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

// Sets key to s unless s is empty; false when out of memory.
static bool
put_text(json_t *obj, const char *key, const char *s)
{
    return s == NULL || s[0] == '\0' || json_object_set_new(obj, key, json_string(s)) == 0;
}

// The profile's lists as the jsonb body record_profile keeps: the checked
// message, in the order sent (ranks as given). NULL when out of memory.
static char *
profile_body(const Rr__V1__ProfileRequest *p)
{
    json_t *body = json_object();
    json_t *lists[4] = {json_array(), json_array(), json_array(), json_array()};
    bool ok = body != NULL && lists[0] && lists[1] && lists[2] && lists[3];
    for (size_t i = 0; ok && i < p->n_capacities; i++) {
        json_t *o = json_object();
        ok = o != NULL && json_array_append_new(lists[0], o) == 0 &&
             put_text(o, "kind", rr_wire_capacity_kind_name((int) p->capacities[i]->kind)) &&
             put_text(o, "name", p->capacities[i]->name) &&
             put_text(o, "note", p->capacities[i]->note);
    }
    for (size_t i = 0; ok && i < p->n_assets; i++) {
        json_t *o = json_object();
        ok = o != NULL && json_array_append_new(lists[1], o) == 0 &&
             put_text(o, "name", p->assets[i]->name) && put_text(o, "note", p->assets[i]->note);
    }
    for (size_t i = 0; ok && i < p->n_needs; i++) {
        json_t *o = json_object();
        ok = o != NULL && json_array_append_new(lists[2], o) == 0 &&
             json_object_set_new(o, "rank", json_integer(p->needs[i]->rank)) == 0 &&
             put_text(o, "need", p->needs[i]->need) &&
             put_text(o, "service_code", p->needs[i]->service_code);
    }
    for (size_t i = 0; ok && i < p->n_participants; i++) {
        json_t *o = json_object();
        ok = o != NULL && json_array_append_new(lists[3], o) == 0 &&
             put_text(o, "role", p->participants[i]->role) &&
             json_object_set_new(o, "count", json_integer(p->participants[i]->count)) == 0;
    }
    static const char *const KEYS[4] = {"capacities", "assets", "needs", "participants"};
    for (int k = 0; k < 4; k++) {
        ok = ok && json_object_set(body, KEYS[k], lists[k]) == 0;
        json_decref(lists[k]);
    }
    char *text = ok ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    return text;
}

void
wrk_query_profile(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__ProfileRequest *p = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &p, &err);
    const char *id = p && p->update_id ? p->update_id : "";
    char actor[RR_PRINCIPAL_MAX + 1];
    if (st == RR_OK) {
        assert(p != NULL); // unpacked whenever RR_OK
        st = wrk_nbhd_actor(job, p->center_code, "a neighbourhood profile", SERVING_CENTER, actor,
                            &err);
    }
    char *body = NULL;
    PGresult *res = NULL;
    if (st == RR_OK) {
        body = profile_body(p);
        if (body == NULL) {
            st = rr_wire_fail(&err, RR_ENOMEM, "",
                              "could not record profile update \"%s\": out "
                              "of memory",
                              id);
        }
    }
    if (st == RR_OK) {
        char center[16], base[16];
        rr_format_fits(center, sizeof center, "%u", p->center_code);
        rr_format_fits(base, sizeof base, "%u", p->base_version);
        const char *v[9] = {id,
                            center,
                            p->neighbourhood,
                            base,
                            body,
                            null_if_empty(p->capacity_assessed_on),
                            null_if_empty(p->asset_assessed_on),
                            null_if_empty(p->needs_assessed_on),
                            actor};
        st = wrk_nbhd_exec(store, "record_profile", 9, v, "profile update", id, &res, &err);
    }
    if (st == RR_OK) {
        Rr__V1__ProfileReply out = RR__V1__PROFILE_REPLY__INIT;
        out.update_id = (char *) id;
        out.replayed = PQgetvalue(res, 0, 3)[0] == 't';
        out.neighbourhood_id = (uint32_t) strtoul(PQgetvalue(res, 0, 4), NULL, 10);
        out.version = (uint32_t) strtoul(PQgetvalue(res, 0, 5), NULL, 10);
        out.recorded_at_ms = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
        job->outcome = out.replayed ? WRK_NBHD_REPLAYED : WRK_NBHD_RECORDED;
        wrk_pack_or_empty(&out.base, reply);
        PQclear(res);
    } else {
        wrk_nbhd_refuse(job, RR_CMD_PROFILE, id, st, &err, reply);
    }
    free(body);
    rr_wire_free(p);
}

void
wrk_query_trustee(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__TrusteeRequest *t = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &t, &err);
    const char *id = t && t->trustee_id ? t->trustee_id : "";
    char actor[RR_PRINCIPAL_MAX + 1];
    if (st == RR_OK) {
        assert(t != NULL); // unpacked whenever RR_OK
        st = wrk_nbhd_actor(job, t->center_code, "a trustee", SERVING_CENTER, actor, &err);
    }
    PGresult *res = NULL;
    if (st == RR_OK) {
        // Checked on the wire: both normalise.
        char center[16], natid[RR_NATID_LEN + 1] = "", phone[RR_WIRE_MAX_PHONE_BYTES + 1] = "";
        const char *why = NULL;
        if (t->national_id != NULL && t->national_id[0] != '\0' &&
            rr_natid_normalize(t->national_id, natid, &why) != RR_OK) {
            natid[0] = '\0';
        }
        if (t->phone != NULL && t->phone[0] != '\0' && !rr_wire_phone_canon(t->phone, phone)) {
            phone[0] = '\0';
        }
        rr_format_fits(center, sizeof center, "%u", t->center_code);
        bool reg = t->action == RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_REGISTER;
        const char *v[10] = {id,
                             center,
                             reg ? "register" : "deactivate",
                             null_if_empty(t->neighbourhood),
                             null_if_empty(t->name),
                             null_if_empty(t->role),
                             null_if_empty(phone),
                             null_if_empty(natid),
                             null_if_empty(t->reason),
                             actor};
        st = wrk_nbhd_exec(store, "record_trustee", 10, v, "trustee", id, &res, &err);
    }
    if (st == RR_OK) {
        Rr__V1__TrusteeReply out = RR__V1__TRUSTEE_REPLY__INIT;
        out.trustee_id = (char *) id;
        out.replayed = PQgetvalue(res, 0, 3)[0] == 't';
        out.neighbourhood_id = (uint32_t) strtoul(PQgetvalue(res, 0, 4), NULL, 10);
        out.active = PQgetvalue(res, 0, 5)[0] == 't';
        out.recorded_at_ms = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
        job->outcome = out.replayed ? WRK_NBHD_REPLAYED : WRK_NBHD_RECORDED;
        wrk_pack_or_empty(&out.base, reply);
        PQclear(res);
    } else {
        wrk_nbhd_refuse(job, RR_CMD_TRUSTEE, id, st, &err, reply);
    }
    rr_wire_free(t);
}
