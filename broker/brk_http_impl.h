// The HTTP monitor's inside, shared by its files: brk_http.c (the server:
// thread, listener, the Host check, logging), brk_http_conns.c (connection
// caps and request deadlines) and brk_http_api.c (the pages). Not part of
// the broker's interface.
#ifndef BRK_HTTP_IMPL_H
#define BRK_HTTP_IMPL_H

#include "brk_http.h"
#include "brk_httpcap.h"
#include "brk_httpguard.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct brk_http {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener; // evhttp's, borrowed
    struct event *stop;              // activated by destroy: breaks the loop from its own thread
    struct event *resume;            // re-enables the listener after an accept failure
    struct event *tick;              // once a second: the log limiter's summary
    struct event *place;             // activated per accept: new connections' addresses
    struct event *sweep;             // every 250 ms: request deadlines
    brk_httpcap *caps;               // owned: the connections and their deadlines
    brk_conns_limits limits;         // the caps in force (brk_httpcap_fit)
    int64_t request_timeout_ms;
    bool listening;     // the listener is enabled
    bool accept_paused; // after an accept() failure, until resume
    brk_board *board;   // borrowed
    brk_snapshot *snap; // owned scratch copy for the HTTP thread
    brk_hosts hosts;    // the Host names answered
    brk_accept_log accept_log;
    pthread_t thread;
    bool running;
    int port;
    double start_time_s;
};

// Connection caps (brk_http_conns.c). start: the table, the bufferevent
// callback and the sweep (false when out of memory); listen: enables or
// disables the listener as the caps and accept pauses want; served: req
// was read whole (its connection's deadline moves on); stop: before
// evhttp_free (which calls each connection's close callback); free: last.
bool brk_http_conns_start(brk_http *self, const brk_http_caps *caps);
void brk_http_conns_listen(brk_http *self);
void brk_http_conns_served(brk_http *self, struct evhttp_request *req);
brk_httpcap_counts brk_http_conns_count(const brk_http *self);
void brk_http_conns_stop(brk_http *self);
void brk_http_conns_free(brk_http *self);

// The limiter on lines clients can cause (brk_http.c): true when one may be
// written now. Thread-safe.
bool brk_http_noisy_ok(void);

typedef struct brk_http_route {
    const char *path;
    void (*handler)(struct evhttp_request *req, void *self); // self: the brk_http
} brk_http_route;

// The page for path (a URI's path, no query), or NULL: 404.
const brk_http_route *brk_http_route_find(const char *path);

// Answers req with body (len bytes) of MIME type, and the headers of
// brk_httpguard_headers (a text/html type gets the page's policy); out of
// memory, libevent's plain 500.
void brk_http_reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
                         const char *body, size_t len);

// brk_http_reply_text with a text/plain body (a NUL-terminated string).
void brk_http_reply_plain(struct evhttp_request *req, int code, const char *reason,
                          const char *body);

#endif
