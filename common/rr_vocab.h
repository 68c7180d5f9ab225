// The system's vocabulary: domains, priorities, risk flags and referral
// states, with their wire numbers (equal to the rr.v1 enums) and their names.
// Pure lookups, no allocation.
#ifndef RR_VOCAB_H
#define RR_VOCAB_H

#include <stdbool.h>

typedef enum rr_domain {
    RR_DOMAIN_NONE = 0,
    RR_DOMAIN_PREVENTION = 1,
    RR_DOMAIN_REHABILITATION = 2,
    RR_DOMAIN_SOCIAL = 3,
} rr_domain;
#define RR_DOMAIN_COUNT 3 // real domains, numbered 1..RR_DOMAIN_COUNT

typedef enum rr_priority {
    RR_PRIORITY_NONE = 0, // unspecified on the wire: treated as routine
    RR_PRIORITY_ROUTINE = 1,
    RR_PRIORITY_URGENT = 2,
    RR_PRIORITY_ASAP = 3,
    RR_PRIORITY_STAT = 4,
} rr_priority;
#define RR_PRIORITY_COUNT 4

#define RR_RISK_FLAG_COUNT 8 // flags are numbered 1..RR_RISK_FLAG_COUNT

typedef enum rr_ref_state {
    RR_REF_NONE = 0,
    RR_REF_REQUESTED = 1,
    RR_REF_RECEIVED = 2,
    RR_REF_ACCEPTED = 3,
    RR_REF_IN_PROGRESS = 4,
    RR_REF_ON_HOLD = 5,
    RR_REF_COMPLETED = 6,
    RR_REF_REJECTED = 7,
    RR_REF_FAILED = 8,
    RR_REF_CANCELLED = 9,
} rr_ref_state;
#define RR_REF_STATE_MAX RR_REF_CANCELLED

// "prevention", "rehabilitation", "social"; NULL for anything else.
const char *rr_domain_name(int domain);
// The Persian name of a domain; NULL for anything else.
const char *rr_domain_name_fa(int domain);
// Parses a domain name; RR_DOMAIN_NONE when unknown.
rr_domain rr_domain_parse(const char *name);

// Parses a worker's instance name: a domain name alone ("social"), or
// followed by "-" and a suffix of letters, digits and "_" that tells
// instances of one domain apart ("social-2", as in the systemd unit
// referral-worker@social-2). RR_DOMAIN_NONE for anything else.
rr_domain rr_domain_parse_instance(const char *name);
// A worker's --domain: an instance name as above, or "any" (optionally
// with a suffix: "any-2"), a worker that serves every domain (*out
// RR_DOMAIN_NONE). False for anything else.
bool rr_domain_parse_worker(const char *name, rr_domain *out);
// rr_domain_name, and "any" for RR_DOMAIN_NONE: a worker's domain as logs
// and the monitor show it.
const char *rr_domain_or_any(int domain);
// The domain a service code's prefix names by convention ("PRV-", "RHB-",
// "SOC-"); RR_DOMAIN_NONE when the prefix is none of them. The catalogue in
// the database stays the authority: workers check the service exists.
rr_domain rr_domain_of_service_code(const char *code);

// "routine", "urgent", "asap", "stat"; NULL when out of range.
const char *rr_priority_name(int priority);
// Parses a priority name; RR_PRIORITY_NONE when unknown.
rr_priority rr_priority_parse(const char *name);

// "addiction", "unemployment", ...; NULL when out of range.
const char *rr_risk_flag_name(int flag);
// Parses a risk flag name; 0 when unknown.
int rr_risk_flag_parse(const char *name);

// "requested", "received", ...; NULL when out of range.
const char *rr_ref_state_name(int state);
// Parses a state name; RR_REF_NONE when unknown.
rr_ref_state rr_ref_state_parse(const char *name);

#endif
