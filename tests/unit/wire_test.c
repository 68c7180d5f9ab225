// rr_wire: field checks, text checks, delivery ids and refusals round trip.
// Long on purpose: every message's refusals, one table-like test each.
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

static Rr__V1__SubmitRequest
valid(void)
{
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = "5F0C8A52-1D2E-4C3B-9A7F-0E1D2C3B4A59";
    req.center_code = 941;
    req.national_id = "0012345679";
    req.household_id = "H-941-0007";
    req.service_code = "RHB-02";
    req.note = "line one\nline two";
    req.consent = true;
    return req;
}

static void
expect(const Rr__V1__SubmitRequest *req, rr_status code, const char *field)
{
    rr_wire_error err;
    assert_int_equal(rr_wire_submit_check(req, NULL, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
}

static void
test_rr_wire_accepts_a_valid_submission(void **state)
{
    (void) state;
    Rr__V1__SubmitRequest req = valid();
    char natid[11];
    rr_wire_error err;
    assert_int_equal(rr_wire_submit_check(&req, natid, &err), RR_OK);
    assert_string_equal(natid, "0012345679");
}

static void
test_rr_wire_names_the_field_of_each_malformed_submission(void **state)
{
    (void) state;
    Rr__V1__SubmitRequest req = valid();
    req.request_id = "";
    expect(&req, RR_EINVAL, "request_id");
    req = valid();
    req.request_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a5"; // one digit short
    expect(&req, RR_EINVAL, "request_id");
    req = valid();
    req.request_id = "5f0c8a52x1d2e-4c3b-9a7f-0e1d2c3b4a59";
    expect(&req, RR_EINVAL, "request_id");
    req = valid();
    req.center_code = 0;
    expect(&req, RR_EINVAL, "center_code");
    req = valid();
    req.household_id = "";
    expect(&req, RR_EINVAL, "household_id");
    req = valid();
    char long_household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 2];
    memset(long_household, 'h', sizeof long_household - 1);
    long_household[sizeof long_household - 1] = '\0';
    req.household_id = long_household;
    expect(&req, RR_ETOOBIG, "household_id");
    req = valid();
    req.household_id = "H-\x01";
    expect(&req, RR_EINVAL, "household_id");
    req = valid();
    req.household_id = "\u200c \u00a0\ufeff"; // nothing left once written canonically
    expect(&req, RR_EINVAL, "household_id");
    req = valid();
    req.household_id = "H-\u202e1-049"; // a right-to-left override
    expect(&req, RR_EINVAL, "household_id");
    req = valid();
    req.household_id = "H-\xc2\x9b"
                       "1"; // a C1 control character
    expect(&req, RR_EINVAL, "household_id");
    req = valid();
    req.household_id = "\ufdfa\ufdfa\ufdfa\ufdfa"; // 12 bytes, 4 x 18 letters once decomposed
    expect(&req, RR_ETOOBIG, "household_id");
    req = valid();
    req.note = "see \u2066this\u2069";
    expect(&req, RR_EINVAL, "note");
    req = valid();
    req.service_code = "";
    expect(&req, RR_EINVAL, "service_code");
    req = valid();
    req.note = "bad \xc3\x28 utf-8";
    expect(&req, RR_EINVAL, "note");
    req = valid();
    req.priority = (Rr__V1__Priority) 5;
    expect(&req, RR_EINVAL, "priority");
    req = valid();
    req.domain = (Rr__V1__Domain) 4;
    expect(&req, RR_EINVAL, "domain");
    req = valid();
    Rr__V1__RiskFlag flags[9] = {1, 2, 3, 4, 5, 6, 7, 8, 1};
    req.risk_flags = flags;
    req.n_risk_flags = 9;
    expect(&req, RR_ETOOBIG, "risk_flags");
    req.n_risk_flags = 1;
    flags[0] = (Rr__V1__RiskFlag) 99;
    expect(&req, RR_EINVAL, "risk_flags");
    req = valid();
    req.consent = false;
    expect(&req, RR_EINVAL, "consent");
    req = valid();
    req.national_id = "";
    expect(&req, RR_EINVAL, "national_id");
    req = valid();
    req.national_id = "0012345678";
    expect(&req, RR_EINVAL, "national_id");
}

// A SubmitRequest written by hand, with a NUL inside field `field` (a string
// protobuf-c cannot produce: its packer stops at the NUL).
static size_t
submit_with_nul(uint8_t field, uint8_t *out)
{
    static const char *const TEXT[] = {
        [1] = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59",
        [3] = "0012345679",
        [4] = "H-941-0007",
        [5] = "RHB-02",
        [8] = "a note",
    };
    size_t n = 0;
    for (uint8_t f = 1; f <= 8; f++) {
        if (f == 2) {
            out[n++] = 2 << 3; // center_code = 941, varint
            out[n++] = 0xAD;
            out[n++] = 0x07;
            continue;
        }
        if (f == 6 || f == 7 || TEXT[f] == NULL) {
            continue;
        }
        size_t len = strlen(TEXT[f]);
        out[n++] = (uint8_t) (f << 3 | 2);
        out[n++] = (uint8_t) (len + (f == field ? 2 : 0));
        memcpy(out + n, TEXT[f], len);
        n += len;
        if (f == field) {
            out[n++] = '\0';
            out[n++] = 'X';
        }
    }
    out[n++] = 9 << 3; // consent = true
    out[n++] = 1;
    return n;
}

static void
test_rr_wire_refuses_a_nul_inside_any_string_field(void **state)
{
    (void) state;
    uint8_t body[128];
    size_t n = submit_with_nul(0, body);
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(body, n, &req, &err), RR_OK);
    assert_int_equal(req->center_code, 941);
    rr_wire_free(req);
    static const struct {
        uint8_t field;
        const char *name;
    } CASES[] = {{1, "request_id"},
                 {3, "national_id"},
                 {4, "household_id"},
                 {5, "service_code"},
                 {8, "note"}};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        n = submit_with_nul(CASES[i].field, body);
        req = NULL;
        assert_int_equal(rr_wire_unpack(body, n, &req, &err), RR_EINVAL);
        assert_string_equal(err.field, CASES[i].name);
        assert_non_null(strstr(err.message, "holds a NUL byte"));
        rr_wire_free(req);
    }
    // A field longer than the body ends the walk without a finding.
    assert_null(rr_wire_nul_field(&rr__v1__submit_request__descriptor,
                                  "\x22\x05"
                                  "ab",
                                  4));
}

