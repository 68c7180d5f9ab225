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

#endif
