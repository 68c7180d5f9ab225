// The RabbitMQ peer's consumer: takes up to a batch of deliveries from its
// queue, hands them to the worker's own handler (wrk_handler: decode,
// validate, route, submit_referrals in one statement and one COMMIT), then
// publishes one "done" message per reply queue with the replies of the
// requests it settled, and acknowledges the deliveries, all after COMMIT.
#define RR_LOG_MODULE "consume"
#include "peer_amqp.h"
#include "peer_roles.h"

#include "rr_clock.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_log.h"
#include "rr_process.h"
#include "rr_vocab.h"
#include "rr_wire.h"
#include "wrk_handler.h"
#include "wrk_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define IDLE_WAIT_MS 200 // between looks at the stop flag and the catalogue

// One delivery of the batch in hand.
typedef struct delivery {
    uint64_t tag;
    char reply_to[PEER_QUEUE_NAME_BYTES + 1];
    bool requeue; // not settled: the server delivers it again
} delivery;

// The replies bound for one reply queue: entries of a 4-byte big-endian
// length and an encoded SubmitReply, as the load reads them.
typedef struct done_msg {
    char reply_to[PEER_QUEUE_NAME_BYTES + 1];
    uint8_t *buf; // owned
    size_t len, cap;
} done_msg;

typedef struct consumer {
    peer_amqp *amqp;
    wrk_handler *handler;
    size_t batch;
    long batch_wait_ms;
    wrk_job jobs[WRK_MAX_BATCH];
    zmq_msg_t replies[WRK_MAX_BATCH];
    delivery deliveries[WRK_MAX_BATCH];
    done_msg done[WRK_MAX_BATCH];
    size_t ndone;
} consumer;

// Makes ev (a delivery) the batch's next job; a delivery that cannot be
// copied is given back to the server.
static bool
take(consumer *self, peer_event *ev, size_t *n)
{
    wrk_job *job = &self->jobs[*n];
    memset(job, 0, sizeof *job);
    job->command = RR_CMD_SUBMIT;
    // A delivery the server redelivers was refused before (the database
    // refused it, or a consumer died holding it): its failure now is final,
    // as the broker marks a request's last attempt.
    job->last_attempt = ev->redelivered;
    job->outcome = RR_WIRE_NO_OUTCOME;
    if (zmq_msg_init_size(&job->body, ev->size) != 0) {
        rr_log_error("could not take a delivery of %zu bytes: %s", ev->size, zmq_strerror(errno));
        bool ok = peer_amqp_nack(self->amqp, ev->tag, true);
        peer_event_clear(ev);
        return ok;
    }
    memcpy(zmq_msg_data(&job->body), ev->body, ev->size);
    delivery *d = &self->deliveries[*n];
    d->tag = ev->tag;
    memcpy(d->reply_to, ev->reply_to, sizeof d->reply_to);
    d->requeue = false;
    (*n)++;
    peer_event_clear(ev);
    return true;
}

// Takes the deliveries that arrive within wait_ms and those at hand after
// them, up to the batch size. False when the connection failed.
static bool
collect(consumer *self, long wait_ms, size_t *n)
{
    peer_event ev;
    long wait = wait_ms;
    while (*n < self->batch) {
        if (!peer_amqp_next(self->amqp, wait, &ev)) {
            return false;
        }
        if (ev.kind == PEER_EV_NONE) {
            return true;
        }
        if (ev.kind == PEER_EV_DELIVERY && !take(self, &ev, n)) {
            return false;
        }
        peer_event_clear(&ev);
        wait = 0;
    }
    return true;
}

static done_msg *
done_for(consumer *self, const char *reply_to)
{
    for (size_t i = 0; i < self->ndone; i++) {
        if (strcmp(self->done[i].reply_to, reply_to) == 0) {
            return &self->done[i];
        }
    }
    done_msg *d = &self->done[self->ndone++];
    memcpy(d->reply_to, reply_to, sizeof d->reply_to);
    d->len = 0;
    return d;
}

