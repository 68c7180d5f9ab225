// Route explain: loads the catalogue the workers use and runs their very
// routing decision (wrk_route), so the answer cannot drift from production.
#include "tool_route.h"

#include "rr_config.h"
#include "rr_risk.h"
#include "rr_vocab.h"
#include "wrk_route.h"
#include "wrk_validate.h"
#include "wrk_store.h"

#include <stdio.h>
#include <string.h>

int
tool_route_main(int argc, char **argv)
{
    const char *db = NULL, *service = NULL, *priority = NULL, *risks = NULL;
    long center = 0;
    int first = 0;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"center", RR_OPT_INT, NULL, "0", "the submitting center", &center, 0, 4294967295L},
        {"service", RR_OPT_STRING, NULL, "", "the service code", &service, 0, 0},
        {"priority", RR_OPT_STRING, NULL, "routine", "the requested priority", &priority, 0, 0},
        {"risk", RR_OPT_STRING, NULL, "", "risk flags, comma-separated", &risks, 0, 0},
    };
    rr_status st = rr_config_parse("referralctl route",
                                   "referralctl route explain --center C --service S: the office "
                                   "a request would go to, and the deciding rule",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    rr_priority requested = rr_priority_parse(priority);
    if (first != argc - 1 || strcmp(argv[first], "explain") != 0 || center == 0 ||
        service[0] == '\0' || requested == RR_PRIORITY_NONE) {
        fprintf(stderr, "usage: referralctl route explain --center C --service S [--priority P] "
                        "[--risk FLAGS]\n");
        return 2;
    }
    int flags[RR_RISK_FLAG_COUNT];
    size_t nflags = 0;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s", risks);
    (void) n;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int f = rr_risk_flag_parse(tok);
        if (f == 0 || nflags == RR_RISK_FLAG_COUNT) {
            fprintf(stderr, "unrecognized risk flag \"%s\"\n", tok);
            return 2;
        }
        flags[nflags++] = f;
    }
    wrk_store *store = wrk_store_new(db, "referralctl");
    wrk_catalog *cat = NULL;
    if (store == NULL || wrk_store_load_catalog(store, &cat) != RR_OK) {
        fprintf(stderr, "could not read the routing rules: database unavailable\n");
        wrk_store_destroy(&store);
        return 1;
    }
    int rc = 1;
    // The checks and words of a submission (wrk_validate): a withdrawn
    // service or an inactive center is refused here as it would be there.
    const wrk_center *c = NULL;
    const wrk_service *s = NULL;
    rr_wire_error err;
    if (wrk_validate_service(cat, service, &s, &err) != RR_OK ||
        wrk_validate_center(cat, (uint32_t) center, &c, &err) != RR_OK) {
        fprintf(stderr, "%s %s: %s\n", rr_status_name(err.code), err.field, err.message);
    } else {
        size_t nrisk = 0;
        const rr_risk_rule *rules = wrk_catalog_risk_rules(cat, &nrisk);
        rr_priority effective =
            rr_risk_effective(rules, nrisk, requested, rr_risk_mask(flags, nflags));
        wrk_route_decision d;
        if (wrk_route_decide(cat, c, service, effective, &d) != RR_OK) {
            fprintf(stderr, "cannot route: %s\n", d.why);
        } else {
            printf("center %u (county %s, province %s), service %s (%s), priority %s%s%s\n",
                   c->code, c->county, c->province, s->code, rr_domain_name(s->domain),
                   rr_priority_name(effective), effective != requested ? ", raised from " : "",
                   effective != requested ? rr_priority_name(requested) : "");
            printf("destination: %s %s (%s)\n", d.office->code, d.office->name_en,
                   d.office->name_fa);
            printf("because: %s\n", d.why);
            rc = 0;
        }
    }
    wrk_catalog_destroy(&cat);
    wrk_store_destroy(&store);
    return rc;
}
