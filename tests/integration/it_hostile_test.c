// Hostile networks and greedy clients against the real broker (issue 16):
// a FOLLOW cursor past what the database holds is bad input, not an
// outage; the monitor answers only Host names it knows (DNS rebinding),
// every answer carries its security headers, and a flood of connections
// beyond the broker's descriptors neither spins it nor fills its log.
#include "it_harness.h"
#include "it_raw.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#define EXTRA_HOST "ops.example.test"

static it_stack stack;
static int http_port;
static char answer[1 << 20];

static int
setup(void **state)
{
    (void) state;
    const char *broker[] = {"--monitor-host", EXTRA_HOST, NULL};
    if (!it_stack_start(&stack, "hostile", 26, broker, NULL)) {
        return -1;
    }
    http_port = atoi(strrchr(stack.http, ':') + 1);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    return it_stack_stop(&stack) ? 0 : -1;
}

// ---- FOLLOW's cursor ----------------------------------------------------------

static Rr__V1__FollowReply *
follow_raw(void *center, const char *qid, uint64_t after_seq)
{
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.query_id = (char *) qid;
    f.center_code = 941;
    f.after_seq = after_seq;
    it_raw_call(center, RR_CMD_FOLLOW, qid, &f.base);
    rr_wire_call a;
    assert_true(it_raw_answer(center, 10000, &a));
    assert_int_equal(a.command, RR_CMD_FOLLOW);
    assert_string_equal(a.correlation, qid);
    Rr__V1__FollowReply *reply = NULL;
    assert_int_equal(rr_wire_unpack(zmq_msg_data(&a.body), zmq_msg_size(&a.body), &reply, NULL),
                     RR_OK);
    rr_wire_call_close(&a);
    return reply;
}

// Sent past the client library (which refuses it locally) straight to the
// broker: a cursor of 2^63 or more is answered EINVAL on after_seq, not
// EDB "database unavailable", which a client retries forever.
static void
test_a_follow_cursor_past_a_bigint_is_refused_as_bad_input_not_an_outage(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *center = it_raw_socket(ctx, stack.frontend);
    const uint64_t bad[] = {(uint64_t) INT64_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char qid[32];
        snprintf(qid, sizeof qid, "cursor-%zu", i);
        Rr__V1__FollowReply *reply = follow_raw(center, qid, bad[i]);
        assert_int_equal(reply->status, RR__V1__STATUS__STATUS_EINVAL);
        assert_string_equal(reply->query_id, qid);
        assert_non_null(reply->error);
        assert_string_equal(reply->error->field, "after_seq");
        assert_non_null(strstr(reply->error->message, "invalid after_seq "));
        rr_wire_free(reply);
    }
    // The largest cursor there can be reaches the database and is served.
    Rr__V1__FollowReply *reply = follow_raw(center, "cursor-max", (uint64_t) INT64_MAX);
    assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
    assert_int_equal(reply->n_events, 0);
    assert_int_equal(reply->last_seq, (uint64_t) INT64_MAX);
    assert_false(reply->has_more);
    rr_wire_free(reply);
    zmq_close(center);
    zmq_ctx_term(ctx);
}

// ---- the monitor's Host check and headers --------------------------------------

// Sends request (raw text, ending in an empty line) to the monitor and
// reads until it closes: the status code, or -1; the whole answer in out.
static int
raw_http(const char *request, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) http_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0 ||
        write(fd, request, strlen(request)) != (ssize_t) strlen(request)) {
        close(fd);
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, out + len, cap - 1 - len)) > 0) {
        len += (size_t) n;
    }
    out[len] = '\0';
    close(fd);
    int status = -1;
    return sscanf(out, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

static int
get_with_host(const char *path, const char *host)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
             host);
    return raw_http(req, answer, sizeof answer);
}

