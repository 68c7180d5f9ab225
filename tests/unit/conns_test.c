// brk_conns: the caps' decisions, the descriptor plan, and the caps on a
// real ROUTER socket over loopback TCP (raw connections that never greet).
#include "brk_conns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static void
test_brk_conns_decide_caps_in_all_then_per_address(void **state)
{
    (void) state;
    brk_conns_limits lim = {10, 3};
    assert_int_equal(brk_conns_decide(&lim, 0, 0), BRK_CONN_ADMIT);
    assert_int_equal(brk_conns_decide(&lim, 9, 2), BRK_CONN_ADMIT);
    assert_int_equal(brk_conns_decide(&lim, 9, 3), BRK_CONN_OVER_ADDR);
    assert_int_equal(brk_conns_decide(&lim, 10, 0), BRK_CONN_OVER_TOTAL);
    assert_int_equal(brk_conns_decide(&lim, 11, 5), BRK_CONN_OVER_TOTAL);
}

static void
test_brk_conns_fit_lowers_the_caps_to_the_descriptor_limit(void **state)
{
    (void) state;
    // Room enough: as wanted.
    brk_conns_plan p = brk_conns_fit(65536, 8192, 1024, 256);
    assert_false(p.lowered);
    assert_int_equal(p.centers, 8192);
    assert_int_equal(p.workers, 1024);
    assert_int_equal(p.monitor, 256);
    // systemd's default soft limit: in proportion, within 1024 - reserve.
    p = brk_conns_fit(1024, 8192, 1024, 256);
    assert_true(p.lowered);
    assert_true(p.centers + p.workers + p.monitor <= 1024 - BRK_CONNS_RESERVE_FDS);
    assert_true(p.centers > p.workers && p.workers > p.monitor && p.monitor >= 1);
    // Below the reserve: one connection each, never zero.
    p = brk_conns_fit(16, 8192, 1024, 256);
    assert_true(p.lowered);
    assert_int_equal(p.centers, 1);
    assert_int_equal(p.workers, 1);
    assert_int_equal(p.monitor, 1);
}

// A raw TCP connection to port from source address src (127.0.0.x).
static int
raw_connect(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    a.sin_port = htons((uint16_t) port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof a), 0);
    return fd;
}

// True when the peer closed fd within timeout_ms: reads what it sent (the
// broker's side of the ZeroMQ greeting) until the end of the stream.
static bool
closed_within(int fd, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left =
            timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int) left) <= 0) {
            return false;
        }
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return true;
        }
    }
}

static void
pump(brk_conns *c, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        zmq_pollitem_t item = {brk_conns_socket(c), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) > 0) {
            brk_conns_handle(c, 0);
        }
    }
}

static void
test_brk_conns_shuts_connections_over_the_caps(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char endpoint[64];
    size_t len = sizeof endpoint;
    assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
    int port = atoi(strrchr(endpoint, ':') + 1);
    brk_noisy noisy;
    brk_noisy_init(&noisy, 5, "connection");
    brk_conns *c = brk_conns_new(ctx, router, "centers", (brk_conns_limits){4, 2}, &noisy);
    assert_non_null(c);

    // Three from one address: the third is shut down, the first two stay.
    int a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = raw_connect("127.0.0.2", port);
    }
    pump(c, 300);
    assert_true(closed_within(a[2], 1000));
    assert_false(closed_within(a[0], 50));
    assert_false(closed_within(a[1], 50));
    brk_conns_counts n = brk_conns_count(c);
    assert_int_equal(n.open, 2);
    assert_int_equal(n.refused_addr, 1);

    // Another address: two more fit the total of four, the next does not.
    int b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = raw_connect("127.0.0.3", port);
    }
    pump(c, 300);
    assert_true(closed_within(b[2], 1000));
    n = brk_conns_count(c);
    assert_int_equal(n.open, 4);
    assert_int_equal(n.refused_total, 1);

    // One leaves: its place is free again.
    close(a[0]);
    pump(c, 300);
    assert_int_equal(brk_conns_count(c).open, 3);
    int d = raw_connect("127.0.0.2", port);
    pump(c, 300);
    assert_false(closed_within(d, 50));
    assert_int_equal(brk_conns_count(c).open, 4);

    close(d);
    close(a[1]);
    close(a[2]);
    for (int i = 0; i < 3; i++) {
        close(b[i]);
    }
    brk_conns_destroy(&c);
    assert_null(c);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_conns_decide_caps_in_all_then_per_address),
        cmocka_unit_test(test_brk_conns_fit_lowers_the_caps_to_the_descriptor_limit),
        cmocka_unit_test(test_brk_conns_shuts_connections_over_the_caps),
    };
    return cmocka_run_group_tests_name("unit.conns", tests, NULL, NULL);
}
