// The referral spine end to end: real PostgreSQL, the real broker and
// three real workers, real ZeroMQ sockets. Each test names the behaviour
// it proves. Long on purpose: its cases share one stack, which takes
// seconds to start.
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

static it_stack stack;
static cli_center *client;
static PGconn *db;

static int
setup(void **state)
{
    (void) state;
    // Reload the catalogue on every unknown center: exercises reloads
    // in the middle of a batch.
    const char *debug[] = {"--log-level", "debug", "--catalog-reload-min-ms", "0", NULL};
    return it_session_start(&stack, &client, &db, "spine", 0, NULL, debug) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

static long long
rows_for(const char *request_id)
{
    const char *p[] = {request_id};
    return it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, p);
}

static void
assert_routed(unsigned center, const char *service, const char *domain, const char *office)
{
    it_request r;
    it_request_init(&r, center, service, "route");
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->request_id, r.request_id);
    assert_string_equal(reply->office_code, office);
    assert_true(strncmp(reply->referral_id, "R-", 2) == 0);
    assert_int_equal(reply->referral_status, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED);

    const char *p[] = {r.request_id, domain, office, service};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE request_id = $1::uuid"
                                  " AND domain = $2 AND office_code = $3 AND service_code = $4"
                                  " AND status = 'requested'",
                                  4, p),
                     1);
    // The first event is recorded in the same transaction.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event e JOIN referral r"
                                  " ON r.id = e.referral_id WHERE r.request_id = $1::uuid"
                                  " AND e.to_status = 'requested' AND e.from_status IS NULL",
                                  1, p),
                     1);
    // And the worker of that domain, no other, handled it.
    char log[700];
    snprintf(log, sizeof log, "%s/worker-%d-%s.log", stack.logdir,
             strcmp(domain, "prevention") == 0       ? 0
             : strcmp(domain, "rehabilitation") == 0 ? 1
                                                     : 2,
             domain);
    assert_true(it_file_count(log, r.request_id, 1));
    for (int i = 0; i < 3; i++) {
        if (strstr(stack.workers[i].log, domain) == NULL) {
            assert_false(it_file_count(stack.workers[i].log, r.request_id, 1));
        }
    }
    rr_wire_free(reply);
}

static void
test_each_domain_reaches_its_worker_and_the_center_county_office(void **state)
{
    (void) state;
    assert_routed(941, "RHB-02", "rehabilitation", "CO-2301"); // Tehran
    assert_routed(1924, "PRV-01", "prevention", "CO-1002");    // Isfahan
    assert_routed(2441, "SOC-04", "social", "CO-0916");        // Mashhad
    assert_routed(5165, "SOC-09", "social", "CO-0707");        // Shiraz
}

static void
test_routing_rule_overrides_the_county_office(void **state)
{
    (void) state;
    it_db_exec(db, "INSERT INTO routing_rule (service_code, province_code, office_code, note)"
                   " VALUES ('RHB-03', '03', 'PO-03', 'adaptations are handled by the province')");
    // Workers hear of the rule by a notification, within moments: submit
    // until one is routed by it (bounded), then check that one's row.
    it_request r;
    Rr__V1__SubmitReply *reply = NULL;
    long long deadline = it_now_ms() + 10000;
    for (int i = 0;; i++) {
        char tag[24];
        snprintf(tag, sizeof tag, "rule-%d", i);
        it_request_init(&r, 3102, "RHB-03", tag); // Tabriz, province 03
        reply = it_submit(client, &r.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        if (strcmp(reply->office_code, "PO-03") == 0 || it_now_ms() > deadline) {
            break;
        }
        rr_wire_free(reply);
        it_sleep_ms(20);
    }
    assert_string_equal(reply->office_code, "PO-03");
    const char *p[] = {r.request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral r JOIN routing_rule g"
                                  " ON g.id = r.routing_rule_id WHERE r.request_id = $1::uuid"
                                  " AND r.office_code = 'PO-03'",
                                  1, p),
                     1);
    rr_wire_free(reply);
}

