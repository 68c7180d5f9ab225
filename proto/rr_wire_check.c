// The field checks every message a peer sends must pass before the rest of
// the system sees it (one function per message, in one table), and the
// checks of a submission's fields the client library also runs locally.
#include "rr_wire_check.h"

#include "rr_natid.h"
#include "rr_principal.h"
#include "rr_text.h"
#include "rr_uuid.h"
#include "rr_vocab.h"

#include <string.h>

// Checks one string field: length within max (and non-empty when required)
// and clean text (rr_text_check): no NUL, control or bidi override.
static rr_status
check_text(const char *value, const char *field, size_t max, bool required, bool multiline,
           rr_wire_error *err)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0) {
        if (required) {
            return rr_wire_fail(err, RR_EINVAL, field, "missing required field \"%s\"", field);
        }
        return RR_OK;
    }
    if (n > max) {
        return rr_wire_fail(err, RR_ETOOBIG, field,
                            "field \"%s\" is too long: %zu bytes, limit %zu", field, n, max);
    }
    rr_text_fault fault = {0};
    if (!rr_text_check(value, n, multiline ? RR_TEXT_MULTILINE : RR_TEXT_LINE, &fault)) {
        return rr_wire_fail(err, RR_EINVAL, field, "field \"%s\" %s (at byte %zu)", field,
                            fault.why, fault.at);
    }
    return RR_OK;
}

rr_status
rr_wire_check_text(const char *value, const char *field, size_t max, bool required, bool multiline,
                   rr_wire_error *err)
{
    return check_text(value, field, max, required, multiline, err);
}

rr_status
rr_wire_household_canon(const char *value, char out[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1],
                        rr_wire_error *err)
{
    rr_status st = check_text(value, "household_id", RR_WIRE_MAX_HOUSEHOLD_BYTES, true, false, err);
    if (st != RR_OK) {
        return st;
    }
    size_t len = 0;
    rr_text_fault fault = {0};
    st = rr_text_canon(value, strlen(value), out, RR_WIRE_MAX_HOUSEHOLD_BYTES + 1, &len, &fault);
    if (st == RR_ETOOBIG) {
        return rr_wire_fail(err, RR_ETOOBIG, "household_id",
                            "field \"household_id\" is too long once written canonically: %zu "
                            "bytes, limit %d",
                            len, RR_WIRE_MAX_HOUSEHOLD_BYTES);
    }
    if (st != RR_OK) {
        return rr_wire_fail(err, st, "household_id", "field \"household_id\" %s", fault.why);
    }
    return RR_OK;
}

rr_status
rr_wire_submit_check(const Rr__V1__SubmitRequest *req, char natid_out[11], rr_wire_error *err)
{
    char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    return rr_wire_submit_canon(req, natid_out, household, err);
}

