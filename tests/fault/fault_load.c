#include "fault_load.h"

#include "cli_center.h"
#include "rr_wire.h"

#include <assert.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 32

// The 22 services by domain; client i sends domain i % 3's in turn, so
// every domain has clients waiting on it whatever happens to the others.
static const char *const prevention[] = {"PRV-01", "PRV-02", "PRV-03", "PRV-04",
                                         "PRV-05", "PRV-06", "PRV-07"};
static const char *const rehabilitation[] = {"RHB-01", "RHB-02", "RHB-03", "RHB-04"};
static const char *const social[] = {"SOC-01", "SOC-02", "SOC-03", "SOC-04", "SOC-05", "SOC-06",
                                     "SOC-07", "SOC-08", "SOC-09", "SOC-10", "SOC-11"};
static const struct {
    const char *const *codes;
    size_t count;
} services[3] = {{prevention, 7}, {rehabilitation, 4}, {social, 11}};
static const unsigned centers[] = {941, 1924, 2441, 5165, 3102, 4207, 6010};

typedef struct outcome {
    char request_id[40];
    long long referral_id; // > 0 when acknowledged
    long long sent_ms;     // first sent (monotonic)
    long long answered_ms; // acknowledged (monotonic)
    long long sent_us;     // first sent, wall clock (fault_load_copy_times)
    long long answered_us; // answered or given up, wall clock
    char state;            // 'a' acked, 'g' gave up, 'r' rejected
} outcome;

typedef struct client {
    struct fault_load *load;
    int index;
    pthread_t thread;
    outcome *out; // owned
    size_t count, cap;
} client;

enum { MAX_ENDPOINTS = 4 };

struct fault_load {
    char endpoints[MAX_ENDPOINTS][64];
    int nendpoints;
    char tag[16];
    int pause_ms;
    long interval_ms; // per client, when paced (0: pause_ms)
    long budget_ms;
    long attempt_ms;
    int nclients;         // threads started (grows while they start)
    int planned;          // threads asked for: what a thread may read at once
    atomic_llong mark_ms; // 0: not marked
    atomic_bool stop;
    atomic_long acked;
    atomic_int running; // client threads not yet out of their loop
    client clients[MAX_CLIENTS];
};

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// The wall clock in microseconds: the database's clock_timestamp() reads
// the same clock on this machine.
static long long
wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

// Submits one request until it is answered or the budget is spent, as a
// center's software does: the same request_id on every attempt.
static char
submit_until_answered(fault_load *load, cli_center *c, it_request *r, long long *referral_id)
{
    long long deadline = now_ms() + load->budget_ms;
    while (now_ms() < deadline) {
        Rr__V1__SubmitReply *reply = NULL;
        rr_wire_error err;
        rr_status st = cli_center_submit(c, &r->req, load->attempt_ms, 1, &reply, &err);
        char state = 0;
        if (st == RR_OK && (reply->outcome == RR__V1__OUTCOME__OUTCOME_ACCEPTED ||
                            reply->outcome == RR__V1__OUTCOME__OUTCOME_DUPLICATE)) {
            *referral_id = strtoll(reply->referral_id + 2, NULL, 10);
            state = 'a';
        } else if (st == RR_OK && reply->outcome == RR__V1__OUTCOME__OUTCOME_REJECTED) {
            fprintf(stderr, "# request %s rejected: %s\n", r->request_id,
                    reply->error ? reply->error->message : "?");
            state = 'r';
        }
        long wait = st == RR_OK && reply->outcome == RR__V1__OUTCOME__OUTCOME_BUSY &&
                            reply->retry_after_ms > 0 && reply->retry_after_ms < 2000
                        ? (long) reply->retry_after_ms
                        : 100;
        if (reply != NULL) {
            rr_wire_free(reply);
        }
        if (state != 0) {
            return state;
        }
        sleep_ms(wait); // busy or silence: retry, same request_id
    }
    return 'g';
}