static void
test_retry_with_same_request_id_returns_the_first_referral_and_no_second_row(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "SOC-03", "retry");
    Rr__V1__SubmitReply *first = it_submit(client, &r.req);
    Rr__V1__SubmitReply *again = it_submit(client, &r.req);
    assert_int_equal(first->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_int_equal(again->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(again->referral_id, first->referral_id);
    assert_string_equal(again->office_code, first->office_code);
    assert_int_equal(rows_for(r.request_id), 1);
    const char *p[] = {r.request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event e JOIN referral r"
                                  " ON r.id = e.referral_id WHERE r.request_id = $1::uuid",
                                  1, p),
                     1);
    rr_wire_free(first);
    rr_wire_free(again);
}

typedef struct racer {
    const Rr__V1__SubmitRequest *req;
    const char *frontend;
    char referral_id[32];
    int outcome;
} racer;

static void *
race(void *arg)
{
    racer *r = arg;
    const char *eps[] = {r->frontend};
    cli_center *c = cli_center_new(eps, 1);
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    if (c != NULL && cli_center_submit(c, r->req, 10000, 3, &reply, &err) == RR_OK) {
        r->outcome = reply->outcome;
        snprintf(r->referral_id, sizeof r->referral_id, "%s", reply->referral_id);
        rr_wire_free(reply);
    }
    cli_center_destroy(&c);
    return NULL;
}

static void
test_concurrent_retries_of_one_request_id_make_one_row(void **state)
{
    (void) state;
    enum { RACERS = 8 };
    it_request r;
    it_request_init(&r, 2441, "PRV-03", "race");
    pthread_t threads[RACERS];
    racer racers[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (racer){&r.req, stack.frontend, "", -1};
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(racers[i].outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        assert_string_equal(racers[i].referral_id, racers[0].referral_id);
    }
    assert_int_equal(rows_for(r.request_id), 1);
}

static void
test_reused_request_id_with_other_content_is_refused_as_conflict(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "SOC-05", "reuse");
    Rr__V1__SubmitReply *first = it_submit(client, &r.req);
    assert_int_equal(first->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    r.req.service_code = "SOC-06";
    Rr__V1__SubmitReply *other = it_submit(client, &r.req);
    assert_int_equal(other->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_non_null(other->error);
    assert_int_equal(other->error->code, RR__V1__STATUS__STATUS_ECONFLICT);
    assert_string_equal(other->error->field, "request_id");
    assert_int_equal(rows_for(r.request_id), 1);
    rr_wire_free(first);
    rr_wire_free(other);
}

// Submits r and asserts a rejection with code and field, and no row.
static void
assert_rejected(it_request *r, Rr__V1__Status code, const char *field, const char *needle)
{
    Rr__V1__SubmitReply *reply = it_submit(client, &r->req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_non_null(reply->error);
    assert_int_equal(reply->error->code, code);
    assert_string_equal(reply->error->field, field);
    if (strstr(reply->error->message, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", reply->error->message, needle);
    }
    assert_string_equal(reply->referral_id, "");
    assert_int_equal(rows_for(r->request_id), 0);
    rr_wire_free(reply);
}

static void
test_invalid_requests_get_typed_errors_and_leave_no_row(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.national_id = "1234567890";
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "national_id", "check digit");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.national_id = "1111111111";
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "national_id", "identical");

    it_request_init(&r, 941, "SOC-99", "bad");
    assert_rejected(&r, RR__V1__STATUS__STATUS_ENOTFOUND, "service_code",
                    "unrecognized service \"SOC-99\"");

    it_request_init(&r, 941, "XYZ-01", "bad");
    assert_rejected(&r, RR__V1__STATUS__STATUS_ENOTFOUND, "service_code", "\"XYZ-01\"");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.domain = RR__V1__DOMAIN__DOMAIN_PREVENTION;
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "service_code",
                    "belongs to domain \"social\", not \"prevention\"");

    it_request_init(&r, 9999, "SOC-01", "bad");
    assert_rejected(&r, RR__V1__STATUS__STATUS_ENOTFOUND, "center_code",
                    "unrecognized center \"9999\"");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.consent = false;
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "consent", "consent");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.household_id = "";
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "household_id", "missing");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.priority = (Rr__V1__Priority) 42; // an enum value this version does not know
    assert_rejected(&r, RR__V1__STATUS__STATUS_EINVAL, "priority", "unrecognized priority");

    it_request_init(&r, 941, "SOC-01", "bad");
    static char note[RR_WIRE_MAX_NOTE_BYTES + 2];
    memset(note, 'x', sizeof note - 1);
    r.req.note = note;
    assert_rejected(&r, RR__V1__STATUS__STATUS_ETOOBIG, "note", "too long");

    it_request_init(&r, 941, "SOC-01", "bad");
    r.req.request_id = "not-a-uuid";
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(reply->error->field, "request_id");
    rr_wire_free(reply);
}

