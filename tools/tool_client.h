// The broker connection of referralctl's center and office commands:
// endpoints and, when the broker authenticates, the CURVE keys.
#ifndef TOOL_CLIENT_H
#define TOOL_CLIENT_H

#include "cli_center.h"

#include <stdbool.h>

// The rr_opt entries every command that talks to the broker takes.
#define TOOL_CURVE_OPTS(key_file, broker_key)                                                      \
    {"curve-key-file",                                                                             \
     RR_OPT_STRING,                                                                                \
     "REFERRAL_CURVE_KEY_FILE",                                                                    \
     "",                                                                                           \
     "our CURVE key file, with its secret key (referralctl keys generate); empty for a "           \
     "broker run with --insecure",                                                                 \
     (key_file),                                                                                   \
     0,                                                                                            \
     0},                                                                                           \
    {                                                                                              \
        "broker-key", RR_OPT_STRING, "REFERRAL_BROKER_KEY", "",                                    \
            "the broker's public key: its Z85 text or a key file", (broker_key), 0, 0              \
    }

// A client for the comma-separated endpoint list brokers, authenticating
// with key_file and broker_key when given. NULL (the reason printed on
// stderr) on failure. Caller frees with cli_center_destroy.
cli_center *tool_client_open(const char *brokers, const char *key_file, const char *broker_key);

// Prints the refusal of a center's record (DONATE, RATE) named id on
// stdout, "ID CODE message" when the call failed (st, err) or "ID CODE
// field: message" when the reply's status is an error, and returns true;
// false (nothing printed) when status is OK, for the caller to print.
bool tool_client_refused(const char *id, rr_status st, const rr_wire_error *err, int status,
                         const Rr__V1__Error *error);

// A code as a person types it ("co-۲۳۰۱ ", "rhb-02") as the code it names
// ("CO-2301", "RHB-02"), written into buf (cap bytes); typed itself when
// empty, NULL or not readable as a code, for the broker's refusal to name.
const char *tool_code(const char *typed, char *buf, size_t cap);

#endif
