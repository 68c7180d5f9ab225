// The bench's load generator (tool_load.h).
#include "tool_load.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_natid.h"
#include "rr_vocab.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

bool
tool_load_catalog(bench *b, PGconn *db)
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
        unsigned n = atomic_fetch_add(&c->b->natid_next, 1);
        unsigned v = (unsigned) ((c->b->natid_base + (uint64_t) n) % 1000000000u);
        rr_format_fits(out, 11, "%09u", v);
        out[9] = rr_natid_check_digit(out);
        out[10] = '\0';
        bool same = true;
        for (int i = 1; i < 10; i++) {
            same &= out[i] == out[0];
        }
        if (!same) {
            return; // the ten all-same-digit ids are refused
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
        memcpy(natid, c->last_natid, sizeof natid);
    } else {
        center = b->centers[next_rand(c) % b->ncenters];
        service = b->services[next_rand(c) % b->nservices];
        rr_format_fits(household, sizeof household, "h-%u-%s-%d-%ld", center, b->tag, c->index,
                       c->seq++);
        c->last_center = center;
        rr_format_fits(c->last_service, sizeof c->last_service, "%s", service);
        rr_format_fits(c->last_household, sizeof c->last_household, "%s", household);
        make_natid(c, natid);
        memcpy(c->last_natid, natid, sizeof natid);
    }
    req.request_id = s->request_id;
    req.center_code = center;
    req.national_id = natid;
    req.household_id = household;
    req.service_code = (char *) service;
    s->domain = (uint8_t) rr_domain_of_service_code(service);
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
send_slot(client *c, slot *s)
{
    if (c->b->send != NULL) {
        if (!c->b->send(c, s)) {
            return false;
        }
    } else if (rr_wire_send_call(c->sock, ZMQ_DONTWAIT, RR_CMD_SUBMIT, s->request_id, s->body,
                                 s->size) != RR_OK) {
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

void
tool_load_on_reply(client *c, const void *data, size_t size)
{
    Rr__V1__SubmitReply *r = NULL;
    if (rr_wire_unpack(data, size, &r, NULL) != RR_OK) {
        rr_wire_free(r); // kept when only a field check failed
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

// The endpoint of --broker's comma-separated list that client index uses:
// clients are spread over the brokers in turn (index mod their count).
// False when the entry does not fit out.
static bool
client_endpoint(const char *list, int index, char *out, size_t cap)
{
    int n = 1;
    for (const char *p = list; *p; p++) {
        n += *p == ',';
    }
    int want = index % n;
    const char *start = list;
    for (int i = 0; i < want; i++) {
        start = strchr(start, ',') + 1;
    }
    size_t len = strcspn(start, ",");
    if (len >= cap) {
        return false;
    }
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

// Opens the client's socket; false (counted as an error) when it cannot.
static bool
client_open(client *c)
{
    bench *b = c->b;
    char endpoint[512];
    if (!client_endpoint(b->broker, c->index, endpoint, sizeof endpoint)) {
        fprintf(stderr, "bench: client %d: a --broker endpoint over %zu bytes\n", c->index,
                sizeof endpoint - 1);
        c->errors++;
        return false;
    }
    void *sock = zmq_socket(b->ctx, ZMQ_DEALER);
    int linger = 0, hwm = 0;
    char why[256];
    if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        rr_curve_client_apply(&b->curve, sock, why, sizeof why) != RR_OK ||
        zmq_connect(sock, endpoint) != 0) {
        fprintf(stderr, "bench: client %d cannot connect: %s\n", c->index, zmq_strerror(errno));
        c->errors++;
        if (sock) {
            zmq_close(sock);
        }
        return false;
    }
    c->sock = sock;
    tool_load_begin(c);
    return true;
}

void
tool_load_begin(client *c)
{
    const bench *b = c->b;
    // Open loop: this client's share of --rate, on a fixed schedule.
    c->interval_us = b->rate > 0 ? (int64_t) (1e6 * (double) b->clients / (double) b->rate) : 0;
    c->next_sched = b->start_us + (c->interval_us * c->index) / (b->clients ? b->clients : 1);
}

bool
tool_load_step(client *c, int64_t now, long *wait_ms)
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
                    if (!send_slot(c, s)) {
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
                (void) send_slot(c, s);
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
                tool_load_on_reply(c, zmq_msg_data(&answer.body), zmq_msg_size(&answer.body));
            } else {
                c->errors++;
            }
            rr_wire_call_close(&answer);
        }
    }
}

void *
tool_load_run(void *arg)
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
            if (!done[i] && !tool_load_step(c, now, &wait_ms)) {
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
