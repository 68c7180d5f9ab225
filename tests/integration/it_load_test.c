// 10,000 requests from 20 concurrent center clients through the real
// stack: every one is acknowledged, and every acknowledged request_id is in
// the referrals table exactly once.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CLIENTS = 20, PER_CLIENT = 500, TOTAL = CLIENTS * PER_CLIENT };

static it_stack stack;

static const char *const services[] = {"SOC-01", "SOC-04", "SOC-09", "PRV-01", "PRV-04",
                                       "PRV-07", "RHB-01", "RHB-02", "RHB-04"};
static const unsigned centers[] = {941, 1924, 2441, 5165, 3102, 4207, 6010};

typedef struct load_client {
    int index;
    char ids[PER_CLIENT][40];
    char referral_ids[PER_CLIENT][32];
    int acked;
    int failed;
} load_client;

static load_client clients[CLIENTS];

static void *
run_client(void *arg)
{
    load_client *lc = arg;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    if (c == NULL) {
        lc->failed = PER_CLIENT;
        return NULL;
    }
    for (int i = 0; i < PER_CLIENT; i++) {
        it_request r;
        char tag[32];
        snprintf(tag, sizeof tag, "L%02d-%04d", lc->index, i);
        int k = lc->index * PER_CLIENT + i;
        it_request_init(&r, centers[k % 7], services[k % 9], tag);
        memcpy(lc->ids[i], r.request_id, sizeof r.request_id);
        Rr__V1__SubmitReply *reply = NULL;
        rr_wire_error err;
        // Retries reuse the request_id, as a center's software must.
        if (cli_center_submit(c, &r.req, 10000, 5, &reply, &err) == RR_OK &&
            reply->outcome == RR__V1__OUTCOME__OUTCOME_ACCEPTED) {
            snprintf(lc->referral_ids[i], sizeof lc->referral_ids[i], "%s", reply->referral_id);
            lc->acked++;
        } else {
            lc->failed++;
        }
        if (reply != NULL) {
            rr_wire_free(reply);
        }
    }
    cli_center_destroy(&c);
    return NULL;
}

static void
test_ten_thousand_requests_from_twenty_clients_are_each_recorded_exactly_once(void **state)
{
    (void) state;
    assert_true(it_stack_start(&stack, "load", 1, NULL, NULL));

    long long t0 = it_now_ms();
    pthread_t threads[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, run_client, &clients[i]), 0);
    }
    int acked = 0, failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        acked += clients[i].acked;
        failed += clients[i].failed;
    }
    long long elapsed = it_now_ms() - t0;
    printf("# %d acknowledged, %d failed in %lld ms (%.0f/s)\n", acked, failed, elapsed,
           elapsed > 0 ? acked * 1000.0 / (double) elapsed : 0.0);
    assert_int_equal(failed, 0);
    assert_int_equal(acked, TOTAL);

    // Reconcile: load every acknowledged (request_id, referral id) and
    // compare with the table.
    PGconn *db = it_db(&stack);
    it_db_exec(db, "CREATE TEMP TABLE acked (request_id uuid, referral_id bigint)");
    PGresult *res = PQexec(db, "COPY acked FROM STDIN");
    assert_int_equal(PQresultStatus(res), PGRES_COPY_IN);
    PQclear(res);
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = 0; i < PER_CLIENT; i++) {
            char line[96];
            int n = snprintf(line, sizeof line, "%s\t%s\n", clients[c].ids[i],
                             clients[c].referral_ids[i] + 2);
            assert_int_equal(PQputCopyData(db, line, n), 1);
        }
    }
    assert_int_equal(PQputCopyEnd(db, NULL), 1);
    while ((res = PQgetResult(db)) != NULL) {
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    assert_int_equal(it_db_scalar(db, "SELECT count(DISTINCT request_id) FROM acked", 0, NULL),
                     TOTAL);
    // Exactly once: every acknowledged id has one row, with the id we were told.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM acked a JOIN referral r"
                                  " ON r.request_id = a.request_id AND r.id = a.referral_id",
                                  0, NULL),
                     TOTAL);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM (SELECT r.request_id FROM referral r"
                                  " JOIN acked a USING (request_id) GROUP BY r.request_id"
                                  " HAVING count(*) <> 1) x",
                                  0, NULL),
                     0);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL), TOTAL);
    assert_int_equal(it_db_referrals_without_history(db), 0);
    PQfinish(db);
    assert_true(it_stack_stop(&stack));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_ten_thousand_requests_from_twenty_clients_are_each_recorded_exactly_once),
    };
    return cmocka_run_group_tests_name("integration.load", tests, NULL, NULL);
}
