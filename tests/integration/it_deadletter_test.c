// Poison requests: a request the database refuses for good, and one whose
// workers keep dying, end in the dead-letter table with their error and a
// typed refusal, without holding up the requests behind them; operators
// list, show, retry and drop them with referralctl.
#include "cli_center.h"
#include "it_harness.h"
#include "it_raw.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char out[65536];

static int
ctl(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", getenv("RR_CTL_BIN"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static Rr__V1__SubmitReply *
submit(cli_center *c, const Rr__V1__SubmitRequest *req)
{
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    if (cli_center_submit(c, req, 10000, 3, &reply, &err) != RR_OK) {
        fail_msg("submit failed: %s", err.message);
    }
    return reply;
}

static void
test_a_request_the_database_refuses_is_dead_lettered_listed_retried_and_dropped(void **state)
{
    (void) state;
    it_stack s;
    assert_true(it_stack_start(&s, "deadletter", 13, NULL, NULL));
    PGconn *db = it_db(&s);
    it_db_exec(db, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                   " IF NEW.household_id LIKE 'h-941-poison%' THEN"
                   " RAISE EXCEPTION 'poisoned household'; END IF; RETURN NEW; END $$;"
                   "CREATE TRIGGER poison BEFORE INSERT ON referral FOR EACH ROW"
                   " EXECUTE FUNCTION poison()");
    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request bad;
    it_request_init(&bad, 941, "SOC-08", "POISON-1");
    for (int i = 0; i < 2; i++) { // the center retries the same request
        long long t0 = it_now_ms();
        Rr__V1__SubmitReply *reply = submit(c, &bad.req);
        long long took = it_now_ms() - t0;
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
        assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EINTERNAL);
        rr_wire_free(reply);
        // Three attempts (--max-failures 3), with backoffs of 200 and 400 ms
        // (+ up to a quarter) between them.
        assert_true(took >= 600);
        assert_true(it_wait_metric(&s, "referral_retried_total", 2.0 * (i + 1), 5000));
    }
    // Each request failed twice and was retried; its third attempt was kept
    // (no more retries). attempts = 6 below counts every failed delivery:
    // three for each of the center's two tries.
    assert_true(it_metric(&s, "referral_retried_total") == 4);
    // It does not hold up the requests behind it.
    it_request good;
    it_request_init(&good, 941, "SOC-08", "fine");
    Rr__V1__SubmitReply *reply = submit(c, &good.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    const char *p[] = {bad.request_id};
    assert_int_equal(
        it_db_scalar(db,
                     "SELECT count(*) FROM dead_letter WHERE request_id = $1::uuid"
                     " AND state = 'open' AND attempts = 6 AND error_code = 'EINTERNAL'"
                     " AND sqlstate = 'P0001'"
                     " AND domain = 'social' AND service_code = 'SOC-08'",
                     1, p),
        1);
    char id[24];
    snprintf(id, sizeof id, "%lld",
             it_db_scalar(db, "SELECT id FROM dead_letter WHERE request_id = $1::uuid", 1, p));

    char args[1200];
    snprintf(args, sizeof args, "dead-letters list --db '%s'", s.conninfo);
    assert_int_equal(ctl(args), 0);
    assert_non_null(strstr(out, bad.request_id));
    assert_non_null(strstr(out, "(1 row)"));
    snprintf(args, sizeof args, "dead-letters show %s --db '%s'", id, s.conninfo);
    assert_int_equal(ctl(args), 0);
    assert_non_null(strstr(out, "EINTERNAL: could not record referral"));
    // The cause, as PostgreSQL gave it, and every attempt.
    assert_non_null(
        strstr(out, "cause        SQLSTATE P0001 (PL/pgSQL error): poisoned household\n"));
    assert_non_null(strstr(out, "attempts     6\n"));
    char masked[16];
    snprintf(masked, sizeof masked, "******%s", bad.national_id + 6);
    assert_non_null(strstr(out, masked));
    assert_null(strstr(out, bad.national_id)); // never the whole national id

    // The cause is fixed: a retry records it under its own request_id.
    it_db_exec(db, "DROP TRIGGER poison ON referral");
    snprintf(args, sizeof args, "dead-letters retry %s --db '%s' --broker %s", id, s.conninfo,
             s.frontend);
    assert_int_equal(ctl(args), 0);
    assert_non_null(strstr(out, "accepted R-"));
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM dead_letter WHERE request_id = $1::uuid"
                                  " AND state = 'retried'",
                                  1, p),
                     1);
    assert_int_equal(ctl(args), 1); // not open any more
    snprintf(args, sizeof args, "dead-letters drop %s --db '%s'", id, s.conninfo);
    assert_int_equal(ctl(args), 1);
    assert_non_null(strstr(out, "it is not open"));

    // A constraint violation: PostgreSQL's DETAIL quotes the failing row,
    // national id included; the logs must not.
    it_db_exec(db, "ALTER TABLE referral ADD CONSTRAINT no_poison"
                   " CHECK (household_id NOT LIKE 'h-941-poison-2%') NOT VALID");
    it_request check;
    it_request_init(&check, 941, "SOC-07", "POISON-2");
    reply = submit(c, &check.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    rr_wire_free(reply);
    for (int w = 0; w < 3; w++) {
        assert_false(it_file_count(s.workers[w].log, check.national_id, 1));
    }
    assert_true(it_file_count(s.workers[2].log, "SQLSTATE 23514", 1));
    cli_center_destroy(&c);
    PQfinish(db);
    assert_true(it_stack_stop(&s));
}

