// Center-side commands of referralctl, over the client library.
#include "tool_submit.h"

#include "cli_center.h"
#include "tool_client.h"
#include "rr_config.h"
#include "rr_log.h"
#include "rr_uuid.h"
#include "rr_vocab.h"
#include "tool_request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Submits one request and prints its outcome. Returns 0 for accepted or
// duplicate, 1 otherwise.
static int
submit_one(cli_center *client, const Rr__V1__SubmitRequest *typed, long timeout_ms, int attempts,
           bool json)
{
    // A service code as a person may type it ("rhb-۰۲ ") is sent as the
    // code it names ("RHB-02"); what cannot be read is sent as typed, for
    // the broker's refusal to name.
    Rr__V1__SubmitRequest copy = *typed;
    const Rr__V1__SubmitRequest *req = &copy;
    char service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    copy.service_code = (char *) tool_code(typed->service_code, service, sizeof service);
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_submit(client, req, timeout_ms, attempts, &reply, &err);
    if (st != RR_OK) {
        if (json) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "request_id", req->request_id, "outcome",
                                  "unanswered", "error_code", rr_status_name(err.code), "error",
                                  err.message);
            char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (text != NULL) {
                printf("%s\n", text);
            }
            free(text);
            json_decref(o);
        } else {
            printf("%s unanswered %s: %s\n", req->request_id, rr_status_name(err.code),
                   err.message);
        }
        return 1;
    }
    tool_request_print_reply(stdout, reply, json);
    int rc = (reply->outcome == RR__V1__OUTCOME__OUTCOME_ACCEPTED ||
              reply->outcome == RR__V1__OUTCOME__OUTCOME_DUPLICATE)
                 ? 0
                 : 1;
    rr_wire_free(reply);
    return rc;
}

static int
submit_file(cli_center *client, const char *path, long timeout_ms, int attempts, bool json)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "could not open \"%s\"\n", path);
        return 2;
    }
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len == 0 || line[0] == '\n' || line[0] == '#') {
            continue;
        }
        json_error_t jerr;
        json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        tool_request tr;
        char why[200] = "";
        rr_status st = obj ? tool_request_from_json(obj, &tr, why, sizeof why) : RR_EINVAL;
        if (obj == NULL) {
            int n = snprintf(why, sizeof why, "invalid JSON: %s", jerr.text);
            (void) n;
            memset(&tr, 0, sizeof tr);
        }
        if (st != RR_OK) {
            printf("line %ld rejected EINVAL: %s\n", lineno, why);
            rc = 1;
        } else if (submit_one(client, &tr.req, timeout_ms, attempts, json) != 0) {
            rc = 1;
        }
        tool_request_clear(&tr);
        json_decref(obj);
    }
    free(line);
    if (f != stdin) {
        (void) fclose(f); // read only: nothing to lose
    }
    return rc;
}

int
tool_submit_main(int argc, char **argv)
{
    const char *key_file = NULL, *broker_key = NULL;
    const char *brokers, *file, *request_id, *national_id, *household, *service, *priority, *risks,
        *note, *domain, *neighbourhood, *finding;
    long center = 0, timeout_ms = 0, attempts = 0;
    bool no_consent = false, json = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated, tried in turn", &brokers, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"file", RR_OPT_STRING, NULL, "", "JSON-lines file of requests (- for stdin)", &file, 0, 0},
        {"request-id", RR_OPT_STRING, NULL, "", "UUID idempotency key (generated when absent)",
         &request_id, 0, 0},
        {"center", RR_OPT_INT, NULL, "0", "submitting center code", &center, 0, 4294967295L},
        {"national-id", RR_OPT_STRING, NULL, "", "client's national id", &national_id, 0, 0},
        {"household", RR_OPT_STRING, NULL, "", "household file id", &household, 0, 0},
        {"service", RR_OPT_STRING, NULL, "", "service code, e.g. RHB-02", &service, 0, 0},
        {"priority", RR_OPT_STRING, NULL, "routine", "routine, urgent, asap or stat", &priority, 0,
         0},
        {"risk", RR_OPT_STRING, NULL, "", "risk flags, comma-separated", &risks, 0, 0},
        {"note", RR_OPT_STRING, NULL, "", "free text for the office", &note, 0, 0},
        {"neighbourhood", RR_OPT_STRING, NULL, "",
         "the household's neighbourhood, by name, in the center's county (optional)",
         &neighbourhood, 0, 0},
        {"finding", RR_OPT_STRING, NULL, "",
         "the finding this referral answers (optional; referralctl findings)", &finding, 0, 0},
        {"domain", RR_OPT_STRING, NULL, "", "domain (default: from the service code)", &domain, 0,
         0},
        {"no-consent", RR_OPT_FLAG, NULL, "0", "send consent=false (the broker will refuse it)",
         &no_consent, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "5", "attempts per request", &attempts, 1,
         100},
        {"json", RR_OPT_FLAG, NULL, "0", "print one JSON object per outcome", &json, 0, 0},
    };
    rr_status st = rr_config_parse(
        "referralctl submit",
        "referralctl submit: submit one request from flags, or many from --file (JSON lines)", opts,
        (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    cli_center *client = tool_client_open(brokers, key_file, broker_key);
    if (client == NULL) {
        return 2;
    }
    int rc;
    if (file[0] != '\0') {
        rc = submit_file(client, file, timeout_ms, (int) attempts, json);
    } else {
        Rr__V1__SubmitRequest req = RR__V1__SUBMIT_REQUEST__INIT;
        char rid[40];
        if (request_id[0] == '\0') {
            rr_uuid_generate(rid);
        } else {
            int n = snprintf(rid, sizeof rid, "%s", request_id);
            (void) n;
        }
        Rr__V1__RiskFlag flags[16];
        char *rcopy = strdup(risks);
        char *save = NULL;
        rc = 0;
        for (char *tok = rcopy ? strtok_r(rcopy, ",", &save) : NULL; tok && req.n_risk_flags < 16;
             tok = strtok_r(NULL, ",", &save)) {
            int fl = rr_risk_flag_parse(tok);
            if (fl == 0) {
                fprintf(stderr, "unrecognized risk flag \"%s\"\n", tok);
                rc = 2;
            }
            flags[req.n_risk_flags++] = (Rr__V1__RiskFlag) fl;
        }
        free(rcopy);
        rr_priority p = rr_priority_parse(priority);
        if (p == RR_PRIORITY_NONE) {
            fprintf(stderr, "invalid --priority \"%s\"\n", priority);
            rc = 2;
        }
        if (rc == 0) {
            req.request_id = rid;
            req.center_code = (uint32_t) center;
            req.national_id = (char *) national_id;
            req.household_id = (char *) household;
            req.service_code = (char *) service;
            req.priority = (Rr__V1__Priority) p;
            req.risk_flags = flags;
            req.note = (char *) note;
            req.neighbourhood = (char *) neighbourhood;
            req.finding_id = (char *) finding;
            req.consent = !no_consent;
            req.domain = (Rr__V1__Domain) rr_domain_parse(domain);
            rc = submit_one(client, &req, timeout_ms, (int) attempts, json);
        }
    }
    cli_center_destroy(&client);
    return rc;
}

static void
print_time(const char *label, int64_t ms)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    char buf[32] = "";
    if (gmtime_r(&t, &tm) != NULL) {
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        (void) n;
    }
    printf("%-10s %s\n", label, buf);
}

