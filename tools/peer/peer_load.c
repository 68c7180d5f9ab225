// The RabbitMQ peer's load: the bench's clients (tool_load.h: the same
// requests, windows, schedule, resends and latency from the scheduled
// time), each on its own AMQP connection and thread, publishing each
// encoded SubmitRequest as a persistent message to its domain's durable
// queue with publisher confirms. A request counts as acknowledged when the
// consumer's "done" message with its reply arrives on the client's reply
// queue, after the COMMIT that recorded it. Then the bench's tally and
// reconciliation (tool_tally.h) are printed as one JSON object.
#include "peer_amqp.h"
#include "peer_roles.h"

#include "rr_clock.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_uuid.h"
#include "rr_vocab.h"
#include "tool_load.h"
#include "tool_tally.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_CONNECTIONS 64
#define CONFIRM_WAIT_MS 5000 // after the last reply, for the last confirms

// A client's AMQP side (its client.sock points here).
typedef struct connection {
    peer_amqp *amqp;
    char reply_to[PEER_QUEUE_NAME_BYTES + 1];
    // By rr_domain; [0], for a service code of no known domain, is the
    // shared queue, which only consumers of domain any read.
    char queues[RR_DOMAIN_COUNT + 1][PEER_QUEUE_NAME_BYTES + 1];
    // Publisher confirms: message n (numbered from 1) is settled when
    // settled[n] is; every one below low is.
    uint8_t *settled; // owned, cap bytes
    size_t cap;
    uint64_t published, low, confirmed, nacked;
    bool failed;
    pthread_t thread;
    bool started;
} connection;

static bool
publish(client *c, slot *s)
{
    connection *l = c->sock;
    if (l->failed) {
        return false;
    }
    if (l->published + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        uint8_t *more = realloc(l->settled, cap);
        if (more == NULL) {
            fprintf(stderr, "rabbit-peer: out of memory for confirms\n");
            l->failed = true;
            return false;
        }
        memset(more + l->cap, 0, cap - l->cap);
        l->settled = more;
        l->cap = cap;
    }
    const char *queue = l->queues[s->domain <= RR_DOMAIN_COUNT ? s->domain : 0];
    if (!peer_amqp_publish(l->amqp, queue, s->body, s->size, true, l->reply_to)) {
        l->failed = true;
        return false;
    }
    l->published++;
    return true;
}

static void
settle(connection *l, const peer_event *ev)
{
    uint64_t from = ev->multiple ? l->low : ev->tag;
    for (uint64_t t = from; t <= ev->tag && t <= l->published; t++) {
        if (!l->settled[t]) {
            l->settled[t] = 1;
            if (ev->kind == PEER_EV_ACK) {
                l->confirmed++;
            } else {
                l->nacked++;
            }
        }
    }
    while (l->low <= l->published && l->settled[l->low]) {
        l->low++;
    }
}

// A done message: the replies of the requests one consumer batch settled.
static void
on_done(client *c, const uint8_t *p, size_t size)
{
    while (size >= 4) {
        size_t len = (size_t) p[0] << 24 | (size_t) p[1] << 16 | (size_t) p[2] << 8 | p[3];
        if (len > size - 4) {
            break;
        }
        tool_load_on_reply(c, p + 4, len);
        p += 4 + len;
        size -= 4 + len;
    }
    if (size != 0) {
        fprintf(stderr, "rabbit-peer: client %d: a malformed done message\n", c->index);
        c->errors++;
    }
}

// Handles what arrives within wait_ms, then what is at hand. False when the
// connection failed.
static bool
take_events(client *c, long wait_ms)
{
    connection *l = c->sock;
    peer_event ev;
    for (long wait = wait_ms;; wait = 0) {
        if (!peer_amqp_next(l->amqp, wait, &ev)) {
            return false;
        }
        if (ev.kind == PEER_EV_NONE) {
            break;
        }
        if (ev.kind == PEER_EV_DELIVERY) {
            on_done(c, ev.body, ev.size);
        } else {
            settle(l, &ev);
        }
        peer_event_clear(&ev);
    }
    peer_amqp_release(l->amqp);
    return true;
}

static void *
run_client(void *arg)
{
    client *c = arg;
    connection *l = c->sock;
    tool_load_begin(c);
    for (;;) {
        long wait_ms = 5;
        if (!tool_load_step(c, rr_clock_mono_us(), &wait_ms)) {
            break;
        }
        if (l->failed || !take_events(c, wait_ms)) {
            c->errors++;
            l->failed = true;
            return NULL;
        }
    }
    int64_t until = rr_clock_mono_ms() + CONFIRM_WAIT_MS;
    while (l->confirmed + l->nacked < l->published && rr_clock_mono_ms() < until) {
        if (!take_events(c, 50)) {
            c->errors++;
            l->failed = true;
            break;
        }
    }
    return NULL;
}