rr_status
rr_wire_submit_canon(const Rr__V1__SubmitRequest *req, char natid_out[11],
                     char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1], rr_wire_error *err)
{
    rr_status st;
    if (!rr_uuid_is_valid(req->request_id)) {
        if (req->request_id == NULL || req->request_id[0] == '\0') {
            return rr_wire_fail(err, RR_EINVAL, "request_id",
                                "missing required field \"request_id\"");
        }
        return rr_wire_fail(err, RR_EINVAL, "request_id",
                            "invalid request_id: must be a UUID like "
                            "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    }
    if (req->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    if ((st = rr_wire_household_canon(req->household_id, household, err)) != RR_OK) {
        return st;
    }
    if ((st = check_text(req->service_code, "service_code", RR_WIRE_MAX_SERVICE_BYTES, true, false,
                         err)) != RR_OK) {
        return st;
    }
    if ((st = check_text(req->note, "note", RR_WIRE_MAX_NOTE_BYTES, false, true, err)) != RR_OK ||
        (st = check_text(req->neighbourhood, "neighbourhood", RR_WIRE_MAX_NEIGHBOURHOOD_BYTES,
                         false, false, err)) != RR_OK ||
        (st = rr_wire_check_uuid(req->finding_id, "finding_id", false, err)) != RR_OK) {
        return st;
    }
    if ((int) req->priority < 0 || (int) req->priority > RR_PRIORITY_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "priority", "unrecognized priority value %d",
                            (int) req->priority);
    }
    if ((int) req->domain < 0 || (int) req->domain > RR_DOMAIN_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) req->domain);
    }
    if (req->n_risk_flags > RR_WIRE_MAX_RISK_FLAGS) {
        return rr_wire_fail(err, RR_ETOOBIG, "risk_flags", "too many risk flags: %zu, limit %d",
                            req->n_risk_flags, RR_WIRE_MAX_RISK_FLAGS);
    }
    for (size_t i = 0; i < req->n_risk_flags; i++) {
        int f = (int) req->risk_flags[i];
        if (f < 1 || f > RR_RISK_FLAG_COUNT) {
            return rr_wire_fail(err, RR_EINVAL, "risk_flags", "unrecognized risk flag value %d", f);
        }
    }
    if (!req->consent) {
        return rr_wire_fail(err, RR_EINVAL, "consent",
                            "cannot refer without consent: field \"consent\" must be true");
    }
    // The national id is personal data: the message never quotes it.
    size_t nlen = req->national_id ? strlen(req->national_id) : 0;
    if (nlen == 0) {
        return rr_wire_fail(err, RR_EINVAL, "national_id",
                            "missing required field \"national_id\"");
    }
    if (nlen > RR_WIRE_MAX_NATID_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "national_id", "field \"national_id\" is too long");
    }
    char natid[RR_NATID_LEN + 1];
    const char *why = NULL;
    if (rr_natid_normalize(req->national_id, natid, &why) != RR_OK) {
        return rr_wire_fail(err, RR_EINVAL, "national_id", "invalid national id: it %s", why);
    }
    if (natid_out != NULL) {
        memcpy(natid_out, natid, sizeof natid);
    }
    return RR_OK;
}

// An office named as the reader of a STATUS or FOLLOW: clean text, an
// office's code, and no center beside it. RR_OK when office is empty.
static rr_status
check_office_reader(const char *office, uint32_t center_code, rr_wire_error *err)
{
    rr_status st = check_text(office, "office_code", RR_WIRE_MAX_OFFICE_BYTES, false, false, err);
    if (st != RR_OK || office == NULL || office[0] == '\0') {
        return st;
    }
    char principal[RR_PRINCIPAL_MAX + 1];
    if (center_code != 0) {
        return rr_wire_fail(err, RR_EINVAL, "office_code",
                            "at most one of \"office_code\" or \"center_code\" may name the "
                            "reader");
    }
    if (!rr_principal_of_office(office, principal)) {
        return rr_wire_fail(err, RR_EINVAL, "office_code",
                            "invalid office_code \"%s\": expected a code like \"CO-2301\"", office);
    }
    return RR_OK;
}

static rr_status
check_status(const void *msg, rr_wire_error *err)
{
    const Rr__V1__StatusQuery *q = msg;
    rr_status st;
    if ((st = check_text(q->query_id, "query_id", RR_WIRE_MAX_QUERY_ID_BYTES, false, false, err)) !=
            RR_OK ||
        (st = check_office_reader(q->office_code, q->center_code, err)) != RR_OK) {
        return st;
    }
    switch (q->key_case) {
    case RR__V1__STATUS_QUERY__KEY_REQUEST_ID:
        if (!rr_uuid_is_valid(q->request_id)) {
            return rr_wire_fail(err, RR_EINVAL, "request_id", "invalid request_id: must be a UUID");
        }
        break;
    case RR__V1__STATUS_QUERY__KEY_REFERRAL_ID:
        return check_text(q->referral_id, "referral_id", RR_WIRE_MAX_REFERRAL_BYTES, true, false,
                          err);
    default:
        return rr_wire_fail(err, RR_EINVAL, "key",
                            "missing required field: one of \"request_id\" or \"referral_id\"");
    }
    return RR_OK;
}

