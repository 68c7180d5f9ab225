// Raw protocol peers, for tests that must break the rules exactly: fake
// workers that die on cue, centers that pipeline requests. They speak RRC2
// and RRW2 through rr_wire_frames, as any peer would.
#ifndef IT_RAW_H
#define IT_RAW_H

#include "rr_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A DEALER connected to endpoint (linger 0). Aborts the test on failure.
void *it_raw_socket(void *ctx, const char *endpoint);

// Sends a submission as a center, its request_id as the correlation.
void it_raw_submit(void *center, const Rr__V1__SubmitRequest *req);

// The next answer on a center socket within timeout_ms, as a SubmitReply
// (free with rr__v1__submit_reply__free_unpacked); NULL on silence. Asserts
// the answer names its request (correlation = request_id).
Rr__V1__SubmitReply *it_raw_submit_reply(void *center, long timeout_ms);

// Sends msg as a center's command with correlation, as a hostile client
// would: no local checks (cli_center's refusals) stand in the way.
void it_raw_call(void *center, uint8_t command, const char *correlation,
                 const ProtobufCMessage *msg);

// The next answer on a center socket within timeout_ms; false on silence.
// On true the caller closes *a with rr_wire_call_close.
bool it_raw_answer(void *center, long timeout_ms, rr_wire_call *a);

// A fake worker: a DEALER registered for domain with credit, declaring
// heartbeat_ms (0: the broker's).
void *it_fake_worker(void *ctx, const char *endpoint, Rr__V1__Domain domain, uint32_t credit,
                     uint32_t heartbeat_ms);

// As it_fake_worker, reporting host and version in READY (what the
// monitor shows operators).
void *it_fake_worker_on(void *ctx, const char *endpoint, Rr__V1__Domain domain, uint32_t credit,
                        uint32_t heartbeat_ms, const char *host, const char *version);

// The next REQUEST to a fake worker within timeout_ms (heartbeats are
// skipped); false on silence. On true the caller closes *w.
bool it_fake_request(void *fake, long timeout_ms, rr_wire_work *w);

// A fake worker's REPLY to a delivery, with its outcome and body.
void it_fake_reply(void *fake, uint64_t delivery_id, uint8_t outcome, const void *body, size_t len);

// A fake worker's HEARTBEAT (no counters).
void it_fake_heartbeat(void *fake);

// A fake worker's HEARTBEAT carrying ws as its counters, as it is: the
// tests choose what a worker of another version, or a broken one, sends.
void it_fake_stats(void *fake, const Rr__V1__WorkerStats *ws);

#endif