// Connects client i's connection: confirms, the request queues, its reply queue.
static bool
connection_open(connection *l, int i, const char *host, long port, const char *user,
                const char *password, bool shared, const char *queue_type)
{
    char who[32];
    rr_format_fits(who, sizeof who, "load connection %d", i);
    l->low = 1;
    l->amqp = peer_amqp_new(host, (int) port, user, password, who);
    if (l->amqp == NULL || !peer_amqp_confirm_select(l->amqp)) {
        return false;
    }
    for (int d = 0; d <= RR_DOMAIN_COUNT; d++) {
        rr_format_fits(l->queues[d], sizeof l->queues[d], PEER_QUEUE_PREFIX "%s",
                       shared ? "any" : rr_domain_or_any(d));
        if ((d == 0 || !shared) && !peer_amqp_declare(l->amqp, l->queues[d], queue_type)) {
            return false;
        }
    }
    return peer_amqp_declare_private(l->amqp, l->reply_to) &&
           peer_amqp_consume(l->amqp, l->reply_to, true);
}

static double
cpu_seconds(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) {
        return 0;
    }
    return (double) u.ru_utime.tv_sec + (double) u.ru_utime.tv_usec / 1e6 +
           (double) u.ru_stime.tv_sec + (double) u.ru_stime.tv_usec / 1e6;
}

