// The bench: client threads, each with its own DEALER socket and up to
// --window requests in flight (closed loop), or sending on a schedule
// (--rate, open loop: latency counts from the scheduled time, so a stall
// is not hidden). Every request is new (its own household) unless
// --dup-rate asks for duplicates; a request unanswered for --timeout-ms is
// resent with the same request_id, as a center must.
#include "tool_bench.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_config.h"
#include "rr_keys.h"
#include "rr_natid.h"
#include "rr_uuid.h"
#include "rr_wire.h"
#include "tool_client.h"
#include "wrk_pglog.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_CLIENTS 256
#define MAX_WINDOW  256
#define MAX_CODES   64
#define MAX_THREADS 64

typedef struct bench {
    const char *broker, *db;
    rr_curve_client curve;
    long clients, window, duration_s, count, rate, timeout_ms;
    double dup_rate;
    char tag[16]; // this run's households: H-<center>-<tag>-...
    unsigned centers[MAX_CODES];
    size_t ncenters;
    char services[MAX_CODES][RR_WIRE_MAX_SERVICE_BYTES + 1];
    size_t nservices;
    atomic_long issued; // requests started (for --count)
    int64_t start_us, stop_us;
    void *ctx;
} bench;

typedef struct slot {
    bool busy;
    char request_id[RR_UUID_TEXT_LEN + 1];
    uint8_t body[1024];
    size_t size;
    int64_t sched_us;  // latency counts from here
    int64_t sent_us;   // last (re)send
    int64_t resend_us; // busy: resend not before
    bool dup;
} slot;

typedef struct outcome {
    char request_id[RR_UUID_TEXT_LEN + 1];
    long long referral_id;
    bool dup;
} outcome;

typedef struct client {
    bench *b;
    int index;
    void *sock;
    bool sent; // since its replies were last taken
    int64_t interval_us, next_sched, drain_until;
    slot slots[MAX_WINDOW];
    outcome *acked;
    size_t nacked, cap_acked;
    double *lat_ms;
    size_t nlat, cap_lat;
    long rejected, busy, resent, unanswered, errors;
    uint64_t rng;
    char last_household[64];
    char last_service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    unsigned last_center;
    long seq;
} client;