static bool
done_put(done_msg *d, const zmq_msg_t *reply)
{
    size_t size = zmq_msg_size(reply);
    if (size > UINT32_MAX) {
        return false;
    }
    if (d->len + 4 + size > d->cap) {
        size_t cap = (d->cap + 4 + size) * 2;
        uint8_t *more = realloc(d->buf, cap);
        if (more == NULL) {
            return false;
        }
        d->buf = more;
        d->cap = cap;
    }
    uint32_t len = (uint32_t) size;
    uint8_t *p = d->buf + d->len;
    p[0] = (uint8_t) (len >> 24);
    p[1] = (uint8_t) (len >> 16);
    p[2] = (uint8_t) (len >> 8);
    p[3] = (uint8_t) len;
    memcpy(p + 4, zmq_msg_data((zmq_msg_t *) reply), size);
    d->len += 4 + size;
    return true;
}

// Records the batch of n, tells each request's sender, and settles the
// deliveries. False when the connection failed.
static bool
process(consumer *self, size_t n)
{
    wrk_handler_process(self->handler, self->jobs, n, self->replies);
    self->ndone = 0;
    bool all_settled = true;
    for (size_t i = 0; i < n; i++) {
        const wrk_job *job = &self->jobs[i];
        delivery *d = &self->deliveries[i];
        // Busy (the database away) or failed (refused, to be retried): the
        // router's broker would queue it again; here the server does.
        d->requeue = job->failed || job->outcome == RR__V1__OUTCOME__OUTCOME_BUSY;
        if (!d->requeue && d->reply_to[0] != '\0' &&
            !done_put(done_for(self, d->reply_to), &self->replies[i])) {
            rr_log_error("out of memory for a done message: its sender will resend");
        }
        all_settled &= !d->requeue;
        rr_msg_close(&self->replies[i]);
        rr_msg_close(&self->jobs[i].body);
    }
    for (size_t i = 0; i < self->ndone; i++) {
        const done_msg *d = &self->done[i];
        if (d->len > 0 &&
            !peer_amqp_publish(self->amqp, d->reply_to, d->buf, d->len, false, NULL)) {
            return false;
        }
    }
    if (all_settled) {
        return peer_amqp_ack(self->amqp, self->deliveries[n - 1].tag, true);
    }
    for (size_t i = 0; i < n; i++) {
        const delivery *d = &self->deliveries[i];
        if (!(d->requeue ? peer_amqp_nack(self->amqp, d->tag, true)
                         : peer_amqp_ack(self->amqp, d->tag, false))) {
            return false;
        }
    }
    return true;
}

