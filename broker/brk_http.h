// The broker's HTTP monitor (libevent evhttp) on its own thread: / (a live
// dashboard), /metrics, /healthz, /readyz, /api/v1/queues, /api/v1/workers. It serves snapshots
// from a board and never touches the broker's live structures.
#ifndef BRK_HTTP_H
#define BRK_HTTP_H

#include "brk_monitor.h"

typedef struct brk_http brk_http;

// Binds address ("127.0.0.1:8080"; port 0 picks a free one) and starts the
// thread. board is borrowed and must outlive the monitor. NULL (logged) when
// the address cannot be bound or libevent fails. Caller stops and frees it
// with brk_http_destroy.
brk_http *brk_http_new(const char *address, brk_board *board);
void brk_http_destroy(brk_http **self_p);

// The port actually bound.
int brk_http_port(const brk_http *self);

#endif
