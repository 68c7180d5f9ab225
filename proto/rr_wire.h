// The wire contract in C: frame layout constants, multipart receive/send
// over ZeroMQ, and protobuf pack/unpack with field checks. The only module
// that calls the generated pack/unpack functions. docs/PROTOCOL.md is the
// prose version of this header.
#ifndef RR_WIRE_H
#define RR_WIRE_H

#include "referral.pb-c.h"
#include "rr_risk.h"
#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

// Protocol ids, frame 2 of every message: center side and worker side.
#define RR_WIRE_CLIENT_PROTO "RRC1"
#define RR_WIRE_WORKER_PROTO "RRW1"
#define RR_WIRE_PROTO_LEN    4

// Center <-> broker commands (frame 3, one byte).
enum {
    RR_CMD_SUBMIT = 0x01,
    RR_CMD_STATUS = 0x02,
    RR_CMD_UPDATE = 0x03, // UpdateRequest -> UpdateReply (offices, centers)
    RR_CMD_FOLLOW = 0x04, // FollowRequest -> FollowReply (centers)
    RR_CMD_PING = 0x05,
    RR_CMD_STATS = 0x06, // empty body; answered with BrokerStats
    RR_CMD_ERROR = 0x7F, // broker -> center only
};

// Set by the broker on the command byte of a REQUEST whose earlier
// deliveries all died with their workers: the worker records it as a dead
// letter instead of processing it (unless its referral already exists).
#define RR_CMD_DEAD_LETTER_FLAG 0x80

// Set by the broker on the command byte of a REQUEST that failed before and
// will not be retried again: a worker that fails on it records it as a dead
// letter with its error rather than answering FAILED.
#define RR_CMD_LAST_ATTEMPT_FLAG 0x40
#define RR_CMD_FLAGS             (RR_CMD_DEAD_LETTER_FLAG | RR_CMD_LAST_ATTEMPT_FLAG)

// Worker <-> broker commands (frame 3, one byte).
enum {
    RR_WCMD_READY = 0x01,      // worker -> broker: WorkerReady
    RR_WCMD_REQUEST = 0x02,    // broker -> worker: delivery id, client command, body
    RR_WCMD_REPLY = 0x03,      // worker -> broker: delivery id, body
    RR_WCMD_HEARTBEAT = 0x04,  // both ways; from a worker, optionally with WorkerStats
    RR_WCMD_DISCONNECT = 0x05, // both ways
    RR_WCMD_RULES = 0x06,      // worker -> broker: RiskRules
    RR_WCMD_FAILED = 0x07,     // worker -> broker: delivery id, body; failed, retry it later
};

#define RR_WIRE_MAX_BODY_BYTES   65536 // largest protobuf body accepted
#define RR_WIRE_MAX_FRAMES       8     // more frames than this is a protocol error
#define RR_WIRE_DELIVERY_ID_LEN  8     // big-endian uint64
#define RR_WIRE_MAX_PRINCIPAL    64    // "center:941", "office:CO-2301" (CURVE)
#define RR_WIRE_MAX_IDENTITY_LEN 255   // ZeroMQ routing ids are at most 255 bytes

// Field limits, in bytes of UTF-8.
#define RR_WIRE_MAX_NATID_BYTES     40
#define RR_WIRE_MAX_HOUSEHOLD_BYTES 64
#define RR_WIRE_MAX_SERVICE_BYTES   16
#define RR_WIRE_MAX_NOTE_BYTES      4000
#define RR_WIRE_MAX_QUERY_ID_BYTES  64
#define RR_WIRE_MAX_REFERRAL_BYTES  24
#define RR_WIRE_MAX_RISK_FLAGS      8
#define RR_WIRE_MAX_REASON_BYTES    1000
#define RR_WIRE_MAX_OFFICE_BYTES    11
#define RR_WIRE_MAX_FOLLOW_LIMIT    1000
#define RR_WIRE_MAX_HOST_BYTES      255 // WorkerReady.host: a fully qualified name
#define RR_WIRE_MAX_VERSION_BYTES   47  // WorkerReady.version
#define RR_WIRE_DEFAULT_FOLLOW      100

// A typed error as carried by rr.v1.Error: status, offending field, message.
typedef struct rr_wire_error {
    rr_status code;
    char field[32];
    char message[256];
} rr_wire_error;