static int
run(consumer *self)
{
    while (!rr_process_stop) {
        peer_amqp_release(self->amqp);
        size_t n = 0;
        if (!collect(self, IDLE_WAIT_MS, &n)) {
            return EXIT_FAILURE;
        }
        if (n == 1 && self->batch_wait_ms > 0 && self->batch > 1 &&
            !collect(self, self->batch_wait_ms, &n)) {
            // As the worker's --batch-wait-ms: a batch of one pays the whole
            // statement and COMMIT alone, so a second request may join it.
            return EXIT_FAILURE;
        }
        if (n == 0) {
            if (wrk_handler_prepare(self->handler) != RR_OK) {
                rr_log_debug("catalogue not loaded: database away");
            }
            continue;
        }
        if (!process(self, n)) {
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

int
peer_consume_main(int argc, char **argv)
{
    const char *host = NULL, *user = NULL, *password = NULL, *db = NULL, *domain_name = NULL;
    const char *queue_type = NULL, *log_level = NULL, *log_format = NULL;
    long port = 0, prefetch = 0, batch = 0, batch_wait_ms = 0;
    rr_opt opts[] = {
        {"amqp-host", RR_OPT_STRING, NULL, "127.0.0.1", "RabbitMQ's address", &host, 0, 0},
        {"amqp-port", RR_OPT_INT, NULL, "5672", "RabbitMQ's AMQP port", &port, 1, 65535},
        {"amqp-user", RR_OPT_STRING, NULL, "guest", "RabbitMQ user", &user, 0, 0},
        {"amqp-password", RR_OPT_STRING, NULL, "guest", "RabbitMQ password", &password, 0, 0},
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral",
         "libpq connection string of the referral database", &db, 0, 0},
        {"domain", RR_OPT_STRING, NULL, "",
         "domain served, as referral-worker's --domain (any: the queue of every domain) "
         "(required)",
         &domain_name, 0, 0},
        {"prefetch", RR_OPT_INT, NULL, "128", "deliveries unacknowledged at once (basic.qos)",
         &prefetch, 1, 65535},
        {"batch", RR_OPT_INT, NULL, "128", "requests recorded in one transaction at most", &batch,
         1, WRK_MAX_BATCH},
        {"batch-wait-ms", RR_OPT_INT, NULL, "1",
         "how long a lone request waits for a second to share its transaction, ms (0: never)",
         &batch_wait_ms, 0, 100},
        {"queue-type", RR_OPT_STRING, NULL, "classic", "classic or quorum (as the load declares)",
         &queue_type, 0, 0},
        {"log-level", RR_OPT_STRING, NULL, "info", "error, warn, info or debug", &log_level, 0, 0},
        {"log-format", RR_OPT_STRING, NULL, "text", "text or json", &log_format, 0, 0},
    };
    rr_status st = rr_config_parse(
        "rabbit-peer consume",
        "rabbit-peer consume: records the requests of one RabbitMQ queue as a worker does", opts,
        (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return EXIT_SUCCESS;
    }
    if (st != RR_OK) {
        return 2;
    }
    rr_domain domain = RR_DOMAIN_NONE;
    if (!rr_domain_parse_worker(domain_name, &domain)) {
        fprintf(stderr,
                "invalid --domain \"%s\": expected prevention, rehabilitation, social or "
                "any, optionally with a suffix such as \"social-2\"\n",
                domain_name);
        return 2;
    }
    char process_name[64], queue[PEER_QUEUE_NAME_BYTES + 1];
    if (rr_format_exact(process_name, sizeof process_name, "rabbit-peer.%s", domain_name) !=
        RR_OK) {
        fprintf(stderr, "invalid --domain \"%s\": too long\n", domain_name);
        return 2;
    }
    rr_format_fits(queue, sizeof queue, PEER_QUEUE_PREFIX "%s", rr_domain_or_any(domain));
    if (rr_process_start(process_name, log_level, log_format) != RR_OK) {
        return 2;
    }
    consumer *self = calloc(1, sizeof *self);
    wrk_store *store = wrk_store_new(db, process_name);
    if (self == NULL || store == NULL ||
        (self->handler = wrk_handler_new(domain, store, 5000)) == NULL) {
        rr_log_error("could not start: out of memory");
        free(self);
        wrk_store_destroy(&store);
        return EXIT_FAILURE;
    }
    self->batch = (size_t) batch;
    self->batch_wait_ms = batch_wait_ms;
    int exit_code = EXIT_FAILURE;
    // The database first, as the worker connects before offering credit.
    while (!rr_process_stop && wrk_store_ensure(store) != RR_OK) {
        struct timespec ts = {0, 200L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rr_process_stop) {
        exit_code = EXIT_SUCCESS;
        goto done;
    }
    if (wrk_handler_prepare(self->handler) != RR_OK) {
        rr_log_warn("catalogue not loaded yet: it will be at the first request");
    }
    self->amqp = peer_amqp_new(host, (int) port, user, password, process_name);
    if (self->amqp == NULL || !peer_amqp_declare(self->amqp, queue, queue_type) ||
        !peer_amqp_qos(self->amqp, (uint16_t) prefetch) ||
        !peer_amqp_consume(self->amqp, queue, false)) {
        goto done;
    }
    rr_log_info("consuming %s (prefetch %ld, batches of up to %ld)", queue, prefetch, batch);
    exit_code = run(self);
    uint64_t processed = 0, failed = 0, batches = 0, items = 0;
    wrk_handler_counters(self->handler, &processed, &failed, &batches, &items);
    rr_log_info("stopping: %llu requests in %llu batches (%.1f a batch), %llu refused",
                (unsigned long long) items, (unsigned long long) batches,
                batches ? (double) items / (double) batches : 0.0, (unsigned long long) failed);
done:
    // Deliveries not acknowledged go back to the queue with the connection.
    peer_amqp_destroy(&self->amqp);
    for (size_t i = 0; i < WRK_MAX_BATCH; i++) {
        free(self->done[i].buf);
    }
    wrk_handler_destroy(&self->handler);
    wrk_store_destroy(&store);
    free(self);
    return exit_code;
}
