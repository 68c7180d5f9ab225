// The monitor's defences (brk_httpguard.h): Host names, headers, accept pauses.
#include "brk_httpguard.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

typedef enum host_kind {
    HOST_BAD,
    HOST_ADDRESS, // an IPv4 or IPv6 address
    HOST_NAME,
} host_kind;

// "" or ":PORT" with PORT 0..65535.
static bool
port_ok(const char *p)
{
    if (*p == '\0') {
        return true;
    }
    if (*p++ != ':' || *p == '\0') {
        return false;
    }
    long v = 0;
    for (int i = 0; p[i] != '\0'; i++) {
        if (i == 5 || p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v <= 65535;
}

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

// Reads "NAME[:PORT]", "IPv4[:PORT]", "[IPv6][:PORT]" (and a bare IPv6,
// as an operator may write one); a name goes into name, lower case,
// without a final dot ("localhost." is localhost).
static host_kind
parse_host(const char *value, char name[BRK_HOST_NAME_BYTES + 1])
{
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        size_t n = close ? (size_t) (close - value - 1) : 0;
        if (n == 0 || n >= sizeof addr) {
            return HOST_BAD;
        }
        memcpy(addr, value + 1, n);
        addr[n] = '\0';
        return inet_pton(AF_INET6, addr, &a6) == 1 && port_ok(close + 1) ? HOST_ADDRESS : HOST_BAD;
    }
    const char *colon = strchr(value, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
        return inet_pton(AF_INET6, value, &a6) == 1 ? HOST_ADDRESS : HOST_BAD;
    }
    size_t n = colon ? (size_t) (colon - value) : strlen(value);
    if (colon != NULL && !port_ok(colon)) {
        return HOST_BAD;
    }
    if (n > 1 && value[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n > BRK_HOST_NAME_BYTES || value[0] == '.' || value[0] == '-') {
        return HOST_BAD;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(value[i]) || (value[i] == '.' && i + 1 < n && value[i + 1] == '.')) {
            return HOST_BAD; // a DNS label is never empty
        }
        char c = value[i];
        name[i] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
    }
    name[n] = '\0';
    struct in_addr a4;
    return inet_pton(AF_INET, name, &a4) == 1 ? HOST_ADDRESS : HOST_NAME;
}

static bool
listed(const brk_hosts *hosts, const char *name)
{
    for (size_t i = 0; i < hosts->n; i++) {
        if (strcmp(hosts->name[i], name) == 0) {
            return true;
        }
    }
    return false;
}

// Adds value when it is a name; addresses need no entry.
static rr_status
add(brk_hosts *hosts, const char *value, char *why, size_t cap)
{
    char name[BRK_HOST_NAME_BYTES + 1];
    switch (parse_host(value, name)) {
    case HOST_ADDRESS:
        return RR_OK;
    case HOST_NAME:
        if (listed(hosts, name)) {
            return RR_OK;
        }
        if (hosts->n == BRK_HOSTS_MAX) {
            (void) snprintf(why, cap, "too many monitor host names: at most %d, localhost included",
                            BRK_HOSTS_MAX);
            return RR_EINVAL;
        }
        memcpy(hosts->name[hosts->n++], name, strlen(name) + 1);
        return RR_OK;
    case HOST_BAD:
        break;
    }
    (void) snprintf(why, cap,
                    "invalid monitor host name \"%s\": expected a name such as "
                    "\"ops.example.org\" or an address",
                    value);
    return RR_EINVAL;
}

rr_status
brk_hosts_init(brk_hosts *hosts, const char *bind_host, const char *extra, char *why, size_t cap)
{
    assert(hosts != NULL && bind_host != NULL);
    hosts->n = 0;
    rr_status st = add(hosts, "localhost", why, cap);
    // A wildcard or empty bind address names no host: nothing to add.
    if (st == RR_OK && bind_host[0] != '\0') {
        st = add(hosts, bind_host, why, cap);
    }
    const char *p = extra ? extra : "";
    while (st == RR_OK && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t) (comma - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }
        char one[BRK_HOST_NAME_BYTES + 16];
        if (n >= sizeof one) {
            (void) snprintf(why, cap, "invalid monitor host name \"%.40s…\": too long", p);
            return RR_EINVAL;
        }
        memcpy(one, p, n);
        one[n] = '\0';
        if (n > 0) {
            st = add(hosts, one, why, cap);
        }
        p = comma ? comma + 1 : p + strlen(p);
    }
    return st;
}

brk_host_verdict
brk_hosts_check(const brk_hosts *hosts, const char *value, int count, bool http11)
{
    if (count > 1) {
        return BRK_HOST_MISSING; // which one would the browser have meant?
    }
    if (value == NULL) {
        return http11 ? BRK_HOST_MISSING : BRK_HOST_OK;
    }
    char name[BRK_HOST_NAME_BYTES + 1];
    switch (parse_host(value, name)) {
    case HOST_ADDRESS:
        return BRK_HOST_OK;
    case HOST_NAME:
        return listed(hosts, name) ? BRK_HOST_OK : BRK_HOST_UNKNOWN;
    case HOST_BAD:
        break;
    }
    return BRK_HOST_MALFORMED;
}

// The page loads dashboard.js and dashboard.css from the monitor and polls
// its API; nothing is inline, so no 'unsafe-inline' is needed.
static const brk_header PAGE_HEADERS[] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    {"Cache-Control", "no-store"},
};

static const brk_header OTHER_HEADERS[] = {
    {"Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    {"Cache-Control", "no-store"},
};

const brk_header *
brk_httpguard_headers(bool html, size_t *n)
{
    *n = html ? sizeof PAGE_HEADERS / sizeof PAGE_HEADERS[0]
              : sizeof OTHER_HEADERS / sizeof OTHER_HEADERS[0];
    return html ? PAGE_HEADERS : OTHER_HEADERS;
}

int
brk_httpguard_accept_pause_ms(int err)
{
    switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        // Closing connections free descriptors at once, and each resumption
        // accepts only as many as are free: a flood drains in steps, so the
        // steps are short. Ten failing accept() calls a second cost nothing.
        return 100;
    default:
        return 1000; // an error of unknown cause may well last
    }
}

bool
brk_accept_log_failed(brk_accept_log *self, int64_t now_ms, uint64_t *failures)
{
    self->total++;
    self->unlogged++;
    if (self->failing && now_ms - self->logged_ms < BRK_ACCEPT_LOG_EVERY_MS) {
        return false;
    }
    self->failing = true;
    self->logged_ms = now_ms;
    *failures = self->unlogged;
    self->unlogged = 0;
    return true;
}

bool
brk_accept_log_served(brk_accept_log *self, uint64_t *failures)
{
    if (!self->failing) {
        return false;
    }
    *failures = self->total;
    *self = (brk_accept_log){0};
    return true;
}
