// Snapshots as text: the Prometheus exposition format and JSON for the
// operators' API. Pure: a snapshot in, a string out.
#ifndef BRK_RENDER_H
#define BRK_RENDER_H

#include "brk_history.h"
#include "brk_monitor.h"

#include <stddef.h>

// Process facts the HTTP thread reads itself at scrape time.
typedef struct brk_process_view {
    double resident_bytes;
    double open_fds;
    double start_time_s; // Unix seconds
    // The monitor's own connections (brk_httpcap_counts).
    double monitor_open, monitor_refused_total, monitor_refused_addr, monitor_timed_out;
} brk_process_view;

// Each returns a new NUL-terminated string (caller frees) or NULL when out
// of memory; *len gets its length.
char *brk_render_prometheus(const brk_snapshot *snap, const brk_process_view *proc, size_t *len);
char *brk_render_queues_json(const brk_snapshot *snap, size_t *len);
char *brk_render_workers_json(const brk_snapshot *snap, size_t *len);

// The /readyz body into buf (cap >= 336 bytes; BRK_READYZ_BODY_BYTES is
// what the monitor uses), NUL-terminated; returns its length. "ready" or
// "not ready: no social worker; stopping;", then a line for each worker that
// reported being attached to fewer brokers than its --broker list names
// (brk_attach_line, each cut at BRK_READYZ_LINE_BYTES), as many as fit, and
// a last line counting those left out.
#define BRK_READYZ_BODY_BYTES 4096
#define BRK_READYZ_LINE_BYTES 384
size_t brk_render_readyz(const brk_snapshot *snap, char *buf, size_t cap);

// The history as JSON for the dashboard: samples (oldest first) merged in
// equal groups into at most max_points (>= 1) points.
char *brk_render_history_json(const brk_sample *samples, size_t n, size_t max_points, long step_ms,
                              size_t *len);

#endif
