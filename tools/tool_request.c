// JSON -> SubmitRequest with jansson, and outcome lines.
#include "tool_request.h"

#include "rr_status.h"
#include "rr_uuid.h"
#include "rr_vocab.h"

#include <stdlib.h>
#include <string.h>

// Writes `field "KEY" REASON` into why.
static rr_status
fail(char *why, size_t cap, const char *key, const char *reason)
{
    int n = snprintf(why, cap, "field \"%s\" %s", key, reason);
    (void) n;
    return RR_EINVAL;
}

static rr_status
take_string(json_t *value, const char *key, char **dst, char *why, size_t cap)
{
    if (!json_is_string(value)) {
        return fail(why, cap, key, "must be a string");
    }
    *dst = strdup(json_string_value(value));
    return *dst ? RR_OK : fail(why, cap, key, "could not be copied: out of memory");
}

rr_status
tool_request_from_json(json_t *obj, tool_request *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    rr__v1__submit_request__init(&out->req);
    out->req.consent = true;
    out->req.request_id = out->request_id;
    out->req.national_id = out->req.household_id = out->req.service_code = out->req.note = "";
    if (!json_is_object(obj)) {
        int n = snprintf(why, cap, "each line must be a JSON object");
        (void) n;
        return RR_EINVAL;
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        rr_status st = RR_OK;
        if (strcmp(key, "request_id") == 0) {
            if (!json_is_string(value) ||
                strlen(json_string_value(value)) >= sizeof out->request_id) {
                return fail(why, cap, key, "must be a UUID string");
            }
            memcpy(out->request_id, json_string_value(value), strlen(json_string_value(value)) + 1);
        } else if (strcmp(key, "center_code") == 0) {
            if (!json_is_integer(value) || json_integer_value(value) <= 0 ||
                json_integer_value(value) > (json_int_t) UINT32_MAX) {
                return fail(why, cap, key, "must be a positive integer");
            }
            out->req.center_code = (uint32_t) json_integer_value(value);
        } else if (strcmp(key, "national_id") == 0) {
            st = take_string(value, key, &out->strings[0], why, cap);
            out->req.national_id = out->strings[0];
        } else if (strcmp(key, "household_id") == 0) {
            st = take_string(value, key, &out->strings[1], why, cap);
            out->req.household_id = out->strings[1];
        } else if (strcmp(key, "service_code") == 0) {
            st = take_string(value, key, &out->strings[2], why, cap);
            out->req.service_code = out->strings[2];
        } else if (strcmp(key, "note") == 0) {
            st = take_string(value, key, &out->strings[3], why, cap);
            out->req.note = out->strings[3];
        } else if (strcmp(key, "neighbourhood") == 0) {
            st = take_string(value, key, &out->strings[4], why, cap);
            out->req.neighbourhood = out->strings[4];
        } else if (strcmp(key, "finding_id") == 0) {
            st = take_string(value, key, &out->strings[5], why, cap);
            out->req.finding_id = out->strings[5];
        } else if (strcmp(key, "priority") == 0) {
            rr_priority p = json_is_string(value) ? rr_priority_parse(json_string_value(value))
                                                  : RR_PRIORITY_NONE;
            if (p == RR_PRIORITY_NONE) {
                return fail(why, cap, key, "must be one of routine, urgent, asap, stat");
            }
            out->req.priority = (Rr__V1__Priority) p;
        } else if (strcmp(key, "domain") == 0) {
            rr_domain d =
                json_is_string(value) ? rr_domain_parse(json_string_value(value)) : RR_DOMAIN_NONE;
            if (d == RR_DOMAIN_NONE) {
                return fail(why, cap, key, "must be one of prevention, rehabilitation, social");
            }
            out->req.domain = (Rr__V1__Domain) d;
        } else if (strcmp(key, "consent") == 0) {
            if (!json_is_boolean(value)) {
                return fail(why, cap, key, "must be true or false");
            }
            out->req.consent = json_is_true(value);
        } else if (strcmp(key, "risk_flags") == 0) {
            if (!json_is_array(value) ||
                json_array_size(value) > sizeof out->risk_flags / sizeof out->risk_flags[0]) {
                return fail(why, cap, key, "must be an array of at most 16 names");
            }
            size_t i;
            json_t *item;
            json_array_foreach(value, i, item)
            {
                int f = json_is_string(item) ? rr_risk_flag_parse(json_string_value(item)) : 0;
                if (f == 0) {
                    return fail(why, cap, key, "holds an unrecognized risk flag");
                }
                out->risk_flags[i] = (Rr__V1__RiskFlag) f;
            }
            out->req.n_risk_flags = json_array_size(value);
            out->req.risk_flags = out->risk_flags;
        } else {
            int n = snprintf(why, cap, "unrecognized field \"%s\"", key);
            (void) n;
            return RR_EINVAL;
        }
        if (st != RR_OK) {
            return st;
        }
    }
    if (out->request_id[0] == '\0') {
        rr_uuid_generate(out->request_id);
    }
    return RR_OK;
}

