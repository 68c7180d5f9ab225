// Priority raised by risk flags: a rule names a set of flags and a minimum
// priority; a request carrying all of a rule's flags gets at least that
// priority. Pure; used by workers (rules from PostgreSQL) and by the broker
// (rules the workers pass on), so both order requests the same way.
#ifndef RR_RISK_H
#define RR_RISK_H

#include "rr_vocab.h"

#include <stddef.h>
#include <stdint.h>

#define RR_RISK_MAX_RULES 64

typedef struct rr_risk_rule {
    uint32_t flags;       // bit (1 << flag) for each flag of the rule
    rr_priority priority; // the minimum it imposes
} rr_risk_rule;

// The bit set of flags (values 1..RR_RISK_FLAG_COUNT; others are ignored).
uint32_t rr_risk_mask(const int *flags, size_t count);

// The higher of requested (RR_PRIORITY_NONE counts as routine) and every
// matching rule's priority.
rr_priority rr_risk_effective(const rr_risk_rule *rules, size_t nrules, rr_priority requested,
                              uint32_t flags);

#endif
