// The center-side call of satisfaction (issue 18): the client's rating of a
// completed referral (RATE). Same retry rules as cli_center_submit, with the
// same rating_id on every attempt: the database answers a retry as the
// first (replayed).
#ifndef CLI_RATE_H
#define CLI_RATE_H

#include "cli_center.h"

// On RR_OK free *reply_p with rr_wire_free. Otherwise err holds the
// broker's or worker's refusal (status, field, message).
RR_NODISCARD rr_status cli_center_rate(cli_center *self, const Rr__V1__RateRequest *rating,
                                       long timeout_ms, int attempts, Rr__V1__RateReply **reply_p,
                                       rr_wire_error *err);

#endif
