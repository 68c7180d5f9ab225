// Worker request handling. The catalogue is loaded lazily and reloaded
// (at most every few seconds) when a request names a center or service it
// does not know, so new reference data needs no restart.
#define RR_LOG_MODULE "handler"
#include "wrk_handler.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "rr_wire.h"
#include "wrk_catalog.h"
#include "wrk_route.h"
#include "wrk_validate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_RETRY_AFTER_MS     1000

struct wrk_handler {
    rr_domain domain;
    wrk_store *store;       // borrowed
    wrk_catalog *catalog;   // owned; NULL until loaded
    wrk_catalog *retired;   // owned; replaced during a batch whose items still point into it
    int64_t loaded_at_ms;
    int64_t reload_min_ms;
    uint64_t loads;         // catalogues loaded so far
};

wrk_handler *
wrk_handler_new(rr_domain domain, wrk_store *store, long reload_min_ms)
{
    wrk_handler *self = calloc(1, sizeof *self);
    if (self != NULL) {
        self->domain = domain;
        self->store = store;
        self->reload_min_ms = reload_min_ms;
    }
    return self;
}

void
wrk_handler_destroy(wrk_handler **self_p)
{
    assert(self_p != NULL);
    wrk_handler *self = *self_p;
    if (self == NULL) {
        return;
    }
    wrk_catalog_destroy(&self->catalog);
    wrk_catalog_destroy(&self->retired);
    free(self);
    *self_p = NULL;
}

// Loads the catalogue when missing, or reloads it when force is set and
// the last load is old enough. Keeps the old one when loading fails.
static rr_status
ensure_catalog(wrk_handler *self, bool force)
{
    int64_t now = rr_clock_mono_ms();
    if (self->catalog != NULL &&
        (!force || (self->loaded_at_ms != 0 && now - self->loaded_at_ms < self->reload_min_ms))) {
        return RR_OK;
    }
    wrk_catalog *fresh = NULL;
    rr_status st = wrk_store_load_catalog(self->store, &fresh);
    if (st != RR_OK) {
        return self->catalog != NULL ? RR_OK : st;
    }
    // Items earlier in the batch hold pointers into the old catalogue: it is
    // freed only when the batch is done (at most one reload per batch).
    assert(self->retired == NULL);
    self->retired = self->catalog;
    self->catalog = fresh;
    self->loaded_at_ms = now;
    self->loads++;
    return RR_OK;
}

rr_status
wrk_handler_prepare(wrk_handler *self)
{
    if (wrk_store_catalog_changed(self->store) && self->catalog != NULL) {
        self->loaded_at_ms = 0; // reload now, whatever the rate limit says
        rr_log_info("catalogue changed: reloading");
        if (ensure_catalog(self, true) != RR_OK) {
            rr_log_warn("catalogue reload failed: keeping the old one");
        }
    }
    rr_status st = ensure_catalog(self, false);
    wrk_catalog_destroy(&self->retired); // no batch is running: nothing points into it
    return st;
}

uint64_t
wrk_handler_risk_rules(const wrk_handler *self, rr_risk_rule *rules, size_t *count)
{
    *count = 0;
    if (self->catalog == NULL) {
        return 0;
    }
    const rr_risk_rule *r = wrk_catalog_risk_rules(self->catalog, count);
    memcpy(rules, r, *count * sizeof r[0]);
    return self->loads;
}

static void
set_reply_office(Rr__V1__SubmitReply *reply, const wrk_recorded *rec, char *refid, size_t cap)
{
    int n = snprintf(refid, cap, "R-%lld", (long long) rec->referral_id);
    (void) n;
    reply->referral_id = refid;
    reply->office_code = (char *) rec->office_code;
    reply->office_name = (char *) rec->office_name_en;
    reply->office_name_fa = (char *) rec->office_name_fa;
    reply->referral_status = (Rr__V1__ReferralStatus) rec->status;
    reply->created_at_ms = rec->created_at_ms;
}

static void
pack_refusal(const char *request_id, rr_wire_error *err, zmq_msg_t *out)
{
    bool busy = err->code == RR_EDB || err->code == RR_EAGAIN;
    rr_status st = rr_wire_pack_submit_refusal(
        request_id, busy ? RR__V1__OUTCOME__OUTCOME_BUSY : RR__V1__OUTCOME__OUTCOME_REJECTED, err,
        DB_RETRY_AFTER_MS, out);
    if (st != RR_OK) {
        int rc = zmq_msg_init(out); // an empty reply still frees the broker's slot
        assert(rc == 0);
        (void) rc;
    }
}

// Per-job state of a batch of submissions.
typedef struct submit_item {
    Rr__V1__SubmitRequest *req; // owned
    wrk_submit_facts facts;
    wrk_route_decision route;
    rr_wire_error err;
    rr_status st;
    rr_priority priority; // effective
} submit_item;

