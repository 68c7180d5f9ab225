// The monitor's pages (brk_http_impl.h): one handler per path, each
// answering its request exactly once, from the latest snapshot.
#include "brk_http_impl.h"

#include "brk_httpguard.h"
#include "brk_render.h"
#include "dashboard_html.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

void
brk_http_reply_text(struct evhttp_request *req, int code, const char *reason, const char *type,
                    const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    size_t n = 0;
    const brk_header *guard = brk_httpguard_headers(strncmp(type, "text/html", 9) == 0, &n);
    bool ok = buf != NULL && evhttp_add_header(headers, "Content-Type", type) == 0 &&
              evbuffer_add(buf, body, len) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = evhttp_add_header(headers, guard[i].name, guard[i].value) == 0;
    }
    if (ok) {
        evhttp_send_reply(req, code, reason, buf);
    } else {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory"); // libevent's page: no data in it
    }
    if (buf != NULL) {
        evbuffer_free(buf);
    }
}

void
brk_http_reply_plain(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    brk_http_reply_text(req, code, reason, "text/plain; charset=utf-8", body, strlen(body));
}

// Reads the latest snapshot, or answers 503 when none was published yet.
static bool
take_snapshot(brk_http *self, struct evhttp_request *req)
{
    if (!brk_board_read(self->board, self->snap)) {
        const char msg[] = "{\"error\":\"the broker has not published its state yet\"}\n";
        brk_http_reply_text(req, 503, "Service Unavailable", "application/json", msg,
                            sizeof msg - 1);
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
    brk_httpcap_counts conns = brk_http_conns_count(self);
    brk_process_view proc = {resident_bytes(),
                             count_open_fds(),
                             self->start_time_s,
                             (double) conns.open,
                             (double) conns.refused_total,
                             (double) conns.refused_addr,
                             (double) conns.timed_out};
    size_t len = 0;
    char *text = brk_render_prometheus(self->snap, &proc, &len);
    if (text == NULL) {
        brk_http_reply_plain(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    brk_http_reply_text(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
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
        brk_http_reply_plain(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    brk_http_reply_text(req, HTTP_OK, "OK", "application/json", text, len);
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
        brk_http_reply_text(req, HTTP_BADREQUEST, "Bad Request", "application/json", msg,
                            sizeof msg - 1);
        return;
    }
    evhttp_clear_headers(&query);
    // Room for the whole history, allocated per request: a large block is
    // mapped fresh, and only the pages the copy writes become resident, so
    // the dashboard's usual "what is new" query costs little memory.
    size_t cap = brk_board_history_capacity(self->board);
    brk_sample *samples = malloc(cap * sizeof *samples);
    if (samples == NULL) {
        brk_http_reply_plain(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    long step_ms = 0;
    size_t n = brk_board_history(self->board, (int64_t) since, samples, cap, &step_ms);
    size_t len = 0;
    char *text = brk_render_history_json(samples, n, (size_t) points, step_ms, &len);
    free(samples);
    if (text == NULL) {
        brk_http_reply_plain(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    brk_http_reply_text(req, HTTP_OK, "OK", "application/json", text, len);
    free(text);
}

static void
on_healthz(struct evhttp_request *req, void *arg)
{
    (void) arg;
    const char body[] = "ok\n";
    brk_http_reply_text(req, HTTP_OK, "OK", "text/plain", body, sizeof body - 1);
}

static void
on_readyz(struct evhttp_request *req, void *arg)
{
    brk_http *self = arg;
    if (!take_snapshot(self, req)) {
        return;
    }
    char body[BRK_READYZ_BODY_BYTES];
    size_t len = brk_render_readyz(self->snap, body, sizeof body);
    bool ready = brk_snapshot_ready(self->snap);
    brk_http_reply_text(req, ready ? HTTP_OK : 503, ready ? "OK" : "Service Unavailable",
                        "text/plain", body, len);
}

static void
on_page(struct evhttp_request *req, void *arg)
{
    (void) arg;
    brk_http_reply_text(req, HTTP_OK, "OK", "text/html; charset=utf-8",
                        (const char *) dashboard_html, sizeof dashboard_html);
}

static void
on_script(struct evhttp_request *req, void *arg)
{
    (void) arg;
    brk_http_reply_text(req, HTTP_OK, "OK", "text/javascript; charset=utf-8",
                        (const char *) dashboard_js, sizeof dashboard_js);
}

static void
on_style(struct evhttp_request *req, void *arg)
{
    (void) arg;
    brk_http_reply_text(req, HTTP_OK, "OK", "text/css; charset=utf-8", (const char *) dashboard_css,
                        sizeof dashboard_css);
}

static const brk_http_route ROUTES[] = {
    {"/", on_page},
    {"/index.html", on_page},
    {"/dashboard.js", on_script},
    {"/dashboard.css", on_style},
    {"/metrics", on_metrics},
    {"/healthz", on_healthz},
    {"/readyz", on_readyz},
    {"/api/v1/queues", on_queues},
    {"/api/v1/workers", on_workers},
    {"/api/v1/history", on_history},
};

const brk_http_route *
brk_http_route_find(const char *path)
{
    for (size_t i = 0; path != NULL && i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (strcmp(path, ROUTES[i].path) == 0) {
            return &ROUTES[i];
        }
    }
    return NULL;
}
