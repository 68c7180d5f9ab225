// The wire contract in C: protobuf pack/unpack with field checks (the
// envelopes are rr_wire_frames.h, included here). The only module that
// calls the generated pack/unpack functions. docs/PROTOCOL.md is the prose
// version of these two headers.
#ifndef RR_WIRE_H
#define RR_WIRE_H

#include "referral.pb-c.h"
#include "rr_risk.h"
#include "rr_status.h"
#include "rr_wire_frames.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

// Field limits, in bytes of UTF-8.
#define RR_WIRE_MAX_NATID_BYTES         40
#define RR_WIRE_MAX_HOUSEHOLD_BYTES     64
#define RR_WIRE_MAX_SERVICE_BYTES       16
#define RR_WIRE_MAX_NOTE_BYTES          4000
#define RR_WIRE_MAX_QUERY_ID_BYTES      64
#define RR_WIRE_MAX_REFERRAL_BYTES      24
#define RR_WIRE_MAX_RISK_FLAGS          8
#define RR_WIRE_MAX_REASON_BYTES        1000
#define RR_WIRE_MAX_OFFICE_BYTES        11
#define RR_WIRE_MAX_FOLLOW_LIMIT        1000
#define RR_WIRE_MAX_HOST_BYTES          255 // WorkerReady.host: a fully qualified name
#define RR_WIRE_MAX_VERSION_BYTES       47  // WorkerReady.version
#define RR_WIRE_MAX_BROKERS             8   // WorkerStats.brokers_configured
#define RR_WIRE_MAX_ENDPOINT_BYTES      255 // WorkerStats.brokers_detached: one endpoint
#define RR_WIRE_DEFAULT_FOLLOW          100
#define RR_WIRE_MAX_INBOX_CURSOR        63   // InboxRequest.after: "rank:created_us:id"
#define RR_WIRE_MAX_BANK_REF_BYTES      64   // DonateRequest.bank_reference
#define RR_WIRE_MAX_DONOR_BYTES         200  // DonateRequest.donor
#define RR_WIRE_MAX_NEIGHBOURHOOD_BYTES 200  // a neighbourhood's name (as the center register)
#define RR_WIRE_MAX_COMMENT_BYTES       1000 // RateRequest.comment
#define RR_WIRE_MIN_SCORE               1    // RateRequest.score: a five-point scale
#define RR_WIRE_MAX_SCORE               5
#define RR_WIRE_MAX_RIALS               10000000000000ULL // one donation or allocation: 10^13 rials
#define RR_WIRE_MAX_PROFILE_ITEMS       50     // capacities, assets, needs, participants: each
#define RR_WIRE_MAX_ITEM_BYTES          200    // a profile item's name or role, a trustee's name
#define RR_WIRE_MAX_ITEM_NOTE_BYTES     1000   // a profile item's note, a finding's need
#define RR_WIRE_MAX_PARTICIPANTS        100000 // one participant row's count
#define RR_WIRE_MAX_PHONE_BYTES         32     // TrusteeRequest.phone, as typed
#define RR_WIRE_MAX_OFFICE_NAME_BYTES   255    // office_name, office_name_fa (CHECKed in SQL)
#define RR_WIRE_MAX_KIND_BYTES          15     // Event.kind: "submit", "escalate", ...
#define RR_WIRE_MAX_ACTOR_BYTES         RR_PRINCIPAL_MAX // Event.actor: a principal or "system"

// FollowRequest.after_seq: the largest cursor, since seq is a PostgreSQL
// bigint (a larger one is EINVAL, not a database failure).
#define RR_WIRE_MAX_FOLLOW_SEQ INT64_MAX

