// The store's recording job: submissions through submit_referrals (one
// statement and one COMMIT for a whole batch; migrations 0006 and 0008),
// and dead letters. The submission's thirteen parameters (and the
// neighbourhoods, linked by the same statement) and fourteen result columns
// are written once here, and once in SQL (submission_result).
#define RR_LOG_MODULE "store"
#include "wrk_store_impl.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS 3 // a request alone: tries before it is answered busy

// submit_referrals' parameters, one array each, element i for request i.
enum {
    P_REQUEST_ID,
    P_CENTER,
    P_HOUSEHOLD,
    P_NATIONAL_ID,
    P_SERVICE,
    P_SCOPE,
    P_DOMAIN,
    P_PRIORITY,
    P_REQUESTED_PRIORITY,
    P_RISK_FLAGS, // comma-joined names
    P_NOTE,
    P_OFFICE,
    P_RULE,
    P_NEIGHBOURHOOD, // not submit_referrals': the statement links inserted referrals to it
    P_FINDING,       // nor this: the statement marks an open finding referred (0019)
    P_COUNT
};

// submission_result's columns (migration 0008), in the order the statement
// below names them.
enum {
    C_ORD,
    C_ID,
    C_CENTER,
    C_HOUSEHOLD,
    C_SERVICE,
    C_OFFICE,
    C_STATUS,
    C_CREATED_MS,
    C_INSERTED,
    C_DUPLICATE,
    C_NAME_EN,
    C_NAME_FA,
    C_VERSION,
    C_CONFLICT,
    C_COUNT
};

static const wrk_statement STATEMENTS[] = {
    {"record",
     "WITH s AS (SELECT * FROM submit_referrals($1::uuid[], $2::integer[], $3::text[],"
     " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
     " $11::text[], $12::text[], $13::integer[])),"
     // The neighbourhood of each referral inserted now (issue 18), in the
     // same statement and so the same commit; a stored answer links nothing.
     " linked AS (INSERT INTO referral_neighbourhood (referral_id, neighbourhood_id)"
     " SELECT s.id, nb.id FROM s JOIN unnest($14::integer[]) WITH ORDINALITY AS nb(id, n)"
     " ON nb.n = s.ord WHERE s.inserted AND nb.id IS NOT NULL),"
     // The finding a referral answers (issue 18): marked referred, with the
     // link, in the same commit; one referred already (a retry) is left.
     " marked AS (UPDATE finding f SET state = 'referred', referral_id = s.id FROM s"
     " JOIN unnest($15::uuid[]) WITH ORDINALITY AS fi(id, n) ON fi.n = s.ord"
     " WHERE f.finding_id = fi.id AND f.state = 'open' AND s.conflict IS NULL"
     " RETURNING f.finding_id, s.id, s.center_code),"
     " noted AS (INSERT INTO finding_event (finding_id, kind, actor, referral_id)"
     " SELECT finding_id, 'referred', 'center:' || center_code, id FROM marked)"
     " SELECT ord, id, center_code, household_id, service_code, office_code, status, created_ms,"
     " inserted, duplicate, office_name_en, office_name_fa, version, coalesce(conflict, '')"
     " FROM s ORDER BY ord",
     P_COUNT},
    // See dead_letter_request in migration 0013: false when the referral exists.
    {"dead_letter",
     "SELECT dead_letter_request($1::uuid, nullif($2, '0')::integer, $3, $4, decode($5, 'hex'),"
     " $6, $7, $8::integer, nullif($9, ''), $10)",
     10},
    // An operator's retry (wrk_store_retry): the dead letter it retries
    // (open, or retried before: a retry of the retry gets its answer), held
    // against a concurrent retry or drop.
    // The request's lock first, as submit_referrals and dead_letter_request
    // take it: the same order everywhere, so no deadlock with a center's
    // resend of the same request.
    {"retry_lock", "SELECT pg_advisory_xact_lock(hashtext($1::uuid::text))", 1},
    {"retry_find",
     "SELECT encode(body, 'hex'), state FROM dead_letter"
     " WHERE request_id = $1::uuid AND center_code = $2::integer AND state IN ('open', 'retried')"
     " ORDER BY state = 'open' DESC, id DESC LIMIT 1 FOR UPDATE",
     2},
    // Names the operator as the submission's actor (migration 0013's
    // trigger), for this transaction only.
    {"retry_actor", "SELECT set_config('referral.retry_actor', $1, true)", 1},
    {"retry_mark",
     "UPDATE dead_letter SET state = 'retried', retried_by = $2, retried_at = now(),"
     " updated_at = now() WHERE request_id = $1::uuid AND state = 'open'",
     2},
};

