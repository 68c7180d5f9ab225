// Submission checks against the catalogue, after the wire's field checks.
#include "wrk_validate.h"
#include "rr_format.h"
#include "rr_principal.h"
#include "rr_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Each refusal returns its code itself as well as through rr_wire_fail:
// the analyzer does not see into rr_wire_fail, and would otherwise follow
// a path where it returned RR_OK without *out set.
rr_status
wrk_validate_service(const wrk_catalog *catalog, const char *code, const wrk_service **out,
                     rr_wire_error *err)
{
    const wrk_service *service = wrk_catalog_service(catalog, code);
    if (service == NULL) {
        (void) rr_wire_fail(err, RR_ENOTFOUND, "service_code", "unrecognized service \"%s\"", code);
        return RR_ENOTFOUND;
    }
    if (!service->active) {
        (void) rr_wire_fail(err, RR_ESTATE, "service_code",
                            "cannot accept service \"%s\": it is withdrawn from the catalogue",
                            code);
        return RR_ESTATE;
    }
    *out = service;
    return RR_OK;
}

rr_status
wrk_validate_center(const wrk_catalog *catalog, uint32_t code, const wrk_center **out,
                    rr_wire_error *err)
{
    const wrk_center *center = wrk_catalog_center(catalog, code);
    if (center == NULL) {
        (void) rr_wire_fail(err, RR_ENOTFOUND, "center_code", "unrecognized center \"%u\"", code);
        return RR_ENOTFOUND;
    }
    if (!center->active) {
        (void) rr_wire_fail(err, RR_ESTATE, "center_code",
                            "cannot accept requests from center \"%u\": it is inactive", code);
        return RR_ESTATE;
    }
    *out = center;
    return RR_OK;
}

rr_domain
wrk_request_domain(const Rr__V1__SubmitRequest *req)
{
    return req->domain != 0 ? (rr_domain) req->domain
                            : rr_domain_of_service_code(req->service_code);
}

rr_status
wrk_validate_neighbourhood(const wrk_catalog *catalog, const wrk_center *center, const char *name,
                           int *id, rr_wire_error *err)
{
    *id = 0;
    if (name == NULL || name[0] == '\0') {
        return RR_OK;
    }
    // Canonical forms may grow (case folding): room for four times the limit.
    char key[4 * RR_WIRE_MAX_NEIGHBOURHOOD_BYTES + 1];
    size_t len = 0;
    if (rr_text_canon(name, strlen(name), key, sizeof key, &len, NULL) == RR_OK) {
        *id = wrk_catalog_neighbourhood(catalog, center->county, key);
    }
    if (*id == 0) {
        return rr_wire_fail(err, RR_ENOTFOUND, "neighbourhood",
                            "unrecognized neighbourhood \"%s\" in county \"%s\"", name,
                            center->county);
    }
    return RR_OK;
}

rr_status
wrk_validate_submit(const wrk_catalog *catalog, rr_domain domain, const Rr__V1__SubmitRequest *req,
                    wrk_submit_facts *out, rr_wire_error *err)
{
    rr_status st = rr_wire_submit_canon(req, out->natid, out->household, err);
    if (st != RR_OK) {
        return st;
    }
    const wrk_service *service = NULL;
    const wrk_center *center = NULL;
    if ((st = wrk_validate_service(catalog, req->service_code, &service, err)) != RR_OK) {
        return st;
    }
    if (domain == RR_DOMAIN_NONE) {
        // A worker of every domain: the one the broker queued it under.
        domain = wrk_request_domain(req);
    }
    if (service->domain != domain) {
        return rr_wire_fail(
            err, RR_EINVAL, "service_code", "service \"%s\" belongs to domain \"%s\", not \"%s\"",
            req->service_code, rr_domain_name(service->domain), rr_domain_or_any(domain));
    }
    if ((st = wrk_validate_center(catalog, req->center_code, &center, err)) != RR_OK) {
        return st;
    }
    out->service = service;
    out->center = center;
    out->priority = req->priority == 0 ? RR_PRIORITY_ROUTINE : (rr_priority) req->priority;
    return wrk_validate_neighbourhood(catalog, center, req->neighbourhood, &out->neighbourhood_id,
                                      err);
}

rr_status
wrk_validate_actor(const char *principal, wrk_action action, uint32_t center_code,
                   const char *office_code, rr_wire_error *err)
{
    if (principal == NULL || principal[0] == '\0') {
        return RR_OK;
    }
    bool as_office = office_code != NULL && office_code[0] != '\0';
    rr_principal who;
    if (rr_principal_parse(principal, &who)) {
        if (who.kind == RR_PRINCIPAL_OPERATOR && action != WRK_ACTION_CHANGE) {
            return RR_OK;
        }
        if (who.kind == RR_PRINCIPAL_OPERATOR) {
            return rr_wire_fail(err, RR_EPERM, as_office ? "office_code" : "center_code",
                                "cannot change a referral as %s: operators read and retry dead "
                                "letters; changes come from the owning office or the center",
                                principal);
        }
        if (who.kind == RR_PRINCIPAL_CENTER && !as_office && who.center == center_code) {
            return RR_OK;
        }
        if (who.kind == RR_PRINCIPAL_OFFICE && as_office && strcmp(who.code, office_code) == 0) {
            return RR_OK;
        }
    }
    if (as_office) {
        return rr_wire_fail(err, RR_EPERM, "office_code",
                            "cannot act for office \"%s\": this key belongs to %s", office_code,
                            principal);
    }
    return rr_wire_fail(err, RR_EPERM, "center_code",
                        "cannot act for center \"%u\": this key belongs to %s", center_code,
                        principal);
}

bool
wrk_is_operator(const char *principal)
{
    rr_principal who;
    return rr_principal_parse(principal, &who) && who.kind == RR_PRINCIPAL_OPERATOR;
}

bool
wrk_referral_id_parse(const char *text, int64_t *id)
{
    if (text == NULL || strncmp(text, "R-", 2) != 0 || text[2] < '0' || text[2] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text + 2, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0) {
        return false;
    }
    *id = v;
    return true;
}

void
wrk_referral_id_format(int64_t id, char out[WRK_REFERRAL_ID_CAP])
{
    rr_format_fits(out, WRK_REFERRAL_ID_CAP, "R-%lld", (long long) id); // 21 bytes at most
}