// One unpack for every body: the protobuf parse (EPROTO "malformed
// <Message>: ...") and, for the messages a peer sends (SubmitRequest,
// StatusQuery, UpdateRequest, FollowRequest, WorkerReady, WorkerStats,
// RiskRules), the size limit (RR_WIRE_MAX_BODY_BYTES: ETOOBIG) and their
// field checks (sizes, UUIDs, enums, UTF-8, national id; err names the
// field). Answers have no limit of their own (a page of events may be
// larger than a request may), only the sockets' ZMQ_MAXMSGSIZE. out points to a pointer of the
// message's type; rr_wire_unpack picks the descriptor from that type:
//
//   Rr__V1__SubmitRequest *req = NULL;
//   rr_status st = rr_wire_unpack(data, size, &req, &err);
//
// A center's request (SubmitRequest, StatusQuery, UpdateRequest,
// FollowRequest, InboxRequest) with a field this version does not know is
// refused EINVAL ("unrecognized field number N in SubmitRequest: ..."), so
// that no queued body carries bytes nobody reads; the workers' messages
// may carry newer fields. *out is NULL when the bytes are not the message; when only a field check
// failed *out is kept (so the caller can echo its id). Free with
// rr_wire_free in every case. err may be NULL.
RR_NODISCARD rr_status rr_wire_unpack_as(const ProtobufCMessageDescriptor *d, const void *data,
                                         size_t size, void *out, rr_wire_error *err);

#define RR_WIRE_DESCRIPTOR(p)                                                                      \
    _Generic((p), Rr__V1__SubmitRequest *                                                          \
             : &rr__v1__submit_request__descriptor, Rr__V1__SubmitReply *                          \
             : &rr__v1__submit_reply__descriptor, Rr__V1__StatusQuery *                            \
             : &rr__v1__status_query__descriptor, Rr__V1__StatusReply *                            \
             : &rr__v1__status_reply__descriptor, Rr__V1__UpdateRequest *                          \
             : &rr__v1__update_request__descriptor, Rr__V1__UpdateReply *                          \
             : &rr__v1__update_reply__descriptor, Rr__V1__FollowRequest *                          \
             : &rr__v1__follow_request__descriptor, Rr__V1__FollowReply *                          \
             : &rr__v1__follow_reply__descriptor, Rr__V1__InboxRequest *                           \
             : &rr__v1__inbox_request__descriptor, Rr__V1__InboxReply *                            \
             : &rr__v1__inbox_reply__descriptor, Rr__V1__DonateRequest *                           \
             : &rr__v1__donate_request__descriptor, Rr__V1__DonateReply *                          \
             : &rr__v1__donate_reply__descriptor, Rr__V1__ProfileRequest *                         \
             : &rr__v1__profile_request__descriptor, Rr__V1__ProfileReply *                        \
             : &rr__v1__profile_reply__descriptor, Rr__V1__TrusteeRequest *                        \
             : &rr__v1__trustee_request__descriptor, Rr__V1__TrusteeReply *                        \
             : &rr__v1__trustee_reply__descriptor, Rr__V1__FindingRequest *                        \
             : &rr__v1__finding_request__descriptor, Rr__V1__FindingReply *                        \
             : &rr__v1__finding_reply__descriptor, Rr__V1__RateRequest *                           \
             : &rr__v1__rate_request__descriptor, Rr__V1__RateReply *                              \
             : &rr__v1__rate_reply__descriptor, Rr__V1__ReplyHead *                                \
             : &rr__v1__reply_head__descriptor, Rr__V1__ErrorReply *                               \
             : &rr__v1__error_reply__descriptor, Rr__V1__BrokerStats *                             \
             : &rr__v1__broker_stats__descriptor, Rr__V1__WorkerReady *                            \
             : &rr__v1__worker_ready__descriptor, Rr__V1__WorkerStats *                            \
             : &rr__v1__worker_stats__descriptor, Rr__V1__RiskRules *                              \
             : &rr__v1__risk_rules__descriptor)

#define rr_wire_unpack(data, size, out, err)                                                       \
    rr_wire_unpack_as(RR_WIRE_DESCRIPTOR(*(out)), (data), (size), (out), (err))