// Sends raw frames on a DEALER socket and returns the answer's frames.
static void
raw_exchange(const void *const *frames, const size_t *sizes, int count, rr_frames *answer)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(s, stack.frontend), 0);
    for (int i = 0; i < count; i++) {
        assert_true(zmq_send(s, frames[i], sizes[i], i + 1 < count ? ZMQ_SNDMORE : 0) >= 0);
    }
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 10000), 1);
    assert_int_equal(rr_frames_recv(s, answer, 0), RR_OK);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

// Asserts an answer is [""]["RRC2"][command][correlation][body].
static void
expect_answer(rr_frames *f, uint8_t command, const char *correlation)
{
    assert_int_equal(f->count, 5);
    assert_int_equal(rr_frames_size(f, 0), 0);
    assert_true(rr_frames_equal(f, 1, "RRC2", 4));
    assert_int_equal(*(const uint8_t *) rr_frames_data(f, 2), command);
    assert_true(rr_frames_equal(f, 3, correlation, strlen(correlation)));
}

// Asserts an answer is an ERROR naming correlation, and returns its ErrorReply.
static Rr__V1__ErrorReply *
expect_error_reply(rr_frames *f, const char *correlation)
{
    expect_answer(f, RR_CMD_ERROR, correlation);
    Rr__V1__ErrorReply *er = NULL;
    assert_int_equal(rr_wire_unpack(rr_frames_data(f, 4), rr_frames_size(f, 4), &er, NULL), RR_OK);
    assert_non_null(er->error);
    assert_string_equal(er->correlation_id, correlation);
    return er;
}

static Rr__V1__SubmitReply *
expect_submit_reply(rr_frames *f, const char *correlation)
{
    expect_answer(f, RR_CMD_SUBMIT, correlation);
    Rr__V1__SubmitReply *sr = NULL;
    assert_int_equal(rr_wire_unpack(rr_frames_data(f, 4), rr_frames_size(f, 4), &sr, NULL), RR_OK);
    return sr;
}