static uint64_t
next_rand(client *c)
{
    c->rng ^= c->rng << 13; // xorshift64: reproducible, no locks
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void
make_natid(client *c, char out[11])
{
    for (;;) {
        bool same = true;
        for (int i = 0; i < 9; i++) {
            out[i] = (char) ('0' + next_rand(c) % 10);
            same &= out[i] == out[0];
        }
        out[9] = rr_natid_check_digit(out);
        out[10] = '\0';
        if (!(same && out[9] == out[0])) {
            return;
        }
    }
}

// Fills a free slot with a new request.
static bool
fill(client *c, slot *s, int64_t sched_us)
{
    bench *b = c->b;
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    rr_uuid_generate(s->request_id);
    char natid[11], household[64];
    unsigned center;
    const char *service;
    s->dup = c->last_household[0] != '\0' && (double) (next_rand(c) % 1000000) / 1e6 < b->dup_rate;
    if (s->dup) {
        center = c->last_center;
        service = c->last_service;
        rr_format_fits(household, sizeof household, "%s", c->last_household);
    } else {
        center = b->centers[next_rand(c) % b->ncenters];
        service = b->services[next_rand(c) % b->nservices];
        rr_format_fits(household, sizeof household, "H-%u-%s-%d-%ld", center, b->tag, c->index,
                       c->seq++);
        c->last_center = center;
        rr_format_fits(c->last_service, sizeof c->last_service, "%s", service);
        rr_format_fits(c->last_household, sizeof c->last_household, "%s", household);
    }
    make_natid(c, natid);
    req.request_id = s->request_id;
    req.center_code = center;
    req.national_id = natid;
    req.household_id = household;
    req.service_code = (char *) service;
    req.consent = true;
    req.priority = RR__V1__PRIORITY__PRIORITY_ROUTINE;
    size_t need = rr__v1__submit_request__get_packed_size(&req);
    if (need > sizeof s->body) {
        return false;
    }
    s->size = rr__v1__submit_request__pack(&req, s->body);
    s->sched_us = sched_us;
    s->sent_us = 0;
    s->resend_us = 0;
    s->busy = true;
    return true;
}

static bool
send_slot(void *sock, slot *s)
{
    if (rr_wire_send_call(sock, ZMQ_DONTWAIT, RR_CMD_SUBMIT, s->request_id, s->body, s->size) !=
        RR_OK) {
        return false;
    }
    s->sent_us = rr_clock_mono_us();
    return true;
}

static void
push_latency(client *c, double ms)
{
    if (c->nlat == c->cap_lat) {
        size_t cap = c->cap_lat ? c->cap_lat * 2 : 4096;
        double *more = realloc(c->lat_ms, cap * sizeof *more);
        if (more == NULL) {
            return;
        }
        c->lat_ms = more;
        c->cap_lat = cap;
    }
    c->lat_ms[c->nlat++] = ms;
}

static void
push_acked(client *c, const slot *s, long long referral_id, bool duplicate)
{
    if (c->nacked == c->cap_acked) {
        size_t cap = c->cap_acked ? c->cap_acked * 2 : 4096;
        outcome *more = realloc(c->acked, cap * sizeof *more);
        if (more == NULL) {
            return;
        }
        c->acked = more;
        c->cap_acked = cap;
    }
    outcome *o = &c->acked[c->nacked++];
    memcpy(o->request_id, s->request_id, sizeof o->request_id);
    o->referral_id = referral_id;
    // As answered: of two requests for one need in flight at once, either
    // may be recorded first (batches run side by side), the other then
    // names it as a duplicate.
    o->dup = duplicate;
}

static void
on_reply(client *c, zmq_msg_t *body)
{
    Rr__V1__SubmitReply *r = NULL;
    if (rr_wire_unpack(zmq_msg_data(body), zmq_msg_size(body), &r, NULL) != RR_OK) {
        c->errors++;
        return;
    }
    slot *s = NULL;
    for (long i = 0; i < c->b->window && s == NULL; i++) {
        if (c->slots[i].busy && strcmp(c->slots[i].request_id, r->request_id) == 0) {
            s = &c->slots[i];
        }
    }
    if (s == NULL) { // an answer to an attempt already answered
        rr_wire_free(r);
        return;
    }
    int64_t now = rr_clock_mono_us();
    switch (r->outcome) {
    case RR__V1__OUTCOME__OUTCOME_ACCEPTED:
    case RR__V1__OUTCOME__OUTCOME_DUPLICATE:
        push_latency(c, (double) (now - s->sched_us) / 1000.0);
        push_acked(c, s, strtoll(r->referral_id + 2, NULL, 10),
                   r->outcome == RR__V1__OUTCOME__OUTCOME_DUPLICATE);
        s->busy = false;
        break;
    case RR__V1__OUTCOME__OUTCOME_BUSY:
        c->busy++;
        s->resend_us = now + (r->retry_after_ms ? (int64_t) r->retry_after_ms : 200) * 1000;
        break;
    default:
        c->rejected++;
        if (c->rejected <= 3) {
            fprintf(stderr, "bench: rejected: %s\n", r->error ? r->error->message : "?");
        }
        s->busy = false;
        break;
    }
    rr_wire_free(r);
}

// Opens the client's socket; false (counted as an error) when it cannot.
static bool
client_open(client *c)
{
    bench *b = c->b;
    void *sock = zmq_socket(b->ctx, ZMQ_DEALER);
    int linger = 0, hwm = 0;
    char why[256];
    if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        rr_curve_client_apply(&b->curve, sock, why, sizeof why) != RR_OK ||
        zmq_connect(sock, b->broker) != 0) {
        fprintf(stderr, "bench: client %d cannot connect: %s\n", c->index, zmq_strerror(errno));
        c->errors++;
        if (sock) {
            zmq_close(sock);
        }
        return false;
    }
    c->sock = sock;
    // Open loop: this client's share of --rate, on a fixed schedule.
    c->interval_us = b->rate > 0 ? (int64_t) (1e6 * (double) b->clients / (double) b->rate) : 0;
    c->next_sched = b->start_us + (c->interval_us * c->index) / (b->clients ? b->clients : 1);
    return true;
}

