// Building SubmitRequests for referralctl: from a JSON object (one line of a
// JSON-lines file, with the proto's field names) and printing outcomes.
#ifndef TOOL_REQUEST_H
#define TOOL_REQUEST_H

#include "referral.pb-c.h"
#include "rr_status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

// Storage behind a SubmitRequest built by this module: the request's strings
// point into it. Release with tool_request_clear.
typedef struct tool_request {
    Rr__V1__SubmitRequest req;
    char request_id[40];
    char *strings[6]; // owned copies: national id, household, service, note, neighbourhood,
                      // finding id
    Rr__V1__RiskFlag risk_flags[16];
} tool_request;

// Fills out from a JSON object. request_id is generated when absent;
// "consent" defaults to true (see docs/PROTOCOL.md). RR_EINVAL with a
// message in why (cap bytes) for an unknown key, a wrong type or an
// unknown enum name. Clear out with tool_request_clear in every case.
RR_NODISCARD rr_status tool_request_from_json(json_t *obj, tool_request *out, char *why,
                                              size_t cap);

void tool_request_clear(tool_request *req);

// Prints one outcome line for a reply: text, or one JSON object when json.
void tool_request_print_reply(FILE *out, const Rr__V1__SubmitReply *reply, bool json);

#endif
