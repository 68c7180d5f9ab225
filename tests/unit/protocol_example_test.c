// docs/PROTOCOL.md's worked examples are the bytes this code sends: one
// SUBMIT (and one DONATE) through rr_wire_send_call and its answer through
// rr_wire_send_answer, over a real inproc DEALER/ROUTER pair. Each frame's
// bytes must appear in the document, in its hex dump between the markers
// <!-- hex:NAME --> and <!-- /hex:NAME -->. RR_PRINT_EXAMPLE=1 prints the
// dumps (to update the document after a deliberate change).
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RR_SOURCE_DIR
#error "RR_SOURCE_DIR must name the source tree"
#endif

#define REQUEST_ID "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59"

static char *doc;

// The document, read once.
static int
setup(void **state)
{
    (void) state;
    FILE *f = fopen(RR_SOURCE_DIR "/docs/PROTOCOL.md", "r");
    if (f == NULL) {
        return -1;
    }
    size_t cap = 1 << 20;
    doc = calloc(1, cap);
    size_t n = doc ? fread(doc, 1, cap - 1, f) : 0;
    fclose(f);
    return n > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    free(doc);
    return 0;
}

// The bytes of the dump named name in the document: lines "OFFS  xx xx ...
// |text|" between its markers.
static size_t
doc_bytes(const char *name, uint8_t *out, size_t cap)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<!-- hex:%s -->", name);
    snprintf(close, sizeof close, "<!-- /hex:%s -->", name);
    const char *start = strstr(doc, open);
    const char *end = start ? strstr(start, close) : NULL;
    assert_non_null(start);
    assert_non_null(end);
    size_t n = 0;
    for (const char *line = start; line < end;) {
        const char *next = strchr(line, '\n');
        next = next ? next + 1 : end;
        if (isxdigit((unsigned char) line[0]) && strncmp(line + 4, "  ", 2) == 0) {
            for (const char *p = line + 6; p + 1 < next && *p != '|'; p++) {
                if (isxdigit((unsigned char) p[0]) && isxdigit((unsigned char) p[1])) {
                    unsigned v;
                    assert_int_equal(sscanf(p, "%2x", &v), 1);
                    assert_true(n < cap);
                    out[n++] = (uint8_t) v;
                    p++;
                }
            }
        }
        line = next;
    }
    return n;
}

// hexdump -C style, 16 bytes a line.
static void
print_dump(const char *name, const uint8_t *b, size_t n)
{
    printf("<!-- hex:%s -->\n```\n", name);
    for (size_t i = 0; i < n; i += 16) {
        printf("%04zx ", i);
        for (size_t k = i; k < i + 16; k++) {
            if (k < n) {
                printf(" %02x", b[k]);
            } else {
                printf("   ");
            }
        }
        printf("  |");
        for (size_t k = i; k < i + 16 && k < n; k++) {
            putchar(b[k] >= 0x20 && b[k] < 0x7f ? b[k] : '.');
        }
        printf("|\n");
    }
    printf("```\n<!-- /hex:%s -->\n", name);
}

static void
expect_in_doc(const char *name, const void *data, size_t size)
{
    if (getenv("RR_PRINT_EXAMPLE") != NULL) {
        print_dump(name, data, size);
        return; // printing, not checking
    }
    uint8_t want[1024];
    size_t n = doc_bytes(name, want, sizeof want);
    assert_int_equal(n, size);
    assert_memory_equal(want, data, size);
}

