// libpq side of the worker. Every statement is sent asynchronously and
// waited for with a client deadline, so a stalled server cannot hang the
// worker (and its heartbeats) for ever; a result counts only once
// PQgetResult has returned NULL, i.e. after the implicit COMMIT.
#define RR_LOG_MODULE "store"
#include "wrk_store.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_lifecycle.h"
#include "rr_log.h"
#include "rr_wire.h"
#include "wrk_pglog.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_DEADLINE_MS    10000 // a statement still running after this is abandoned
#define BACKOFF_MIN_MS      100
#define BACKOFF_MAX_MS      5000
#define MAX_RETRIES         3
#define CONNECT_DEADLINE_MS 3000 // a connection not made by then is given up
#define KEEPALIVE_MS        200  // longest wait between keepalive calls

struct wrk_store {
    char *conninfo;          // owned
    char *application_name;  // owned
    PGconn *conn;            // NULL while disconnected
    int64_t next_attempt_ms; // no reconnect before this (monotonic)
    int64_t backoff_ms;
    bool catalog_dirty;        // reconnected since the last catalogue check
    void (*keepalive)(void *); // called while waiting on the database
    void *keepalive_arg;
    uint64_t connects, commits;
    double commit_seconds;
};

// Submits a referral in one statement that commits on its own: see
// submit_referral in db/migrations/0003_household_lifecycle.sql.
static const char SQL_RECORD[] =
    "SELECT id, center_code, household_id, service_code, office_code, status, created_ms,"
    " inserted, office_name_en, office_name_fa, duplicate, version"
    " FROM submit_referral($1::uuid, $2::integer, $3, $4, $5, $6, $7, $8, $9::text[], $10, $11,"
    " $12::integer)";

// A batch in one statement, hence one transaction and one COMMIT: see
// submit_referrals in db/migrations/0006_batch_submit.sql. Text arrays
// carry one element per request; risk flags travel comma-joined.
static const char SQL_RECORD_BATCH[] =
    "SELECT s.id, s.center_code, s.household_id, s.service_code, s.office_code, s.status,"
    " s.created_ms, s.inserted, s.office_name_en, s.office_name_fa, s.duplicate, s.version"
    " FROM submit_referrals($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::integer[]) s"
    " ORDER BY s.ord";

static const char SQL_STATUS_BY_REQUEST[] =
    "SELECT r.id, r.request_id, r.center_code, r.household_id, r.service_code, r.domain,"
    " r.priority, r.status, r.office_code, o.name_en, o.name_fa, r.version,"
    " (extract(epoch FROM r.created_at) * 1000)::bigint,"
    " (extract(epoch FROM r.updated_at) * 1000)::bigint, array_to_string(r.risk_flags, ',')"
    " FROM referral r JOIN office o ON o.code = r.office_code WHERE r.request_id = $1::uuid";

static const char SQL_STATUS_BY_ID[] =
    "SELECT r.id, r.request_id, r.center_code, r.household_id, r.service_code, r.domain,"
    " r.priority, r.status, r.office_code, o.name_en, o.name_fa, r.version,"
    " (extract(epoch FROM r.created_at) * 1000)::bigint,"
    " (extract(epoch FROM r.updated_at) * 1000)::bigint, array_to_string(r.risk_flags, ',')"
    " FROM referral r JOIN office o ON o.code = r.office_code WHERE r.id = $1::bigint";

static const char SQL_EVENTS[] =
    "SELECT id, coalesce(from_status, ''), to_status, actor, reason,"
    " (extract(epoch FROM at) * 1000)::bigint, kind, office_code, coalesce(seq, 0)"
    " FROM referral_event WHERE referral_id = $1::bigint ORDER BY id LIMIT 200";

// The referral, locked for an update.
static const char SQL_LOCK[] = "SELECT status, version, office_code, center_code, domain"
                               " FROM referral WHERE id = $1::bigint FOR UPDATE";

// The event an earlier attempt of the same update made, if any. A separate
// statement after the lock: under READ COMMITTED it gets a fresh snapshot,
// so it sees an attempt that committed while this one waited on the lock.
static const char SQL_FIND_UPDATE[] =
    "SELECT id, referral_id, actor FROM referral_event WHERE update_id = $1::uuid";

static const char SQL_CHANGE[] =
    "WITH u AS ("
    " UPDATE referral SET status = $2, version = version + 1, updated_at = now(),"
    "  office_code = coalesce($3, office_code),"
    // A forward gives the new owner the full time to accept, and may be
    // escalated again.
    "  accept_deadline = CASE WHEN $3 IS NULL THEN accept_deadline ELSE now() + coalesce("
    "   (SELECT accept_within FROM priority_sla s WHERE s.priority = referral.priority),"
    "   interval '10 days') END,"
    "  escalated_at = CASE WHEN $3 IS NULL THEN escalated_at END"
    " WHERE id = $1::bigint RETURNING id, office_code, center_code"
    ")"
    " INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,"
    "  office_code, center_code, update_id)"
    " SELECT u.id, $4, $2, $5, $6, $7, u.office_code, u.center_code, $8::uuid FROM u"
    " RETURNING id";

// See dead_letter_request in migration 0004: false when the referral exists.
static const char SQL_DEAD_LETTER[] =
    "SELECT dead_letter_request($1::uuid, nullif($2, '0')::integer, $3, $4, decode($5, 'hex'),"
    " $6, $7)";

static const char SQL_OFFICE_ACTIVE[] = "SELECT active FROM office WHERE code = $1";

