// libFuzzer target: a worker's decode-and-validate path, then routing,
// against a small catalogue.
#include "rr_risk.h"
#include "rr_wire.h"
#include "wrk_catalog.h"
#include "wrk_route.h"
#include "wrk_validate.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wrk_catalog *catalog;

static void
build_catalog(void)
{
    catalog = wrk_catalog_new();
    const char *services[][2] = {{"SOC-01", "3"}, {"PRV-01", "1"}, {"RHB-02", "2"}};
    for (int i = 0; i < 3; i++) {
        wrk_service s = {.domain = (rr_domain) atoi(services[i][1]), .active = true};
        snprintf(s.code, sizeof s.code, "%s", services[i][0]);
        if (wrk_catalog_add_service(catalog, &s) != RR_OK) {
            abort();
        }
    }
    wrk_center c = {.code = 941, .county = "2301", .province = "23", .active = true};
    wrk_office o = {.code = "CO-2301", .county = "2301", .province = "23", .active = true};
    wrk_rule r = {.id = 1, .service = "RHB-02", .province = "23", .office = "CO-2301"};
    int flags[] = {4};
    rr_risk_rule risk = {rr_risk_mask(flags, 1), RR_PRIORITY_STAT};
    if (wrk_catalog_add_center(catalog, &c) != RR_OK ||
        wrk_catalog_add_office(catalog, &o) != RR_OK ||
        wrk_catalog_add_rule(catalog, &r) != RR_OK ||
        wrk_catalog_add_risk_rule(catalog, &risk) != RR_OK) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (catalog == NULL) {
        build_catalog();
    }
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    if (rr_wire_unpack(data, size, &req, &err) == RR_OK) {
        for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
            wrk_submit_facts facts;
            if (wrk_validate_submit(catalog, (rr_domain) d, req, &facts, &err) == RR_OK) {
                wrk_route_decision route;
                (void) wrk_route_decide(catalog, facts.center, req->service_code, facts.priority,
                                        &route);
            }
        }
    }
    if (req != NULL) {
        rr_wire_free(req);
    }
    return 0;
}
