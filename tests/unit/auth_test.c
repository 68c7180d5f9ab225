// brk_auth: which principal may connect to which of the broker's sockets
// (the pure decision), and the ZAP handler answering real ZAP requests over
// inproc from a key directory written for the test.
#include "brk_auth.h"
#include "brk_noisy.h"
#include "rr_keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void
test_brk_auth_admission_admits_centers_and_offices_on_the_front_end_only(void **state)
{
    (void) state;
    const char *front[] = {"center:941", "center:1", "office:CO-2301", "office:PO-11"};
    for (size_t i = 0; i < sizeof front / sizeof front[0]; i++) {
        assert_int_equal(brk_auth_admission(front[i], BRK_AUTH_FRONT_END), BRK_AUTH_ADMITTED);
        assert_int_equal(brk_auth_admission(front[i], BRK_AUTH_BACK_END), BRK_AUTH_WRONG_SIDE);
    }
}

static void
test_brk_auth_admission_admits_workers_on_the_back_end_only(void **state)
{
    (void) state;
    const char *workers[] = {"worker:prevention", "worker:rehabilitation", "worker:social",
                             "worker:any"};
    for (size_t i = 0; i < sizeof workers / sizeof workers[0]; i++) {
        assert_int_equal(brk_auth_admission(workers[i], BRK_AUTH_BACK_END), BRK_AUTH_ADMITTED);
        assert_int_equal(brk_auth_admission(workers[i], BRK_AUTH_FRONT_END), BRK_AUTH_WRONG_SIDE);
    }
}

static void
test_brk_auth_admission_refuses_an_unregistered_key_on_both_sides(void **state)
{
    (void) state;
    assert_int_equal(brk_auth_admission(NULL, BRK_AUTH_FRONT_END), BRK_AUTH_UNREGISTERED);
    assert_int_equal(brk_auth_admission(NULL, BRK_AUTH_BACK_END), BRK_AUTH_UNREGISTERED);
    // The registry never hands out "" (a file without a principal is skipped),
    // and the decision fails closed on it too.
    assert_int_equal(brk_auth_admission("", BRK_AUTH_FRONT_END), BRK_AUTH_UNREGISTERED);
    assert_int_equal(brk_auth_admission("", BRK_AUTH_BACK_END), BRK_AUTH_UNREGISTERED);
}

// ---- the ZAP handler over inproc ----------------------------------------------------

typedef struct fixture {
    char dir[64];
    void *ctx;
    void *req; // REQ connected to the handler, as libzmq's CURVE sockets would be
    brk_noisy noisy;
    brk_auth *auth;
    rr_key_file center, office, worker, stranger; // stranger: not in the directory
} fixture;

static void
register_key(const fixture *fx, const char *name, rr_key_file *key, const char *principal)
{
    char why[256];
    assert_int_equal(rr_keys_generate(key), RR_OK);
    key->secret_key[0] = '\0'; // the registry holds public keys only
    snprintf(key->principal, sizeof key->principal, "%s", principal);
    char path[128];
    snprintf(path, sizeof path, "%s/%s.pub", fx->dir, name);
    assert_int_equal(rr_keys_write(path, key, why, sizeof why), RR_OK);
}

static int
setup_zap(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof fx->dir, "/tmp/rr-auth-test-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    register_key(fx, "center-941", &fx->center, "center:941");
    register_key(fx, "office-co-2301", &fx->office, "office:CO-2301");
    register_key(fx, "worker-social", &fx->worker, "worker:social");
    assert_int_equal(rr_keys_generate(&fx->stranger), RR_OK);
    brk_noisy_init(&fx->noisy, 20, "refusal and protocol-error");
    fx->ctx = zmq_ctx_new();
    assert_non_null(fx->ctx);
    fx->auth = brk_auth_new(fx->ctx, fx->dir, &fx->noisy);
    assert_non_null(fx->auth);
    fx->req = zmq_socket(fx->ctx, ZMQ_REQ);
    assert_non_null(fx->req);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(fx->req, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(fx->req, "inproc://zeromq.zap.01"), 0);
    *state = fx;
    return 0;
}

