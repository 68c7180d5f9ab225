// The broker's HTTP monitor (libevent evhttp) on its own thread: / (a live
// dashboard, with /dashboard.js and /dashboard.css), /metrics, /healthz,
// /readyz, /api/v1/queues, /api/v1/workers, /api/v1/history. It serves
// snapshots from a board and never touches the broker's live structures.
#ifndef BRK_HTTP_H
#define BRK_HTTP_H

#include "brk_monitor.h"

#include <stddef.h>

typedef struct brk_http brk_http;

// Bounds on the monitor's connections (issue 16).
typedef struct brk_http_caps {
    size_t max_connections;  // open at once, in all (fitted to the descriptor limit)
    size_t max_per_address;  // of them from one source address (at most half the total)
    long request_timeout_ms; // a request's headers must be whole within this of the
                             // connection's accept or of its previous answer
} brk_http_caps;

// Binds address ("127.0.0.1:8080"; port 0 picks a free one) and starts the
// thread; one per process. It answers requests whose Host is an IP
// address, localhost, the name in address, or a name in hosts
// (comma-separated, NULL or "" for none): others get 421, so a page on a
// rebound DNS name cannot read it. Every answer carries the headers of
// brk_httpguard_headers; an accept() failure pauses the listener instead of
// spinning. At caps->max_connections it stops accepting until one closes
// (the kernel's backlog holds the others); a connection over the
// per-address cap is closed at once, and one whose request is not whole in
// time is closed (caps). board is borrowed and must outlive the monitor.
// NULL (logged) when the address cannot be bound, a name is invalid or
// libevent fails. Caller stops and frees it with brk_http_destroy.
brk_http *brk_http_new(const char *address, const char *hosts, brk_board *board,
                       const brk_http_caps *caps);
void brk_http_destroy(brk_http **self_p);

// The port actually bound.
int brk_http_port(const brk_http *self);

#endif