static const char SQL_FOLLOW[] =
    "SELECT e.seq, e.id, e.referral_id, r.request_id, r.service_code, e.kind,"
    " coalesce(e.from_status, ''), e.to_status, e.actor, e.office_code, e.reason,"
    " (extract(epoch FROM e.at) * 1000)::bigint"
    " FROM referral_event e JOIN referral r ON r.id = e.referral_id"
    " WHERE e.center_code = $1::integer AND e.seq > $2::bigint"
    " ORDER BY e.seq LIMIT $3::integer";

static const struct {
    const char *name;
    const char *sql;
    int nparams;
} statements[] = {
    {"record", SQL_RECORD, 12},
    {"record_batch", SQL_RECORD_BATCH, 12},
    {"status_by_request", SQL_STATUS_BY_REQUEST, 1},
    {"status_by_id", SQL_STATUS_BY_ID, 1},
    {"events", SQL_EVENTS, 1},
    {"lock", SQL_LOCK, 1},
    {"find_update", SQL_FIND_UPDATE, 1},
    {"change", SQL_CHANGE, 8},
    {"office_active", SQL_OFFICE_ACTIVE, 1},
    {"dead_letter", SQL_DEAD_LETTER, 7},
    {"follow", SQL_FOLLOW, 3},
};

wrk_store *
wrk_store_new(const char *conninfo, const char *application_name)
{
    wrk_store *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return NULL;
    }
    self->conninfo = strdup(conninfo);
    self->application_name = strdup(application_name);
    if (self->conninfo == NULL || self->application_name == NULL) {
        wrk_store_destroy(&self);
        return NULL;
    }
    self->backoff_ms = BACKOFF_MIN_MS;
    return self;
}

void
wrk_store_destroy(wrk_store **self_p)
{
    assert(self_p != NULL);
    wrk_store *self = *self_p;
    if (self == NULL) {
        return;
    }
    PQfinish(self->conn); // right for NULL too
    free(self->conninfo);
    free(self->application_name);
    free(self);
    *self_p = NULL;
}

bool
wrk_store_connected(const wrk_store *self)
{
    return self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK;
}

static void
disconnect(wrk_store *self)
{
    PQfinish(self->conn);
    self->conn = NULL;
}

static const char *primary(const PGresult *res);

// Waits (with the keepalive running every KEEPALIVE_MS) until the
// connection's socket is ready for events or the deadline passes. Returns
// false on timeout or a poll failure.
static bool
wait_socket(wrk_store *self, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - rr_clock_mono_ms();
        if (left <= 0) {
            return false;
        }
        if (self->keepalive != NULL) {
            self->keepalive(self->keepalive_arg);
        }
        struct pollfd pfd = {PQsocket(self->conn), events, 0};
        int rc = poll(&pfd, 1, (int) (left < KEEPALIVE_MS ? left : KEEPALIVE_MS));
        if (rc > 0) {
            return true;
        }
        if (rc < 0 && errno != EINTR) {
            rr_log_error("poll on the database socket failed: %s", strerror(errno));
            return false;
        }
    }
}

typedef enum exec_kind {
    EXEC_PREPARED, // run the prepared statement `name`
    EXEC_QUERY,    // run `sql` as a one-off statement
    EXEC_PREPARE,  // prepare `sql` as `name`
} exec_kind;

// Sends one statement and waits for all its results with a deadline,
// returning the last one, or NULL when the connection failed or the
// deadline passed (then the connection is dropped: whatever it was doing is
// in doubt, and the caller's retry settles it). A result counts only after
// PQgetResult returned NULL: for an implicit transaction that is after its
// COMMIT.
static PGresult *
exec_deadline(wrk_store *self, exec_kind kind, const char *name, const char *sql, int nparams,
              const char *const *values)
{
    int sent = 0;
    switch (kind) {
    case EXEC_PREPARED:
        sent = PQsendQueryPrepared(self->conn, name, nparams, values, NULL, NULL, 0);
        break;
    case EXEC_QUERY:
        sent = PQsendQueryParams(self->conn, sql, nparams, NULL, values, NULL, NULL, 0);
        break;
    case EXEC_PREPARE:
        sent = PQsendPrepare(self->conn, name, sql, nparams, NULL);
        break;
    }
    const char *label = name ? name : "(query)";
    if (!sent) {
        rr_log_error("could not send statement %s: %s", label, PQerrorMessage(self->conn));
        disconnect(self);
        return NULL;
    }
    int64_t deadline = rr_clock_mono_ms() + STMT_DEADLINE_MS;
    PGresult *last = NULL;
    for (;;) {
        while (!PQisBusy(self->conn)) {
            PGresult *res = PQgetResult(self->conn);
            if (res == NULL) {
                if (last == NULL) {
                    rr_log_error("statement %s returned no result", label);
                }
                return last;
            }
            PQclear(last);
            last = res;
        }
        if (!wait_socket(self, POLLIN, deadline)) {
            rr_log_error("statement %s got no answer within %d ms: dropping the connection", label,
                         STMT_DEADLINE_MS);
            PQclear(last);
            disconnect(self);
            return NULL;
        }
        if (!PQconsumeInput(self->conn)) {
            rr_log_error("lost the database connection: %s", PQerrorMessage(self->conn));
            PQclear(last);
            disconnect(self);
            return NULL;
        }
    }
}

// Runs a set-up statement; false (logged) unless it returns status want.
static bool
setup_step(wrk_store *self, exec_kind kind, const char *name, const char *sql, int nparams,
           ExecStatusType want)
{
    PGresult *res = exec_deadline(self, kind, name, sql, nparams, NULL);
    if (res == NULL) {
        return false;
    }
    bool ok = PQresultStatus(res) == want;
    if (!ok) {
        rr_log_error("could not set up the connection (%s): %s", name ? name : sql, primary(res));
    }
    PQclear(res);
    return ok;
}

