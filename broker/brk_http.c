// The monitor's server (brk_http.h), evhttp set up after libevent's
// sample/http-server.c: its thread, its listener and what pauses it, the
// Host check before any page, and libevent's messages through a limiter.
#define RR_LOG_MODULE "http"
#include "brk_http_impl.h"

#include "brk_httpguard.h"
#include "brk_noisy.h"
#include "rr_clock.h"
#include "rr_log.h"

#include <assert.h>
#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

// One monitor per process: libevent's log callback is global, and a
// listener's error callback is handed evhttp's pointer, not ours.
static brk_http *the_monitor;

// Lines a client can cause at will (libevent's complaints about sockets,
// refused Host names) pass through one limiter; libevent may log from any
// thread, so it has a lock.
static pthread_mutex_t noisy_lock = PTHREAD_MUTEX_INITIALIZER;
static brk_noisy noisy;
static bool noisy_ready;

bool
brk_http_noisy_ok(void)
{
    pthread_mutex_lock(&noisy_lock);
    if (!noisy_ready) {
        brk_noisy_init(&noisy, 10, "HTTP monitor (libevent, refused hosts and connections)");
        noisy_ready = true;
    }
    bool ok = brk_noisy_ok(&noisy, rr_clock_mono_ms());
    pthread_mutex_unlock(&noisy_lock);
    return ok;
}

// The Host a request names: its Host headers (how many, the first), and
// the host of an absolute URI ("GET http://name/ HTTP/1.1"), which wins.
static brk_host_verdict
judge_host(const brk_http *self, struct evhttp_request *req, const char **shown)
{
    int count = 0;
    const char *value = NULL;
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
    {
        if (evutil_ascii_strcasecmp(h->key, "Host") == 0 && count++ == 0) {
            value = h->value;
        }
    }
    const char *uri_host = evhttp_uri_get_host(evhttp_request_get_evhttp_uri(req));
    if (uri_host != NULL && uri_host[0] != '\0') {
        value = uri_host;
        count = 1;
    }
    *shown = value;
    return brk_hosts_check(&self->hosts, value, count, req->major == 1 && req->minor >= 1);
}

// Every request: the Host it names first (a DNS-rebinding page names its
// own), then its path. Each request gets exactly one reply.
static void
on_request(struct evhttp_request *req, void *arg)
{
    brk_http *self = arg;
    brk_http_conns_served(self, req);
    const char *host = NULL;
    brk_host_verdict verdict = judge_host(self, req, &host);
    if (verdict == BRK_HOST_UNKNOWN) {
        if (brk_http_noisy_ok()) {
            // Only name characters get this far: safe to quote.
            rr_log_warn("refused an HTTP request for host \"%s\": not a name of this monitor "
                        "(add it with --monitor-host)",
                        host);
        }
        brk_http_reply_plain(
            req, 421, "Misdirected Request",
            "this monitor does not answer to that host name (see --monitor-host)\n");
        return;
    }
    if (verdict != BRK_HOST_OK) {
        brk_http_reply_plain(req, HTTP_BADREQUEST, "Bad Request",
                             verdict == BRK_HOST_MISSING ? "one Host header is required\n"
                                                         : "the Host header is not HOST[:PORT]\n");
        return;
    }
    uint64_t failures = 0;
    if (brk_accept_log_served(&self->accept_log, &failures)) {
        rr_log_warn("accepting HTTP monitor connections again, after %llu failed accepts",
                    (unsigned long long) failures);
    }
    const brk_http_route *route =
        brk_http_route_find(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)));
    if (route != NULL) {
        route->handler(req, self);
        return;
    }
    brk_http_reply_plain(req, HTTP_NOTFOUND, "Not Found",
                         "not found: try /, /metrics, /healthz, /readyz, /api/v1/queues, "
                         "/api/v1/workers, /api/v1/history\n");
}

// accept() failed (libevent calls this instead of logging, and would call
// it again at once): out of descriptors, the pending connection stays in
// the backlog and the listener stays readable, so stop listening for a
// while rather than spin. arg is evhttp's, not ours.
static void
on_accept_error(struct evconnlistener *listener, void *arg)
{
    (void) arg;
    int err = EVUTIL_SOCKET_ERROR();
    brk_http *self = the_monitor;
    assert(self != NULL && self->listener == listener);
    int pause_ms = brk_httpguard_accept_pause_ms(err);
    self->accept_paused = true;
    brk_http_conns_listen(self);
    struct timeval tv = {pause_ms / 1000, (long) (pause_ms % 1000) * 1000L};
    if (event_add(self->resume, &tv) != 0) {
        rr_log_error("could not schedule the HTTP listener's resumption");
    }
    uint64_t failures = 0;
    if (brk_accept_log_failed(&self->accept_log, rr_clock_mono_ms(), &failures)) {
        rr_log_warn("cannot accept HTTP monitor connections: %s; pausing %d ms at a time (%llu "
                    "failed accepts since the last such line)",
                    evutil_socket_error_to_string(err), pause_ms, (unsigned long long) failures);
    }
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    brk_http *self = arg;
    self->accept_paused = false;
    brk_http_conns_listen(self); // unless the connection cap holds it
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
    pthread_mutex_lock(&noisy_lock);
    if (noisy_ready) {
        brk_noisy_flush(&noisy, rr_clock_mono_ms());
    }
    pthread_mutex_unlock(&noisy_lock);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    brk_http *self = arg;
    event_base_loopbreak(self->base);
}