static void
test_the_documented_submit_and_answer_are_what_goes_on_the_wire(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(router, "inproc://example"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://example"), 0);

    Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
    req.request_id = REQUEST_ID;
    req.center_code = 941;
    req.national_id = "0012345679";
    req.household_id = "H-941-0007";
    req.service_code = "SOC-01";
    req.priority = RR__V1__PRIORITY__PRIORITY_URGENT;
    req.consent = true;
    assert_int_equal(rr_wire_submit_check(&req, NULL, NULL), RR_OK);
    uint8_t *body = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(&req.base, &body, &size), RR_OK);
    assert_int_equal(rr_wire_send_call(dealer, 0, RR_CMD_SUBMIT, REQUEST_ID, body, size), RR_OK);
    free(body);

    // What the broker's ROUTER reads: the routing id, then the 5 frames.
    rr_frames f;
    assert_int_equal(rr_frames_recv(router, &f, 0), RR_OK);
    assert_int_equal(f.count, 6);
    assert_int_equal(rr_frames_size(&f, 1), 0);
    assert_true(rr_frames_equal(&f, 2, "RRC2", 4));
    assert_true(rr_frames_equal(&f, 3, "\x01", 1));
    expect_in_doc("submit-correlation", rr_frames_data(&f, 4), rr_frames_size(&f, 4));
    expect_in_doc("submit-body", rr_frames_data(&f, 5), rr_frames_size(&f, 5));

    // The answer, as the worker would make it, sent back with the same
    // correlation.
    Rr__V1__SubmitReply reply = RR__V1__SUBMIT_REPLY__INIT;
    reply.request_id = REQUEST_ID;
    reply.outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
    reply.referral_id = "R-1";
    reply.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    reply.office_code = "CO-2301";
    reply.office_name = "Tehran County Welfare Office";
    reply.office_name_fa = "اداره بهزیستی شهرستان تهران";
    reply.referral_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED;
    reply.created_at_ms = INT64_C(1795680000000); // 2026-11-26T08:00:00Z
    reply.version = 1;
    zmq_msg_t answer;
    assert_int_equal(rr_wire_pack(&reply.base, &answer), RR_OK);
    assert_int_equal(rr_wire_send_answer(router, &f.part[0], 2, RR_CMD_SUBMIT, REQUEST_ID, &answer),
                     RR_OK);
    rr_frames_close(&f);

    // What the center's DEALER reads: 5 frames, the same layout.
    assert_int_equal(rr_frames_recv(dealer, &f, 0), RR_OK);
    assert_int_equal(f.count, 5);
    assert_int_equal(rr_frames_size(&f, 0), 0);
    assert_true(rr_frames_equal(&f, 1, "RRC2", 4));
    assert_true(rr_frames_equal(&f, 2, "\x01", 1));
    assert_true(rr_frames_equal(&f, 3, REQUEST_ID, strlen(REQUEST_ID)));
    expect_in_doc("answer-body", rr_frames_data(&f, 4), rr_frames_size(&f, 4));
    rr_frames_close(&f);

    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

// A center's record and its answer through a real DEALER/ROUTER pair: the
// frames the broker reads (routing id, empty, RRC2, command, correlation
// id, req) and those the center reads back (reply), each body compared
// with the dump named body_name / answer_name in the document.
static void
round_trip(uint8_t command, const char *id, const ProtobufCMessage *req,
           const ProtobufCMessage *reply, const char *body_name, const char *answer_name)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(router, "inproc://record"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://record"), 0);
    uint8_t *body = NULL;
    size_t size = 0;
    assert_int_equal(rr_wire_pack_buffer(req, &body, &size), RR_OK);
    assert_int_equal(rr_wire_send_call(dealer, 0, command, id, body, size), RR_OK);
    free(body);

    rr_frames f;
    assert_int_equal(rr_frames_recv(router, &f, 0), RR_OK);
    assert_int_equal(f.count, 6);
    assert_int_equal(rr_frames_size(&f, 1), 0);
    assert_true(rr_frames_equal(&f, 2, "RRC2", 4));
    assert_true(rr_frames_equal(&f, 3, &command, 1));
    assert_true(rr_frames_equal(&f, 4, id, strlen(id)));
    expect_in_doc(body_name, rr_frames_data(&f, 5), rr_frames_size(&f, 5));
    zmq_msg_t answer;
    assert_int_equal(rr_wire_pack(reply, &answer), RR_OK);
    assert_int_equal(rr_wire_send_answer(router, &f.part[0], 2, command, id, &answer), RR_OK);
    rr_frames_close(&f);

    assert_int_equal(rr_frames_recv(dealer, &f, 0), RR_OK);
    assert_int_equal(f.count, 5);
    assert_true(rr_frames_equal(&f, 2, &command, 1));
    assert_true(rr_frames_equal(&f, 3, id, strlen(id)));
    expect_in_doc(answer_name, rr_frames_data(&f, 4), rr_frames_size(&f, 4));
    rr_frames_close(&f);
    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

#define DONATION_ID "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static void
test_the_documented_donate_and_answer_are_what_goes_on_the_wire(void **state)
{
    (void) state;
    Rr__V1__DonateRequest req = RR__V1__DONATE_REQUEST__INIT;
    req.donation_id = DONATION_ID;
    req.center_code = 941;
    req.amount_rials = 5000000;
    req.bank_reference = "SHBA-1405-0001";
    req.intent = RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD;
    req.neighbourhood = "نارمک";
    assert_int_equal(rr_wire_donate_check(&req, NULL), RR_OK);
    Rr__V1__DonateReply reply = RR__V1__DONATE_REPLY__INIT;
    reply.donation_id = DONATION_ID;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.earmark_id = 12;
    reply.earmark = "neighbourhood:12";
    reply.province_code = "23";
    reply.recorded_at_ms = INT64_C(1795680000000); // 2026-11-26T08:00:00Z
    round_trip(RR_CMD_DONATE, DONATION_ID, &req.base, &reply.base, "donate-body", "donate-answer");
}

#define RATING_ID "0b7d3c52-6c1d-4b7e-9a51-0d2c4b6a8e77"

static void
test_the_documented_rate_and_answer_are_what_goes_on_the_wire(void **state)
{
    (void) state;
    Rr__V1__RateRequest req = RR__V1__RATE_REQUEST__INIT;
    req.rating_id = RATING_ID;
    req.center_code = 941;
    req.referral_id = "R-1042";
    req.score = 4;
    req.comment = "خوب بود";
    assert_int_equal(rr_wire_rate_check(&req, NULL), RR_OK);
    Rr__V1__RateReply reply = RR__V1__RATE_REPLY__INIT;
    reply.rating_id = RATING_ID;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.referral_id = "R-1042";
    reply.score = 4;
    reply.rated_at_ms = INT64_C(1795680000000); // 2026-11-26T08:00:00Z
    round_trip(RR_CMD_RATE, RATING_ID, &req.base, &reply.base, "rate-body", "rate-answer");
}

#define FINDING_ID "3b2f6a1e-8c4d-4f5a-9b7e-2d1c0a9f8e7d"

// PROFILE, TRUSTEE and FINDING share DONATE's framing; FINDING's example in
// docs/PROTOCOL.md shows the body of a finding a trustee reported.
static void
test_the_documented_finding_and_answer_are_what_goes_on_the_wire(void **state)
{
    (void) state;
    Rr__V1__FindingRequest req = RR__V1__FINDING_REQUEST__INIT;
    req.finding_id = FINDING_ID;
    req.center_code = 941;
    req.action = RR__V1__FINDING_ACTION__FINDING_ACTION_RECORD;
    req.household_id = "H-941-0412";
    req.neighbourhood = "نارمک";
    req.service_code = "RHB-02";
    req.source = RR__V1__FINDING_SOURCE__FINDING_SOURCE_TRUSTEE;
    req.trustee_id = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    assert_int_equal(rr_wire_finding_check(&req, NULL), RR_OK);
    Rr__V1__FindingReply reply = RR__V1__FINDING_REPLY__INIT;
    reply.finding_id = FINDING_ID;
    reply.status = RR__V1__STATUS__STATUS_OK;
    reply.state = "open";
    reply.neighbourhood_id = 12;
    reply.recorded_at_ms = INT64_C(1795680000000); // 2026-11-26T08:00:00Z
    round_trip(RR_CMD_FINDING, FINDING_ID, &req.base, &reply.base, "finding-body",
               "finding-answer");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_documented_submit_and_answer_are_what_goes_on_the_wire),
        cmocka_unit_test(test_the_documented_donate_and_answer_are_what_goes_on_the_wire),
        cmocka_unit_test(test_the_documented_finding_and_answer_are_what_goes_on_the_wire),
        cmocka_unit_test(test_the_documented_rate_and_answer_are_what_goes_on_the_wire),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