static void
test_the_monitor_answers_only_host_names_it_knows(void **state)
{
    (void) state;
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", http_port);
    assert_int_equal(get_with_host("/healthz", host), 200);
    snprintf(host, sizeof host, "localhost:%d", http_port);
    assert_int_equal(get_with_host("/healthz", host), 200);
    assert_int_equal(get_with_host("/api/v1/queues", EXTRA_HOST), 200); // --monitor-host
    assert_int_equal(get_with_host("/api/v1/queues", "OPS.example.test.:443"), 200);
    // A page on a name rebound to 127.0.0.1 names its own host: refused,
    // and nothing of the API goes with the refusal.
    snprintf(host, sizeof host, "rebind.attacker.example:%d", http_port);
    assert_int_equal(get_with_host("/api/v1/workers", host), 421);
    assert_null(strstr(answer, "\"workers\""));
    assert_int_equal(get_with_host("/", "localhost.attacker.example"), 421);
    assert_null(strstr(answer, "<title>"));
    // An absolute URI's host is the one that counts.
    assert_int_equal(raw_http("GET http://rebind.attacker.example/metrics HTTP/1.1\r\n"
                              "Host: localhost\r\nConnection: close\r\n\r\n",
                              answer, sizeof answer),
                     421);
    // Missing (HTTP/1.1), doubled, or not a host at all: 400.
    assert_int_equal(
        raw_http("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", answer, sizeof answer), 400);
    assert_int_equal(raw_http("GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
                              "Connection: close\r\n\r\n",
                              answer, sizeof answer),
                     400);
    assert_int_equal(get_with_host("/healthz", "<script>"), 400);
    // HTTP/1.0 may leave Host out (no browser does).
    assert_int_equal(raw_http("GET /healthz HTTP/1.0\r\n\r\n", answer, sizeof answer), 200);
    assert_non_null(strstr(answer, "\r\n\r\nok\n"));
}

// The header line "name: value" in the answer's head.
static bool
has_header(const char *head, const char *line)
{
    char want[400];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    const char *end = strstr(head, "\r\n\r\n");
    const char *at = strstr(head, want);
    return at != NULL && end != NULL && at <= end;
}

static void
test_every_monitor_answer_carries_its_security_headers(void **state)
{
    (void) state;
    struct {
        const char *path;
        int status;
    } paths[] = {{"/", 200},
                 {"/dashboard.js", 200},
                 {"/dashboard.css", 200},
                 {"/metrics", 200},
                 {"/healthz", 200},
                 {"/readyz", 200},
                 {"/api/v1/queues", 200},
                 {"/api/v1/workers", 200},
                 {"/api/v1/history?points=3", 200},
                 {"/api/v1/history?points=0", 400},
                 {"/nothing-here", 404}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_int_equal(get_with_host(paths[i].path, "localhost"), paths[i].status);
        assert_true(has_header(answer, "X-Content-Type-Options: nosniff"));
        assert_true(has_header(answer, "X-Frame-Options: DENY"));
        assert_true(has_header(answer, "Cache-Control: no-store"));
        const char *csp = strstr(answer, "\r\nContent-Security-Policy: ");
        assert_non_null(csp);
        assert_non_null(strstr(csp, "frame-ancestors 'none'"));
        assert_null(strstr(answer, "unsafe-inline"));
    }
    assert_int_equal(get_with_host("/", "localhost"), 200);
    assert_true(has_header(answer, "Content-Security-Policy: default-src 'none'; script-src "
                                   "'self'; style-src 'self'; connect-src 'self'; img-src "
                                   "'self'; base-uri 'none'; form-action 'none'; "
                                   "frame-ancestors 'none'"));
    // The page holds nothing inline for that policy to refuse.
    const char *page = strstr(answer, "\r\n\r\n");
    assert_non_null(page);
    assert_non_null(strstr(page, "<script src=\"dashboard.js\"></script>"));
    assert_null(strstr(page, "<script>"));
    assert_null(strstr(page, "<style"));
    assert_null(strstr(page, "style=\""));
    assert_int_equal(get_with_host("/dashboard.js", "localhost"), 200);
    assert_true(has_header(answer, "Content-Type: text/javascript; charset=utf-8"));
    assert_null(strstr(answer, "innerHTML"));
    assert_null(strstr(answer, "outerHTML"));
    assert_null(strstr(answer, "insertAdjacentHTML"));
    assert_null(strstr(answer, "document.write"));
    assert_int_equal(get_with_host("/metrics", "rebind.attacker.example"), 421);
    assert_true(has_header(answer, "X-Content-Type-Options: nosniff"));
}