// The number of the first field of m that its descriptor does not know (kept
// by protobuf-c as an unknown field), or 0 when there is none.
uint32_t rr_wire_unknown_field(const ProtobufCMessage *m);

// Frees any message rr_wire_unpack returned; NULL is ignored.
void rr_wire_free(void *msg);

// The field checks rr_wire_unpack applies to a SubmitRequest. On RR_OK, when natid_out is
// not NULL, it receives the normalised national id.
RR_NODISCARD rr_status rr_wire_submit_check(const Rr__V1__SubmitRequest *req, char natid_out[11],
                                            rr_wire_error *err);

// rr_wire_submit_check that also writes the household id's canonical form
// (rr_wire_household_canon) into household.
RR_NODISCARD rr_status rr_wire_submit_canon(const Rr__V1__SubmitRequest *req, char natid_out[11],
                                            char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1],
                                            rr_wire_error *err);

// DONATE's field checks, as the broker applies them (and the client
// library before sending): donation_id a UUID, center_code set,
// amount_rials 1..RR_WIRE_MAX_RIALS (ETOOBIG above), bank_reference
// required, texts clean and within their limits, a known intent with
// exactly the target field it names (county_code optional for a county
// intent). err names the field.
RR_NODISCARD rr_status rr_wire_donate_check(const Rr__V1__DonateRequest *d, rr_wire_error *err);

// PROFILE's field checks (rr_wire_check_nbhd.c): update_id a UUID,
// center_code and neighbourhood set, at most RR_WIRE_MAX_PROFILE_ITEMS of
// each list, every item's text clean and within its limit (no unknown
// field inside), a known capacity kind, need ranks 1..50 each once,
// participant counts 1..RR_WIRE_MAX_PARTICIPANTS, dates "YYYY-MM-DD".
// err names the field ("needs[2].rank").
RR_NODISCARD rr_status rr_wire_profile_check(const Rr__V1__ProfileRequest *p, rr_wire_error *err);

// TRUSTEE's: trustee_id a UUID, center_code set, a known action; REGISTER
// needs neighbourhood, name, role and consent (refused without: EINVAL
// "consent"), a phone of 7 to 15 digits and a valid national id when
// given; DEACTIVATE needs reason.
RR_NODISCARD rr_status rr_wire_trustee_check(const Rr__V1__TrusteeRequest *t, rr_wire_error *err);

// FINDING's: finding_id a UUID, center_code set, a known action; RECORD
// needs household_id (as SUBMIT's), neighbourhood, service_code or need, a
// known source, trustee_id (a UUID) with source TRUSTEE and only then, a
// valid national id when given; CLOSE needs reason.
RR_NODISCARD rr_status rr_wire_finding_check(const Rr__V1__FindingRequest *f, rr_wire_error *err);

// A phone number as typed ("0912 345 6789", Persian digits, a leading "+")
// as its digits (ASCII, with the "+") in out; false when it is not 7 to 15
// digits with only spaces and dashes between them.
bool rr_wire_phone_canon(const char *value, char out[RR_WIRE_MAX_PHONE_BYTES + 1]);

// The database's names of the enums (NULL for unspecified or unknown).
const char *rr_wire_capacity_kind_name(int kind);
const char *rr_wire_finding_source_name(int source);

// The database's name of a DonationIntent value ("neighbourhood", ...);
// NULL for unspecified or an unknown value.
const char *rr_wire_donation_intent_name(int intent);

// RATE's field checks, as the broker applies them (and the client library
// before sending): rating_id a UUID, center_code set, referral_id present
// and at most RR_WIRE_MAX_REFERRAL_BYTES (its form "R-<n>" is the worker's
// check, as for UPDATE), score RR_WIRE_MIN_SCORE..RR_WIRE_MAX_SCORE
// (EINVAL otherwise, 0 being "missing"), comment optional, one line of
// clean text (rr_text_check) at most RR_WIRE_MAX_COMMENT_BYTES, and not
// empty once canonical (only spaces or invisible characters). err names
// the field.
RR_NODISCARD rr_status rr_wire_rate_check(const Rr__V1__RateRequest *r, rr_wire_error *err);