const wrk_statements wrk_record_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

// True for errors a retry cannot cure: data exceptions (22), integrity
// violations (23), syntax or access rules (42) and errors raised by our own
// functions (P0). Anything else is the server's state and may pass.
static bool
refused_for_good(const char *state)
{
    return state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                             strncmp(state, "42", 2) == 0 || strncmp(state, "P0", 2) == 0);
}

// A growing array literal, '{"a","b",NULL}', for one parameter.
typedef struct array_text {
    char *buf; // owned
    size_t len, cap;
    bool failed;
} array_text;

static void
array_put(array_text *a, const char *text, bool quoted)
{
    size_t need = (text ? 2 * strlen(text) : 4) + 6; // separator, quotes, then "}" and the NUL
    if (a->failed) {
        return;
    }
    if (a->len + need >= a->cap) {
        size_t cap = (a->cap + need) * 2;
        char *more = realloc(a->buf, cap);
        if (more == NULL) {
            a->failed = true;
            return;
        }
        a->buf = more;
        a->cap = cap;
    }
    char sep = a->len == 0 ? '{' : ',';
    a->buf[a->len++] = sep;
    if (text == NULL) {
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
        return;
    }
    if (quoted) {
        a->buf[a->len++] = '"';
    }
    for (const char *c = text; *c; c++) {
        if (quoted && (*c == '"' || *c == '\\')) {
            a->buf[a->len++] = '\\';
        }
        a->buf[a->len++] = *c;
    }
    if (quoted) {
        a->buf[a->len++] = '"';
    }
}

static const char *
array_done(array_text *a)
{
    if (a->failed || a->buf == NULL) {
        return NULL;
    }
    a->buf[a->len++] = '}';
    a->buf[a->len] = '\0';
    return a->buf;
}

// Risk flag names, comma-joined (names are plain words).
static void
risk_flags_text(const Rr__V1__SubmitRequest *req, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < req->n_risk_flags; i++) {
        const char *name = rr_risk_flag_name((int) req->risk_flags[i]);
        if (rr_format_exact(out + len, cap - len, "%s%s", i ? "," : "", name ? name : "") !=
            RR_OK) {
            break; // at most RR_WIRE_MAX_RISK_FLAGS short names: cap is ample
        }
        len += strlen(out + len);
    }
}

