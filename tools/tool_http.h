// referralctl's HTTP client for the broker's monitor API, on libcurl: host
// names, IPv6, and a monitor behind a reverse proxy (https with the
// system's or a given CA, basic authentication, a path prefix).
#ifndef TOOL_HTTP_H
#define TOOL_HTTP_H

#include "rr_status.h"

#include <stddef.h>

#define TOOL_HTTP_MAX_BODY_BYTES ((size_t) 8 * 1024 * 1024)

typedef struct tool_http_options {
    const char *base;   // "HOST:PORT", "[IPv6]:PORT", or a URL ("https://ops.example/referral")
    const char *user;   // "USER:PASSWORD" for basic authentication; NULL or "" for none
    const char *cacert; // a PEM file of CAs to verify https with; NULL or "": the system's
    long timeout_ms;    // for the whole exchange
} tool_http_options;

// Writes the URL of path (which starts with "/") under o->base into url.
// RR_EINVAL with why filled when base is malformed (e.g. an IPv6 address
// without brackets).
RR_NODISCARD rr_status tool_http_url(const tool_http_options *o, const char *path, char *url,
                                     size_t cap, char *why, size_t why_cap);

// GETs path under o->base. RR_OK when a server answered: *status is its HTTP
// status and *body its body, NUL-terminated (caller frees). Otherwise why
// holds a sentence naming the URL and the cause (refused connection, name
// not found, TLS verification, timeout, an answer over
// TOOL_HTTP_MAX_BODY_BYTES): RR_EINVAL for a malformed base, RR_ETIMEDOUT,
// RR_ETOOBIG, RR_EIO for the rest.
RR_NODISCARD rr_status tool_http_get(const tool_http_options *o, const char *path, long *status,
                                     char **body, char *why, size_t why_cap);

#endif
