// The field checks of the neighbourhood side's messages (issue 18): PROFILE,
// TRUSTEE and FINDING. What needs the database (the neighbourhood, who
// serves it, the trustee, the service) the worker checks.
#include "rr_wire_check.h"

#include "rr_natid.h"
#include "rr_uuid.h"

#include <stdio.h>
#include <string.h>

#define MAX_NEED_RANK 50 // a community ranks its needs 1..50

const char *
rr_wire_capacity_kind_name(int kind)
{
    static const char *const NAMES[] = {NULL, "organisation", "place", "programme"};
    return kind > 0 && kind < (int) (sizeof NAMES / sizeof NAMES[0]) ? NAMES[kind] : NULL;
}

const char *
rr_wire_finding_source_name(int source)
{
    static const char *const NAMES[] = {NULL,     "outreach",     "trustee",
                                        "school", "health_house", "other"};
    return source > 0 && source < (int) (sizeof NAMES / sizeof NAMES[0]) ? NAMES[source] : NULL;
}

rr_status
rr_wire_check_uuid(const char *value, const char *field, bool required, rr_wire_error *err)
{
    if (value == NULL || value[0] == '\0') {
        return required
                   ? rr_wire_fail(err, RR_EINVAL, field, "missing required field \"%s\"", field)
                   : RR_OK;
    }
    if (!rr_uuid_is_valid(value)) {
        return rr_wire_fail(err, RR_EINVAL, field,
                            "invalid %s: must be a UUID like "
                            "\"5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59\"",
                            field);
    }
    return RR_OK;
}

rr_status
rr_wire_check_natid(const char *value, rr_wire_error *err)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0) {
        return RR_OK;
    }
    if (n > RR_WIRE_MAX_NATID_BYTES) {
        return rr_wire_fail(err, RR_ETOOBIG, "national_id", "field \"national_id\" is too long");
    }
    char natid[RR_NATID_LEN + 1];
    const char *why = NULL;
    if (rr_natid_normalize(value, natid, &why) != RR_OK) {
        return rr_wire_fail(err, RR_EINVAL, "national_id", "invalid national id: it %s", why);
    }
    return RR_OK;
}

