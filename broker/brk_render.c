// Rendering. Metric names follow Prometheus conventions (base units,
// _total for counters); `promtool check metrics` passes on the output.
#include "brk_render.h"

#include "rr_format.h"
#include "rr_vocab.h"
#include "rr_version.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
queue_name(int d)
{
    return d == 0 ? "queries" : rr_domain_name(d);
}

// Writes a label value with \, " and newline escaped.
static void
label_value(FILE *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            fputc('\\', out);
            fputc(*v, out);
        } else if (*v == '\n') {
            fputs("\\n", out);
        } else {
            fputc(*v, out);
        }
    }
}

static void
head(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

// The labels that name one worker.
static void
worker_labels(FILE *out, const brk_worker_view *w)
{
    fprintf(out, "{domain=\"%s\",host=\"", rr_domain_or_any(w->domain));
    label_value(out, w->host);
    fprintf(out, "\",pid=\"%u\"}", w->pid);
}

typedef uint64_t (*worker_field)(const brk_worker_view *w);
static uint64_t
f_processed(const brk_worker_view *w)
{
    return w->counters.processed;
}
static uint64_t
f_failed(const brk_worker_view *w)
{
    return w->counters.failed;
}
static uint64_t
f_batches(const brk_worker_view *w)
{
    return w->counters.batches;
}
static uint64_t
f_batch_items(const brk_worker_view *w)
{
    return w->counters.batch_items;
}
static uint64_t
f_commits(const brk_worker_view *w)
{
    return w->counters.commits;
}
static uint64_t
f_reconnects(const brk_worker_view *w)
{
    return w->counters.db_reconnects;
}

static bool
g_stats_seen(const brk_worker_view *w)
{
    return w->stats_seen;
}
static unsigned
g_db_connected(const brk_worker_view *w)
{
    return w->counters.db_connected ? 1 : 0;
}
static bool
g_brokers_known(const brk_worker_view *w)
{
    return w->brokers.known;
}
static unsigned
g_brokers_configured(const brk_worker_view *w)
{
    return w->brokers.configured;
}
static unsigned
g_brokers_attached(const brk_worker_view *w)
{
    return w->brokers.attached;
}

char *
brk_render_prometheus(const brk_snapshot *snap, const brk_process_view *proc, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (out == NULL) {
        return NULL;
    }
    head(out, "referral_queue_ready_requests", "gauge",
         "Requests waiting in the broker for a worker, by domain and priority.");
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        for (int p = RR_PRIORITY_COUNT; p >= 1; p--) {
            fprintf(out, "referral_queue_ready_requests{domain=\"%s\",priority=\"%s\"} %u\n",
                    queue_name(d), rr_priority_name(p), snap->queue[d].ready[p]);
        }
    }
    head(out, "referral_queue_oldest_ready_age_seconds", "gauge",
         "Age of the oldest waiting request, by domain and priority (0 when none waits).");
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        for (int p = RR_PRIORITY_COUNT; p >= 1; p--) {
            fprintf(out,
                    "referral_queue_oldest_ready_age_seconds{domain=\"%s\",priority=\"%s\"} %.3f\n",
                    queue_name(d), rr_priority_name(p), snap->queue[d].oldest_age_s[p]);
        }
    }
    head(out, "referral_queue_inflight_requests", "gauge",
         "Requests delivered to workers and not yet answered, by domain.");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_queue_inflight_requests{domain=\"%s\"} %u\n", queue_name(d),
                snap->queue[d].inflight);
    }
    head(out, "referral_workers_registered", "gauge",
         "Live workers serving each domain (a worker of every domain counts in each).");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_workers_registered{domain=\"%s\"} %u\n", queue_name(d),
                snap->queue[d].workers);
    }
    head(out, "referral_workers_idle", "gauge", "Live workers holding no request, by domain.");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_workers_idle{domain=\"%s\"} %u\n", queue_name(d),
                snap->queue[d].workers_idle);
    }
    head(out, "referral_broker_risk_rules", "gauge",
         "Risk rules the broker queues submissions by, as the workers last sent them (0: "
         "none yet, so requested priorities only).");
    fprintf(out, "referral_broker_risk_rules %u\n", snap->risk_rules);
    head(out, "referral_requests_received_total", "counter",
         "Requests admitted to a queue, by domain (queries: status and follow-up).");
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_requests_received_total{domain=\"%s\"} %llu\n", queue_name(d),
                (unsigned long long) snap->queue[d].received);
    }
    head(out, "referral_submissions_total", "counter",
         "Answers to submissions, by domain and outcome (domain \"none\": refused before its "
         "domain was known).");
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        const brk_domain_totals *t = &snap->totals[d];
        const char *dn = d == 0 ? "none" : rr_domain_name(d);
        fprintf(out,
                "referral_submissions_total{domain=\"%s\",outcome=\"accepted\"} %llu\n"
                "referral_submissions_total{domain=\"%s\",outcome=\"duplicate\"} %llu\n"
                "referral_submissions_total{domain=\"%s\",outcome=\"rejected\"} %llu\n"
                "referral_submissions_total{domain=\"%s\",outcome=\"busy\"} %llu\n",
                dn, (unsigned long long) t->accepted, dn, (unsigned long long) t->duplicate, dn,
                (unsigned long long) t->rejected, dn, (unsigned long long) t->busy);
    }
    head(out, "referral_workers_expected", "gauge",
         "Live workers each domain should have (--expected-workers).");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_workers_expected{domain=\"%s\"} %u\n", queue_name(d),
                snap->queue[d].workers_expected);
    }
    head(out, "referral_workers_expired_total", "counter",
         "Workers declared dead for missed heartbeats, by domain.");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        fprintf(out, "referral_workers_expired_total{domain=\"%s\"} %llu\n", queue_name(d),
                (unsigned long long) snap->totals[d].workers_expired);
    }
    // Workers of every domain (brk_server counts them at RR_DOMAIN_NONE).
    fprintf(out, "referral_workers_expired_total{domain=\"any\"} %llu\n",
            (unsigned long long) snap->totals[RR_DOMAIN_NONE].workers_expired);
    const struct {
        const char *name, *help;
        uint64_t value;
    } counters[] = {
        {"referral_redelivered_total", "Requests handed to another worker after one died.",
         snap->redelivered},
        {"referral_retried_total", "Failed requests held back for a retry after a backoff.",
         snap->retried},
        {"referral_unauthorized_total",
         "Messages refused because their key is not (or no longer) registered.",
         snap->unauthorized},
        {"referral_dead_lettered_total", "Requests given up after repeated worker failures.",
         snap->dead_lettered},
        {"referral_late_replies_total", "Worker replies discarded because the request had moved.",
         snap->late_replies},
        {"referral_undeliverable_replies_total",
         "Replies dropped because the center was gone or not reading.", snap->undeliverable},
        {"referral_protocol_errors_total", "Malformed messages from centers or workers.",
         snap->protocol_errors},
        {"referral_resends_joined_total",
         "Resent submissions joined to the identical one already queued or in flight.",
         snap->resends_joined},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        head(out, counters[i].name, "counter", counters[i].help);
        fprintf(out, "%s %llu\n", counters[i].name, (unsigned long long) counters[i].value);
    }
    // The neighbourhood side's commands (issue 18), one counter each.
    static const char *const outcomes[4] = {"recorded", "replayed", "refused", "busy"};
    const struct {
        const char *name, *command;
        const uint64_t *counts;
    } sides[] = {{"referral_donations_total", "DONATE", snap->donations},
                 {"referral_profiles_total", "PROFILE", snap->neighbourhood[0]},
                 {"referral_trustees_total", "TRUSTEE", snap->neighbourhood[1]},
                 {"referral_findings_total", "FINDING", snap->neighbourhood[2]},
                 {"referral_ratings_total", "RATE", snap->ratings}};
    for (size_t k = 0; k < sizeof sides / sizeof sides[0]; k++) {
        char help[160];
        rr_format_fits(help, sizeof help,
                       "Workers' answers to %s, by outcome (a body the broker refuses itself is "
                       "not counted here).",
                       sides[k].command);
        head(out, sides[k].name, "counter", help);
        for (int i = 0; i < 4; i++) {
            fprintf(out, "%s{outcome=\"%s\"} %llu\n", sides[k].name, outcomes[i],
                    (unsigned long long) sides[k].counts[i]);
        }
    }
    head(out, "referral_principal_limited_total", "counter",
         "Requests answered busy by a per-principal limit: requests queued or in flight "
         "(outstanding) or the query rate (rate).");
    fprintf(out, "referral_principal_limited_total{limit=\"outstanding\"} %llu\n",
            (unsigned long long) snap->limited[0]);
    fprintf(out, "referral_principal_limited_total{limit=\"rate\"} %llu\n",
            (unsigned long long) snap->limited[1]);
    static const char *const sockets[2] = {"centers", "workers"};
    head(out, "referral_connections", "gauge", "TCP connections open, by socket.");
    for (int i = 0; i < 2; i++) {
        fprintf(out, "referral_connections{socket=\"%s\"} %llu\n", sockets[i],
                (unsigned long long) snap->conns_open[i]);
    }
    head(out, "referral_connections_refused_total", "counter",
         "Connections closed at once for a cap: in all (total) or from one address (address).");
    for (int i = 0; i < 2; i++) {
        fprintf(out, "referral_connections_refused_total{socket=\"%s\",cap=\"total\"} %llu\n",
                sockets[i], (unsigned long long) snap->conns_refused_total[i]);
        fprintf(out, "referral_connections_refused_total{socket=\"%s\",cap=\"address\"} %llu\n",
                sockets[i], (unsigned long long) snap->conns_refused_addr[i]);
    }
    head(out, "referral_monitor_connections", "gauge", "TCP connections open on the HTTP monitor.");
    fprintf(out, "referral_monitor_connections %.0f\n", proc->monitor_open);
    head(out, "referral_monitor_connections_refused_total", "counter",
         "HTTP monitor connections refused: times it stopped accepting at its total cap (total), "
         "connections closed at once from an address at its cap (address).");
    fprintf(out, "referral_monitor_connections_refused_total{cap=\"total\"} %.0f\n",
            proc->monitor_refused_total);
    fprintf(out, "referral_monitor_connections_refused_total{cap=\"address\"} %.0f\n",
            proc->monitor_refused_addr);
    head(out, "referral_monitor_request_timeouts_total", "counter",
         "HTTP monitor connections closed because a request was not whole in time.");
    fprintf(out, "referral_monitor_request_timeouts_total %.0f\n", proc->monitor_timed_out);
    head(out, "referral_ack_latency_seconds", "histogram",
         "Time from the broker reading a submission to its acceptance going back, by domain.");
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        const brk_latency *h = &snap->totals[d].latency;
        const char *dn = rr_domain_name(d);
        uint64_t cumulative = 0;
        for (int i = 0; i < BRK_LATENCY_BUCKETS; i++) {
            cumulative += h->bucket[i];
            fprintf(out, "referral_ack_latency_seconds_bucket{domain=\"%s\",le=\"%g\"} %llu\n", dn,
                    brk_latency_bounds_s[i], (unsigned long long) cumulative);
        }
        cumulative += h->bucket[BRK_LATENCY_BUCKETS];
        fprintf(out,
                "referral_ack_latency_seconds_bucket{domain=\"%s\",le=\"+Inf\"} %llu\n"
                "referral_ack_latency_seconds_sum{domain=\"%s\"} %.6f\n"
                "referral_ack_latency_seconds_count{domain=\"%s\"} %llu\n",
                dn, (unsigned long long) cumulative, dn, h->sum_s, dn,
                (unsigned long long) h->count);
    }
    head(out, "referral_build_info", "gauge",
         "Always 1; the broker's version and git revision as labels.");
    fprintf(out, "referral_build_info{version=\"");
    label_value(out, rr_version_number());
    fprintf(out, "\",revision=\"");
    label_value(out, rr_version_revision());
    fprintf(out, "\"} 1\n");
    head(out, "referral_broker_ready", "gauge",
         "1 when every domain has a live worker and the broker is not stopping.");
    fprintf(out, "referral_broker_ready %d\n", brk_snapshot_ready(snap) ? 1 : 0);

    const struct {
        const char *name, *help;
        worker_field field;
    } wcounters[] = {
        {"referral_worker_processed_total", "Requests a worker answered.", f_processed},
        {"referral_worker_failed_total", "Requests a worker refused (not counting busy).",
         f_failed},
        {"referral_worker_batches_total", "Batches a worker took from the broker.", f_batches},
        {"referral_worker_batch_items_total", "Requests in those batches.", f_batch_items},
        {"referral_worker_commits_total", "Database commits of a worker.", f_commits},
        {"referral_worker_db_reconnects_total", "Database reconnections of a worker.",
         f_reconnects},
    };
    for (size_t k = 0; k < sizeof wcounters / sizeof wcounters[0]; k++) {
        head(out, wcounters[k].name, "counter", wcounters[k].help);
        for (size_t i = 0; i < snap->nworkers; i++) {
            if (!snap->workers[i].stats_seen) {
                continue; // a re-registered worker's zeros would read as a reset
            }
            fputs(wcounters[k].name, out);
            worker_labels(out, &snap->workers[i]);
            fprintf(out, " %llu\n", (unsigned long long) wcounters[k].field(&snap->workers[i]));
        }
    }
    head(out, "referral_worker_commit_seconds_total", "counter",
         "Time a worker spent waiting for database commits.");
    for (size_t i = 0; i < snap->nworkers; i++) {
        if (!snap->workers[i].stats_seen) {
            continue;
        }
        fputs("referral_worker_commit_seconds_total", out);
        worker_labels(out, &snap->workers[i]);
        fprintf(out, " %.6f\n", snap->workers[i].counters.commit_seconds_sum);
    }
    head(out, "referral_worker_last_heartbeat_age_seconds", "gauge",
         "Time since the broker last heard from a worker.");
    for (size_t i = 0; i < snap->nworkers; i++) {
        fputs("referral_worker_last_heartbeat_age_seconds", out);
        worker_labels(out, &snap->workers[i]);
        fprintf(out, " %.3f\n", snap->workers[i].last_heartbeat_age_s);
    }
    // Each only for the workers that reported it: an unknown value is no
    // sample, not a 0 (an alert compares brokers_attached with
    // brokers_configured, and an older worker reports neither).
    const struct {
        const char *name, *help;
        bool (*known)(const brk_worker_view *w);
        unsigned (*value)(const brk_worker_view *w);
    } wgauges[] = {
        {"referral_worker_db_connected",
         "1 while a worker's database connection is up, as it last reported.", g_stats_seen,
         g_db_connected},
        {"referral_worker_brokers_configured",
         "Brokers in a worker's --broker list, as it last reported.", g_brokers_known,
         g_brokers_configured},
        {"referral_worker_brokers_attached",
         "Brokers of its list a worker is attached to now, as it last reported.", g_brokers_known,
         g_brokers_attached},
    };
    for (size_t k = 0; k < sizeof wgauges / sizeof wgauges[0]; k++) {
        head(out, wgauges[k].name, "gauge", wgauges[k].help);
        for (size_t i = 0; i < snap->nworkers; i++) {
            if (wgauges[k].known(&snap->workers[i])) {
                fputs(wgauges[k].name, out);
                worker_labels(out, &snap->workers[i]);
                fprintf(out, " %u\n", wgauges[k].value(&snap->workers[i]));
            }
        }
    }
    head(out, "referral_worker_build_info", "gauge",
         "Always 1; each live worker's version as a label.");
    for (size_t i = 0; i < snap->nworkers; i++) {
        const brk_worker_view *w = &snap->workers[i];
        fprintf(out, "referral_worker_build_info{domain=\"%s\",host=\"",
                rr_domain_or_any(w->domain));
        label_value(out, w->host);
        fprintf(out, "\",pid=\"%u\",version=\"", w->pid);
        label_value(out, w->version);
        fprintf(out, "\"} 1\n");
    }
    head(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    fprintf(out, "process_resident_memory_bytes %.0f\n", proc->resident_bytes);
    head(out, "process_open_fds", "gauge", "Number of open file descriptors (sockets included).");
    fprintf(out, "process_open_fds %.0f\n", proc->open_fds);
    head(out, "process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch in seconds.");
    fprintf(out, "process_start_time_seconds %.3f\n", proc->start_time_s);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *
dump(json_t *root, size_t *len)
{
    if (root == NULL) {
        return NULL;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text != NULL) {
        *len = strlen(text);
    }
    return text;
}

// {"configured":n,"attached":n,"detached":[...]}, or null when the worker
// did not report its brokers.
static json_t *
brokers_json(const brk_worker_brokers *b)
{
    if (!b->known) {
        return json_null();
    }
    json_t *detached = json_array();
    for (uint32_t i = 0; i < b->ndetached && detached != NULL; i++) {
        json_array_append_new(detached, json_string(b->detached[i]));
    }
    return json_pack("{s:I, s:I, s:o}", "configured", (json_int_t) b->configured, "attached",
                     (json_int_t) b->attached, "detached", detached);
}

// {"accepted":..,"duplicate":..,"rejected":..,"busy":..} of one or all domains.
static json_t *
outcomes_json(const brk_domain_totals *t, int from, int to)
{
    json_int_t accepted = 0, duplicate = 0, rejected = 0, busy = 0;
    for (int d = from; d <= to; d++) {
        accepted += (json_int_t) t[d].accepted;
        duplicate += (json_int_t) t[d].duplicate;
        rejected += (json_int_t) t[d].rejected;
        busy += (json_int_t) t[d].busy;
    }
    return json_pack("{s:I, s:I, s:I, s:I}", "accepted", accepted, "duplicate", duplicate,
                     "rejected", rejected, "busy", busy);
}

// A center-record counter (DONATE, PROFILE, TRUSTEE, FINDING, RATE) by the
// workers' outcome byte.
static json_t *
records_json(const uint64_t n[4])
{
    return json_pack("{s:I, s:I, s:I, s:I}", "recorded", (json_int_t) n[0], "replayed",
                     (json_int_t) n[1], "refused", (json_int_t) n[2], "busy", (json_int_t) n[3]);
}

// A quantile in seconds, or JSON null when nothing was observed.
static json_t *
quantile_json(const uint64_t bucket[BRK_LATENCY_BUCKETS + 1], double q)
{
    double v = brk_latency_quantile(bucket, q);
    return v < 0 ? json_null() : json_real(v);
}

char *
brk_render_queues_json(const brk_snapshot *snap, size_t *len)
{
    json_t *queues = json_array();
    for (int d = 0; d <= RR_DOMAIN_COUNT && queues; d++) {
        const brk_queue_view *q = &snap->queue[d];
        json_t *ready = json_object();
        json_t *age = json_object();
        uint32_t total = 0;
        double oldest = 0;
        for (int p = 1; p <= RR_PRIORITY_COUNT; p++) {
            json_object_set_new(ready, rr_priority_name(p), json_integer(q->ready[p]));
            json_object_set_new(age, rr_priority_name(p), json_real(q->oldest_age_s[p]));
            total += q->ready[p];
            oldest = q->oldest_age_s[p] > oldest ? q->oldest_age_s[p] : oldest;
        }
        json_t *item =
            json_pack("{s:s, s:s, s:I, s:o, s:f, s:o, s:I, s:I, s:I, s:I, s:I}", "domain",
                      queue_name(d), "domain_fa", d ? rr_domain_name_fa(d) : "", "ready",
                      (json_int_t) total, "ready_by_priority", ready, "oldest_age_seconds", oldest,
                      "oldest_age_seconds_by_priority", age, "inflight", (json_int_t) q->inflight,
                      "workers", (json_int_t) q->workers, "workers_idle",
                      (json_int_t) q->workers_idle, "workers_expected",
                      (json_int_t) q->workers_expected, "received_total", (json_int_t) q->received);
        if (item != NULL && d > 0) {
            const brk_domain_totals *t = &snap->totals[d];
            json_object_set_new(item, "submissions", outcomes_json(snap->totals, d, d));
            json_object_set_new(item, "latency",
                                json_pack("{s:I, s:o, s:o}", "count", (json_int_t) t->latency.count,
                                          "p50_seconds", quantile_json(t->latency.bucket, 0.5),
                                          "p99_seconds", quantile_json(t->latency.bucket, 0.99)));
            json_object_set_new(item, "workers_expired_total",
                                json_integer((json_int_t) t->workers_expired));
        }
        json_array_append_new(queues, item);
    }
    json_int_t latency_count = 0;
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        latency_count += (json_int_t) snap->totals[d].latency.count;
    }
    json_t *root = json_pack(
        "{s:I, s:f, s:b, s:b, s:o, s:o, s:I, s:I, s:I, s:I, s:{s:s, s:s}}", "time_ms",
        (json_int_t) snap->taken_wall_ms, "uptime_seconds", snap->uptime_s, "ready",
        brk_snapshot_ready(snap), "draining", snap->draining, "queues", queues, "submissions",
        outcomes_json(snap->totals, 0, RR_DOMAIN_COUNT), "redelivered_total",
        (json_int_t) snap->redelivered, "retried_total", (json_int_t) snap->retried,
        "dead_lettered_total", (json_int_t) snap->dead_lettered, "latency_count", latency_count,
        "build", "version", rr_version_number(), "revision", rr_version_revision());
    if (root != NULL) {
        // The neighbourhood side's counters, in the order of the
        // dashboard's panel; each kind is referral_<kind>_total.
        json_object_set_new(root, "neighbourhood",
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "donations",
                                      records_json(snap->donations), "profiles",
                                      records_json(snap->neighbourhood[0]), "trustees",
                                      records_json(snap->neighbourhood[1]), "findings",
                                      records_json(snap->neighbourhood[2]), "ratings",
                                      records_json(snap->ratings)));
    }
    return dump(root, len);
}

