// evhttp setup after libevent's sample/http-server.c: one handler per path,
// each request answered exactly once.
#define RR_LOG_MODULE "http"
#include "brk_http.h"

#include "brk_render.h"
#include "dashboard_html.h"
#include "rr_log.h"

#include <dirent.h>
#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct brk_http {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop; // activated by destroy: breaks the loop from its own thread
    brk_board *board;   // borrowed
    brk_snapshot *snap; // owned scratch copy for the HTTP thread
    pthread_t thread;
    bool running;
    int port;
    double start_time_s;
};

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
           const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    if (buf == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(headers, "Content-Type", type) != 0 ||
        evhttp_add_header(headers, "Cache-Control", "no-store") != 0 ||
        evbuffer_add(buf, body, len) != 0) {
        evbuffer_free(buf);
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

// Reads the latest snapshot, or answers 503 when none was published yet.
static bool
take_snapshot(brk_http *self, struct evhttp_request *req)
{
    if (!brk_board_read(self->board, self->snap)) {
        const char msg[] = "{\"error\":\"the broker has not published its state yet\"}\n";
        reply_text(req, 503, "Service Unavailable", "application/json", msg, sizeof msg - 1);
        return false;
    }
    return true;
}

static double
count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) {
        return 0;
    }
    double n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(dir);
    return n - 1; // the descriptor opendir holds
}

static double
resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    (void) fclose(f); // read only: nothing to lose
    return n == 2 ? (double) resident * (double) sysconf(_SC_PAGESIZE) : 0;
}

