// The routing decision: which office must act on a request. Pure.
#ifndef WRK_ROUTE_H
#define WRK_ROUTE_H

#include "rr_status.h"
#include "wrk_catalog.h"

typedef struct wrk_route_decision {
    const wrk_office *office; // borrowed from the catalogue
    int rule_id;              // the deciding rule; 0 for the default
    char why[200];            // one line for `route explain` and debug logs
} wrk_route_decision;

// Picks the office for a request from center for service at priority: the
// most specific active rule that matches (service 8, county 4, province 2,
// priority 1 points; on a tie the lowest rule id), else the center's county
// office. RR_ENOTFOUND when neither exists (the reference data is
// incomplete; the why says what is missing).
RR_NODISCARD rr_status wrk_route_decide(const wrk_catalog *catalog, const wrk_center *center,
                                        const char *service_code, rr_priority priority,
                                        wrk_route_decision *out);

#endif