// An InboxRequest's checks, through rr_wire_unpack as a worker reads it.
static rr_status
inbox_check(const Rr__V1__InboxRequest *q, rr_wire_error *err)
{
    uint8_t buf[512];
    size_t n = rr__v1__inbox_request__pack(q, buf);
    Rr__V1__InboxRequest *back = NULL;
    rr_status st = rr_wire_unpack(buf, n, &back, err);
    rr_wire_free(back);
    return st;
}

static void
test_rr_wire_an_inbox_names_an_office_and_sane_filters(void **state)
{
    (void) state;
    Rr__V1__InboxRequest q = RR__V1__INBOX_REQUEST__INIT;
    rr_wire_error err;
    q.office_code = "CO-2301";
    assert_int_equal(inbox_check(&q, &err), RR_OK);
    q.office_code = "";
    assert_int_equal(inbox_check(&q, &err), RR_EINVAL);
    assert_string_equal(err.field, "office_code");
    q.office_code = "941";
    assert_int_equal(inbox_check(&q, &err), RR_EINVAL);
    assert_string_equal(err.field, "office_code");
    q.office_code = "CO-2301";
    Rr__V1__ReferralStatus states[2] = {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED,
                                        (Rr__V1__ReferralStatus) 42};
    q.statuses = states;
    q.n_statuses = 2;
    assert_int_equal(inbox_check(&q, &err), RR_EINVAL);
    assert_string_equal(err.field, "statuses");
    q.n_statuses = 1;
    q.limit = 1001;
    assert_int_equal(inbox_check(&q, &err), RR_ETOOBIG);
    assert_string_equal(err.field, "limit");
    q.limit = 0;
    q.min_priority = (Rr__V1__Priority) 9;
    assert_int_equal(inbox_check(&q, &err), RR_EINVAL);
    assert_string_equal(err.field, "min_priority");
}

static void
test_rr_wire_never_quotes_the_national_id_in_a_message(void **state)
{
    (void) state;
    Rr__V1__SubmitRequest req = valid();
    req.national_id = "0012345678";
    rr_wire_error err;
    assert_int_equal(rr_wire_submit_check(&req, NULL, &err), RR_EINVAL);
    assert_null(strstr(err.message, "0012345678"));
}

