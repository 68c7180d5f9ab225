// The store's reading jobs: one referral with its history (STATUS), and a
// center's follow-up page of changes (FOLLOW).
#define RR_LOG_MODULE "store"
#include "wrk_store_impl.h"

#include "rr_format.h"
#include "rr_log.h"

#include <stdlib.h>
#include <string.h>

#define TEXT_OF(x) #x
#define TEXT(x)    TEXT_OF(x) // a macro's value as a string literal

// One referral as STATUS shows it, by one of two keys ($1), to center $2
// or office $3 (neither: the operator's view, anyone). A request_id
// answered as a duplicate names the referral its answer named. Column 15:
// whether the reader may see it — a center its own and those a duplicate
// answer named to it (the household's shared file), an office what it owns
// or owned; 16: whether the key was a request answered as a duplicate.
#define SQL_STATUS                                                                                 \
    "SELECT r.id, r.request_id, r.center_code, r.household_id, r.service_code, r.domain,"          \
    " r.priority, r.status, r.office_code, o.name_en, o.name_fa, r.version,"                       \
    " (extract(epoch FROM r.created_at) * 1000)::bigint,"                                          \
    " (extract(epoch FROM r.updated_at) * 1000)::bigint, array_to_string(r.risk_flags, ','),"      \
    " ($2::integer = 0 AND $3::text IS NULL)"                                                      \
    " OR ($2::integer <> 0 AND (r.center_code = $2::integer OR EXISTS (SELECT 1"                   \
    "     FROM duplicate_answer d WHERE d.referral_id = r.id AND d.center_code = $2::integer)))"   \
    " OR ($3::text IS NOT NULL AND (r.office_code = $3::text OR EXISTS (SELECT 1"                  \
    "     FROM referral_event e WHERE e.referral_id = r.id AND e.office_code = $3::text))),"       \
    " "
#define SQL_STATUS_FROM " FROM referral r JOIN office o ON o.code = r.office_code WHERE "

static const wrk_statement STATEMENTS[] = {
    {"status_by_request",
     SQL_STATUS "r.request_id IS DISTINCT FROM $1::uuid" SQL_STATUS_FROM
                "r.id = coalesce((SELECT id FROM referral WHERE request_id = $1::uuid),"
                " (SELECT referral_id FROM duplicate_answer WHERE request_id = $1::uuid))",
     3},
    {"status_by_id", SQL_STATUS "false" SQL_STATUS_FROM "r.id = $1::bigint", 3},
    // A referral's history; for an office that owned it before ($2), up to
    // the change that took it away (the event after its last as owner).
    {"events",
     "SELECT id, coalesce(from_status, ''), to_status, actor, reason,"
     " (extract(epoch FROM at) * 1000)::bigint, kind, office_code, coalesce(seq, 0)"
     " FROM referral_event WHERE referral_id = $1::bigint"
     " AND ($2::text IS NULL OR id <= coalesce("
     "  (SELECT min(n.id) FROM referral_event n WHERE n.referral_id = $1::bigint AND n.id >"
     "   (SELECT max(m.id) FROM referral_event m WHERE m.referral_id = $1::bigint"
     "    AND m.office_code = $2::text)),"
     "  (SELECT max(a.id) FROM referral_event a WHERE a.referral_id = $1::bigint)))"
     " ORDER BY id LIMIT " TEXT(WRK_STATUS_MAX_EVENTS),
     2},
    // A center's events: its own referrals', and those of referrals a
    // duplicate answer named to it (another center's, the same file).
    {"follow",
     "SELECT e.seq, e.id, e.referral_id, r.request_id, r.service_code, e.kind,"
     " coalesce(e.from_status, ''), e.to_status, e.actor, e.office_code, e.reason,"
     " (extract(epoch FROM e.at) * 1000)::bigint"
     " FROM ((SELECT * FROM referral_event WHERE center_code = $1::integer AND seq > $2::bigint"
     "        ORDER BY seq LIMIT $3::integer)"
     "       UNION ALL"
     "       (SELECT * FROM referral_event WHERE referral_id IN"
     "         (SELECT referral_id FROM duplicate_answer WHERE center_code = $1::integer)"
     "        AND center_code <> $1::integer AND seq > $2::bigint"
     "        ORDER BY seq LIMIT $3::integer)) e"
     " JOIN referral r ON r.id = e.referral_id"
     " ORDER BY e.seq LIMIT $3::integer",
     3},
    // An office's events: those that left a referral with it ($1 is the
    // owner after each event), and the moves that took one away (a forward
    // or an escalation whose previous owner it was). Indexes: migration 0010.
    {"follow_office",
     "SELECT e.seq, e.id, e.referral_id, r.request_id, r.service_code, e.kind,"
     " coalesce(e.from_status, ''), e.to_status, e.actor, e.office_code, e.reason,"
     " (extract(epoch FROM e.at) * 1000)::bigint"
     " FROM ((SELECT * FROM referral_event WHERE office_code = $1 AND seq > $2::bigint"
     "        ORDER BY seq LIMIT $3::integer)"
     "       UNION ALL"
     "       (SELECT * FROM referral_event m WHERE m.kind IN ('forward', 'escalate')"
     "        AND m.seq > $2::bigint AND m.office_code <> $1"
     "        AND (SELECT p.office_code FROM referral_event p WHERE p.referral_id = m.referral_id"
     "             AND p.id < m.id ORDER BY p.id DESC LIMIT 1) = $1"
     "        ORDER BY m.seq LIMIT $3::integer)) e"
     " JOIN referral r ON r.id = e.referral_id"
     " ORDER BY e.seq LIMIT $3::integer",
     3},
};