// The parameters for subs[0..n): values[k] point into params[k], which the
// caller frees. False when out of memory.
static bool
submission_params(const wrk_submission *subs, size_t n, array_text params[P_COUNT],
                  const char *values[P_COUNT])
{
    memset(params, 0, sizeof(array_text) * P_COUNT);
    for (size_t i = 0; i < n; i++) {
        const wrk_submission *sub = &subs[i];
        const Rr__V1__SubmitRequest *req = sub->req;
        char center[16], rule[16], flags[256], hood[16];
        rr_format_fits(center, sizeof center, "%u", req->center_code);
        rr_format_fits(rule, sizeof rule, "%d", sub->route->rule_id);
        risk_flags_text(req, flags, sizeof flags);
        array_put(&params[P_REQUEST_ID], req->request_id, true);
        array_put(&params[P_CENTER], center, false);
        array_put(&params[P_HOUSEHOLD], sub->facts->household, true);
        array_put(&params[P_NATIONAL_ID], sub->facts->natid, true);
        array_put(&params[P_SERVICE], req->service_code, true);
        array_put(&params[P_SCOPE], sub->facts->service->per_household ? "household" : "person",
                  true);
        array_put(&params[P_DOMAIN], rr_domain_name(sub->domain), true);
        array_put(&params[P_PRIORITY], rr_priority_name(sub->priority), true);
        array_put(&params[P_REQUESTED_PRIORITY], rr_priority_name(sub->facts->priority), true);
        array_put(&params[P_RISK_FLAGS], flags, true);
        array_put(&params[P_NOTE], req->note ? req->note : "", true);
        array_put(&params[P_OFFICE], sub->route->office->code, true);
        array_put(&params[P_RULE], sub->route->rule_id > 0 ? rule : NULL, false);
        rr_format_fits(hood, sizeof hood, "%d", sub->facts->neighbourhood_id);
        array_put(&params[P_NEIGHBOURHOOD], sub->facts->neighbourhood_id > 0 ? hood : NULL, false);
        array_put(&params[P_FINDING],
                  req->finding_id != NULL && req->finding_id[0] != '\0' ? req->finding_id : NULL,
                  false);
    }
    bool ok = true;
    for (int k = 0; k < P_COUNT; k++) {
        values[k] = array_done(&params[k]);
        ok = ok && values[k] != NULL;
    }
    return ok;
}

static void
fill_recorded_row(const PGresult *res, int row, wrk_recorded *out)
{
    out->referral_id = strtoll(PQgetvalue(res, row, C_ID), NULL, 10);
    out->center_code = (uint32_t) strtoul(PQgetvalue(res, row, C_CENTER), NULL, 10);
    wrk_store_copy_field(out->household_id, sizeof out->household_id, res, row, C_HOUSEHOLD);
    wrk_store_copy_field(out->service_code, sizeof out->service_code, res, row, C_SERVICE);
    wrk_store_copy_field(out->office_code, sizeof out->office_code, res, row, C_OFFICE);
    out->status = rr_ref_state_parse(PQgetvalue(res, row, C_STATUS));
    out->created_at_ms = strtoll(PQgetvalue(res, row, C_CREATED_MS), NULL, 10);
    out->inserted = PQgetvalue(res, row, C_INSERTED)[0] == 't';
    out->duplicate = PQgetvalue(res, row, C_DUPLICATE)[0] == 't';
    wrk_store_copy_field(out->office_name_en, sizeof out->office_name_en, res, row, C_NAME_EN);
    wrk_store_copy_field(out->office_name_fa, sizeof out->office_name_fa, res, row, C_NAME_FA);
    out->version = (uint32_t) strtoul(PQgetvalue(res, row, C_VERSION), NULL, 10);
    wrk_store_copy_field(out->conflict, sizeof out->conflict, res, row, C_CONFLICT);
}

// Records subs[0..n) in one statement. RR_OK with out filled; RR_EAGAIN
// when there is no connection (within its reconnect backoff); RR_ENOMEM;
// otherwise RR_EDB with *res_out the failed result, or NULL when the
// connection was lost in flight. The caller clears *res_out.
static rr_status
run(wrk_store *self, const wrk_submission *subs, size_t n, wrk_recorded *out, PGresult **res_out)
{
    *res_out = NULL;
    array_text params[P_COUNT];
    const char *values[P_COUNT];
    rr_status st = RR_EAGAIN;
    if (!submission_params(subs, n, params, values)) {
        st = RR_ENOMEM;
    } else if (wrk_store_ensure(self) == RR_OK) {
        st = RR_EDB;
        int64_t t0 = rr_clock_mono_us();
        PGresult *res = wrk_store_exec(self, "record", NULL, P_COUNT, values);
        if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
            (PQntuples(res) != (int) n || PQnfields(res) != C_COUNT)) {
            // Named columns make another schema fail at PREPARE; this is a
            // function answering for the wrong requests.
            rr_log_error("submit_referrals answered %d rows of %d columns for %zu requests, "
                         "expected %zu of %d",
                         PQntuples(res), PQnfields(res), n, n, C_COUNT);
        }
        if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == (int) n &&
            PQnfields(res) == C_COUNT) {
            wrk_store_commit_done(self, t0);
            for (size_t i = 0; i < n; i++) {
                fill_recorded_row(res, (int) i, &out[i]);
            }
            PQclear(res);
            st = RR_OK;
        } else {
            *res_out = res;
        }
    }
    for (int k = 0; k < P_COUNT; k++) {
        free(params[k].buf);
    }
    return st;
}