static rr_status
check_update(const void *msg, rr_wire_error *err)
{
    const Rr__V1__UpdateRequest *u = msg;
    rr_status st;
    if (!rr_uuid_is_valid(u->update_id)) {
        return rr_wire_fail(err, RR_EINVAL, "update_id", "invalid update_id: must be a UUID");
    }
    if ((st = check_text(u->referral_id, "referral_id", RR_WIRE_MAX_REFERRAL_BYTES, true, false,
                         err)) != RR_OK) {
        return st;
    }
    if (rr_domain_name((int) u->domain) == NULL) {
        return rr_wire_fail(err, RR_EINVAL, "domain",
                            "missing required field \"domain\": the referral's domain");
    }
    if (rr_ref_state_name((int) u->to_status) == NULL) {
        return rr_wire_fail(err, RR_EINVAL, "to_status", "unrecognized status value %d",
                            (int) u->to_status);
    }
    bool office = u->office_code != NULL && u->office_code[0] != '\0';
    if (office == (u->center_code != 0)) {
        return rr_wire_fail(
            err, RR_EINVAL, "office_code",
            "exactly one of \"office_code\" or \"center_code\" must name the actor");
    }
    char principal[RR_PRINCIPAL_MAX + 1];
    if ((st = check_text(u->office_code, "office_code", RR_WIRE_MAX_OFFICE_BYTES, false, false,
                         err)) != RR_OK) {
        return st;
    }
    if (office && !rr_principal_of_office(u->office_code, principal)) {
        return rr_wire_fail(err, RR_EINVAL, "office_code",
                            "invalid office_code \"%s\": expected a code like \"CO-2301\"",
                            u->office_code);
    }
    if (!office && !rr_principal_of_center(u->center_code, principal)) {
        return rr_wire_fail(err, RR_EINVAL, "center_code", "invalid center_code %u: at most %d",
                            u->center_code, RR_CENTER_CODE_MAX);
    }
    if ((st = check_text(u->forward_to, "forward_to", RR_WIRE_MAX_OFFICE_BYTES, false, false,
                         err)) != RR_OK ||
        (st = check_text(u->reason, "reason", RR_WIRE_MAX_REASON_BYTES, false, true, err)) !=
            RR_OK) {
        return st;
    }
    if (u->expected_version == 0) {
        return rr_wire_fail(err, RR_EINVAL, "expected_version",
                            "missing required field \"expected_version\": the version you last "
                            "saw");
    }
    return RR_OK;
}

static rr_status
check_follow(const void *msg, rr_wire_error *err)
{
    const Rr__V1__FollowRequest *f = msg;
    rr_status st =
        check_text(f->query_id, "query_id", RR_WIRE_MAX_QUERY_ID_BYTES, false, false, err);
    if (st != RR_OK || (st = check_office_reader(f->office_code, f->center_code, err)) != RR_OK) {
        return st;
    }
    if (f->center_code == 0 && (f->office_code == NULL || f->office_code[0] == '\0')) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\" (or \"office_code\")");
    }
    if (f->limit > RR_WIRE_MAX_FOLLOW_LIMIT) {
        return rr_wire_fail(err, RR_ETOOBIG, "limit", "limit %u is over the maximum %d", f->limit,
                            RR_WIRE_MAX_FOLLOW_LIMIT);
    }
    // The cursor is compared with a bigint column: a larger one could only
    // fail in the database, which a client would take for an outage.
    if (f->after_seq > (uint64_t) RR_WIRE_MAX_FOLLOW_SEQ) {
        return rr_wire_fail(err, RR_EINVAL, "after_seq",
                            "invalid after_seq %llu: a follow-up cursor is at most %lld (send 0, "
                            "or the last_seq of an earlier page)",
                            (unsigned long long) f->after_seq, (long long) RR_WIRE_MAX_FOLLOW_SEQ);
    }
    return RR_OK;
}

