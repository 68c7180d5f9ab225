// Ratings where the rules meet the world (issue 18, point 6): with keys, a
// center's key rates only as itself and an operator's key, which reads
// anything, records none; and "once per referral" holds when centers'
// clients race each other through several workers, each sending twice.
#include "cli_rate.h"
#include "it_harness.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static it_stack stack;
static cli_center *client;
static PGconn *db;
static it_stack keyed; // the stack with keys, while its test runs
static bool keyed_up;

static int
setup(void **state)
{
    (void) state;
    return it_session_start(&stack, &client, &db, "ratings", 67, NULL, NULL) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    if (keyed_up) {
        (void) it_stack_stop(&keyed);
    }
    return it_session_stop(&stack, &client, &db);
}

// A rating of referral by center with a new id (into id), score 5.
static Rr__V1__RateRequest
rating(char id[40], unsigned center, const char *referral)
{
    rr_uuid_generate(id);
    Rr__V1__RateRequest r = RR__V1__RATE_REQUEST__INIT;
    r.rating_id = id;
    r.center_code = center;
    r.referral_id = (char *) referral;
    r.score = 5;
    return r;
}

// With keys (a second stack, slot 66): a center's key rates only as
// itself, and an operator's key, which reads anything, records no rating.
static void
test_with_keys_only_the_centers_own_key_rates_and_an_operator_key_none(void **state)
{
    (void) state;
    char keys[600], registry[700], broker_pub[700], bkey[700], wkey[700], cmd[1400], msg[512];
    (void) snprintf(keys, sizeof keys, "%s/satisfaction-keys", getenv("RR_IT_LOGDIR"));
    (void) snprintf(registry, sizeof registry, "%s/registry", keys);
    (void) snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", keys, keys);
    assert_int_equal(system(cmd), 0);
    (void) snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys);
    (void) snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    (void) snprintf(wkey, sizeof wkey, "%s/worker-any.key", keys);
    it_key_make(keys, "broker", registry, NULL);
    it_key_make(keys, "worker-any", registry, "worker:any");
    it_key_make(keys, "center-941", registry, "center:941");
    it_key_make(keys, "operator", registry, "operator:maryam");
    const char *broker_opts[] = {"--curve-key-file", bkey, "--keys-dir", registry, NULL};
    const char *worker_opts[] = {"--curve-key-file", wkey, "--broker-key", broker_pub, NULL};
    keyed_up = true; // teardown stops it if this test fails half-way
    assert_true(it_stack_start(&keyed, "satisfaction-keys", 66, broker_opts, worker_opts));
    static const struct {
        const char *key;
        unsigned center;
        Rr__V1__Status status;
        const char *field, *words;
    } cases[] = {
        {"operator", 941, RR__V1__STATUS__STATUS_EPERM, "center_code",
         "cannot record a rating as operator:maryam: ratings come from the center that made the "
         "referral"},
        {"center-941", 1924, RR__V1__STATUS__STATUS_EPERM, "center_code",
         "this key belongs to center:941"},
        // Past the key check: the database's answer.
        {"center-941", 941, RR__V1__STATUS__STATUS_ENOTFOUND, "referral_id",
         "referral \"R-999999\" does not exist"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_center *c = it_client_with_key(&keyed, keys, cases[i].key, broker_pub);
        char id[40];
        Rr__V1__RateRequest g = rating(id, cases[i].center, "R-999999");
        Rr__V1__RateReply *r = NULL;
        rr_wire_error err = {0};
        assert_int_equal(cli_center_rate(c, &g, 10000, 3, &r, &err), RR_OK);
        assert_int_equal(r->status, cases[i].status);
        assert_string_equal(r->error->field, cases[i].field);
        (void) snprintf(msg, sizeof msg, "%s", r->error->message);
        if (strstr(msg, cases[i].words) == NULL) {
            print_message("%s: %s\n", cases[i].key, msg);
            fail();
        }
        rr_wire_free(r);
        cli_center_destroy(&c);
    }
    assert_true(
        it_wait_metric_equal(&keyed, "referral_ratings_total{outcome=\"refused\"}", 3, 5000));
    keyed_up = false;
    assert_true(it_stack_stop(&keyed));
}

