// What a worker reports of its brokers (WorkerStats.brokers_*): checked and
// copied for the views, and the line /readyz gives a worker that is not
// attached to all of them. Pure: the caller does the I/O.
#ifndef BRK_ATTACH_H
#define BRK_ATTACH_H

#include "brk_monitor.h"
#include "rr_status.h"
#include "rr_wire.h"

#include <stdbool.h>
#include <stddef.h>

// Copies ws's broker attachment into *out: known false when the worker
// reported none (brokers_configured 0, an older worker). RR_EINVAL, with
// the reason in why (cap bytes) and out untouched, when the counts disagree
// or a detached endpoint is empty, longer than RR_WIRE_MAX_ENDPOINT_BYTES
// or not printable ASCII: operators' pages, metrics and /readyz show them.
RR_NODISCARD rr_status brk_attach_take(const Rr__V1__WorkerStats *ws, brk_worker_brokers *out,
                                       char *why, size_t cap);

// True when w reported its brokers and is not attached to all of them.
bool brk_attach_missing(const brk_worker_view *w);

// The /readyz line of such a worker, without a newline, into buf (cap >= 4
// bytes; cut with "..." when longer): "worker host:pid (social) attached to
// 1 of 2 brokers; not to tcp://10.0.0.2:5556".
void brk_attach_line(const brk_worker_view *w, char *buf, size_t cap);

#endif
