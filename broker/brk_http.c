// evhttp setup after libevent's sample/http-server.c: one handler per path,
// each request answered exactly once.
#define RR_LOG_MODULE "http"
#include "brk_http.h"

#include "brk_render.h"
#include "dashboard_html.h"
#include "rr_log.h"

#include <dirent.h>
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
    struct event *stop;     // activated by destroy: breaks the loop from its own thread
    brk_board *board;       // borrowed
    brk_snapshot *snap;     // owned scratch copy for the HTTP thread
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
    fclose(f);
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
on_json(struct evhttp_request *req, brk_http *self, char *(*render)(const brk_snapshot *, size_t *))
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
                n = snprintf(body + len, sizeof body - len, " no %s worker;",
                             rr_domain_name(d));
                len += n > 0 ? (size_t) n : 0;
            }
        }
        if (self->snap->draining && len < sizeof body - 32) {
            n = snprintf(body + len, sizeof body - len, " stopping;");
            len += n > 0 ? (size_t) n : 0;
        }
        body[len++] = '\n';
    }
    reply_text(req, ready ? HTTP_OK : 503, ready ? "OK" : "Service Unavailable", "text/plain",
               body, len);
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
    const char body[] = "not found: try /metrics, /healthz, /readyz, /api/v1/queues, "
                        "/api/v1/workers\n";
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

brk_http *
brk_http_new(const char *address, brk_board *board)
{
    static bool threads_ready = false;
    if (!threads_ready) {
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
    const char *colon = strrchr(address, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (colon == NULL || colon == address || (size_t) (colon - address) >= sizeof host ||
        port < 0 || port > 65535) {
        rr_log_error("invalid HTTP address \"%s\": expected HOST:PORT", address);
        goto fail;
    }
    memcpy(host, address, (size_t) (colon - address));
    host[colon - address] = '\0';
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
        evhttp_set_cb(self->http, "/api/v1/workers", on_workers, self) != 0) {
        rr_log_error("could not register HTTP handlers");
        goto fail;
    }
    evhttp_set_gencb(self->http, on_other, self);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(self->http, host,
                                                                      (ev_uint16_t) port);
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
    rr_log_info("HTTP monitor on http://%s:%d/", host, self->port);
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
