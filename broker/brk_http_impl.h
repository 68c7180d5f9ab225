// The HTTP monitor's inside, shared by its two files: brk_http.c (the
// server: thread, listener, the Host check, logging) and brk_http_api.c
// (the pages). Not part of the broker's interface.
#ifndef BRK_HTTP_IMPL_H
#define BRK_HTTP_IMPL_H

#include "brk_http.h"
#include "brk_httpguard.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct brk_http {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener; // evhttp's, borrowed
    struct event *stop;              // activated by destroy: breaks the loop from its own thread
    struct event *resume;            // re-enables the listener after an accept failure
    struct event *tick;              // once a second: the log limiter's summary
    brk_board *board;                // borrowed
    brk_snapshot *snap;              // owned scratch copy for the HTTP thread
    brk_hosts hosts;                 // the Host names answered
    brk_accept_log accept_log;
    pthread_t thread;
    bool running;
    int port;
    double start_time_s;
};

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