const wrk_statements wrk_read_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

void
wrk_status_clear(wrk_status *status)
{
    free(status->events);
    memset(status, 0, sizeof *status);
}

static void
parse_flags(const char *csv, wrk_status *out)
{
    char buf[256];
    rr_format(buf, sizeof buf, "%s", csv); // at most 8 short names
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && out->n_risk_flags < RR_WIRE_MAX_RISK_FLAGS;
         tok = strtok_r(NULL, ",", &save)) {
        int f = rr_risk_flag_parse(tok);
        if (f > 0) {
            out->risk_flags[out->n_risk_flags++] = f;
        }
    }
}

void
wrk_read_referral_row(const PGresult *res, int row, wrk_status *out)
{
    out->referral_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    wrk_store_copy_field(out->request_id, sizeof out->request_id, res, row, 1);
    out->center_code = (uint32_t) strtoul(PQgetvalue(res, row, 2), NULL, 10);
    wrk_store_copy_field(out->household_id, sizeof out->household_id, res, row, 3);
    wrk_store_copy_field(out->service_code, sizeof out->service_code, res, row, 4);
    out->domain = rr_domain_parse(PQgetvalue(res, row, 5));
    out->priority = rr_priority_parse(PQgetvalue(res, row, 6));
    out->status = rr_ref_state_parse(PQgetvalue(res, row, 7));
    wrk_store_copy_field(out->office_code, sizeof out->office_code, res, row, 8);
    wrk_store_copy_field(out->office_name_en, sizeof out->office_name_en, res, row, 9);
    wrk_store_copy_field(out->office_name_fa, sizeof out->office_name_fa, res, row, 10);
    out->version = (uint32_t) strtoul(PQgetvalue(res, row, 11), NULL, 10);
    out->created_at_ms = strtoll(PQgetvalue(res, row, 12), NULL, 10);
    out->updated_at_ms = strtoll(PQgetvalue(res, row, 13), NULL, 10);
    out->n_risk_flags = 0;
    parse_flags(PQgetvalue(res, row, 14), out);
}

