// Per-key limits with real keys (issue 16): a center that asks faster than
// --queries-per-second is answered busy with a retry-after once its burst
// is spent, another center meanwhile is not, and an operator's key has ten
// times the rate; a center past --max-inflight-per-principal is answered
// busy at once. The second test uses the first one's keys.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QPS   "5"
#define BURST "10"
#define ASKS  30 // at once: well past the burst

static char keys[600], registry[700], broker_pub[700];

// Sends ASKS follow-ups for center as fast as they are answered (one
// attempt each); counts the busy answers and the largest retry-after.
static void
ask(cli_center *c, unsigned center, int *ok, int *busy, unsigned *retry_max)
{
    *ok = *busy = 0;
    *retry_max = 0;
    for (int i = 0; i < ASKS; i++) {
        Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
        char qid[40];
        snprintf(qid, sizeof qid, "limits-%u-%d", center, i);
        f.query_id = qid;
        f.center_code = center;
        f.limit = 10;
        Rr__V1__FollowReply *reply = NULL;
        rr_wire_error err;
        assert_int_equal(cli_center_follow(c, &f, 5000, 1, &reply, &err), RR_OK);
        if (reply->status == RR__V1__STATUS__STATUS_EBUSY) {
            (*busy)++;
            assert_non_null(reply->error);
            assert_non_null(strstr(reply->error->message, "limit"));
            assert_true(reply->retry_after_ms > 0 && reply->retry_after_ms <= 1000);
            if (reply->retry_after_ms > *retry_max) {
                *retry_max = reply->retry_after_ms;
            }
        } else {
            assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
            (*ok)++;
        }
        rr_wire_free(reply);
    }
}

static void
test_a_center_asking_too_fast_is_answered_busy_with_a_retry_after(void **state)
{
    (void) state;
    const char *logroot = getenv("RR_IT_LOGDIR");
    snprintf(keys, sizeof keys, "%s/limits-keys", logroot);
    snprintf(registry, sizeof registry, "%s/registry", keys);
    snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", keys, keys);
    assert_int_equal(system(cmd), 0);
    it_key_make(keys, "broker", registry, NULL);
    it_key_make(keys, "worker-any", registry, "worker:any");
    it_key_make(keys, "center-941", registry, "center:941");
    it_key_make(keys, "center-1924", registry, "center:1924");
    it_key_make(keys, "operator", registry, "operator:limits");
    char bkey[700], wkey[700];
    snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    snprintf(wkey, sizeof wkey, "%s/worker-any.key", keys);
    const char *broker_opts[] = {
        "--curve-key-file", bkey,  "--keys-dir", registry, "--queries-per-second", QPS,
        "--query-burst",    BURST, NULL};
    const char *worker_opts[] = {"--curve-key-file", wkey, "--broker-key", broker_pub, NULL};
    it_stack s;
    assert_true(it_stack_start(&s, "limits", 44, broker_opts, worker_opts));

    cli_center *c941 = it_client_with_key(&s, keys, "center-941", broker_pub);
    cli_center *c1924 = it_client_with_key(&s, keys, "center-1924", broker_pub);
    cli_center *op = it_client_with_key(&s, keys, "operator", broker_pub);
    int ok = 0, busy = 0;
    unsigned retry = 0;
    ask(c941, 941, &ok, &busy, &retry);
    printf("# center 941, %d follow-ups at once: %d answered, %d busy (retry after at most %u "
           "ms)\n",
           ASKS, ok, busy, retry);
    // The burst (10) and what refilled meanwhile (5/s) are answered; the rest busy.
    assert_true(ok >= 10 && ok < ASKS);
    assert_true(busy > 0);
    // Another center has its own bucket.
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.query_id = "limits-1924";
    f.center_code = 1924;
    Rr__V1__FollowReply *reply = NULL;
    rr_wire_error err;
    assert_int_equal(cli_center_follow(c1924, &f, 5000, 1, &reply, &err), RR_OK);
    assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(reply);
    // The retry-after is honest: after it, 941 is answered again.
    it_sleep_ms((long) retry + 50);
    f.query_id = "limits-941-again";
    f.center_code = 941;
    assert_int_equal(cli_center_follow(c941, &f, 5000, 1, &reply, &err), RR_OK);
    assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(reply);
    // An operator has ten times the rate and burst: 30 at once all pass.
    ask(op, 941, &ok, &busy, &retry);
    printf("# operator, %d follow-ups at once: %d answered, %d busy\n", ASKS, ok, busy);
    assert_int_equal(busy, 0);
    assert_true(it_wait_metric(&s, "referral_principal_limited_total", 1, 5000));
    assert_true(it_file_count(s.broker.log, "center:941", 1));

    cli_center_destroy(&c941);
    cli_center_destroy(&c1924);
    cli_center_destroy(&op);
    assert_true(it_stack_stop(&s));
}

// With no worker, a center's requests wait in the broker: past
// --max-inflight-per-principal the next one is answered busy at once,
// naming the limit, while another center's still queues.
static void
test_a_center_past_its_outstanding_limit_is_answered_busy(void **state)
{
    (void) state;
    char bkey[700];
    snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    const char *broker_opts[] = {"--curve-key-file",
                                 bkey,
                                 "--keys-dir",
                                 registry,
                                 "--max-inflight-per-principal",
                                 "3",
                                 NULL};
    it_stack s;
    it_stack_init(&s, "limits2", 44);
    it_broker_start(&s, broker_opts);
    cli_center *c941 = it_client_with_key(&s, keys, "center-941", broker_pub);
    cli_center *c1924 = it_client_with_key(&s, keys, "center-1924", broker_pub);
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    for (int i = 0; i < 3; i++) { // queued, unanswered: no worker
        char tag[32];
        snprintf(tag, sizeof tag, "limits-wait-%d", i);
        it_request r;
        it_request_init(&r, 941, "SOC-09", tag);
        assert_int_equal(cli_center_submit(c941, &r.req, 300, 1, &reply, &err), RR_ETIMEDOUT);
    }
    it_request r;
    it_request_init(&r, 941, "SOC-09", "limits-fourth");
    long long t0 = it_now_ms();
    assert_int_equal(cli_center_submit(c941, &r.req, 5000, 1, &reply, &err), RR_OK);
    long long took = it_now_ms() - t0;
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_non_null(reply->error);
    assert_non_null(strstr(reply->error->message, "limit 3"));
    assert_non_null(strstr(reply->error->message, r.request_id));
    printf("# the fourth request of a center with 3 waiting: busy in %lld ms: %s\n", took,
           reply->error->message);
    assert_true(took < 1000);
    rr_wire_free(reply);
    // Another center is not held to 941's count: its request queues (and
    // waits, as there is no worker).
    it_request_init(&r, 1924, "SOC-09", "limits-other");
    assert_int_equal(cli_center_submit(c1924, &r.req, 300, 1, &reply, &err), RR_ETIMEDOUT);
    assert_true(it_wait_metric(&s, "referral_principal_limited_total", 1, 5000));
    cli_center_destroy(&c941);
    cli_center_destroy(&c1924);
    assert_true(it_stack_stop(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_center_asking_too_fast_is_answered_busy_with_a_retry_after),
        cmocka_unit_test(test_a_center_past_its_outstanding_limit_is_answered_busy),
    };
    return cmocka_run_group_tests_name("integration.limits", tests, NULL, NULL);
}