int
peer_load_main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    const char *host = NULL, *user = NULL, *password = NULL, *queues = NULL, *queue_type = NULL;
    const char *dup_text = NULL;
    long port = 0;
    rr_opt opts[] = {
        {"amqp-host", RR_OPT_STRING, NULL, "127.0.0.1", "RabbitMQ's address", &host, 0, 0},
        {"amqp-port", RR_OPT_INT, NULL, "5672", "RabbitMQ's AMQP port", &port, 1, 65535},
        {"amqp-user", RR_OPT_STRING, NULL, "guest", "RabbitMQ user", &user, 0, 0},
        {"amqp-password", RR_OPT_STRING, NULL, "guest", "RabbitMQ password", &password, 0, 0},
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral",
         "the consumers' database: catalogue and the final check", &b.db, 0, 0},
        {"connections", RR_OPT_INT, NULL, "4", "AMQP connections, each with its own thread",
         &b.clients, 1, MAX_CONNECTIONS},
        {"window", RR_OPT_INT, NULL, "128", "requests each connection keeps outstanding", &b.window,
         1, MAX_WINDOW},
        {"duration", RR_OPT_INT, NULL, "10", "seconds of load (unless --count)", &b.duration_s, 1,
         3600},
        {"count", RR_OPT_INT, NULL, "0", "requests in all instead of --duration", &b.count, 0,
         100000000},
        {"rate", RR_OPT_INT, NULL, "0", "open loop: requests per second in all (0: closed loop)",
         &b.rate, 0, 10000000},
        {"dup-rate", RR_OPT_STRING, NULL, "0",
         "share of requests repeating the client's previous household and service (0..1)",
         &dup_text, 0, 0},
        {"timeout-ms", RR_OPT_INT, NULL, "5000", "republish an unanswered request after, ms",
         &b.timeout_ms, 100, 600000},
        {"queues", RR_OPT_STRING, NULL, "domains",
         "domains: one queue per domain (consumers per domain); shared: one queue for all "
         "(consumers of domain any)",
         &queues, 0, 0},
        {"queue-type", RR_OPT_STRING, NULL, "classic", "classic or quorum", &queue_type, 0, 0},
    };
    rr_status st =
        rr_config_parse("rabbit-peer load",
                        "rabbit-peer load: the bench's requests through RabbitMQ to consumers "
                        "that record them; prints one JSON object",
                        opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return EXIT_SUCCESS;
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
    bool shared = strcmp(queues, "shared") == 0;
    if (!shared && strcmp(queues, "domains") != 0) {
        fprintf(stderr, "invalid --queues \"%s\": expected domains or shared\n", queues);
        return 2;
    }
    PGconn *db = PQconnectdb(b.db);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "rabbit-peer: cannot connect to the database: %s", PQerrorMessage(db));
        PQfinish(db);
        return 1;
    }
    PGresult *res = PQexec(db, "SET client_min_messages = warning"); // no NOTICE from DROP
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || !tool_load_catalog(&b, db)) {
        if (!ok) {
            fprintf(stderr, "rabbit-peer: %s", PQerrorMessage(db));
        }
        PQfinish(db);
        return 1;
    }
    char uuid[RR_UUID_TEXT_LEN + 1];
    rr_uuid_generate(uuid);
    rr_format_fits(b.tag, sizeof b.tag, "q%.8s", uuid);
    b.natid_base = (uint32_t) (strtoul(uuid, NULL, 16) % 1000000000u); // its first 8 hex digits
    b.send = publish;
    atomic_init(&b.issued, 0);
    atomic_init(&b.natid_next, 0);

    client *clients = calloc((size_t) b.clients, sizeof *clients);
    connection *conns = calloc((size_t) b.clients, sizeof *conns);
    int exit_code = 1;
    ok = clients != NULL && conns != NULL;
    if (!ok) {
        fprintf(stderr, "rabbit-peer: out of memory\n");
    }
    for (long i = 0; ok && i < b.clients; i++) {
        clients[i].b = &b;
        clients[i].index = (int) i;
        clients[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t) (i + 1);
        clients[i].sock = &conns[i];
        ok = connection_open(&conns[i], (int) i, host, port, user, password, shared, queue_type);
    }
    if (!ok) {
        goto done;
    }
    fprintf(stderr, "rabbit-peer: %ld connections, window %ld, %s %ld%s\n", b.clients, b.window,
            b.count ? "count" : "duration", b.count ? b.count : b.duration_s, b.count ? "" : " s");
    double cpu0 = cpu_seconds();
    b.start_us = rr_clock_mono_us();
    b.stop_us = b.count ? INT64_MAX : b.start_us + b.duration_s * 1000000;
    for (long i = 0; i < b.clients; i++) {
        conns[i].started = pthread_create(&conns[i].thread, NULL, run_client, &clients[i]) == 0;
        if (!conns[i].started) {
            fprintf(stderr, "rabbit-peer: cannot start a client thread\n");
            clients[i].errors++;
        }
    }
    for (long i = 0; i < b.clients; i++) {
        if (conns[i].started) {
            pthread_join(conns[i].thread, NULL);
        }
    }
    // As the bench: the acknowledgements after the senders stopped count,
    // and so does the time they took.
    double elapsed = (double) (rr_clock_mono_us() - b.start_us) / 1e6;
    double cpu = cpu_seconds() - cpu0;
    tool_tally sum;
    tool_tally_sum(clients, b.clients, &sum);
    long lost = -1, duplicated = -1, extra = -1;
    bool checked = tool_tally_reconcile(&b, db, clients, b.clients, &lost, &duplicated, &extra);
    uint64_t published = 0, confirmed = 0, nacked = 0;
    for (long i = 0; i < b.clients; i++) {
        published += conns[i].published;
        confirmed += conns[i].confirmed;
        nacked += conns[i].nacked;
    }
    double acked_per_s = elapsed > 0 ? (double) sum.acked / elapsed : 0;
    // Built field by field: a pack format this long is easy to miscount.
    json_t *o = json_object();
    const struct {
        const char *name;
        double value;
    } numbers[] = {
        {"acked", (double) sum.acked},
        {"acked_per_s", acked_per_s},
        {"p50_ms", sum.p50},
        {"p90_ms", sum.p90},
        {"p99_ms", sum.p99},
        {"max_ms", sum.max},
        {"seconds", elapsed},
        {"lost", (double) lost},
        {"duplicated", (double) duplicated},
        {"connections", (double) b.clients},
        {"window", (double) b.window},
        {"rate", (double) b.rate},
        {"rejected", (double) sum.rejected},
        {"resent", (double) sum.resent},
        {"unanswered", (double) sum.unanswered},
        {"recorded_unacknowledged", (double) extra},
        {"errors", (double) sum.errors},
        {"published", (double) published},
        {"confirmed", (double) confirmed},
        {"nacked", (double) nacked},
        {"load_cpu_us", sum.acked ? cpu * 1e6 / (double) sum.acked : 0.0},
    };
    for (size_t i = 0; o != NULL && i < sizeof numbers / sizeof numbers[0]; i++) {
        double v = numbers[i].value;
        json_t *n = v == (double) (json_int_t) v ? json_integer((json_int_t) v) : json_real(v);
        if (json_object_set_new(o, numbers[i].name, n) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    if (o != NULL &&
        (json_object_set_new(o, "queues", json_string(shared ? "shared" : "domains")) != 0 ||
         json_object_set_new(o, "queue_type", json_string(queue_type)) != 0)) {
        json_decref(o);
        o = NULL;
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(o);
    bool clean = lost == 0 && duplicated == 0 && sum.rejected == 0 && sum.errors == 0 &&
                 nacked == 0 && confirmed == published;
    exit_code = checked && clean ? 0 : 1;
done:
    for (long i = 0; conns != NULL && i < b.clients; i++) {
        peer_amqp_destroy(&conns[i].amqp);
        free(conns[i].settled);
    }
    for (long i = 0; clients != NULL && i < b.clients; i++) {
        free(clients[i].acked);
        free(clients[i].lat_ms);
    }
    free(conns);
    free(clients);
    PQfinish(db);
    return exit_code;
}