static void
test_rr_wire_text_ok_rejects_overlongs_surrogates_and_controls(void **state)
{
    (void) state;
    assert_true(rr_wire_text_ok("سلام", strlen("سلام"), false));
    assert_true(rr_wire_text_ok("a\tb\n", 4, true));
    assert_false(rr_wire_text_ok("a\tb", 3, false));
    assert_false(rr_wire_text_ok("\xc0\xaf", 2, false));         // overlong '/'
    assert_false(rr_wire_text_ok("\xed\xa0\x80", 3, false));     // U+D800
    assert_false(rr_wire_text_ok("\xf4\x90\x80\x80", 4, false)); // > U+10FFFF
    assert_false(rr_wire_text_ok("\xe2\x82", 2, false));         // truncated
    assert_false(rr_wire_text_ok("\x7f", 1, true));
    assert_true(rr_wire_text_ok("\xf0\x9f\x98\x80", 4, false)); // U+1F600
}

static void
test_rr_wire_delivery_ids_round_trip_big_endian(void **state)
{
    (void) state;
    uint8_t b[RR_WIRE_DELIVERY_ID_LEN];
    rr_wire_put_u64(b, 0x0102030405060708ULL);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[7], 8);
    assert_true(rr_wire_get_u64(b) == 0x0102030405060708ULL);
    rr_wire_put_u64(b, UINT64_MAX);
    assert_true(rr_wire_get_u64(b) == UINT64_MAX);
}

static void
test_rr_wire_unpack_refuses_garbage_and_oversized_bodies(void **state)
{
    (void) state;
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(rr_wire_unpack(garbage, sizeof garbage, &req, &err), RR_EPROTO);
    assert_null(req);
    static uint8_t big[RR_WIRE_MAX_BODY_BYTES + 1];
    assert_int_equal(rr_wire_unpack(big, sizeof big, &req, &err), RR_ETOOBIG);
    assert_null(req);
    // A truncated valid message is refused, not half-read.
    Rr__V1__SubmitRequest ok = valid();
    uint8_t buf[256];
    size_t n = rr__v1__submit_request__pack(&ok, buf);
    assert_int_equal(rr_wire_unpack(buf, n - 3, &req, &err), RR_EPROTO);
    assert_null(req);
    assert_int_equal(rr_wire_unpack(buf, n, &req, &err), RR_OK);
    assert_string_equal(req->household_id, "H-941-0007");
    rr_wire_free(req);
}

static void
test_rr_wire_status_query_needs_exactly_one_key(void **state)
{
    (void) state;
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    uint8_t buf[128];
    size_t n = rr__v1__status_query__pack(&q, buf);
    Rr__V1__StatusQuery *out = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(buf, n, &out, &err), RR_EINVAL);
    assert_string_equal(err.field, "key");
    rr_wire_free(out);
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = "R-12";
    n = rr__v1__status_query__pack(&q, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &out, &err), RR_OK);
    assert_string_equal(out->referral_id, "R-12");
    rr_wire_free(out);
}

static void
test_rr_wire_worker_ready_credit_must_be_in_range(void **state)
{
    (void) state;
    Rr__V1__WorkerReady r = RR__V1__WORKER_READY__INIT;
    r.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    r.credit = 0;
    uint8_t buf[64];
    size_t n = rr__v1__worker_ready__pack(&r, buf);
    Rr__V1__WorkerReady *out = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(buf, n, &out, &err), RR_EINVAL);
    assert_string_equal(err.field, "credit");
    rr_wire_free(out);
    r.credit = 4;
    n = rr__v1__worker_ready__pack(&r, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &out, &err), RR_OK);
    rr_wire_free(out);
}

static void
test_rr_wire_busy_refusal_carries_the_retry_hint(void **state)
{
    (void) state;
    rr_wire_error err;
    assert_int_equal(rr_wire_fail(&err, RR_EBUSY, "", "queue %s is full", "social"), RR_EBUSY);
    zmq_msg_t frame;
    assert_int_equal(rr_wire_pack_refusal(RR_CMD_SUBMIT, "id-1", RR__V1__OUTCOME__OUTCOME_BUSY,
                                          1500, &err, &frame),
                     RR_OK);
    Rr__V1__SubmitReply *reply = NULL;
    assert_int_equal(rr_wire_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), &reply, NULL),
                     RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_int_equal(reply->retry_after_ms, 1500);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EBUSY);
    assert_string_equal(reply->error->message, "queue social is full");
    assert_string_equal(reply->request_id, "id-1");
    rr_wire_free(reply);
    zmq_msg_close(&frame);
}

