// The envelopes of both protocols, version 2 (docs/PROTOCOL.md sections 2
// and 6): the only code that knows which frame carries what. Callers send
// and receive typed structs; nobody else indexes frames.
//
// Center <-> broker ("RRC2"), both directions:
//   [routing id, ROUTER side only] [""] ["RRC2"] [command] [correlation] [body]
// Worker <-> broker ("RRW2"):
//   [routing id, ROUTER side only] [""] ["RRW2"] [command] [...command's frames]
#ifndef RR_WIRE_FRAMES_H
#define RR_WIRE_FRAMES_H

#include "rr_principal.h"
#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct rr_frames rr_frames; // below: one multipart message as received

#define RR_WIRE_CLIENT_PROTO    "RRC2"
#define RR_WIRE_CLIENT_PROTO_V1 "RRC1" // answered with one ERROR naming RRC2
#define RR_WIRE_WORKER_PROTO    "RRW2"
#define RR_WIRE_PROTO_LEN       4

#define RR_WIRE_MAX_FRAMES        9              // more frames than this is a protocol error
#define RR_WIRE_DELIVERY_ID_LEN   8              // big-endian uint64
#define RR_WIRE_DELIVERY_LEN      9              // REQUEST/REPLY/FAILED: the id, then one byte
#define RR_WIRE_MAX_IDENTITY_LEN  255            // ZeroMQ routing ids are at most 255 bytes
#define RR_WIRE_MAX_CORRELATION   64             // bytes of the correlation frame
#define RR_WIRE_MAX_USER_ID       64             // ZAP user id: a CURVE key as 40 Z85 characters
#define RR_WIRE_MAX_BODY_BYTES    65536          // largest request body accepted
#define RR_WIRE_MAX_MESSAGE_BYTES (1024L * 1024) // ZMQ_MAXMSGSIZE: larger closes the connection
#define RR_WIRE_MAX_ANSWER_BYTES  (512L * 1024)  // a worker's answer stays under this

// Center <-> broker commands (one byte).
enum {
    RR_CMD_SUBMIT = 0x01,
    RR_CMD_STATUS = 0x02,
    RR_CMD_UPDATE = 0x03, // UpdateRequest -> UpdateReply (offices, centers)
    RR_CMD_FOLLOW = 0x04, // FollowRequest -> FollowReply (centers)
    RR_CMD_PING = 0x05,
    RR_CMD_STATS = 0x06,   // empty body; answered with BrokerStats
    RR_CMD_INBOX = 0x07,   // InboxRequest -> InboxReply (offices)
    RR_CMD_DONATE = 0x08,  // DonateRequest -> DonateReply (centers: a cash donation)
    RR_CMD_PROFILE = 0x09, // ProfileRequest -> ProfileReply (centers: a neighbourhood profile)
    RR_CMD_TRUSTEE = 0x0A, // TrusteeRequest -> TrusteeReply (centers: a neighbourhood's trustee)
    RR_CMD_FINDING = 0x0B, // FindingRequest -> FindingReply (centers: active need-finding)
    RR_CMD_RATE = 0x0C,    // RateRequest -> RateReply (centers: a client's satisfaction)
    RR_CMD_ERROR = 0x7F,   // broker -> center only
};

// Flags the broker sets on the command byte of a REQUEST: deliveries of it
// all died with their workers (record it as a dead letter unless its
// referral exists), or it failed before and is not retried again (a worker
// that fails on it records it as a dead letter rather than answering FAILED).
#define RR_CMD_DEAD_LETTER_FLAG  0x80
#define RR_CMD_LAST_ATTEMPT_FLAG 0x40
#define RR_CMD_FLAGS             (RR_CMD_DEAD_LETTER_FLAG | RR_CMD_LAST_ATTEMPT_FLAG)

// Worker <-> broker commands (one byte).
enum {
    RR_WCMD_READY = 0x01,      // worker -> broker: WorkerReady
    RR_WCMD_REQUEST = 0x02,    // broker -> worker: delivery (id, command), body, principal
    RR_WCMD_REPLY = 0x03,      // worker -> broker: delivery (id, outcome), body
    RR_WCMD_HEARTBEAT = 0x04,  // both ways; from a worker, optionally with WorkerStats
    RR_WCMD_DISCONNECT = 0x05, // both ways
    RR_WCMD_RULES = 0x06,      // worker -> broker: RiskRules
    RR_WCMD_FAILED = 0x07,     // worker -> broker: delivery (id, outcome), body; retry later
};

// The outcome byte of a REPLY or FAILED: a SubmitReply's outcome (1
// accepted, 2 duplicate, 3 rejected, 4 busy), 0 for the other commands.
#define RR_WIRE_NO_OUTCOME  0
#define RR_WIRE_MAX_OUTCOME 4 // rr.v1.Outcome BUSY, the last one