static rr_status
check_inbox(const void *msg, rr_wire_error *err)
{
    const Rr__V1__InboxRequest *q = msg;
    rr_status st =
        check_text(q->query_id, "query_id", RR_WIRE_MAX_QUERY_ID_BYTES, false, false, err);
    if (st != RR_OK ||
        (st = check_text(q->office_code, "office_code", RR_WIRE_MAX_OFFICE_BYTES, true, false,
                         err)) != RR_OK ||
        (st = check_office_reader(q->office_code, 0, err)) != RR_OK ||
        (st = check_text(q->service_code, "service_code", RR_WIRE_MAX_SERVICE_BYTES, false, false,
                         err)) != RR_OK ||
        (st = check_text(q->after, "after", RR_WIRE_MAX_INBOX_CURSOR, false, false, err)) !=
            RR_OK) {
        return st;
    }
    if (q->n_statuses > RR_REF_STATE_MAX) {
        return rr_wire_fail(err, RR_ETOOBIG, "statuses", "too many statuses: %zu, limit %d",
                            q->n_statuses, (int) RR_REF_STATE_MAX);
    }
    for (size_t i = 0; i < q->n_statuses; i++) {
        if (rr_ref_state_name((int) q->statuses[i]) == NULL) {
            return rr_wire_fail(err, RR_EINVAL, "statuses", "unrecognized status value %d",
                                (int) q->statuses[i]);
        }
    }
    if ((int) q->min_priority < 0 || (int) q->min_priority > RR_PRIORITY_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "min_priority", "unrecognized priority value %d",
                            (int) q->min_priority);
    }
    if ((int) q->domain < 0 || (int) q->domain > RR_DOMAIN_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) q->domain);
    }
    if (q->limit > RR_WIRE_MAX_FOLLOW_LIMIT) {
        return rr_wire_fail(err, RR_ETOOBIG, "limit", "limit %u is over the maximum %d", q->limit,
                            RR_WIRE_MAX_FOLLOW_LIMIT);
    }
    return RR_OK;
}

static rr_status
check_ready(const void *msg, rr_wire_error *err)
{
    const Rr__V1__WorkerReady *r = msg;
    if (rr_domain_or_any((int) r->domain) == NULL) { // 0: a worker of every domain
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) r->domain);
    }
    if (r->credit < 1 || r->credit > 1024) {
        return rr_wire_fail(err, RR_EINVAL, "credit", "credit %u out of range 1..1024", r->credit);
    }
    rr_status st = check_text(r->host, "host", RR_WIRE_MAX_HOST_BYTES, false, false, err);
    return st != RR_OK
               ? st
               : check_text(r->version, "version", RR_WIRE_MAX_VERSION_BYTES, false, false, err);
}

// The broker attachment of a WorkerStats: all three fields or none
// (brokers_configured 0: a worker older than them), and a detached list
// that agrees with the counts, so no broker shows a half-reported state.
static rr_status
check_stats(const void *msg, rr_wire_error *err)
{
    const Rr__V1__WorkerStats *ws = msg;
    uint32_t configured = ws->brokers_configured, attached = ws->brokers_attached;
    size_t detached = ws->n_brokers_detached;
    if (configured == 0) {
        if (attached != 0 || detached != 0) {
            return rr_wire_fail(err, RR_EINVAL, "brokers_configured",
                                "missing field \"brokers_configured\": \"brokers_attached\" and "
                                "\"brokers_detached\" come with it");
        }
        return RR_OK;
    }
    if (configured > RR_WIRE_MAX_BROKERS) {
        return rr_wire_fail(err, RR_EINVAL, "brokers_configured",
                            "brokers_configured %u out of range 1..%d", configured,
                            RR_WIRE_MAX_BROKERS);
    }
    if (attached > configured) {
        return rr_wire_fail(err, RR_EINVAL, "brokers_attached",
                            "brokers_attached %u is more than brokers_configured %u", attached,
                            configured);
    }
    if (detached > RR_WIRE_MAX_BROKERS) {
        return rr_wire_fail(err, RR_ETOOBIG, "brokers_detached",
                            "too many brokers_detached: %zu, limit %d", detached,
                            RR_WIRE_MAX_BROKERS);
    }
    if (detached != configured - attached) {
        return rr_wire_fail(err, RR_EINVAL, "brokers_detached",
                            "brokers_detached names %zu endpoint(s), expected %u "
                            "(brokers_configured - brokers_attached)",
                            detached, configured - attached);
    }
    for (size_t i = 0; i < detached; i++) {
        rr_status st = check_text(ws->brokers_detached[i], "brokers_detached",
                                  RR_WIRE_MAX_ENDPOINT_BYTES, true, false, err);
        if (st != RR_OK) {
            return st;
        }
    }
    return RR_OK;
}

static rr_status
check_submit(const void *msg, rr_wire_error *err)
{
    return rr_wire_submit_check(msg, NULL, err);
}

