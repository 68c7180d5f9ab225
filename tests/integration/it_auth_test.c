// CURVE authentication end to end: keys made and registered with
// referralctl, a broker that admits only registered keys, workers with
// their own keys, and centers and offices that can act only as themselves.
// An unknown key, a spoofed center or office, a worker key used as a center
// and a key revoked while connected are all refused, with a typed answer.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_keys.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char out[65536];
static it_stack s;
static char keys[600];     // the test's key files
static char registry[700]; // the broker's key directory
static char broker_pub[700];

static int
ctl(const char *fmt, ...)
{
    char args[2048], cmd[2600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", getenv("RR_CTL_BIN"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// NAME.key/.pub under keys, registered as principal unless NULL; a client
// authenticating with NAME.key.
static void
make_key(const char *name, const char *principal)
{
    it_key_make(keys, name, registry, principal);
}

static cli_center *
client_as(const char *name)
{
    return it_client_with_key(&s, keys, name, broker_pub);
}

static rr_status
submit(cli_center *c, const it_request *r, long timeout_ms, Rr__V1__SubmitReply **reply,
       rr_wire_error *err)
{
    *reply = NULL;
    return cli_center_submit(c, &r->req, timeout_ms, 1, reply, err);
}

static int
setup(void **state)
{
    (void) state;
    const char *logroot = getenv("RR_IT_LOGDIR");
    snprintf(keys, sizeof keys, "%s/auth-keys", logroot);
    snprintf(registry, sizeof registry, "%s/registry", keys);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", keys, keys);
    if (system(cmd) != 0) {
        return -1;
    }
    snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys);
    return 0;
}

static void
test_only_registered_keys_act_and_only_as_themselves(void **state)
{
    (void) state;
    make_key("broker", NULL);
    make_key("worker-any", "worker:any");
    make_key("center-941", "center:941");
    make_key("center-1924", "center:1924");
    make_key("stranger", NULL);
    assert_int_equal(ctl("keys list --dir %s", registry), 0);
    assert_non_null(strstr(out, "center:941"));
    assert_non_null(strstr(out, "worker:any"));
    assert_null(strstr(out, "broker"));

    char bkey[700], wkey[700], why[512];
    snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    snprintf(wkey, sizeof wkey, "%s/worker-any.key", keys);
    const char *broker_opts[] = {"--curve-key-file", bkey, "--keys-dir", registry, NULL};
    const char *worker_opts[] = {"--curve-key-file", wkey, "--broker-key", broker_pub, NULL};
    assert_true(it_stack_start(&s, "auth", 17, broker_opts, worker_opts));
    assert_true(it_wait_workers(&s, 3, 10000)); // three worker:any keys admitted

    // A center acts as itself.
    cli_center *c941 = client_as("center-941");
    it_request mine;
    it_request_init(&mine, 941, "RHB-02", "auth-mine");
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err = {0};
    assert_int_equal(submit(c941, &mine, 10000, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    char referral[32], office[32];
    snprintf(referral, sizeof referral, "%s", reply->referral_id);
    snprintf(office, sizeof office, "%s", reply->office_code);
    rr_wire_free(reply);

    // ... and cannot submit for another center, nor read its referrals.
    it_request spoof;
    it_request_init(&spoof, 1924, "RHB-02", "auth-spoof");
    assert_int_equal(submit(c941, &spoof, 10000, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EPERM);
    assert_non_null(strstr(reply->error->message, "belongs to center:941"));
    rr_wire_free(reply);
    PGconn *db = it_db(&s);
    const char *p[] = {spoof.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 0);
    assert_true(it_file_count(s.workers[1].log, "belongs to center:941", 1));

    cli_center *c1924 = client_as("center-1924");
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    char qid[40];
    rr_uuid_generate(qid);
    q.query_id = qid;
    q.center_code = 941; // 1924's key claiming to be 941
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = referral;
    Rr__V1__StatusReply *sr = NULL;
    assert_int_equal(cli_center_status(c1924, &q, 10000, 1, &sr, &err), RR_OK);
    assert_int_equal(sr->status, RR__V1__STATUS__STATUS_EPERM);
    assert_null(sr->referral);
    rr_wire_free(sr);

    // An office acts only as itself: registered while the broker runs.
    char principal[64];
    snprintf(principal, sizeof principal, "office:%s", office);
    make_key("office", principal);
    it_sleep_ms(1200); // the broker re-reads the directory on its next tick
    cli_center *off = client_as("office");
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = referral;
    u.domain = RR__V1__DOMAIN__DOMAIN_REHABILITATION;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED;
    u.office_code = "CO-9999"; // not this key's office
    u.expected_version = 1;
    Rr__V1__UpdateReply *ur = NULL;
    assert_int_equal(cli_center_update(off, &u, 10000, 1, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_EPERM);
    rr_wire_free(ur);
    rr_uuid_generate(uid);
    u.office_code = office;
    assert_int_equal(cli_center_update(off, &u, 10000, 1, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
    // With its own key alone, through referralctl, the office reads the
    // referral and moves it on: no version or domain copied from anywhere.
    char as_office[2048];
    snprintf(as_office, sizeof as_office,
             "--broker %s --curve-key-file %s/office.key --broker-key %s", s.frontend, keys,
             broker_pub);
    assert_int_equal(ctl("status %s --office %s %s", referral, office, as_office), 0);
    assert_non_null(strstr(out, "status     received"));
    assert_non_null(strstr(out, "version    2"));
    assert_int_equal(
        ctl("update %s --to accepted --by %s --reason 'seen' %s", referral, office, as_office), 0);
    assert_non_null(strstr(out, " accepted, owner "));
    // Its key cannot read as another office.
    assert_int_equal(ctl("status %s --office CO-9999 %s", referral, as_office), 1);
    assert_non_null(strstr(out, "EPERM"));

    // An unknown key is refused in the handshake: a typed error, at once.
    cli_center *stranger = client_as("stranger");
    it_request r;
    it_request_init(&r, 941, "RHB-02", "auth-stranger");
    long long t0 = it_now_ms();
    assert_int_equal(submit(stranger, &r, 10000, &reply, &err), RR_EPERM);
    assert_true(it_now_ms() - t0 < 5000);
    assert_non_null(strstr(err.message, "refused this key"));
    assert_true(it_file_count(s.broker.log, "not registered", 1));

    // A worker key cannot act as a center.
    cli_center *posing = client_as("worker-any");
    it_request_init(&r, 941, "RHB-02", "auth-posing");
    assert_int_equal(submit(posing, &r, 10000, &reply, &err), RR_EPERM);
    assert_true(it_file_count(s.broker.log, "not allowed on the centers' socket", 1));

    // Revoked while connected: refused from its next message, no restart.
    assert_int_equal(ctl("keys revoke --dir %s --principal center:941", registry), 0);
    assert_non_null(strstr(out, "revoked center:941"));
    it_sleep_ms(1200);
    it_request_init(&r, 941, "RHB-02", "auth-revoked");
    assert_int_equal(submit(c941, &r, 10000, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EPERM);
    rr_wire_free(reply);
    cli_center *again = client_as("center-941"); // and a new connection is refused
    assert_int_equal(submit(again, &r, 10000, &reply, &err), RR_EPERM);
    const char *pr[] = {r.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, pr), 0);
    assert_true(it_wait_metric(&s, "referral_unauthorized_total", 1, 2000));

    // A worker key for one domain cannot register for another.
    make_key("worker-social", "worker:social");
    it_sleep_ms(1200);
    char skey[700];
    snprintf(skey, sizeof skey, "%s/worker-social.key", keys);
    const char *social_opts[] = {"--curve-key-file", skey, "--broker-key", broker_pub, NULL};
    double refused = it_metric(&s, "referral_unauthorized_total");
    int wrong = it_worker_start(&s, "prevention", social_opts);
    assert_true(it_wait_metric(&s, "referral_unauthorized_total", refused + 1, 10000));
    assert_true(it_file_count(s.broker.log, "refused READY from worker:social", 1)); // says why
    // Only the first prevention worker serves.
    assert_true(it_metric(&s, "referral_workers_registered{domain=\"prevention\"}") == 1);
    assert_int_equal(it_proc_stop(&s.workers[wrong], SIGTERM, 10000), 0);

    // ... not even by registering again, already registered for its own.
    void *zctx = zmq_ctx_new();
    void *fake = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(fake, ZMQ_LINGER, &linger, sizeof linger), 0);
    rr_curve_client wc;
    assert_int_equal(rr_curve_client_load(skey, broker_pub, &wc, why, sizeof why), RR_OK);
    assert_int_equal(rr_curve_client_apply(&wc, fake, why, sizeof why), RR_OK);
    assert_int_equal(zmq_connect(fake, s.backend), 0);
    const char *social = "referral_workers_registered{domain=\"social\"}";
    double socials = it_metric(&s, social);
    refused = it_metric(&s, "referral_unauthorized_total");
    for (int d = 0; d < 2; d++) {
        Rr__V1__WorkerReady ready = RR__V1__WORKER_READY__INIT;
        ready.domain = d == 0 ? RR__V1__DOMAIN__DOMAIN_SOCIAL : RR__V1__DOMAIN__DOMAIN_PREVENTION;
        ready.credit = 1;
        ready.host = "fake";
        zmq_msg_t body;
        assert_int_equal(rr_wire_pack(&ready.base, &body), RR_OK);
        assert_int_equal(rr_wire_send_to_broker(fake, RR_WCMD_READY, &body), RR_OK);
        if (d == 0) { // its own domain: registered
            assert_true(it_wait_metric_equal(&s, social, socials + 1, 5000));
        }
    }
    // The READY for prevention is refused, and drops the social registration
    // it came from; prevention still has its one worker.
    assert_true(it_wait_metric(&s, "referral_unauthorized_total", refused + 1, 5000));
    assert_true(it_wait_metric_equal(&s, social, socials, 5000));
    assert_true(it_metric(&s, "referral_workers_registered{domain=\"prevention\"}") == 1);
    zmq_close(fake);
    zmq_ctx_term(zctx);

    // Without keys at all: no answer (the broker speaks only CURVE).
    const char *eps[] = {s.frontend};
    cli_center *plain = cli_center_new(eps, 1);
    it_request_init(&r, 941, "RHB-02", "auth-plain");
    assert_int_equal(submit(plain, &r, 1500, &reply, &err), RR_ETIMEDOUT);

    cli_center_destroy(&plain);
    cli_center_destroy(&again);
    cli_center_destroy(&posing);
    cli_center_destroy(&stranger);
    cli_center_destroy(&off);
    cli_center_destroy(&c1924);
    cli_center_destroy(&c941);
    PQfinish(db);
    assert_true(it_stack_stop(&s));
}

static void
test_the_broker_will_not_start_without_keys_or_insecure(void **state)
{
    (void) state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s --frontend tcp://127.0.0.1:1 --http off > %s/nokeys.log 2>&1",
             getenv("RR_BROKER_BIN"), keys);
    int status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char log[800];
    snprintf(log, sizeof log, "%s/nokeys.log", keys);
    assert_true(it_file_count(log, "--insecure", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_registered_keys_act_and_only_as_themselves),
        cmocka_unit_test(test_the_broker_will_not_start_without_keys_or_insecure),
    };
    return cmocka_run_group_tests_name("integration.auth", tests, setup, NULL);
}