static void
process_submits(wrk_handler *self, wrk_job *jobs, size_t n, zmq_msg_t *replies, bool *is_submit)
{
    submit_item items[WRK_MAX_BATCH];
    wrk_submission subs[WRK_MAX_BATCH];
    wrk_recorded recs[WRK_MAX_BATCH];
    rr_status rec_st[WRK_MAX_BATCH];
    rr_wire_error rec_err[WRK_MAX_BATCH];
    size_t idx[WRK_MAX_BATCH]; // subs[k] is items[idx[k]]
    size_t nsubs = 0;
    memset(items, 0, n * sizeof items[0]);

    if (wrk_handler_prepare(self) != RR_OK) {
        rr_log_debug("no catalogue yet: the database is away");
    }
    rr_status cat_st = ensure_catalog(self, false);
    for (size_t i = 0; i < n; i++) {
        if (!is_submit[i]) {
            continue;
        }
        submit_item *it = &items[i];
        it->st = rr_wire_submit_unpack(zmq_msg_data(&jobs[i].body), zmq_msg_size(&jobs[i].body),
                                       &it->req, &it->err);
        if (it->st != RR_OK) {
            continue;
        }
        if (cat_st != RR_OK) {
            it->st = rr_wire_fail(&it->err, RR_EDB, "",
                                  "could not record referral for request \"%s\": database "
                                  "unavailable",
                                  it->req->request_id);
            continue;
        }
        it->st = wrk_validate_submit(self->catalog, self->domain, it->req, &it->facts, &it->err);
        if (it->st == RR_ENOTFOUND && self->retired == NULL && ensure_catalog(self, true) == RR_OK) {
            it->st =
                wrk_validate_submit(self->catalog, self->domain, it->req, &it->facts, &it->err);
        }
        if (it->st != RR_OK) {
            continue;
        }
        size_t nrisk = 0;
        const rr_risk_rule *risk = wrk_catalog_risk_rules(self->catalog, &nrisk);
        int flags[RR_WIRE_MAX_RISK_FLAGS];
        for (size_t k = 0; k < it->req->n_risk_flags; k++) {
            flags[k] = (int) it->req->risk_flags[k];
        }
        it->priority = rr_risk_effective(risk, nrisk, it->facts.priority,
                                         rr_risk_mask(flags, it->req->n_risk_flags));
        it->st = wrk_route_decide(self->catalog, it->facts.center, it->req->service_code,
                                  it->priority, &it->route);
        if (it->st != RR_OK) {
            rr_log_error("cannot route request %s: %s", it->req->request_id, it->route.why);
            it->st = rr_wire_fail(&it->err, RR_ENOTFOUND, "center_code",
                                  "cannot route request \"%s\": no office serves center \"%u\"",
                                  it->req->request_id, it->req->center_code);
            continue;
        }
        subs[nsubs] = (wrk_submission){it->req, &it->facts, &it->route, self->domain,
                                       it->priority};
        idx[nsubs++] = i;
    }

    if (nsubs > 0) {
        wrk_store_record(self->store, subs, nsubs, recs, rec_st, rec_err);
    }
    for (size_t k = 0; k < nsubs; k++) {
        submit_item *it = &items[idx[k]];
        it->st = rec_st[k];
        if (it->st != RR_OK) {
            it->err = rec_err[k];
            continue;
        }
        const wrk_recorded *rec = &recs[k];
        // The same request_id with other content is a client bug: answer it
        // rather than silently hand back somebody else's referral.
        if (!rec->duplicate && (rec->center_code != it->req->center_code ||
                                strcmp(rec->household_id, it->req->household_id) != 0 ||
                                strcmp(rec->service_code, it->req->service_code) != 0)) {
            // The referral may be another center's: name it only in the log.
            rr_log_warn("request %s reuses the request_id of R-%lld with other content",
                        it->req->request_id, (long long) rec->referral_id);
            it->st = rr_wire_fail(&it->err, RR_ECONFLICT, "request_id",
                                  "cannot accept request \"%s\": this request_id was already used "
                                  "for a different request",
                                  it->req->request_id);
            continue;
        }
        Rr__V1__SubmitReply reply = RR__V1__SUBMIT_REPLY__INIT;
        char refid[32];
        reply.request_id = it->req->request_id;
        reply.outcome = rec->duplicate ? RR__V1__OUTCOME__OUTCOME_DUPLICATE
                                       : RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        reply.domain = (Rr__V1__Domain) self->domain;
        set_reply_office(&reply, rec, refid, sizeof refid);
        if (rr_wire_pack(&reply.base, &replies[idx[k]]) != RR_OK) {
            int rc = zmq_msg_init(&replies[idx[k]]);
            assert(rc == 0);
            (void) rc;
        }
        rr_log_debug("request %s %s R-%lld for %s", it->req->request_id,
                     rec->duplicate  ? "duplicates open"
                     : rec->inserted ? "recorded as"
                                     : "found as",
                     (long long) rec->referral_id, rec->office_code);
        it->st = RR_OK;
        is_submit[idx[k]] = false; // reply built
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_submit[i]) {
            continue;
        }
        submit_item *it = &items[i];
        const char *rid = it->req ? it->req->request_id : NULL;
        if (it->err.code != RR_EDB) {
            rr_log_warn("request %s refused: %s", rid ? rid : "(unreadable)", it->err.message);
        }
        pack_refusal(rid, &it->err, &replies[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].req != NULL) {
            rr__v1__submit_request__free_unpacked(items[i].req, NULL);
        }
    }
    wrk_catalog_destroy(&self->retired);
}