// Keeps why the database refused a request, for its dead letter.
static void
describe_refusal(const PGresult *res, wrk_recorded *out)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    rr_format_fits(out->sqlstate, sizeof out->sqlstate, "%s", state ? state : "");
    const char *names[] = {
        PQresultErrorField(res, PG_DIAG_SCHEMA_NAME),
        PQresultErrorField(res, PG_DIAG_TABLE_NAME),
        PQresultErrorField(res, PG_DIAG_COLUMN_NAME),
        PQresultErrorField(res, PG_DIAG_DATATYPE_NAME),
        PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME),
    };
    wrk_pgcause_format(state, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), names,
                       sizeof names / sizeof names[0], out->cause, sizeof out->cause);
}

// One request alone, retried while the database may cure it.
static rr_status
record_one(wrk_store *self, const wrk_submission *sub, wrk_recorded *out, rr_wire_error *err)
{
    const char *id = sub->req->request_id;
    for (int attempt = 1;; attempt++) {
        PGresult *res = NULL;
        rr_status st = run(self, sub, 1, out, &res);
        if (st == RR_OK) {
            return RR_OK;
        }
        bool again = attempt < MAX_ATTEMPTS;
        if (st == RR_ENOMEM) {
            return rr_wire_fail(err, RR_EAGAIN, "", // busy: memory may be back on a retry
                                "could not record referral for request \"%s\": out of memory, "
                                "retry",
                                id);
        }
        if (st == RR_EAGAIN) {
            return rr_wire_fail(err, RR_EDB, "",
                                "could not record referral for request \"%s\": database "
                                "unavailable",
                                id);
        }
        if (res == NULL || !wrk_store_connected(self)) {
            // Lost in flight: the statement may or may not have committed.
            // The retry under the same request_id settles it either way.
            rr_log_warn("connection lost recording request %s (attempt %d)", id, attempt);
            PQclear(res);
            wrk_store_disconnect(self);
            if (again) {
                continue;
            }
            return rr_wire_fail(err, RR_EDB, "",
                                "could not record referral for request \"%s\": database "
                                "unavailable",
                                id);
        }
        if (wrk_store_sqlstate_is(res, "40001") || wrk_store_sqlstate_is(res, "40P01")) {
            rr_log_warn("serialization failure recording request %s (attempt %d)", id, attempt);
            PQclear(res);
            if (again) {
                continue;
            }
            return rr_wire_fail(err, RR_EAGAIN, "",
                                "could not record referral for request \"%s\": too much "
                                "contention, retry",
                                id);
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool permanent = refused_for_good(state);
        rr_log_error_id(id, "could not record request %s: SQLSTATE %s: %s", id, state ? state : "?",
                        wrk_store_primary(res));
        if (permanent) {
            describe_refusal(res, out);
        }
        PQclear(res);
        if (!permanent) {
            // Timeouts, lack of resources, a read-only server after a
            // failover: worth a retry by the center, not a dead letter.
            return rr_wire_fail(err, RR_EDB, "",
                                "could not record referral for request \"%s\": database "
                                "unavailable",
                                id);
        }
        return rr_wire_fail(err, RR_EINTERNAL, "",
                            "could not record referral for request \"%s\": the database refused "
                            "it",
                            id);
    }
}

void
wrk_store_record(wrk_store *self, const wrk_submission *subs, size_t n, wrk_recorded *out,
                 rr_status *item_status, rr_wire_error *item_err)
{
    if (n > 1) {
        // The whole batch in one statement and one COMMIT. An error in one
        // request rolls back all: then each is recorded alone, so one bad
        // request costs the others one retry, no more.
        PGresult *res = NULL;
        if (run(self, subs, n, out, &res) == RR_OK) {
            for (size_t i = 0; i < n; i++) {
                item_status[i] = RR_OK;
            }
            return;
        }
        if (res != NULL) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            rr_log_warn("batch of %zu failed as a whole (SQLSTATE %s: %s): recording each alone", n,
                        state ? state : "?", wrk_store_primary(res));
        }
        PQclear(res);
    }
    for (size_t i = 0; i < n; i++) {
        item_status[i] = record_one(self, &subs[i], &out[i], &item_err[i]);
    }
}