static void *
run(void *arg)
{
    brk_http *self = arg;
    if (event_base_dispatch(self->base) < 0) {
        rr_log_error("the HTTP event loop failed");
    }
    return NULL;
}

// HOST:PORT or [IPv6]:PORT into host (brackets dropped) and port.
static bool
split_address(const char *address, char *host, size_t cap, long *port)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address) {
        return false;
    }
    const char *h = address;
    size_t hlen = (size_t) (colon - address);
    if (address[0] == '[') {
        if (hlen < 3 || address[hlen - 1] != ']') {
            return false;
        }
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (hlen >= cap || end == colon + 1 || *end != '\0' || errno != 0 || *port < 0 ||
        *port > 65535) {
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return true;
}

// libevent's own messages (bad requests, socket errors) go through our
// logger, so a JSON log stays one object per line, and through the
// limiter, since a client can cause them at will.
static void
on_libevent_log(int severity, const char *msg)
{
    if (severity != EVENT_LOG_DEBUG && !brk_http_noisy_ok()) {
        return;
    }
    switch (severity) {
    case EVENT_LOG_ERR:
        rr_log_error("libevent: %s", msg);
        break;
    case EVENT_LOG_WARN:
        rr_log_warn("libevent: %s", msg);
        break;
    case EVENT_LOG_MSG:
        rr_log_info("libevent: %s", msg);
        break;
    default:
        rr_log_debug("libevent: %s", msg);
        break;
    }
}

brk_http *
brk_http_new(const char *address, const char *hosts, brk_board *board, const brk_http_caps *caps)
{
    if (the_monitor != NULL) {
        rr_log_error("cannot start a second HTTP monitor in one process");
        return NULL;
    }
    static bool threads_ready = false;
    if (!threads_ready) {
        event_set_log_callback(on_libevent_log);
        if (evthread_use_pthreads() != 0) {
            rr_log_error("libevent cannot use pthreads");
            return NULL;
        }
        threads_ready = true;
    }
    brk_http *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return NULL;
    }
    self->board = board;
    self->start_time_s = (double) time(NULL);
    char host[128];
    long port = -1;
    if (!split_address(address, host, sizeof host, &port)) {
        rr_log_error("invalid HTTP address \"%s\": expected HOST:PORT or [IPv6]:PORT", address);
        goto fail;
    }
    char why[300];
    if (brk_hosts_init(&self->hosts, host, hosts, why, sizeof why) != RR_OK) {
        rr_log_error("%s", why);
        goto fail;
    }
    self->snap = calloc(1, sizeof *self->snap);
    self->base = event_base_new();
    self->http = self->base ? evhttp_new(self->base) : NULL;
    // An activated event runs even if the loop starts after the activation,
    // unlike event_base_loopbreak, which a starting loop forgets.
    self->stop = self->base ? event_new(self->base, -1, 0, on_stop, self) : NULL;
    self->resume = self->base ? evtimer_new(self->base, on_resume, self) : NULL;
    self->tick = self->base ? event_new(self->base, -1, EV_PERSIST, on_tick, self) : NULL;
    struct timeval second = {1, 0};
    if (self->snap == NULL || self->http == NULL || self->stop == NULL || self->resume == NULL ||
        self->tick == NULL || event_add(self->tick, &second) != 0) {
        rr_log_error("could not set up the HTTP monitor");
        goto fail;
    }
    evhttp_set_max_body_size(self->http, 1024);
    evhttp_set_max_headers_size(self->http, 8192);
    evhttp_set_allowed_methods(self->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(self->http, 10);
    evhttp_set_gencb(self->http, on_request, self); // one entry: the Host check first
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(self->http, host, (ev_uint16_t) port);
    if (sock == NULL) {
        rr_log_error("cannot bind HTTP monitor to \"%s\"", address);
        goto fail;
    }
    self->listener = evhttp_bound_socket_get_listener(sock);
    evconnlistener_set_error_cb(self->listener, on_accept_error);
    the_monitor = self;
    if (!brk_http_conns_start(self, caps)) {
        rr_log_error("could not set up the HTTP monitor's connection caps");
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
    if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0) {
        self->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *) &ss)->sin6_port)
                                              : ntohs(((struct sockaddr_in *) &ss)->sin_port);
    }
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        rr_log_error("could not start the HTTP thread");
        goto fail;
    }
    self->running = true;
    rr_log_info("HTTP monitor on http://%s%s%s:%d/ (at most %zu connections, %zu per address; "
                "requests within %ld ms)",
                strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", self->port,
                self->limits.max_total, self->limits.max_per_addr, caps->request_timeout_ms);
    return self;
fail:
    brk_http_destroy(&self);
    return NULL;
}

void
brk_http_destroy(brk_http **self_p)
{
    brk_http *self = *self_p;
    if (self == NULL) {
        return;
    }
    if (self->running) {
        event_active(self->stop, 0, 0); // thread-safe once evthread_use_pthreads ran
        pthread_join(self->thread, NULL);
    }
    if (self->stop != NULL) {
        event_free(self->stop);
    }
    if (self->resume != NULL) {
        event_free(self->resume);
    }
    if (self->tick != NULL) {
        event_free(self->tick);
    }
    if (the_monitor == self) {
        the_monitor = NULL;
    }
    brk_http_conns_stop(self);
    if (self->http != NULL) {
        evhttp_free(self->http);
    }
    if (self->base != NULL) {
        event_base_free(self->base);
    }
    brk_http_conns_free(self);
    free(self->snap);
    free(self);
    *self_p = NULL;
}

int
brk_http_port(const brk_http *self)
{
    return self->port;
}
