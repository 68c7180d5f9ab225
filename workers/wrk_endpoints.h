// The worker's --broker list: one or more broker endpoints separated by
// commas, each served by its own session (pure: no I/O).
#ifndef WRK_ENDPOINTS_H
#define WRK_ENDPOINTS_H

#include "rr_status.h"
#include "rr_wire.h"

#include <stddef.h>

// The heartbeats report the list (WorkerStats.brokers_*): the wire's limits.
#define WRK_MAX_BROKERS        RR_WIRE_MAX_BROKERS
#define WRK_MAX_ENDPOINT_BYTES RR_WIRE_MAX_ENDPOINT_BYTES

typedef struct wrk_endpoints {
    size_t count;
    char list[WRK_MAX_BROKERS][WRK_MAX_ENDPOINT_BYTES + 1];
} wrk_endpoints;

// Splits text ("tcp://a:5556,tcp://b:5556") into out, spaces around each
// endpoint trimmed. RR_EINVAL, with the reason in why (cap bytes) and out
// untouched, for an empty list or entry, an endpoint longer than
// WRK_MAX_ENDPOINT_BYTES or with a byte that is not printable ASCII (the
// brokers would refuse the heartbeats that name it), more than
// WRK_MAX_BROKERS endpoints or one named twice (two sessions with one
// broker would count as two workers there).
RR_NODISCARD rr_status wrk_endpoints_parse(const char *text, wrk_endpoints *out, char *why,
                                           size_t cap);

#endif
