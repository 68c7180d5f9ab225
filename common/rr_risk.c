// Risk rules over flag bit sets.
#include "rr_risk.h"

uint32_t
rr_risk_mask(const int *flags, size_t count)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < count; i++) {
        if (flags[i] >= 1 && flags[i] <= RR_RISK_FLAG_COUNT) {
            mask |= UINT32_C(1) << flags[i];
        }
    }
    return mask;
}

rr_priority
rr_risk_effective(const rr_risk_rule *rules, size_t nrules, rr_priority requested, uint32_t flags)
{
    rr_priority p = requested == RR_PRIORITY_NONE ? RR_PRIORITY_ROUTINE : requested;
    for (size_t i = 0; i < nrules; i++) {
        if (rules[i].flags != 0 && (flags & rules[i].flags) == rules[i].flags &&
            rules[i].priority > p) {
            p = rules[i].priority;
        }
    }
    return p;
}