static void
test_malformed_frames_get_a_typed_protocol_error(void **state)
{
    (void) state;
    long long before = it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL);
    rr_frames f;

    // One frame of garbage: wrong frame count, nothing to name it by.
    const void *garbage[] = {"hello, broker"};
    size_t gsizes[] = {13};
    raw_exchange(garbage, gsizes, 1, &f);
    Rr__V1__ErrorReply *er = expect_error_reply(&f, "");
    assert_int_equal(er->error->code, RR__V1__STATUS__STATUS_EPROTO);
    assert_non_null(strstr(er->error->message, "expected 5 frames"));
    rr_wire_free(er);
    rr_frames_close(&f);

    // A client still speaking version 1 hears why, in its own framing.
    uint8_t submit_cmd = RR_CMD_SUBMIT;
    const void *v1[] = {"", "RRC1", &submit_cmd, "x"};
    size_t v1sizes[] = {0, 4, 1, 1};
    raw_exchange(v1, v1sizes, 4, &f);
    assert_int_equal(f.count, 4);
    assert_true(rr_frames_equal(&f, 1, "RRC1", 4));
    assert_int_equal(*(const uint8_t *) rr_frames_data(&f, 2), RR_CMD_ERROR);
    assert_int_equal(rr_wire_unpack(rr_frames_data(&f, 3), rr_frames_size(&f, 3), &er, NULL),
                     RR_OK);
    assert_int_equal(er->error->code, RR__V1__STATUS__STATUS_EPROTO);
    assert_non_null(strstr(er->error->message, "this broker speaks \"RRC2\""));
    rr_wire_free(er);
    rr_frames_close(&f);

    // Unknown command: the ERROR names the request by its correlation.
    uint8_t bad_cmd = 0x42;
    const void *uc[] = {"", "RRC2", &bad_cmd, "c-42", ""};
    size_t ucsizes[] = {0, 4, 1, 4, 0};
    raw_exchange(uc, ucsizes, 5, &f);
    er = expect_error_reply(&f, "c-42");
    assert_non_null(strstr(er->error->message, "unrecognized command 0x42"));
    rr_wire_free(er);
    rr_frames_close(&f);

    // A frame out of place: refused, and still named.
    const void *bad1[] = {"x", "RRC2", &submit_cmd, "c-bad1", ""};
    size_t bad1sizes[] = {1, 4, 1, 6, 0};
    raw_exchange(bad1, bad1sizes, 5, &f);
    er = expect_error_reply(&f, "c-bad1");
    assert_non_null(strstr(er->error->message, "frame 1 must be empty"));
    rr_wire_free(er);
    rr_frames_close(&f);

    // Garbage bytes where the protobuf body should be: a SubmitReply,
    // rejected, naming the request.
    const void *gb[] = {"", "RRC2", &submit_cmd, "c-garbage", "\xff\xff\xff\xff\x0f garbage"};
    size_t gbsizes[] = {0, 4, 1, 9, 13};
    raw_exchange(gb, gbsizes, 5, &f);
    Rr__V1__SubmitReply *sr = expect_submit_reply(&f, "c-garbage");
    assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(sr->error->code, RR__V1__STATUS__STATUS_EPROTO);
    rr_wire_free(sr);
    rr_frames_close(&f);

    // A 200 KiB note sent raw, as a foreign client might: ETOOBIG at once,
    // answered with the request's id in the correlation frame.
    it_request big_req;
    it_request_init(&big_req, 941, "SOC-09", "big-note");
    static char note[200 * 1024 + 1];
    memset(note, 'n', sizeof note - 1);
    big_req.req.note = note;
    static uint8_t big[210 * 1024];
    size_t bn = rr__v1__submit_request__get_packed_size(&big_req.req);
    assert_true(bn <= sizeof big);
    rr__v1__submit_request__pack(&big_req.req, big);
    const void *ob[] = {"", "RRC2", &submit_cmd, big_req.request_id, big};
    size_t obsizes[] = {0, 4, 1, strlen(big_req.request_id), bn};
    raw_exchange(ob, obsizes, 5, &f);
    sr = expect_submit_reply(&f, big_req.request_id);
    assert_int_equal(sr->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(sr->error->code, RR__V1__STATUS__STATUS_ETOOBIG);
    assert_non_null(strstr(sr->error->message, "message too large"));
    rr_wire_free(sr);
    rr_frames_close(&f);

    // Through the client library the same request never leaves: rejected
    // with the broker's own code and field, at once.
    Rr__V1__SubmitReply *local = it_submit(client, &big_req.req);
    assert_int_equal(local->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(local->error->code, RR__V1__STATUS__STATUS_ETOOBIG);
    assert_string_equal(local->error->field, "note");
    assert_string_equal(local->request_id, big_req.request_id);
    rr_wire_free(local);

    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL), before);

    // The broker still serves everyone after all that.
    it_request r;
    it_request_init(&r, 941, "PRV-02", "after-garbage");
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
}

