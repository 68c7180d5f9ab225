// The neighbourhood side's records a center sends (issue 18): a cash
// donation (DONATE) and a client's satisfaction (RATE), over the same
// request loop as referrals.
#include "cli_call.h"
#include "cli_center.h"

rr_status
cli_center_donate(cli_center *self, const Rr__V1__DonateRequest *donation, long timeout_ms,
                  int attempts, Rr__V1__DonateReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = cli_center_call(self, RR_CMD_DONATE, &donation->base, donation->donation_id,
                                   timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__DonateReply *) reply; // rr_wire_answer_type(RR_CMD_DONATE)
    return st;
}

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
