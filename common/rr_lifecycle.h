// The referral lifecycle (DOMAIN.md, after FHIR Task) as one table: from
// which states, to which state, by whom, is which kind of event, and whether
// it needs a reason. Pure.
#ifndef RR_LIFECYCLE_H
#define RR_LIFECYCLE_H

#include "rr_status.h"
#include "rr_vocab.h"

#include <stdbool.h>

typedef enum rr_actor {
    RR_ACTOR_CENTER = 1,
    RR_ACTOR_OFFICE = 2,
} rr_actor;

typedef enum rr_ref_event {
    RR_EV_NONE = 0,
    RR_EV_CLAIM,
    RR_EV_ACCEPT,
    RR_EV_REJECT,
    RR_EV_START,
    RR_EV_PAUSE,
    RR_EV_RESUME,
    RR_EV_COMPLETE,
    RR_EV_FAIL,
    RR_EV_WITHDRAW,
    RR_EV_CANCEL,
    RR_EV_FORWARD,
} rr_ref_event;

// The event that takes a referral from `from` to `to` when `who` asks
// (a forward is to "requested" with a new owner). RR_OK sets *event and
// *needs_reason. RR_ESTATE when the table has no such move from this state;
// RR_EPERM when the move exists but is not this actor's to make.
RR_NODISCARD rr_status rr_lifecycle_decide(rr_ref_state from, rr_ref_state to, rr_actor who,
                                           rr_ref_event *event, bool *needs_reason);

// True for completed, rejected, failed and cancelled.
bool rr_lifecycle_is_final(rr_ref_state state);

// "claim", "accept", ... as stored in referral_event.kind; NULL when out of range.
const char *rr_ref_event_name(rr_ref_event event);

#endif
