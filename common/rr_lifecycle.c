// The lifecycle table. Each row: the states it applies from (bit set), the
// target state, the actor, the event kind, and whether a reason is needed.
#include "rr_lifecycle.h"

#include <stddef.h>

#define S(state) (1u << (state))
#define OPEN                                                                                       \
    (S(RR_REF_REQUESTED) | S(RR_REF_RECEIVED) | S(RR_REF_ACCEPTED) | S(RR_REF_IN_PROGRESS) |       \
     S(RR_REF_ON_HOLD))

static const struct {
    unsigned from;
    rr_ref_state to;
    rr_actor who;
    rr_ref_event event;
    bool needs_reason;
} table[] = {
    {S(RR_REF_REQUESTED), RR_REF_RECEIVED, RR_ACTOR_OFFICE, RR_EV_CLAIM, false},
    {S(RR_REF_REQUESTED) | S(RR_REF_RECEIVED), RR_REF_ACCEPTED, RR_ACTOR_OFFICE, RR_EV_ACCEPT,
     false},
    {S(RR_REF_REQUESTED) | S(RR_REF_RECEIVED), RR_REF_REJECTED, RR_ACTOR_OFFICE, RR_EV_REJECT,
     true},
    {S(RR_REF_ACCEPTED), RR_REF_IN_PROGRESS, RR_ACTOR_OFFICE, RR_EV_START, false},
    {S(RR_REF_IN_PROGRESS), RR_REF_ON_HOLD, RR_ACTOR_OFFICE, RR_EV_PAUSE, false},
    {S(RR_REF_ON_HOLD), RR_REF_IN_PROGRESS, RR_ACTOR_OFFICE, RR_EV_RESUME, false},
    {S(RR_REF_IN_PROGRESS), RR_REF_COMPLETED, RR_ACTOR_OFFICE, RR_EV_COMPLETE, true},
    {S(RR_REF_IN_PROGRESS) | S(RR_REF_ON_HOLD), RR_REF_FAILED, RR_ACTOR_OFFICE, RR_EV_FAIL, true},
    {OPEN, RR_REF_CANCELLED, RR_ACTOR_CENTER, RR_EV_WITHDRAW, true},
    {OPEN, RR_REF_CANCELLED, RR_ACTOR_OFFICE, RR_EV_CANCEL, true},
    {OPEN, RR_REF_REQUESTED, RR_ACTOR_OFFICE, RR_EV_FORWARD, true},
};

static const char *const event_names[] = {NULL,    "claim",    "accept", "reject",
                                          "start", "pause",    "resume", "complete",
                                          "fail",  "withdraw", "cancel", "forward"};

rr_status
rr_lifecycle_decide(rr_ref_state from, rr_ref_state to, rr_actor who, rr_ref_event *event,
                    bool *needs_reason)
{
    bool someone_may = false;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].to != to || (table[i].from & S(from)) == 0) {
            continue;
        }
        if (table[i].who != who) {
            someone_may = true;
            continue;
        }
        *event = table[i].event;
        *needs_reason = table[i].needs_reason;
        return RR_OK;
    }
    return someone_may ? RR_EPERM : RR_ESTATE;
}

bool
rr_lifecycle_is_final(rr_ref_state state)
{
    return state == RR_REF_COMPLETED || state == RR_REF_REJECTED || state == RR_REF_FAILED ||
           state == RR_REF_CANCELLED;
}

const char *
rr_ref_event_name(rr_ref_event event)
{
    if ((int) event < 1 || (size_t) event >= sizeof event_names / sizeof event_names[0]) {
        return NULL;
    }
    return event_names[event];
}