// Connects without blocking past CONNECT_DEADLINE_MS, keeping heartbeats
// going. false (logged) on failure.
static bool
connect_nonblocking(wrk_store *self)
{
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {"2", self->application_name, self->conninfo, NULL};
    // expand_dbname: the conninfo's own settings override the two above.
    self->conn = PQconnectStartParams(keys, values, 1);
    if (self->conn == NULL || PQstatus(self->conn) == CONNECTION_BAD) {
        return false;
    }
    wrk_pglog_attach(self->conn);
    int64_t deadline = rr_clock_mono_ms() + CONNECT_DEADLINE_MS;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    for (;;) {
        if (poll_status == PGRES_POLLING_OK) {
            return PQsetnonblocking(self->conn, 0) == 0;
        }
        if (poll_status == PGRES_POLLING_FAILED) {
            return false;
        }
        short events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (!wait_socket(self, events, deadline)) {
            rr_log_warn("database connection not made within %d ms", CONNECT_DEADLINE_MS);
            return false;
        }
        poll_status = PQconnectPoll(self->conn);
    }
}

void
wrk_store_counters(const wrk_store *self, uint64_t *commits, double *commit_seconds,
                   uint64_t *reconnects)
{
    *commits = self->commits;
    *commit_seconds = self->commit_seconds;
    *reconnects = self->connects > 0 ? self->connects - 1 : 0;
}

void
wrk_store_set_keepalive(wrk_store *self, void (*fn)(void *), void *arg)
{
    self->keepalive = fn;
    self->keepalive_arg = arg;
}

rr_status
wrk_store_ensure(wrk_store *self)
{
    if (wrk_store_connected(self)) {
        return RR_OK;
    }
    disconnect(self);
    int64_t now = rr_clock_mono_ms();
    if (now < self->next_attempt_ms) {
        return RR_EDB;
    }
    if (!connect_nonblocking(self)) {
        rr_log_warn("could not connect to the database (next try in %" PRId64 " ms): %s",
                    self->backoff_ms, self->conn ? PQerrorMessage(self->conn) : "out of memory");
        goto fail;
    }
    // Generic plans: the batch statements take arrays, whose length a
    // custom plan would be tuned to, and planning them again for every
    // batch cost more than running them. (Set here, not on the function:
    // a function's own SET clauses cost about 0.3 ms per call.)
    if (!setup_step(self, EXEC_QUERY, NULL,
                    "SELECT pg_catalog.set_config('search_path', 'referral', false),"
                    " pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', false)",
                    0, PGRES_TUPLES_OK) ||
        !setup_step(self, EXEC_QUERY, NULL, "LISTEN referral_catalog", 0, PGRES_COMMAND_OK)) {
        goto fail;
    }
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        if (!setup_step(self, EXEC_PREPARE, statements[i].name, statements[i].sql,
                        statements[i].nparams, PGRES_COMMAND_OK)) {
            goto fail;
        }
    }
    self->catalog_dirty = true; // notifications sent while away are lost
    self->backoff_ms = BACKOFF_MIN_MS;
    self->connects++;
    rr_log_info("connected to the database (server %d)", PQserverVersion(self->conn));
    return RR_OK;
fail:
    disconnect(self);
    self->next_attempt_ms = now + self->backoff_ms;
    self->backoff_ms =
        self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
    return RR_EDB;
}

// A failed result's primary message only: DETAIL may quote the failing row,
// and a referral row holds a national id, which never goes in a log line.
static const char *
primary(const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m ? m : "(no message)";
}

// ---- catalogue --------------------------------------------------------------

bool
wrk_store_catalog_changed(wrk_store *self)
{
    bool changed = self->catalog_dirty;
    self->catalog_dirty = false;
    if (!wrk_store_connected(self)) {
        return changed;
    }
    if (!PQconsumeInput(self->conn)) {
        rr_log_warn("lost the database connection: %s", PQerrorMessage(self->conn));
        disconnect(self);
        return true;
    }
    PGnotify *note;
    while ((note = PQnotifies(self->conn)) != NULL) {
        changed = true;
        PQfreemem(note);
    }
    return changed;
}