void
tool_request_clear(tool_request *req)
{
    for (size_t i = 0; i < sizeof req->strings / sizeof req->strings[0]; i++) {
        free(req->strings[i]);
        req->strings[i] = NULL;
    }
}

static const char *
outcome_name(Rr__V1__Outcome o)
{
    switch (o) {
    case RR__V1__OUTCOME__OUTCOME_ACCEPTED:
        return "accepted";
    case RR__V1__OUTCOME__OUTCOME_DUPLICATE:
        return "duplicate";
    case RR__V1__OUTCOME__OUTCOME_REJECTED:
        return "rejected";
    case RR__V1__OUTCOME__OUTCOME_BUSY:
        return "busy";
    default:
        return "unknown";
    }
}

void
tool_request_print_reply(FILE *out, const Rr__V1__SubmitReply *reply, bool json)
{
    const char *outcome = outcome_name(reply->outcome);
    const Rr__V1__Error *e = reply->error;
    if (json) {
        json_t *o = json_pack("{s:s, s:s}", "request_id", reply->request_id, "outcome", outcome);
        if (o == NULL) {
            return;
        }
        if (reply->referral_id[0] != '\0') {
            json_object_set_new(o, "referral_id", json_string(reply->referral_id));
            json_object_set_new(
                o, "domain",
                json_string(rr_domain_name(reply->domain) ? rr_domain_name(reply->domain) : ""));
            json_object_set_new(o, "office_code", json_string(reply->office_code));
            json_object_set_new(o, "office_name", json_string(reply->office_name));
            json_object_set_new(o, "office_name_fa", json_string(reply->office_name_fa));
            json_object_set_new(o, "shared_file", json_boolean(reply->shared_file));
        }
        if (e != NULL) {
            json_object_set_new(o, "error_code", json_string(rr_status_name((int) e->code)));
            json_object_set_new(o, "error_field", json_string(e->field));
            json_object_set_new(o, "error", json_string(e->message));
        }
        if (reply->retry_after_ms) {
            json_object_set_new(o, "retry_after_ms", json_integer(reply->retry_after_ms));
        }
        char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (text != NULL) {
            fprintf(out, "%s\n", text);
            free(text);
        }
        json_decref(o);
        return;
    }
    if (reply->outcome == RR__V1__OUTCOME__OUTCOME_ACCEPTED ||
        reply->outcome == RR__V1__OUTCOME__OUTCOME_DUPLICATE) {
        fprintf(out, "%s %s %s -> %s %s (%s)%s\n", reply->request_id, outcome, reply->referral_id,
                reply->office_code, reply->office_name, reply->office_name_fa,
                reply->shared_file ? "; shared: this center may read and follow it" : "");
    } else {
        fprintf(out, "%s %s %s%s%s: %s\n", reply->request_id, outcome,
                e ? rr_status_name((int) e->code) : "", e && e->field[0] ? " " : "",
                e ? e->field : "", e ? e->message : "");
    }
}
