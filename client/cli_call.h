// The client library's one request loop, for its modules beyond
// cli_center.c (cli_records.c): not part of the public API.
#ifndef CLI_CALL_H
#define CLI_CALL_H

#include "cli_center.h"

// Checks msg as the broker would, then sends it as command until its answer
// comes, retrying on silence and transient statuses while attempts remain
// (cli_center_submit's rules); *reply_p is the answer, of
// rr_wire_answer_type(command), freed by the caller with rr_wire_free. id
// names the request in the correlation frame.
RR_NODISCARD rr_status cli_center_call(cli_center *self, uint8_t command,
                                       const ProtobufCMessage *msg, const char *id, long timeout_ms,
                                       int attempts, ProtobufCMessage **reply_p,
                                       rr_wire_error *err);

#endif
