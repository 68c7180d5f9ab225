// Worker request handling. The catalogue is loaded lazily and reloaded
// (at most every few seconds) when a request names a center or service it
// does not know, so new reference data needs no restart.
#define RR_LOG_MODULE "handler"
#include "wrk_handler.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "rr_uuid.h"
#include "rr_wire.h"
#include "wrk_catalog.h"
#include "wrk_route.h"
#include "wrk_validate.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_RETRY_AFTER_MS 1000

struct wrk_handler {
    rr_domain domain;
    wrk_store *store;     // borrowed
    wrk_catalog *catalog; // owned; NULL until loaded
    wrk_catalog *retired; // owned; replaced during a batch whose items still point into it
    int64_t loaded_at_ms;
    int64_t reload_min_ms;
    uint64_t loads; // catalogues loaded so far
    uint64_t processed, failed, batches, items;
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

// The sender may act as the request says (wrk_validate_actor), or the
// refusal is logged: a spoofing attempt is worth an operator's look.
static rr_status
check_actor(const wrk_job *job, uint32_t center_code, const char *office_code, rr_wire_error *err)
{
    rr_status st = wrk_validate_actor(job->principal, center_code, office_code, err);
    if (st != RR_OK) {
        rr_log_warn("request refused (delivery %llu): %s", (unsigned long long) job->delivery_id,
                    err->message);
    }
    return st;
}

// A submission's refusal: busy when it may work later, else rejected; the
// job carries the outcome for the broker to count.
static void
pack_refusal(wrk_job *job, const char *request_id, rr_wire_error *err, zmq_msg_t *out)
{
    bool busy = err->code == RR_EDB || err->code == RR_EAGAIN;
    job->outcome = busy ? RR__V1__OUTCOME__OUTCOME_BUSY : RR__V1__OUTCOME__OUTCOME_REJECTED;
    rr_status st = rr_wire_pack_refusal(RR_CMD_SUBMIT, request_id, (Rr__V1__Outcome) job->outcome,
                                        DB_RETRY_AFTER_MS, err, out);
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
        it->st = rr_wire_unpack(zmq_msg_data(&jobs[i].body), zmq_msg_size(&jobs[i].body), &it->req,
                                &it->err);
        if (it->st == RR_OK) {
            it->st = check_actor(&jobs[i], it->req->center_code, NULL, &it->err);
        }
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
        if (it->st == RR_ENOTFOUND && self->retired == NULL &&
            ensure_catalog(self, true) == RR_OK) {
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
        subs[nsubs] = (wrk_submission){it->req, &it->facts, &it->route, self->domain, it->priority};
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
            wrk_job *job = &jobs[idx[k]];
            if (it->st == RR_EINTERNAL && !job->last_attempt) {
                // The database refused it: the broker retries it after a
                // backoff, and marks its last attempt.
                rr_log_warn_id(it->req->request_id, "request %s failed, to be retried: %s",
                               it->req->request_id, it->err.message);
                job->failed = true;
            } else if (it->st == RR_EINTERNAL) {
                // Refused on every attempt: keep it for an operator.
                rr_status dl = wrk_store_dead_letter(
                    self->store, it->req->request_id, it->req->center_code, self->domain,
                    it->req->service_code, zmq_msg_data(&job->body), zmq_msg_size(&job->body),
                    &it->err);
                if (dl == RR_OK) {
                    rr_log_warn_id(it->req->request_id, "request %s dead-lettered: %s",
                                   it->req->request_id, it->err.message);
                } else {
                    // Not kept: the center must retry rather than be refused.
                    it->st = rr_wire_fail(&it->err, RR_EDB, "",
                                          "could not record referral for request \"%s\": "
                                          "database unavailable",
                                          it->req->request_id);
                }
            }
            continue;
        }
        const wrk_recorded *rec = &recs[k];
        // The same request_id with other content is a client bug: answer it
        // rather than silently hand back somebody else's referral.
        if (!rec->duplicate && (rec->center_code != it->req->center_code ||
                                strcmp(rec->household_id, it->req->household_id) != 0 ||
                                strcmp(rec->service_code, it->req->service_code) != 0)) {
            // The referral may be another center's: name it only in the log.
            rr_log_warn_id(it->req->request_id,
                           "request %s reuses the request_id of R-%lld with other content",
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
        reply.outcome =
            rec->duplicate ? RR__V1__OUTCOME__OUTCOME_DUPLICATE : RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        reply.domain = (Rr__V1__Domain) self->domain;
        set_reply_office(&reply, rec, refid, sizeof refid);
        jobs[idx[k]].outcome = (uint8_t) reply.outcome;
        if (rr_wire_pack(&reply.base, &replies[idx[k]]) != RR_OK) {
            int rc = zmq_msg_init(&replies[idx[k]]);
            assert(rc == 0);
            (void) rc;
        }
        rr_log_debug_id(it->req->request_id, "request %s %s R-%lld for %s", it->req->request_id,
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
        if (it->err.code != RR_EDB && it->err.code != RR_EAGAIN) {
            self->failed++;
        }
        if (it->err.code != RR_EDB) {
            rr_log_warn_id(rid, "request %s refused: %s", rid ? rid : "(unreadable)",
                           it->err.message);
        }
        pack_refusal(&jobs[i], rid, &it->err, &replies[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].req != NULL) {
            rr_wire_free(items[i].req);
        }
    }
    wrk_catalog_destroy(&self->retired);
}

// Points ref's fields at s (which must outlive the packing); flags is room
// for the risk flags.
static void
fill_referral(Rr__V1__Referral *ref, const wrk_status *s, char *refid, size_t cap,
              Rr__V1__RiskFlag *flags)
{
    rr__v1__referral__init(ref);
    int n = snprintf(refid, cap, "R-%lld", (long long) s->referral_id);
    (void) n;
    ref->referral_id = refid;
    ref->request_id = (char *) s->request_id;
    ref->center_code = s->center_code;
    ref->household_id = (char *) s->household_id;
    ref->service_code = (char *) s->service_code;
    ref->domain = (Rr__V1__Domain) s->domain;
    ref->priority = (Rr__V1__Priority) s->priority;
    ref->status = (Rr__V1__ReferralStatus) s->status;
    ref->office_code = (char *) s->office_code;
    ref->office_name = (char *) s->office_name_en;
    ref->office_name_fa = (char *) s->office_name_fa;
    ref->version = s->version;
    ref->created_at_ms = s->created_at_ms;
    ref->updated_at_ms = s->updated_at_ms;
    for (size_t i = 0; i < s->n_risk_flags; i++) {
        flags[i] = (Rr__V1__RiskFlag) s->risk_flags[i];
    }
    ref->n_risk_flags = s->n_risk_flags;
    ref->risk_flags = flags;
}

// Points ev's fields at e; refid is room for "R-<n>" when the event names
// its referral (follow-up).
static void
fill_event(Rr__V1__Event *ev, const wrk_event *e, char *refid, size_t cap)
{
    rr__v1__event__init(ev);
    ev->event_id = e->id;
    ev->seq = e->seq;
    ev->from_status = (Rr__V1__ReferralStatus) e->from;
    ev->to_status = (Rr__V1__ReferralStatus) e->to;
    ev->actor = (char *) e->actor;
    ev->reason = (char *) e->reason;
    ev->at_ms = e->at_ms;
    ev->kind = (char *) e->kind;
    ev->office_code = (char *) e->office_code;
    if (refid != NULL && e->referral_id > 0) {
        int n = snprintf(refid, cap, "R-%lld", (long long) e->referral_id);
        (void) n;
        ev->referral_id = refid;
        ev->request_id = (char *) e->request_id;
        ev->service_code = (char *) e->service_code;
    }
}

static void
pack_or_empty(const ProtobufCMessage *msg, zmq_msg_t *out)
{
    if (rr_wire_pack(msg, out) != RR_OK) {
        int rc = zmq_msg_init(out); // an empty reply still frees the broker's slot
        assert(rc == 0);
        (void) rc;
    }
}

static void
pack_status(const wrk_status *s, const char *query_id, zmq_msg_t *out)
{
    Rr__V1__StatusReply reply = RR__V1__STATUS_REPLY__INIT;
    Rr__V1__Referral ref;
    char refid[32];
    Rr__V1__RiskFlag flags[RR_WIRE_MAX_RISK_FLAGS];
    fill_referral(&ref, s, refid, sizeof refid, flags);
    reply.query_id = (char *) query_id;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.referral = &ref;
    Rr__V1__Event ev[WRK_STATUS_MAX_EVENTS];
    Rr__V1__Event *evp[WRK_STATUS_MAX_EVENTS];
    size_t ne = s->n_events < WRK_STATUS_MAX_EVENTS ? s->n_events : WRK_STATUS_MAX_EVENTS;
    for (size_t i = 0; i < ne; i++) {
        fill_event(&ev[i], &s->events[i], NULL, 0);
        evp[i] = &ev[i];
    }
    reply.n_events = ne;
    reply.events = evp;
    pack_or_empty(&reply.base, out);
}

static void
process_status(wrk_handler *self, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__StatusQuery *q = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &q, &err);
    const char *qid = q && q->query_id ? q->query_id : "";
    if (st == RR_OK) {
        assert(q != NULL); // unpacked whenever RR_OK
        st = check_actor(job, q->center_code, NULL, &err);
    }
    if (st == RR_OK) {
        wrk_status s;
        st = wrk_store_status(self->store, q, &s, &err);
        if (st == RR_OK) {
            pack_status(&s, qid, reply);
            wrk_status_clear(&s);
        }
    }
    if (st != RR_OK && rr_wire_pack_refusal(RR_CMD_STATUS, qid, 0, 0, &err, reply) != RR_OK) {
        int rc = zmq_msg_init(reply);
        assert(rc == 0);
        (void) rc;
    }
    if (q != NULL) {
        rr_wire_free(q);
    }
}

// Parses "R-<digits>" into a positive id; false for anything else.
static bool
parse_referral_id(const char *text, int64_t *id)
{
    if (text == NULL || strncmp(text, "R-", 2) != 0 || text[2] < '0' || text[2] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text + 2, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0) {
        return false;
    }
    *id = v;
    return true;
}

static void
process_update(wrk_handler *self, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__UpdateRequest *u = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &u, &err);
    const char *uid = u && u->update_id ? u->update_id : "";
    wrk_update w = {0};
    if (st == RR_OK) {
        assert(u != NULL); // unpacked whenever RR_OK
        st = check_actor(job, u->center_code, u->office_code, &err);
    }
    if (st == RR_OK && !parse_referral_id(u->referral_id, &w.referral_id)) {
        st = rr_wire_fail(&err, RR_EINVAL, "referral_id",
                          "invalid referral id \"%s\": expected \"R-\" and a number",
                          u->referral_id);
    }
    if (st == RR_OK && u->domain != (Rr__V1__Domain) self->domain) {
        st = rr_wire_fail(&err, RR_EINVAL, "domain", "this worker serves \"%s\", not \"%s\"",
                          rr_domain_name(self->domain), rr_domain_name((int) u->domain));
    }
    uint64_t event_id = 0;
    if (st == RR_OK) {
        w.update_id = u->update_id;
        w.domain = self->domain;
        w.to = (rr_ref_state) u->to_status;
        w.office_code = u->office_code && u->office_code[0] ? u->office_code : NULL;
        w.center_code = u->center_code;
        w.expected_version = u->expected_version;
        w.reason = u->reason;
        w.forward_to = u->forward_to;
        st = wrk_store_update(self->store, &w, &event_id, &err);
        if (st != RR_OK && err.code != RR_EDB) {
            rr_log_warn_id(u->referral_id, "update %s of %s refused: %s", uid, u->referral_id,
                           err.message);
        }
    }
    // The referral as it is now: after the change, or beside a refusal that
    // only its owner can meet (a wrong state or a stale version), read as
    // the actor may see it (a center only its own).
    wrk_status s;
    bool have = false;
    if (st == RR_OK || (w.referral_id > 0 &&
                        (err.code == RR_ESTATE || (err.code == RR_ECONFLICT &&
                                                   strcmp(err.field, "expected_version") == 0)))) {
        Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
        q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
        q.referral_id = u->referral_id;
        q.center_code = u->center_code;
        rr_wire_error ignored;
        have = wrk_store_status(self->store, &q, &s, &ignored) == RR_OK;
    }
    Rr__V1__UpdateReply out = RR__V1__UPDATE_REPLY__INIT;
    Rr__V1__Error pb_err;
    Rr__V1__Referral ref;
    char refid[32];
    Rr__V1__RiskFlag flags[RR_WIRE_MAX_RISK_FLAGS];
    out.update_id = (char *) uid;
    out.status = (Rr__V1__Status) (st == RR_OK ? RR_OK : err.code);
    out.event_id = event_id;
    if (st != RR_OK) {
        rr_wire_error_fill(&pb_err, &err);
        out.error = &pb_err;
    }
    if (have) {
        fill_referral(&ref, &s, refid, sizeof refid, flags);
        out.referral = &ref;
    }
    pack_or_empty(&out.base, reply);
    if (have) {
        wrk_status_clear(&s);
    }
    if (u != NULL) {
        rr_wire_free(u);
    }
}

static void
process_follow(wrk_handler *self, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__FollowRequest *f = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &f, &err);
    const char *qid = f && f->query_id ? f->query_id : "";
    if (st == RR_OK) {
        assert(f != NULL); // unpacked whenever RR_OK
        st = check_actor(job, f->center_code, NULL, &err);
    }
    wrk_event *events = NULL;
    size_t count = 0;
    bool more = false;
    if (st == RR_OK) {
        uint32_t limit = f->limit ? f->limit : RR_WIRE_DEFAULT_FOLLOW;
        st = wrk_store_follow(self->store, f->center_code, f->after_seq, limit, &events, &count,
                              &more, &err);
    }
    if (st != RR_OK) {
        if (rr_wire_pack_refusal(RR_CMD_FOLLOW, qid, 0, 0, &err, reply) != RR_OK) {
            int rc = zmq_msg_init(reply);
            assert(rc == 0);
            (void) rc;
        }
    } else {
        Rr__V1__FollowReply out = RR__V1__FOLLOW_REPLY__INIT;
        Rr__V1__Event *ev = count ? calloc(count, sizeof *ev) : NULL;
        Rr__V1__Event **evp = count ? calloc(count, sizeof(Rr__V1__Event *)) : NULL;
        char(*ids)[32] = count ? calloc(count, sizeof *ids) : NULL;
        if (count && (ev == NULL || evp == NULL || ids == NULL)) {
            (void) rr_wire_fail(&err, RR_ENOMEM, "", "could not read changes: out of memory");
            if (rr_wire_pack_refusal(RR_CMD_FOLLOW, qid, 0, 0, &err, reply) != RR_OK) {
                int rc = zmq_msg_init(reply);
                assert(rc == 0);
                (void) rc;
            }
        } else {
            for (size_t i = 0; i < count; i++) {
                fill_event(&ev[i], &events[i], ids[i], sizeof ids[i]);
                evp[i] = &ev[i];
            }
            out.query_id = (char *) qid;
            out.status = RR__V1__STATUS__STATUS_OK;
            out.n_events = count;
            out.events = evp;
            out.last_seq = count ? events[count - 1].seq : f->after_seq;
            out.has_more = more;
            pack_or_empty(&out.base, reply);
        }
        free(ids);
        free(evp);
        free(ev);
    }
    free(events);
    if (f != NULL) {
        rr_wire_free(f);
    }
}

