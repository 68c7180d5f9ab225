// STATUS, UPDATE and FOLLOW, answered from the store.
#define RR_LOG_MODULE "handler"
#include "wrk_queries.h"

#include "rr_format.h"
#include "rr_log.h"
#include "wrk_validate.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

rr_status
wrk_check_actor(const wrk_job *job, wrk_action action, uint32_t center_code,
                const char *office_code, rr_wire_error *err)
{
    rr_status st = wrk_validate_actor(job->principal, action, center_code, office_code, err);
    if (st != RR_OK) {
        rr_log_warn("request refused (delivery %llu): %s", (unsigned long long) job->delivery_id,
                    err->message);
    }
    return st;
}

// Points ref's fields at s (which must outlive the packing); flags is room
// for the risk flags.
static void
fill_referral(Rr__V1__Referral *ref, const wrk_status *s, char refid[WRK_REFERRAL_ID_CAP],
              Rr__V1__RiskFlag *flags)
{
    rr__v1__referral__init(ref);
    wrk_referral_id_format(s->referral_id, refid);
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
fill_event(Rr__V1__Event *ev, const wrk_event *e, char refid[WRK_REFERRAL_ID_CAP])
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
        wrk_referral_id_format(e->referral_id, refid);
        ev->referral_id = refid;
        ev->request_id = (char *) e->request_id;
        ev->service_code = (char *) e->service_code;
    }
}

void
wrk_pack_or_empty(const ProtobufCMessage *msg, zmq_msg_t *out)
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
    char refid[WRK_REFERRAL_ID_CAP];
    Rr__V1__RiskFlag flags[RR_WIRE_MAX_RISK_FLAGS];
    fill_referral(&ref, s, refid, flags);
    reply.query_id = (char *) query_id;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.referral = &ref;
    Rr__V1__Event ev[WRK_STATUS_MAX_EVENTS];
    Rr__V1__Event *evp[WRK_STATUS_MAX_EVENTS];
    size_t ne = s->n_events < WRK_STATUS_MAX_EVENTS ? s->n_events : WRK_STATUS_MAX_EVENTS;
    for (size_t i = 0; i < ne; i++) {
        fill_event(&ev[i], &s->events[i], NULL);
        evp[i] = &ev[i];
    }
    reply.n_events = ne;
    reply.events = evp;
    wrk_pack_or_empty(&reply.base, out);
}

void
wrk_query_status(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__StatusQuery *q = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &q, &err);
    const char *qid = q && q->query_id ? q->query_id : "";
    if (st == RR_OK) {
        assert(q != NULL); // unpacked whenever RR_OK
        st = wrk_check_actor(job, WRK_ACTION_READ, q->center_code, q->office_code, &err);
    }
    if (st == RR_OK) {
        wrk_status s;
        st = wrk_store_status(store, q, &s, &err);
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

void
wrk_query_update(wrk_store *store, rr_domain domain, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__UpdateRequest *u = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &u, &err);
    const char *uid = u && u->update_id ? u->update_id : "";
    wrk_update w = {0};
    if (st == RR_OK) {
        assert(u != NULL); // unpacked whenever RR_OK
        st = wrk_check_actor(job, WRK_ACTION_CHANGE, u->center_code, u->office_code, &err);
    }
    if (st == RR_OK && !wrk_referral_id_parse(u->referral_id, &w.referral_id)) {
        st = rr_wire_fail(&err, RR_EINVAL, "referral_id",
                          "invalid referral id \"%s\": expected \"R-\" and a number",
                          u->referral_id);
    }
    if (st == RR_OK && domain != RR_DOMAIN_NONE && u->domain != (Rr__V1__Domain) domain) {
        st = rr_wire_fail(&err, RR_EINVAL, "domain", "this worker serves \"%s\", not \"%s\"",
                          rr_domain_name(domain), rr_domain_name((int) u->domain));
    }
    uint64_t event_id = 0;
    if (st == RR_OK) {
        w.update_id = u->update_id;
        w.domain = domain != RR_DOMAIN_NONE ? domain : (rr_domain) u->domain; // "any" serves all
        w.to = (rr_ref_state) u->to_status;
        w.office_code = u->office_code && u->office_code[0] ? u->office_code : NULL;
        w.center_code = u->center_code;
        w.expected_version = u->expected_version;
        w.reason = u->reason;
        w.forward_to = u->forward_to;
        st = wrk_store_update(store, &w, &event_id, &err);
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
        q.office_code = (char *) (u->office_code ? u->office_code : "");
        rr_wire_error ignored;
        have = wrk_store_status(store, &q, &s, &ignored) == RR_OK;
    }
    Rr__V1__UpdateReply out = RR__V1__UPDATE_REPLY__INIT;
    Rr__V1__Error pb_err;
    Rr__V1__Referral ref;
    char refid[WRK_REFERRAL_ID_CAP];
    Rr__V1__RiskFlag flags[RR_WIRE_MAX_RISK_FLAGS];
    out.update_id = (char *) uid;
    out.status = (Rr__V1__Status) (st == RR_OK ? RR_OK : err.code);
    out.event_id = event_id;
    if (st != RR_OK) {
        rr_wire_error_fill(&pb_err, &err);
        out.error = &pb_err;
    }
    if (have) {
        fill_referral(&ref, &s, refid, flags);
        out.referral = &ref;
    }
    wrk_pack_or_empty(&out.base, reply);
    if (have) {
        wrk_status_clear(&s);
    }
    if (u != NULL) {
        rr_wire_free(u);
    }
}