// Reads a refusal packed for command back as the command's own answer type
// and checks the shared head: the id, the status and the error.
static void
check_head(uint8_t command, const char *id)
{
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_ENOTFOUND, "referral_id", "referral \"R-7\" does not exist");
    zmq_msg_t frame;
    assert_int_equal(rr_wire_refusal_command(command), command);
    assert_int_equal(rr_wire_pack_refusal(command, id, 0, 0, &err, &frame), RR_OK);
    ProtobufCMessage *m = NULL;
    assert_int_equal(rr_wire_unpack_as(rr_wire_answer_type(command), zmq_msg_data(&frame),
                                       zmq_msg_size(&frame), &m, NULL),
                     RR_OK);
    Rr__V1__ReplyHead *head = NULL;
    assert_int_equal(rr_wire_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), &head, NULL),
                     RR_OK);
    assert_string_equal(head->id, id);
    assert_int_equal(head->status, RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_string_equal(head->error->field, "referral_id");
    switch (command) {
    case RR_CMD_STATUS: {
        const Rr__V1__StatusReply *r = (const Rr__V1__StatusReply *) m;
        assert_string_equal(r->query_id, id);
        assert_int_equal(r->status, RR__V1__STATUS__STATUS_ENOTFOUND);
        assert_string_equal(r->error->message, "referral \"R-7\" does not exist");
        assert_null(r->referral);
        break;
    }
    case RR_CMD_UPDATE: {
        const Rr__V1__UpdateReply *r = (const Rr__V1__UpdateReply *) m;
        assert_string_equal(r->update_id, id);
        assert_int_equal(r->status, RR__V1__STATUS__STATUS_ENOTFOUND);
        assert_string_equal(r->error->field, "referral_id");
        break;
    }
    default: {
        const Rr__V1__FollowReply *r = (const Rr__V1__FollowReply *) m;
        assert_string_equal(r->query_id, id);
        assert_int_equal(r->status, RR__V1__STATUS__STATUS_ENOTFOUND);
        assert_int_equal(r->n_events, 0);
        break;
    }
    }
    rr_wire_free(head);
    rr_wire_free(m);
    zmq_msg_close(&frame);
}

static void
test_rr_wire_reply_head_is_the_head_of_every_query_reply(void **state)
{
    (void) state;
    check_head(RR_CMD_STATUS, "q-1");
    check_head(RR_CMD_UPDATE, "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59");
    check_head(RR_CMD_FOLLOW, "");
    // The descriptors agree field by field: number, type and name's role.
    const ProtobufCMessageDescriptor *types[] = {&rr__v1__status_reply__descriptor,
                                                 &rr__v1__update_reply__descriptor,
                                                 &rr__v1__follow_reply__descriptor};
    for (size_t i = 0; i < 3; i++) {
        for (unsigned n = 1; n <= 3; n++) {
            const ProtobufCFieldDescriptor *a =
                protobuf_c_message_descriptor_get_field(&rr__v1__reply_head__descriptor, n);
            const ProtobufCFieldDescriptor *b =
                protobuf_c_message_descriptor_get_field(types[i], n);
            assert_non_null(b);
            assert_int_equal(a->type, b->type);
            assert_int_equal(a->label, b->label);
            assert_ptr_equal(a->descriptor, b->descriptor);
        }
    }
}

static void
test_rr_wire_refusal_of_other_commands_is_an_error_reply(void **state)
{
    (void) state;
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_EPERM, "", "not permitted");
    zmq_msg_t frame;
    assert_int_equal(rr_wire_refusal_command(RR_CMD_PING), RR_CMD_ERROR);
    assert_int_equal(rr_wire_refusal_command(0x42), RR_CMD_ERROR);
    assert_int_equal(rr_wire_pack_refusal(RR_CMD_PING, "corr-9", 0, 0, &err, &frame), RR_OK);
    Rr__V1__ErrorReply *r = NULL;
    assert_int_equal(rr_wire_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), &r, NULL), RR_OK);
    assert_string_equal(r->correlation_id, "corr-9");
    assert_int_equal(r->error->code, RR__V1__STATUS__STATUS_EPERM);
    rr_wire_free(r);
    zmq_msg_close(&frame);
    // Each command's types.
    assert_ptr_equal(rr_wire_request_type(RR_CMD_SUBMIT), &rr__v1__submit_request__descriptor);
    assert_ptr_equal(rr_wire_answer_type(RR_CMD_STATS), &rr__v1__broker_stats__descriptor);
    assert_null(rr_wire_request_type(RR_CMD_PING));
    assert_null(rr_wire_answer_type(RR_CMD_PING));
}

