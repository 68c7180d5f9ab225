// libFuzzer target: every decoder a peer's bytes reach, in the broker and
// the workers. The first byte picks the decoder; for the envelope check the
// rest is split into frames at each 0xFF 0xFE pair.
#include "rr_wire.h"

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
envelope(const uint8_t *data, size_t size)
{
    rr_frames f;
    memset(&f, 0, sizeof f);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        bool cut = i == size || (i + 1 < size && data[i] == 0xFF && data[i + 1] == 0xFE);
        if (!cut) {
            continue;
        }
        if (f.count == RR_WIRE_MAX_FRAMES) {
            f.too_many = true;
            break;
        }
        if (zmq_msg_init_size(&f.part[f.count], i - start) != 0) {
            break;
        }
        memcpy(zmq_msg_data(&f.part[f.count]), data + start, i - start);
        f.count++;
        start = i + 2;
        i++;
    }
    uint8_t command = 0;
    rr_wire_error err;
    if (rr_wire_client_header(&f, &command, &err) == RR_OK && f.count == 5) {
        Rr__V1__SubmitRequest *req = NULL;
        (void) rr_wire_submit_unpack(rr_frames_data(&f, 4), rr_frames_size(&f, 4), &req, &err);
        if (req != NULL) {
            rr__v1__submit_request__free_unpacked(req, NULL);
        }
    }
    rr_frames_close(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    rr_wire_error err;
    switch (data[0] % 8) {
    case 0: {
        Rr__V1__SubmitRequest *m = NULL;
        char natid[11];
        if (rr_wire_submit_unpack(body, n, &m, &err) == RR_OK) {
            (void) rr_wire_submit_check(m, natid, &err);
        }
        if (m != NULL) {
            rr__v1__submit_request__free_unpacked(m, NULL);
        }
        break;
    }
    case 1: {
        Rr__V1__StatusQuery *m = NULL;
        (void) rr_wire_status_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr__v1__status_query__free_unpacked(m, NULL);
        }
        break;
    }
    case 2: {
        Rr__V1__UpdateRequest *m = NULL;
        (void) rr_wire_update_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr__v1__update_request__free_unpacked(m, NULL);
        }
        break;
    }
    case 3: {
        Rr__V1__FollowRequest *m = NULL;
        (void) rr_wire_follow_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr__v1__follow_request__free_unpacked(m, NULL);
        }
        break;
    }
    case 4: {
        Rr__V1__WorkerReady *m = NULL;
        (void) rr_wire_ready_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr__v1__worker_ready__free_unpacked(m, NULL);
        }
        break;
    }
    case 5: {
        rr_risk_rule rules[RR_RISK_MAX_RULES];
        size_t count = 0;
        (void) rr_wire_rules_unpack(body, n, rules, &count);
        break;
    }
    case 6: {
        Rr__V1__WorkerStats *m = NULL;
        if (rr_wire_worker_stats_unpack(body, n, &m) == RR_OK) {
            rr__v1__worker_stats__free_unpacked(m, NULL);
        }
        // A worker's reply: the broker's fast outcome scan must agree with
        // the full decoder whenever both accept the bytes.
        int outcome = -1;
        rr_status scan = rr_wire_submit_reply_outcome(body, n, &outcome);
        Rr__V1__SubmitReply *r = NULL;
        if (rr_wire_submit_reply_unpack(body, n, &r) == RR_OK) {
            if (scan == RR_OK && outcome != (int) r->outcome) {
                abort();
            }
            rr__v1__submit_reply__free_unpacked(r, NULL);
        }
        break;
    }
    default:
        envelope(body, n);
        break;
    }
    return 0;
}
