// The worker's in-memory copy of the reference data it decides with:
// services, centers, offices and routing rules, loaded from PostgreSQL by
// wrk_store. Pure data structure with lookups.
#ifndef WRK_CATALOG_H
#define WRK_CATALOG_H

#include "rr_risk.h"
#include "rr_status.h"
#include "rr_vocab.h"
#include "rr_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WRK_COUNTY_CODE_LEN   4 // "2301" (county.code char(4))
#define WRK_PROVINCE_CODE_LEN 2 // "23" (province.code char(2))

typedef struct wrk_service {
    char code[RR_WIRE_MAX_SERVICE_BYTES + 1];
    rr_domain domain;
    bool active;
    bool per_household; // scope 'household': one open referral per household, else per person
} wrk_service;

typedef struct wrk_center {
    uint32_t code;
    char county[WRK_COUNTY_CODE_LEN + 1];     // county code, e.g. "2301"
    char province[WRK_PROVINCE_CODE_LEN + 1]; // province code, e.g. "23"
    bool active;
} wrk_center;

typedef struct wrk_office {
    char code[RR_WIRE_MAX_OFFICE_BYTES + 1]; // "CO-2301" or "PO-23"
    char name_en[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    char name_fa[RR_WIRE_MAX_OFFICE_NAME_BYTES + 1];
    char county[WRK_COUNTY_CODE_LEN + 1]; // empty for a province office
    char province[WRK_PROVINCE_CODE_LEN + 1];
    bool active;
} wrk_office;

// A routing override: empty strings and RR_PRIORITY_NONE match anything.
typedef struct wrk_rule {
    int id;
    char service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    char province[WRK_PROVINCE_CODE_LEN + 1];
    char county[WRK_COUNTY_CODE_LEN + 1];
    rr_priority priority;
    char office[RR_WIRE_MAX_OFFICE_BYTES + 1];
} wrk_rule;

typedef struct wrk_catalog wrk_catalog;

// An empty catalogue, or NULL when out of memory. Caller frees with
// wrk_catalog_destroy.
wrk_catalog *wrk_catalog_new(void);
void wrk_catalog_destroy(wrk_catalog **self_p);

// Adders copy the record. RR_ENOMEM when out of memory; RR_EINVAL for a
// duplicate key (services, centers, offices).
RR_NODISCARD rr_status wrk_catalog_add_service(wrk_catalog *self, const wrk_service *service);
RR_NODISCARD rr_status wrk_catalog_add_center(wrk_catalog *self, const wrk_center *center);
RR_NODISCARD rr_status wrk_catalog_add_office(wrk_catalog *self, const wrk_office *office);
RR_NODISCARD rr_status wrk_catalog_add_rule(wrk_catalog *self, const wrk_rule *rule);

// Adds a neighbourhood: its id, county and canonical name (name_key,
// rr_text_canon's form, as the database keys it). RR_EINVAL for a county
// and key added before; RR_ENOMEM.
RR_NODISCARD rr_status wrk_catalog_add_neighbourhood(wrk_catalog *self, int id, const char *county,
                                                     const char *name_key);

// The id of the neighbourhood of county whose canonical name is name_key,
// or 0 when there is none.
int wrk_catalog_neighbourhood(const wrk_catalog *self, const char *county, const char *name_key);

// Lookups borrow from the catalogue; NULL when absent.
const wrk_service *wrk_catalog_service(const wrk_catalog *self, const char *code);
const wrk_center *wrk_catalog_center(const wrk_catalog *self, uint32_t code);
const wrk_office *wrk_catalog_office(const wrk_catalog *self, const char *code);
// The county welfare office of a county ("CO-<county>"), or NULL.
const wrk_office *wrk_catalog_county_office(const wrk_catalog *self, const char *county);

// Adds a risk rule (flags bit set and minimum priority). RR_ETOOBIG past
// RR_RISK_MAX_RULES.
RR_NODISCARD rr_status wrk_catalog_add_risk_rule(wrk_catalog *self, const rr_risk_rule *rule);

// The risk rules, *count of them; borrowed.
const rr_risk_rule *wrk_catalog_risk_rules(const wrk_catalog *self, size_t *count);

size_t wrk_catalog_rule_count(const wrk_catalog *self);
const wrk_rule *wrk_catalog_rule_at(const wrk_catalog *self, size_t i);
size_t wrk_catalog_center_count(const wrk_catalog *self);

#endif