static void
test_rr_wire_unpack_names_the_message_it_could_not_read(void **state)
{
    (void) state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    rr_wire_error err;
    Rr__V1__FollowRequest *f = NULL;
    assert_int_equal(rr_wire_unpack(garbage, sizeof garbage, &f, &err), RR_EPROTO);
    assert_string_equal(err.message, "malformed FollowRequest: not a valid protobuf message");
    // A field check failure keeps the message, so its id can be echoed.
    Rr__V1__FollowRequest in = RR__V1__FOLLOW_REQUEST__INIT;
    in.query_id = "q-5";
    in.limit = 5000;
    in.center_code = 941;
    uint8_t buf[64];
    size_t n = rr__v1__follow_request__pack(&in, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &f, &err), RR_ETOOBIG);
    assert_non_null(f);
    assert_string_equal(f->query_id, "q-5");
    assert_string_equal(err.field, "limit");
    rr_wire_free(f);
    rr_wire_free(NULL);
}

// A cursor is a PostgreSQL bigint: one past it is bad input (EINVAL on
// after_seq), never a database failure that a client would retry forever.
static void
test_rr_wire_refuses_a_follow_cursor_the_database_cannot_hold(void **state)
{
    (void) state;
    Rr__V1__FollowRequest in = RR__V1__FOLLOW_REQUEST__INIT;
    in.query_id = "q-cursor";
    in.center_code = 941;
    uint8_t buf[64];
    rr_wire_error err;
    Rr__V1__FollowRequest *f = NULL;
    in.after_seq = (uint64_t) INT64_MAX; // the largest seq there can be
    size_t n = rr__v1__follow_request__pack(&in, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &f, &err), RR_OK);
    rr_wire_free(f);
    f = NULL;
    in.after_seq = (uint64_t) INT64_MAX + 1;
    n = rr__v1__follow_request__pack(&in, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &f, &err), RR_EINVAL);
    assert_non_null(f);
    assert_string_equal(f->query_id, "q-cursor"); // the refusal can name the request
    assert_string_equal(err.field, "after_seq");
    assert_string_equal(err.message,
                        "invalid after_seq 9223372036854775808: a follow-up cursor is at most "
                        "9223372036854775807 (send 0, or the last_seq of an earlier page)");
    rr_wire_free(f);
    f = NULL;
    in.after_seq = UINT64_MAX;
    n = rr__v1__follow_request__pack(&in, buf);
    assert_int_equal(rr_wire_unpack(buf, n, &f, &err), RR_EINVAL);
    assert_string_equal(err.field, "after_seq");
    rr_wire_free(f);
}

static void
test_rr_wire_answers_are_not_held_to_the_request_limit(void **state)
{
    (void) state;
    // A page of 100 events with 1,000-byte reasons: about 100 KiB.
    static char reason[1001];
    memset(reason, 'x', 1000);
    Rr__V1__Event ev[100];
    Rr__V1__Event *evp[100];
    for (int i = 0; i < 100; i++) {
        rr__v1__event__init(&ev[i]);
        ev[i].reason = reason;
        ev[i].seq = (uint64_t) i + 1;
        evp[i] = &ev[i];
    }
    Rr__V1__FollowReply page = RR__V1__FOLLOW_REPLY__INIT;
    page.events = evp;
    page.n_events = 100;
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(&page.base, &buf, &size), RR_OK);
    assert_true(size > RR_WIRE_MAX_BODY_BYTES);
    Rr__V1__FollowReply *back = NULL;
    assert_int_equal(rr_wire_unpack(buf, size, &back, NULL), RR_OK);
    assert_int_equal(back->n_events, 100);
    rr_wire_free(back);
    // A request that large is still refused.
    Rr__V1__FollowRequest *req = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(buf, size, &req, &err), RR_ETOOBIG);
    assert_null(req);
    free(buf);
}