static void
pack_status(const wrk_status *s, const char *query_id, zmq_msg_t *out)
{
    Rr__V1__StatusReply reply = RR__V1__STATUS_REPLY__INIT;
    Rr__V1__Referral ref = RR__V1__REFERRAL__INIT;
    char refid[32];
    int n = snprintf(refid, sizeof refid, "R-%lld", (long long) s->referral_id);
    (void) n;
    reply.query_id = (char *) query_id;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.referral = &ref;
    ref.referral_id = refid;
    ref.request_id = (char *) s->request_id;
    ref.center_code = s->center_code;
    ref.household_id = (char *) s->household_id;
    ref.service_code = (char *) s->service_code;
    ref.domain = (Rr__V1__Domain) s->domain;
    ref.priority = (Rr__V1__Priority) s->priority;
    ref.status = (Rr__V1__ReferralStatus) s->status;
    ref.office_code = (char *) s->office_code;
    ref.office_name = (char *) s->office_name_en;
    ref.office_name_fa = (char *) s->office_name_fa;
    ref.version = s->version;
    ref.created_at_ms = s->created_at_ms;
    ref.updated_at_ms = s->updated_at_ms;
    Rr__V1__RiskFlag flags[RR_WIRE_MAX_RISK_FLAGS];
    for (size_t i = 0; i < s->n_risk_flags; i++) {
        flags[i] = (Rr__V1__RiskFlag) s->risk_flags[i];
    }
    ref.n_risk_flags = s->n_risk_flags;
    ref.risk_flags = flags;

    Rr__V1__Event ev[WRK_STATUS_MAX_EVENTS];
    Rr__V1__Event *evp[WRK_STATUS_MAX_EVENTS];
    size_t ne = s->n_events < WRK_STATUS_MAX_EVENTS ? s->n_events : WRK_STATUS_MAX_EVENTS;
    for (size_t i = 0; i < ne; i++) {
        rr__v1__event__init(&ev[i]);
        ev[i].event_id = s->events[i].id;
        ev[i].from_status = (Rr__V1__ReferralStatus) s->events[i].from;
        ev[i].to_status = (Rr__V1__ReferralStatus) s->events[i].to;
        ev[i].actor = (char *) s->events[i].actor;
        ev[i].reason = (char *) s->events[i].reason;
        ev[i].at_ms = s->events[i].at_ms;
        evp[i] = &ev[i];
    }
    reply.n_events = ne;
    reply.events = evp;
    if (rr_wire_pack(&reply.base, out) != RR_OK) {
        int rc = zmq_msg_init(out);
        assert(rc == 0);
        (void) rc;
    }
}

static void
process_status(wrk_handler *self, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__StatusQuery *q = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_status_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &q,
                                         &err);
    const char *qid = q && q->query_id ? q->query_id : "";
    if (st == RR_OK) {
        wrk_status s;
        st = wrk_store_status(self->store, q, &s, &err);
        if (st == RR_OK) {
            pack_status(&s, qid, reply);
            wrk_status_clear(&s);
        }
    }
    if (st != RR_OK && rr_wire_pack_status_refusal(qid, &err, reply) != RR_OK) {
        int rc = zmq_msg_init(reply);
        assert(rc == 0);
        (void) rc;
    }
    if (q != NULL) {
        rr__v1__status_query__free_unpacked(q, NULL);
    }
}

void
wrk_handler_process(wrk_handler *self, wrk_job *jobs, size_t n, zmq_msg_t *replies)
{
    assert(n <= WRK_MAX_BATCH);
    bool is_submit[WRK_MAX_BATCH];
    bool any_submit = false;
    for (size_t i = 0; i < n; i++) {
        is_submit[i] = jobs[i].command == RR_CMD_SUBMIT;
        any_submit |= is_submit[i];
        if (jobs[i].command == RR_CMD_STATUS) {
            process_status(self, &jobs[i], &replies[i]);
        } else if (!is_submit[i]) {
            rr_wire_error err;
            (void) rr_wire_fail(&err, RR_EPROTO, "", "unrecognized command 0x%02x",
                                jobs[i].command);
            rr_log_warn("%s", err.message);
            if (rr_wire_pack_error_reply(NULL, &err, &replies[i]) != RR_OK) {
                int rc = zmq_msg_init(&replies[i]);
                assert(rc == 0);
                (void) rc;
            }
        }
    }
    if (any_submit) {
        process_submits(self, jobs, n, replies, is_submit);
    }
}
