// libFuzzer target: every decoder a peer's bytes reach, in the broker, the
// workers and the clients. The first byte picks the decoder; for the
// envelopes the rest is split into frames at each 0xFF 0xFE pair.
#include "rr_wire.h"

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
envelope(const uint8_t *data, size_t size, bool worker, bool from_router)
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
    rr_wire_error err;
    if (worker) {
        rr_wire_work w;
        (void) rr_wire_parse_work(&f, from_router, &w, &err);
        rr_wire_work_close(&w);
    } else {
        rr_wire_call call;
        if (rr_wire_parse_call(&f, from_router, &call, &err) == RR_OK) {
            char id[RR_WIRE_MAX_QUERY_ID_BYTES + 1];
            rr_wire_body_id(call.command, zmq_msg_data(&call.body), zmq_msg_size(&call.body), id);
            Rr__V1__SubmitRequest *req = NULL;
            (void) rr_wire_unpack(zmq_msg_data(&call.body), zmq_msg_size(&call.body), &req, &err);
            if (req != NULL) {
                rr_wire_free(req);
            }
        }
        rr_wire_call_close(&call);
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
        if (rr_wire_unpack(body, n, &m, &err) == RR_OK) {
            (void) rr_wire_submit_check(m, natid, &err);
        }
        if (m != NULL) {
            rr_wire_free(m);
        }
        break;
    }
    case 1: {
        Rr__V1__StatusQuery *m = NULL;
        (void) rr_wire_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr_wire_free(m);
        }
        break;
    }
    case 2: {
        Rr__V1__UpdateRequest *m = NULL;
        (void) rr_wire_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr_wire_free(m);
        }
        break;
    }
    case 3: {
        if (data[0] & 0x40) { // an office's INBOX
            Rr__V1__InboxRequest *m = NULL;
            (void) rr_wire_unpack(body, n, &m, &err);
            rr_wire_free(m);
            break;
        }
        Rr__V1__FollowRequest *m = NULL;
        (void) rr_wire_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr_wire_free(m);
        }
        break;
    }
    case 4: {
        Rr__V1__WorkerReady *m = NULL;
        (void) rr_wire_unpack(body, n, &m, &err);
        if (m != NULL) {
            rr_wire_free(m);
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
        (void) rr_wire_unpack(body, n, &m, NULL);
        rr_wire_free(m); // in every case: kept when only a field check failed
        // The id the broker reads back from a held body to answer it.
        char id[RR_WIRE_MAX_QUERY_ID_BYTES + 1];
        rr_wire_body_id((uint8_t) (1 + (data[0] >> 3) % 4), body, n, id);
        if (strlen(id) > RR_WIRE_MAX_QUERY_ID_BYTES) {
            abort();
        }
        break;
    }
    default:
        // Both envelopes, as read by the broker (with a routing id) and by
        // a peer (without).
        envelope(body, n, (data[0] & 0x10) != 0, (data[0] & 0x20) != 0);
        break;
    }
    return 0;
}