rr_status
wrk_store_dead_letter(wrk_store *self, const wrk_dead_letter *dl)
{
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    static const char hex[] = "0123456789abcdef";
    char *text = malloc(dl->size * 2 + 1);
    if (text == NULL) {
        return RR_ENOMEM;
    }
    const uint8_t *b = dl->body;
    for (size_t i = 0; i < dl->size; i++) {
        text[2 * i] = hex[b[i] >> 4];
        text[2 * i + 1] = hex[b[i] & 0xF];
    }
    text[dl->size * 2] = '\0';
    char c[16], attempts[16];
    rr_format_fits(c, sizeof c, "%u", dl->center);
    rr_format_fits(attempts, sizeof attempts, "%u", dl->attempts);
    const char *v[10] = {dl->request_id,
                         c,
                         rr_domain_name(dl->domain),
                         dl->service ? dl->service : "",
                         text,
                         rr_status_name(dl->error->code),
                         dl->error->message,
                         attempts,
                         dl->sqlstate ? dl->sqlstate : "",
                         dl->cause ? dl->cause : ""};
    PGresult *res = wrk_store_exec(self, "dead_letter", NULL, 10, v);
    free(text);
    rr_status st = RR_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rr_log_error_id(dl->request_id, "could not store a dead letter for request %s: %s",
                        dl->request_id, res ? wrk_store_primary(res) : "connection lost");
        st = RR_EDB;
    } else if (PQgetvalue(res, 0, 0)[0] != 't') {
        st = RR_ECONFLICT; // its referral was recorded after all
    }
    PQclear(res);
    return st;
}

// True when two SubmitRequest encodings carry the same request: each is
// decoded and encoded again by protobuf-c (field order and defaults made
// canonical), then compared byte for byte.
static bool
same_request(const Rr__V1__SubmitRequest *req, const char *stored_hex)
{
    size_t n = strlen(stored_hex) / 2;
    uint8_t *stored = malloc(n ? n : 1);
    if (stored == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char byte[3] = {stored_hex[2 * i], stored_hex[2 * i + 1], '\0'};
        stored[i] = (uint8_t) strtoul(byte, NULL, 16); // hex from encode(): always valid
    }
    Rr__V1__SubmitRequest *was = rr__v1__submit_request__unpack(NULL, n, stored);
    free(stored);
    if (was == NULL) {
        return false;
    }
    size_t a = rr__v1__submit_request__get_packed_size(req);
    size_t b = rr__v1__submit_request__get_packed_size(was);
    uint8_t *pa = malloc(a ? a : 1), *pb = malloc(b ? b : 1);
    bool same = pa != NULL && pb != NULL && a == b && rr__v1__submit_request__pack(req, pa) == a &&
                rr__v1__submit_request__pack(was, pb) == b && memcmp(pa, pb, a) == 0;
    free(pa);
    free(pb);
    rr__v1__submit_request__free_unpacked(was, NULL);
    return same;
}

