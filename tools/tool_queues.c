// `referralctl queues` and `referralctl workers`: the broker's state from
// its HTTP API (/api/v1/queues, /api/v1/workers), as a table or JSON.
#include "tool_queues.h"

#include "rr_config.h"
#include "rr_vocab.h"
#include "tool_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Prints text left-aligned in width columns, counting UTF-8 code points
// rather than bytes (Persian names take two bytes a letter).
static void
print_padded(const char *text, int width)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        cols += (*p & 0xC0) != 0x80;
    }
    printf("%s%*s", text, width > cols ? width - cols : 0, "");
}

// Fetches path from the monitor; returns the parsed JSON (caller decrefs),
// or NULL after printing why.
static json_t *
fetch(const tool_http_options *http, const char *path, bool raw_json)
{
    long status = 0;
    char *body = NULL;
    char why[1024], url[2048];
    if (tool_http_url(http, path, url, sizeof url, why, sizeof why) != RR_OK ||
        tool_http_get(http, path, &status, &body, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return NULL;
    }
    json_t *root = NULL;
    if (status == 401 || status == 403) {
        fprintf(stderr,
                "%s answered %ld: the monitor (or its proxy) refused the credentials; give them "
                "with --http-user USER:PASSWORD or REFERRAL_HTTP_USER\n",
                url, status);
    } else if (status != 200) {
        size_t n = strlen(body);
        fprintf(stderr, "%s answered %ld: %.*s%s", url, status, n > 300 ? 300 : (int) n, body,
                n > 0 && body[n > 300 ? 299 : n - 1] == '\n' ? "" : "\n");
    } else {
        json_error_t jerr;
        root = json_loads(body, 0, &jerr);
        if (root == NULL) {
            fprintf(stderr, "%s sent invalid JSON (is --http the broker's monitor?): %s\n", url,
                    jerr.text);
        } else if (raw_json) {
            printf("%s\n", body);
        }
    }
    free(body);
    return root;
}

static int
parse(const char *program, const char *summary, int argc, char **argv, tool_http_options *http,
      bool *json)
{
    rr_opt opts[] = {
        {"http", RR_OPT_STRING, "REFERRAL_HTTP", "127.0.0.1:8080",
         "the broker's HTTP monitor: HOST:PORT, [IPv6]:PORT, or a URL such as "
         "https://ops.example/referral behind a reverse proxy",
         &http->base, 0, 0},
        {"http-user", RR_OPT_STRING, "REFERRAL_HTTP_USER", "",
         "USER:PASSWORD for a monitor behind basic authentication (prefer the variable: a flag "
         "shows in ps)",
         &http->user, 0, 0},
        {"http-cacert", RR_OPT_STRING, "REFERRAL_HTTP_CACERT", "",
         "PEM file of the CA that signed the proxy's certificate (default: the system's CAs)",
         &http->cacert, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "3000", "wait for the answer, ms",
         &http->timeout_ms, 10, 600000},
        {"json", RR_OPT_FLAG, NULL, "0", "print the API's JSON", json, 0, 0},
    };
    rr_status st = rr_config_parse(program, summary, opts, (int) (sizeof opts / sizeof opts[0]),
                                   argc, argv, NULL);
    return st == RR_ESHUTDOWN ? 0 : st == RR_OK ? -1 : 2;
}

int
tool_queues_main(int argc, char **argv)
{
    tool_http_options http = {0};
    bool json = false;
    int rc = parse("referralctl queues",
                   "referralctl queues: waiting requests, workers and counters of a broker", argc,
                   argv, &http, &json);
    if (rc >= 0) {
        return rc;
    }
    json_t *root = fetch(&http, "/api/v1/queues", json);
    if (root == NULL) {
        return 1;
    }
    if (!json) {
        printf("%-15s %-12s %7s %7s %7s %7s %7s %11s %8s %10s\n", "domain", "", "waiting", "stat",
               "asap", "urgent", "routine", "oldest (s)", "workers", "received");
        size_t i;
        json_t *q;
        json_array_foreach(json_object_get(root, "queues"), i, q)
        {
            json_t *by = json_object_get(q, "ready_by_priority");
            printf("%-15s ", json_string_value(json_object_get(q, "domain")));
            print_padded(json_string_value(json_object_get(q, "domain_fa")), 12);
            char workers[32] = "-";
            if (i > 0) {
                int n = snprintf(workers, sizeof workers, "%lld/%lld",
                                 (long long) json_integer_value(json_object_get(q, "workers_idle")),
                                 (long long) json_integer_value(json_object_get(q, "workers")));
                (void) n;
            }
            printf(" %7lld %7lld %7lld %7lld %7lld %11.1f %8s %10lld\n",
                   (long long) json_integer_value(json_object_get(q, "ready")),
                   (long long) json_integer_value(json_object_get(by, "stat")),
                   (long long) json_integer_value(json_object_get(by, "asap")),
                   (long long) json_integer_value(json_object_get(by, "urgent")),
                   (long long) json_integer_value(json_object_get(by, "routine")),
                   json_real_value(json_object_get(q, "oldest_age_seconds")), workers,
                   (long long) json_integer_value(json_object_get(q, "received_total")));
        }
        json_t *sub = json_object_get(root, "submissions");
        printf("submissions: %lld accepted, %lld duplicate, %lld rejected, %lld busy; "
               "redelivered %lld, dead-lettered %lld; %s; up %.0f s\n",
               (long long) json_integer_value(json_object_get(sub, "accepted")),
               (long long) json_integer_value(json_object_get(sub, "duplicate")),
               (long long) json_integer_value(json_object_get(sub, "rejected")),
               (long long) json_integer_value(json_object_get(sub, "busy")),
               (long long) json_integer_value(json_object_get(root, "redelivered_total")),
               (long long) json_integer_value(json_object_get(root, "dead_lettered_total")),
               json_is_true(json_object_get(root, "ready")) ? "ready" : "NOT READY",
               json_real_value(json_object_get(root, "uptime_seconds")));
    }
    json_decref(root);
    return 0;
}

// A worker's brokers column: "attached/configured", "-" when it did not
// report them (a worker of 0.6.0 or before).
static void
print_brokers(const json_t *b)
{
    if (!json_is_object(b)) {
        printf("%7s\n", "-");
        return;
    }
    char text[48];
    (void) snprintf(text, sizeof text, "%lld/%lld", // two counts of at most 20 digits: fits
                    (long long) json_integer_value(json_object_get(b, "attached")),
                    (long long) json_integer_value(json_object_get(b, "configured")));
    printf("%7s\n", text);
}

// For a worker not attached to all its brokers, the line that names them.
static void
print_detached(const json_t *w)
{
    const json_t *list = json_object_get(json_object_get(w, "brokers"), "detached");
    if (json_array_size(list) == 0) {
        return;
    }
    printf("worker %s:%lld (%s) is not attached to", json_string_value(json_object_get(w, "host")),
           (long long) json_integer_value(json_object_get(w, "pid")),
           json_string_value(json_object_get(w, "domain")));
    for (size_t k = 0; k < json_array_size(list); k++) {
        printf("%s %s", k ? "," : "", json_string_value(json_array_get(list, k)));
    }
    printf("\n");
}

int
tool_workers_main(int argc, char **argv)
{
    tool_http_options http = {0};
    bool json = false;
    int rc = parse("referralctl workers",
                   "referralctl workers: the broker's live workers and their counters", argc, argv,
                   &http, &json);
    if (rc >= 0) {
        return rc;
    }
    json_t *root = fetch(&http, "/api/v1/workers", json);
    if (root == NULL) {
        return 1;
    }
    if (!json) {
        printf("%-15s %-20s %8s %-14s %6s %8s %13s %10s %8s %6s %-9s %10s %7s\n", "domain", "host",
               "pid", "version", "credit", "inflight", "heartbeat (s)", "processed", "failed",
               "batch", "database", "reconnects", "brokers");
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(root, "workers"), i, w)
        {
            json_int_t batches = json_integer_value(json_object_get(w, "batches_total"));
            json_int_t items = json_integer_value(json_object_get(w, "batch_items_total"));
            json_t *db = json_object_get(w, "db_connected");
            printf("%-15s %-20s %8lld %-14s %6lld %8lld %13.1f %10lld %8lld %6.1f %-9s %10lld ",
                   json_string_value(json_object_get(w, "domain")),
                   json_string_value(json_object_get(w, "host")),
                   (long long) json_integer_value(json_object_get(w, "pid")),
                   json_string_value(json_object_get(w, "version")),
                   (long long) json_integer_value(json_object_get(w, "credit")),
                   (long long) json_integer_value(json_object_get(w, "inflight")),
                   json_real_value(json_object_get(w, "last_heartbeat_age_seconds")),
                   (long long) json_integer_value(json_object_get(w, "processed_total")),
                   (long long) json_integer_value(json_object_get(w, "failed_total")),
                   batches > 0 ? (double) items / (double) batches : 0.0,
                   json_is_null(db)   ? "unknown"
                   : json_is_true(db) ? "connected"
                                      : "DOWN",
                   (long long) json_integer_value(json_object_get(w, "db_reconnects_total")));
            print_brokers(json_object_get(w, "brokers"));
        }
        printf("(%zu workers)\n", json_array_size(json_object_get(root, "workers")));
        json_array_foreach(json_object_get(root, "workers"), i, w)
        {
            print_detached(w);
        }
    }
    json_decref(root);
    return 0;
}
