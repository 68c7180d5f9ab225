// Principals: who holds a key, and who acts in a referral's history. The
// one place that knows their text form:
//
//   center:<code>    a Positive Life center, code 1..RR_CENTER_CODE_MAX ("center:941")
//   office:<code>    a welfare office ("office:CO-2301", "office:PO-11")
//   worker:<domain>  a worker pool's key: prevention, rehabilitation,
//                    social, or "any" (serves every domain)
//   operator:<name>  a person running the service ("operator:maryam"): a
//                    name of 1..14 lower-case letters, digits, '.', '_' or
//                    '-', starting with a letter or digit
//
// at most RR_PRINCIPAL_MAX bytes. Events name their actor the same way
// ("center:941", "office:CO-2301", "operator:maryam"), or "system".
#ifndef RR_PRINCIPAL_H
#define RR_PRINCIPAL_H

#include "rr_vocab.h"

#include <stdbool.h>
#include <stdint.h>

#define RR_PRINCIPAL_MAX   23         // "worker:rehabilitation" is 21
#define RR_CENTER_CODE_MAX 2147483647 // center.code is a PostgreSQL integer

typedef enum rr_principal_kind {
    RR_PRINCIPAL_NONE = 0, // not a principal (parse failed, or none given)
    RR_PRINCIPAL_CENTER,
    RR_PRINCIPAL_OFFICE,
    RR_PRINCIPAL_WORKER,
    RR_PRINCIPAL_OPERATOR, // reads anything; changes nothing as a center or office
} rr_principal_kind;

typedef struct rr_principal {
    rr_principal_kind kind;
    uint32_t center;                 // RR_PRINCIPAL_CENTER
    char code[RR_PRINCIPAL_MAX + 1]; // the text after the colon: "941", "CO-2301", "any"
    rr_domain domain;                // RR_PRINCIPAL_WORKER: its domain, RR_DOMAIN_NONE for "any"
} rr_principal;

// Parses and checks text. False (out->kind RR_PRINCIPAL_NONE) for NULL, ""
// and anything that is not one of the four forms above.
bool rr_principal_parse(const char *text, rr_principal *out);

// True when text parses.
bool rr_principal_valid(const char *text);

// The text of a center's or an office's principal into out. False (out "")
// when the code makes no valid principal (center 0, a malformed office code).
bool rr_principal_of_center(uint32_t center_code, char out[RR_PRINCIPAL_MAX + 1]);
bool rr_principal_of_office(const char *office_code, char out[RR_PRINCIPAL_MAX + 1]);

// True when a worker principal may serve domain d ("any" serves all).
bool rr_principal_serves(const rr_principal *p, rr_domain d);

#endif