static void *
fake_worker(void *ctx, const char *endpoint, uint32_t credit)
{
    return it_fake_worker(ctx, endpoint, RR__V1__DOMAIN__DOMAIN_SOCIAL, credit, 100);
}

static void
test_a_request_whose_workers_keep_dying_is_dead_lettered_by_the_next(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "deadworkers", 14);
    const char *opts[] = {"--heartbeat-ms", "100", "--max-attempts", "1", NULL};
    it_broker_start(&s, opts);
    void *ctx = zmq_ctx_new();
    void *fake = fake_worker(ctx, s.backend, 1);
    assert_true(it_wait_workers(&s, 1, 10000));

    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    it_request r;
    it_request_init(&r, 941, "SOC-09", "dying");
    // The fake takes it and goes silent; the real worker is told to dead-letter it.
    const char *fast[] = {"--heartbeat-ms", "100", NULL};
    void *center = it_raw_socket(ctx, s.frontend);
    it_raw_submit(center, &r.req);
    rr_wire_work taken;
    assert_true(it_fake_request(fake, 10000, &taken));
    rr_wire_work_close(&taken);
    it_worker_start(&s, "social", fast);
    Rr__V1__SubmitReply *reply = it_raw_submit_reply(center, 15000);
    assert_non_null(reply);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EINTERNAL);
    assert_non_null(strstr(reply->error->message, "dead letter"));
    rr_wire_free(reply);
    PGconn *db = it_db(&s);
    const char *p[] = {r.request_id};
    // One attempt: the delivery lost with the fake worker (frame 7 told the
    // worker that dead-lettered it); no cause of the database's.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM dead_letter WHERE request_id = $1::uuid"
                                  " AND state = 'open' AND attempts = 1 AND sqlstate IS NULL"
                                  " AND cause = ''",
                                  1, p),
                     1);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p), 0);
    PQfinish(db);
    assert_true(it_wait_metric(&s, "referral_dead_lettered_total", 1, 5000));
    cli_center_destroy(&c);
    zmq_close(center);
    zmq_close(fake);
    zmq_ctx_term(ctx);
    assert_true(it_stack_stop(&s));
}

#define INNOCENT 3