static void
test_status_query_returns_the_referral_and_its_history(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 1924, "RHB-01", "status");
    Rr__V1__SubmitReply *sub = it_submit(client, &r.req);
    assert_int_equal(sub->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);

    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    q.query_id = "q-1";
    q.center_code = 1924;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = sub->referral_id;
    Rr__V1__StatusReply *st = NULL;
    rr_wire_error err;
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &st, &err), RR_OK);
    assert_int_equal(st->status, RR__V1__STATUS__STATUS_OK);
    assert_string_equal(st->query_id, "q-1");
    assert_non_null(st->referral);
    assert_string_equal(st->referral->request_id, r.request_id);
    assert_string_equal(st->referral->office_code, "CO-1002");
    assert_int_equal(st->referral->status, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED);
    assert_int_equal(st->n_events, 1);
    assert_string_equal(st->events[0]->actor, "center:1924");
    rr_wire_free(st);

    // Another center cannot see it: the answer is the same as for none.
    q.query_id = "q-2";
    q.center_code = 941;
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &st, &err), RR_OK);
    assert_int_equal(st->status, RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_null(st->referral);
    rr_wire_free(st);

    // By request_id too.
    q.query_id = "q-3";
    q.center_code = 1924;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REQUEST_ID;
    q.request_id = r.request_id;
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &st, &err), RR_OK);
    assert_int_equal(st->status, RR__V1__STATUS__STATUS_OK);
    assert_string_equal(st->referral->referral_id, sub->referral_id);
    rr_wire_free(st);
    rr_wire_free(sub);
}