// Checks a household id as rr_wire_submit_check does and writes its
// canonical form (rr_text_canon: the form the file is kept under) to out.
RR_NODISCARD rr_status rr_wire_household_canon(const char *value,
                                               char out[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1],
                                               rr_wire_error *err);

// The first string field of message type d whose bytes on the wire (data,
// size: a body that unpacks as d) hold a NUL, or NULL. protobuf-c ends a
// string at its first NUL, so without this a NUL would silently cut a note,
// a national id or a household id short.
const char *rr_wire_nul_field(const ProtobufCMessageDescriptor *d, const void *data, size_t size);

// Unpacks a RiskRules message into at most RR_RISK_MAX_RULES rules (*count);
// rules with unknown flags or priorities are refused with RR_EINVAL.
RR_NODISCARD rr_status rr_wire_rules_unpack(const void *data, size_t size, rr_risk_rule *rules,
                                            size_t *count);

// Packs rules into a RiskRules frame *out.
RR_NODISCARD rr_status rr_wire_rules_pack(const rr_risk_rule *rules, size_t count, zmq_msg_t *out);

// The message a command's request body is (SubmitRequest, StatusQuery,
// UpdateRequest, FollowRequest) and the message that answers it
// (SubmitReply, StatusReply, UpdateReply, FollowReply, BrokerStats for
// STATS, ErrorReply for ERROR); NULL when the command has none (PING).
const ProtobufCMessageDescriptor *rr_wire_request_type(uint8_t command);
const ProtobufCMessageDescriptor *rr_wire_answer_type(uint8_t command);

// The id a request body names itself by (SUBMIT: request_id, UPDATE:
// update_id, STATUS and FOLLOW: query_id) into out; "" when the body cannot
// be read or the id is longer than RR_WIRE_MAX_QUERY_ID_BYTES.
void rr_wire_body_id(uint8_t command, const void *data, size_t size,
                     char out[RR_WIRE_MAX_QUERY_ID_BYTES + 1]);

// Packs any generated message into a new malloc'd buffer (*buf, caller
// frees) of *size bytes. RR_ENOMEM when out of memory.
RR_NODISCARD rr_status rr_wire_pack_buffer(const ProtobufCMessage *msg, uint8_t **buf,
                                           size_t *size);

// Packs any generated message into a new frame *out (initialised here; the
// caller sends or closes it). RR_ENOMEM when the frame cannot be allocated.
RR_NODISCARD rr_status rr_wire_pack(const ProtobufCMessage *msg, zmq_msg_t *out);

// Fills an rr.v1.Error (whose strings point into err: keep err alive until
// packed) from a wire error.
void rr_wire_error_fill(Rr__V1__Error *pb, rr_wire_error *err);

// The command of the answer that refuses a request of command: its own for
// SUBMIT, STATUS, UPDATE and FOLLOW, ERROR for anything else.
uint8_t rr_wire_refusal_command(uint8_t command);

// Packs the refusal of a request of command (see rr_wire_refusal_command)
// from err: a SubmitReply with outcome (BUSY or REJECTED; retry_after_ms for
// BUSY), the ReplyHead of a StatusReply/UpdateReply/FollowReply, or an
// ErrorReply. id is the request's own id (request_id, query_id, update_id;
// the correlation for ERROR), "" or NULL when it could not be read.
RR_NODISCARD rr_status rr_wire_pack_refusal(uint8_t command, const char *id,
                                            Rr__V1__Outcome outcome, uint32_t retry_after_ms,
                                            rr_wire_error *err, zmq_msg_t *out);

#endif