void
wrk_query_follow(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__FollowRequest *f = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &f, &err);
    const char *qid = f && f->query_id ? f->query_id : "";
    if (st == RR_OK) {
        assert(f != NULL); // unpacked whenever RR_OK
        st = wrk_check_actor(job, WRK_ACTION_READ, f->center_code, f->office_code, &err);
    }
    wrk_event *events = NULL;
    size_t count = 0;
    bool more = false;
    if (st == RR_OK) {
        uint32_t limit = f->limit ? f->limit : RR_WIRE_DEFAULT_FOLLOW;
        st = wrk_store_follow(store, f->center_code, f->office_code, f->after_seq, limit, &events,
                              &count, &more, &err);
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
        char(*ids)[WRK_REFERRAL_ID_CAP] = count ? calloc(count, sizeof *ids) : NULL;
        if (count && (ev == NULL || evp == NULL || ids == NULL)) {
            (void) rr_wire_fail(&err, RR_ENOMEM, "", "could not read changes: out of memory");
            if (rr_wire_pack_refusal(RR_CMD_FOLLOW, qid, 0, 0, &err, reply) != RR_OK) {
                int rc = zmq_msg_init(reply);
                assert(rc == 0);
                (void) rc;
            }
        } else {
            // A page stops early rather than outgrow what the broker
            // takes: the rest is the next page.
            size_t taken = 0, bytes = 0;
            for (; taken < count; taken++) {
                fill_event(&ev[taken], &events[taken], ids[taken]);
                bytes += protobuf_c_message_get_packed_size(&ev[taken].base) + 8;
                if (taken > 0 && bytes > RR_WIRE_MAX_ANSWER_BYTES) {
                    more = true;
                    break;
                }
                evp[taken] = &ev[taken];
            }
            out.query_id = (char *) qid;
            out.status = RR__V1__STATUS__STATUS_OK;
            out.n_events = taken;
            out.events = evp;
            out.last_seq = taken ? events[taken - 1].seq : f->after_seq;
            out.has_more = more;
            wrk_pack_or_empty(&out.base, reply);
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

void
wrk_query_inbox(wrk_store *store, wrk_job *job, zmq_msg_t *reply)
{
    Rr__V1__InboxRequest *q = NULL;
    rr_wire_error err;
    rr_status st = rr_wire_unpack(zmq_msg_data(&job->body), zmq_msg_size(&job->body), &q, &err);
    const char *qid = q && q->query_id ? q->query_id : "";
    if (st == RR_OK) {
        assert(q != NULL); // unpacked whenever RR_OK
        st = wrk_check_actor(job, WRK_ACTION_READ, 0, q->office_code, &err);
    }
    wrk_inbox inbox;
    memset(&inbox, 0, sizeof inbox);
    if (st == RR_OK) {
        st = wrk_store_inbox(store, q, &inbox, &err);
    }
    Rr__V1__InboxItem *items = inbox.n_items ? calloc(inbox.n_items, sizeof *items) : NULL;
    Rr__V1__InboxItem **itemp =
        inbox.n_items ? calloc(inbox.n_items, sizeof(Rr__V1__InboxItem *)) : NULL;
    Rr__V1__Referral *refs = inbox.n_items ? calloc(inbox.n_items, sizeof *refs) : NULL;
    char(*ids)[WRK_REFERRAL_ID_CAP] = inbox.n_items ? calloc(inbox.n_items, sizeof *ids) : NULL;
    Rr__V1__RiskFlag(*flags)[RR_WIRE_MAX_RISK_FLAGS] =
        inbox.n_items ? calloc(inbox.n_items, sizeof *flags) : NULL;
    if (st == RR_OK && inbox.n_items &&
        (items == NULL || itemp == NULL || refs == NULL || ids == NULL || flags == NULL)) {
        st = rr_wire_fail(&err, RR_ENOMEM, "", "could not read the inbox: out of memory");
    }
    if (st == RR_OK) {
        Rr__V1__InboxReply out = RR__V1__INBOX_REPLY__INIT;
        Rr__V1__StatusCount counts[RR_REF_STATE_MAX + 1];
        Rr__V1__StatusCount *countp[RR_REF_STATE_MAX + 1];
        size_t ncounts = 0;
        for (int s = RR_REF_NONE + 1; s <= RR_REF_STATE_MAX; s++) {
            if (inbox.counts[s] > 0) {
                rr__v1__status_count__init(&counts[ncounts]);
                counts[ncounts].status = (Rr__V1__ReferralStatus) s;
                counts[ncounts].count = inbox.counts[s];
                countp[ncounts] = &counts[ncounts];
                ncounts++;
            }
        }
        for (size_t i = 0; i < inbox.n_items; i++) {
            rr__v1__inbox_item__init(&items[i]);
            fill_referral(&refs[i], &inbox.items[i].referral, ids[i], flags[i]);
            items[i].referral = &refs[i];
            items[i].accept_deadline_ms = inbox.items[i].accept_deadline_ms;
            items[i].overdue = inbox.items[i].overdue;
            itemp[i] = &items[i];
        }
        out.query_id = (char *) qid;
        out.status = RR__V1__STATUS__STATUS_OK;
        out.items = itemp;
        out.n_items = inbox.n_items;
        out.next = inbox.next;
        out.counts = countp;
        out.n_counts = ncounts;
        wrk_pack_or_empty(&out.base, reply);
    } else if (rr_wire_pack_refusal(RR_CMD_INBOX, qid, 0, 0, &err, reply) != RR_OK) {
        int rc = zmq_msg_init(reply);
        assert(rc == 0);
        (void) rc;
    }
    free(items);
    free(itemp);
    free(refs);
    free(ids);
    free(flags);
    wrk_inbox_clear(&inbox);
    if (q != NULL) {
        rr_wire_free(q);
    }
}
