// The broker's HTTP monitor (libevent evhttp) on its own thread: / (a live
// dashboard, with /dashboard.js and /dashboard.css), /metrics, /healthz,
// /readyz, /api/v1/queues, /api/v1/workers, /api/v1/history. It serves
// snapshots from a board and never touches the broker's live structures.
#ifndef BRK_HTTP_H
#define BRK_HTTP_H

#include "brk_monitor.h"

typedef struct brk_http brk_http;

// Binds address ("127.0.0.1:8080"; port 0 picks a free one) and starts the
// thread; one per process. It answers requests whose Host is an IP
// address, localhost, the name in address, or a name in hosts
// (comma-separated, NULL or "" for none): others get 421, so a page on a
// rebound DNS name cannot read it. Every answer carries the headers of
// brk_httpguard_headers; an accept() failure pauses the listener instead of
// spinning. board is borrowed and must outlive the monitor. NULL (logged)
// when the address cannot be bound, a name is invalid or libevent fails.
// Caller stops and frees it with brk_http_destroy.
brk_http *brk_http_new(const char *address, const char *hosts, brk_board *board);
void brk_http_destroy(brk_http **self_p);

// The port actually bound.
int brk_http_port(const brk_http *self);

#endif
