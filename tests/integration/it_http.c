// The harness's view of the broker's HTTP monitor: GETs over libcurl,
// metric values, waits on them, and the dashboard in headless Chromium.
#include "it_harness.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct it_body {
    char *data;
    size_t len, cap;
} it_body;

static size_t
on_http_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    it_body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n >= b->cap) {
        return 0; // too big for the caller's buffer: the GET fails
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int
it_http_get(int port, const char *path, char *body, size_t cap)
{
    char url[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    it_body b = {body, 0, cap};
    body[0] = '\0';
    CURL *curl = curl_easy_init();
    long status = -1;
    bool ok = curl != NULL && curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_http_data) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b) == CURLE_OK &&
              curl_easy_perform(curl) == CURLE_OK &&
              curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK;
    curl_easy_cleanup(curl);
    return ok ? (int) status : -1;
}

static int
http_port_of(const it_stack *s)
{
    const char *colon = strrchr(s->http, ':');
    return colon ? atoi(colon + 1) : -1;
}

bool
it_wait_http(const it_stack *s, const char *path, int status, const char *needle, int timeout_ms)
{
    static char body[1 << 20];
    long long deadline = it_now_ms() + timeout_ms;
    do {
        if (it_http_get(http_port_of(s), path, body, sizeof body) == status &&
            (needle == NULL || strstr(body, needle) != NULL)) {
            return true;
        }
        it_sleep_ms(50);
    } while (it_now_ms() < deadline);
    return false;
}

// The value of series in a /metrics body: a series with labels matches its
// one line; a bare name sums every series of that name. -1 when none.
static double
metric_value(const char *body, const char *series)
{
    size_t n = strlen(series);
    bool bare = strchr(series, '{') == NULL;
    double sum = 0;
    bool found = false;
    for (const char *line = body; line != NULL && *line;) {
        if (strncmp(line, series, n) == 0 && (line[n] == ' ' || (bare && line[n] == '{'))) {
            const char *value = line[n] == ' ' ? line + n + 1 : strstr(line + n, "} ");
            if (value != NULL) {
                sum += strtod(value + (line[n] == ' ' ? 0 : 2), NULL);
                found = true;
            }
        }
        const char *next = strchr(line, '\n');
        line = next ? next + 1 : NULL;
    }
    return found ? sum : -1;
}

double
it_metric(const it_stack *s, const char *series)
{
    static char body[1 << 20];
    if (it_http_get(http_port_of(s), "/metrics", body, sizeof body) != 200) {
        return -1;
    }
    return metric_value(body, series);
}

bool
it_wait_metric(const it_stack *s, const char *series, double want, int timeout_ms)
{
    static char body[1 << 20];
    long long deadline = it_now_ms() + timeout_ms;
    do {
        if (it_http_get(http_port_of(s), "/metrics", body, sizeof body) == 200 &&
            metric_value(body, series) >= want) {
            return true;
        }
        it_sleep_ms(50);
    } while (it_now_ms() < deadline);
    return false;
}

bool
it_wait_metric_equal(const it_stack *s, const char *series, double want, int timeout_ms)
{
    static char body[1 << 20];
    long long deadline = it_now_ms() + timeout_ms;
    do {
        if (it_http_get(http_port_of(s), "/metrics", body, sizeof body) == 200 &&
            metric_value(body, series) == want) {
            return true;
        }
        it_sleep_ms(50);
    } while (it_now_ms() < deadline);
    return false;
}

static char chromium_log[760];

const char *
it_chromium_log(void)
{
    return chromium_log;
}

bool
it_chromium(const it_stack *s, const char *path, int width, int height, const char *png, char *dom,
            size_t cap)
{
    // The flags this machine needs: no sandbox as root, no GPU, and no
    // background connections (refused here, and slow to fail). The page's
    // console (script errors, Content-Security-Policy refusals) goes to
    // chromium_log.
    static int calls = 0;
    char profile[700], cmd[3000];
    snprintf(profile, sizeof profile, "%s/chromium-profile-%d", s->logdir, calls);
    snprintf(chromium_log, sizeof chromium_log, "%s/chromium-%d.log", s->logdir, calls++);
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                        "--disable-background-networking --disable-component-update "
                        "--disable-sync --hide-scrollbars --virtual-time-budget=5000";
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && timeout 120 chromium %s --user-data-dir=%s --window-size=%d,%d "
             "--enable-logging=stderr --v=0 --dump-dom http://%s%s 2>%s",
             profile, flags, profile, width, height, s->http, path, chromium_log);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return false;
    }
    size_t n = fread(dom, 1, cap - 1, p);
    dom[n] = '\0';
    if (pclose(p) != 0 || n == 0) {
        return false;
    }
    if (png == NULL) {
        return true;
    }
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && timeout 120 chromium %s --user-data-dir=%s --window-size=%d,%d "
             "--screenshot=%s http://%s%s >/dev/null 2>&1",
             profile, flags, profile, width, height, png, s->http, path);
    return system(cmd) == 0;
}