static void *
run_client(void *arg)
{
    client *cl = arg;
    fault_load *load = cl->load;
    const char *eps[MAX_ENDPOINTS];
    for (int e = 0; e < load->nendpoints; e++) {
        eps[e] = load->endpoints[(e + cl->index) % load->nendpoints]; // spread first tries
    }
    cli_center *c = cli_center_new(eps, (size_t) load->nendpoints);
    if (c == NULL) {
        atomic_fetch_sub(&load->running, 1);
        return NULL;
    }
    // Paced clients start staggered over one interval.
    long long next = now_ms() + load->interval_ms * cl->index / load->planned;
    for (size_t i = 0; !atomic_load(&load->stop); i++) {
        if (load->interval_ms > 0) {
            long long now = now_ms();
            if (next > now) {
                sleep_ms((long) (next - now));
            }
            next += load->interval_ms;
        }
        if (cl->count == cl->cap) {
            size_t cap = cl->cap ? cl->cap * 2 : 256;
            outcome *more = realloc(cl->out, cap * sizeof *more);
            if (more == NULL) {
                break;
            }
            cl->out = more;
            cl->cap = cap;
        }
        it_request r;
        char tag[48];
        snprintf(tag, sizeof tag, "%s-%02d-%05zu", load->tag, cl->index, i);
        size_t d = (size_t) cl->index % 3;
        size_t k = (size_t) cl->index / 3 + i;
        it_request_init(&r, centers[k % 7], services[d].codes[k % services[d].count], tag);
        outcome *o = &cl->out[cl->count++];
        memcpy(o->request_id, r.request_id, sizeof o->request_id);
        o->referral_id = 0;
        o->sent_ms = now_ms();
        o->sent_us = wall_us();
        o->state = submit_until_answered(load, c, &r, &o->referral_id);
        o->answered_ms = now_ms();
        o->answered_us = wall_us();
        if (o->state == 'a') {
            atomic_fetch_add(&load->acked, 1);
        }
        if (load->interval_ms == 0 && load->pause_ms > 0) {
            sleep_ms(load->pause_ms);
        }
    }
    cli_center_destroy(&c);
    atomic_fetch_sub(&load->running, 1); // its outcomes are final from here on
    return NULL;
}

fault_load *
fault_load_start(const it_stack *s, int clients, int pause_ms, long budget_ms, const char *tag)
{
    fault_load_opts o = {
        .clients = clients, .pause_ms = pause_ms, .budget_ms = budget_ms, .tag = tag};
    return fault_load_start_with(s, &o);
}

fault_load *
fault_load_start_with(const it_stack *s, const fault_load_opts *o)
{
    fault_load *self = calloc(1, sizeof *self);
    if (self == NULL || o->clients < 1 || o->clients > MAX_CLIENTS ||
        o->nendpoints > MAX_ENDPOINTS || o->rate < 0) {
        free(self);
        return NULL;
    }
    if (o->endpoints == NULL || o->nendpoints < 1) {
        snprintf(self->endpoints[0], sizeof self->endpoints[0], "%s", s->frontend);
        self->nendpoints = 1;
    } else {
        for (int e = 0; e < o->nendpoints; e++) {
            snprintf(self->endpoints[e], sizeof self->endpoints[e], "%s", o->endpoints[e]);
        }
        self->nendpoints = o->nendpoints;
    }
    snprintf(self->tag, sizeof self->tag, "%s", o->tag ? o->tag : "L");
    self->pause_ms = o->pause_ms;
    self->interval_ms = o->rate > 0 ? (long) o->clients * 1000 / o->rate : 0;
    self->budget_ms = o->budget_ms > 0 ? o->budget_ms : 40000;
    self->attempt_ms = o->attempt_ms > 0 ? o->attempt_ms : 1500;
    int clients = o->clients;
    self->planned = clients;
    atomic_init(&self->mark_ms, 0);
    atomic_init(&self->stop, false);
    atomic_init(&self->acked, 0);
    atomic_init(&self->running, 0);
    for (int i = 0; i < clients; i++) {
        self->clients[i].load = self;
        self->clients[i].index = i;
        atomic_fetch_add(&self->running, 1);
        if (pthread_create(&self->clients[i].thread, NULL, run_client, &self->clients[i]) != 0) {
            atomic_fetch_sub(&self->running, 1);
            break;
        }
        self->nclients++;
    }
    return self;
}

void
fault_load_mark(fault_load *self)
{
    atomic_store(&self->mark_ms, now_ms());
}

long
fault_load_acked(const fault_load *self)
{
    return atomic_load(&self->acked);
}

void
fault_load_wait_acked(const fault_load *self, long want, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (fault_load_acked(self) < want && now_ms() < deadline) {
        sleep_ms(20);
    }
    assert_true(fault_load_acked(self) >= want);
}

