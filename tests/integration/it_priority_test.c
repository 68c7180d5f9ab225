// Priority in the broker: a request queued last behind a backlog is
// served first when it asks for stat, or when its risk flags raise it by
// the risk rules the workers passed on; and it is recorded so.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void
send_raw_submit(void *s, const Rr__V1__SubmitRequest *req)
{
    uint8_t buf[512];
    size_t n = rr__v1__submit_request__pack(req, buf);
    assert_int_equal(rr_wire_send_call(s, 0, RR_CMD_SUBMIT, req->request_id, buf, n), RR_OK);
}

// Queues `backlog` routine requests and then one more (made by last) with
// no worker of the domain alive, then starts one worker with credit 1 and
// returns the position at which the last one was recorded (0 = first),
// with the priority it was recorded with in priority.
static long long
dispatch_rank_of_last(const char *tag, void (*last)(it_request *), char priority[16])
{
    it_stack s;
    it_stack_init(&s, tag, 9);
    it_broker_start(&s, NULL);
    // A worker first, so that the broker learns the risk rules; then none.
    it_worker_start(&s, "social", NULL);
    assert_true(it_wait_workers(&s, 1, 20000));
    assert_true(it_wait_metric(&s, "referral_broker_risk_rules", 1, 20000));
    assert_int_equal(it_proc_stop(&s.workers[0], SIGTERM, 20000), 0);

    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(sock, s.frontend), 0);
    enum { BACKLOG = 30 };
    it_request reqs[BACKLOG + 1];
    for (int i = 0; i <= BACKLOG; i++) {
        char t[16];
        snprintf(t, sizeof t, "P%02d", i);
        it_request_init(&reqs[i], 941, "SOC-04", t);
        if (i == BACKLOG) {
            last(&reqs[i]);
        }
        send_raw_submit(sock, &reqs[i].req);
    }
    // Let every request reach the broker's queue before any worker exists.
    long long until = it_now_ms() + 10000;
    bool queued = false;
    const char *eps[] = {s.frontend};
    cli_center *c = cli_center_new(eps, 1);
    while (!queued && it_now_ms() < until) {
        rr_wire_call answer;
        if (cli_center_call_raw(c, RR_CMD_STATS, "stats", "", 0, 1000, &answer) == RR_OK) {
            Rr__V1__BrokerStats *bs = NULL;
            if (rr_wire_unpack(zmq_msg_data(&answer.body), zmq_msg_size(&answer.body), &bs, NULL) ==
                RR_OK) {
                queued = bs->queues[RR__V1__DOMAIN__DOMAIN_SOCIAL]->depth == BACKLOG + 1;
                rr_wire_free(bs);
            }
            rr_wire_call_close(&answer);
        }
    }
    cli_center_destroy(&c);
    assert_true(queued);
    const char *one[] = {"--credit", "1", NULL};
    it_worker_start(&s, "social", one);
    for (int i = 0; i <= BACKLOG; i++) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, 20000), 1);
        rr_frames f;
        assert_int_equal(rr_frames_recv(sock, &f, 0), RR_OK);
        rr_frames_close(&f);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    PGconn *conn = it_db(&s);
    const char *p[] = {reqs[BACKLOG].request_id};
    long long rank = it_db_scalar(conn,
                                  "SELECT count(*) FROM referral WHERE id < (SELECT id FROM"
                                  " referral WHERE request_id = $1::uuid)",
                                  1, p);
    assert_int_equal(it_db_scalar(conn, "SELECT count(*) FROM referral", 0, NULL), BACKLOG + 1);
    PGresult *res = PQexecParams(conn,
                                 "SELECT priority || '/' || coalesce(requested_priority, '')"
                                 " FROM referral WHERE request_id = $1::uuid",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    snprintf(priority, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    assert_true(it_stack_stop(&s));
    return rank;
}

static void
make_stat(it_request *r)
{
    r->req.priority = RR__V1__PRIORITY__PRIORITY_STAT;
}

static void
make_violence(it_request *r)
{
    static Rr__V1__RiskFlag flags[] = {RR__V1__RISK_FLAG__RISK_FLAG_DOMESTIC_VIOLENCE};
    r->req.risk_flags = flags;
    r->req.n_risk_flags = 1;
}

static void
test_a_stat_request_submitted_last_overtakes_a_backlog(void **state)
{
    (void) state;
    char priority[16];
    assert_int_equal(dispatch_rank_of_last("stat", make_stat, priority), 0);
    assert_string_equal(priority, "stat/stat");
}

static void
test_domestic_violence_raises_a_routine_request_past_the_backlog(void **state)
{
    (void) state;
    char priority[16];
    assert_int_equal(dispatch_rank_of_last("risk", make_violence, priority), 0);
    // Recorded with the raised priority, beside the one requested.
    assert_string_equal(priority, "stat/routine");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_stat_request_submitted_last_overtakes_a_backlog),
        cmocka_unit_test(test_domestic_violence_raises_a_routine_request_past_the_backlog),
    };
    return cmocka_run_group_tests_name("integration.priority", tests, NULL, NULL);
}