// A submission whose earlier deliveries all died with their workers: if one
// of them committed it, answer with that referral; otherwise record it as a
// dead letter, untouched, and refuse it with why.
static void
process_dead_submit(wrk_handler *self, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    const void *data = zmq_msg_data(&job->body);
    size_t size = zmq_msg_size(&job->body);
    if (rr_wire_unpack(data, size, &req, &err) != RR_OK && req == NULL) {
        pack_refusal(job, NULL, &err, reply);
        return;
    }
    if (check_actor(job, req->center_code, NULL, &err) != RR_OK) {
        pack_refusal(job, req->request_id, &err, reply);
        rr_wire_free(req);
        return;
    }
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REQUEST_ID;
    q.request_id = req->request_id;
    q.center_code = req->center_code; // only the center's own referral answers it
    wrk_status s;
    rr_wire_error lookup;
    rr_status found = rr_uuid_is_valid(req->request_id)
                          ? wrk_store_status(self->store, &q, &s, &lookup)
                          : RR_ENOTFOUND;
    if (found != RR_OK && found != RR_ENOTFOUND) {
        // Cannot tell whether it was recorded: the center retries.
        (void) rr_wire_fail(&err, RR_EDB, "",
                            "could not record referral for request \"%s\": database unavailable",
                            req->request_id);
        pack_refusal(job, req->request_id, &err, reply);
    } else if (found == RR_OK && (strcmp(s.household_id, req->household_id) != 0 ||
                                  strcmp(s.service_code, req->service_code) != 0)) {
        (void) rr_wire_fail(&err, RR_ECONFLICT, "request_id",
                            "cannot accept request \"%s\": this request_id was already used for "
                            "a different request",
                            req->request_id);
        pack_refusal(job, req->request_id, &err, reply);
        wrk_status_clear(&s);
    } else if (found == RR_OK) {
        Rr__V1__SubmitReply out = RR__V1__SUBMIT_REPLY__INIT;
        char refid[32];
        int n = snprintf(refid, sizeof refid, "R-%lld", (long long) s.referral_id);
        (void) n;
        out.request_id = req->request_id;
        out.outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        out.referral_id = refid;
        out.domain = (Rr__V1__Domain) s.domain;
        out.office_code = s.office_code;
        out.office_name = s.office_name_en;
        out.office_name_fa = s.office_name_fa;
        out.referral_status = (Rr__V1__ReferralStatus) s.status;
        out.created_at_ms = s.created_at_ms;
        job->outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        pack_or_empty(&out.base, reply);
        wrk_status_clear(&s);
    } else {
        (void) rr_wire_fail(&err, RR_EINTERNAL, "",
                            "could not process request \"%s\": the workers that took it failed; "
                            "it is kept as a dead letter",
                            req->request_id);
        rr_status st = wrk_store_dead_letter(self->store, req->request_id, req->center_code,
                                             self->domain, req->service_code, data, size, &err);
        if (st == RR_ECONFLICT) {
            // Recorded after all, between our look and our lock: retrying finds it.
            (void) rr_wire_fail(&err, RR_EAGAIN, "", "could not answer request \"%s\" yet: retry",
                                req->request_id);
        } else if (st != RR_OK) {
            (void) rr_wire_fail(&err, RR_EDB, "",
                                "could not record request \"%s\" as a dead letter: database "
                                "unavailable",
                                req->request_id);
        } else {
            rr_log_warn_id(req->request_id, "request %s dead-lettered after failing workers",
                           req->request_id);
            self->failed++;
        }
        pack_refusal(job, req->request_id, &err, reply);
    }
    rr_wire_free(req);
}