// Sends what is due (new requests, resends); returns false once the client
// is done, else sets *wait_ms to how long it may sleep.
static bool
client_step(client *c, int64_t now, long *wait_ms)
{
    bench *b = c->b;
    bool sending = now < b->stop_us;
    if (!sending && c->drain_until == 0) {
        c->drain_until = now + 3 * b->timeout_ms * 1000;
    }
    int inflight = 0;
    for (long i = 0; i < b->window; i++) {
        slot *s = &c->slots[i];
        if (!s->busy && sending) {
            bool due = c->interval_us == 0 || now >= c->next_sched;
            if (due && (b->count == 0 || atomic_fetch_add(&b->issued, 1) < b->count)) {
                if (fill(c, s, c->interval_us ? c->next_sched : now)) {
                    c->next_sched += c->interval_us;
                    if (!send_slot(c->sock, s)) {
                        s->sent_us = 0; // retried below
                    }
                    c->sent = true;
                }
            }
        } else if (s->busy) {
            bool stale = s->sent_us == 0 || now - s->sent_us > b->timeout_ms * 1000;
            if ((s->resend_us && now >= s->resend_us) || (stale && !s->resend_us)) {
                s->resend_us = 0;
                c->resent += s->sent_us != 0;
                (void) send_slot(c->sock, s);
                c->sent = true;
            }
        }
        inflight += s->busy;
    }
    if (!sending && (inflight == 0 || now >= c->drain_until)) {
        c->unanswered += inflight;
        return false;
    }
    if (b->count > 0 && atomic_load(&b->issued) >= b->count && inflight == 0) {
        return false;
    }
    long wait = 5;
    if (c->interval_us > 0 && sending) {
        // Rounded up: a poll of 0 ms until the next send would spin.
        long until = (long) ((c->next_sched - now + 999) / 1000);
        wait = until < 0 ? 0 : until < 5 ? until : 5;
    }
    if (wait < *wait_ms) {
        *wait_ms = wait;
    }
    return true;
}

// One thread drives several clients (each its own socket and window) with
// one poll: fewer threads than clients leave the cores to the stack under
// test, which shares the machine with the bench.
typedef struct runner {
    client *clients;
    size_t count;
    pthread_t thread;
    bool started;
} runner;

// Takes every reply waiting. A socket's ZMQ_FD only says "look": its
// events are read until no message is left, which also re-arms it.
static void
client_take(client *c)
{
    for (;;) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(c->sock, ZMQ_EVENTS, &events, &size) != 0 || !(events & ZMQ_POLLIN)) {
            return;
        }
        rr_wire_call answer;
        rr_wire_error err;
        rr_status st;
        while ((st = rr_wire_recv_answer(c->sock, ZMQ_DONTWAIT, &answer, &err)) != RR_EAGAIN &&
               st != RR_ESHUTDOWN && st != RR_EIO) {
            if (st == RR_OK && answer.command == RR_CMD_SUBMIT) {
                on_reply(c, &answer.body);
            } else {
                c->errors++;
            }
            rr_wire_call_close(&answer);
        }
    }
}

static void *
run_clients(void *arg)
{
    runner *r = arg;
    // One poll(2) over the sockets' descriptors: zmq_poll over many
    // sockets costs several system calls per socket per wake-up, which on
    // two cores took a third of one from the stack under test.
    struct pollfd pfds[MAX_CLIENTS];
    client *live[MAX_CLIENTS];
    bool done[MAX_CLIENTS];
    int fds[MAX_CLIENTS];
    for (size_t i = 0; i < r->count; i++) {
        client *c = &r->clients[i];
        size_t size = sizeof fds[i];
        done[i] = !client_open(c);
        if (!done[i] && zmq_getsockopt(c->sock, ZMQ_FD, &fds[i], &size) != 0) {
            fprintf(stderr, "bench: client %d: no descriptor: %s\n", c->index, zmq_strerror(errno));
            c->errors++;
            zmq_close(c->sock);
            c->sock = NULL;
            done[i] = true;
        }
    }
    for (;;) {
        int64_t now = rr_clock_mono_us();
        long wait_ms = 5;
        size_t n = 0;
        for (size_t i = 0; i < r->count; i++) {
            client *c = &r->clients[i];
            if (!done[i] && !client_step(c, now, &wait_ms)) {
                done[i] = true;
                zmq_close(c->sock);
                c->sock = NULL;
            }
            if (done[i]) {
                continue;
            }
            if (c->sent) {
                // A send may have consumed the descriptor's signal.
                c->sent = false;
                client_take(c);
            }
            pfds[n] = (struct pollfd){fds[i], POLLIN, 0};
            live[n++] = c;
        }
        if (n == 0) {
            break;
        }
        if (poll(pfds, n, (int) wait_ms) > 0) {
            for (size_t i = 0; i < n; i++) {
                if (pfds[i].revents) {
                    client_take(live[i]);
                }
            }
        }
    }
    return NULL;
}

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

