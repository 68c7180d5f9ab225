#include "tool_client.h"

#include "rr_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENDPOINTS 16

cli_center *
tool_client_open(const char *brokers, const char *key_file, const char *broker_key)
{
    rr_curve_client curve;
    char why[512];
    if (rr_curve_client_load(key_file, broker_key, &curve, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return NULL;
    }
    char *copy = strdup(brokers);
    if (copy == NULL) {
        return NULL;
    }
    const char *eps[MAX_ENDPOINTS];
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_ENDPOINTS;
         tok = strtok_r(NULL, ",", &save)) {
        eps[n++] = tok;
    }
    cli_center *c = NULL;
    if (n == 0) {
        fprintf(stderr, "no broker endpoint given (--broker or REFERRAL_BROKER)\n");
    } else {
        c = cli_center_new(eps, n);
    }
    if (c != NULL && curve.on && cli_center_set_curve(c, &curve) != RR_OK) {
        cli_center_destroy(&c);
    }
    memset(&curve, 0, sizeof curve);
    free(copy);
    return c;
}

const char *
tool_code(const char *typed, char *buf, size_t cap)
{
    size_t len = 0;
    if (typed == NULL || typed[0] == '\0' ||
        rr_text_canon_code(typed, strlen(typed), buf, cap, &len, NULL) != RR_OK) {
        return typed;
    }
    return buf;
}

bool
tool_client_refused(const char *id, rr_status st, const rr_wire_error *err, int status,
                    const Rr__V1__Error *error)
{
    if (st != RR_OK) {
        printf("%s %s %s\n", id, rr_status_name((int) err->code), err->message);
        return true;
    }
    if (status != RR__V1__STATUS__STATUS_OK) {
        printf("%s %s %s: %s\n", id, rr_status_name(status), error ? error->field : "",
               error ? error->message : "");
        return true;
    }
    return false;
}
