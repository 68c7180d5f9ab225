// The monitor's connection caps and request deadlines (issue 16), the I/O
// around brk_httpcap's table. libevent 2.1 has no cap on evhttp's
// connections and no public way to hand it an accepted descriptor (read in
// 2.1.12's http.c and listener.c). What it does offer: evhttp_set_bevcb,
// called as each connection is accepted, to make its bufferevent (we make
// the plain socket one evhttp would make); the bufferevent's callback
// argument, which evhttp sets to the connection (bufferevent_getcb); and a
// close callback per connection, which evhttp_connection_free calls for
// every server connection it frees, before it closes the descriptor.
//
// At the total cap the listener is disabled: new connections wait in the
// kernel's backlog (or are refused by it), costing no descriptor and no
// CPU here, and it is enabled again when one closes. evhttp sets the
// descriptor and the callback argument just after our callback returns, so
// an event activated there does the rest: it reads the source address,
// sets the close callback and shuts down a connection over its address's
// cap (evhttp then reads EOF and frees it). Until then a reference of ours
// keeps the bufferevent alive: evhttp may free a connection it could not
// set up before that event runs (its callbacks are then NULL). A sweep
// shuts down connections whose request is not whole in time: evhttp's own
// timeout restarts at every byte, which a client sending one byte every
// few seconds defeats.
#define RR_LOG_MODULE "http"
#include "brk_http_impl.h"

#include "brk_httpcap.h"
#include "rr_clock.h"
#include "rr_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define SWEEP_MS     250 // how often deadlines are checked: their precision
#define EXPIRE_BATCH 64  // connections closed per step of a sweep
#define ADDR_MAX     64

// One monitor per process (brk_http.c): the close callback's argument is
// the entry.
static brk_http *owner;

void
brk_http_conns_listen(brk_http *self)
{
    if (self->listener == NULL) {
        return; // being freed
    }
    bool want = !self->accept_paused && !brk_httpcap_full(self->caps);
    if (want == self->listening) {
        return;
    }
    if ((want ? evconnlistener_enable(self->listener) : evconnlistener_disable(self->listener)) !=
        0) {
        rr_log_error("could not %s the HTTP listener", want ? "resume" : "pause");
        return;
    }
    self->listening = want;
}

// evhttp is freeing the connection (its descriptor is still open).
static void
on_closed(struct evhttp_connection *evcon, void *arg)
{
    (void) evcon;
    brk_http *self = owner;
    brk_httpcap_close(self->caps, arg);
    brk_http_conns_listen(self);
}

static void
shut(struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    // shutdown, not close: the descriptor stays evhttp's to close, and it
    // sees the end at its next read or write.
    if (fd >= 0 && shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) {
        rr_log_debug("shutdown of an HTTP connection failed: %s", strerror(errno));
    }
}

static struct bufferevent *
on_new_connection(struct event_base *base, void *arg)
{
    brk_http *self = arg;
    // evhttp's own choice of options: it closes the descriptor itself.
    struct bufferevent *sock = bufferevent_socket_new(base, -1, 0);
    brk_httpcap_conn *conn = sock ? brk_httpcap_open(self->caps, sock, rr_clock_mono_ms()) : NULL;
    if (conn == NULL) {
        // Out of memory: evhttp makes a bufferevent of its own, which this
        // table never sees (nor counts).
        if (sock != NULL) {
            bufferevent_free(sock);
        }
        return NULL;
    }
    bufferevent_incref(sock); // until on_place
    if (brk_httpcap_full(self->caps)) {
        brk_httpcap_note_full(self->caps);
        brk_http_conns_listen(self); // the accept loop stops at once
        if (brk_http_noisy_ok()) {
            rr_log_warn("the HTTP monitor has %llu connections, its cap "
                        "(--monitor-max-connections): new ones wait until one closes",
                        (unsigned long long) brk_httpcap_count(self->caps).open);
        }
    }
    event_active(self->place, 0, 0);
    return sock;
}

// The peer's address as text ("?" when it cannot be read: the connection
// is gone already, and evhttp frees it).
static void
peer_address(evutil_socket_t fd, char out[ADDR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memcpy(out, "?", 2);
    if (fd < 0 || getpeername(fd, (struct sockaddr *) &ss, &len) != 0) {
        return;
    }
    if (ss.ss_family == AF_INET) {
        (void) inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, out, ADDR_MAX);
    } else if (ss.ss_family == AF_INET6) {
        (void) inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, out, ADDR_MAX);
    }
}

