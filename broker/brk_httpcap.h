// The HTTP monitor's connection caps and deadlines (issue 16), as a pure
// table: connections counted in all and per source address, each with a
// deadline for its next request's headers. The caller (brk_http) does the
// I/O: it stops accepting while the table is full, closes what it is told
// to, and reports each connection's address, requests and end.
#ifndef BRK_HTTPCAP_H
#define BRK_HTTPCAP_H

#include "brk_conns.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRK_MONITOR_MAX_PER_ADDRESS    32   // --monitor-max-connections-per-address
#define BRK_MONITOR_REQUEST_TIMEOUT_MS 5000 // --monitor-request-timeout-ms

// The caps in force for max_total connections in all and max_per_addr from
// one address: the per-address cap is at most half the total (at least 1),
// so that one address, however many connections it opens, leaves room for
// the others (a total lowered to fit the descriptor limit lowers it too).
// Pure.
brk_conns_limits brk_httpcap_fit(size_t max_total, size_t max_per_addr);

typedef struct brk_httpcap brk_httpcap;
typedef struct brk_httpcap_conn brk_httpcap_conn;

// A table under limits (max_total >= 1, max_per_addr >= 1) where each
// request's headers must be complete within timeout_ms of the connection's
// accept or of its previous request. NULL when out of memory. Caller frees
// with brk_httpcap_destroy, which frees the entries still in it.
brk_httpcap *brk_httpcap_new(brk_conns_limits limits, int64_t timeout_ms);
void brk_httpcap_destroy(brk_httpcap **self_p);

// Counts a connection accepted at now_ms, its address not yet known; io is
// the caller's handle to close it and finds it again (brk_httpcap_find).
// The entry belongs to the table until brk_httpcap_close. NULL when out of
// memory (nothing counted).
brk_httpcap_conn *brk_httpcap_open(brk_httpcap *self, void *io, int64_t now_ms);

// The entry opened with io, or NULL.
brk_httpcap_conn *brk_httpcap_find(brk_httpcap *self, const void *io);

// The caller's handle given to brk_httpcap_open.
void *brk_httpcap_io(const brk_httpcap_conn *conn);

// An entry whose address is not known yet (oldest first), or NULL.
brk_httpcap_conn *brk_httpcap_unplaced(brk_httpcap *self);

// Gives conn its source address (text; at most 63 bytes are kept) and
// decides whether it may stay: BRK_CONN_ADMIT, or the cap it is over (the
// caller then closes it; it is counted in all until brk_httpcap_close, and
// never from its address). A connection opened over the total cap is
// refused here too.
brk_conn_verdict brk_httpcap_place(brk_httpcap *self, brk_httpcap_conn *conn, const char *addr);

// conn's request was read whole at now_ms and is being answered: its next
// request (on a kept-alive connection) has until now_ms + timeout_ms.
void brk_httpcap_served(brk_httpcap *self, brk_httpcap_conn *conn, int64_t now_ms);

// conn ended (the caller's connection is freed): uncounts and frees it.
void brk_httpcap_close(brk_httpcap *self, brk_httpcap_conn *conn);

// Connections past their deadline at now_ms: up to cap of their io handles
// into io (the caller closes them), each returned once. Returns how many.
size_t brk_httpcap_expire(brk_httpcap *self, int64_t now_ms, void **io, size_t cap);

// True when the total cap is reached: the caller stops accepting (the
// kernel's backlog holds new connections, at no cost here) until a
// connection closes.
bool brk_httpcap_full(const brk_httpcap *self);

// Records that accepting stopped at the total cap (counted as refused_total).
void brk_httpcap_note_full(brk_httpcap *self);

typedef struct brk_httpcap_counts {
    uint64_t open;          // connections open now
    uint64_t refused_total; // times accepting stopped at the total cap, plus any opened over it
    uint64_t refused_addr;  // connections closed at once at the per-address cap
    uint64_t timed_out;     // connections closed at their request deadline
} brk_httpcap_counts;

brk_httpcap_counts brk_httpcap_count(const brk_httpcap *self);

#endif
