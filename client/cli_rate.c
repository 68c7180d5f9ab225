// RATE from the center's side: one typed call over the client library's
// request loop (cli_center_call).
#include "cli_rate.h"

rr_status
cli_center_rate(cli_center *self, const Rr__V1__RateRequest *rating, long timeout_ms, int attempts,
                Rr__V1__RateReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = cli_center_call(self, RR_CMD_RATE, &rating->base, rating->rating_id, timeout_ms,
                                   attempts, &reply, err);
    *reply_p = (Rr__V1__RateReply *) reply; // rr_wire_answer_type(RR_CMD_RATE)
    return st;
}
