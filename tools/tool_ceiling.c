// The bench's reference figure: submissions/s this PostgreSQL takes when
// their rows are written directly the fast way (tool_ceiling.h).
#include "tool_ceiling.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_natid.h"
#include "rr_uuid.h"
#include "wrk_pglog.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// What the generated rows draw from.
typedef struct tool_ceiling_codes {
    const char *tag;
    const unsigned *centers;
    size_t ncenters;
    const char (*services)[RR_WIRE_MAX_SERVICE_BYTES + 1];
    size_t nservices;
} tool_ceiling_codes;

typedef struct ceiling_thread {
    const char *conninfo;
    const tool_ceiling_codes *codes;
    int index;
    uint64_t rng;
    int64_t until_us;
    long rows;
    bool failed;
    pthread_t thread;
} ceiling_thread;

#define CEILING_BATCH 100

// Every row a submission writes (the referral and its first event; the
// household and the person are views of referrals since migration 0015), as
// plain multi-row INSERTs in one statement, into
// the stack's own tables: the same sizes, indexes, checks and triggers.
static const char CEILING_SQL[] =
    "WITH u AS (SELECT u.a, u.b, u.c, u.d, u.e, s.domain"
    " FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(a, b, c, d, e)"
    " JOIN referral.service s ON s.code = u.e),"
    " r AS (INSERT INTO referral.referral (request_id, center_code, household_id,"
    " national_id, service_code, domain, priority, consent, office_code)"
    " SELECT a, b, c, d, e, domain, 'routine', true, 'CO-2301' FROM u RETURNING id, center_code)"
    " INSERT INTO referral.referral_event (referral_id, to_status, actor, office_code,"
    " center_code, kind)"
    " SELECT id, 'requested', 'center:' || center_code, 'CO-2301', center_code, 'submit' FROM r";

static uint64_t
next_rand(ceiling_thread *t)
{
    t->rng ^= t->rng << 13; // xorshift64: reproducible, no locks
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

// A national id no load request can have: nine digits from this run's
// base, then the wrong check digit (the load's ids all have the right one).
static void
ceiling_natid(const ceiling_thread *t, long seq, char out[11])
{
    unsigned long base = strtoul(t->codes->tag + 1, NULL, 16) % 1000000000UL;
    unsigned long body =
        (base + (unsigned long) t->index * 100000000UL + (unsigned long) seq) % 1000000000UL;
    for (int i = 8; i >= 0; i--, body /= 10) {
        out[i] = (char) ('0' + body % 10);
    }
    out[9] = (char) ('0' + (rr_natid_check_digit(out) - '0' + 1) % 10);
    out[10] = '\0';
}

// Appends one array element to a text literal "{a,b,...}" being built.
static void
append(char *buf, size_t cap, size_t *len, const char *item, bool first)
{
    int n = snprintf(buf + *len, cap - *len, "%s%s", first ? "" : ",", item);
    if (n > 0 && (size_t) n < cap - *len) {
        *len += (size_t) n;
    }
}

static void *
run_ceiling(void *arg)
{
    ceiling_thread *t = arg;
    PGconn *db = PQconnectdb(t->conninfo);
    wrk_pglog_attach(db);
    if (PQstatus(db) != CONNECTION_OK) {
        t->failed = true;
        PQfinish(db);
        return NULL;
    }
    static const size_t cap = (size_t) CEILING_BATCH * 72;
    char *arr[5];
    for (int k = 0; k < 5; k++) {
        arr[k] = malloc(cap);
    }
    long seq = 0;
    while (!t->failed && rr_clock_mono_us() < t->until_us) {
        size_t len[5] = {1, 1, 1, 1, 1};
        for (int k = 0; k < 5; k++) {
            arr[k][0] = '{';
        }
        for (int i = 0; i < CEILING_BATCH; i++) {
            char id[RR_UUID_TEXT_LEN + 1], center[16], household[64], natid[11];
            rr_uuid_generate(id);
            unsigned c = t->codes->centers[next_rand(t) % t->codes->ncenters];
            rr_format_fits(center, sizeof center, "%u", c);
            rr_format_fits(household, sizeof household, "c-%s-%d-%ld", t->codes->tag, t->index,
                           seq);
            // One new person per household, as in the load.
            ceiling_natid(t, seq, natid);
            seq++;
            append(arr[0], cap, &len[0], id, i == 0);
            append(arr[1], cap, &len[1], center, i == 0);
            append(arr[2], cap, &len[2], household, i == 0);
            append(arr[3], cap, &len[3], natid, i == 0);
            append(arr[4], cap, &len[4], t->codes->services[next_rand(t) % t->codes->nservices],
                   i == 0);
        }
        for (int k = 0; k < 5; k++) {
            append(arr[k], cap, &len[k], "}", true);
        }
        const char *params[5] = {arr[0], arr[1], arr[2], arr[3], arr[4]};
        PGresult *res = PQexecParams(db, CEILING_SQL, 5, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench: ceiling insert failed: %s", PQerrorMessage(db));
            t->failed = true;
        } else {
            t->rows += CEILING_BATCH;
        }
        PQclear(res);
    }
    for (int k = 0; k < 5; k++) {
        free(arr[k]);
    }
    PQfinish(db);
    return NULL;
}

double
tool_ceiling_measure(const char *conninfo, long seconds, const char *tag, const unsigned *centers,
                     size_t ncenters, const char (*services)[RR_WIRE_MAX_SERVICE_BYTES + 1],
                     size_t nservices)
{
    enum { THREADS = 4 };
    tool_ceiling_codes codes = {tag, centers, ncenters, services, nservices};
    ceiling_thread t[THREADS];
    int64_t start = rr_clock_mono_us();
    for (int i = 0; i < THREADS; i++) {
        t[i] = (ceiling_thread){
            conninfo, &codes, i, 88172645463325252ull + (uint64_t) i, start + seconds * 1000000,
            0,        false,  0};
        if (pthread_create(&t[i].thread, NULL, run_ceiling, &t[i]) != 0) {
            t[i].failed = true;
        }
    }
    long rows = 0;
    bool failed = false;
    for (int i = 0; i < THREADS; i++) {
        if (t[i].thread) {
            pthread_join(t[i].thread, NULL);
        }
        rows += t[i].rows;
        failed |= t[i].failed;
    }
    double elapsed = (double) (rr_clock_mono_us() - start) / 1e6;
    return failed ? -1 : (double) rows / elapsed;
}
