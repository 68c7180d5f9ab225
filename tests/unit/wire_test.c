// rr_wire: field checks, text checks, delivery ids and refusals round trip.
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
    assert_int_equal(rr_wire_submit_unpack(garbage, sizeof garbage, &req, &err), RR_EPROTO);
    assert_null(req);
    static uint8_t big[RR_WIRE_MAX_BODY_BYTES + 1];
    assert_int_equal(rr_wire_submit_unpack(big, sizeof big, &req, &err), RR_ETOOBIG);
    assert_null(req);
    // A truncated valid message is refused, not half-read.
    Rr__V1__SubmitRequest ok = valid();
    uint8_t buf[256];
    size_t n = rr__v1__submit_request__pack(&ok, buf);
    assert_int_equal(rr_wire_submit_unpack(buf, n - 3, &req, &err), RR_EPROTO);
    assert_null(req);
    assert_int_equal(rr_wire_submit_unpack(buf, n, &req, &err), RR_OK);
    assert_string_equal(req->household_id, "H-941-0007");
    rr__v1__submit_request__free_unpacked(req, NULL);
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
    assert_int_equal(rr_wire_status_unpack(buf, n, &out, &err), RR_EINVAL);
    assert_string_equal(err.field, "key");
    rr__v1__status_query__free_unpacked(out, NULL);
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = "R-12";
    n = rr__v1__status_query__pack(&q, buf);
    assert_int_equal(rr_wire_status_unpack(buf, n, &out, &err), RR_OK);
    assert_string_equal(out->referral_id, "R-12");
    rr__v1__status_query__free_unpacked(out, NULL);
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
    assert_int_equal(rr_wire_ready_unpack(buf, n, &out, &err), RR_EINVAL);
    assert_string_equal(err.field, "credit");
    rr__v1__worker_ready__free_unpacked(out, NULL);
    r.credit = 4;
    n = rr__v1__worker_ready__pack(&r, buf);
    assert_int_equal(rr_wire_ready_unpack(buf, n, &out, &err), RR_OK);
    rr__v1__worker_ready__free_unpacked(out, NULL);
}

static void
test_rr_wire_busy_refusal_carries_the_retry_hint(void **state)
{
    (void) state;
    rr_wire_error err;
    assert_int_equal(rr_wire_fail(&err, RR_EBUSY, "", "queue %s is full", "social"), RR_EBUSY);
    zmq_msg_t frame;
    assert_int_equal(
        rr_wire_pack_submit_refusal("id-1", RR__V1__OUTCOME__OUTCOME_BUSY, &err, 1500, &frame),
        RR_OK);
    Rr__V1__SubmitReply *reply = NULL;
    assert_int_equal(
        rr_wire_submit_reply_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), &reply), RR_OK);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_BUSY);
    assert_int_equal(reply->retry_after_ms, 1500);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_EBUSY);
    assert_string_equal(reply->error->message, "queue social is full");
    assert_string_equal(reply->request_id, "id-1");
    rr__v1__submit_reply__free_unpacked(reply, NULL);
    zmq_msg_close(&frame);
}

static void
test_rr_wire_submit_reply_outcome_reads_it_without_decoding(void **state)
{
    (void) state;
    Rr__V1__SubmitReply r = RR__V1__SUBMIT_REPLY__INIT;
    r.request_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59";
    r.referral_id = "R-7";
    r.office_code = "CO-2301";
    r.office_name_fa = "اداره بهزیستی";
    r.created_at_ms = -1; // a ten-byte varint
    r.retry_after_ms = 300;
    uint8_t buf[512];
    int outcome = -1;
    for (int o = 0; o <= RR__V1__OUTCOME__OUTCOME_BUSY; o++) {
        r.outcome = (Rr__V1__Outcome) o;
        size_t n = rr__v1__submit_reply__pack(&r, buf);
        assert_int_equal(rr_wire_submit_reply_outcome(buf, n, &outcome), RR_OK);
        assert_int_equal(outcome, o);
        // Cut anywhere: refused inside a field, and read only up to the cut
        // (ASan would see more); at a field boundary the outcome is the
        // real one or, before field 2, the default.
        for (size_t cut = 1; cut < n; cut++) {
            int part = -1;
            if (rr_wire_submit_reply_outcome(buf, cut, &part) == RR_OK) {
                assert_true(part == 0 || part == o);
            }
        }
    }
    const uint8_t bad[] = {0x0F}; // wire type 7 does not exist
    assert_int_equal(rr_wire_submit_reply_outcome(bad, sizeof bad, &outcome), RR_EPROTO);
    const uint8_t long_len[] = {0x0A, 0x7F, 0x00}; // length past the end
    assert_int_equal(rr_wire_submit_reply_outcome(long_len, sizeof long_len, &outcome), RR_EPROTO);
    assert_int_equal(rr_wire_submit_reply_outcome(NULL, 0, &outcome), RR_OK);
    assert_int_equal(outcome, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_wire_accepts_a_valid_submission),
        cmocka_unit_test(test_rr_wire_names_the_field_of_each_malformed_submission),
        cmocka_unit_test(test_rr_wire_never_quotes_the_national_id_in_a_message),
        cmocka_unit_test(test_rr_wire_text_ok_rejects_overlongs_surrogates_and_controls),
        cmocka_unit_test(test_rr_wire_delivery_ids_round_trip_big_endian),
        cmocka_unit_test(test_rr_wire_unpack_refuses_garbage_and_oversized_bodies),
        cmocka_unit_test(test_rr_wire_status_query_needs_exactly_one_key),
        cmocka_unit_test(test_rr_wire_worker_ready_credit_must_be_in_range),
        cmocka_unit_test(test_rr_wire_busy_refusal_carries_the_retry_hint),
        cmocka_unit_test(test_rr_wire_submit_reply_outcome_reads_it_without_decoding),
    };
    return cmocka_run_group_tests_name("unit.wire", tests, NULL, NULL);
}