void
wrk_handler_counters(const wrk_handler *self, uint64_t *processed, uint64_t *failed,
                     uint64_t *batches, uint64_t *items)
{
    *processed = self->processed;
    *failed = self->failed;
    *batches = self->batches;
    *items = self->items;
}

void
wrk_handler_process(wrk_handler *self, wrk_job *jobs, size_t n, zmq_msg_t *replies)
{
    self->batches++;
    self->items += n;
    self->processed += n;
    assert(n <= WRK_MAX_BATCH);
    bool is_submit[WRK_MAX_BATCH];
    bool any_submit = false;
    for (size_t i = 0; i < n; i++) {
        is_submit[i] = jobs[i].command == RR_CMD_SUBMIT;
        any_submit |= is_submit[i];
        if (jobs[i].command == RR_CMD_STATUS) {
            process_status(self, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_UPDATE) {
            process_update(self, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_FOLLOW) {
            process_follow(self, &jobs[i], &replies[i]);
        } else if (is_submit[i] && jobs[i].dead) {
            is_submit[i] = false;
            process_dead_submit(self, &jobs[i], &replies[i]);
        } else if (!is_submit[i]) {
            rr_wire_error err;
            (void) rr_wire_fail(&err, RR_EPROTO, "", "unrecognized command 0x%02x",
                                jobs[i].command);
            rr_log_warn("%s", err.message);
            if (rr_wire_pack_refusal(jobs[i].command, NULL, 0, 0, &err, &replies[i]) != RR_OK) {
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