static void
on_metrics(struct evhttp_request *req, void *arg)
{
    brk_http *self = arg;
    if (!take_snapshot(self, req)) {
        return;
    }
    brk_process_view proc = {resident_bytes(), count_open_fds(), self->start_time_s};
    size_t len = 0;
    char *text = brk_render_prometheus(self->snap, &proc, &len);
    if (text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    reply_text(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void
on_json(struct evhttp_request *req, brk_http *self,
        char *(*render)(const brk_snapshot *, size_t *) )
{
    if (!take_snapshot(self, req)) {
        return;
    }
    size_t len = 0;
    char *text = render(self->snap, &len);
    if (text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    reply_text(req, HTTP_OK, "OK", "application/json", text, len);
    free(text);
}

static void
on_queues(struct evhttp_request *req, void *arg)
{
    on_json(req, arg, brk_render_queues_json);
}

static void
on_workers(struct evhttp_request *req, void *arg)
{
    on_json(req, arg, brk_render_workers_json);
}

// A non-negative integer query parameter, def when absent; false when present
// but not a number within [0, max].
static bool
query_long(const struct evkeyvalq *query, const char *name, long long def, long long max,
           long long *out)
{
    const char *text = evhttp_find_header(query, name);
    *out = def;
    if (text == NULL) {
        return true;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < 0 || v > max) {
        return false;
    }
    *out = v;
    return true;
}

// /api/v1/history?since_ms=T&points=N: samples newer than T (wall clock, ms),
// merged into at most N points (default 720).
static void
on_history(struct evhttp_request *req, void *arg)
{
    brk_http *self = arg;
    struct evkeyvalq query;
    TAILQ_INIT(&query);
    const char *raw = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    long long since = 0, points = 0;
    if ((raw != NULL && evhttp_parse_query_str(raw, &query) != 0) ||
        !query_long(&query, "since_ms", 0, INT64_MAX, &since) ||
        !query_long(&query, "points", 720, 5000, &points) || points < 1) {
        evhttp_clear_headers(&query);
        const char msg[] = "{\"error\":\"invalid query: since_ms is milliseconds since the epoch "
                           "(>= 0), points a number from 1 to 5000\"}\n";
        reply_text(req, HTTP_BADREQUEST, "Bad Request", "application/json", msg, sizeof msg - 1);
        return;
    }
    evhttp_clear_headers(&query);
    // Room for the whole history, allocated per request: a large block is
    // mapped fresh, and only the pages the copy writes become resident, so
    // the dashboard's usual "what is new" query costs little memory.
    size_t cap = brk_board_history_capacity(self->board);
    brk_sample *samples = malloc(cap * sizeof *samples);
    if (samples == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    long step_ms = 0;
    size_t n = brk_board_history(self->board, (int64_t) since, samples, cap, &step_ms);
    size_t len = 0;
    char *text = brk_render_history_json(samples, n, (size_t) points, step_ms, &len);
    free(samples);
    if (text == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    reply_text(req, HTTP_OK, "OK", "application/json", text, len);
    free(text);
}

static void
on_healthz(struct evhttp_request *req, void *arg)
{
    (void) arg;
    const char body[] = "ok\n";
    reply_text(req, HTTP_OK, "OK", "text/plain", body, sizeof body - 1);
}

static void
on_readyz(struct evhttp_request *req, void *arg)
{
    brk_http *self = arg;
    if (!take_snapshot(self, req)) {
        return;
    }
    char body[256];
    size_t len = 0;
    bool ready = brk_snapshot_ready(self->snap);
    int n = snprintf(body, sizeof body, "%s", ready ? "ready\n" : "not ready:");
    len = n > 0 ? (size_t) n : 0;
    if (!ready) {
        for (int d = 1; d <= RR_DOMAIN_COUNT && len < sizeof body - 64; d++) {
            if (self->snap->queue[d].workers == 0) {
                n = snprintf(body + len, sizeof body - len, " no %s worker;", rr_domain_name(d));
                len += n > 0 ? (size_t) n : 0;
            }
        }
        if (self->snap->draining && len < sizeof body - 32) {
            n = snprintf(body + len, sizeof body - len, " stopping;");
            len += n > 0 ? (size_t) n : 0;
        }
        body[len++] = '\n';
    }
    reply_text(req, ready ? HTTP_OK : 503, ready ? "OK" : "Service Unavailable", "text/plain", body,
               len);
}

static void
on_other(struct evhttp_request *req, void *arg)
{
    (void) arg;
    const char *uri = evhttp_request_get_uri(req);
    if (uri != NULL && (strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0)) {
        reply_text(req, HTTP_OK, "OK", "text/html; charset=utf-8", (const char *) dashboard_html,
                   sizeof dashboard_html);
        return;
    }
    const char body[] = "not found: try /, /metrics, /healthz, /readyz, /api/v1/queues, "
                        "/api/v1/workers, /api/v1/history\n";
    reply_text(req, HTTP_NOTFOUND, "Not Found", "text/plain", body, sizeof body - 1);
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

// libevent's own messages (accept failures, bad requests) go through our
// logger, so a JSON log stays one object per line.
static void
on_libevent_log(int severity, const char *msg)
{
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
brk_http_new(const char *address, brk_board *board)
{
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
    self->snap = calloc(1, sizeof *self->snap);
    self->base = event_base_new();
    self->http = self->base ? evhttp_new(self->base) : NULL;
    // An activated event runs even if the loop starts after the activation,
    // unlike event_base_loopbreak, which a starting loop forgets.
    self->stop = self->base ? event_new(self->base, -1, 0, on_stop, self) : NULL;
    if (self->snap == NULL || self->http == NULL || self->stop == NULL) {
        rr_log_error("could not set up the HTTP monitor");
        goto fail;
    }
    evhttp_set_max_body_size(self->http, 1024);
    evhttp_set_max_headers_size(self->http, 8192);
    evhttp_set_allowed_methods(self->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(self->http, 10);
    if (evhttp_set_cb(self->http, "/metrics", on_metrics, self) != 0 ||
        evhttp_set_cb(self->http, "/healthz", on_healthz, self) != 0 ||
        evhttp_set_cb(self->http, "/readyz", on_readyz, self) != 0 ||
        evhttp_set_cb(self->http, "/api/v1/queues", on_queues, self) != 0 ||
        evhttp_set_cb(self->http, "/api/v1/workers", on_workers, self) != 0 ||
        evhttp_set_cb(self->http, "/api/v1/history", on_history, self) != 0) {
        rr_log_error("could not register HTTP handlers");
        goto fail;
    }
    evhttp_set_gencb(self->http, on_other, self);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(self->http, host, (ev_uint16_t) port);
    if (sock == NULL) {
        rr_log_error("cannot bind HTTP monitor to \"%s\"", address);
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
    rr_log_info("HTTP monitor on http://%s%s%s:%d/", strchr(host, ':') ? "[" : "", host,
                strchr(host, ':') ? "]" : "", self->port);
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
    if (self->http != NULL) {
        evhttp_free(self->http);
    }
    if (self->base != NULL) {
        event_base_free(self->base);
    }
    free(self->snap);
    free(self);
    *self_p = NULL;
}

int
brk_http_port(const brk_http *self)
{
    return self->port;
}
