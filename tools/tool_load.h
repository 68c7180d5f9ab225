// The bench's load: client threads, each with its own DEALER socket and up
// to --window requests in flight (closed loop), or sending on a schedule
// (--rate, open loop: latency counts from the scheduled time, so a stall
// is not hidden). Every request is new (its own household) unless
// --dup-rate asks for duplicates; a request unanswered for --timeout-ms is
// resent with the same request_id, as a center must. tool_bench.c sets a
// run up, starts the runners and reports (tool_tally.h); the RabbitMQ peer
// (tools/peer/) drives the same clients over AMQP through the send hook.
#ifndef TOOL_LOAD_H
#define TOOL_LOAD_H

#include "rr_keys.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CLIENTS 256
#define MAX_WINDOW  256
#define MAX_CODES   64
#define MAX_THREADS 64

struct client;
struct slot;

// One run: its settings and the catalogue codes requests draw from.
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
    // People: national ids natid_base + 0, + 1, ... (mod 10^9, with their
    // check digit), one per new request, so that no two requests of a run
    // are the same person by chance (a per-person service would call the
    // second one a duplicate); the base is random per run.
    uint32_t natid_base;
    atomic_uint natid_next;
    int64_t start_us, stop_us;
    void *ctx;
    // Sends a slot's request (a first send or a resend); NULL: over the
    // client's DEALER socket to the broker. False when it was not sent.
    bool (*send)(struct client *c, struct slot *s);
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
    uint8_t domain; // rr_domain of its service code's prefix (the RabbitMQ peer routes on it)
} slot;

typedef struct outcome {
    char request_id[RR_UUID_TEXT_LEN + 1];
    long long referral_id;
    bool dup;
} outcome;

typedef struct client {
    bench *b;
    int index;
    void *sock; // the DEALER socket, or what b->send uses
    bool sent;  // since its replies were last taken
    int64_t interval_us, next_sched, drain_until;
    slot slots[MAX_WINDOW];
    outcome *acked;
    size_t nacked, cap_acked;
    double *lat_ms;
    size_t nlat, cap_lat;
    long rejected, busy, resent, unanswered, errors;
    uint64_t rng;
    char last_household[64];
    char last_natid[11]; // a duplicate is the same person's same need again
    char last_service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    unsigned last_center;
    long seq;
} client;

// One thread drives several clients (each its own socket and window) with
// one poll: fewer threads than clients leave the cores to the stack under
// test, which shares the machine with the bench.
typedef struct runner {
    client *clients;
    size_t count;
    pthread_t thread;
    bool started;
} runner;

// Reads the active centers and services of db into b. False (said on
// stderr) when it cannot or finds none.
bool tool_load_catalog(bench *b, PGconn *db);

// Sets c's open-loop schedule (its share of b->rate, offset by its index)
// once b->start_us is set; call before the first tool_load_step.
void tool_load_begin(client *c);

// Sends what is due for c at now (new requests, resends after a timeout or
// a busy answer) through b->send or the socket. False once the client is
// done (duration or count reached and nothing in flight, or the drain time
// over: what is still in flight then counts as unanswered); otherwise
// lowers *wait_ms to how long the caller may wait before the next call.
bool tool_load_step(client *c, int64_t now, long *wait_ms);

// Takes one encoded SubmitReply for c: finds its request's slot (none: a
// late answer to an attempt already answered, ignored) and counts it as
// acknowledged (with its latency), busy (resent after its retry-after) or
// rejected. Bytes that are not a SubmitReply count as an error.
void tool_load_on_reply(client *c, const void *data, size_t size);

// A runner's thread: opens its clients' sockets and drives them until each
// is done (duration, count, or a failure), counting outcomes in each.
void *tool_load_run(void *runner);

#endif