char *
brk_render_workers_json(const brk_snapshot *snap, size_t *len)
{
    json_t *workers = json_array();
    for (size_t i = 0; i < snap->nworkers && workers; i++) {
        const brk_worker_view *w = &snap->workers[i];
        json_t *item = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
            "domain", rr_domain_or_any(w->domain), "host", w->host, "version", w->version, "pid",
            (json_int_t) w->pid, "credit", (json_int_t) w->credit, "inflight",
            (json_int_t) w->inflight, "last_heartbeat_age_seconds", w->last_heartbeat_age_s,
            "registered_age_seconds", w->registered_age_s, "replies_total", (json_int_t) w->replies,
            "processed_total", (json_int_t) w->counters.processed, "failed_total",
            (json_int_t) w->counters.failed, "batches_total", (json_int_t) w->counters.batches,
            "batch_items_total", (json_int_t) w->counters.batch_items, "commits_total",
            (json_int_t) w->counters.commits, "db_reconnects_total",
            (json_int_t) w->counters.db_reconnects, "commit_seconds_total",
            w->counters.commit_seconds_sum);
        if (item != NULL) {
            // Unknown until its first heartbeat: null, not a false "down".
            json_object_set_new(item, "db_connected",
                                w->stats_seen ? json_boolean(w->counters.db_connected)
                                              : json_null());
            json_object_set_new(item, "brokers", brokers_json(&w->brokers));
        }
        json_array_append_new(workers, item);
    }
    return dump(
        json_pack("{s:I, s:o}", "time_ms", (json_int_t) snap->taken_wall_ms, "workers", workers),
        len);
}

