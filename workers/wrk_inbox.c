// The store's inbox job: the referrals an office owns now, filtered, most
// urgent first, a page at a time with a keyset cursor ("rank:created_us:id"
// of the page's last row, where rank is 4 for stat down to 1 for routine),
// and its counts per state.
#define RR_LOG_MODULE "store"
#include "wrk_store_impl.h"

#include "rr_format.h"
#include "rr_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANK_SQL                                                                                   \
    "CASE r.priority WHEN 'stat' THEN 4 WHEN 'asap' THEN 3 WHEN 'urgent' THEN 2 ELSE 1 END"
#define OVERDUE_SQL "(r.accept_deadline < now() AND r.status IN ('requested', 'received'))"

// $1 office, $2 states (NULL: the open ones), $3 lowest rank, $4 overdue
// only, $5 domain, $6 service, $7..$9 the cursor (NULL: the first page),
// $10 rows. The first fifteen columns are wrk_read_referral_row's.
static const wrk_statement STATEMENTS[] = {
    {"inbox",
     "SELECT r.id, r.request_id, r.center_code, r.household_id, r.service_code, r.domain,"
     " r.priority, r.status, r.office_code, o.name_en, o.name_fa, r.version,"
     " (extract(epoch FROM r.created_at) * 1000)::bigint,"
     " (extract(epoch FROM r.updated_at) * 1000)::bigint, array_to_string(r.risk_flags, ','),"
     " coalesce((extract(epoch FROM r.accept_deadline) * 1000)::bigint, 0), " OVERDUE_SQL ","
     " " RANK_SQL ", (extract(epoch FROM r.created_at) * 1000000)::bigint"
     " FROM referral r JOIN office o ON o.code = r.office_code"
     " WHERE r.office_code = $1"
     " AND CASE WHEN $2::text[] IS NULL THEN referral_is_open(r.status)"
     "          ELSE r.status = ANY ($2::text[]) END"
     " AND " RANK_SQL " >= $3::integer"
     " AND (NOT $4::boolean OR " OVERDUE_SQL ")"
     " AND ($5::text IS NULL OR r.domain = $5::text)"
     " AND ($6::text IS NULL OR r.service_code = $6::text)"
     " AND ($7::integer IS NULL OR " RANK_SQL " < $7::integer OR (" RANK_SQL " = $7::integer"
     "      AND ((extract(epoch FROM r.created_at) * 1000000)::bigint, r.id)"
     "          > ($8::bigint, $9::bigint)))"
     " ORDER BY " RANK_SQL " DESC, r.created_at, r.id LIMIT $10::integer",
     10},
    {"inbox_counts", "SELECT status, count(*) FROM referral WHERE office_code = $1 GROUP BY status",
     1},
};

const wrk_statements wrk_inbox_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

void
wrk_inbox_clear(wrk_inbox *inbox)
{
    free(inbox->items);
    memset(inbox, 0, sizeof *inbox);
}

// The states asked for as an array literal, "{requested,received}"; NULL
// when none (the open ones).
static const char *
states_literal(const Rr__V1__InboxRequest *q, char *buf, size_t cap)
{
    if (q->n_statuses == 0) {
        return NULL;
    }
    size_t len = 0;
    buf[len++] = '{';
    for (size_t i = 0; i < q->n_statuses; i++) {
        const char *name = rr_ref_state_name((int) q->statuses[i]); // checked on the wire
        rr_format_fits(buf + len, cap - len, "%s%s", i ? "," : "", name ? name : "");
        len += strlen(buf + len);
    }
    rr_format_fits(buf + len, cap - len, "}");
    return buf;
}

rr_status
wrk_store_inbox(wrk_store *self, const Rr__V1__InboxRequest *q, wrk_inbox *out, rr_wire_error *err)
{
    memset(out, 0, sizeof *out);
    int rank = 0;
    long long created_us = 0, id = 0;
    char tail = '\0';
    bool cursor = q->after != NULL && q->after[0] != '\0';
    if (cursor && (sscanf(q->after, "%d:%lld:%lld%c", &rank, &created_us, &id, &tail) != 3 ||
                   rank < 1 || rank > RR_PRIORITY_COUNT || id < 1)) {
        return rr_wire_fail(err, RR_EINVAL, "after",
                            "invalid cursor \"%s\": give the \"next\" of the previous page",
                            q->after);
    }
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", "could not read the inbox: database unavailable");
    }
    uint32_t limit = q->limit ? q->limit : RR_WIRE_DEFAULT_FOLLOW;
    char states[256], min_rank[8], c_rank[8], c_created[24], c_id[24], rows[16];
    int lowest = q->min_priority == 0 ? 1 : (int) q->min_priority;
    rr_format_fits(min_rank, sizeof min_rank, "%d", lowest);
    rr_format_fits(c_rank, sizeof c_rank, "%d", rank);
    rr_format_fits(c_created, sizeof c_created, "%lld", created_us);
    rr_format_fits(c_id, sizeof c_id, "%lld", id);
    rr_format_fits(rows, sizeof rows, "%u", limit + 1); // one more tells whether a page follows
    const char *domain = q->domain != 0 ? rr_domain_name((int) q->domain) : NULL;
    const char *v[10] = {q->office_code,
                         states_literal(q, states, sizeof states),
                         min_rank,
                         q->overdue ? "true" : "false",
                         domain,
                         q->service_code != NULL && q->service_code[0] ? q->service_code : NULL,
                         cursor ? c_rank : NULL,
                         cursor ? c_created : NULL,
                         cursor ? c_id : NULL,
                         rows};
    PGresult *res = wrk_store_exec(self, "inbox", NULL, 10, v);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("inbox query failed: %s", wrk_store_primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read the inbox: database unavailable");
    }
    size_t n = (size_t) PQntuples(res);
    bool more = n > limit;
    n = more ? limit : n;
    out->items = n ? calloc(n, sizeof *out->items) : NULL;
    if (n && out->items == NULL) {
        PQclear(res);
        return rr_wire_fail(err, RR_ENOMEM, "", "could not read the inbox: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        wrk_inbox_item *it = &out->items[i];
        wrk_read_referral_row(res, (int) i, &it->referral);
        it->accept_deadline_ms = strtoll(PQgetvalue(res, (int) i, 15), NULL, 10);
        it->overdue = PQgetvalue(res, (int) i, 16)[0] == 't';
    }
    out->n_items = n;
    if (more) {
        int last = (int) n - 1;
        rr_format_fits(out->next, sizeof out->next, "%s:%s:%s", PQgetvalue(res, last, 17),
                       PQgetvalue(res, last, 18), PQgetvalue(res, last, 0));
    }
    PQclear(res);
    const char *office[1] = {q->office_code};
    res = wrk_store_exec(self, "inbox_counts", NULL, 1, office);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        wrk_inbox_clear(out);
        return rr_wire_fail(err, RR_EDB, "", "could not read the inbox: database unavailable");
    }
    for (int i = 0; i < PQntuples(res); i++) {
        rr_ref_state st = rr_ref_state_parse(PQgetvalue(res, i, 0));
        if (st > RR_REF_NONE && st <= RR_REF_STATE_MAX) {
            out->counts[st] = (uint32_t) strtoul(PQgetvalue(res, i, 1), NULL, 10);
        }
    }
    PQclear(res);
    return RR_OK;
}
