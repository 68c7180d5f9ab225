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
#include "wrk_donate.h"
#include "wrk_nbhd.h"
#include "wrk_rate.h"
#include "wrk_queries.h"
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
set_reply_office(Rr__V1__SubmitReply *reply, const wrk_recorded *rec,
                 char refid[WRK_REFERRAL_ID_CAP])
{
    wrk_referral_id_format(rec->referral_id, refid);
    reply->referral_id = refid;
    reply->office_code = (char *) rec->office_code;
    reply->office_name = (char *) rec->office_name_en;
    reply->office_name_fa = (char *) rec->office_name_fa;
    reply->referral_status = (Rr__V1__ReferralStatus) rec->status;
    reply->created_at_ms = rec->created_at_ms;
    reply->version = rec->version;
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

// Records subs[0..n) (subs[k] is jobs[idx[k]]'s): an operator's retry of a
// dead letter alone, in its own transaction (wrk_store_retry), the others
// in one batch.
static void
record_all(wrk_handler *self, const wrk_job *jobs, const size_t *idx, const wrk_submission *subs,
           size_t n, wrk_recorded *recs, rr_status *st, rr_wire_error *err)
{
    size_t retries = 0;
    for (size_t k = 0; k < n; k++) {
        retries += wrk_is_operator(jobs[idx[k]].principal);
    }
    if (retries == 0) {
        wrk_store_record(self->store, subs, n, recs, st, err);
        return;
    }
    wrk_submission batch[WRK_MAX_BATCH];
    wrk_recorded brecs[WRK_MAX_BATCH];
    rr_status bst[WRK_MAX_BATCH];
    rr_wire_error berr[WRK_MAX_BATCH];
    size_t at[WRK_MAX_BATCH], nb = 0;
    for (size_t k = 0; k < n; k++) {
        const char *who = jobs[idx[k]].principal;
        if (wrk_is_operator(who)) {
            st[k] = wrk_store_retry(self->store, &subs[k], who, &recs[k], &err[k]);
        } else {
            batch[nb] = subs[k];
            at[nb++] = k;
        }
    }
    if (nb > 0) {
        wrk_store_record(self->store, batch, nb, brecs, bst, berr);
    }
    for (size_t j = 0; j < nb; j++) {
        recs[at[j]] = brecs[j];
        st[at[j]] = bst[j];
        err[at[j]] = berr[j];
    }
}

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
            it->st =
                wrk_check_actor(&jobs[i], WRK_ACTION_SUBMIT, it->req->center_code, NULL, &it->err);
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
        if (it->st == RR_OK && it->req->finding_id != NULL && it->req->finding_id[0] != '\0') {
            it->st = wrk_store_finding_check(self->store, it->req->finding_id, it->req->center_code,
                                             it->facts.household, it->req->request_id, &it->err);
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
        subs[nsubs] = (wrk_submission){it->req, &it->facts, &it->route, it->facts.service->domain,
                                       it->priority};
        idx[nsubs++] = i;
    }

    if (nsubs > 0) {
        record_all(self, jobs, idx, subs, nsubs, recs, rec_st, rec_err);
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
                wrk_dead_letter d = {it->req->request_id,
                                     it->req->center_code,
                                     it->facts.service->domain,
                                     it->req->service_code,
                                     zmq_msg_data(&job->body),
                                     zmq_msg_size(&job->body),
                                     &it->err,
                                     job->earlier + 1, // the earlier failures, and this one
                                     recs[k].sqlstate,
                                     recs[k].cause};
                rr_status dl = wrk_store_dead_letter(self->store, &d);
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
        // rather than silently hand back the first request's answer.
        if (rec->conflict[0] != '\0') {
            // The referral may be another center's: name it only in the log.
            rr_log_warn_id(it->req->request_id,
                           "request %s reuses the request_id of R-%lld with another %s",
                           it->req->request_id, (long long) rec->referral_id, rec->conflict);
            it->st = rr_wire_fail(&it->err, RR_ECONFLICT, "request_id",
                                  "cannot accept request \"%s\": this request_id was already used "
                                  "for a different request (its %s differs)",
                                  it->req->request_id, rec->conflict);
            continue;
        }
        Rr__V1__SubmitReply reply = RR__V1__SUBMIT_REPLY__INIT;
        char refid[WRK_REFERRAL_ID_CAP];
        reply.request_id = it->req->request_id;
        reply.outcome =
            rec->duplicate ? RR__V1__OUTCOME__OUTCOME_DUPLICATE : RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        reply.shared_file = rec->duplicate; // the center may now read and follow it
        reply.domain = (Rr__V1__Domain) it->facts.service->domain;
        set_reply_office(&reply, rec, refid);
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
    if (wrk_check_actor(job, WRK_ACTION_SUBMIT, req->center_code, NULL, &err) != RR_OK) {
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
    char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    rr_status found = rr_uuid_is_valid(req->request_id)
                          ? wrk_store_status(self->store, &q, &s, &lookup)
                          : RR_ENOTFOUND;
    if (found != RR_OK && found != RR_ENOTFOUND) {
        // Cannot tell whether it was recorded: the center retries.
        (void) rr_wire_fail(&err, RR_EDB, "",
                            "could not record referral for request \"%s\": database unavailable",
                            req->request_id);
        pack_refusal(job, req->request_id, &err, reply);
    } else if (found == RR_OK && !s.answered_duplicate &&
               (rr_wire_household_canon(req->household_id, household, &lookup) != RR_OK ||
                strcmp(s.household_id, household) != 0 ||
                strcmp(s.service_code, req->service_code) != 0)) {
        (void) rr_wire_fail(&err, RR_ECONFLICT, "request_id",
                            "cannot accept request \"%s\": this request_id was already used for "
                            "a different request",
                            req->request_id);
        pack_refusal(job, req->request_id, &err, reply);
        wrk_status_clear(&s);
    } else if (found == RR_OK) {
        Rr__V1__SubmitReply out = RR__V1__SUBMIT_REPLY__INIT;
        char refid[WRK_REFERRAL_ID_CAP];
        wrk_referral_id_format(s.referral_id, refid);
        out.request_id = req->request_id;
        out.outcome = s.answered_duplicate ? RR__V1__OUTCOME__OUTCOME_DUPLICATE
                                           : RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        out.shared_file = s.answered_duplicate;
        out.referral_id = refid;
        out.domain = (Rr__V1__Domain) s.domain;
        out.office_code = s.office_code;
        out.office_name = s.office_name_en;
        out.office_name_fa = s.office_name_fa;
        out.referral_status = (Rr__V1__ReferralStatus) s.status;
        out.created_at_ms = s.created_at_ms;
        out.version = s.version;
        job->outcome = (uint8_t) out.outcome;
        wrk_pack_or_empty(&out.base, reply);
        wrk_status_clear(&s);
    } else if (wrk_is_operator(job->principal)) {
        // An operator's retry that killed its workers: its center's dead
        // letter stays as it was. Keeping the operator's copy instead would
        // let an operator write a request for a center.
        (void) rr_wire_fail(&err, RR_EINTERNAL, "",
                            "could not process request \"%s\": the workers that took it failed; "
                            "its dead letter is kept as it was",
                            req->request_id);
        rr_log_warn_id(req->request_id, "retry of request %s by %s failed with its workers",
                       req->request_id, job->principal);
        self->failed++;
    } else {
        (void) rr_wire_fail(&err, RR_EINTERNAL, "",
                            "could not process request \"%s\": the workers that took it failed; "
                            "it is kept as a dead letter",
                            req->request_id);
        // Its deliveries all died with their workers: each was an attempt.
        wrk_dead_letter d = {req->request_id,
                             req->center_code,
                             self->domain != RR_DOMAIN_NONE ? self->domain
                                                            : wrk_request_domain(req),
                             req->service_code,
                             data,
                             size,
                             &err,
                             job->earlier,
                             NULL,
                             ""};
        rr_status st = wrk_store_dead_letter(self->store, &d);
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
            wrk_query_status(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_UPDATE) {
            wrk_query_update(self->store, self->domain, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_FOLLOW) {
            wrk_query_follow(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_INBOX) {
            wrk_query_inbox(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_DONATE) {
            wrk_query_donate(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_PROFILE) {
            wrk_query_profile(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_TRUSTEE) {
            wrk_query_trustee(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_FINDING) {
            wrk_query_finding(self->store, &jobs[i], &replies[i]);
        } else if (jobs[i].command == RR_CMD_RATE) {
            wrk_query_rate(self->store, &jobs[i], &replies[i]);
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
