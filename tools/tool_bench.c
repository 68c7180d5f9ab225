// referralctl bench: sets a run up (catalogue codes, optional PostgreSQL
// ceiling), starts the load (tool_load.h) on its threads, then reconciles
// what was acknowledged with the database and reports.
#include "tool_bench.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_config.h"
#include "rr_keys.h"
#include "rr_natid.h"
#include "rr_uuid.h"
#include "rr_wire.h"
#include "tool_ceiling.h"
#include "tool_client.h"
#include "tool_load.h"
#include "tool_tally.h"
#include "wrk_pglog.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

// ---- main -------------------------------------------------------------------

int
tool_bench_main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    const char *key_file = NULL, *broker_key = NULL;
    long ceiling_s = 0, threads = 0;
    const char *dup_text = NULL;
    bool json = false, no_db = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoint; a comma-separated list spreads the clients over several"
         " brokers (client i on the (i mod n)-th)",
         &b.broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral",
         "the stack's database: catalogue, ceiling and the final check", &b.db, 0, 0},
        {"clients", RR_OPT_INT, NULL, "32", "client sockets", &b.clients, 1, MAX_CLIENTS},
        {"window", RR_OPT_INT, NULL, "16", "requests each client keeps outstanding", &b.window, 1,
         MAX_WINDOW},
        {"threads", RR_OPT_INT, NULL, "2", "threads driving the clients (each polls its share)",
         &threads, 1, MAX_THREADS},
        {"duration", RR_OPT_INT, NULL, "20", "seconds of load (unless --count)", &b.duration_s, 1,
         3600},
        {"count", RR_OPT_INT, NULL, "0", "requests in all instead of --duration", &b.count, 0,
         100000000},
        {"rate", RR_OPT_INT, NULL, "0", "open loop: requests per second in all (0: closed loop)",
         &b.rate, 0, 10000000},
        {"dup-rate", RR_OPT_STRING, NULL, "0",
         "share of requests repeating the client's previous household and service (0..1)",
         &dup_text, 0, 0},
        {"timeout-ms", RR_OPT_INT, NULL, "5000", "resend an unanswered request after, ms",
         &b.timeout_ms, 100, 600000},
        {"ceiling-seconds", RR_OPT_INT, NULL, "3",
         "how long to measure PostgreSQL's own ceiling first (0: skip)", &ceiling_s, 0, 600},
        {"json", RR_OPT_FLAG, NULL, "0", "print one JSON object at the end", &json, 0, 0},
        {"no-db", RR_OPT_FLAG, NULL, "0",
         "the broker alone: against workers run with --no-db; no ceiling, no database check",
         &no_db, 0, 0},
    };
    rr_status st = rr_config_parse(
        "referralctl bench",
        "referralctl bench: load a running stack, measure acknowledged referrals/s and latency "
        "against PostgreSQL's own ceiling, and check nothing was lost or duplicated",
        opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    char *end = NULL;
    b.dup_rate = strtod(dup_text, &end);
    if (end == dup_text || *end != '\0' || b.dup_rate < 0 || b.dup_rate > 1) {
        fprintf(stderr, "invalid --dup-rate \"%s\": expected a number from 0 to 1\n", dup_text);
        return 2;
    }
    char why[512];
    if (rr_curve_client_load(key_file, broker_key, &b.curve, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    PGconn *db = NULL;
    if (no_db) {
        // The seed's demo centers and the 22 services: the workers do not look.
        static const unsigned centers[] = {941, 1924, 2441, 5165, 3102, 4207, 6010};
        static const char *const services[] = {
            "PRV-01", "PRV-02", "PRV-03", "PRV-04", "PRV-05", "PRV-06", "PRV-07", "RHB-01",
            "RHB-02", "RHB-03", "RHB-04", "SOC-01", "SOC-02", "SOC-03", "SOC-04", "SOC-05",
            "SOC-06", "SOC-07", "SOC-08", "SOC-09", "SOC-10", "SOC-11"};
        for (size_t i = 0; i < sizeof centers / sizeof centers[0]; i++) {
            b.centers[b.ncenters++] = centers[i];
        }
        for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
            rr_format_fits(b.services[b.nservices++], sizeof b.services[0], "%s", services[i]);
        }
        ceiling_s = 0;
    } else {
        db = PQconnectdb(b.db);
        wrk_pglog_attach(db);
        if (PQstatus(db) != CONNECTION_OK) {
            fprintf(stderr, "bench: cannot connect to the database: %s", PQerrorMessage(db));
            PQfinish(db);
            return 1;
        }
        PQclear(PQexec(db, "SET client_min_messages = warning")); // no NOTICEs from DROP
        if (!tool_load_catalog(&b, db)) {
            PQfinish(db);
            return 1;
        }
    }
    char uuid[RR_UUID_TEXT_LEN + 1];
    rr_uuid_generate(uuid);
    rr_format_fits(b.tag, sizeof b.tag, "b%.8s", uuid);
    b.natid_base = (uint32_t) (strtoul(uuid, NULL, 16) % 1000000000u); // its first 8 hex digits

    double ceiling = 0;
    if (ceiling_s > 0) {
        fprintf(stderr, "bench: measuring PostgreSQL's ceiling for %ld s\n", ceiling_s);
        ceiling = tool_ceiling_measure(b.db, ceiling_s, b.tag, b.centers, b.ncenters, b.services,
                                       b.nservices);
        if (ceiling < 0) {
            PQfinish(db);
            return 1;
        }
    }

    client *clients = calloc((size_t) b.clients, sizeof *clients);
    b.ctx = zmq_ctx_new();
    if (clients == NULL || b.ctx == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        free(clients);
        PQfinish(db);
        return 1;
    }
    fprintf(stderr, "bench: %ld clients, window %ld, %s %ld%s\n", b.clients, b.window,
            b.count ? "count" : "duration", b.count ? b.count : b.duration_s, b.count ? "" : " s");
    atomic_init(&b.issued, 0);
    atomic_init(&b.natid_next, 0);
    b.start_us = rr_clock_mono_us();
    b.stop_us = b.count ? INT64_MAX : b.start_us + b.duration_s * 1000000;
    for (long i = 0; i < b.clients; i++) {
        clients[i].b = &b;
        clients[i].index = (int) i;
        clients[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t) (i + 1);
    }
    if (threads > b.clients) {
        threads = b.clients;
    }
    runner runners[MAX_THREADS];
    for (long t = 0; t < threads; t++) {
        long first = b.clients * t / threads, last = b.clients * (t + 1) / threads;
        runners[t] = (runner){&clients[first], (size_t) (last - first), 0, false};
        runners[t].started =
            pthread_create(&runners[t].thread, NULL, tool_load_run, &runners[t]) == 0;
        if (!runners[t].started) {
            fprintf(stderr, "bench: cannot start a client thread\n");
            clients[first].errors++; // its clients sent nothing: the run fails
        }
    }
    for (long t = 0; t < threads; t++) {
        if (runners[t].started) {
            pthread_join(runners[t].thread, NULL);
        }
    }
    // Throughput over the load window: the acknowledgements after the
    // senders stopped are counted, and so is the time they took.
    double elapsed = (double) (rr_clock_mono_us() - b.start_us) / 1e6;
    tool_tally sum;
    tool_tally_sum(clients, b.clients, &sum);
    long lost = -1, duplicated = -1, extra = -1;
    bool checked =
        no_db || tool_tally_reconcile(&b, db, clients, b.clients, &lost, &duplicated, &extra);
    double acked_per_s = elapsed > 0 ? (double) sum.acked / elapsed : 0;
    double ratio = ceiling > 0 ? acked_per_s / ceiling : 0;
    if (json) {
        json_t *o = json_pack(
            "{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:I, s:I, s:I, s:f}",
            "acked", (json_int_t) sum.acked, "acked_per_s", acked_per_s, "p50_ms", sum.p50,
            "p90_ms", sum.p90, "p99_ms", sum.p99, "max_ms", sum.max, "seconds", elapsed, "lost",
            (json_int_t) lost, "duplicated", (json_int_t) duplicated, "pg_ceiling_per_s", ceiling,
            "ratio", ratio, "clients", (json_int_t) b.clients, "window", (json_int_t) b.window,
            "rate", (json_int_t) b.rate, "rejected", (json_int_t) sum.rejected, "busy",
            (json_int_t) sum.busy, "resent", (json_int_t) sum.resent, "unanswered",
            (json_int_t) sum.unanswered, "recorded_unacknowledged", (json_int_t) extra, "errors",
            (json_int_t) sum.errors, "dup_rate", b.dup_rate);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else {
        printf("acknowledged %zu in %.1f s: %.0f referrals/s\n", sum.acked, elapsed, acked_per_s);
        printf("ack latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", sum.p50, sum.p90,
               sum.p99, sum.max);
        if (ceiling > 0) {
            printf("PostgreSQL ceiling (the same four rows per submission, 100-row INSERTs,"
                   " 4 connections): %.0f submissions/s; ratio %.2f\n",
                   ceiling, ratio);
        }
        printf("lost %ld, duplicated %ld; rejected %ld, busy answers %ld, resent %ld, "
               "unanswered %ld, recorded but unacknowledged %ld\n",
               lost, duplicated, sum.rejected, sum.busy, sum.resent, sum.unanswered, extra);
    }
    for (long i = 0; i < b.clients; i++) {
        free(clients[i].acked);
        free(clients[i].lat_ms);
    }
    free(clients);
    zmq_ctx_term(b.ctx);
    PQfinish(db);
    memset(&b.curve, 0, sizeof b.curve);
    bool clean = no_db || (lost == 0 && duplicated == 0);
    return checked && clean && sum.rejected == 0 && sum.errors == 0 ? 0 : 1;
}