bool
fault_load_stop(fault_load *self, long timeout_ms)
{
    atomic_store(&self->stop, true);
    long long deadline = now_ms() + timeout_ms;
    while (atomic_load(&self->running) > 0 && now_ms() < deadline) {
        sleep_ms(10);
    }
    return atomic_load(&self->running) == 0;
}

static bool
exec_ok(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        fprintf(stderr, "# %s: %s", sql, PQerrorMessage(db));
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
        fprintf(stderr, "# %s: %s", sql, PQerrorMessage(db));
    }
    PQclear(res);
    return v;
}

// Creates the temp table table and COPYs every client's outcomes into it:
// request_id, referral_id, state, and with times sent_us and answered_us.
static bool
copy_outcomes(const fault_load *self, PGconn *db, const char *table, bool times)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE %s (request_id uuid, referral_id bigint, state char%s)", table,
             times ? ", sent_us bigint, answered_us bigint" : "");
    if (!exec_ok(db, sql)) {
        return false;
    }
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table);
    PGresult *res = PQexec(db, sql);
    bool ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    for (int c = 0; ok && c < self->nclients; c++) {
        for (size_t i = 0; ok && i < self->clients[c].count; i++) {
            const outcome *o = &self->clients[c].out[i];
            char line[160];
            int n = times ? snprintf(line, sizeof line, "%s\t%lld\t%c\t%lld\t%lld\n", o->request_id,
                                     o->referral_id, o->state, o->sent_us, o->answered_us)
                          : snprintf(line, sizeof line, "%s\t%lld\t%c\n", o->request_id,
                                     o->referral_id, o->state);
            ok = n > 0 && (size_t) n < sizeof line && PQputCopyData(db, line, n) == 1;
        }
    }
    ok = PQputCopyEnd(db, ok ? NULL : "client error") == 1 && ok;
    while ((res = PQgetResult(db)) != NULL) {
        ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    return ok;
}

// Loads every client's outcomes into the temp table outcomes by COPY.
static bool
load_outcomes(fault_load *self, PGconn *db)
{
    return copy_outcomes(self, db, "outcomes", false);
}

bool
fault_load_copy_times(const fault_load *self, PGconn *db)
{
    assert(atomic_load(&self->running) == 0);
    bool ok = copy_outcomes(self, db, "load_times", true);
    if (!ok) {
        fprintf(stderr, "# COPY load_times: %s", PQerrorMessage(db));
    }
    return ok;
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return (x > y) - (x < y);
}

static long
p99_of(long long *v, size_t n)
{
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof *v, cmp_ll);
    return (long) v[(n * 99 + 99) / 100 - 1];
}

// The outage and latencies around the mark (fault_report's fields).
static void
time_the_fault(const fault_load *self, fault_report *out)
{
    long long mark = atomic_load(&self->mark_ms);
    size_t n = 0;
    for (int c = 0; c < self->nclients; c++) {
        n += self->clients[c].count;
    }
    long long *acks = malloc((n + 1) * sizeof *acks);
    long long *lat = malloc((n + 1) * sizeof *lat);
    if (acks == NULL || lat == NULL) {
        free(acks);
        free(lat);
        return;
    }
    size_t na = 0, nl = 0;
    for (int c = 0; c < self->nclients; c++) {
        for (size_t i = 0; i < self->clients[c].count; i++) {
            const outcome *o = &self->clients[c].out[i];
            if (o->state == 'a') {
                lat[nl++] = o->answered_ms - o->sent_ms;
                if (mark > 0 && o->answered_ms >= mark) {
                    acks[na++] = o->answered_ms;
                }
            }
        }
    }
    out->p99_ms = p99_of(lat, nl);
    if (mark > 0) {
        out->marked = true;
        qsort(acks, na, sizeof *acks, cmp_ll);
        long long prev = mark, back = mark;
        for (size_t i = 0; i < na; i++) {
            if (acks[i] - prev > out->outage_ms) {
                out->outage_ms = (long) (acks[i] - prev);
                back = acks[i];
            }
            prev = acks[i];
        }
        out->back_ms = (long) (back - mark);
        if (na == 0) {
            out->outage_ms = out->back_ms = -1; // nothing acknowledged after the fault
        }
        nl = 0;
        for (int c = 0; c < self->nclients; c++) {
            for (size_t i = 0; i < self->clients[c].count; i++) {
                const outcome *o = &self->clients[c].out[i];
                if (o->state == 'a' && o->answered_ms >= mark && o->sent_ms <= back) {
                    lat[nl++] = o->answered_ms - o->sent_ms;
                    out->max_during_ms = (long) (o->answered_ms - o->sent_ms) > out->max_during_ms
                                             ? (long) (o->answered_ms - o->sent_ms)
                                             : out->max_during_ms;
                }
            }
        }
        out->during = (long) nl;
        out->p99_during_ms = p99_of(lat, nl);
    }
    free(acks);
    free(lat);
}

