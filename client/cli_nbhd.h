// The center-side calls of the neighbourhood side's field work (issue 18):
// a neighbourhood profile (PROFILE), a trustee (TRUSTEE), a finding
// (FINDING). Same retry rules as cli_center_submit, with the request's id
// (update_id, trustee_id, finding_id) on every attempt: the database
// answers a retry as the first (replayed).
#ifndef CLI_NBHD_H
#define CLI_NBHD_H

#include "cli_center.h"

// On RR_OK free *reply_p with rr_wire_free. Otherwise err holds the
// broker's or worker's refusal (status, field, message).
RR_NODISCARD rr_status cli_center_profile(cli_center *self, const Rr__V1__ProfileRequest *profile,
                                          long timeout_ms, int attempts,
                                          Rr__V1__ProfileReply **reply_p, rr_wire_error *err);
RR_NODISCARD rr_status cli_center_trustee(cli_center *self, const Rr__V1__TrusteeRequest *trustee,
                                          long timeout_ms, int attempts,
                                          Rr__V1__TrusteeReply **reply_p, rr_wire_error *err);
RR_NODISCARD rr_status cli_center_finding(cli_center *self, const Rr__V1__FindingRequest *finding,
                                          long timeout_ms, int attempts,
                                          Rr__V1__FindingReply **reply_p, rr_wire_error *err);

#endif