// "YYYY-MM-DD" with a plausible month and day (the database checks the
// calendar itself: 2026-02-30 is EINVAL there).
static rr_status
check_day(const char *value, const char *field, rr_wire_error *err)
{
    if (value == NULL || value[0] == '\0') {
        return RR_OK;
    }
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (strlen(value) != 10 || sscanf(value, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        strspn(value, "0123456789-") != 10 || value[4] != '-' || value[7] != '-' || y < 2000 ||
        m < 1 || m > 12 || d < 1 || d > 31) {
        return rr_wire_fail(err, RR_EINVAL, field,
                            "invalid %s \"%s\": expected a day like \"2026-11-20\"", field, value);
    }
    return RR_OK;
}

// The message's own unknown fields (rr_wire_unpack looks at the top level
// only).
static rr_status
check_known(const ProtobufCMessage *m, const char *field, rr_wire_error *err)
{
    uint32_t unknown = rr_wire_unknown_field(m);
    if (unknown != 0) {
        return rr_wire_fail(err, RR_EINVAL, field,
                            "unrecognized field number %u in %s: this version of the protocol "
                            "has no such field",
                            unknown, field);
    }
    return RR_OK;
}

static rr_status
check_count(size_t n, const char *field, rr_wire_error *err)
{
    if (n > RR_WIRE_MAX_PROFILE_ITEMS) {
        return rr_wire_fail(err, RR_ETOOBIG, field, "too many %s: %zu, limit %d", field, n,
                            RR_WIRE_MAX_PROFILE_ITEMS);
    }
    return RR_OK;
}

// "needs[2].rank" (or "needs[2]" for a NULL member) into buf.
static const char *
item_field(char *buf, size_t cap, const char *list, size_t i, const char *member)
{
    int w = member != NULL ? snprintf(buf, cap, "%s[%zu].%s", list, i, member)
                           : snprintf(buf, cap, "%s[%zu]", list, i);
    return w > 0 && (size_t) w < cap ? buf : list;
}

rr_status
rr_wire_profile_check(const Rr__V1__ProfileRequest *p, rr_wire_error *err)
{
    rr_status st;
    char f[48];
    if ((st = rr_wire_check_uuid(p->update_id, "update_id", true, err)) != RR_OK) {
        return st;
    }
    if (p->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    if ((st = rr_wire_check_text(p->neighbourhood, "neighbourhood", RR_WIRE_MAX_NEIGHBOURHOOD_BYTES,
                                 true, false, err)) != RR_OK ||
        (st = check_count(p->n_capacities, "capacities", err)) != RR_OK ||
        (st = check_count(p->n_assets, "assets", err)) != RR_OK ||
        (st = check_count(p->n_needs, "needs", err)) != RR_OK ||
        (st = check_count(p->n_participants, "participants", err)) != RR_OK ||
        (st = check_day(p->capacity_assessed_on, "capacity_assessed_on", err)) != RR_OK ||
        (st = check_day(p->asset_assessed_on, "asset_assessed_on", err)) != RR_OK ||
        (st = check_day(p->needs_assessed_on, "needs_assessed_on", err)) != RR_OK) {
        return st;
    }
    for (size_t i = 0; i < p->n_capacities; i++) {
        const Rr__V1__ProfileCapacity *c = p->capacities[i];
        if ((st = check_known(&c->base, item_field(f, sizeof f, "capacities", i, NULL), err)) !=
                RR_OK ||
            (st = rr_wire_check_text(c->name, item_field(f, sizeof f, "capacities", i, "name"),
                                     RR_WIRE_MAX_ITEM_BYTES, true, false, err)) != RR_OK ||
            (st = rr_wire_check_text(c->note, item_field(f, sizeof f, "capacities", i, "note"),
                                     RR_WIRE_MAX_ITEM_NOTE_BYTES, false, true, err)) != RR_OK) {
            return st;
        }
        if (rr_wire_capacity_kind_name((int) c->kind) == NULL) {
            return rr_wire_fail(err, RR_EINVAL, item_field(f, sizeof f, "capacities", i, "kind"),
                                "unrecognized capacity kind value %d", (int) c->kind);
        }
    }
    for (size_t i = 0; i < p->n_assets; i++) {
        const Rr__V1__ProfileAsset *a = p->assets[i];
        if ((st = check_known(&a->base, item_field(f, sizeof f, "assets", i, NULL), err)) !=
                RR_OK ||
            (st = rr_wire_check_text(a->name, item_field(f, sizeof f, "assets", i, "name"),
                                     RR_WIRE_MAX_ITEM_BYTES, true, false, err)) != RR_OK ||
            (st = rr_wire_check_text(a->note, item_field(f, sizeof f, "assets", i, "note"),
                                     RR_WIRE_MAX_ITEM_NOTE_BYTES, false, true, err)) != RR_OK) {
            return st;
        }
    }
    uint64_t ranks = 0; // bit r: rank r taken
    for (size_t i = 0; i < p->n_needs; i++) {
        const Rr__V1__ProfileNeed *n = p->needs[i];
        if ((st = check_known(&n->base, item_field(f, sizeof f, "needs", i, NULL), err)) != RR_OK ||
            (st = rr_wire_check_text(n->need, item_field(f, sizeof f, "needs", i, "need"),
                                     RR_WIRE_MAX_ITEM_NOTE_BYTES, true, false, err)) != RR_OK ||
            (st = rr_wire_check_text(n->service_code,
                                     item_field(f, sizeof f, "needs", i, "service_code"),
                                     RR_WIRE_MAX_SERVICE_BYTES, false, false, err)) != RR_OK) {
            return st;
        }
        if (n->rank < 1 || n->rank > MAX_NEED_RANK) {
            return rr_wire_fail(err, RR_EINVAL, item_field(f, sizeof f, "needs", i, "rank"),
                                "need rank %u is out of range 1..%d", n->rank, MAX_NEED_RANK);
        }
        if (ranks & (1ULL << n->rank)) {
            return rr_wire_fail(err, RR_EINVAL, item_field(f, sizeof f, "needs", i, "rank"),
                                "need rank %u is given twice: each rank once", n->rank);
        }
        ranks |= 1ULL << n->rank;
    }
    for (size_t i = 0; i < p->n_participants; i++) {
        const Rr__V1__ProfileParticipant *q = p->participants[i];
        if ((st = check_known(&q->base, item_field(f, sizeof f, "participants", i, NULL), err)) !=
                RR_OK ||
            (st = rr_wire_check_text(q->role, item_field(f, sizeof f, "participants", i, "role"),
                                     RR_WIRE_MAX_ITEM_BYTES, true, false, err)) != RR_OK) {
            return st;
        }
        if (q->count < 1 || q->count > RR_WIRE_MAX_PARTICIPANTS) {
            return rr_wire_fail(err, RR_EINVAL, item_field(f, sizeof f, "participants", i, "count"),
                                "participant count %u is out of range 1..%d", q->count,
                                RR_WIRE_MAX_PARTICIPANTS);
        }
    }
    return RR_OK;
}

bool
rr_wire_phone_canon(const char *value, char out[RR_WIRE_MAX_PHONE_BYTES + 1])
{
    size_t n = 0, digits = 0;
    const unsigned char *s = (const unsigned char *) value;
    if (*s == '+') {
        out[n++] = '+';
        s++;
    }
    while (*s != '\0') {
        int digit = -1;
        if (*s >= '0' && *s <= '9') {
            digit = *s - '0';
            s++;
        } else if (s[0] == 0xDB && s[1] >= 0xB0 && s[1] <= 0xB9) { // U+06F0..U+06F9
            digit = s[1] - 0xB0;
            s += 2;
        } else if (s[0] == 0xD9 && s[1] >= 0xA0 && s[1] <= 0xA9) { // U+0660..U+0669
            digit = s[1] - 0xA0;
            s += 2;
        } else if ((*s == ' ' || *s == '-') && digits > 0) {
            s++;
            continue;
        } else {
            return false;
        }
        if (digits == 15) {
            return false;
        }
        out[n++] = (char) ('0' + digit);
        digits++;
    }
    out[n] = '\0';
    return digits >= 7;
}

rr_status
rr_wire_trustee_check(const Rr__V1__TrusteeRequest *t, rr_wire_error *err)
{
    rr_status st;
    if ((st = rr_wire_check_uuid(t->trustee_id, "trustee_id", true, err)) != RR_OK) {
        return st;
    }
    if (t->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    bool reg = t->action == RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_REGISTER;
    if (!reg && t->action != RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_DEACTIVATE) {
        return t->action == 0
                   ? rr_wire_fail(err, RR_EINVAL, "action", "missing required field \"action\"")
                   : rr_wire_fail(err, RR_EINVAL, "action", "unrecognized action value %d",
                                  (int) t->action);
    }
    if ((st = rr_wire_check_text(t->neighbourhood, "neighbourhood", RR_WIRE_MAX_NEIGHBOURHOOD_BYTES,
                                 reg, false, err)) != RR_OK ||
        (st = rr_wire_check_text(t->name, "name", RR_WIRE_MAX_ITEM_BYTES, reg, false, err)) !=
            RR_OK ||
        (st = rr_wire_check_text(t->role, "role", RR_WIRE_MAX_ITEM_BYTES, reg, false, err)) !=
            RR_OK ||
        (st = rr_wire_check_text(t->phone, "phone", RR_WIRE_MAX_PHONE_BYTES, false, false, err)) !=
            RR_OK ||
        (st = rr_wire_check_text(t->reason, "reason", RR_WIRE_MAX_REASON_BYTES, !reg, true, err)) !=
            RR_OK ||
        (st = rr_wire_check_natid(t->national_id, err)) != RR_OK) {
        return st;
    }
    char phone[RR_WIRE_MAX_PHONE_BYTES + 1];
    // The phone is personal data: the message does not quote it.
    if (t->phone != NULL && t->phone[0] != '\0' && !rr_wire_phone_canon(t->phone, phone)) {
        return rr_wire_fail(err, RR_EINVAL, "phone",
                            "invalid phone: expected 7 to 15 digits, spaces or dashes between "
                            "them, an optional leading \"+\"");
    }
    if (reg && !t->consent) {
        return rr_wire_fail(err, RR_EINVAL, "consent",
                            "cannot register a trustee without consent: field \"consent\" must be "
                            "true");
    }
    return RR_OK;
}

rr_status
rr_wire_finding_check(const Rr__V1__FindingRequest *f, rr_wire_error *err)
{
    rr_status st;
    if ((st = rr_wire_check_uuid(f->finding_id, "finding_id", true, err)) != RR_OK) {
        return st;
    }
    if (f->center_code == 0) {
        return rr_wire_fail(err, RR_EINVAL, "center_code",
                            "missing required field \"center_code\"");
    }
    bool rec = f->action == RR__V1__FINDING_ACTION__FINDING_ACTION_RECORD;
    if (!rec && f->action != RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE) {
        return f->action == 0
                   ? rr_wire_fail(err, RR_EINVAL, "action", "missing required field \"action\"")
                   : rr_wire_fail(err, RR_EINVAL, "action", "unrecognized action value %d",
                                  (int) f->action);
    }
    if (!rec) {
        return rr_wire_check_text(f->reason, "reason", RR_WIRE_MAX_REASON_BYTES, true, true, err);
    }
    char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    if ((st = rr_wire_household_canon(f->household_id, household, err)) != RR_OK ||
        (st = rr_wire_check_natid(f->national_id, err)) != RR_OK ||
        (st = rr_wire_check_text(f->neighbourhood, "neighbourhood", RR_WIRE_MAX_NEIGHBOURHOOD_BYTES,
                                 true, false, err)) != RR_OK ||
        (st = rr_wire_check_text(f->service_code, "service_code", RR_WIRE_MAX_SERVICE_BYTES, false,
                                 false, err)) != RR_OK ||
        (st = rr_wire_check_text(f->need, "need", RR_WIRE_MAX_ITEM_NOTE_BYTES, false, true, err)) !=
            RR_OK ||
        (st = rr_wire_check_text(f->reason, "reason", RR_WIRE_MAX_REASON_BYTES, false, true,
                                 err)) != RR_OK ||
        (st = rr_wire_check_uuid(f->trustee_id, "trustee_id", false, err)) != RR_OK) {
        return st;
    }
    if ((f->service_code == NULL || f->service_code[0] == '\0') &&
        (f->need == NULL || f->need[0] == '\0')) {
        return rr_wire_fail(err, RR_EINVAL, "need",
                            "a finding needs \"service_code\" or \"need\": the need found");
    }
    if (rr_wire_finding_source_name((int) f->source) == NULL) {
        return f->source == 0
                   ? rr_wire_fail(err, RR_EINVAL, "source", "missing required field \"source\"")
                   : rr_wire_fail(err, RR_EINVAL, "source", "unrecognized source value %d",
                                  (int) f->source);
    }
    bool by_trustee = f->source == RR__V1__FINDING_SOURCE__FINDING_SOURCE_TRUSTEE;
    bool has_trustee = f->trustee_id != NULL && f->trustee_id[0] != '\0';
    if (by_trustee && !has_trustee) {
        return rr_wire_fail(err, RR_EINVAL, "trustee_id",
                            "missing required field \"trustee_id\" for source \"trustee\"");
    }
    if (!by_trustee && has_trustee) {
        return rr_wire_fail(err, RR_EINVAL, "trustee_id",
                            "field \"trustee_id\" goes with source \"trustee\" only");
    }
    return RR_OK;
}

rr_status
rr_wire_check_profile_msg(const void *msg, rr_wire_error *err)
{
    return rr_wire_profile_check(msg, err);
}

rr_status
rr_wire_check_trustee_msg(const void *msg, rr_wire_error *err)
{
    return rr_wire_trustee_check(msg, err);
}

rr_status
rr_wire_check_finding_msg(const void *msg, rr_wire_error *err)
{
    return rr_wire_finding_check(msg, err);
}