static void
test_a_batch_with_an_unknown_center_keeps_the_valid_requests_beside_it(void **state)
{
    (void) state;
    // Three submissions sent back to back reach the social worker as one
    // batch; the unknown center in the middle reloads its catalogue.
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(s, stack.frontend), 0);
    it_request r[3];
    it_request_init(&r[0], 941, "SOC-07", "batch-a");
    it_request_init(&r[1], 8888, "SOC-07", "batch-b");
    it_request_init(&r[2], 2441, "SOC-07", "batch-c");
    for (int i = 0; i < 3; i++) {
        uint8_t buf[512];
        size_t n = rr__v1__submit_request__pack(&r[i].req, buf);
        assert_int_equal(rr_wire_send_call(s, 0, RR_CMD_SUBMIT, r[i].request_id, buf, n), RR_OK);
    }
    int outcome[3] = {-1, -1, -1};
    char office[3][16] = {"", "", ""};
    for (int k = 0; k < 3; k++) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, 10000), 1);
        rr_wire_call a;
        rr_wire_error err;
        assert_int_equal(rr_wire_recv_answer(s, 0, &a, &err), RR_OK);
        Rr__V1__SubmitReply *reply = NULL;
        assert_int_equal(rr_wire_unpack(zmq_msg_data(&a.body), zmq_msg_size(&a.body), &reply, NULL),
                         RR_OK);
        assert_string_equal(a.correlation, reply->request_id); // the answer names its request
        for (int i = 0; i < 3; i++) {
            if (strcmp(reply->request_id, r[i].request_id) == 0) {
                outcome[i] = reply->outcome;
                snprintf(office[i], sizeof office[i], "%s", reply->office_code);
            }
        }
        rr_wire_free(reply);
        rr_wire_call_close(&a);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    assert_int_equal(outcome[0], RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(office[0], "CO-2301");
    assert_int_equal(outcome[1], RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(outcome[2], RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(office[2], "CO-0916");
    const char *p0[] = {r[0].request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE request_id = $1::uuid"
                                  " AND office_code = 'CO-2301'",
                                  1, p0),
                     1);
    assert_int_equal(rows_for(r[1].request_id), 0);
}

static void
test_no_national_id_reaches_any_log_line(void **state)
{
    (void) state;
    // Every national id this suite sent, valid or not.
    PGresult *res = PQexec(db, "SELECT DISTINCT national_id FROM referral");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_true(PQntuples(res) > 10);
    const char *logs[] = {stack.broker.log, stack.workers[0].log, stack.workers[1].log,
                          stack.workers[2].log};
    for (int i = 0; i < PQntuples(res); i++) {
        for (size_t k = 0; k < sizeof logs / sizeof logs[0]; k++) {
            if (it_file_count(logs[k], PQgetvalue(res, i, 0), 1)) {
                fail_msg("a national id appears in %s", logs[k]);
            }
        }
    }
    PQclear(res);
    for (size_t k = 0; k < sizeof logs / sizeof logs[0]; k++) {
        assert_false(it_file_count(logs[k], "1234567890", 1)); // the refused ones too
        assert_false(it_file_count(logs[k], "1111111111", 1));
    }
}

// Requests sent together are recorded in one statement (a batch of array
// literals): text that looks like array syntax must arrive exactly as sent.
static void
test_a_batch_keeps_every_note_exactly(void **state)
{
    (void) state;
    enum { N = 12 };
    const char *note = "a \"quoted\" \\back\\slash {x,y} NULL, \u0627\u06cc\u0631\u0627\u0646";
    void *ctx = zmq_ctx_new();
    void *center = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(center, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(center, stack.frontend), 0);
    it_request r[N];
    for (int i = 0; i < N; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "batch-%d", i);
        it_request_init(&r[i], 941, "SOC-09", tag);
        r[i].req.note = (char *) note;
        uint8_t buf[1024];
        size_t n = rr__v1__submit_request__pack(&r[i].req, buf);
        assert_int_equal(rr_wire_send_call(center, 0, RR_CMD_SUBMIT, r[i].request_id, buf, n),
                         RR_OK);
    }
    int accepted = 0;
    zmq_pollitem_t item = {center, 0, ZMQ_POLLIN, 0};
    while (accepted < N && zmq_poll(&item, 1, 10000) == 1) {
        rr_wire_call a;
        rr_wire_error err;
        assert_int_equal(rr_wire_recv_answer(center, 0, &a, &err), RR_OK);
        Rr__V1__SubmitReply *reply = NULL;
        assert_int_equal(rr_wire_unpack(zmq_msg_data(&a.body), zmq_msg_size(&a.body), &reply, NULL),
                         RR_OK);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        accepted++;
        rr_wire_free(reply);
        rr_wire_call_close(&a);
    }
    assert_int_equal(accepted, N);
    const char *p[] = {note};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE note = $1"
                                  " AND household_id LIKE 'h-941-batch-%'",
                                  1, p),
                     N);
    zmq_close(center);
    zmq_ctx_term(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_domain_reaches_its_worker_and_the_center_county_office),
        cmocka_unit_test(test_routing_rule_overrides_the_county_office),
        cmocka_unit_test(
            test_retry_with_same_request_id_returns_the_first_referral_and_no_second_row),
        cmocka_unit_test(test_concurrent_retries_of_one_request_id_make_one_row),
        cmocka_unit_test(test_reused_request_id_with_other_content_is_refused_as_conflict),
        cmocka_unit_test(test_invalid_requests_get_typed_errors_and_leave_no_row),
        cmocka_unit_test(test_malformed_frames_get_a_typed_protocol_error),
        cmocka_unit_test(test_status_query_returns_the_referral_and_its_history),
        cmocka_unit_test(test_a_batch_with_an_unknown_center_keeps_the_valid_requests_beside_it),
        cmocka_unit_test(test_no_national_id_reaches_any_log_line),
        cmocka_unit_test(test_a_batch_keeps_every_note_exactly),
    };
    return cmocka_run_group_tests_name("integration.spine", tests, setup, teardown);
}
