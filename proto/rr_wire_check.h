// Which messages come from peers, and their field checks (rr_wire_check.c);
// rr_wire_unpack applies them. Internal to proto/.
#ifndef RR_WIRE_CHECK_H
#define RR_WIRE_CHECK_H

#include "rr_wire.h"

#include <stdbool.h>

typedef rr_status (*rr_wire_check_fn)(const void *msg, rr_wire_error *err);

// True when d is a message a peer sends (a request, a worker's READY or
// STATS, risk rules), with *check its field checks (NULL: none). Their
// bodies are held to RR_WIRE_MAX_BODY_BYTES and their strings to no NUL;
// answers are not (a page of events may be larger), only by the sockets'
// ZMQ_MAXMSGSIZE.
bool rr_wire_peer_message(const ProtobufCMessageDescriptor *d, rr_wire_check_fn *check);

// One string field: length within max (ETOOBIG), non-empty when required
// (EINVAL), clean text (rr_text_check). err names field.
RR_NODISCARD rr_status rr_wire_check_text(const char *value, const char *field, size_t max,
                                          bool required, bool multiline, rr_wire_error *err);

// An optional national id (personal data: never quoted): NULL or empty is
// RR_OK; otherwise rr_natid_normalize must accept it.
RR_NODISCARD rr_status rr_wire_check_natid(const char *value, rr_wire_error *err);

// Optional UUID field: empty is RR_OK when !required.
RR_NODISCARD rr_status rr_wire_check_uuid(const char *value, const char *field, bool required,
                                          rr_wire_error *err);

rr_status rr_wire_check_profile_msg(const void *msg, rr_wire_error *err);
rr_status rr_wire_check_trustee_msg(const void *msg, rr_wire_error *err);
rr_status rr_wire_check_finding_msg(const void *msg, rr_wire_error *err);

#endif
