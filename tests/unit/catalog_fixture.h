// A small catalogue for the worker's pure-logic tests: two provinces, three
// counties with their offices, four services, three centers.
#ifndef CATALOG_FIXTURE_H
#define CATALOG_FIXTURE_H

#include "wrk_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void
fixture_office(wrk_catalog *cat, const char *code, const char *county, const char *province,
               bool active)
{
    wrk_office o = {0};
    snprintf(o.code, sizeof o.code, "%s", code);
    snprintf(o.name_en, sizeof o.name_en, "%s office", code);
    snprintf(o.name_fa, sizeof o.name_fa, "اداره %s", code);
    snprintf(o.county, sizeof o.county, "%s", county);
    snprintf(o.province, sizeof o.province, "%s", province);
    o.active = active;
    if (wrk_catalog_add_office(cat, &o) != RR_OK) {
        abort();
    }
}

static inline wrk_catalog *
fixture_catalog(void)
{
    wrk_catalog *cat = wrk_catalog_new();
    const struct {
        const char *code;
        rr_domain domain;
        bool active;
    } services[] = {{"SOC-01", RR_DOMAIN_SOCIAL, true},
                    {"PRV-01", RR_DOMAIN_PREVENTION, true},
                    {"RHB-02", RR_DOMAIN_REHABILITATION, true},
                    {"SOC-11", RR_DOMAIN_SOCIAL, false}};
    for (size_t i = 0; i < 4; i++) {
        wrk_service s = {0};
        snprintf(s.code, sizeof s.code, "%s", services[i].code);
        s.domain = services[i].domain;
        s.active = services[i].active;
        if (wrk_catalog_add_service(cat, &s) != RR_OK) {
            abort();
        }
    }
    const struct {
        uint32_t code;
        const char *county, *province;
        bool active;
    } centers[] = {
        {941, "2301", "23", true}, {1924, "1002", "10", true}, {77, "2302", "23", false}};
    for (size_t i = 0; i < 3; i++) {
        wrk_center c = {0};
        c.code = centers[i].code;
        snprintf(c.county, sizeof c.county, "%s", centers[i].county);
        snprintf(c.province, sizeof c.province, "%s", centers[i].province);
        c.active = centers[i].active;
        if (wrk_catalog_add_center(cat, &c) != RR_OK) {
            abort();
        }
    }
    fixture_office(cat, "CO-2301", "2301", "23", true);
    fixture_office(cat, "CO-2302", "2302", "23", true);
    fixture_office(cat, "CO-1002", "1002", "10", true);
    fixture_office(cat, "PO-23", "", "23", true);
    fixture_office(cat, "PO-10", "", "10", true);
    fixture_office(cat, "CO-1099", "1099", "10", false);
    return cat;
}

static inline void
fixture_rule(wrk_catalog *cat, int id, const char *service, const char *province,
             const char *county, rr_priority priority, const char *office)
{
    wrk_rule r = {0};
    r.id = id;
    snprintf(r.service, sizeof r.service, "%s", service);
    snprintf(r.province, sizeof r.province, "%s", province);
    snprintf(r.county, sizeof r.county, "%s", county);
    r.priority = priority;
    snprintf(r.office, sizeof r.office, "%s", office);
    if (wrk_catalog_add_rule(cat, &r) != RR_OK) {
        abort();
    }
}

#endif