static bool
load_catalog(bench *b, PGconn *db)
{
    PGresult *res = PQexec(db, "SELECT code FROM referral.center WHERE active ORDER BY code");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
    for (int i = 0; ok && i < PQntuples(res) && b->ncenters < MAX_CODES; i++) {
        b->centers[b->ncenters++] = (unsigned) strtoul(PQgetvalue(res, i, 0), NULL, 10);
    }
    PQclear(res);
    res = PQexec(db, "SELECT code FROM referral.service WHERE active ORDER BY code");
    ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
    for (int i = 0; ok && i < PQntuples(res) && b->nservices < MAX_CODES; i++) {
        ok = rr_format_exact(b->services[b->nservices++], sizeof b->services[0], "%s",
                             PQgetvalue(res, i, 0)) == RR_OK;
    }
    PQclear(res);
    if (!ok) {
        fprintf(stderr, "bench: cannot read centers and services: %s", PQerrorMessage(db));
    }
    return ok;
}

// ---- PostgreSQL's ceiling ---------------------------------------------------

typedef struct ceiling_thread {
    const char *conninfo;
    const bench *b;
    int index;
    int64_t until_us;
    long rows;
    bool failed;
    pthread_t thread;
} ceiling_thread;

#define CEILING_BATCH 100

// Every row a submission writes (its household, the person, the referral
// and its first event), as plain multi-row INSERTs in one statement, into
// the stack's own tables: the same sizes, indexes, checks and foreign keys.
static const char CEILING_SQL[] =
    "WITH u AS (SELECT u.a, u.b, u.c, u.d, u.e, s.domain"
    " FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(a, b, c, d, e)"
    " JOIN referral.service s ON s.code = u.e),"
    " h AS (INSERT INTO referral.household (id, center_code) SELECT c, b FROM u),"
    " p AS (INSERT INTO referral.person (national_id, household_id) SELECT d, c FROM u),"
    " r AS (INSERT INTO referral.referral (request_id, center_code, household_id,"
    " national_id, service_code, domain, priority, consent, office_code)"
    " SELECT a, b, c, d, e, domain, 'routine', true, 'CO-2301' FROM u RETURNING id, center_code)"
    " INSERT INTO referral.referral_event (referral_id, to_status, actor, office_code,"
    " center_code, kind)"
    " SELECT id, 'requested', 'center:' || center_code, 'CO-2301', center_code, 'submit' FROM r";