void
fault_load_finish(fault_load **self_p, PGconn *db, fault_report *out)
{
    fault_load *self = *self_p;
    memset(out, 0, sizeof *out);
    atomic_store(&self->stop, true);
    for (int i = 0; i < self->nclients; i++) {
        pthread_join(self->clients[i].thread, NULL);
    }
    for (int c = 0; c < self->nclients; c++) {
        for (size_t i = 0; i < self->clients[c].count; i++) {
            char st = self->clients[c].out[i].state;
            out->submitted++;
            out->acked += st == 'a';
            out->gave_up += st == 'g';
            out->rejected += st == 'r';
        }
    }
    time_the_fault(self, out);
    if (!load_outcomes(self, db)) {
        out->lost = out->duplicated = out->unreported = -1;
    } else {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM outcomes o WHERE o.state = 'a' AND NOT EXISTS (SELECT 1"
                 " FROM referral r WHERE r.request_id = o.request_id AND r.id = o.referral_id)");
        out->lost = scalar(db, sql);
        long by_id = scalar(db, "SELECT count(*) FROM (SELECT request_id FROM referral"
                                " GROUP BY request_id HAVING count(*) > 1) d");
        long by_household = scalar(db, "SELECT count(*) FROM (SELECT household_id FROM referral"
                                       " GROUP BY household_id HAVING count(*) > 1) d");
        out->duplicated = by_id < 0 || by_household < 0 ? -1 : by_id + by_household;
        out->unreported = scalar(db, "SELECT count(*) FROM referral r WHERE NOT EXISTS"
                                     " (SELECT 1 FROM outcomes o WHERE o.request_id ="
                                     " r.request_id)");
        out->gave_up_recorded = scalar(db, "SELECT count(*) FROM outcomes o JOIN referral r"
                                           " USING (request_id) WHERE o.state = 'g'");
        (void) exec_ok(db, "DROP TABLE outcomes");
    }
    for (int c = 0; c < self->nclients; c++) {
        free(self->clients[c].out);
    }
    free(self);
    *self_p = NULL;
}

void
fault_report_print(const char *name, const fault_report *r)
{
    printf("# fault %s: submitted %ld, acknowledged %ld, lost %ld, duplicated %ld, gave up %ld"
           " (%ld of them recorded), rejected %ld, unreported rows %ld\n",
           name, r->submitted, r->acked, r->lost, r->duplicated, r->gave_up, r->gave_up_recorded,
           r->rejected, r->unreported);
    if (r->marked) {
        printf("# fault %s: write outage %ld ms, writes back %ld ms after the fault, p99 %ld ms"
               " (max %ld ms) over the %ld requests acknowledged during it; p99 overall %ld ms\n",
               name, r->outage_ms, r->back_ms, r->p99_during_ms, r->max_during_ms, r->during,
               r->p99_ms);
    }
    fflush(stdout);
}

void
fault_load_settle(fault_load **self_p, const it_stack *s, const char *name, fault_report *out)
{
    PGconn *db = it_db(s);
    fault_load_finish(self_p, db, out);
    fault_report_print(name, out);
    printf("#   broker: %.0f redelivered, %.0f late replies discarded, %.0f workers expired\n",
           it_metric(s, "referral_redelivered_total"), it_metric(s, "referral_late_replies_total"),
           it_metric(s, "referral_workers_expired_total"));
    fflush(stdout);
    long long without_history = it_db_referrals_without_history(db);
    PQfinish(db);
    assert_true(out->acked > 0);
    assert_int_equal(out->lost, 0);
    assert_int_equal(out->duplicated, 0);
    assert_int_equal(out->rejected, 0);
    assert_int_equal(out->unreported, 0);
    assert_int_equal(without_history, 0);
}