static int
teardown_zap(void **state)
{
    fixture *fx = *state;
    zmq_close(fx->req);
    brk_auth_destroy(&fx->auth);
    zmq_ctx_term(fx->ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

// One ZAP reply as the handler sent it.
typedef struct zap_reply {
    char frame[6][64];
    int count;
} zap_reply;

// Sends one ZAP request of `count` frames, lets the handler answer it (with a
// deadline) and reads the reply.
static void
zap_exchange(fixture *fx, const char *const *frames, const size_t *sizes, int count, zap_reply *out)
{
    for (int i = 0; i < count; i++) {
        assert_int_equal(zmq_send(fx->req, frames[i], sizes[i], i + 1 < count ? ZMQ_SNDMORE : 0),
                         (int) sizes[i]);
    }
    zmq_pollitem_t item = {brk_auth_socket(fx->auth), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 5000), 1);
    brk_auth_handle(fx->auth);
    memset(out, 0, sizeof *out);
    int more = 1;
    while (more) {
        assert_true(out->count < 6);
        int n = zmq_recv(fx->req, out->frame[out->count], sizeof out->frame[0] - 1, 0);
        assert_true(n >= 0 && n < (int) sizeof out->frame[0]);
        out->frame[out->count][n] = '\0';
        out->count++;
        size_t more_size = sizeof more;
        assert_int_equal(zmq_getsockopt(fx->req, ZMQ_RCVMORE, &more, &more_size), 0);
    }
}

// A well-formed CURVE request for `key` on the socket of ZAP domain `domain`.
static void
curve_request(fixture *fx, const char *domain, const rr_key_file *key, zap_reply *out)
{
    uint8_t raw[32];
    assert_non_null(zmq_z85_decode(raw, key->public_key));
    const char *frames[] = {"1.0", "7", domain, "192.0.2.7", "peer1", "CURVE", (const char *) raw};
    const size_t sizes[] = {3, 1, strlen(domain), 9, 5, 5, 32};
    zap_exchange(fx, frames, sizes, 7, out);
}

static void
assert_reply(const zap_reply *r, const char *code, const char *text, const char *user)
{
    assert_int_equal(r->count, 6);
    assert_string_equal(r->frame[0], "1.0");
    assert_string_equal(r->frame[1], "7"); // the request id, echoed
    assert_string_equal(r->frame[2], code);
    assert_string_equal(r->frame[3], text);
    assert_string_equal(r->frame[4], user);
    assert_string_equal(r->frame[5], ""); // no metadata
}

static void
test_brk_auth_handle_answers_each_principal_on_each_socket(void **state)
{
    fixture *fx = *state;
    zap_reply r;
    curve_request(fx, BRK_ZAP_DOMAIN_CENTERS, &fx->center, &r);
    assert_reply(&r, "200", "OK", fx->center.public_key); // user id: the Z85 key
    curve_request(fx, BRK_ZAP_DOMAIN_WORKERS, &fx->center, &r);
    assert_reply(&r, "400", "key not allowed here", "");
    curve_request(fx, BRK_ZAP_DOMAIN_CENTERS, &fx->office, &r);
    assert_reply(&r, "200", "OK", fx->office.public_key);
    curve_request(fx, BRK_ZAP_DOMAIN_WORKERS, &fx->office, &r);
    assert_reply(&r, "400", "key not allowed here", "");
    curve_request(fx, BRK_ZAP_DOMAIN_WORKERS, &fx->worker, &r);
    assert_reply(&r, "200", "OK", fx->worker.public_key);
    curve_request(fx, BRK_ZAP_DOMAIN_CENTERS, &fx->worker, &r);
    assert_reply(&r, "400", "key not allowed here", "");
    curve_request(fx, BRK_ZAP_DOMAIN_CENTERS, &fx->stranger, &r);
    assert_reply(&r, "400", "key not registered", "");
    curve_request(fx, BRK_ZAP_DOMAIN_WORKERS, &fx->stranger, &r);
    assert_reply(&r, "400", "key not registered", "");
    // Any other domain is treated as the front end's: no worker key there.
    curve_request(fx, "other", &fx->worker, &r);
    assert_reply(&r, "400", "key not allowed here", "");
    curve_request(fx, "other", &fx->center, &r);
    assert_reply(&r, "200", "OK", fx->center.public_key);
    uint64_t admitted = 0, refused = 0;
    brk_auth_counters(fx->auth, &admitted, &refused);
    assert_int_equal(admitted, 4);
    assert_int_equal(refused, 6);
}

static void
test_brk_auth_handle_refuses_malformed_and_non_curve_requests(void **state)
{
    fixture *fx = *state;
    zap_reply r;
    const char *bad_version[] = {"2.0", "7", "centers", "192.0.2.7", "peer1", "CURVE", "x"};
    const size_t bad_version_sizes[] = {3, 1, 7, 9, 5, 5, 1};
    zap_exchange(fx, bad_version, bad_version_sizes, 7, &r);
    assert_reply(&r, "500", "malformed ZAP request", "");
    const char *plain[] = {"1.0", "7", "centers", "192.0.2.7", "peer1", "PLAIN", "user", "pass"};
    const size_t plain_sizes[] = {3, 1, 7, 9, 5, 5, 4, 4};
    zap_exchange(fx, plain, plain_sizes, 8, &r); // eight frames: malformed for CURVE
    assert_reply(&r, "500", "malformed ZAP request", "");
    const char *null_mech[] = {"1.0", "7", "centers", "192.0.2.7", "peer1", "NULL", ""};
    const size_t null_mech_sizes[] = {3, 1, 7, 9, 5, 4, 0};
    zap_exchange(fx, null_mech, null_mech_sizes, 7, &r);
    assert_reply(&r, "400", "CURVE required", "");
    const char *short_key[] = {"1.0", "7", "centers", "192.0.2.7", "peer1", "CURVE", "short"};
    const size_t short_key_sizes[] = {3, 1, 7, 9, 5, 5, 5};
    zap_exchange(fx, short_key, short_key_sizes, 7, &r);
    assert_reply(&r, "400", "CURVE required", "");
    uint64_t admitted = 0, refused = 0;
    brk_auth_counters(fx->auth, &admitted, &refused);
    assert_int_equal(admitted, 0);
    assert_int_equal(refused, 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_auth_admission_admits_centers_and_offices_on_the_front_end_only),
        cmocka_unit_test(test_brk_auth_admission_admits_workers_on_the_back_end_only),
        cmocka_unit_test(test_brk_auth_admission_refuses_an_unregistered_key_on_both_sides),
        cmocka_unit_test_setup_teardown(test_brk_auth_handle_answers_each_principal_on_each_socket,
                                        setup_zap, teardown_zap),
        cmocka_unit_test_setup_teardown(
            test_brk_auth_handle_refuses_malformed_and_non_curve_requests, setup_zap, teardown_zap),
    };
    return cmocka_run_group_tests_name("unit.auth", tests, NULL, NULL);
}