// Fills err (when not NULL) and returns code, so callers can `return rr_wire_fail(...)`.
rr_status rr_wire_fail(rr_wire_error *err, rr_status code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// One multipart message as received: up to RR_WIRE_MAX_FRAMES frames. The
// struct owns its frames; release them with rr_frames_close.
typedef struct rr_frames {
    zmq_msg_t part[RR_WIRE_MAX_FRAMES];
    size_t count;
    bool too_many; // more frames arrived than fit: they were read and dropped
} rr_frames;

// Receives one whole multipart message. flags is 0 or ZMQ_DONTWAIT. Returns
// RR_OK, RR_EAGAIN (nothing to read, or EINTR), RR_ESHUTDOWN (context
// terminated) or RR_EIO (logged). On failure frames holds nothing.
RR_NODISCARD rr_status rr_frames_recv(void *socket, rr_frames *frames, int flags);

// Closes every frame held. Safe to call twice.
void rr_frames_close(rr_frames *frames);

// zmq_msg_close and zmq_msg_move, checked: they fail only for something that
// is not an initialised message (EFAULT), which is our bug, so they assert.
void rr_msg_close(zmq_msg_t *msg);
void rr_msg_move(zmq_msg_t *dest, zmq_msg_t *src);

// Frame i's bytes and size; i must be < count.
const void *rr_frames_data(rr_frames *frames, size_t i);
size_t rr_frames_size(rr_frames *frames, size_t i);
// True when frame i is exactly the n bytes at s.
bool rr_frames_equal(rr_frames *frames, size_t i, const void *s, size_t n);

// Sends one frame from a buffer (copied). more adds ZMQ_SNDMORE. Never blocks:
// returns RR_EAGAIN when the peer's queue is full (high-water mark) or it is
// unreachable (ROUTER_MANDATORY), RR_ESHUTDOWN on ETERM, RR_EIO otherwise.
RR_NODISCARD rr_status rr_wire_send_bytes(void *socket, const void *data, size_t size, bool more);

// Sends msg and consumes it on every path: on failure it is closed and left
// initialised empty, so closing it again is harmless.
RR_NODISCARD rr_status rr_wire_send_msg(void *socket, zmq_msg_t *msg, bool more);

// Checks the envelope of a message a center sent to a ROUTER (frame 0 is
// the routing id): four more frames, an empty one, "RRC1", a one-byte
// command. RR_OK sets *command; RR_EPROTO fills err with what is wrong.
RR_NODISCARD rr_status rr_wire_client_header(rr_frames *frames, uint8_t *command,
                                             rr_wire_error *err);

// Big-endian delivery ids.
void rr_wire_put_u64(uint8_t out[RR_WIRE_DELIVERY_ID_LEN], uint64_t value);
uint64_t rr_wire_get_u64(const uint8_t in[RR_WIRE_DELIVERY_ID_LEN]);

// True when the n bytes at s are valid UTF-8 with no control characters
// other than tab, newline and carriage return (allow_newlines) or none.
bool rr_wire_text_ok(const char *s, size_t n, bool allow_newlines);

// Unpacks a SubmitRequest and checks its fields (sizes, UUID, enums, UTF-8,
// national id syntax and check digit). On RR_OK *out is the message: the caller
// frees it with rr__v1__submit_request__free_unpacked(*out, NULL). On failure
// *out is NULL, except when only a field check failed: then *out is kept so the
// caller can echo request_id, and err names the field.
RR_NODISCARD rr_status rr_wire_submit_unpack(const void *data, size_t size,
                                             Rr__V1__SubmitRequest **out, rr_wire_error *err);

// The field checks rr_wire_submit_unpack applies. On RR_OK, when natid_out is
// not NULL, it receives the normalised national id.
RR_NODISCARD rr_status rr_wire_submit_check(const Rr__V1__SubmitRequest *req, char natid_out[11],
                                            rr_wire_error *err);

// Unpacks and checks a StatusQuery (exactly one key, sizes). Ownership as for
// rr_wire_submit_unpack (free with rr__v1__status_query__free_unpacked).
RR_NODISCARD rr_status rr_wire_status_unpack(const void *data, size_t size,
                                             Rr__V1__StatusQuery **out, rr_wire_error *err);

// Unpacks and checks an UpdateRequest: update_id a UUID, referral_id set,
// domain and to_status known, exactly one actor (office_code or
// center_code), expected_version >= 1, sizes. Ownership as for
// rr_wire_submit_unpack (free with rr__v1__update_request__free_unpacked).
RR_NODISCARD rr_status rr_wire_update_unpack(const void *data, size_t size,
                                             Rr__V1__UpdateRequest **out, rr_wire_error *err);

// Unpacks and checks a FollowRequest: center_code set, limit within
// 0..RR_WIRE_MAX_FOLLOW_LIMIT. Free with rr__v1__follow_request__free_unpacked.
RR_NODISCARD rr_status rr_wire_follow_unpack(const void *data, size_t size,
                                             Rr__V1__FollowRequest **out, rr_wire_error *err);

// Unpacks and checks a WorkerReady (known domain, credit 1..1024). Free with
// rr__v1__worker_ready__free_unpacked.
RR_NODISCARD rr_status rr_wire_ready_unpack(const void *data, size_t size,
                                            Rr__V1__WorkerReady **out, rr_wire_error *err);

// Unpacks a RiskRules message into at most RR_RISK_MAX_RULES rules (*count);
// rules with unknown flags or priorities are refused with RR_EINVAL.
RR_NODISCARD rr_status rr_wire_rules_unpack(const void *data, size_t size, rr_risk_rule *rules,
                                            size_t *count);

// Packs rules into a RiskRules frame *out.
RR_NODISCARD rr_status rr_wire_rules_pack(const rr_risk_rule *rules, size_t count, zmq_msg_t *out);

// Unpacks a WorkerStats body. Free with rr__v1__worker_stats__free_unpacked.
RR_NODISCARD rr_status rr_wire_worker_stats_unpack(const void *data, size_t size,
                                                   Rr__V1__WorkerStats **out);

// Unpacks replies (for clients and tests). Free with the matching free_unpacked.
// The outcome of a packed SubmitReply without decoding it (the broker
// counts outcomes on its hot path): scans the top-level fields for field 2.
// RR_EPROTO when the bytes are not a well-formed protobuf message.
RR_NODISCARD rr_status rr_wire_submit_reply_outcome(const void *data, size_t size, int *outcome);

RR_NODISCARD rr_status rr_wire_submit_reply_unpack(const void *data, size_t size,
                                                   Rr__V1__SubmitReply **out);
RR_NODISCARD rr_status rr_wire_status_reply_unpack(const void *data, size_t size,
                                                   Rr__V1__StatusReply **out);
RR_NODISCARD rr_status rr_wire_error_reply_unpack(const void *data, size_t size,
                                                  Rr__V1__ErrorReply **out);

// Packs any generated message into a new malloc'd buffer (*buf, caller
// frees) of *size bytes. RR_ENOMEM when out of memory.
RR_NODISCARD rr_status rr_wire_pack_buffer(const ProtobufCMessage *msg, uint8_t **buf,
                                           size_t *size);

// Unpacks a BrokerStats answer. Free with rr__v1__broker_stats__free_unpacked.
RR_NODISCARD rr_status rr_wire_stats_unpack(const void *data, size_t size,
                                            Rr__V1__BrokerStats **out);

// Packs any generated message into a new frame *out (initialised here; the
// caller sends or closes it). RR_ENOMEM when the frame cannot be allocated.
RR_NODISCARD rr_status rr_wire_pack(const ProtobufCMessage *msg, zmq_msg_t *out);

// Fills an rr.v1.Error (whose strings point into err: keep err alive until
// packed) from a wire error.
void rr_wire_error_fill(Rr__V1__Error *pb, rr_wire_error *err);

// Builds the frame of a SubmitReply with outcome BUSY or REJECTED for
// request_id (may be NULL) from err; retry_after_ms is set for BUSY.
RR_NODISCARD rr_status rr_wire_pack_submit_refusal(const char *request_id, Rr__V1__Outcome outcome,
                                                   rr_wire_error *err, uint32_t retry_after_ms,
                                                   zmq_msg_t *out);

// Builds the frame of a StatusReply carrying only an error for query_id.
RR_NODISCARD rr_status rr_wire_pack_status_refusal(const char *query_id, rr_wire_error *err,
                                                   zmq_msg_t *out);

// Builds the frame of an UpdateReply / FollowReply carrying only an error.
RR_NODISCARD rr_status rr_wire_pack_update_refusal(const char *update_id, rr_wire_error *err,
                                                   zmq_msg_t *out);
RR_NODISCARD rr_status rr_wire_pack_follow_refusal(const char *query_id, rr_wire_error *err,
                                                   zmq_msg_t *out);

// Unpacks UpdateReply / FollowReply answers (clients, tests); free with the
// matching free_unpacked.
RR_NODISCARD rr_status rr_wire_update_reply_unpack(const void *data, size_t size,
                                                   Rr__V1__UpdateReply **out);
RR_NODISCARD rr_status rr_wire_follow_reply_unpack(const void *data, size_t size,
                                                   Rr__V1__FollowReply **out);

// Builds the frame of an ErrorReply (command ERROR) for correlation_id.
RR_NODISCARD rr_status rr_wire_pack_error_reply(const char *correlation_id, rr_wire_error *err,
                                                zmq_msg_t *out);

#endif