// Copies a column into dst, cutting a value too long for it at a UTF-8
// character boundary so that what goes on the wire stays valid UTF-8.
static void
copy_field(char *dst, size_t cap, const PGresult *res, int row, int col)
{
    const char *src = PQgetvalue(res, row, col);
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char) src[n] & 0xC0) == 0x80) {
            n--; // src[n] continues a character: cut before that character
        }
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static PGresult *
query(wrk_store *self, const char *sql)
{
    PGresult *res = exec_deadline(self, EXEC_QUERY, NULL, sql, 0, NULL);
    if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK) {
        rr_log_error("catalogue query failed: %s", primary(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

rr_status
wrk_store_load_catalog(wrk_store *self, wrk_catalog **out)
{
    *out = NULL;
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    rr_status st = RR_EDB;
    PGresult *services = NULL, *centers = NULL, *offices = NULL, *rules = NULL, *risks = NULL;
    wrk_catalog *cat = wrk_catalog_new();
    if (cat == NULL) {
        st = RR_ENOMEM;
        goto done;
    }
    services = query(self, "SELECT code, domain, active FROM service");
    centers = services ? query(self, "SELECT c.code, c.county_code, k.province_code, c.active"
                                     " FROM center c JOIN county k ON k.code = c.county_code")
                       : NULL;
    offices = centers ? query(self, "SELECT code, name_en, name_fa, coalesce(county_code, ''),"
                                    " province_code, active FROM office")
                      : NULL;
    rules = offices ? query(self, "SELECT id, coalesce(service_code, ''),"
                                  " coalesce(province_code, ''), coalesce(county_code, ''),"
                                  " coalesce(priority, ''), office_code"
                                  " FROM routing_rule WHERE active ORDER BY id")
                    : NULL;
    risks = rules ? query(self, "SELECT array_to_string(flags, ','), min_priority"
                                " FROM risk_priority_rule ORDER BY id")
                  : NULL;
    if (risks == NULL) {
        goto done;
    }
    st = RR_OK;
    for (int i = 0; i < PQntuples(services) && st == RR_OK; i++) {
        wrk_service s = {0};
        copy_field(s.code, sizeof s.code, services, i, 0);
        s.domain = rr_domain_parse(PQgetvalue(services, i, 1));
        s.active = PQgetvalue(services, i, 2)[0] == 't';
        st = wrk_catalog_add_service(cat, &s);
    }
    for (int i = 0; i < PQntuples(centers) && st == RR_OK; i++) {
        wrk_center c = {0};
        c.code = (uint32_t) strtoul(PQgetvalue(centers, i, 0), NULL, 10);
        copy_field(c.county, sizeof c.county, centers, i, 1);
        copy_field(c.province, sizeof c.province, centers, i, 2);
        c.active = PQgetvalue(centers, i, 3)[0] == 't';
        st = wrk_catalog_add_center(cat, &c);
    }
    for (int i = 0; i < PQntuples(offices) && st == RR_OK; i++) {
        wrk_office o = {0};
        copy_field(o.code, sizeof o.code, offices, i, 0);
        copy_field(o.name_en, sizeof o.name_en, offices, i, 1);
        copy_field(o.name_fa, sizeof o.name_fa, offices, i, 2);
        copy_field(o.county, sizeof o.county, offices, i, 3);
        copy_field(o.province, sizeof o.province, offices, i, 4);
        o.active = PQgetvalue(offices, i, 5)[0] == 't';
        st = wrk_catalog_add_office(cat, &o);
    }
    for (int i = 0; i < PQntuples(rules) && st == RR_OK; i++) {
        wrk_rule r = {0};
        r.id = (int) strtol(PQgetvalue(rules, i, 0), NULL, 10);
        copy_field(r.service, sizeof r.service, rules, i, 1);
        copy_field(r.province, sizeof r.province, rules, i, 2);
        copy_field(r.county, sizeof r.county, rules, i, 3);
        r.priority = rr_priority_parse(PQgetvalue(rules, i, 4));
        copy_field(r.office, sizeof r.office, rules, i, 5);
        st = wrk_catalog_add_rule(cat, &r);
    }
    for (int i = 0; i < PQntuples(risks) && st == RR_OK; i++) {
        int flags[RR_RISK_FLAG_COUNT];
        size_t nflags = 0;
        char buf[256];
        copy_field(buf, sizeof buf, risks, i, 0);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok && nflags < RR_RISK_FLAG_COUNT;
             tok = strtok_r(NULL, ",", &save)) {
            int f = rr_risk_flag_parse(tok);
            if (f == 0) {
                rr_log_warn("risk rule %d names unrecognized flag \"%s\": rule ignored", i, tok);
                nflags = 0;
                break;
            }
            flags[nflags++] = f;
        }
        rr_risk_rule rule = {rr_risk_mask(flags, nflags),
                             rr_priority_parse(PQgetvalue(risks, i, 1))};
        if (rule.flags != 0 && rule.priority != RR_PRIORITY_NONE) {
            st = wrk_catalog_add_risk_rule(cat, &rule);
        }
    }
    if (st != RR_OK) {
        rr_log_error("could not build the catalogue: %s", rr_strerror(st));
        goto done;
    }
    rr_log_info("catalogue loaded: %d services, %d centers, %d offices, %d routing rules, %d risk "
                "rules",
                PQntuples(services), PQntuples(centers), PQntuples(offices), PQntuples(rules),
                PQntuples(risks));
    *out = cat;
    cat = NULL;
done:
    PQclear(risks);
    PQclear(rules);
    PQclear(offices);
    PQclear(centers);
    PQclear(services);
    wrk_catalog_destroy(&cat);
    return st;
}

// ---- recording --------------------------------------------------------------

// True for errors a retry cannot cure: data exceptions (22), integrity
// violations (23), syntax or access rules (42) and errors raised by our own
// functions (P0). Anything else is the server's state and may pass.
static bool
refused_for_good(const char *state)
{
    return state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                             strncmp(state, "42", 2) == 0 || strncmp(state, "P0", 2) == 0);
}

static bool
sqlstate_is(const PGresult *res, const char *code)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s != NULL && strcmp(s, code) == 0;
}

// Builds a text[] literal from risk flag numbers; names are plain words.
static void
risk_flags_literal(const Rr__V1__SubmitRequest *req, char *out, size_t cap)
{
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; i < req->n_risk_flags; i++) {
        const char *name = rr_risk_flag_name((int) req->risk_flags[i]);
        int n = snprintf(out + len, cap - len, "%s%s", i ? "," : "", name ? name : "");
        if (n < 0 || (size_t) n >= cap - len) {
            break;
        }
        len += (size_t) n;
    }
    if (len + 2 <= cap) {
        out[len++] = '}';
        out[len] = '\0';
    } else {
        out[cap - 2] = '}';
        out[cap - 1] = '\0';
    }
}

static void
fill_recorded_row(const PGresult *res, int row, wrk_recorded *out)
{
    out->referral_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    out->center_code = (uint32_t) strtoul(PQgetvalue(res, row, 1), NULL, 10);
    copy_field(out->household_id, sizeof out->household_id, res, row, 2);
    copy_field(out->service_code, sizeof out->service_code, res, row, 3);
    copy_field(out->office_code, sizeof out->office_code, res, row, 4);
    out->status = rr_ref_state_parse(PQgetvalue(res, row, 5));
    out->created_at_ms = strtoll(PQgetvalue(res, row, 6), NULL, 10);
    out->inserted = PQgetvalue(res, row, 7)[0] == 't';
    copy_field(out->office_name_en, sizeof out->office_name_en, res, row, 8);
    copy_field(out->office_name_fa, sizeof out->office_name_fa, res, row, 9);
    out->duplicate = PQgetvalue(res, row, 10)[0] == 't';
    out->version = (uint32_t) strtoul(PQgetvalue(res, row, 11), NULL, 10);
}