enum { RATERS = 6, REFERRALS = 10 };

static char targets[REFERRALS][IT_REFERRAL_ID_CAP];

typedef struct rater_thread {
    pthread_t thread;
    int recorded, replayed, conflicts, other; // answers this rater got
} rater_thread;

// Rates every target once with its own rating id, sending each rating
// twice (a retry), through a client of its own.
static void *
rater_main(void *arg)
{
    rater_thread *t = arg;
    const char *ep[1] = {stack.frontend};
    cli_center *c = cli_center_new(ep, 1);
    for (int i = 0; c != NULL && i < REFERRALS; i++) {
        char id[40];
        Rr__V1__RateRequest g = rating(id, 941, targets[i]);
        for (int send = 0; send < 2; send++) {
            Rr__V1__RateReply *r = NULL;
            rr_wire_error err = {0};
            if (cli_center_rate(c, &g, 10000, 5, &r, &err) != RR_OK) {
                t->other++;
                continue;
            }
            if (r->status == RR__V1__STATUS__STATUS_OK) {
                *(r->replayed ? &t->replayed : &t->recorded) += 1;
            } else if (r->status == RR__V1__STATUS__STATUS_ECONFLICT &&
                       strcmp(r->error->field, "referral_id") == 0) {
                t->conflicts++;
            } else {
                t->other++;
            }
            rr_wire_free(r);
        }
    }
    cli_center_destroy(&c);
    return NULL;
}

static void
test_racing_raters_record_one_rating_per_referral_and_each_retry_replays(void **state)
{
    (void) state;
    assert_true(it_worker_start(&stack, "any", NULL) >= 0); // four workers in all
    assert_true(it_wait_workers(&stack, 4, 10000));
    for (int i = 0; i < REFERRALS; i++) {
        char tag[32];
        (void) snprintf(tag, sizeof tag, "race-%d", i);
        it_referral(client, 941, "SOC-03", tag, IT_TO_COMPLETED, 3, targets[i]);
    }
    rater_thread raters[RATERS];
    memset(raters, 0, sizeof raters);
    long long t0 = it_now_ms();
    for (int i = 0; i < RATERS; i++) {
        assert_int_equal(pthread_create(&raters[i].thread, NULL, rater_main, &raters[i]), 0);
    }
    int recorded = 0, replayed = 0, conflicts = 0, other = 0;
    for (int i = 0; i < RATERS; i++) {
        assert_int_equal(pthread_join(raters[i].thread, NULL), 0);
        recorded += raters[i].recorded;
        replayed += raters[i].replayed;
        conflicts += raters[i].conflicts;
        other += raters[i].other;
    }
    print_message("%d raters x %d referrals, each rating sent twice: %d recorded, %d replayed, "
                  "%d refused as already rated, %d other, in %lld ms\n",
                  RATERS, REFERRALS, recorded, replayed, conflicts, other, it_now_ms() - t0);
    // One winner per referral; its retry replays; every other rating (and
    // its retry) is refused as the referral is already rated.
    assert_int_equal(other, 0);
    assert_int_equal(recorded, REFERRALS);
    assert_int_equal(replayed, REFERRALS);
    assert_int_equal(conflicts, REFERRALS * (RATERS - 1) * 2);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral_rating", 0, NULL), REFERRALS);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(DISTINCT referral_id) FROM referral_rating", 0, NULL),
        REFERRALS);
    assert_true(it_wait_metric_equal(&stack, "referral_ratings_total{outcome=\"recorded\"}",
                                     REFERRALS, 5000));
    assert_true(it_wait_metric_equal(&stack, "referral_ratings_total{outcome=\"refused\"}",
                                     REFERRALS * (RATERS - 1) * 2, 5000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_keys_only_the_centers_own_key_rates_and_an_operator_key_none),
        cmocka_unit_test(test_racing_raters_record_one_rating_per_referral_and_each_retry_replays),
    };
    return cmocka_run_group_tests_name("integration.ratings", tests, setup, teardown);
}
