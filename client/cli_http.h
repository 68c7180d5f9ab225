// A minimal blocking HTTP/1.0 GET for operator tools and tests that read the
// broker's monitor on loopback. Not a general HTTP client.
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>

// GETs path from host:port (IPv4 literal or "localhost") with a timeout.
// On RR_OK *status is the HTTP status and body holds up to cap - 1 bytes of
// the body, NUL-terminated. RR_EIO when the connection fails, RR_ETIMEDOUT
// on timeout, RR_EPROTO for an answer that is not HTTP, RR_ETOOBIG when the
// body does not fit.
RR_NODISCARD rr_status cli_http_get(const char *host, int port, const char *path, long timeout_ms,
                                    int *status, char *body, size_t cap);

// Splits "HOST:PORT" into host (cap bytes) and *port; false when malformed.
bool cli_http_split(const char *address, char *host, size_t cap, int *port);

#endif