static rr_status
record_one(wrk_store *self, const wrk_submission *sub, wrk_recorded *out, rr_wire_error *err)
{
    const Rr__V1__SubmitRequest *req = sub->req;
    char center[16], rule[16], flags[256];
    int n = snprintf(center, sizeof center, "%u", req->center_code);
    (void) n;
    n = snprintf(rule, sizeof rule, "%d", sub->route->rule_id);
    (void) n;
    risk_flags_literal(req, flags, sizeof flags);
    const char *values[12] = {
        req->request_id,
        center,
        req->household_id,
        sub->facts->natid,
        req->service_code,
        rr_domain_name(sub->domain),
        rr_priority_name(sub->priority),
        rr_priority_name(sub->facts->priority),
        flags,
        req->note ? req->note : "",
        sub->route->office->code,
        sub->route->rule_id > 0 ? rule : NULL,
    };
    for (int attempt = 1;; attempt++) {
        if (wrk_store_ensure(self) != RR_OK) {
            return rr_wire_fail(err, RR_EDB, "",
                                "could not record referral for request \"%s\": database "
                                "unavailable",
                                req->request_id);
        }
        int64_t t0 = rr_clock_mono_us();
        PGresult *res = exec_deadline(self, EXEC_PREPARED, "record", NULL, 12, values);
        if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            self->commits++;
            self->commit_seconds += (double) (rr_clock_mono_us() - t0) / 1e6;
            fill_recorded_row(res, 0, out);
            PQclear(res);
            return RR_OK;
        }
        bool retry = attempt < MAX_RETRIES;
        if (res == NULL || !wrk_store_connected(self)) {
            // Lost in flight: the statement may or may not have committed.
            // The retry under the same request_id settles it either way.
            rr_log_warn("connection lost recording request %s (attempt %d)", req->request_id,
                        attempt);
            disconnect(self);
            PQclear(res);
            if (!retry) {
                return rr_wire_fail(err, RR_EDB, "",
                                    "could not record referral for request \"%s\": database "
                                    "unavailable",
                                    req->request_id);
            }
            continue;
        }
        if (sqlstate_is(res, "40001") || sqlstate_is(res, "40P01")) {
            rr_log_warn("serialization failure recording request %s (attempt %d)", req->request_id,
                        attempt);
            PQclear(res);
            if (retry) {
                continue;
            }
            return rr_wire_fail(err, RR_EAGAIN, "",
                                "could not record referral for request \"%s\": too much "
                                "contention, retry",
                                req->request_id);
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool permanent = refused_for_good(state);
        rr_log_error_id(req->request_id, "could not record request %s: SQLSTATE %s: %s",
                        req->request_id, state ? state : "?", primary(res));
        PQclear(res);
        if (!permanent) {
            // Timeouts, lack of resources, a read-only server after a
            // failover: worth a retry by the center, not a dead letter.
            return rr_wire_fail(err, RR_EDB, "",
                                "could not record referral for request \"%s\": database "
                                "unavailable",
                                req->request_id);
        }
        return rr_wire_fail(err, RR_EINTERNAL, "",
                            "could not record referral for request \"%s\": the database refused "
                            "it",
                            req->request_id);
    }
}

// A growing array literal, '{"a","b",NULL}', for one batch parameter.
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

// The whole batch in one statement and one COMMIT. False when it failed as
// a whole (an error in one request rolls back all: the caller then records
// each alone, so one bad request costs the others one retry, no more).
static bool
record_batch(wrk_store *self, const wrk_submission *subs, size_t n, wrk_recorded *out)
{
    array_text col[12];
    memset(col, 0, sizeof col);
    for (size_t i = 0; i < n; i++) {
        const wrk_submission *sub = &subs[i];
        const Rr__V1__SubmitRequest *req = sub->req;
        char center[16], rule[16], flags[256];
        rr_format_fits(center, sizeof center, "%u", req->center_code);
        rr_format_fits(rule, sizeof rule, "%d", sub->route->rule_id);
        risk_flags_literal(req, flags, sizeof flags);
        flags[strlen(flags) - 1] = '\0'; // "{a,b}" -> "a,b" for string_to_array
        array_put(&col[0], req->request_id, true);
        array_put(&col[1], center, false);
        array_put(&col[2], req->household_id, true);
        array_put(&col[3], sub->facts->natid, true);
        array_put(&col[4], req->service_code, true);
        array_put(&col[5], rr_domain_name(sub->domain), true);
        array_put(&col[6], rr_priority_name(sub->priority), true);
        array_put(&col[7], rr_priority_name(sub->facts->priority), true);
        array_put(&col[8], flags + 1, true);
        array_put(&col[9], req->note ? req->note : "", true);
        array_put(&col[10], sub->route->office->code, true);
        array_put(&col[11], sub->route->rule_id > 0 ? rule : NULL, false);
    }
    const char *values[12];
    bool ok = true;
    for (int k = 0; k < 12; k++) {
        values[k] = array_done(&col[k]);
        ok = ok && values[k] != NULL;
    }
    if (ok && wrk_store_ensure(self) == RR_OK) {
        int64_t t0 = rr_clock_mono_us();
        PGresult *res = exec_deadline(self, EXEC_PREPARED, "record_batch", NULL, 12, values);
        ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == (int) n;
        if (ok) {
            self->commits++;
            self->commit_seconds += (double) (rr_clock_mono_us() - t0) / 1e6;
            for (size_t i = 0; i < n; i++) {
                fill_recorded_row(res, (int) i, &out[i]);
            }
        } else if (res != NULL) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (n > 1) { // a batch of one is tried alone next, and its error logged then
                rr_log_warn("batch of %zu failed as a whole (SQLSTATE %s: %s): recording each "
                            "alone",
                            n, state ? state : "?", primary(res));
            }
        }
        PQclear(res);
    } else {
        ok = false;
    }
    for (int k = 0; k < 12; k++) {
        free(col[k].buf);
    }
    return ok;
}

