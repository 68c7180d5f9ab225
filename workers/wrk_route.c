// Most-specific-rule routing. A rule whose office is missing or inactive is
// passed over, so that closing an office never strands its referrals.
#include "wrk_route.h"

#include <stdio.h>
#include <string.h>

// The rule's specificity, or -1 when it does not match the request.
static int
rule_score(const wrk_rule *rule, const wrk_center *center, const char *service_code,
           rr_priority priority)
{
    int score = 0;
    if (rule->service[0] != '\0') {
        if (strcmp(rule->service, service_code) != 0) {
            return -1;
        }
        score += 8;
    }
    if (rule->county[0] != '\0') {
        if (strcmp(rule->county, center->county) != 0) {
            return -1;
        }
        score += 4;
    }
    if (rule->province[0] != '\0') {
        if (strcmp(rule->province, center->province) != 0) {
            return -1;
        }
        score += 2;
    }
    if (rule->priority != RR_PRIORITY_NONE) {
        if (rule->priority != priority) {
            return -1;
        }
        score += 1;
    }
    return score;
}

rr_status
wrk_route_decide(const wrk_catalog *catalog, const wrk_center *center, const char *service_code,
                 rr_priority priority, wrk_route_decision *out)
{
    const wrk_rule *best = NULL;
    const wrk_office *best_office = NULL;
    int best_score = -1;
    for (size_t i = 0; i < wrk_catalog_rule_count(catalog); i++) {
        const wrk_rule *rule = wrk_catalog_rule_at(catalog, i);
        int score = rule_score(rule, center, service_code, priority);
        if (score < 0) {
            continue;
        }
        const wrk_office *office = wrk_catalog_office(catalog, rule->office);
        if (office == NULL || !office->active) {
            continue;
        }
        if (score > best_score || (score == best_score && rule->id < best->id)) {
            best = rule;
            best_office = office;
            best_score = score;
        }
    }
    int n;
    if (best != NULL) {
        out->office = best_office;
        out->rule_id = best->id;
        n = snprintf(out->why, sizeof out->why,
                     "rule %d (service %s, province %s, county %s, priority %s) sends it to %s",
                     best->id, best->service[0] ? best->service : "any",
                     best->province[0] ? best->province : "any",
                     best->county[0] ? best->county : "any",
                     best->priority ? rr_priority_name(best->priority) : "any", best_office->code);
        (void) n;
        return RR_OK;
    }
    const wrk_office *office = wrk_catalog_county_office(catalog, center->county);
    out->rule_id = 0;
    if (office == NULL) {
        out->office = NULL;
        n = snprintf(out->why, sizeof out->why, "no rule matches and county %s has no office",
                     center->county);
        (void) n;
        return RR_ENOTFOUND;
    }
    out->office = office;
    n = snprintf(out->why, sizeof out->why,
                 "no rule matches: default to the county office of center %u, %s", center->code,
                 office->code);
    (void) n;
    return RR_OK;
}
