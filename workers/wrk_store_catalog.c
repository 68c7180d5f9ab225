// The store's catalogue job: services, centers, offices, routing rules, risk
// rules and neighbourhoods read into a wrk_catalog in one go.
#define RR_LOG_MODULE "store"
#include "wrk_store_impl.h"

#include "rr_log.h"
#include "rr_risk.h"

#include <stdlib.h>
#include <string.h>

static PGresult *
query(wrk_store *self, const char *sql)
{
    PGresult *res = wrk_store_exec(self, NULL, sql, 0, NULL);
    if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK) {
        rr_log_error("catalogue query failed: %s", wrk_store_primary(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

rr_status
wrk_store_load_catalog(wrk_store *self, wrk_catalog **out)
{
    *out = NULL;
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    rr_status st = RR_EDB;
    PGresult *services = NULL, *centers = NULL, *offices = NULL, *rules = NULL, *risks = NULL,
             *hoods = NULL;
    wrk_catalog *cat = wrk_catalog_new();
    if (cat == NULL) {
        st = RR_ENOMEM;
        goto done;
    }
    services = query(self, "SELECT code, domain, active, scope = 'household' FROM service");
    centers = services ? query(self, "SELECT c.code, c.county_code, k.province_code, c.active"
                                     " FROM center c JOIN county k ON k.code = c.county_code")
                       : NULL;
    offices = centers ? query(self, "SELECT code, name_en, name_fa, coalesce(county_code, ''),"
                                    " province_code, active FROM office")
                      : NULL;
    rules = offices ? query(self, "SELECT id, coalesce(service_code, ''),"
                                  " coalesce(province_code, ''), coalesce(county_code, ''),"
                                  " coalesce(priority, ''), office_code"
                                  " FROM routing_rule WHERE active ORDER BY id")
                    : NULL;
    risks = rules ? query(self, "SELECT array_to_string(flags, ','), min_priority"
                                " FROM risk_priority_rule ORDER BY id")
                  : NULL;
    hoods = risks ? query(self, "SELECT id, county_code, name_key FROM neighbourhood") : NULL;
    if (hoods == NULL) {
        goto done;
    }
    st = RR_OK;
    for (int i = 0; i < PQntuples(services) && st == RR_OK; i++) {
        wrk_service s = {0};
        wrk_store_copy_field(s.code, sizeof s.code, services, i, 0);
        s.domain = rr_domain_parse(PQgetvalue(services, i, 1));
        s.active = PQgetvalue(services, i, 2)[0] == 't';
        s.per_household = PQgetvalue(services, i, 3)[0] == 't';
        st = wrk_catalog_add_service(cat, &s);
    }
    for (int i = 0; i < PQntuples(centers) && st == RR_OK; i++) {
        wrk_center c = {0};
        c.code = (uint32_t) strtoul(PQgetvalue(centers, i, 0), NULL, 10);
        wrk_store_copy_field(c.county, sizeof c.county, centers, i, 1);
        wrk_store_copy_field(c.province, sizeof c.province, centers, i, 2);
        c.active = PQgetvalue(centers, i, 3)[0] == 't';
        st = wrk_catalog_add_center(cat, &c);
    }
    for (int i = 0; i < PQntuples(offices) && st == RR_OK; i++) {
        wrk_office o = {0};
        wrk_store_copy_field(o.code, sizeof o.code, offices, i, 0);
        wrk_store_copy_field(o.name_en, sizeof o.name_en, offices, i, 1);
        wrk_store_copy_field(o.name_fa, sizeof o.name_fa, offices, i, 2);
        wrk_store_copy_field(o.county, sizeof o.county, offices, i, 3);
        wrk_store_copy_field(o.province, sizeof o.province, offices, i, 4);
        o.active = PQgetvalue(offices, i, 5)[0] == 't';
        st = wrk_catalog_add_office(cat, &o);
    }
    for (int i = 0; i < PQntuples(rules) && st == RR_OK; i++) {
        wrk_rule r = {0};
        r.id = (int) strtol(PQgetvalue(rules, i, 0), NULL, 10);
        wrk_store_copy_field(r.service, sizeof r.service, rules, i, 1);
        wrk_store_copy_field(r.province, sizeof r.province, rules, i, 2);
        wrk_store_copy_field(r.county, sizeof r.county, rules, i, 3);
        r.priority = rr_priority_parse(PQgetvalue(rules, i, 4));
        wrk_store_copy_field(r.office, sizeof r.office, rules, i, 5);
        st = wrk_catalog_add_rule(cat, &r);
    }
    for (int i = 0; i < PQntuples(risks) && st == RR_OK; i++) {
        int flags[RR_RISK_FLAG_COUNT];
        size_t nflags = 0;
        char buf[256];
        wrk_store_copy_field(buf, sizeof buf, risks, i, 0);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok && nflags < RR_RISK_FLAG_COUNT;
             tok = strtok_r(NULL, ",", &save)) {
            int f = rr_risk_flag_parse(tok);
            if (f == 0) {
                rr_log_warn("risk rule %d names unrecognized flag \"%s\": rule ignored", i, tok);
                nflags = 0;
                break;
            }
            flags[nflags++] = f;
        }
        rr_risk_rule rule = {rr_risk_mask(flags, nflags),
                             rr_priority_parse(PQgetvalue(risks, i, 1))};
        if (rule.flags != 0 && rule.priority != RR_PRIORITY_NONE) {
            st = wrk_catalog_add_risk_rule(cat, &rule);
        }
    }
    for (int i = 0; i < PQntuples(hoods) && st == RR_OK; i++) {
        st = wrk_catalog_add_neighbourhood(cat, (int) strtol(PQgetvalue(hoods, i, 0), NULL, 10),
                                           PQgetvalue(hoods, i, 1), PQgetvalue(hoods, i, 2));
    }
    if (st != RR_OK) {
        rr_log_error("could not build the catalogue: %s", rr_strerror(st));
        goto done;
    }
    rr_log_info("catalogue loaded: %d services, %d centers, %d offices, %d routing rules, %d risk "
                "rules, %d neighbourhoods",
                PQntuples(services), PQntuples(centers), PQntuples(offices), PQntuples(rules),
                PQntuples(risks), PQntuples(hoods));
    *out = cat;
    cat = NULL;
done:
    PQclear(hoods);
    PQclear(risks);
    PQclear(rules);
    PQclear(offices);
    PQclear(centers);
    PQclear(services);
    wrk_catalog_destroy(&cat);
    return st;
}
