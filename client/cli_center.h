// Center-side client library: submit requests and query referrals through
// a broker, with a timeout per attempt and retries that reuse the same
// request_id (so a retry can never create a second referral), over a list of
// broker endpoints tried in turn.
#ifndef CLI_CENTER_H
#define CLI_CENTER_H

#include "referral.pb-c.h"
#include "rr_keys.h"
#include "rr_status.h"
#include "rr_wire.h"

#include <stddef.h>

typedef struct cli_center cli_center;

// A client for the given broker front-end endpoints (copied; at least one).
// NULL when out of memory or ZeroMQ fails (logged). Caller frees with
// cli_center_destroy.
cli_center *cli_center_new(const char *const *endpoints, size_t count);
void cli_center_destroy(cli_center **self_p);

// Authenticates with CURVE from now on (a copy is kept; curve->on false:
// plain TCP). A broker refusing the key makes every call fail at once
// with RR_EPERM. RR_EIO (logged) when the socket cannot be set up.
RR_NODISCARD rr_status cli_center_set_curve(cli_center *self, const rr_curve_client *curve);

// Sends req (request_id must be set) and waits up to timeout_ms for the
// answer; on silence it reconnects to the next endpoint and sends the same
// request again, up to attempts in all. A `busy` answer is retried after its
// retry_after_ms hint while attempts remain. Returns RR_OK with *reply_p (the
// last answer: accepted, duplicate, rejected, or busy when attempts ran out;
// free with rr__v1__submit_reply__free_unpacked); RR_ETIMEDOUT when no broker
// answered; RR_EPROTO when the broker refused the frames (err says why). A
// request that breaks a limit of docs/PROTOCOL.md (a field too long, a bad
// national id, a body over 64 KiB...) is not sent: *reply_p is then the
// broker's refusal made here (rejected, with the same code and field).
RR_NODISCARD rr_status cli_center_submit(cli_center *self, const Rr__V1__SubmitRequest *req,
                                         long timeout_ms, int attempts,
                                         Rr__V1__SubmitReply **reply_p, rr_wire_error *err);

// Asks for a referral and its history; same retry rules (a transient
// status such as EBUSY or EDB is retried after 500 ms). On RR_OK free
// *reply_p with rr__v1__status_reply__free_unpacked.
RR_NODISCARD rr_status cli_center_status(cli_center *self, const Rr__V1__StatusQuery *query,
                                         long timeout_ms, int attempts,
                                         Rr__V1__StatusReply **reply_p, rr_wire_error *err);

// Asks for a status change (office software, or a center cancelling its
// own referral); update_id must be set and reused on retries. Same retry
// rules as cli_center_status. On RR_OK free *reply_p with
// rr__v1__update_reply__free_unpacked.
RR_NODISCARD rr_status cli_center_update(cli_center *self, const Rr__V1__UpdateRequest *update,
                                         long timeout_ms, int attempts,
                                         Rr__V1__UpdateReply **reply_p, rr_wire_error *err);

// Fetches one page of changes to a center's referrals after a cursor. Same
// retry rules. On RR_OK free *reply_p with rr__v1__follow_reply__free_unpacked.
RR_NODISCARD rr_status cli_center_follow(cli_center *self, const Rr__V1__FollowRequest *follow,
                                         long timeout_ms, int attempts,
                                         Rr__V1__FollowReply **reply_p, rr_wire_error *err);

// Fetches one page of an office's inbox (the referrals it owns now, most
// urgent first). Same retry rules. On RR_OK free *reply_p with
// rr__v1__inbox_reply__free_unpacked.
RR_NODISCARD rr_status cli_center_inbox(cli_center *self, const Rr__V1__InboxRequest *inbox,
                                        long timeout_ms, int attempts, Rr__V1__InboxReply **reply_p,
                                        rr_wire_error *err);

// Records a cash donation (DONATE). Same retry rules, with the same
// donation_id on every attempt: the database answers a retry as the first
// (replayed). On RR_OK free *reply_p with rr__v1__donate_reply__free_unpacked.
RR_NODISCARD rr_status cli_center_donate(cli_center *self, const Rr__V1__DonateRequest *donation,
                                         long timeout_ms, int attempts,
                                         Rr__V1__DonateReply **reply_p, rr_wire_error *err);

// Sends msg as command with the retry rules above (the same id on every
// attempt) and unpacks its answer (rr_wire_answer_type(command)) into
// *reply_p; for the typed calls of other modules (cli_nbhd.h, cli_rate.h).
// On RR_OK free *reply_p with rr_wire_free.
RR_NODISCARD rr_status cli_center_call(cli_center *self, uint8_t command,
                                       const ProtobufCMessage *msg, const char *id, long timeout_ms,
                                       int attempts, ProtobufCMessage **reply_p,
                                       rr_wire_error *err);

// Sends one request as it is (no local checks, one attempt), with the
// correlation given, and waits up to timeout_ms for the answer naming it
// (for tests and tools that speak the protocol directly). On RR_OK the
// caller closes *answer with rr_wire_call_close.
RR_NODISCARD rr_status cli_center_call_raw(cli_center *self, uint8_t command,
                                           const char *correlation, const void *body, size_t size,
                                           long timeout_ms, rr_wire_call *answer);

#endif