const char *
rr_wire_donation_intent_name(int intent)
{
    static const char *const NAMES[] = {NULL,     "unrestricted", "neighbourhood",
                                        "county", "domain",       "service"};
    return intent > 0 && intent < (int) (sizeof NAMES / sizeof NAMES[0]) ? NAMES[intent] : NULL;
}

rr_status
rr_wire_donate_check(const Rr__V1__DonateRequest *d, rr_wire_error *err)
{
    rr_status st;
    if (!rr_uuid_is_valid(d->donation_id)) {
        if (d->donation_id == NULL || d->donation_id[0] == '\0') {
            return rr_wire_fail(err, RR_EINVAL, "donation_id",
                                "missing required field \"donation_id\"");
        }
        return rr_wire_fail(err, RR_EINVAL, "donation_id",
                            "invalid donation_id: must be a UUID like "
                            "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    }
    if (d->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    if (d->amount_rials == 0) {
        return rr_wire_fail(err, RR_EINVAL, "amount_rials",
                            "missing required field \"amount_rials\"");
    }
    if (d->amount_rials > RR_WIRE_MAX_RIALS) {
        return rr_wire_fail(err, RR_ETOOBIG, "amount_rials",
                            "amount %llu rials is over the maximum %llu",
                            (unsigned long long) d->amount_rials, RR_WIRE_MAX_RIALS);
    }
    if ((st = check_text(d->bank_reference, "bank_reference", RR_WIRE_MAX_BANK_REF_BYTES, true,
                         false, err)) != RR_OK ||
        (st = check_text(d->donor, "donor", RR_WIRE_MAX_DONOR_BYTES, false, false, err)) != RR_OK ||
        (st = check_text(d->neighbourhood, "neighbourhood", RR_WIRE_MAX_NEIGHBOURHOOD_BYTES, false,
                         false, err)) != RR_OK ||
        (st = check_text(d->county_code, "county_code", 4, false, false, err)) != RR_OK ||
        (st = check_text(d->service_code, "service_code", RR_WIRE_MAX_SERVICE_BYTES, false, false,
                         err)) != RR_OK) {
        return st;
    }
    if ((int) d->domain < 0 || (int) d->domain > RR_DOMAIN_COUNT) {
        return rr_wire_fail(err, RR_EINVAL, "domain", "unrecognized domain value %d",
                            (int) d->domain);
    }
    // Exactly the target field the intent names, so that one donation has
    // one spelling (and a retry with another is a conflict, not a guess).
    bool nb = d->neighbourhood != NULL && d->neighbourhood[0] != '\0';
    bool county = d->county_code != NULL && d->county_code[0] != '\0';
    bool svc = d->service_code != NULL && d->service_code[0] != '\0';
    bool dom = d->domain != 0;
    const char *name = rr_wire_donation_intent_name((int) d->intent);
    if (name == NULL) {
        if (d->intent == 0) {
            return rr_wire_fail(err, RR_EINVAL, "intent", "missing required field \"intent\"");
        }
        return rr_wire_fail(err, RR_EINVAL, "intent", "unrecognized intent value %d",
                            (int) d->intent);
    }
    struct {
        bool set;
        int intent;
        const char *field;
    } targets[] = {
        {nb, RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD, "neighbourhood"},
        {county, RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY, "county_code"},
        {dom, RR__V1__DONATION_INTENT__DONATION_INTENT_DOMAIN, "domain"},
        {svc, RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE, "service_code"},
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        bool wanted = targets[i].intent == (int) d->intent;
        if (targets[i].set && !wanted) {
            return rr_wire_fail(err, RR_EINVAL, targets[i].field,
                                "field \"%s\" does not go with intent \"%s\"", targets[i].field,
                                name);
        }
        // A county intent may leave the county out: the center's own.
        if (wanted && !targets[i].set &&
            targets[i].intent != RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY) {
            return rr_wire_fail(err, RR_EINVAL, targets[i].field,
                                "missing required field \"%s\" for intent \"%s\"", targets[i].field,
                                name);
        }
    }
    if (county && (strlen(d->county_code) != 4 ||
                   strspn(d->county_code, "0123456789") != strlen(d->county_code))) {
        return rr_wire_fail(err, RR_EINVAL, "county_code",
                            "invalid county_code \"%s\": expected four digits like \"2301\"",
                            d->county_code);
    }
    return RR_OK;
}

static rr_status
check_donate(const void *msg, rr_wire_error *err)
{
    return rr_wire_donate_check(msg, err);
}

rr_status
rr_wire_rate_check(const Rr__V1__RateRequest *r, rr_wire_error *err)
{
    if (!rr_uuid_is_valid(r->rating_id)) {
        if (r->rating_id == NULL || r->rating_id[0] == '\0') {
            return rr_wire_fail(err, RR_EINVAL, "rating_id",
                                "missing required field \"rating_id\"");
        }
        return rr_wire_fail(err, RR_EINVAL, "rating_id",
                            "invalid rating_id: must be a UUID like "
                            "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"");
    }
    if (r->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    rr_status st =
        check_text(r->referral_id, "referral_id", RR_WIRE_MAX_REFERRAL_BYTES, true, false, err);
    if (st != RR_OK) {
        return st;
    }
    if (r->score == 0) {
        return rr_wire_fail(err, RR_EINVAL, "score", "missing required field \"score\"");
    }
    if (r->score < RR_WIRE_MIN_SCORE || r->score > RR_WIRE_MAX_SCORE) {
        return rr_wire_fail(err, RR_EINVAL, "score", "invalid score %u: the scale is %d to %d",
                            r->score, RR_WIRE_MIN_SCORE, RR_WIRE_MAX_SCORE);
    }
    if ((st = check_text(r->comment, "comment", RR_WIRE_MAX_COMMENT_BYTES, false, false, err)) !=
            RR_OK ||
        r->comment == NULL || r->comment[0] == '\0') {
        return st;
    }
    // The database compares comments in canonical form (a retry typed with
    // Arabic kaf is the same comment): one that has nothing left is refused
    // here rather than stored as a blank. Compatibility forms can grow past
    // the buffer (ETOOBIG): such a comment is not blank, and SQL has room.
    char canon[2 * RR_WIRE_MAX_COMMENT_BYTES + 16];
    size_t len = 0;
    rr_text_fault fault = {0};
    st = rr_text_canon(r->comment, strlen(r->comment), canon, sizeof canon, &len, &fault);
    if (st != RR_OK && st != RR_ETOOBIG) {
        return rr_wire_fail(err, st == RR_ENOMEM ? RR_ENOMEM : RR_EINVAL, "comment",
                            "field \"comment\" %s", fault.why ? fault.why : "cannot be read");
    }
    return RR_OK;
}

static rr_status
check_rate(const void *msg, rr_wire_error *err)
{
    return rr_wire_rate_check(msg, err);
}

// The messages a peer sends, with their field checks (NULL: none).
typedef struct body_check {
    const ProtobufCMessageDescriptor *descriptor;
    rr_wire_check_fn check;
} body_check;

static const body_check CHECKS[] = {
    {&rr__v1__submit_request__descriptor, check_submit},
    {&rr__v1__status_query__descriptor, check_status},
    {&rr__v1__update_request__descriptor, check_update},
    {&rr__v1__follow_request__descriptor, check_follow},
    {&rr__v1__inbox_request__descriptor, check_inbox},
    {&rr__v1__donate_request__descriptor, check_donate},
    {&rr__v1__profile_request__descriptor, rr_wire_check_profile_msg},
    {&rr__v1__trustee_request__descriptor, rr_wire_check_trustee_msg},
    {&rr__v1__finding_request__descriptor, rr_wire_check_finding_msg},
    {&rr__v1__rate_request__descriptor, check_rate},
    {&rr__v1__worker_ready__descriptor, check_ready},
    {&rr__v1__worker_stats__descriptor, check_stats},
    {&rr__v1__risk_rules__descriptor, NULL},
};

bool
rr_wire_peer_message(const ProtobufCMessageDescriptor *d, rr_wire_check_fn *check)
{
    for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
        if (CHECKS[i].descriptor == d) {
            *check = CHECKS[i].check;
            return true;
        }
    }
    *check = NULL;
    return false;
}
