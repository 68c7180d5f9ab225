// A worker of every domain (`referral-worker --domain any`): alone, it
// serves submissions of all three domains (each recorded in its own
// domain), the queries, and an office's update; the broker counts it in
// every domain and reports every domain ready; the monitor lists it as
// "any". A domain's own worker may join beside it (which of the two goes
// first is brk_registry's, tested in unit.registry).
#include "cli_center.h"
#include "it_harness.h"
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

static void
test_one_worker_of_every_domain_serves_them_all(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "anyworker", 21);
    it_broker_start(&s, NULL);
    it_worker_start(&s, "any", NULL);
    // One worker, counted in each of the three domains.
    assert_true(it_wait_workers(&s, 3, 10000));
    assert_true(it_wait_http(&s, "/readyz", 200, NULL, 5000));
    char body[65536];
    int port = atoi(strrchr(s.http, ':') + 1);
    assert_int_equal(it_http_get(port, "/api/v1/workers", body, sizeof body), 200);
    assert_non_null(strstr(body, "\"domain\":\"any\""));

    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    PGconn *db = it_db(&s);
    static const char *const services[] = {"PRV-01", "RHB-02", "SOC-03"};
    static const Rr__V1__Domain domains[] = {RR__V1__DOMAIN__DOMAIN_PREVENTION,
                                             RR__V1__DOMAIN__DOMAIN_REHABILITATION,
                                             RR__V1__DOMAIN__DOMAIN_SOCIAL};
    char referral[3][32];
    for (int i = 0; i < 3; i++) {
        it_request r;
        it_request_init(&r, 941, services[i], "any");
        Rr__V1__SubmitReply *reply = it_submit(c, &r.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        assert_int_equal(reply->domain, domains[i]);
        snprintf(referral[i], sizeof referral[i], "%s", reply->referral_id);
        rr_wire_free(reply);
    }
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(DISTINCT domain) FROM referral WHERE domain IN"
                                  " ('prevention', 'rehabilitation', 'social')",
                                  0, NULL),
                     3);
    // A query and an office's update, through the same worker.
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    char qid[40];
    rr_uuid_generate(qid);
    q.query_id = qid;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = referral[1];
    Rr__V1__StatusReply *sr = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_status(c, &q, 10000, 3, &sr, &err), RR_OK);
    assert_int_equal(sr->status, RR__V1__STATUS__STATUS_OK);
    assert_int_equal(sr->referral->domain, RR__V1__DOMAIN__DOMAIN_REHABILITATION);
    rr_wire_free(sr);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = referral[1];
    u.domain = RR__V1__DOMAIN__DOMAIN_REHABILITATION;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED;
    u.office_code = "CO-2301";
    u.expected_version = 1;
    Rr__V1__UpdateReply *ur = NULL;
    assert_int_equal(cli_center_update(c, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
    // An update naming the wrong domain is still refused by the referral.
    rr_uuid_generate(uid);
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED;
    u.expected_version = 2;
    assert_int_equal(cli_center_update(c, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(ur->error->field, "domain");
    rr_wire_free(ur);

    // A social worker joins beside it: four workers by domain, all served.
    it_worker_start(&s, "social", NULL);
    assert_true(it_wait_workers(&s, 4, 10000));
    for (int i = 0; i < 5; i++) {
        it_request r;
        char tag[16];
        snprintf(tag, sizeof tag, "both-%d", i);
        it_request_init(&r, 941, i % 2 ? "SOC-05" : "PRV-02", tag);
        Rr__V1__SubmitReply *reply = it_submit(c, &r.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        rr_wire_free(reply);
    }
    PQfinish(db);
    cli_center_destroy(&c);
    assert_true(it_stack_stop(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_worker_of_every_domain_serves_them_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
