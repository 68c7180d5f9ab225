// The store's libpq driver: the connection (made without blocking, re-made
// with a growing backoff), the statements every connection prepares, and
// one way to run a statement: sent asynchronously and waited for with a
// client deadline, so a stalled server cannot hang the worker (and its
// heartbeats) for ever; a result counts only once PQgetResult has returned
// NULL, i.e. after the implicit COMMIT. The store's jobs are modules of
// their own (wrk_store_impl.h).
#define RR_LOG_MODULE "store"
#include "wrk_store_impl.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "wrk_pgcause.h"
#include "wrk_pglog.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_DEADLINE_MS 10000 // a statement still running after this is abandoned
#define BACKOFF_MIN_MS   100
// At most 1 s between attempts: after a failover the new primary is found
// within a second of taking writes (each attempt is one connection per
// worker, a small cost for the servers even with every worker trying).
#define BACKOFF_MAX_MS      1000
#define CONNECT_DEADLINE_MS 3000 // per host: a connection not made by then is given up
#define KEEPALIVE_MS        200  // longest wait between keepalive calls

struct wrk_store {
    char *conninfo;          // owned
    char *application_name;  // owned
    PGconn *conn;            // NULL while disconnected
    int hosts;               // how many servers the conninfo lists (1..)
    bool server_lost;        // an error said the server cannot take writes
    int64_t next_attempt_ms; // no reconnect before this (monotonic)
    int64_t backoff_ms;
    bool catalog_dirty;        // reconnected since the last catalogue check
    void (*keepalive)(void *); // called while waiting on the database
    void *keepalive_arg;
    uint64_t connects, commits;
    double commit_seconds;
};

static const wrk_statements *const STATEMENTS[] = {
    &wrk_record_statements, &wrk_read_statements, &wrk_update_statements, &wrk_inbox_statements,
    &wrk_donate_statements, &wrk_nbhd_statements, &wrk_rate_statements,
};

// The servers a conninfo lists (host=a,b,c or a postgresql:// URI with
// several hosts): libpq tries them in turn, each within connect_timeout.
static int
count_hosts(const char *conninfo)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    PQfreemem(err); // right for NULL too
    int hosts = 1;
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if ((strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) &&
            o->val != NULL) {
            int n = 1;
            for (const char *c = o->val; *c; c++) {
                n += *c == ',';
            }
            hosts = n > hosts ? n : hosts;
        }
    }
    PQconninfoFree(opts);
    return hosts > 8 ? 8 : hosts;
}

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
    self->hosts = count_hosts(conninfo);
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
    return self->conn != NULL && !self->server_lost && PQstatus(self->conn) == CONNECTION_OK;
}

void
wrk_store_disconnect(wrk_store *self)
{
    PQfinish(self->conn);
    self->conn = NULL;
    self->server_lost = false;
}

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

// A server that answers "read-only" (demoted after a failover) or "shutting
// down" keeps the connection open: marks it for a new one, made by the
// next wrk_store_ensure. The caller still gets the error (a transient one).
static void
note_server_lost(wrk_store *self, const PGresult *res, const char *label)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!self->server_lost && wrk_pgcause_server_lost(state)) {
        rr_log_warn("statement %s: SQLSTATE %s (%s): connecting again, to the primary", label,
                    state, wrk_store_primary(res));
        self->server_lost = true;
    }
}

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
        wrk_store_disconnect(self);
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
                note_server_lost(self, last, label);
                return last;
            }
            PQclear(last);
            last = res;
        }
        if (!wait_socket(self, POLLIN, deadline)) {
            rr_log_error("statement %s got no answer within %d ms: dropping the connection", label,
                         STMT_DEADLINE_MS);
            PQclear(last);
            wrk_store_disconnect(self);
            return NULL;
        }
        if (!PQconsumeInput(self->conn)) {
            rr_log_error("lost the database connection: %s", PQerrorMessage(self->conn));
            PQclear(last);
            wrk_store_disconnect(self);
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
        rr_log_error("could not set up the connection (%s): %s", name ? name : sql,
                     wrk_store_primary(res));
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
    int64_t deadline = rr_clock_mono_ms() + (int64_t) CONNECT_DEADLINE_MS * self->hosts;
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
            rr_log_warn("database connection not made within %d ms",
                        CONNECT_DEADLINE_MS * self->hosts);
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
    wrk_store_disconnect(self);
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
    // a function's own SET clauses cost about 0.3 ms per call.) An operator
    // is named only by a retry's own SET LOCAL (migration 0013): a value
    // from the role, the database or PGOPTIONS is cleared for the session.
    if (!setup_step(self, EXEC_QUERY, NULL,
                    "SELECT pg_catalog.set_config('search_path', 'referral', false),"
                    " pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', false),"
                    " pg_catalog.set_config('referral.retry_actor', '', false)",
                    0, PGRES_TUPLES_OK) ||
        !setup_step(self, EXEC_QUERY, NULL, "LISTEN referral_catalog", 0, PGRES_COMMAND_OK)) {
        goto fail;
    }
    for (size_t m = 0; m < sizeof STATEMENTS / sizeof STATEMENTS[0]; m++) {
        for (size_t i = 0; i < STATEMENTS[m]->count; i++) {
            const wrk_statement *s = &STATEMENTS[m]->list[i];
            if (!setup_step(self, EXEC_PREPARE, s->name, s->sql, s->nparams, PGRES_COMMAND_OK)) {
                goto fail;
            }
        }
    }
    self->catalog_dirty = true; // notifications sent while away are lost
    self->backoff_ms = BACKOFF_MIN_MS;
    self->connects++;
    rr_log_info("connected to the database (server %d)", PQserverVersion(self->conn));
    return RR_OK;
fail:
    wrk_store_disconnect(self);
    self->next_attempt_ms = now + self->backoff_ms;
    self->backoff_ms =
        self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
    return RR_EDB;
}

const char *
wrk_store_primary(const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m ? m : "(no message)";
}

bool
wrk_store_sqlstate_is(const PGresult *res, const char *code)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s != NULL && strcmp(s, code) == 0;
}

void
wrk_store_copy_field(char *dst, size_t cap, const PGresult *res, int row, int col)
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

PGresult *
wrk_store_exec(wrk_store *self, const char *name, const char *sql, int nparams,
               const char *const *values)
{
    return exec_deadline(self, name ? EXEC_PREPARED : EXEC_QUERY, name, sql, nparams, values);
}

PGresult *
wrk_store_tx_step(wrk_store *self, const char *name, const char *sql, int nparams,
                  const char *const *values, ExecStatusType want)
{
    PGresult *res = wrk_store_exec(self, name, sql, nparams, values);
    if (res != NULL && PQresultStatus(res) != want) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        rr_log_error("step %s failed: SQLSTATE %s: %s", name ? name : sql, state ? state : "?",
                     wrk_store_primary(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

void
wrk_store_rollback(wrk_store *self)
{
    if (!wrk_store_connected(self)) {
        return;
    }
    PGresult *res = wrk_store_exec(self, NULL, "ROLLBACK", 0, NULL);
    PQclear(res);
}

void
wrk_store_commit_done(wrk_store *self, int64_t t0_us)
{
    self->commits++;
    self->commit_seconds += (double) (rr_clock_mono_us() - t0_us) / 1e6;
}

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
        wrk_store_disconnect(self);
        return true;
    }
    PGnotify *note;
    while ((note = PQnotifies(self->conn)) != NULL) {
        changed = true;
        PQfreemem(note);
    }
    return changed;
}
