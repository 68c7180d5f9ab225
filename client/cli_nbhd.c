// Typed calls for PROFILE, TRUSTEE and FINDING over cli_center_call.
#include "cli_nbhd.h"

rr_status
cli_center_profile(cli_center *self, const Rr__V1__ProfileRequest *profile, long timeout_ms,
                   int attempts, Rr__V1__ProfileReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = cli_center_call(self, RR_CMD_PROFILE, &profile->base, profile->update_id,
                                   timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__ProfileReply *) reply; // rr_wire_answer_type(RR_CMD_PROFILE)
    return st;
}

rr_status
cli_center_trustee(cli_center *self, const Rr__V1__TrusteeRequest *trustee, long timeout_ms,
                   int attempts, Rr__V1__TrusteeReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = cli_center_call(self, RR_CMD_TRUSTEE, &trustee->base, trustee->trustee_id,
                                   timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__TrusteeReply *) reply; // rr_wire_answer_type(RR_CMD_TRUSTEE)
    return st;
}

rr_status
cli_center_finding(cli_center *self, const Rr__V1__FindingRequest *finding, long timeout_ms,
                   int attempts, Rr__V1__FindingReply **reply_p, rr_wire_error *err)
{
    ProtobufCMessage *reply = NULL;
    rr_status st = cli_center_call(self, RR_CMD_FINDING, &finding->base, finding->finding_id,
                                   timeout_ms, attempts, &reply, err);
    *reply_p = (Rr__V1__FindingReply *) reply; // rr_wire_answer_type(RR_CMD_FINDING)
    return st;
}
