// Decode-side checks that need the catalogue (the service exists, is active
// and belongs to this worker's domain; the center is known), who may act,
// and referral ids. Pure.
#ifndef WRK_VALIDATE_H
#define WRK_VALIDATE_H

#include "referral.pb-c.h"
#include "rr_natid.h"
#include "rr_wire.h"
#include "wrk_catalog.h"

typedef struct wrk_submit_facts {
    const wrk_service *service; // borrowed from the catalogue
    const wrk_center *center;   // borrowed from the catalogue
    char natid[RR_NATID_LEN + 1];
    char household[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1]; // canonical (rr_text_canon)
    rr_priority priority;                            // unspecified resolved to routine
    int neighbourhood_id; // the request's neighbourhood in the center's county; 0: none named
} wrk_submit_facts;

// The service a request names, as a submission checks it: RR_ENOTFOUND for
// an unknown one, RR_ESTATE for one withdrawn from the catalogue (err says
// so in the words a center gets); RR_OK sets *out (borrowed).
RR_NODISCARD rr_status wrk_validate_service(const wrk_catalog *catalog, const char *code,
                                            const wrk_service **out, rr_wire_error *err);

// The center a request comes from, as a submission checks it: RR_ENOTFOUND
// for an unknown one, RR_ESTATE for an inactive one; RR_OK sets *out.
RR_NODISCARD rr_status wrk_validate_center(const wrk_catalog *catalog, uint32_t code,
                                           const wrk_center **out, rr_wire_error *err);

// The domain the broker queued a submission under: its domain field, else
// its service code's prefix (RR_DOMAIN_NONE when neither names one).
rr_domain wrk_request_domain(const Rr__V1__SubmitRequest *req);

// Checks req for a worker of domain (RR_DOMAIN_NONE: a worker of every
// domain, checking against wrk_request_domain). RR_OK fills out. Otherwise err names
// the field and the reason: RR_EINVAL/RR_ETOOBIG for a malformed field,
// RR_ENOTFOUND for an unknown service or center, or a neighbourhood the
// center's county does not have (the caller may reload the catalogue once
// and ask again), RR_ESTATE for an inactive one.
RR_NODISCARD rr_status wrk_validate_submit(const wrk_catalog *catalog, rr_domain domain,
                                           const Rr__V1__SubmitRequest *req, wrk_submit_facts *out,
                                           rr_wire_error *err);

// The neighbourhood a submission names (name: as sent, "" or NULL for none)
// among center's county's, compared canonically (rr_text_canon). RR_OK sets
// *id (0 for none named); RR_ENOTFOUND names field "neighbourhood".
RR_NODISCARD rr_status wrk_validate_neighbourhood(const wrk_catalog *catalog,
                                                  const wrk_center *center, const char *name,
                                                  int *id, rr_wire_error *err);

// What a request asks to do, for wrk_validate_actor.
typedef enum wrk_action {
    WRK_ACTION_READ,   // STATUS, FOLLOW, INBOX
    WRK_ACTION_CHANGE, // UPDATE
    WRK_ACTION_SUBMIT, // SUBMIT
} wrk_action;

// Checks that the sender the broker authenticated may act as the request's
// sender: principal "center:N" for center_code N (office_code empty),
// "office:X" for office_code X. An operator ("operator:<name>") reads
// anything, as any center or office or neither (center_code 0), changes
// nothing, and submits only to retry a dead letter (RR_OK here: the store
// checks that the request is one, wrk_store_retry). An empty principal
// means the broker runs without authentication (--insecure): anything
// goes. RR_EPERM otherwise, with err saying whose key it is.
RR_NODISCARD rr_status wrk_validate_actor(const char *principal, wrk_action action,
                                          uint32_t center_code, const char *office_code,
                                          rr_wire_error *err);

// True for an operator's principal.
bool wrk_is_operator(const char *principal);

// Room for a referral id's text, "R-<digits>".
#define WRK_REFERRAL_ID_CAP (RR_WIRE_MAX_REFERRAL_BYTES + 1)

// Parses a referral id "R-<digits>" into a positive number; false for
// anything else (no sign, no spaces, no trailing characters, no overflow).
bool wrk_referral_id_parse(const char *text, int64_t *id);

// Formats id as "R-<id>" into out.
void wrk_referral_id_format(int64_t id, char out[WRK_REFERRAL_ID_CAP]);

#endif
