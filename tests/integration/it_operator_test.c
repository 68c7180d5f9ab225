// The operator principal end to end, with authentication on: an
// "operator:<name>" key reads any referral, any office's inbox and follow
// stream and the broker's STATS; it never changes a referral nor submits
// for a center, except to retry a dead letter as the center sent it — and
// then the referral's history and the dead letter name the operator. The
// dead letter itself says why the database refused it and counts every
// failed delivery.
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

static char out[65536];
static it_stack s;
static PGconn *db;
static char keys[600];     // the test's key files
static char registry[700]; // the broker's key directory
static char broker_pub[700];

#define CTL(...) it_run(out, sizeof out, __VA_ARGS__)

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

static int
ctl_as(const char *name, const char *args)
{
    return CTL("%s %s --broker %s --curve-key-file %s/%s.key --broker-key %s", getenv("RR_CTL_BIN"),
               args, s.frontend, keys, name, broker_pub);
}

static int
setup(void **state)
{
    (void) state;
    snprintf(keys, sizeof keys, "%s/operator-keys", getenv("RR_IT_LOGDIR"));
    snprintf(registry, sizeof registry, "%s/registry", keys);
    snprintf(broker_pub, sizeof broker_pub, "%s/broker.pub", keys);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", keys, keys);
    if (system(cmd) != 0) {
        return -1;
    }
    make_key("broker", NULL);
    make_key("worker", "worker:any");
    make_key("center", "center:941");
    make_key("operator", "operator:maryam");
    make_key("office", "office:CO-2301");
    char bkey[700], wkey[700];
    snprintf(bkey, sizeof bkey, "%s/broker.key", keys);
    snprintf(wkey, sizeof wkey, "%s/worker.key", keys);
    // Two failed deliveries make a dead letter, 100 ms apart.
    const char *broker_opts[] = {
        "--curve-key-file",   bkey,  "--keys-dir", registry, "--max-failures", "2",
        "--retry-backoff-ms", "100", NULL};
    const char *worker_opts[] = {"--curve-key-file", wkey, "--broker-key", broker_pub, NULL};
    if (!it_stack_start(&s, "operator", 19, broker_opts, worker_opts)) {
        return -1;
    }
    db = it_db(&s);
    return db != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    PQfinish(db);
    return it_stack_stop(&s) ? 0 : -1;
}

static void
test_an_operator_reads_everything_and_changes_nothing(void **state)
{
    (void) state;
    cli_center *center = client_as("center");
    cli_center *op = client_as("operator");
    it_request r;
    it_request_init(&r, 941, "SOC-03", "op-read");
    Rr__V1__SubmitReply *reply = it_submit(center, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    char referral[32];
    snprintf(referral, sizeof referral, "%s", reply->referral_id);
    assert_string_equal(reply->office_code, "CO-2301");
    rr_wire_free(reply);

    // Reads: the operator's own view (no center, no office), an office's
    // inbox and follow stream, through referralctl with its key alone.
    char args[256];
    snprintf(args, sizeof args, "status %s", referral);
    assert_int_equal(ctl_as("operator", args), 0);
    assert_non_null(strstr(out, "status     requested"));
    assert_int_equal(ctl_as("operator", "inbox --office CO-2301"), 0);
    assert_non_null(strstr(out, referral));
    assert_int_equal(ctl_as("operator", "follow --office CO-2301 --once"), 0);
    assert_non_null(strstr(out, referral));
    // STATS is the operators': a center's key is refused it.
    rr_wire_call answer;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_call_raw(op, RR_CMD_STATS, "stats-op", "", 0, 5000, &answer),
                     RR_OK);
    assert_int_equal(answer.command, RR_CMD_STATS);
    rr_wire_call_close(&answer);
    assert_int_equal(cli_center_call_raw(center, RR_CMD_STATS, "stats-c", "", 0, 5000, &answer),
                     RR_OK);
    assert_int_equal(answer.command, RR_CMD_ERROR);
    rr_wire_call_close(&answer);

    // No change as an office or a center.
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = referral;
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED;
    u.office_code = "CO-2301";
    u.expected_version = 1;
    Rr__V1__UpdateReply *ur = NULL;
    assert_int_equal(cli_center_update(op, &u, 10000, 1, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_EPERM);
    assert_string_equal(ur->error->field, "office_code");
    assert_non_null(strstr(ur->error->message, "cannot change a referral as operator:maryam"));
    rr_wire_free(ur);
    snprintf(args, sizeof args, "update %s --to received --by CO-2301", referral);
    assert_int_equal(ctl_as("operator", args), 1);
    assert_non_null(strstr(out, "EPERM"));
    // No submission of its own: only a dead letter's retry.
    it_request mine;
    it_request_init(&mine, 941, "SOC-03", "op-submit");
    reply = it_submit(op, &mine.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EPERM);
    assert_string_equal(reply->error->field, "request_id");
    rr_wire_free(reply);
    const char *p[] = {mine.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 0);
    // The referral is untouched: still version 1, requested.
    const char *pr[] = {referral + 2};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT version FROM referral WHERE id = $1::bigint"
                                  " AND status = 'requested'",
                                  1, pr),
                     1);
    cli_center_destroy(&center);
    cli_center_destroy(&op);
}

