// cli_center against brokers that are not what it expects, over a real
// ipc socket: a version 1 broker is named at once (no waiting out the
// timeout), and a request that breaks a documented limit is refused
// locally, with the broker's typed error, without being sent.
#include "cli_center.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char endpoint[64];

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static Rr__V1__SubmitRequest
valid(void)
{
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    req.center_code = 941;
    req.national_id = "0012345679";
    req.household_id = "H-941-0007";
    req.service_code = "SOC-01";
    req.consent = true;
    return req;
}

// A broker of protocol version 1: answers each message once, with the four
// frames v1 had (no correlation), counting what it received.
typedef struct old_broker {
    void *ctx, *router;
    int received;
} old_broker;

static void *
serve_v1(void *arg)
{
    old_broker *b = arg;
    int timeout = 3000;
    zmq_setsockopt(b->router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    rr_frames f;
    if (rr_frames_recv(b->router, &f, 0) != RR_OK) {
        return NULL;
    }
    b->received++;
    zmq_send(b->router, zmq_msg_data(&f.part[0]), zmq_msg_size(&f.part[0]), ZMQ_SNDMORE);
    zmq_send(b->router, "", 0, ZMQ_SNDMORE);
    zmq_send(b->router, "RRC1", 4, ZMQ_SNDMORE);
    zmq_send(b->router, "\x01", 1, ZMQ_SNDMORE);
    zmq_send(b->router, "", 0, 0);
    rr_frames_close(&f);
    return NULL;
}

static void
test_a_version_1_broker_is_named_at_once(void **state)
{
    (void) state;
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/rr-client-test-%d", (int) getpid());
    old_broker b = {zmq_ctx_new(), NULL, 0};
    b.router = zmq_socket(b.ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(b.router, endpoint), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_v1, &b), 0);
    const char *eps[] = {endpoint};
    cli_center *c = cli_center_new(eps, 1);
    assert_non_null(c);
    Rr__V1__SubmitRequest req = valid();
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    long long t0 = now_ms();
    assert_int_equal(cli_center_submit(c, &req, 5000, 3, &reply, &err), RR_EPROTO);
    assert_true(now_ms() - t0 < 2500); // not the 5 s timeout, nor three of them
    assert_null(reply);
    assert_non_null(strstr(err.message, "RRC1"));
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(b.received, 1); // no retries against it
    cli_center_destroy(&c);
    zmq_close(b.router);
    zmq_ctx_term(b.ctx);
    char path[64];
    snprintf(path, sizeof path, "/tmp/rr-client-test-%d", (int) getpid());
    unlink(path);
}

static void
test_a_request_over_a_limit_is_refused_without_sending(void **state)
{
    (void) state;
    // No broker at all: the refusal cannot have come from one.
    const char *eps[] = {"ipc:///tmp/rr-client-test-nobody"};
    cli_center *c = cli_center_new(eps, 1);
    assert_non_null(c);
    static char note[200 * 1024 + 1];
    memset(note, 'a', sizeof note - 1);
    Rr__V1__SubmitRequest req = valid();
    req.note = note;
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    long long t0 = now_ms();
    assert_int_equal(cli_center_submit(c, &req, 5000, 3, &reply, &err), RR_OK);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_ETOOBIG);
    assert_string_equal(reply->error->field, "note");
    assert_string_equal(reply->error->message,
                        "field \"note\" is too long: 204800 bytes, limit 4000");
    assert_string_equal(reply->request_id, req.request_id);
    rr_wire_free(reply);
    // A query breaking its own limit, likewise: FOLLOW's limit.
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.center_code = 941;
    f.limit = 5000;
    Rr__V1__FollowReply *page = NULL;
    assert_int_equal(cli_center_follow(c, &f, 5000, 3, &page, &err), RR_OK);
    assert_int_equal(page->status, RR__V1__STATUS__STATUS_ETOOBIG);
    assert_string_equal(page->error->field, "limit");
    rr_wire_free(page);
    // And a cursor past what the database holds (not EDB, which means retry).
    f.limit = 0;
    f.after_seq = UINT64_MAX;
    assert_int_equal(cli_center_follow(c, &f, 5000, 3, &page, &err), RR_OK);
    assert_int_equal(page->status, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(page->error->field, "after_seq");
    rr_wire_free(page);
    cli_center_destroy(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_version_1_broker_is_named_at_once),
        cmocka_unit_test(test_a_request_over_a_limit_is_refused_without_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
