// The broker: a front-end ROUTER socket for centers, a back-end ROUTER for
// workers, per-domain bounded queues and the worker registry, driven by one
// poll loop. Holds no database connection: durability is PostgreSQL's (via
// the workers) and the centers' retries.
#ifndef BRK_SERVER_H
#define BRK_SERVER_H

#include "brk_monitor.h"
#include "rr_status.h"
#include "rr_vocab.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct brk_config {
    const char *frontend;  // endpoint centers connect to, e.g. tcp://127.0.0.1:5555
    const char *backend;   // endpoint workers connect to
    long queue_max;        // requests waiting per domain before `busy`
    long queue_max_bytes;  // bytes waiting per domain (brk_queue_cost) before `busy`
    long heartbeat_ms;     // heartbeat interval, both ways
    long liveness;         // heartbeats missed before a worker is dead
    long max_attempts;     // deliveries of one request before it is given up
    long max_failures;     // failures of one request before it is given up (dead-lettered)
    long retry_backoff_ms; // wait before the first retry of a failed request; doubles
    long retry_after_ms;   // hint sent with `busy`
    long request_ttl_ms;   // a request waiting longer than this gets `busy`
    long drain_ms;         // on SIGTERM, how long in-flight replies may take
    long hwm;              // ZeroMQ high-water mark on both sockets, messages
    long fair_every;       // every n-th dispatch serves the longest-waiting request
    long max_body_bytes;   // larger request bodies are refused ETOOBIG (<= RR_WIRE_MAX_BODY_BYTES)
    long handshake_ms;     // a connection that has not finished its ZeroMQ handshake by then goes
    long max_centers;      // connections open at once on the front end (after brk_conns_fit)
    long max_workers;      // on the back end
    long max_per_address;  // on either, from one source address
    long max_outstanding;  // requests queued or in flight per principal (0: no limit)
    long queries_per_s;    // FOLLOW, STATUS and INBOX per principal and second (0: no limit)
    long query_burst;      // queries a principal may send at once
    const char *curve_key_file; // the broker's CURVE key file (with its secret key)
    const char *keys_dir;       // registered public keys (brk_auth.h)
    bool insecure;              // no authentication (development only)
    uint32_t
        workers_expected[RR_DOMAIN_COUNT + 1]; // live workers each domain should have (monitoring)
} brk_config;

// Counters since start; read by the monitor (issue #4) and the tests' logs.
typedef struct brk_stats {
    uint64_t received[RR_DOMAIN_COUNT + 1]; // requests admitted, per domain (0 = status)
    uint64_t replied;                       // worker replies delivered to centers
    uint64_t busy;                          // `busy` replies the broker made
    uint64_t rejected;                      // requests the broker refused itself
    uint64_t protocol_errors;               // malformed frames from centers or workers
    uint64_t redelivered;                   // requests requeued after a worker died
    uint64_t retried;                       // failed requests held back for a retry
    uint64_t dead_lettered;                 // requests given up after max_attempts
    uint64_t late_replies;                  // replies for requests already redelivered
    uint64_t undeliverable;                 // replies whose center was gone or full
    uint64_t workers_expired;               // workers declared dead by heartbeat
    uint64_t unauthorized;                  // messages from keys not (or no longer) registered
    uint64_t resends_joined;      // SUBMITs joined to the same request held already (brk_join.h)
    uint64_t limited_outstanding; // busy: the principal had max_outstanding queued or in flight
    uint64_t limited_rate;        // busy: the principal's queries came too fast
    uint64_t donations[4];        // workers' DONATE answers: recorded, replayed, refused, busy
    uint64_t neighbourhood[3][4]; // PROFILE, TRUSTEE, FINDING answers: the same outcomes
    uint64_t ratings[4];          // workers' RATE answers: the same outcomes
} brk_stats;

typedef struct brk_server brk_server;

// Binds both sockets. Returns NULL (logged) when an endpoint cannot be bound
// or memory runs out. Caller frees with brk_server_destroy.
brk_server *brk_server_new(const brk_config *config);
void brk_server_destroy(brk_server **self_p);

// Serves until *stop becomes non-zero (set it from a signal handler), then
// drains: answers queued and new requests `busy`, waits up to drain_ms for
// in-flight replies, tells workers to disconnect and returns RR_OK. RR_EIO
// when a socket fails beyond recovery (logged).
RR_NODISCARD rr_status brk_server_run(brk_server *self, volatile sig_atomic_t *stop);

// Counters so far.
const brk_stats *brk_server_stats(const brk_server *self);

// Publishes a snapshot to board (borrowed; it must outlive the server) a few
// times a second while the server runs.
void brk_server_set_board(brk_server *self, brk_board *board);

#endif
