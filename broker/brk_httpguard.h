// The HTTP monitor's defences against hostile browsers and clients, as pure
// decisions: which Host names it answers (DNS rebinding), the headers every
// answer carries, and how long to stop accepting after accept() fails.
#ifndef BRK_HTTPGUARD_H
#define BRK_HTTPGUARD_H

#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRK_HOSTS_MAX       16  // names in an allow list, localhost's included
#define BRK_HOST_NAME_BYTES 253 // a DNS name's longest text form

typedef struct brk_hosts {
    size_t n;
    char name[BRK_HOSTS_MAX][BRK_HOST_NAME_BYTES + 1]; // lower case, no port, no final dot
} brk_hosts;

// Fills hosts with the names the monitor answers to: "localhost", the name
// it was bound to (bind_host, when a name rather than an address), then
// each name of extra (comma-separated, from --monitor-host; NULL or "" for
// none). IP addresses need no entry: every one is answered (a DNS
// rebinding attack needs a name). RR_EINVAL with why (cap bytes) when a
// name of extra is not a host name, or there are more than BRK_HOSTS_MAX.
RR_NODISCARD rr_status brk_hosts_init(brk_hosts *hosts, const char *bind_host, const char *extra,
                                      char *why, size_t cap);

typedef enum brk_host_verdict {
    BRK_HOST_OK,        // answer it
    BRK_HOST_MISSING,   // HTTP/1.1 without Host, or several Host headers: 400
    BRK_HOST_MALFORMED, // not NAME[:PORT], IPv4[:PORT] or [IPv6][:PORT]: 400
    BRK_HOST_UNKNOWN,   // a name not in the list (a rebound name, a typo): 421
} brk_host_verdict;

// Judges a request's Host header: value is the header (NULL when absent),
// count how many Host headers the request had, http11 whether it is
// HTTP/1.1 (HTTP/1.0 may omit Host). The port is not compared: a browser
// only sends this request to the port it names.
brk_host_verdict brk_hosts_check(const brk_hosts *hosts, const char *value, int count, bool http11);

typedef struct brk_header {
    const char *name;
    const char *value;
} brk_header;

// The headers every answer of the monitor carries (*n of them): the
// dashboard's page (html) may load its own script, style sheet and API
// and nothing else; other answers may load nothing. Neither may be framed,
// sniffed into another type, or sent a Referer.
const brk_header *brk_httpguard_headers(bool html, size_t *n);

// When accept() keeps failing, what is logged: the first failure of a run,
// then one line a minute with the count, and one line once a request is
// served again. Not thread-safe (the monitor's thread owns it).
#define BRK_ACCEPT_LOG_EVERY_MS 60000

typedef struct brk_accept_log {
    bool failing;      // a run of failures has not ended (no request served since)
    int64_t logged_ms; // when the last line about it was written (monotonic)
    uint64_t unlogged; // failures since that line
    uint64_t total;    // failures in this run
} brk_accept_log;

// Records one failed accept at now_ms. True when a line should be written
// now; *failures is then how many failures it reports (the first: 1).
bool brk_accept_log_failed(brk_accept_log *self, int64_t now_ms, uint64_t *failures);

// Records a request served. True once after a run of failures (the
// "accepting again" line), with *failures the run's total.
bool brk_accept_log_served(brk_accept_log *self, uint64_t *failures);

// How long to stop accepting connections after accept() failed with err
// (an errno value), in ms: 100 when out of descriptors or memory (closing
// connections free them), 1000 for anything else; never 0, so that no
// failure can make the listener spin.
int brk_httpguard_accept_pause_ms(int err);

#endif
