#include "tool_relay.h"

#include "rr_clock.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_process.h"
#include "rr_wire.h"
#include "wrk_echo.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MAX_ECHOES   16
#define HELLO        "relay-echo-ready"
#define MAX_FRAMES   8
#define POLL_TICK_MS 200

typedef struct echo_thread {
    void *ctx;
    char endpoint[128];
    int index;
    pthread_t thread;
    bool started;
} echo_thread;

static volatile int stopping;

// Answers every call on its DEALER as an echo worker would, until the
// relay stops. A call comes as a ROUTER would see it: the center's routing
// id first, so the answer goes back through the relay to that center.
static void *
run_echo(void *arg)
{
    echo_thread *e = arg;
    void *sock = zmq_socket(e->ctx, ZMQ_DEALER);
    int linger = 0, timeout = POLL_TICK_MS, hwm = 0;
    if (sock == NULL || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_connect(sock, e->endpoint) != 0 || zmq_send(sock, HELLO, strlen(HELLO), 0) < 0) {
        fprintf(stderr, "relay: echo %d could not start: %s\n", e->index, zmq_strerror(errno));
        if (sock != NULL) {
            zmq_close(sock);
        }
        return NULL;
    }
    uint64_t serial = 0;
    while (!stopping) {
        rr_wire_call call;
        rr_wire_error err;
        rr_status st = rr_wire_recv_call(sock, 0, &call, &err);
        if (st == RR_EAGAIN) {
            continue;
        }
        if (st != RR_OK && st != RR_EPROTO) {
            break;
        }
        wrk_job job = {0};
        job.command = call.command;
        int rc = zmq_msg_init(&job.body);
        assert(rc == 0);
        (void) rc;
        rr_msg_move(&job.body, &call.body);
        zmq_msg_t reply;
        wrk_echo_reply(&job, ++serial, &reply);
        if (rr_wire_send_answer(sock, &call.peer, call.version, call.command, call.correlation,
                                &reply) != RR_OK) {
            fprintf(stderr, "relay: echo %d could not answer\n", e->index);
        }
        rr_msg_close(&job.body);
        rr_wire_call_close(&call);
    }
    zmq_close(sock);
    return NULL;
}

// Reads one multipart message into frames (at most MAX_FRAMES; more is an
// error, the rest dropped). The count, or -1.
static int
recv_frames(void *sock, zmq_msg_t frames[MAX_FRAMES])
{
    int n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        int rc = zmq_msg_init(&m);
        assert(rc == 0);
        (void) rc;
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            rr_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < MAX_FRAMES) {
            frames[n++] = m;
        } else {
            rr_msg_close(&m);
            n = MAX_FRAMES + 1;
        }
    }
    if (n > MAX_FRAMES || more) {
        for (int i = 0; i < (n > MAX_FRAMES ? MAX_FRAMES : n); i++) {
            rr_msg_close(&frames[i]);
        }
        return -1;
    }
    return n;
}

