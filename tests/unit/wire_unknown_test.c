// rr_wire: a center's request carrying a field this version does not know
// is refused, naming the field's number; a worker's message may carry one.
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

// A valid submission packed into buf; returns its size.
static size_t
pack_valid(uint8_t *buf)
{
    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = "5F0C8A52-1D2E-4C3B-9A7F-0E1D2C3B4A59";
    req.center_code = 941;
    req.national_id = "0012345679";
    req.household_id = "H-941-0007";
    req.service_code = "RHB-02";
    req.consent = true;
    return rr__v1__submit_request__pack(&req, buf);
}

static size_t
put_varint(uint8_t *buf, size_t at, uint64_t v)
{
    while (v > 0x7f) {
        buf[at++] = (uint8_t) ((v & 0x7f) | 0x80);
        v >>= 7;
    }
    buf[at++] = (uint8_t) v;
    return at;
}

// Appends field number `field` as a length-delimited field of len bytes.
static size_t
append_bytes_field(uint8_t *buf, size_t at, uint32_t field, size_t len)
{
    at = put_varint(buf, at, ((uint64_t) field << 3) | 2);
    at = put_varint(buf, at, len);
    memset(buf + at, 'z', len);
    return at + len;
}

static void
test_rr_wire_refuses_a_submission_with_an_unknown_field_naming_its_number(void **state)
{
    (void) state;
    static uint8_t buf[RR_WIRE_MAX_BODY_BYTES];
    size_t n = pack_valid(buf);
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(buf, n, &req, &err), RR_OK);
    assert_int_equal(rr_wire_unknown_field(&req->base), 0);
    rr_wire_free(req);
    // 60 KiB that nobody reads: refused, and the request still named.
    n = append_bytes_field(buf, n, 99, 60 * 1024);
    assert_true(n <= RR_WIRE_MAX_BODY_BYTES);
    assert_int_equal(rr_wire_unpack(buf, n, &req, &err), RR_EINVAL);
    assert_non_null(req);
    assert_int_equal(rr_wire_unknown_field(&req->base), 99);
    assert_string_equal(req->request_id, "5F0C8A52-1D2E-4C3B-9A7F-0E1D2C3B4A59");
    assert_int_equal(err.code, RR_EINVAL);
    assert_string_equal(err.field, "");
    assert_string_equal(err.message, "unrecognized field number 99 in SubmitRequest: this version "
                                     "of the protocol has no such field");
    rr_wire_free(req);
}

static void
test_rr_wire_refuses_an_unknown_field_in_every_center_request(void **state)
{
    (void) state;
    uint8_t buf[64];
    size_t n = append_bytes_field(buf, 0, 17, 3);
    const ProtobufCMessageDescriptor *const centers[] = {
        &rr__v1__submit_request__descriptor, &rr__v1__status_query__descriptor,
        &rr__v1__update_request__descriptor, &rr__v1__follow_request__descriptor,
        &rr__v1__inbox_request__descriptor,
    };
    for (size_t i = 0; i < sizeof centers / sizeof centers[0]; i++) {
        ProtobufCMessage *m = NULL;
        rr_wire_error err;
        assert_int_equal(rr_wire_unpack_as(centers[i], buf, n, &m, &err), RR_EINVAL);
        assert_non_null(strstr(err.message, "unrecognized field number 17 in "));
        assert_non_null(strstr(err.message, centers[i]->short_name));
        rr_wire_free(m);
        // The check reads the top level only: none of them nests a message.
        for (unsigned f = 0; f < centers[i]->n_fields; f++) {
            assert_int_not_equal(centers[i]->fields[f].type, PROTOBUF_C_TYPE_MESSAGE);
        }
    }
}

static void
test_rr_wire_keeps_a_workers_message_with_a_newer_field(void **state)
{
    (void) state;
    Rr__V1__WorkerStats ws = RR__V1__WORKER_STATS__INIT;
    ws.processed = 7;
    uint8_t buf[64];
    size_t n = rr__v1__worker_stats__pack(&ws, buf);
    n = append_bytes_field(buf, n, 40, 4);
    Rr__V1__WorkerStats *got = NULL;
    rr_wire_error err;
    assert_int_equal(rr_wire_unpack(buf, n, &got, &err), RR_OK);
    assert_int_equal(got->processed, 7);
    assert_int_equal(rr_wire_unknown_field(&got->base), 40);
    rr_wire_free(got);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_wire_refuses_a_submission_with_an_unknown_field_naming_its_number),
        cmocka_unit_test(test_rr_wire_refuses_an_unknown_field_in_every_center_request),
        cmocka_unit_test(test_rr_wire_keeps_a_workers_message_with_a_newer_field),
    };
    return cmocka_run_group_tests_name("unit.wire_unknown", tests, NULL, NULL);
}