static void
test_an_operator_retries_a_dead_letter_as_the_center_sent_it(void **state)
{
    (void) state;
    it_db_exec(db, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                   " IF NEW.household_id LIKE 'h-941-op-poison%' THEN"
                   " RAISE EXCEPTION 'poisoned household %', NEW.national_id; END IF;"
                   " RETURN NEW; END $$;"
                   "CREATE TRIGGER poison BEFORE INSERT ON referral FOR EACH ROW"
                   " EXECUTE FUNCTION poison()");
    cli_center *center = client_as("center");
    cli_center *op = client_as("operator");
    it_request bad, other;
    it_request_init(&bad, 941, "SOC-08", "OP-POISON-1");
    it_request_init(&other, 941, "SOC-08", "OP-POISON-2");
    for (int i = 0; i < 2; i++) {
        Rr__V1__SubmitReply *reply = it_submit(center, i == 0 ? &bad.req : &other.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
        assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EINTERNAL);
        rr_wire_free(reply);
    }
    // The dead letter says why (the national id the message quoted is
    // hidden) and counts both failed deliveries.
    const char *p[] = {bad.request_id};
    char id[24];
    snprintf(id, sizeof id, "%lld",
             it_db_scalar(db,
                          "SELECT id FROM dead_letter WHERE request_id = $1::uuid"
                          " AND state = 'open' AND attempts = 2 AND sqlstate = 'P0001'",
                          1, p));
    assert_true(atoll(id) > 0);
    char args[1024];
    snprintf(args, sizeof args, "dead-letters show %s --db '%s'", id, s.conninfo);
    assert_int_equal(ctl_as("operator", args), 0);
    assert_non_null(strstr(out, "cause        SQLSTATE P0001 (PL/pgSQL error): poisoned household "
                                "\xE2\x80\xA6\n"));
    assert_null(strstr(out, bad.national_id));
    assert_non_null(strstr(out, "attempts     2\n"));

    it_db_exec(db, "DROP TRIGGER poison ON referral");
    // A retry is of the center's own dead letter: not for another center.
    Rr__V1__SubmitRequest elsewhere = bad.req;
    elsewhere.center_code = 1924;
    Rr__V1__SubmitReply *reply = it_submit(op, &elsewhere);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EPERM);
    assert_non_null(strstr(reply->error->message, "center 1924 has none with this request_id"));
    rr_wire_free(reply);
    // A retry must be the request as the center sent it.
    Rr__V1__SubmitRequest changed = other.req;
    changed.note = "an operator's edit";
    reply = it_submit(op, &changed);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EPERM);
    assert_non_null(strstr(reply->error->message, "differs from its dead letter"));
    rr_wire_free(reply);

    // Retried with the operator's key alone, no center's secret key, and a
    // database role that may only read (the worker marks the dead letter).
    it_db_exec(db, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                   " 'rr_test_reader') THEN CREATE ROLE rr_test_reader LOGIN IN ROLE"
                   " referral_reporting; END IF; END $$");
    snprintf(args, sizeof args, "dead-letters retry %s --db '%s user=rr_test_reader'", id,
             s.conninfo);
    assert_int_equal(ctl_as("operator", args), 0);
    assert_non_null(strstr(out, "accepted R-"));
    assert_non_null(strstr(out, "retried by operator:maryam"));
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM dead_letter WHERE request_id = $1::uuid"
                                  " AND state = 'retried' AND retried_by = 'operator:maryam'"
                                  " AND retried_at IS NOT NULL",
                                  1, p),
                     1);
    // The history names the operator, acting for the center.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event e JOIN referral r"
                                  " ON r.id = e.referral_id WHERE r.request_id = $1::uuid"
                                  " AND e.kind = 'submit' AND e.actor = 'operator:maryam'"
                                  " AND e.reason LIKE '%on behalf of center:941'",
                                  1, p),
                     1);
    snprintf(args, sizeof args, "status %s --center 941", bad.request_id);
    assert_int_equal(ctl_as("center", args), 0);
    assert_non_null(strstr(out, "operator:maryam"));
    // Again: the same answer, one referral, and the tool says it is done.
    reply = it_submit(op, &bad.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    assert_int_equal(ctl_as("operator", args), 0);
    snprintf(args, sizeof args, "dead-letters retry %s --db '%s'", id, s.conninfo);
    assert_int_equal(ctl_as("operator", args), 1);
    assert_non_null(strstr(out, "it is retried"));
    // Later submissions by the center name the center again.
    it_request later;
    it_request_init(&later, 941, "SOC-08", "op-later");
    reply = it_submit(center, &later.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    const char *pl[] = {later.request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event e JOIN referral r"
                                  " ON r.id = e.referral_id WHERE r.request_id = $1::uuid"
                                  " AND e.actor = 'center:941'",
                                  1, pl),
                     1);
    cli_center_destroy(&center);
    cli_center_destroy(&op);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_operator_reads_everything_and_changes_nothing),
        cmocka_unit_test(test_an_operator_retries_a_dead_letter_as_the_center_sent_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
