// A load run's tally (tool_tally.h).
#include "tool_tally.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "tool_retry.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
percentile(const double *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t) (p * (double) (n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

void
tool_tally_sum(const client *clients, long n, tool_tally *out)
{
    memset(out, 0, sizeof *out);
    size_t nlat = 0;
    for (long i = 0; i < n; i++) {
        nlat += clients[i].nlat;
        out->acked += clients[i].nacked;
        out->rejected += clients[i].rejected;
        out->busy += clients[i].busy;
        out->resent += clients[i].resent;
        out->unanswered += clients[i].unanswered;
        out->errors += clients[i].errors;
    }
    double *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    if (lat == NULL) {
        fprintf(stderr, "bench: out of memory for %zu latencies: none reported\n", nlat);
        return;
    }
    size_t k = 0;
    for (long i = 0; i < n; i++) {
        if (clients[i].nlat > 0) {
            memcpy(lat + k, clients[i].lat_ms, clients[i].nlat * sizeof *lat);
            k += clients[i].nlat;
        }
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    out->nlat = nlat;
    out->p50 = percentile(lat, nlat, 0.50);
    out->p90 = percentile(lat, nlat, 0.90);
    out->p99 = percentile(lat, nlat, 0.99);
    out->max = nlat ? lat[nlat - 1] : 0;
    free(lat);
}

static bool
exec_ok(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        fprintf(stderr, "bench: %s", PQerrorMessage(db));
    }
    PQclear(res);
    return ok;
}

static long
scalar(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    long v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    } else {
        fprintf(stderr, "bench: %s", PQerrorMessage(db));
    }
    PQclear(res);
    return v;
}

static bool
reconcile_once(const bench *b, PGconn *db, const client *clients, long n, long *lost,
               long *duplicated, long *extra)
{
    if (!exec_ok(db, "CREATE TEMP TABLE bench_acked (request_id uuid, referral_id bigint,"
                     " dup boolean)")) {
        return false;
    }
    PGresult *res = PQexec(db, "COPY bench_acked FROM STDIN");
    bool ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    for (long c = 0; ok && c < n; c++) {
        for (size_t i = 0; ok && i < clients[c].nacked; i++) {
            const outcome *o = &clients[c].acked[i];
            char line[96];
            int len = snprintf(line, sizeof line, "%s\t%lld\t%s\n", o->request_id, o->referral_id,
                               o->dup ? "t" : "f");
            ok = PQputCopyData(db, line, len) == 1;
        }
    }
    ok = PQputCopyEnd(db, ok ? NULL : "bench error") == 1 && ok;
    while ((res = PQgetResult(db)) != NULL) {
        ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!ok) {
        fprintf(stderr, "bench: cannot load the acknowledgements: %s", PQerrorMessage(db));
        return false;
    }
    *lost = scalar(db, "SELECT count(*) FROM bench_acked a WHERE NOT EXISTS (SELECT 1 FROM"
                       " referral.referral r WHERE r.id = a.referral_id AND (a.dup OR"
                       " r.request_id = a.request_id))");
    char sql[512];
    rr_format_fits(
        sql, sizeof sql,
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM referral.referral WHERE household_id"
        " LIKE 'h-%%-%s-%%' GROUP BY household_id, service_code HAVING count(*) > 1) d)"
        " + (SELECT count(*) FROM (SELECT 1 FROM referral.referral r JOIN bench_acked a"
        " USING (request_id) GROUP BY r.request_id HAVING count(*) > 1) e)",
        b->tag);
    *duplicated = scalar(db, sql);
    rr_format_fits(
        sql, sizeof sql,
        "SELECT count(*) FROM referral.referral r WHERE household_id LIKE 'h-%%-%s-%%'"
        " AND NOT EXISTS (SELECT 1 FROM bench_acked a WHERE a.request_id = r.request_id)",
        b->tag);
    *extra = scalar(db, sql);
    (void) exec_ok(db, "DROP TABLE bench_acked");
    return *lost >= 0 && *duplicated >= 0 && *extra >= 0;
}

// The connection opened at the start sat idle through the load: a database
// that restarted meanwhile (or is restarting now) left it dead. Opens it
// again, with backoff, for up to TOOL_RETRY_BUDGET_MS.
static bool
reconnect(PGconn *db)
{
    int64_t lost_ms = rr_clock_mono_ms();
    for (int attempt = 0;; attempt++) {
        long wait = tool_retry_wait_ms(attempt, (long) (rr_clock_mono_ms() - lost_ms),
                                       TOOL_RETRY_BUDGET_MS);
        if (wait < 0) {
            fprintf(stderr, "bench: could not reconnect to the database in %d s: %s",
                    TOOL_RETRY_BUDGET_MS / 1000, PQerrorMessage(db));
            return false;
        }
        (void) poll(NULL, 0, (int) wait);
        PQreset(db);
        if (PQstatus(db) == CONNECTION_OK) {
            PQclear(PQexec(db, "SET client_min_messages = warning"));
            fprintf(stderr, "bench: reconnected to the database (attempt %d)\n", attempt + 1);
            return true;
        }
    }
}

// reconcile_once, again from the start on a new connection when the old one
// was lost before or during it (its temporary table went with it). A
// refusal on a live connection is final.
bool
tool_tally_reconcile(const bench *b, PGconn *db, const client *clients, long n, long *lost,
                     long *duplicated, long *extra)
{
    for (int round = 0; round < 3; round++) {
        if (PQstatus(db) != CONNECTION_OK && !reconnect(db)) {
            return false;
        }
        if (reconcile_once(b, db, clients, n, lost, duplicated, extra)) {
            return true;
        }
        if (PQstatus(db) == CONNECTION_OK) {
            return false;
        }
        fprintf(stderr, "bench: lost the database connection; reconciling again\n");
    }
    return false;
}
