// Connection caps for one ROUTER socket (issue 16). ZeroMQ accepts every
// TCP connection and holds it until its handshake ends (ZMQ_HANDSHAKE_IVL);
// it has no cap of its own, so silent connections could take every
// descriptor and shut out valid peers. A socket monitor reports each
// accepted connection with its descriptor; this module counts them per
// source address and in all, and shuts down any over a cap (shutdown(2):
// libzmq sees the peer leave and closes it) before its handshake.
#ifndef BRK_CONNS_H
#define BRK_CONNS_H

#include "brk_noisy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brk_conns_limits {
    size_t max_total;    // connections open at once on the socket
    size_t max_per_addr; // of them, from one source address
} brk_conns_limits;

typedef enum brk_conn_verdict {
    BRK_CONN_ADMIT,
    BRK_CONN_OVER_TOTAL,
    BRK_CONN_OVER_ADDR,
} brk_conn_verdict;

// Whether one more connection may stay, with total open on the socket and
// from_addr of them from its address (itself not counted). Pure.
brk_conn_verdict brk_conns_decide(const brk_conns_limits *limits, size_t total, size_t from_addr);

typedef struct brk_conns brk_conns;

// Watches socket (a bound ROUTER of ctx) under limits; name ("centers",
// "workers") names it in logs. NULL (logged) when the monitor cannot be
// set up. noisy (borrowed) limits the warnings a flood causes. Caller frees
// with brk_conns_destroy before closing socket.
brk_conns *brk_conns_new(void *ctx, void *socket, const char *name, brk_conns_limits limits,
                         brk_noisy *noisy);
void brk_conns_destroy(brk_conns **self_p);

// The monitor's socket, to poll for ZMQ_POLLIN.
void *brk_conns_socket(brk_conns *self);

// Reads the events waiting (at most a bounded number) and applies the caps.
void brk_conns_handle(brk_conns *self, int64_t now_ms);

typedef struct brk_conns_counts {
    uint64_t open;          // connections open now
    uint64_t refused_total; // shut down at the total cap, since start
    uint64_t refused_addr;  // shut down at the per-address cap, since start
} brk_conns_counts;

brk_conns_counts brk_conns_count(const brk_conns *self);

// The connection caps that fit a descriptor limit: the wanted caps as they
// are when they fit beside BRK_CONNS_RESERVE_FDS descriptors for
// everything else (ZeroMQ's own, logs, the key directory), else each
// lowered in proportion (at least 1). Pure.
#define BRK_CONNS_RESERVE_FDS       128
#define BRK_MONITOR_MAX_CONNECTIONS 256 // --monitor-max-connections by default (brk_http)
typedef struct brk_conns_plan {
    size_t centers, workers, monitor;
    bool lowered; // the wanted caps did not fit
} brk_conns_plan;
brk_conns_plan brk_conns_fit(uint64_t fd_limit, size_t centers, size_t workers, size_t monitor);

#endif