static void
test_rr_wire_an_update_names_a_valid_actor(void **state)
{
    (void) state;
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    u.update_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    u.referral_id = "R-7";
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED;
    u.expected_version = 1;
    uint8_t buf[256];
    rr_wire_error err;
    Rr__V1__UpdateRequest *m = NULL;
    const struct {
        const char *office;
        uint32_t center;
        rr_status code;
        const char *field;
    } cases[] = {
        {"CO-2301", 0, RR_OK, ""},
        {"", 941, RR_OK, ""},
        {"co-2301", 0, RR_EINVAL, "office_code"},   // not a code
        {"CO-2301", 941, RR_EINVAL, "office_code"}, // both
        {"", 0, RR_EINVAL, "office_code"},          // neither
        {"", 2147483648u, RR_EINVAL, "center_code"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        u.office_code = (char *) cases[i].office;
        u.center_code = cases[i].center;
        size_t n = rr__v1__update_request__pack(&u, buf);
        memset(&err, 0, sizeof err);
        assert_int_equal(rr_wire_unpack(buf, n, &m, &err), cases[i].code);
        assert_string_equal(err.field, cases[i].field);
        rr_wire_free(m);
    }
}

static void
test_rr_wire_body_id_names_each_command_by_its_own_field(void **state)
{
    (void) state;
    uint8_t buf[512];
    char id[RR_WIRE_MAX_QUERY_ID_BYTES + 1];
    Rr__V1__SubmitRequest sub = RR__V1__SUBMIT_REQUEST__INIT;
    sub.request_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    size_t n = rr__v1__submit_request__pack(&sub, buf);
    rr_wire_body_id(RR_CMD_SUBMIT, buf, n, id);
    assert_string_equal(id, "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59");
    Rr__V1__UpdateRequest up = RR__V1__UPDATE_REQUEST__INIT;
    up.update_id = "u-1";
    n = rr__v1__update_request__pack(&up, buf);
    rr_wire_body_id(RR_CMD_UPDATE, buf, n, id);
    assert_string_equal(id, "u-1");
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    q.query_id = "q-7";
    n = rr__v1__status_query__pack(&q, buf);
    rr_wire_body_id(RR_CMD_STATUS, buf, n, id);
    assert_string_equal(id, "q-7");
    Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
    f.query_id = "f-9";
    n = rr__v1__follow_request__pack(&f, buf);
    rr_wire_body_id(RR_CMD_FOLLOW, buf, n, id);
    assert_string_equal(id, "f-9");
    // Garbage, another command, an over-long id: nothing to name.
    const uint8_t garbage[] = {0xFF, 0xFF, 0xFF};
    rr_wire_body_id(RR_CMD_SUBMIT, garbage, sizeof garbage, id);
    assert_string_equal(id, "");
    rr_wire_body_id(RR_CMD_PING, buf, n, id);
    assert_string_equal(id, "");
    char longer[100];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    q.query_id = longer;
    n = rr__v1__status_query__pack(&q, buf);
    rr_wire_body_id(RR_CMD_STATUS, buf, n, id);
    assert_string_equal(id, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_wire_accepts_a_valid_submission),
        cmocka_unit_test(test_rr_wire_names_the_field_of_each_malformed_submission),
        cmocka_unit_test(test_rr_wire_never_quotes_the_national_id_in_a_message),
        cmocka_unit_test(test_rr_wire_text_ok_rejects_overlongs_surrogates_and_controls),
        cmocka_unit_test(test_rr_wire_refuses_a_nul_inside_any_string_field),
        cmocka_unit_test(test_rr_wire_an_inbox_names_an_office_and_sane_filters),
        cmocka_unit_test(test_rr_wire_delivery_ids_round_trip_big_endian),
        cmocka_unit_test(test_rr_wire_unpack_refuses_garbage_and_oversized_bodies),
        cmocka_unit_test(test_rr_wire_status_query_needs_exactly_one_key),
        cmocka_unit_test(test_rr_wire_worker_ready_credit_must_be_in_range),
        cmocka_unit_test(test_rr_wire_busy_refusal_carries_the_retry_hint),
        cmocka_unit_test(test_rr_wire_body_id_names_each_command_by_its_own_field),
        cmocka_unit_test(test_rr_wire_refuses_a_follow_cursor_the_database_cannot_hold),
        cmocka_unit_test(test_rr_wire_answers_are_not_held_to_the_request_limit),
        cmocka_unit_test(test_rr_wire_an_update_names_a_valid_actor),
        cmocka_unit_test(test_rr_wire_reply_head_is_the_head_of_every_query_reply),
        cmocka_unit_test(test_rr_wire_refusal_of_other_commands_is_an_error_reply),
        cmocka_unit_test(test_rr_wire_unpack_names_the_message_it_could_not_read),
    };
    return cmocka_run_group_tests_name("unit.wire", tests, NULL, NULL);
}
