// Name tables for the vocabulary. Indexes equal the wire enum numbers.
#include "rr_vocab.h"

#include <stddef.h>
#include <string.h>

static const char *const domain_names[] = {NULL, "prevention", "rehabilitation", "social"};
static const char *const domain_names_fa[] = {NULL, "پیشگیری", "توانبخشی", "اجتماعی"};
static const char *const domain_prefixes[] = {NULL, "PRV-", "RHB-", "SOC-"};
static const char *const priority_names[] = {NULL, "routine", "urgent", "asap", "stat"};
static const char *const risk_names[] = {
    NULL,           "addiction",           "unemployment",
    "divorce_risk", "domestic_violence",   "woman_head_of_household",
    "disability",   "out_of_school_child", "child_at_risk"};
static const char *const state_names[] = {NULL,          "requested", "received",  "accepted",
                                          "in-progress", "on-hold",   "completed", "rejected",
                                          "failed",      "cancelled"};

#define COUNT_OF(a) ((int) (sizeof(a) / sizeof((a)[0])))

static const char *
name_at(const char *const *names, int count, int value)
{
    return (value > 0 && value < count) ? names[value] : NULL;
}

static int
index_of(const char *const *names, int count, const char *name)
{
    if (name == NULL) {
        return 0;
    }
    for (int i = 1; i < count; i++) {
        if (strcmp(names[i], name) == 0) {
            return i;
        }
    }
    return 0;
}

const char *
rr_domain_name(int domain)
{
    return name_at(domain_names, COUNT_OF(domain_names), domain);
}

const char *
rr_domain_name_fa(int domain)
{
    return name_at(domain_names_fa, COUNT_OF(domain_names_fa), domain);
}

rr_domain
rr_domain_parse(const char *name)
{
    return (rr_domain) index_of(domain_names, COUNT_OF(domain_names), name);
}

// Splits an instance name ("social-2") into its base ("social") in base
// (cap bytes); false when the suffix is malformed or the base too long.
static bool
instance_base(const char *name, char *base, size_t cap)
{
    const char *dash = strchr(name, '-');
    size_t n = dash ? (size_t) (dash - name) : strlen(name);
    if (dash != NULL) {
        if (dash[1] == '\0') {
            return false;
        }
        for (const char *p = dash + 1; *p; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_')) {
                return false;
            }
        }
    }
    if (n >= cap) {
        return false;
    }
    memcpy(base, name, n);
    base[n] = '\0';
    return true;
}

rr_domain
rr_domain_parse_instance(const char *name)
{
    char base[32];
    return instance_base(name, base, sizeof base) ? rr_domain_parse(base) : RR_DOMAIN_NONE;
}

bool
rr_domain_parse_worker(const char *name, rr_domain *out)
{
    char base[32];
    if (!instance_base(name, base, sizeof base)) {
        return false;
    }
    *out = strcmp(base, "any") == 0 ? RR_DOMAIN_NONE : rr_domain_parse(base);
    return strcmp(base, "any") == 0 || *out != RR_DOMAIN_NONE;
}

const char *
rr_domain_or_any(int domain)
{
    return domain == RR_DOMAIN_NONE ? "any" : rr_domain_name(domain);
}

rr_domain
rr_domain_of_service_code(const char *code)
{
    if (code == NULL) {
        return RR_DOMAIN_NONE;
    }
    for (int i = 1; i < COUNT_OF(domain_prefixes); i++) {
        if (strncmp(code, domain_prefixes[i], strlen(domain_prefixes[i])) == 0) {
            return (rr_domain) i;
        }
    }
    return RR_DOMAIN_NONE;
}

const char *
rr_priority_name(int priority)
{
    return name_at(priority_names, COUNT_OF(priority_names), priority);
}

rr_priority
rr_priority_parse(const char *name)
{
    return (rr_priority) index_of(priority_names, COUNT_OF(priority_names), name);
}

const char *
rr_risk_flag_name(int flag)
{
    return name_at(risk_names, COUNT_OF(risk_names), flag);
}

int
rr_risk_flag_parse(const char *name)
{
    return index_of(risk_names, COUNT_OF(risk_names), name);
}

const char *
rr_ref_state_name(int state)
{
    return name_at(state_names, COUNT_OF(state_names), state);
}

rr_ref_state
rr_ref_state_parse(const char *name)
{
    return (rr_ref_state) index_of(state_names, COUNT_OF(state_names), name);
}