char *
brk_render_history_json(const brk_sample *samples, size_t n, size_t max_points, long step_ms,
                        size_t *len)
{
    assert(max_points >= 1);
    size_t group = (n + max_points - 1) / max_points; // samples merged into one point
    json_t *points = json_array();
    for (size_t i = 0; i < n && points != NULL; i += group) {
        brk_sample p = samples[i];
        for (size_t k = i + 1; k < i + group && k < n; k++) {
            brk_sample_merge(&p, &samples[k]);
        }
        json_t *domains = json_object();
        for (int d = 1; d <= RR_DOMAIN_COUNT && domains != NULL; d++) {
            const brk_domain_sample *ds = &p.domain[d - 1];
            uint64_t buckets[BRK_LATENCY_BUCKETS + 1];
            for (size_t b = 0; b <= BRK_LATENCY_BUCKETS; b++) {
                buckets[b] = ds->latency[b];
            }
            json_object_set_new(
                domains, rr_domain_name(d),
                json_pack("{s:[I, I, I, I], s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ready",
                          (json_int_t) ds->ready[RR_PRIORITY_STAT],
                          (json_int_t) ds->ready[RR_PRIORITY_ASAP],
                          (json_int_t) ds->ready[RR_PRIORITY_URGENT],
                          (json_int_t) ds->ready[RR_PRIORITY_ROUTINE], "oldest_age_seconds",
                          (double) ds->oldest_age_s, "workers", (json_int_t) ds->workers,
                          "workers_expected", (json_int_t) ds->workers_expected, "received",
                          (json_int_t) ds->received, "acked", (json_int_t) ds->acked, "busy",
                          (json_int_t) ds->busy, "rejected", (json_int_t) ds->rejected,
                          "latency_p50_seconds", quantile_json(buckets, 0.5), "latency_p99_seconds",
                          quantile_json(buckets, 0.99)));
        }
        json_array_append_new(
            points, json_pack("{s:I, s:I, s:I, s:I, s:o}", "t_ms", (json_int_t) p.t_ms, "span_ms",
                              (json_int_t) p.span_ms, "redelivered", (json_int_t) p.redelivered,
                              "dead_lettered", (json_int_t) p.dead_lettered, "domains", domains));
    }
    return dump(json_pack("{s:I, s:s, s:o}", "step_ms", (json_int_t) step_ms, "ready_order",
                          "stat,asap,urgent,routine", "points", points),
                len);
}