static void
on_place(evutil_socket_t unused, short what, void *arg)
{
    (void) unused;
    (void) what;
    brk_http *self = arg;
    brk_httpcap_conn *conn;
    while ((conn = brk_httpcap_unplaced(self->caps)) != NULL) {
        struct bufferevent *sock = brk_httpcap_io(conn);
        bufferevent_event_cb eventcb = NULL;
        void *evcon = NULL;
        bufferevent_getcb(sock, NULL, NULL, &eventcb, &evcon);
        if (eventcb == NULL || evcon == NULL) {
            // evhttp freed it already (bufferevent_free clears the
            // callbacks): ours was the last reference.
            brk_httpcap_close(self->caps, conn);
            (void) bufferevent_decref(sock);
            brk_http_conns_listen(self);
            continue;
        }
        evhttp_connection_set_closecb(evcon, on_closed, conn);
        char addr[ADDR_MAX];
        peer_address(bufferevent_getfd(sock), addr);
        brk_conn_verdict v = brk_httpcap_place(self->caps, conn, addr);
        if (v != BRK_CONN_ADMIT) {
            shut(sock);
            if (brk_http_noisy_ok()) {
                rr_log_warn("HTTP monitor connection from %s refused: %s (%llu open, at most %zu, "
                            "%zu per address)",
                            addr,
                            v == BRK_CONN_OVER_TOTAL ? "too many connections"
                                                     : "too many connections from this address",
                            (unsigned long long) brk_httpcap_count(self->caps).open,
                            self->limits.max_total, self->limits.max_per_addr);
            }
        }
        (void) bufferevent_decref(sock); // evhttp holds its own
    }
}

static void
on_sweep(evutil_socket_t unused, short what, void *arg)
{
    (void) unused;
    (void) what;
    brk_http *self = arg;
    int64_t now = rr_clock_mono_ms();
    void *io[EXPIRE_BATCH];
    size_t n, total = 0;
    // Bounded: each connection is returned once.
    while ((n = brk_httpcap_expire(self->caps, now, io, EXPIRE_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++) {
            shut(io[i]);
        }
        total += n;
    }
    if (total > 0 && brk_http_noisy_ok()) {
        rr_log_warn("closed %zu HTTP monitor connections that had not sent a whole request "
                    "within %lld ms (--monitor-request-timeout-ms)",
                    total, (long long) self->request_timeout_ms);
    }
}

bool
brk_http_conns_start(brk_http *self, const brk_http_caps *caps)
{
    self->limits = brk_httpcap_fit(caps->max_connections, caps->max_per_address);
    self->request_timeout_ms = caps->request_timeout_ms;
    self->caps = brk_httpcap_new(self->limits, self->request_timeout_ms);
    self->place = event_new(self->base, -1, 0, on_place, self);
    self->sweep = event_new(self->base, -1, EV_PERSIST, on_sweep, self);
    struct timeval every = {0, SWEEP_MS * 1000L};
    if (self->caps == NULL || self->place == NULL || self->sweep == NULL ||
        event_add(self->sweep, &every) != 0) {
        return false;
    }
    owner = self;
    self->listening = true; // evhttp's listener starts enabled
    evhttp_set_bevcb(self->http, on_new_connection, self);
    return true;
}

void
brk_http_conns_served(brk_http *self, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *sock = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    brk_httpcap_conn *conn = sock ? brk_httpcap_find(self->caps, sock) : NULL;
    if (conn != NULL) {
        brk_httpcap_served(self->caps, conn, rr_clock_mono_ms());
    }
}

brk_httpcap_counts
brk_http_conns_count(const brk_http *self)
{
    return brk_httpcap_count(self->caps);
}

void
brk_http_conns_stop(brk_http *self)
{
    // evhttp_free frees the listener, then each connection (calling
    // on_closed): they must not touch it. Connections not placed yet hold
    // a reference of ours: placed now, they drop it.
    self->listener = NULL;
    if (self->caps != NULL) {
        on_place(-1, 0, self);
    }
    if (self->place != NULL) {
        event_free(self->place);
        self->place = NULL;
    }
    if (self->sweep != NULL) {
        event_free(self->sweep);
        self->sweep = NULL;
    }
}

void
brk_http_conns_free(brk_http *self)
{
    brk_httpcap_destroy(&self->caps);
    if (owner == self) {
        owner = NULL;
    }
}