void
wrk_store_record(wrk_store *self, const wrk_submission *subs, size_t n, wrk_recorded *out,
                 rr_status *item_status, rr_wire_error *item_err)
{
    if (record_batch(self, subs, n, out)) {
        for (size_t i = 0; i < n; i++) {
            item_status[i] = RR_OK;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        item_status[i] = record_one(self, &subs[i], &out[i], &item_err[i]);
    }
}

// ---- status -------------------------------------------------------------------

void
wrk_status_clear(wrk_status *status)
{
    free(status->events);
    memset(status, 0, sizeof *status);
}

// Parses "R-<digits>" into a positive id; false for anything else.
static bool
parse_referral_id(const char *text, long long *id)
{
    if (text == NULL || strncmp(text, "R-", 2) != 0 || text[2] == '\0') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text + 2, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0 || text[2] < '0' || text[2] > '9') {
        return false;
    }
    *id = v;
    return true;
}

static void
parse_flags(const char *csv, wrk_status *out)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s", csv);
    (void) n;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && out->n_risk_flags < RR_WIRE_MAX_RISK_FLAGS;
         tok = strtok_r(NULL, ",", &save)) {
        int f = rr_risk_flag_parse(tok);
        if (f > 0) {
            out->risk_flags[out->n_risk_flags++] = f;
        }
    }
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
        long long id = 0;
        if (!parse_referral_id(q->referral_id, &id)) {
            return rr_wire_fail(err, RR_EINVAL, "referral_id",
                                "invalid referral id \"%s\": expected \"R-\" and a number",
                                q->referral_id);
        }
        int n = snprintf(idbuf, sizeof idbuf, "%lld", id);
        (void) n;
        stmt = "status_by_id";
        key = idbuf;
    }
    const char *shown =
        q->key_case == RR__V1__STATUS_QUERY__KEY_REQUEST_ID ? q->request_id : q->referral_id;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", "could not read referral \"%s\": database unavailable",
                            shown);
    }
    PGresult *res = exec_deadline(self, EXEC_PREPARED, stmt, NULL, 1, &key);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("status query failed: %s", primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read referral \"%s\": database unavailable",
                            shown);
    }
    uint32_t owner = PQntuples(res) == 1 ? (uint32_t) strtoul(PQgetvalue(res, 0, 2), NULL, 10) : 0;
    if (PQntuples(res) != 1 || (q->center_code != 0 && owner != q->center_code)) {
        PQclear(res);
        return rr_wire_fail(err, RR_ENOTFOUND,
                            q->key_case == RR__V1__STATUS_QUERY__KEY_REQUEST_ID ? "request_id"
                                                                                : "referral_id",
                            "referral \"%s\" does not exist", shown);
    }
    out->referral_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    copy_field(out->request_id, sizeof out->request_id, res, 0, 1);
    out->center_code = owner;
    copy_field(out->household_id, sizeof out->household_id, res, 0, 3);
    copy_field(out->service_code, sizeof out->service_code, res, 0, 4);
    out->domain = rr_domain_parse(PQgetvalue(res, 0, 5));
    out->priority = rr_priority_parse(PQgetvalue(res, 0, 6));
    out->status = rr_ref_state_parse(PQgetvalue(res, 0, 7));
    copy_field(out->office_code, sizeof out->office_code, res, 0, 8);
    copy_field(out->office_name_en, sizeof out->office_name_en, res, 0, 9);
    copy_field(out->office_name_fa, sizeof out->office_name_fa, res, 0, 10);
    out->version = (uint32_t) strtoul(PQgetvalue(res, 0, 11), NULL, 10);
    out->created_at_ms = strtoll(PQgetvalue(res, 0, 12), NULL, 10);
    out->updated_at_ms = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
    parse_flags(PQgetvalue(res, 0, 14), out);
    PQclear(res);

    int n = snprintf(idbuf, sizeof idbuf, "%lld", (long long) out->referral_id);
    (void) n;
    key = idbuf;
    res = exec_deadline(self, EXEC_PREPARED, "events", NULL, 1, &key);
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
        copy_field(e->actor, sizeof e->actor, res, i, 3);
        copy_field(e->reason, sizeof e->reason, res, i, 4);
        e->at_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        copy_field(e->kind, sizeof e->kind, res, i, 6);
        copy_field(e->office_code, sizeof e->office_code, res, i, 7);
        e->seq = strtoull(PQgetvalue(res, i, 8), NULL, 10);
    }
    out->n_events = (size_t) rows;
    PQclear(res);
    return RR_OK;
}

// ---- updates ------------------------------------------------------------------

