// Asks a broker for its state (command STATS) and prints it as a table or
// one JSON object.
#include "tool_queues.h"

#include "cli_center.h"
#include "rr_config.h"
#include "rr_vocab.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

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

int
tool_queues_main(int argc, char **argv)
{
    const char *broker = NULL;
    long timeout_ms = 0;
    bool json = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoint", &broker, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "3000", "wait for the answer, ms",
         &timeout_ms, 10, 600000},
        {"json", RR_OPT_FLAG, NULL, "0", "print one JSON object", &json, 0, 0},
    };
    rr_status st = rr_config_parse("referralctl queues",
                                   "referralctl queues: queue depth, workers and counters of a "
                                   "broker",
                                   opts, 3, argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    const char *eps[] = {broker};
    cli_center *c = cli_center_new(eps, 1);
    if (c == NULL) {
        return 2;
    }
    uint8_t cmd = 0;
    zmq_msg_t answer;
    st = cli_center_call_raw(c, RR_CMD_STATS, "", 0, timeout_ms, &cmd, &answer);
    if (st != RR_OK) {
        fprintf(stderr, "no answer from broker %s: %s\n", broker, rr_strerror(st));
        cli_center_destroy(&c);
        return 1;
    }
    Rr__V1__BrokerStats *bs = NULL;
    if (cmd != RR_CMD_STATS ||
        rr_wire_stats_unpack(zmq_msg_data(&answer), zmq_msg_size(&answer), &bs) != RR_OK) {
        bs = NULL;
    }
    zmq_msg_close(&answer);
    cli_center_destroy(&c);
    if (bs == NULL) {
        fprintf(stderr, "broker %s sent an unreadable answer\n", broker);
        return 1;
    }
    if (json) {
        json_t *queues = json_array();
        for (size_t i = 0; i < bs->n_queues; i++) {
            const Rr__V1__QueueStats *q = bs->queues[i];
            const char *name = q->domain ? rr_domain_name(q->domain) : "status";
            json_array_append_new(
                queues, json_pack("{s:s, s:i, s:f, s:i, s:i, s:I}", "domain", name ? name : "?",
                                  "depth", (json_int_t) q->depth, "oldest_age_seconds",
                                  q->oldest_age_seconds, "workers", (json_int_t) q->workers,
                                  "workers_ready", (json_int_t) q->workers_ready,
                                  "received_total", (json_int_t) q->received_total));
        }
        json_t *o = json_pack("{s:o, s:i, s:I, s:I, s:I, s:I}", "queues", queues, "inflight",
                              (json_int_t) bs->inflight, "replied_total",
                              (json_int_t) bs->replied_total, "busy_total",
                              (json_int_t) bs->busy_total, "rejected_total",
                              (json_int_t) bs->rejected_total, "redelivered_total",
                              (json_int_t) bs->redelivered_total);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text != NULL) {
            printf("%s\n", text);
        }
        free(text);
        json_decref(o);
    } else {
        printf("%-15s %-12s %7s %7s %7s %7s %7s %11s %8s %10s\n", "domain", "", "waiting",
               "stat", "asap", "urgent", "routine", "oldest (s)", "workers", "received");
        for (size_t i = 0; i < bs->n_queues; i++) {
            const Rr__V1__QueueStats *q = bs->queues[i];
            const char *name = q->domain ? rr_domain_name(q->domain) : "status queries";
            const char *fa = q->domain ? rr_domain_name_fa(q->domain) : "";
            uint32_t p[4] = {0, 0, 0, 0};
            for (size_t k = 0; k < q->n_depth_by_priority && k < 4; k++) {
                p[k] = q->depth_by_priority[k];
            }
            char workers[24];
            int n = snprintf(workers, sizeof workers, "%u/%u", q->workers_ready, q->workers);
            (void) n;
            printf("%-15s ", name ? name : "?");
            print_padded(fa, 12);
            printf(" %7u %7u %7u %7u %7u %11.1f %8s %10llu\n", q->depth, p[3], p[2], p[1], p[0], q->oldest_age_seconds,
                   q->domain ? workers : "-", (unsigned long long) q->received_total);
        }
        printf("in flight %u; replied %llu, busy %llu, refused %llu, redelivered %llu, "
               "dead-lettered %llu; up %.0f s\n",
               bs->inflight, (unsigned long long) bs->replied_total,
               (unsigned long long) bs->busy_total, (unsigned long long) bs->rejected_total,
               (unsigned long long) bs->redelivered_total,
               (unsigned long long) bs->dead_lettered_total, bs->uptime_seconds);
    }
    rr__v1__broker_stats__free_unpacked(bs, NULL);
    return 0;
}