// A national id no load request can have: nine digits from this run's
// base, then the wrong check digit (the load's ids all have the right one).
static void
ceiling_natid(const ceiling_thread *t, long seq, char out[11])
{
    unsigned long base = strtoul(t->b->tag + 1, NULL, 16) % 1000000000UL;
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
    client gen = {.b = (bench *) t->b,
                  .index = 1000 + t->index,
                  .rng = 88172645463325252ull + (uint64_t) t->index};
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
            unsigned c = t->b->centers[next_rand(&gen) % t->b->ncenters];
            rr_format_fits(center, sizeof center, "%u", c);
            rr_format_fits(household, sizeof household, "C-%s-%d-%ld", t->b->tag, t->index, seq);
            // One new person per household, as in the load.
            ceiling_natid(t, seq, natid);
            seq++;
            append(arr[0], cap, &len[0], id, i == 0);
            append(arr[1], cap, &len[1], center, i == 0);
            append(arr[2], cap, &len[2], household, i == 0);
            append(arr[3], cap, &len[3], natid, i == 0);
            append(arr[4], cap, &len[4], t->b->services[next_rand(&gen) % t->b->nservices], i == 0);
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

// Submissions/s this PostgreSQL takes when their rows are written directly
// the fast way: 100-row multi-row INSERTs, one transaction each, from 4
// connections, into the four tables a submission writes, full durability.
// The rows stay (households C-<run>-...), like the load's. -1 on failure.
static double
measure_ceiling(const bench *b, const char *conninfo, long seconds)
{
    enum { THREADS = 4 };
    ceiling_thread t[THREADS];
    int64_t start = rr_clock_mono_us();
    for (int i = 0; i < THREADS; i++) {
        t[i] = (ceiling_thread){conninfo, b, i, start + seconds * 1000000, 0, false, 0};
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

// ---- reconciliation ---------------------------------------------------------

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

// Loads what was acknowledged and counts what the database lost (an
// acknowledged referral missing, or not the one the client was told) and
// duplicated (two referrals for one household and service of this run).
static bool
reconcile(const bench *b, PGconn *db, client *clients, long *lost, long *duplicated, long *extra)
{
    if (!exec_ok(db, "CREATE TEMP TABLE bench_acked (request_id uuid, referral_id bigint,"
                     " dup boolean)")) {
        return false;
    }
    PGresult *res = PQexec(db, "COPY bench_acked FROM STDIN");
    bool ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    for (long c = 0; ok && c < b->clients; c++) {
        for (size_t i = 0; ok && i < clients[c].nacked; i++) {
            const outcome *o = &clients[c].acked[i];
            char line[96];
            int n = snprintf(line, sizeof line, "%s\t%lld\t%s\n", o->request_id, o->referral_id,
                             o->dup ? "t" : "f");
            ok = PQputCopyData(db, line, n) == 1;
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
        " LIKE 'H-%%-%s-%%' GROUP BY household_id, service_code HAVING count(*) > 1) d)"
        " + (SELECT count(*) FROM (SELECT 1 FROM referral.referral r JOIN bench_acked a"
        " USING (request_id) GROUP BY r.request_id HAVING count(*) > 1) e)",
        b->tag);
    *duplicated = scalar(db, sql);
    rr_format_fits(
        sql, sizeof sql,
        "SELECT count(*) FROM referral.referral r WHERE household_id LIKE 'H-%%-%s-%%'"
        " AND NOT EXISTS (SELECT 1 FROM bench_acked a WHERE a.request_id = r.request_id)",
        b->tag);
    *extra = scalar(db, sql);
    (void) exec_ok(db, "DROP TABLE bench_acked");
    return *lost >= 0 && *duplicated >= 0 && *extra >= 0;
}

// ---- main -------------------------------------------------------------------

int
tool_bench_main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    const char *key_file = NULL, *broker_key = NULL;
    long ceiling_s = 0, threads = 0;
    const char *dup_text = NULL;
    bool json = false, no_db = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoint", &b.broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral",
         "the stack's database: catalogue, ceiling and the final check", &b.db, 0, 0},
        {"clients", RR_OPT_INT, NULL, "32", "client sockets", &b.clients, 1, MAX_CLIENTS},
        {"window", RR_OPT_INT, NULL, "16", "requests each client keeps outstanding", &b.window, 1,
         MAX_WINDOW},
        {"threads", RR_OPT_INT, NULL, "2", "threads driving the clients (each polls its share)",
         &threads, 1, MAX_THREADS},
        {"duration", RR_OPT_INT, NULL, "20", "seconds of load (unless --count)", &b.duration_s, 1,
         3600},
        {"count", RR_OPT_INT, NULL, "0", "requests in all instead of --duration", &b.count, 0,
         100000000},
        {"rate", RR_OPT_INT, NULL, "0", "open loop: requests per second in all (0: closed loop)",
         &b.rate, 0, 10000000},
        {"dup-rate", RR_OPT_STRING, NULL, "0",
         "share of requests repeating the client's previous household and service (0..1)",
         &dup_text, 0, 0},
        {"timeout-ms", RR_OPT_INT, NULL, "5000", "resend an unanswered request after, ms",
         &b.timeout_ms, 100, 600000},
        {"ceiling-seconds", RR_OPT_INT, NULL, "3",
         "how long to measure PostgreSQL's own ceiling first (0: skip)", &ceiling_s, 0, 600},
        {"json", RR_OPT_FLAG, NULL, "0", "print one JSON object at the end", &json, 0, 0},
        {"no-db", RR_OPT_FLAG, NULL, "0",
         "the broker alone: against workers run with --no-db; no ceiling, no database check",
         &no_db, 0, 0},
    };
    rr_status st = rr_config_parse(
        "referralctl bench",
        "referralctl bench: load a running stack, measure acknowledged referrals/s and latency "
        "against PostgreSQL's own ceiling, and check nothing was lost or duplicated",
        opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    char *end = NULL;
    b.dup_rate = strtod(dup_text, &end);
    if (end == dup_text || *end != '\0' || b.dup_rate < 0 || b.dup_rate > 1) {
        fprintf(stderr, "invalid --dup-rate \"%s\": expected a number from 0 to 1\n", dup_text);
        return 2;
    }
    char why[512];
    if (rr_curve_client_load(key_file, broker_key, &b.curve, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    PGconn *db = NULL;
    if (no_db) {
        // The seed's demo centers and the 22 services: the workers do not look.
        static const unsigned centers[] = {941, 1924, 2441, 5165, 3102, 4207, 6010};
        static const char *const services[] = {
            "PRV-01", "PRV-02", "PRV-03", "PRV-04", "PRV-05", "PRV-06", "PRV-07", "RHB-01",
            "RHB-02", "RHB-03", "RHB-04", "SOC-01", "SOC-02", "SOC-03", "SOC-04", "SOC-05",
            "SOC-06", "SOC-07", "SOC-08", "SOC-09", "SOC-10", "SOC-11"};
        for (size_t i = 0; i < sizeof centers / sizeof centers[0]; i++) {
            b.centers[b.ncenters++] = centers[i];
        }
        for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
            rr_format_fits(b.services[b.nservices++], sizeof b.services[0], "%s", services[i]);
        }
        ceiling_s = 0;
    } else {
        db = PQconnectdb(b.db);
        wrk_pglog_attach(db);
        if (PQstatus(db) != CONNECTION_OK) {
            fprintf(stderr, "bench: cannot connect to the database: %s", PQerrorMessage(db));
            PQfinish(db);
            return 1;
        }
        PQclear(PQexec(db, "SET client_min_messages = warning")); // no NOTICEs from DROP
        if (!load_catalog(&b, db)) {
            PQfinish(db);
            return 1;
        }
    }
    char uuid[RR_UUID_TEXT_LEN + 1];
    rr_uuid_generate(uuid);
    rr_format_fits(b.tag, sizeof b.tag, "B%.8s", uuid);

    double ceiling = 0;
    if (ceiling_s > 0) {
        fprintf(stderr, "bench: measuring PostgreSQL's ceiling for %ld s\n", ceiling_s);
        ceiling = measure_ceiling(&b, b.db, ceiling_s);
        if (ceiling < 0) {
            PQfinish(db);
            return 1;
        }
    }

    client *clients = calloc((size_t) b.clients, sizeof *clients);
    b.ctx = zmq_ctx_new();
    if (clients == NULL || b.ctx == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        free(clients);
        PQfinish(db);
        return 1;
    }
    fprintf(stderr, "bench: %ld clients, window %ld, %s %ld%s\n", b.clients, b.window,
            b.count ? "count" : "duration", b.count ? b.count : b.duration_s, b.count ? "" : " s");
    atomic_init(&b.issued, 0);
    b.start_us = rr_clock_mono_us();
    b.stop_us = b.count ? INT64_MAX : b.start_us + b.duration_s * 1000000;
    for (long i = 0; i < b.clients; i++) {
        clients[i].b = &b;
        clients[i].index = (int) i;
        clients[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t) (i + 1);
    }
    if (threads > b.clients) {
        threads = b.clients;
    }
    runner runners[MAX_THREADS];
    for (long t = 0; t < threads; t++) {
        long first = b.clients * t / threads, last = b.clients * (t + 1) / threads;
        runners[t] = (runner){&clients[first], (size_t) (last - first), 0, false};
        runners[t].started =
            pthread_create(&runners[t].thread, NULL, run_clients, &runners[t]) == 0;
        if (!runners[t].started) {
            fprintf(stderr, "bench: cannot start a client thread\n");
            clients[first].errors++; // its clients sent nothing: the run fails
        }
    }
    for (long t = 0; t < threads; t++) {
        if (runners[t].started) {
            pthread_join(runners[t].thread, NULL);
        }
    }
    size_t nlat = 0, nacked = 0;
    long rejected = 0, busy = 0, resent = 0, unanswered = 0, errors = 0;
    for (long i = 0; i < b.clients; i++) {
        nlat += clients[i].nlat;
        nacked += clients[i].nacked;
        rejected += clients[i].rejected;
        busy += clients[i].busy;
        resent += clients[i].resent;
        unanswered += clients[i].unanswered;
        errors += clients[i].errors;
    }
    // Throughput over the load window: the acknowledgements after the
    // senders stopped are counted, and so is the time they took.
    double elapsed = (double) (rr_clock_mono_us() - b.start_us) / 1e6;
    double *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    size_t k = 0;
    for (long i = 0; i < b.clients && lat; i++) {
        if (clients[i].nlat > 0) {
            memcpy(lat + k, clients[i].lat_ms, clients[i].nlat * sizeof *lat);
            k += clients[i].nlat;
        }
    }
    if (lat != NULL) {
        qsort(lat, nlat, sizeof *lat, cmp_double);
    } else {
        fprintf(stderr, "bench: out of memory for %zu latencies: none reported\n", nlat);
        nlat = 0;
    }
    long lost = -1, duplicated = -1, extra = -1;
    bool checked = no_db || reconcile(&b, db, clients, &lost, &duplicated, &extra);
    double acked_per_s = elapsed > 0 ? (double) nacked / elapsed : 0;
    double ratio = ceiling > 0 ? acked_per_s / ceiling : 0;
    double p50 = percentile(lat, nlat, 0.50), p90 = percentile(lat, nlat, 0.90),
           p99 = percentile(lat, nlat, 0.99), max = nlat ? lat[nlat - 1] : 0;
    if (json) {
        json_t *o = json_pack(
            "{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:I, s:I, s:I, s:f}",
            "acked", (json_int_t) nacked, "acked_per_s", acked_per_s, "p50_ms", p50, "p90_ms", p90,
            "p99_ms", p99, "max_ms", max, "seconds", elapsed, "lost", (json_int_t) lost,
            "duplicated", (json_int_t) duplicated, "pg_ceiling_per_s", ceiling, "ratio", ratio,
            "clients", (json_int_t) b.clients, "window", (json_int_t) b.window, "rate",
            (json_int_t) b.rate, "rejected", (json_int_t) rejected, "busy", (json_int_t) busy,
            "resent", (json_int_t) resent, "unanswered", (json_int_t) unanswered,
            "recorded_unacknowledged", (json_int_t) extra, "errors", (json_int_t) errors,
            "dup_rate", b.dup_rate);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else {
        printf("acknowledged %zu in %.1f s: %.0f referrals/s\n", nacked, elapsed, acked_per_s);
        printf("ack latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", p50, p90, p99, max);
        if (ceiling > 0) {
            printf("PostgreSQL ceiling (the same four rows per submission, 100-row INSERTs,"
                   " 4 connections): %.0f submissions/s; ratio %.2f\n",
                   ceiling, ratio);
        }
        printf("lost %ld, duplicated %ld; rejected %ld, busy answers %ld, resent %ld, "
               "unanswered %ld, recorded but unacknowledged %ld\n",
               lost, duplicated, rejected, busy, resent, unanswered, extra);
    }
    for (long i = 0; i < b.clients; i++) {
        free(clients[i].acked);
        free(clients[i].lat_ms);
    }
    free(clients);
    free(lat);
    zmq_ctx_term(b.ctx);
    PQfinish(db);
    memset(&b.curve, 0, sizeof b.curve);
    bool clean = no_db || (lost == 0 && duplicated == 0);
    return checked && clean && rejected == 0 && errors == 0 ? 0 : 1;
}