// Runs a statement inside the update's transaction; false (logged, and the
// connection dropped when it failed) unless it returned want.
static PGresult *
tx_step(wrk_store *self, const char *name, const char *sql, int n, const char *const *v,
        ExecStatusType want)
{
    PGresult *res = exec_deadline(self, name ? EXEC_PREPARED : EXEC_QUERY, name, sql, n, v);
    if (res != NULL && PQresultStatus(res) != want) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        rr_log_error("update step %s failed: SQLSTATE %s: %s", name ? name : sql,
                     state ? state : "?", primary(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

static void
rollback(wrk_store *self)
{
    if (!wrk_store_connected(self)) {
        return;
    }
    PGresult *res = exec_deadline(self, EXEC_QUERY, NULL, "ROLLBACK", 0, NULL);
    PQclear(res);
}

rr_status
wrk_store_update(wrk_store *self, const wrk_update *u, uint64_t *event_id, rr_wire_error *err)
{
    *event_id = 0;
    char ref[24];
    int n = snprintf(ref, sizeof ref, "%lld", (long long) u->referral_id);
    (void) n;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable", ref);
    }
    PGresult *res = tx_step(self, NULL, "BEGIN", 0, NULL, PGRES_COMMAND_OK);
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable", ref);
    }
    PQclear(res);
    const char *lock_v[1] = {ref};
    res = tx_step(self, "lock", NULL, 1, lock_v, PGRES_TUPLES_OK);
    if (res == NULL) {
        rollback(self);
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable", ref);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        rollback(self);
        return rr_wire_fail(err, RR_ENOTFOUND, "referral_id", "referral \"R-%s\" does not exist",
                            ref);
    }
    rr_ref_state from = rr_ref_state_parse(PQgetvalue(res, 0, 0));
    uint32_t version = (uint32_t) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    char owner[12];
    copy_field(owner, sizeof owner, res, 0, 2);
    uint32_t center = (uint32_t) strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    rr_domain domain = rr_domain_parse(PQgetvalue(res, 0, 4));
    PQclear(res);

    rr_actor who = u->office_code ? RR_ACTOR_OFFICE : RR_ACTOR_CENTER;
    char actor[RR_PRINCIPAL_MAX + 1]; // validated codes: always a principal
    bool made = who == RR_ACTOR_OFFICE ? rr_principal_of_office(u->office_code, actor)
                                       : rr_principal_of_center(u->center_code, actor);
    (void) made;
    if (who == RR_ACTOR_CENTER && center != u->center_code) {
        rollback(self);
        return rr_wire_fail(err, RR_ENOTFOUND, "referral_id", "referral \"R-%s\" does not exist",
                            ref);
    }

    const char *find_v[1] = {u->update_id};
    res = tx_step(self, "find_update", NULL, 1, find_v, PGRES_TUPLES_OK);
    if (res == NULL) {
        rollback(self);
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable", ref);
    }
    if (PQntuples(res) == 1) {
        bool same = strtoll(PQgetvalue(res, 0, 1), NULL, 10) == u->referral_id &&
                    strcmp(PQgetvalue(res, 0, 2), actor) == 0;
        uint64_t earlier = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (!same) {
            rollback(self);
            return rr_wire_fail(err, RR_ECONFLICT, "update_id",
                                "cannot apply update \"%s\": this update_id was already used for "
                                "another change",
                                u->update_id);
        }
        // A retry of an update already made: answer as the first time. End
        // with COMMIT, not ROLLBACK: this transaction holds an id (the row
        // lock), so its commit waits until the first one is durable too.
        res = tx_step(self, NULL, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
        if (res == NULL) {
            disconnect(self);
            return rr_wire_fail(err, RR_EDB, "",
                                "could not change referral \"R-%s\": database unavailable, "
                                "outcome unknown: retry with the same update_id",
                                ref);
        }
        PQclear(res);
        *event_id = earlier;
        return RR_OK;
    }
    PQclear(res);

    rr_status st = RR_OK;
    rr_ref_event event = RR_EV_NONE;
    bool needs_reason = false;
    const char *to_name = rr_ref_state_name(u->to);
    if (domain != u->domain) {
        st = rr_wire_fail(err, RR_EINVAL, "domain",
                          "referral \"R-%s\" belongs to domain \"%s\", not \"%s\"", ref,
                          rr_domain_name(domain), rr_domain_name(u->domain));
    } else if (who == RR_ACTOR_OFFICE && strcmp(owner, u->office_code) != 0) {
        st = rr_wire_fail(err, RR_EPERM, "office_code",
                          "cannot change referral \"R-%s\": it is owned by office \"%s\", not "
                          "\"%s\"",
                          ref, owner, u->office_code);
    } else if (version != u->expected_version) {
        st = rr_wire_fail(err, RR_ECONFLICT, "expected_version",
                          "cannot change referral \"R-%s\": it is at version %u, not %u (it "
                          "changed since you read it)",
                          ref, version, u->expected_version);
    } else if ((st = rr_lifecycle_decide(from, u->to, who, &event, &needs_reason)) != RR_OK) {
        if (st == RR_EPERM) {
            st = rr_wire_fail(err, RR_EPERM, "to_status",
                              "cannot change referral \"R-%s\" to \"%s\": only %s may", ref,
                              to_name, who == RR_ACTOR_CENTER ? "its office" : "its center");
        } else {
            st = rr_wire_fail(err, RR_ESTATE, "to_status",
                              "cannot change referral \"R-%s\" to \"%s\": it is %s", ref, to_name,
                              rr_ref_state_name(from));
        }
    } else if (needs_reason && (u->reason == NULL || u->reason[0] == '\0')) {
        st = rr_wire_fail(err, RR_EINVAL, "reason",
                          "missing required field \"reason\": a %s needs one",
                          rr_ref_event_name(event));
    } else if (event == RR_EV_FORWARD && (u->forward_to == NULL || u->forward_to[0] == '\0' ||
                                          strcmp(u->forward_to, owner) == 0)) {
        st = rr_wire_fail(err, RR_EINVAL, "forward_to",
                          "a forward needs \"forward_to\": an office other than \"%s\"", owner);
    } else if (event != RR_EV_FORWARD && u->forward_to != NULL && u->forward_to[0] != '\0') {
        st = rr_wire_fail(err, RR_EINVAL, "forward_to",
                          "field \"forward_to\" is only for a forward (to \"requested\")");
    }
    if (st == RR_OK && event == RR_EV_FORWARD) {
        const char *ov[1] = {u->forward_to};
        res = tx_step(self, "office_active", NULL, 1, ov, PGRES_TUPLES_OK);
        if (res == NULL) {
            rollback(self);
            return rr_wire_fail(err, RR_EDB, "",
                                "could not change referral \"R-%s\": database unavailable", ref);
        }
        if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't') {
            st = rr_wire_fail(err, RR_ENOTFOUND, "forward_to", "unrecognized office \"%s\"",
                              u->forward_to);
        }
        PQclear(res);
    }
    if (st != RR_OK) {
        rollback(self);
        return st;
    }
    const char *change_v[8] = {ref,
                               to_name,
                               event == RR_EV_FORWARD ? u->forward_to : NULL,
                               rr_ref_state_name(from),
                               actor,
                               u->reason ? u->reason : "",
                               rr_ref_event_name(event),
                               u->update_id};
    res = tx_step(self, "change", NULL, 8, change_v, PGRES_TUPLES_OK);
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        rollback(self);
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable", ref);
    }
    uint64_t new_event = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    // Acknowledge only once the COMMIT's own result has been read.
    int64_t t0 = rr_clock_mono_us();
    res = tx_step(self, NULL, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
    if (res == NULL) {
        disconnect(self); // the commit is in doubt: the retry's update_id settles it
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable, outcome "
                            "unknown: retry with the same update_id",
                            ref);
    }
    PQclear(res);
    self->commits++;
    self->commit_seconds += (double) (rr_clock_mono_us() - t0) / 1e6;
    *event_id = new_event;
    return RR_OK;
}