int
tool_status_main(int argc, char **argv)
{
    const char *brokers = NULL, *key_file = NULL, *broker_key = NULL, *office = NULL;
    long center = 0, timeout_ms = 0, attempts = 0;
    int first = 0;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated", &brokers, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"center", RR_OPT_INT, NULL, "0", "asking center (0: operator, sees every referral)",
         &center, 0, 4294967295L},
        {"office", RR_OPT_STRING, NULL, "",
         "asking office, e.g. CO-2301: what it owns or owned (instead of --center)", &office, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "attempts", &attempts, 1, 100},
    };
    rr_status st = rr_config_parse("referralctl status",
                                   "referralctl status REQUEST_ID|REFERRAL_ID: a referral and its "
                                   "history",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    if (first != argc - 1) {
        fprintf(stderr, "usage: referralctl status [options] REQUEST_ID|REFERRAL_ID\n");
        return 2;
    }
    const char *key = argv[first];
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    char qid[40];
    rr_uuid_generate(qid);
    q.query_id = qid;
    q.center_code = (uint32_t) center;
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1];
    q.office_code = (char *) tool_code(office, office_code, sizeof office_code);
    if (rr_uuid_is_valid(key)) {
        q.key_case = RR__V1__STATUS_QUERY__KEY_REQUEST_ID;
        q.request_id = (char *) key;
    } else {
        q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
        q.referral_id = (char *) key;
    }
    cli_center *client = tool_client_open(brokers, key_file, broker_key);
    if (client == NULL) {
        return 2;
    }
    Rr__V1__StatusReply *reply = NULL;
    rr_wire_error err = {0};
    st = cli_center_status(client, &q, timeout_ms, (int) attempts, &reply, &err);
    int rc = 1;
    if (st != RR_OK) {
        fprintf(stderr, "%s: %s\n", rr_status_name(err.code), err.message);
    } else if (reply->status != RR__V1__STATUS__STATUS_OK || reply->referral == NULL) {
        fprintf(stderr, "%s: %s\n", rr_status_name((int) reply->status),
                reply->error ? reply->error->message : "no referral");
    } else {
        const Rr__V1__Referral *r = reply->referral;
        printf("%-10s %s\n%-10s %s\n%-10s %u\n%-10s %s\n%-10s %s (%s)\n%-10s %s\n%-10s %s\n"
               "%-10s %s %s (%s)\n%-10s %u\n",
               "referral", r->referral_id, "request", r->request_id, "center", r->center_code,
               "household", r->household_id, "service", r->service_code,
               rr_domain_name(r->domain) ? rr_domain_name(r->domain) : "?", "priority",
               rr_priority_name(r->priority) ? rr_priority_name(r->priority) : "?", "status",
               rr_ref_state_name(r->status) ? rr_ref_state_name(r->status) : "?", "office",
               r->office_code, r->office_name, r->office_name_fa, "version", r->version);
        print_time("created", r->created_at_ms);
        print_time("updated", r->updated_at_ms);
        printf("history:\n");
        for (size_t i = 0; i < reply->n_events; i++) {
            const Rr__V1__Event *e = reply->events[i];
            time_t t = (time_t) (e->at_ms / 1000);
            struct tm tm;
            char when[32] = "";
            if (gmtime_r(&t, &tm) != NULL) {
                size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
                (void) n;
            }
            printf("  #%llu %s %s -> %s by %s%s%s\n", (unsigned long long) e->event_id, when,
                   e->from_status == 0                 ? "(new)"
                   : rr_ref_state_name(e->from_status) ? rr_ref_state_name(e->from_status)
                                                       : "?",
                   rr_ref_state_name(e->to_status) ? rr_ref_state_name(e->to_status) : "?",
                   e->actor, e->reason[0] ? ": " : "", e->reason);
        }
        rc = 0;
    }
    if (reply != NULL) {
        rr_wire_free(reply);
    }
    cli_center_destroy(&client);
    return rc;
}