// Workers that crash on one request while holding a batch: its batch-mates
// are redelivered alone and answered once each; the poison request counts
// a failure only when it was alone on a worker that died, is retried after
// a backoff, and after --max-failures such deaths goes to the next worker
// marked as a dead letter. Fake workers make the crashes exact.
static void
test_a_request_that_crashes_workers_in_a_batch_does_not_sink_its_batch_mates(void **state)
{
    (void) state;
    it_stack s;
    it_stack_init(&s, "poisonbatch", 16);
    const char *opts[] = {"--heartbeat-ms", "100", "--retry-backoff-ms", "50", NULL};
    it_broker_start(&s, opts);
    void *ctx = zmq_ctx_new();
    void *center = it_raw_socket(ctx, s.frontend);
    // Queue the batch before any worker exists, so the first takes it whole.
    it_request reqs[INNOCENT + 1];
    for (int i = 0; i <= INNOCENT; i++) {
        it_request_init(&reqs[i], 941, "SOC-09", i == 0 ? "poison" : "innocent");
        it_raw_submit(center, &reqs[i].req);
    }
    assert_true(
        it_wait_metric(&s, "referral_queue_ready_requests{domain=\"social\",priority=\"routine\"}",
                       INNOCENT + 1, 5000));

    int answered[INNOCENT + 1] = {0};
    int poison_live = 0, poison_dead = 0;
    void *fake = fake_worker(ctx, s.backend, INNOCENT + 1);
    long long deadline = it_now_ms() + 20000;
    while (poison_dead == 0 && it_now_ms() < deadline) {
        rr_wire_work f;
        if (!it_fake_request(fake, 50, &f)) {
            it_fake_heartbeat(fake);
            continue;
        }
        Rr__V1__SubmitRequest *req = NULL;
        rr_wire_error err;
        assert_int_equal(rr_wire_unpack(zmq_msg_data(&f.body), zmq_msg_size(&f.body), &req, &err),
                         RR_OK);
        bool poison = strcmp(req->request_id, reqs[0].request_id) == 0;
        if (poison && (f.flags & RR_CMD_DEAD_LETTER_FLAG)) {
            poison_dead++;
            rr_wire_error why;
            (void) rr_wire_fail(&why, RR_EINTERNAL, "", "kept as a dead letter");
            zmq_msg_t body;
            assert_int_equal(rr_wire_pack_refusal(RR_CMD_SUBMIT, req->request_id,
                                                  RR__V1__OUTCOME__OUTCOME_REJECTED, 0, &why,
                                                  &body),
                             RR_OK);
            it_fake_reply(fake, f.delivery_id, RR__V1__OUTCOME__OUTCOME_REJECTED,
                          zmq_msg_data(&body), zmq_msg_size(&body));
            zmq_msg_close(&body);
        } else if (poison) {
            // Crash: whatever else this worker holds is lost with it.
            poison_live++;
            zmq_close(fake);
            fake = fake_worker(ctx, s.backend, INNOCENT + 1);
        } else {
            int k = 1;
            while (k <= INNOCENT && strcmp(req->request_id, reqs[k].request_id) != 0) {
                k++;
            }
            assert_true(k <= INNOCENT);
            answered[k]++;
            it_fake_reply(fake, f.delivery_id, RR__V1__OUTCOME__OUTCOME_ACCEPTED, "ok", 2);
        }
        rr_wire_free(req);
        rr_wire_work_close(&f);
    }
    // One crash with the batch (no failure), then three alone (failures 1-3).
    assert_int_equal(poison_live, 4);
    assert_int_equal(poison_dead, 1);
    for (int k = 1; k <= INNOCENT; k++) {
        assert_int_equal(answered[k], 1);
    }
    // The center heard once per request: three "ok" and one refusal.
    int oks = 0, refusals = 0;
    zmq_pollitem_t citem = {center, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&citem, 1, 1000) == 1) {
        rr_wire_call a;
        rr_wire_error err;
        assert_int_equal(rr_wire_recv_answer(center, 0, &a, &err), RR_OK);
        if (zmq_msg_size(&a.body) == 2 && memcmp(zmq_msg_data(&a.body), "ok", 2) == 0) {
            oks++;
        } else {
            refusals++;
        }
        rr_wire_call_close(&a);
    }
    assert_int_equal(oks, INNOCENT);
    assert_int_equal(refusals, 1);
    assert_true(it_wait_metric(&s, "referral_retried_total", 2, 5000)); // after failures 1 and 2
    assert_true(it_wait_metric(&s, "referral_dead_lettered_total", 1, 5000));
    zmq_close(fake);
    zmq_close(center);
    zmq_ctx_term(ctx);
    assert_true(it_stack_stop(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_request_the_database_refuses_is_dead_lettered_listed_retried_and_dropped),
        cmocka_unit_test(test_a_request_whose_workers_keep_dying_is_dead_lettered_by_the_next),
        cmocka_unit_test(
            test_a_request_that_crashes_workers_in_a_batch_does_not_sink_its_batch_mates),
    };
    return cmocka_run_group_tests_name("integration.deadletter", tests, NULL, NULL);
}
