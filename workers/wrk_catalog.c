// Catalogue storage: uthash tables for keyed records, a growing array for
// rules (a handful, scanned in order).
#include "wrk_catalog.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct service_entry {
    wrk_service v;
    UT_hash_handle hh;
} service_entry;

typedef struct center_entry {
    wrk_center v;
    UT_hash_handle hh;
} center_entry;

typedef struct office_entry {
    wrk_office v;
    UT_hash_handle hh;
} office_entry;

// Keyed by "<county>/<canonical name>".
typedef struct neighbourhood_entry {
    int id;
    char *key; // owned
    UT_hash_handle hh;
} neighbourhood_entry;

struct wrk_catalog {
    neighbourhood_entry *neighbourhoods;
    service_entry *services;
    center_entry *centers;
    office_entry *offices;
    wrk_rule *rules; // owned array
    size_t rule_count, rule_cap;
    rr_risk_rule risk[RR_RISK_MAX_RULES];
    size_t risk_count;
};

wrk_catalog *
wrk_catalog_new(void)
{
    return calloc(1, sizeof(wrk_catalog));
}

void
wrk_catalog_destroy(wrk_catalog **self_p)
{
    assert(self_p != NULL);
    wrk_catalog *self = *self_p;
    if (self == NULL) {
        return;
    }
    // HASH_CLEAR frees the table and leaves the entries linked in insertion
    // order (hh.next): free them from there. (HASH_DEL of the last entry
    // frees the table too, which the static analyzer cannot follow.)
    service_entry *s = self->services;
    HASH_CLEAR(hh, self->services);
    while (s != NULL) {
        service_entry *next = s->hh.next;
        free(s);
        s = next;
    }
    center_entry *c = self->centers;
    HASH_CLEAR(hh, self->centers);
    while (c != NULL) {
        center_entry *next = c->hh.next;
        free(c);
        c = next;
    }
    office_entry *o = self->offices;
    HASH_CLEAR(hh, self->offices);
    while (o != NULL) {
        office_entry *next = o->hh.next;
        free(o);
        o = next;
    }
    neighbourhood_entry *n = self->neighbourhoods;
    HASH_CLEAR(hh, self->neighbourhoods);
    while (n != NULL) {
        neighbourhood_entry *next = n->hh.next;
        free(n->key);
        free(n);
        n = next;
    }
    free(self->rules);
    free(self);
    *self_p = NULL;
}

// "<county>/<key>" in a new string (caller frees), or NULL.
static char *
neighbourhood_key(const char *county, const char *name_key)
{
    size_t n = strlen(county) + 1 + strlen(name_key) + 1;
    char *key = malloc(n);
    if (key != NULL) {
        int w = snprintf(key, n, "%s/%s", county, name_key);
        assert(w > 0 && (size_t) w < n);
        (void) w;
    }
    return key;
}

rr_status
wrk_catalog_add_neighbourhood(wrk_catalog *self, int id, const char *county, const char *name_key)
{
    neighbourhood_entry *e = calloc(1, sizeof *e);
    char *key = neighbourhood_key(county, name_key);
    if (e == NULL || key == NULL) {
        free(e);
        free(key);
        return RR_ENOMEM;
    }
    neighbourhood_entry *old = NULL;
    HASH_FIND_STR(self->neighbourhoods, key, old);
    if (old != NULL) {
        free(e);
        free(key);
        return RR_EINVAL;
    }
    e->id = id;
    e->key = key;
    HASH_ADD_KEYPTR(hh, self->neighbourhoods, e->key, strlen(e->key), e);
    return RR_OK;
}

int
wrk_catalog_neighbourhood(const wrk_catalog *self, const char *county, const char *name_key)
{
    char *key = neighbourhood_key(county, name_key);
    neighbourhood_entry *e = NULL;
    if (key != NULL) {
        HASH_FIND_STR(self->neighbourhoods, key, e);
    }
    free(key);
    return e ? e->id : 0;
}

rr_status
wrk_catalog_add_service(wrk_catalog *self, const wrk_service *service)
{
    if (wrk_catalog_service(self, service->code) != NULL) {
        return RR_EINVAL;
    }
    service_entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return RR_ENOMEM;
    }
    e->v = *service;
    HASH_ADD_STR(self->services, v.code, e);
    return RR_OK;
}

rr_status
wrk_catalog_add_center(wrk_catalog *self, const wrk_center *center)
{
    if (wrk_catalog_center(self, center->code) != NULL) {
        return RR_EINVAL;
    }
    center_entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return RR_ENOMEM;
    }
    e->v = *center;
    HASH_ADD(hh, self->centers, v.code, sizeof e->v.code, e);
    return RR_OK;
}

rr_status
wrk_catalog_add_office(wrk_catalog *self, const wrk_office *office)
{
    if (wrk_catalog_office(self, office->code) != NULL) {
        return RR_EINVAL;
    }
    office_entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return RR_ENOMEM;
    }
    e->v = *office;
    HASH_ADD_STR(self->offices, v.code, e);
    return RR_OK;
}

rr_status
wrk_catalog_add_rule(wrk_catalog *self, const wrk_rule *rule)
{
    if (self->rule_count == self->rule_cap) {
        size_t cap = self->rule_cap ? self->rule_cap * 2 : 16;
        wrk_rule *grown = realloc(self->rules, cap * sizeof *grown);
        if (grown == NULL) {
            return RR_ENOMEM;
        }
        self->rules = grown;
        self->rule_cap = cap;
    }
    self->rules[self->rule_count++] = *rule;
    return RR_OK;
}

rr_status
wrk_catalog_add_risk_rule(wrk_catalog *self, const rr_risk_rule *rule)
{
    if (self->risk_count == RR_RISK_MAX_RULES) {
        return RR_ETOOBIG;
    }
    self->risk[self->risk_count++] = *rule;
    return RR_OK;
}

const rr_risk_rule *
wrk_catalog_risk_rules(const wrk_catalog *self, size_t *count)
{
    *count = self->risk_count;
    return self->risk;
}

const wrk_service *
wrk_catalog_service(const wrk_catalog *self, const char *code)
{
    service_entry *e = NULL;
    HASH_FIND_STR(self->services, code, e);
    return e ? &e->v : NULL;
}

const wrk_center *
wrk_catalog_center(const wrk_catalog *self, uint32_t code)
{
    center_entry *e = NULL;
    HASH_FIND(hh, self->centers, &code, sizeof code, e);
    return e ? &e->v : NULL;
}

const wrk_office *
wrk_catalog_office(const wrk_catalog *self, const char *code)
{
    office_entry *e = NULL;
    HASH_FIND_STR(self->offices, code, e);
    return e ? &e->v : NULL;
}

const wrk_office *
wrk_catalog_county_office(const wrk_catalog *self, const char *county)
{
    char code[16];
    int n = snprintf(code, sizeof code, "CO-%s", county);
    if (n < 0 || (size_t) n >= sizeof code) {
        return NULL;
    }
    return wrk_catalog_office(self, code);
}

size_t
wrk_catalog_rule_count(const wrk_catalog *self)
{
    return self->rule_count;
}

const wrk_rule *
wrk_catalog_rule_at(const wrk_catalog *self, size_t i)
{
    assert(i < self->rule_count);
    return &self->rules[i];
}

size_t
wrk_catalog_center_count(const wrk_catalog *self)
{
    return HASH_COUNT(self->centers);
}