rr_status
wrk_store_status(wrk_store *self, const Rr__V1__StatusQuery *q, wrk_status *out, rr_wire_error *err)
{
    memset(out, 0, sizeof *out);
    const char *stmt;
    const char *key;
    char idbuf[24];
    if (q->key_case == RR__V1__STATUS_QUERY__KEY_REQUEST_ID) {
        stmt = "status_by_request";
        key = q->request_id;
    } else {
        int64_t id = 0;
        if (!wrk_referral_id_parse(q->referral_id, &id)) {
            return rr_wire_fail(err, RR_EINVAL, "referral_id",
                                "invalid referral id \"%s\": expected \"R-\" and a number",
                                q->referral_id);
        }
        rr_format_fits(idbuf, sizeof idbuf, "%lld", (long long) id);
        stmt = "status_by_id";
        key = idbuf;
    }
    const char *shown =
        q->key_case == RR__V1__STATUS_QUERY__KEY_REQUEST_ID ? q->request_id : q->referral_id;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", "could not read referral \"%s\": database unavailable",
                            shown);
    }
    char center[16];
    rr_format_fits(center, sizeof center, "%u", q->center_code);
    const char *office =
        q->office_code != NULL && q->office_code[0] != '\0' ? q->office_code : NULL;
    const char *params[3] = {key, center, office};
    PGresult *res = wrk_store_exec(self, stmt, NULL, 3, params);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("status query failed: %s", wrk_store_primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read referral \"%s\": database unavailable",
                            shown);
    }
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 15)[0] != 't') {
        PQclear(res);
        return rr_wire_fail(err, RR_ENOTFOUND,
                            q->key_case == RR__V1__STATUS_QUERY__KEY_REQUEST_ID ? "request_id"
                                                                                : "referral_id",
                            "referral \"%s\" does not exist", shown);
    }
    wrk_read_referral_row(res, 0, out);
    out->answered_duplicate = PQgetvalue(res, 0, 16)[0] == 't';
    PQclear(res);

    rr_format_fits(idbuf, sizeof idbuf, "%lld", (long long) out->referral_id);
    const char *event_params[2] = {idbuf, office};
    res = wrk_store_exec(self, "events", NULL, 2, event_params);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read referral \"%s\": database unavailable",
                            shown);
    }
    int rows = PQntuples(res);
    out->events = rows ? calloc((size_t) rows, sizeof *out->events) : NULL;
    if (rows && out->events == NULL) {
        PQclear(res);
        return rr_wire_fail(err, RR_ENOMEM, "", "could not read referral \"%s\": out of memory",
                            shown);
    }
    for (int i = 0; i < rows; i++) {
        wrk_event *e = &out->events[i];
        e->id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        e->from = rr_ref_state_parse(PQgetvalue(res, i, 1));
        e->to = rr_ref_state_parse(PQgetvalue(res, i, 2));
        wrk_store_copy_field(e->actor, sizeof e->actor, res, i, 3);
        wrk_store_copy_field(e->reason, sizeof e->reason, res, i, 4);
        e->at_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        wrk_store_copy_field(e->kind, sizeof e->kind, res, i, 6);
        wrk_store_copy_field(e->office_code, sizeof e->office_code, res, i, 7);
        e->seq = strtoull(PQgetvalue(res, i, 8), NULL, 10);
    }
    out->n_events = (size_t) rows;
    PQclear(res);
    return RR_OK;
}

rr_status
wrk_store_follow(wrk_store *self, uint32_t center, const char *office, uint64_t after,
                 uint32_t limit, wrk_event **events, size_t *count, bool *has_more,
                 rr_wire_error *err)
{
    bool as_office = office != NULL && office[0] != '\0';
    *events = NULL;
    *count = 0;
    *has_more = false;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", "could not read changes: database unavailable");
    }
    // Sequence what has committed since the last call (see stamp_events).
    PGresult *res = wrk_store_exec(self, NULL, "SELECT stamp_events(1000)", 0, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("stamping events failed: %s", wrk_store_primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read changes: database unavailable");
    }
    PQclear(res);
    char c[16], a[24], l[16];
    rr_format_fits(c, sizeof c, "%u", center);
    rr_format_fits(a, sizeof a, "%llu", (unsigned long long) after);
    rr_format_fits(l, sizeof l, "%u", limit + 1); // one more tells whether more are ready
    const char *v[3] = {as_office ? office : c, a, l};
    res = wrk_store_exec(self, as_office ? "follow_office" : "follow", NULL, 3, v);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("follow query failed: %s", wrk_store_primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read changes: database unavailable");
    }
    size_t rows = (size_t) PQntuples(res);
    *has_more = rows > limit;
    if (rows > limit) {
        rows = limit;
    }
    wrk_event *out = rows ? calloc(rows, sizeof *out) : NULL;
    if (rows && out == NULL) {
        PQclear(res);
        return rr_wire_fail(err, RR_ENOMEM, "", "could not read changes: out of memory");
    }
    for (size_t i = 0; i < rows; i++) {
        int r = (int) i;
        wrk_event *e = &out[i];
        e->seq = strtoull(PQgetvalue(res, r, 0), NULL, 10);
        e->id = strtoull(PQgetvalue(res, r, 1), NULL, 10);
        e->referral_id = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        wrk_store_copy_field(e->request_id, sizeof e->request_id, res, r, 3);
        wrk_store_copy_field(e->service_code, sizeof e->service_code, res, r, 4);
        wrk_store_copy_field(e->kind, sizeof e->kind, res, r, 5);
        e->from = rr_ref_state_parse(PQgetvalue(res, r, 6));
        e->to = rr_ref_state_parse(PQgetvalue(res, r, 7));
        wrk_store_copy_field(e->actor, sizeof e->actor, res, r, 8);
        wrk_store_copy_field(e->office_code, sizeof e->office_code, res, r, 9);
        wrk_store_copy_field(e->reason, sizeof e->reason, res, r, 10);
        e->at_ms = strtoll(PQgetvalue(res, r, 11), NULL, 10);
    }
    PQclear(res);
    *events = out;
    *count = rows;
    return RR_OK;
}