// ---- a flood of connections past the descriptor limit ---------------------------

static double
cpu_seconds(pid_t pid)
{
    return (double) it_cpu_ms(pid) / 1000.0;
}

static int
open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

// The process's soft limit on open files (/proc/PID/limits).
static long
nofile_soft(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int) pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long soft = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Max open files", 14) == 0) {
            soft = strtol(line + 14, NULL, 10);
        }
    }
    fclose(f);
    assert_true(soft > 0);
    return soft;
}

static long
log_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

#define FLOOD 200

// The broker gets ten descriptors to spare, then 200 connections arrive
// and stay: accept() fails with EMFILE. The broker must not turn that into
// a busy loop (libevent retries a readable listener at once) or a line per
// attempt, and once the connections go, the monitor answers again.
static void
test_a_connection_flood_past_the_descriptor_limit_neither_spins_nor_floods_the_log(void **state)
{
    (void) state;
    pid_t pid = stack.broker.pid;
    char out[512];
    long before = nofile_soft(pid);
    int soft = open_fds(pid) + 10;
    // The soft limit only, so that it can be raised again without privilege.
    assert_int_equal(it_run(out, sizeof out, "prlimit --pid %d --nofile=%d:", (int) pid, soft), 0);
    int socks[FLOOD];
    for (int i = 0; i < FLOOD; i++) {
        socks[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(socks[i] >= 0);
        assert_int_equal(fcntl(socks[i], F_SETFL, O_NONBLOCK), 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) http_port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = connect(socks[i], (struct sockaddr *) &sa, sizeof sa);
        assert_true(rc == 0 || errno == EINPROGRESS);
    }
    it_sleep_ms(500); // the descriptors are gone by now; accept() fails
    double cpu0 = cpu_seconds(pid);
    long lines0 = log_lines(stack.broker.log);
    it_sleep_ms(3000);
    double cpu = cpu_seconds(pid) - cpu0;
    long lines = log_lines(stack.broker.log) - lines0;
    printf("# flood of %d connections at %d descriptors: %.2f s CPU and %ld log lines in 3 s\n",
           FLOOD, soft, cpu, lines);
    assert_true(cpu < 0.5);
    assert_true(lines <= 3);
    // It said so, once.
    assert_true(it_file_count(stack.broker.log, "cannot accept HTTP monitor connections", 1));
    assert_false(it_file_count(stack.broker.log, "cannot accept HTTP monitor connections", 2));
    for (int i = 0; i < FLOOD; i++) {
        close(socks[i]);
    }
    // Still at the low limit: the monitor frees what the flood held.
    assert_true(it_wait_http(&stack, "/healthz", 200, "ok", 10000));
    assert_true(it_file_count(stack.broker.log, "accepting HTTP monitor connections again", 1));
    assert_int_equal(it_run(out, sizeof out, "prlimit --pid %d --nofile=%ld:", (int) pid, before),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_follow_cursor_past_a_bigint_is_refused_as_bad_input_not_an_outage),
        cmocka_unit_test(test_the_monitor_answers_only_host_names_it_knows),
        cmocka_unit_test(test_every_monitor_answer_carries_its_security_headers),
        cmocka_unit_test(
            test_a_connection_flood_past_the_descriptor_limit_neither_spins_nor_floods_the_log),
    };
    return cmocka_run_group_tests_name("integration.hostile", tests, setup, teardown);
}