// A typed error as carried by rr.v1.Error: status, offending field, message.
typedef struct rr_wire_error {
    rr_status code;
    char field[32];
    char message[256];
} rr_wire_error;

// Fills err (when not NULL) and returns code, so callers can `return rr_wire_fail(...)`.
rr_status rr_wire_fail(rr_wire_error *err, rr_status code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// zmq_msg_close and zmq_msg_move, checked: they fail only for something that
// is not an initialised message (EFAULT), which is our bug, so they assert.
void rr_msg_close(zmq_msg_t *msg);
void rr_msg_move(zmq_msg_t *dest, zmq_msg_t *src);

// Big-endian delivery ids.
void rr_wire_put_u64(uint8_t out[RR_WIRE_DELIVERY_ID_LEN], uint64_t value);
uint64_t rr_wire_get_u64(const uint8_t in[RR_WIRE_DELIVERY_ID_LEN]);

// rr_text_check: true when the n bytes at s are valid UTF-8 with no NUL,
// control character (but tab, newline and carriage return when
// allow_newlines) or bidi override.
bool rr_wire_text_ok(const char *s, size_t n, bool allow_newlines);

// ---- center <-> broker ------------------------------------------------------

// One center-protocol message as read: a request on the broker's ROUTER, an
// answer on a client's DEALER. Owns its frames: release with rr_wire_call_close.
typedef struct rr_wire_call {
    zmq_msg_t peer;  // the sender's routing id (ROUTER side; empty otherwise)
    uint8_t version; // 2; 1 for a peer still speaking RRC1 (answered in its framing)
    uint8_t command; // 0 when unreadable
    char correlation[RR_WIRE_MAX_CORRELATION + 1]; // "" when absent or unreadable
    char user_id[RR_WIRE_MAX_USER_ID + 1]; // the sender's key (ZAP "User-Id"), "" without CURVE
    zmq_msg_t body;
} rr_wire_call;

// Both frames empty; closing an initialised call is always safe.
void rr_wire_call_init(rr_wire_call *call);
void rr_wire_call_close(rr_wire_call *call);

// Reads one message from the broker's front-end ROUTER (flags 0 or
// ZMQ_DONTWAIT). RR_OK: a well-formed RRC2 request. RR_EPROTO: err says
// what is wrong, and call holds the peer and whatever could be read
// (version, command, correlation), so the answer can still name it.
// RR_EAGAIN, RR_ESHUTDOWN, RR_EIO: nothing was read (call left empty).
RR_NODISCARD rr_status rr_wire_recv_call(void *router, int flags, rr_wire_call *call,
                                         rr_wire_error *err);

// Reads one answer on a client's DEALER. RR_OK; RR_EPROTO (err says why: not
// the broker's framing); RR_EAGAIN, RR_ESHUTDOWN, RR_EIO as rr_wire_recv_call.
RR_NODISCARD rr_status rr_wire_recv_answer(void *dealer, int flags, rr_wire_call *answer,
                                           rr_wire_error *err);

// Client: sends a request with its correlation (at most
// RR_WIRE_MAX_CORRELATION bytes of text, RR_EINVAL otherwise) and body
// (copied). flags 0 waits for room up to the socket's ZMQ_SNDTIMEO;
// ZMQ_DONTWAIT does not wait. RR_EAGAIN when nothing could be queued.
RR_NODISCARD rr_status rr_wire_send_call(void *dealer, int flags, uint8_t command,
                                         const char *correlation, const void *body, size_t size);

// Broker: answers peer (a routing id, copied) in the framing of version (2,
// or 1 for the one ERROR an RRC1 peer gets), echoing correlation. Consumes
// body on every path. RR_EAGAIN when the center is gone or not reading.
RR_NODISCARD rr_status rr_wire_send_answer(void *router, const zmq_msg_t *peer, uint8_t version,
                                           uint8_t command, const char *correlation,
                                           zmq_msg_t *body);

// ---- worker <-> broker --------------------------------------------------------

// One worker-protocol message as read (by the broker from a worker, or by a
// worker from the broker). Owns its frames: release with rr_wire_work_close.
typedef struct rr_wire_work {
    zmq_msg_t peer;       // the sender's routing id (broker side; empty otherwise)
    uint8_t command;      // RR_WCMD_*; 0 when unreadable
    uint64_t delivery_id; // REQUEST, REPLY, FAILED
    uint8_t request;      // REQUEST: the center's command, flags cleared
    uint8_t flags;        // REQUEST: RR_CMD_DEAD_LETTER_FLAG, RR_CMD_LAST_ATTEMPT_FLAG
    uint8_t outcome;      // REPLY, FAILED
    char principal[RR_PRINCIPAL_MAX + 1];  // REQUEST: who sent it (CURVE), or ""
    uint16_t earlier;                      // REQUEST: earlier deliveries of it (0 when absent)
    char user_id[RR_WIRE_MAX_USER_ID + 1]; // the sender's key (ZAP "User-Id"), "" without CURVE
    bool has_body; // READY, RULES, REQUEST, REPLY, FAILED; HEARTBEAT with stats
    zmq_msg_t body;
} rr_wire_work;

void rr_wire_work_init(rr_wire_work *work);
void rr_wire_work_close(rr_wire_work *work);

// Reads one worker-protocol message: from_router true on the broker's back
// end (the routing id comes first), false on a worker's DEALER. RR_OK: a
// well-formed message whose frames fit its command; RR_EPROTO: err says
// what is wrong (work holds the peer, and the command when readable);
// RR_EAGAIN, RR_ESHUTDOWN, RR_EIO as rr_wire_recv_call.
RR_NODISCARD rr_status rr_wire_recv_work(void *socket, bool from_router, int flags,
                                         rr_wire_work *work, rr_wire_error *err);

// The parsers behind rr_wire_recv_call/recv_answer and rr_wire_recv_work,
// for frames already received (the fuzzer): from_router true when frame 0 is
// a routing id. The frames keep their ownership except those moved into the
// result (peer, body); call/work is initialised on every path.
RR_NODISCARD rr_status rr_wire_parse_call(rr_frames *f, bool from_router, rr_wire_call *call,
                                          rr_wire_error *err);
RR_NODISCARD rr_status rr_wire_parse_work(rr_frames *f, bool from_router, rr_wire_work *work,
                                          rr_wire_error *err);

// Broker -> worker: a REQUEST. body is copied by reference (the broker keeps
// it to redeliver); principal may be ""; earlier: how many deliveries of it
// came before this one and brought no answer (frame 7, 2 bytes big-endian,
// capped at 65535; a dead letter counts them as attempts), or -1 for no
// frame 7 (a worker older than 0.5 refuses it).
RR_NODISCARD rr_status rr_wire_send_request(void *router, const void *worker_id, size_t id_len,
                                            uint64_t delivery_id, uint8_t command, uint8_t flags,
                                            zmq_msg_t *body, const char *principal, int earlier);

// Broker -> worker: a command without frames of its own (HEARTBEAT, DISCONNECT).
RR_NODISCARD rr_status rr_wire_send_to_worker(void *router, const void *worker_id, size_t id_len,
                                              uint8_t command);

// Worker -> broker: READY, RULES, HEARTBEAT (body may be NULL) or
// DISCONNECT (NULL). Consumes body on every path.
RR_NODISCARD rr_status rr_wire_send_to_broker(void *dealer, uint8_t command, zmq_msg_t *body);

// Worker -> broker: REPLY or FAILED for a delivery, with the outcome the
// broker counts. Consumes body on every path.
RR_NODISCARD rr_status rr_wire_send_reply(void *dealer, uint8_t command, uint64_t delivery_id,
                                          uint8_t outcome, zmq_msg_t *body);

// ---- raw frames (the ZAP handler and tests) ------------------------------------

// One multipart message as received: up to RR_WIRE_MAX_FRAMES frames. The
// struct owns its frames; release them with rr_frames_close.
struct rr_frames {
    zmq_msg_t part[RR_WIRE_MAX_FRAMES];
    size_t count;
    bool too_many;     // more frames arrived than fit: they were read and dropped
    bool want_user_id; // received with RR_WIRE_USER_ID: rr_frames_user_id reads it
};

// A receive flag beside ZMQ_DONTWAIT: read the ZAP user id of each message
// (a metadata lookup: only a CURVE broker needs it).
#define RR_WIRE_USER_ID 0x10000

// Receives one whole multipart message. flags is 0 or ZMQ_DONTWAIT, with
// RR_WIRE_USER_ID to read user ids. Returns
// RR_OK, RR_EAGAIN (nothing to read, or EINTR), RR_ESHUTDOWN (context
// terminated) or RR_EIO (logged). On failure frames holds nothing.
RR_NODISCARD rr_status rr_frames_recv(void *socket, rr_frames *frames, int flags);

// Closes every frame held. Safe to call twice.
void rr_frames_close(rr_frames *frames);

// The ZAP user id (the CURVE key, Z85) frame i came with, into out; ""
// without authentication, past the last frame, or when the frames were
// not received with RR_WIRE_USER_ID.
void rr_frames_user_id(rr_frames *f, size_t i, char out[RR_WIRE_MAX_USER_ID + 1]);

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

#endif
