// Least privilege: workers connected as a member of referral_worker do
// their whole job, and that role can neither drop, alter, truncate nor
// delete; referral_reporting reads and cannot write.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_uuid.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void
expect_denied(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_FATAL_ERROR || state == NULL ||
        (strcmp(state, "42501") != 0 && strcmp(state, "42P01") != 0)) {
        fail_msg("expected permission denied for: %s (got %s %s)", sql,
                 PQresStatus(PQresultStatus(res)), state ? state : "-");
    }
    PQclear(res);
}

static void
test_workers_as_referral_worker_do_their_job_and_cannot_drop_or_alter(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "privilege", 15);
    PGconn *admin = it_db(&s);
    it_db_exec(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                      " 'rr_test_worker') THEN CREATE ROLE rr_test_worker LOGIN IN ROLE"
                      " referral_worker; END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE"
                      " rolname = 'rr_test_reporter') THEN CREATE ROLE rr_test_reporter LOGIN IN"
                      " ROLE referral_reporting; END IF; END $$");
    // The stack's workers connect as the restricted user.
    char restricted[sizeof s.conninfo];
    int n = snprintf(restricted, sizeof restricted,
                     "host=%s user=rr_test_worker dbname=it_privilege", s.pghost);
    assert_true(n > 0 && (size_t) n < sizeof restricted);
    memcpy(s.conninfo, restricted, sizeof restricted);
    it_broker_start(&s, NULL);
    const char *opts[] = {"--escalate-every-ms", "100", NULL};
    it_worker_start(&s, "prevention", opts);
    it_worker_start(&s, "rehabilitation", opts);
    it_worker_start(&s, "social", opts);
    assert_true(it_wait_workers(&s, 3, 20000));

    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request r;
    it_request_init(&r, 941, "SOC-04", "priv");
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    assert_int_equal(cli_center_submit(c, &r.req, 10000, 3, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    char id[32];
    snprintf(id, sizeof id, "%s", reply->referral_id);
    rr_wire_free(reply);
    // A duplicate, an update and a follow-up page work too.
    it_request dup;
    it_request_init(&dup, 941, "SOC-04", "priv");
    assert_int_equal(cli_center_submit(c, &dup.req, 10000, 3, &reply, &err), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_DUPLICATE);
    rr_wire_free(reply);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = id;
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED;
    u.office_code = "CO-2301";
    u.expected_version = 1;
    u.reason = "";
    u.forward_to = "";
    Rr__V1__UpdateReply *ur = NULL;
    assert_int_equal(cli_center_update(c, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.query_id = "q";
    f.center_code = 941;
    Rr__V1__FollowReply *fr = NULL;
    assert_int_equal(cli_center_follow(c, &f, 10000, 3, &fr, &err), RR_OK);
    assert_int_equal(fr->status, RR__V1__STATUS__STATUS_OK);
    assert_int_equal(fr->n_events, 2);
    rr_wire_free(fr);
    cli_center_destroy(&c);

    // The worker role itself: no DDL, no deletes, no history rewrites.
    PGconn *w = PQconnectdb(restricted);
    assert_int_equal(PQstatus(w), CONNECTION_OK);
    it_db_exec(w, "SET search_path = referral");
    expect_denied(w, "DROP TABLE referral");
    expect_denied(w, "ALTER TABLE referral ADD COLUMN x integer");
    expect_denied(w, "TRUNCATE referral_event");
    expect_denied(w, "DELETE FROM referral");
    expect_denied(w, "UPDATE referral_event SET reason = 'rewritten'");
    expect_denied(w, "INSERT INTO routing_rule (office_code) VALUES ('PO-23')");
    expect_denied(w, "SELECT * FROM schema_migrations");
    expect_denied(w, "CREATE TABLE referral.intruder (x integer)");
    PQfinish(w);

    // The reporting role reads and cannot write.
    char reporter[800];
    snprintf(reporter, sizeof reporter, "host=%s user=rr_test_reporter dbname=it_privilege",
             s.pghost);
    PGconn *rep = PQconnectdb(reporter);
    assert_int_equal(PQstatus(rep), CONNECTION_OK);
    it_db_exec(rep, "SET search_path = referral");
    assert_int_equal(it_db_scalar(rep, "SELECT count(*) FROM referral", 0, NULL), 1);
    expect_denied(rep, "UPDATE referral SET note = 'x'");
    expect_denied(rep, "INSERT INTO dead_letter (request_id, domain, body, error_code,"
                       " error_message) VALUES (gen_random_uuid(), 'social', '', 'E', 'm')");
    PQfinish(rep);
    PQfinish(admin);
    assert_true(it_stack_stop(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_as_referral_worker_do_their_job_and_cannot_drop_or_alter),
    };
    return cmocka_run_group_tests_name("integration.privilege", tests, NULL, NULL);
}