// Sends frames[from..n) on sock, after prefix when not NULL; closes them.
static void
send_frames(void *sock, const zmq_msg_t *prefix, zmq_msg_t *frames, int from, int n)
{
    if (prefix != NULL) {
        zmq_msg_t copy;
        int rc = zmq_msg_init(&copy);
        assert(rc == 0);
        rc = zmq_msg_copy(&copy, (zmq_msg_t *) prefix);
        assert(rc == 0);
        (void) rc;
        if (zmq_msg_send(&copy, sock, ZMQ_SNDMORE) < 0) {
            rr_msg_close(&copy);
        }
    }
    for (int i = from; i < n; i++) {
        if (zmq_msg_send(&frames[i], sock, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
            rr_msg_close(&frames[i]);
        }
    }
    for (int i = 0; i < from; i++) {
        rr_msg_close(&frames[i]);
    }
}

// The relay: centers' calls to the echo threads in turn, answers back.
static int
relay(void *front, void *back, int echoes, long seconds)
{
    if (echoes < 1 || echoes > MAX_ECHOES) {
        return 2; // the option's range makes this impossible
    }
    zmq_msg_t ids[MAX_ECHOES];
    int known = 0, next = 0;
    int64_t until = seconds > 0 ? rr_clock_mono_ms() + seconds * 1000 : INT64_MAX;
    while (!rr_process_stop && rr_clock_mono_ms() < until) {
        zmq_pollitem_t items[2] = {{back, 0, ZMQ_POLLIN, 0}, {front, 0, ZMQ_POLLIN, 0}};
        // Calls are taken only once every echo has said hello.
        int rc = zmq_poll(items, known == echoes ? 2 : 1, POLL_TICK_MS);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        zmq_msg_t f[MAX_FRAMES];
        if (items[0].revents & ZMQ_POLLIN) {
            int n = recv_frames(back, f);
            if (n == 2 && zmq_msg_size(&f[1]) == strlen(HELLO) && known < MAX_ECHOES) {
                ids[known++] = f[0];
                rr_msg_close(&f[1]);
            } else if (n >= 2) {
                send_frames(front, NULL, f, 1, n); // [echo id] center id, "", RRC2, ...
            } else if (n > 0) {
                send_frames(front, NULL, f, n, n); // nothing to forward: close
            }
        }
        if (known == echoes && (items[1].revents & ZMQ_POLLIN)) {
            int n = recv_frames(front, f);
            if (n > 0) {
                send_frames(back, &ids[next], f, 0, n);
                next = (next + 1) % echoes;
            }
        }
    }
    for (int i = 0; i < known; i++) {
        rr_msg_close(&ids[i]);
    }
    return 0;
}

int
tool_relay_main(int argc, char **argv)
{
    const char *frontend = NULL;
    long echoes = 0, seconds = 0;
    rr_opt opts[] = {
        {"frontend", RR_OPT_STRING, NULL, "tcp://127.0.0.1:5565",
         "where centers (the bench) connect, as to a broker", &frontend, 0, 0},
        {"echoes", RR_OPT_INT, NULL, "3", "echo threads, as the broker's three --no-db workers",
         &echoes, 1, MAX_ECHOES},
        {"duration", RR_OPT_INT, NULL, "0", "seconds to run (0: until SIGINT or SIGTERM)", &seconds,
         0, 86400},
    };
    rr_status st = rr_config_parse("referralctl relay",
                                   "referralctl relay: a bare ZeroMQ relay with echo threads, "
                                   "for `referralctl bench --no-db` to measure the wire's limit",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK || rr_process_start("referralctl relay", "warn", "text") != RR_OK) {
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *front = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    void *back = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    int linger = 0, hwm = 0;
    char back_ep[128] = "";
    size_t len = sizeof back_ep;
    bool ok = front != NULL && back != NULL &&
              zmq_setsockopt(front, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
              zmq_setsockopt(back, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
              zmq_setsockopt(front, ZMQ_SNDHWM, &hwm, sizeof hwm) == 0 &&
              zmq_setsockopt(front, ZMQ_RCVHWM, &hwm, sizeof hwm) == 0 &&
              zmq_setsockopt(back, ZMQ_SNDHWM, &hwm, sizeof hwm) == 0 &&
              zmq_setsockopt(back, ZMQ_RCVHWM, &hwm, sizeof hwm) == 0 &&
              zmq_bind(front, frontend) == 0 && zmq_bind(back, "tcp://127.0.0.1:*") == 0 &&
              zmq_getsockopt(back, ZMQ_LAST_ENDPOINT, back_ep, &len) == 0;
    if (!ok) {
        fprintf(stderr, "referralctl relay: cannot listen on %s: %s\n", frontend,
                zmq_strerror(errno));
    }
    echo_thread e[MAX_ECHOES];
    memset(e, 0, sizeof e);
    for (long i = 0; ok && i < echoes; i++) {
        e[i].ctx = ctx;
        e[i].index = (int) i;
        rr_format_fits(e[i].endpoint, sizeof e[i].endpoint, "%s", back_ep);
        e[i].started = pthread_create(&e[i].thread, NULL, run_echo, &e[i]) == 0;
        ok = e[i].started;
    }
    int rc = 1;
    if (ok) {
        fprintf(stderr, "referralctl relay: %s, %ld echo threads\n", frontend, echoes);
        rc = relay(front, back, (int) echoes, seconds);
    }
    stopping = 1;
    for (long i = 0; i < echoes; i++) {
        if (e[i].started) {
            pthread_join(e[i].thread, NULL);
        }
    }
    if (front != NULL) {
        zmq_close(front);
    }
    if (back != NULL) {
        zmq_close(back);
    }
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    return rc;
}