// wrk_store_retry's steps after BEGIN; the caller rolls back unless
// *committed.
static rr_status
retry_steps(wrk_store *self, const wrk_submission *sub, const char *operator_principal,
            wrk_recorded *out, bool *committed, rr_wire_error *err)
{
    const Rr__V1__SubmitRequest *req = sub->req;
    const char *id = req->request_id;
    char center[16];
    rr_format_fits(center, sizeof center, "%u", req->center_code);
    const char *find[2] = {id, center};
    PGresult *res = wrk_store_tx_step(self, "retry_lock", NULL, 1, find, PGRES_TUPLES_OK);
    if (res != NULL) {
        PQclear(res);
        res = wrk_store_tx_step(self, "retry_find", NULL, 2, find, PGRES_TUPLES_OK);
    }
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "", "could not retry request \"%s\": database unavailable",
                            id);
    }
    bool found = PQntuples(res) == 1;
    bool same = found && same_request(req, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found) {
        return rr_wire_fail(err, RR_EPERM, "request_id",
                            "cannot submit request \"%s\" as %s: operators submit only to retry "
                            "a dead letter, and center %u has none with this request_id",
                            id, operator_principal, req->center_code);
    }
    if (!same) {
        return rr_wire_fail(err, RR_EPERM, "request_id",
                            "cannot retry request \"%s\" as %s: it differs from its dead letter "
                            "(an operator retries a request as the center sent it)",
                            id, operator_principal);
    }
    const char *actor[1] = {operator_principal};
    res = wrk_store_tx_step(self, "retry_actor", NULL, 1, actor, PGRES_TUPLES_OK);
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "", "could not retry request \"%s\": database unavailable",
                            id);
    }
    PQclear(res);
    rr_status st = run(self, sub, 1, out, &res);
    if (st != RR_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        bool permanent = res != NULL && refused_for_good(state);
        rr_log_error_id(id, "could not record retried request %s: SQLSTATE %s: %s", id,
                        state ? state : "?", res ? wrk_store_primary(res) : "connection lost");
        if (permanent) {
            describe_refusal(res, out);
        }
        PQclear(res);
        return permanent ? rr_wire_fail(err, RR_EINTERNAL, "",
                                        "could not record referral for request \"%s\": the "
                                        "database refused it",
                                        id)
                         : rr_wire_fail(err, RR_EDB, "",
                                        "could not record referral for request \"%s\": database "
                                        "unavailable",
                                        id);
    }
    const char *mark[2] = {id, operator_principal};
    res = wrk_store_tx_step(self, "retry_mark", NULL, 2, mark, PGRES_COMMAND_OK);
    if (res != NULL) {
        PQclear(res);
        res = wrk_store_tx_step(self, NULL, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
        *committed = res != NULL;
        PQclear(res);
    }
    if (!*committed) {
        // A COMMIT lost in flight may have happened: the retry finds the
        // dead letter retried and the referral recorded, and answers it.
        return rr_wire_fail(err, RR_EDB, "",
                            "could not record referral for request \"%s\": database unavailable",
                            id);
    }
    return RR_OK;
}

rr_status
wrk_store_retry(wrk_store *self, const wrk_submission *sub, const char *operator_principal,
                wrk_recorded *out, rr_wire_error *err)
{
    const char *id = sub->req->request_id;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "",
                            "could not record referral for request \"%s\": database unavailable",
                            id);
    }
    PGresult *res = wrk_store_tx_step(self, NULL, "BEGIN", 0, NULL, PGRES_COMMAND_OK);
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "",
                            "could not record referral for request \"%s\": database unavailable",
                            id);
    }
    PQclear(res);
    bool committed = false;
    rr_status st = retry_steps(self, sub, operator_principal, out, &committed, err);
    if (!committed) {
        wrk_store_rollback(self);
    }
    return st;
}
