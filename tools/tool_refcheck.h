// The decisions of the reference-data commands that need no database: who
// the actor is, what an office or service code says, whether a routing
// rule's office lies in the rule's area, and a risk rule's flags. Pure.
#ifndef TOOL_REFCHECK_H
#define TOOL_REFCHECK_H

#include "rr_vocab.h"

#include <stdbool.h>
#include <stddef.h>

#define TOOL_ACTOR_MAX_BYTES 120
#define TOOL_WHY_BYTES       256

// The actor recorded with a change: by (--by) when not empty, else env
// (REFERRAL_ACTOR) when not empty, else os_user (the operating-system user;
// may be NULL). False with *why when the chosen name is empty, is not a
// line of text (rr_text_check) or is longer than TOOL_ACTOR_MAX_BYTES.
bool tool_actor_choose(const char *by, const char *env, const char *os_user,
                       char out[TOOL_ACTOR_MAX_BYTES + 1], char why[TOOL_WHY_BYTES]);

typedef enum tool_office_kind {
    TOOL_OFFICE_COUNTY,   // "CO-<four-digit county>"
    TOOL_OFFICE_PROVINCE, // "PO-<two-digit province>"
} tool_office_kind;

typedef struct tool_office_code {
    tool_office_kind kind;
    char area[5]; // the county's or the province's code
} tool_office_code;

// Reads an office code (already canonical: "CO-2301", "PO-23"). False for
// anything else.
bool tool_office_code_parse(const char *code, tool_office_code *out);

// "county" or "province".
const char *tool_office_kind_name(tool_office_kind kind);

// Checks a service code for domain: three capitals, "-", two digits
// ("SOC-12"), and the prefix of the domain (PRV- prevention, RHB-
// rehabilitation, SOC- social). False with *why naming the code.
bool tool_service_code_check(const char *code, rr_domain domain, char why[TOOL_WHY_BYTES]);

// A routing rule's area and its office's place. Empty strings for what the
// rule leaves open.
typedef struct tool_rule_area {
    const char *county;          // the rule's county
    const char *county_province; // that county's province (when county is set)
    const char *province;        // the rule's province
    const char *office;          // the office's code
    const char *office_province; // the office's province
    bool cross_province;         // --cross-province: an office elsewhere is intended
} tool_rule_area;

// Checks that the rule's county lies in its province (both given), and that
// the office lies in the rule's province (the county's when only a county
// is given) unless cross_province; a rule with neither county nor province
// covers every province and needs cross_province. False with *field (the
// option at fault) and *why.
bool tool_rule_area_check(const tool_rule_area *a, const char **field, char why[TOOL_WHY_BYTES]);

#define TOOL_RISK_FLAGS_BYTES 256

// Reads comma-separated risk flags ("domestic_violence,child_at_risk") as
// the PostgreSQL array literal of the distinct flags in name order
// ("{child_at_risk,domestic_violence}": risk_priority_rule keeps flags
// sorted, so a combination has one spelling). False with *why for an
// unknown flag or an empty list.
bool tool_risk_flags_parse(const char *text, char out[TOOL_RISK_FLAGS_BYTES],
                           char why[TOOL_WHY_BYTES]);

// True when s is exactly n ASCII digits (a province's 2, a county's 4).
bool tool_refcheck_digits(const char *s, size_t n);

#endif