// ---- dead letters ---------------------------------------------------------------

rr_status
wrk_store_dead_letter(wrk_store *self, const char *request_id, uint32_t center, rr_domain domain,
                      const char *service, const void *body, size_t size,
                      const rr_wire_error *error)
{
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    static const char hex[] = "0123456789abcdef";
    char *text = malloc(size * 2 + 1);
    if (text == NULL) {
        return RR_ENOMEM;
    }
    const uint8_t *b = body;
    for (size_t i = 0; i < size; i++) {
        text[2 * i] = hex[b[i] >> 4];
        text[2 * i + 1] = hex[b[i] & 0xF];
    }
    text[size * 2] = '\0';
    char c[16];
    int n = snprintf(c, sizeof c, "%u", center);
    (void) n;
    const char *v[7] = {request_id,
                        c,
                        rr_domain_name(domain),
                        service ? service : "",
                        text,
                        rr_status_name(error->code),
                        error->message};
    PGresult *res = exec_deadline(self, EXEC_PREPARED, "dead_letter", NULL, 7, v);
    free(text);
    rr_status st = RR_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rr_log_error_id(request_id, "could not store a dead letter for request %s: %s", request_id,
                        res ? primary(res) : "connection lost");
        st = RR_EDB;
    } else if (PQgetvalue(res, 0, 0)[0] != 't') {
        st = RR_ECONFLICT; // its referral was recorded after all
    }
    PQclear(res);
    return st;
}

// ---- deadlines ------------------------------------------------------------------

rr_status
wrk_store_escalate(wrk_store *self, int max, int *count)
{
    *count = 0;
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    char m[16];
    int n = snprintf(m, sizeof m, "%d", max);
    (void) n;
    const char *v[1] = {m};
    PGresult *res =
        exec_deadline(self, EXEC_QUERY, NULL, "SELECT escalate_overdue($1::integer)", 1, v);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("escalating overdue referrals failed: %s", primary(res));
        }
        PQclear(res);
        return RR_EDB;
    }
    *count = (int) strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RR_OK;
}

// ---- follow-up ------------------------------------------------------------------

rr_status
wrk_store_follow(wrk_store *self, uint32_t center, uint64_t after, uint32_t limit,
                 wrk_event **events, size_t *count, bool *has_more, rr_wire_error *err)
{
    *events = NULL;
    *count = 0;
    *has_more = false;
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", "could not read changes: database unavailable");
    }
    // Sequence what has committed since the last call (see stamp_events).
    PGresult *res = exec_deadline(self, EXEC_QUERY, NULL, "SELECT stamp_events(1000)", 0, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("stamping events failed: %s", primary(res));
        }
        PQclear(res);
        return rr_wire_fail(err, RR_EDB, "", "could not read changes: database unavailable");
    }
    PQclear(res);
    char c[16], a[24], l[16];
    rr_format_fits(c, sizeof c, "%u", center);
    rr_format_fits(a, sizeof a, "%llu", (unsigned long long) after);
    rr_format_fits(l, sizeof l, "%u", limit + 1); // one more tells whether more are ready
    const char *v[3] = {c, a, l};
    res = exec_deadline(self, EXEC_PREPARED, "follow", NULL, 3, v);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("follow query failed: %s", primary(res));
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
        copy_field(e->request_id, sizeof e->request_id, res, r, 3);
        copy_field(e->service_code, sizeof e->service_code, res, r, 4);
        copy_field(e->kind, sizeof e->kind, res, r, 5);
        e->from = rr_ref_state_parse(PQgetvalue(res, r, 6));
        e->to = rr_ref_state_parse(PQgetvalue(res, r, 7));
        copy_field(e->actor, sizeof e->actor, res, r, 8);
        copy_field(e->office_code, sizeof e->office_code, res, r, 9);
        copy_field(e->reason, sizeof e->reason, res, r, 10);
        e->at_ms = strtoll(PQgetvalue(res, r, 11), NULL, 10);
    }
    PQclear(res);
    *events = out;
    *count = rows;
    return RR_OK;
}
