// Lifecycle commands of referralctl, over the client library.
#include "tool_follow.h"

#include "cli_center.h"
#include "tool_client.h"
#include "rr_config.h"
#include "rr_uuid.h"
#include "rr_vocab.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
utc(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    out[0] = '\0';
    if (gmtime_r(&t, &tm) != NULL) {
        size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
        (void) n;
    }
}

static const char *
state_or(int state, const char *fallback)
{
    const char *name = rr_ref_state_name(state);
    return name ? name : fallback;
}

int
tool_update_main(int argc, char **argv)
{
    const char *key_file = NULL, *broker_key = NULL;
    const char *broker = NULL, *to = NULL, *office = NULL, *reason = NULL, *forward = NULL,
               *domain = NULL, *update_id = NULL;
    long center = 0, version = 0, timeout_ms = 0, attempts = 0;
    int first = 0;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated", &broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"to", RR_OPT_STRING, NULL, "",
         "the new status: received, accepted, rejected, "
         "in-progress, on-hold, completed, failed, cancelled, or requested with --forward-to",
         &to, 0, 0},
        {"by", RR_OPT_STRING, NULL, "", "the acting office, e.g. CO-2301", &office, 0, 0},
        {"center", RR_OPT_INT, NULL, "0", "the acting center (it may only cancel its own)", &center,
         0, 4294967295L},
        {"reason", RR_OPT_STRING, NULL, "",
         "why (required to reject, fail, complete, cancel, "
         "forward)",
         &reason, 0, 0},
        {"forward-to", RR_OPT_STRING, NULL, "", "the new owner office of a forward", &forward, 0,
         0},
        {"version", RR_OPT_INT, NULL, "0",
         "the version you last saw (0: read the current one first)", &version, 0, 4294967295L},
        {"domain", RR_OPT_STRING, NULL, "", "the referral's domain (read it when absent)", &domain,
         0, 0},
        {"update-id", RR_OPT_STRING, NULL, "", "UUID idempotency key (generated when absent)",
         &update_id, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "5", "attempts", &attempts, 1, 100},
    };
    rr_status st = rr_config_parse(
        "referralctl update",
        "referralctl update REFERRAL --to STATUS --by OFFICE|--center C: change a referral's "
        "status",
        opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    rr_ref_state target = rr_ref_state_parse(to);
    if (first != argc - 1 || target == RR_REF_NONE || (office[0] != '\0') == (center != 0)) {
        fprintf(stderr, "usage: referralctl update REFERRAL --to STATUS (--by OFFICE | --center "
                        "C) [--reason TEXT] [--forward-to OFFICE]\n");
        return 2;
    }
    const char *referral = argv[first];
    // Office codes as a person types them ("co-۲۳۰۱") are sent as the codes
    // they name ("CO-2301"); what cannot be read goes as typed, for the
    // broker's refusal to name.
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1], forward_code[RR_WIRE_MAX_OFFICE_BYTES + 1];
    office = tool_code(office, office_code, sizeof office_code);
    forward = tool_code(forward, forward_code, sizeof forward_code);
    cli_center *client = tool_client_open(broker, key_file, broker_key);
    if (client == NULL) {
        return 2;
    }
    int rc = 1;
    rr_domain dom = rr_domain_parse(domain);
    if (version == 0 || dom == RR_DOMAIN_NONE) {
        // Read the referral as it is: its domain, and the version to change.
        Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
        char qid[40];
        rr_uuid_generate(qid);
        q.query_id = qid;
        q.center_code = (uint32_t) center;
        q.office_code = (char *) office; // an office reads what it owns, with its own key
        q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
        q.referral_id = (char *) referral;
        Rr__V1__StatusReply *sr = NULL;
        rr_wire_error err = {0};
        if (cli_center_status(client, &q, timeout_ms, (int) attempts, &sr, &err) != RR_OK ||
            sr->status != RR__V1__STATUS__STATUS_OK || sr->referral == NULL) {
            fprintf(stderr, "%s: %s\n", rr_status_name(sr ? (int) sr->status : (int) err.code),
                    sr && sr->error ? sr->error->message : err.message);
            if (sr != NULL) {
                rr_wire_free(sr);
            }
            cli_center_destroy(&client);
            return 1;
        }
        if (dom == RR_DOMAIN_NONE) {
            dom = (rr_domain) sr->referral->domain;
        }
        if (version == 0) {
            version = sr->referral->version;
        }
        rr_wire_free(sr);
    }
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    if (update_id[0] != '\0') {
        int n = snprintf(uid, sizeof uid, "%s", update_id);
        (void) n;
    } else {
        rr_uuid_generate(uid);
    }
    u.update_id = uid;
    u.referral_id = (char *) referral;
    u.domain = (Rr__V1__Domain) dom;
    u.to_status = (Rr__V1__ReferralStatus) target;
    u.office_code = (char *) office;
    u.center_code = (uint32_t) center;
    u.expected_version = (uint32_t) version;
    u.reason = (char *) reason;
    u.forward_to = (char *) forward;
    Rr__V1__UpdateReply *reply = NULL;
    rr_wire_error err = {0};
    st = cli_center_update(client, &u, timeout_ms, (int) attempts, &reply, &err);
    if (st != RR_OK) {
        fprintf(stderr, "%s: %s\n", rr_status_name(err.code), err.message);
    } else if (reply->status != RR__V1__STATUS__STATUS_OK) {
        fprintf(stderr, "%s %s: %s\n", rr_status_name((int) reply->status),
                reply->error ? reply->error->field : "",
                reply->error ? reply->error->message : "refused");
    } else {
        const Rr__V1__Referral *r = reply->referral;
        printf("%s %s, owner %s, version %u (event #%llu)\n", referral,
               r ? state_or(r->status, "?") : to, r ? r->office_code : "?", r ? r->version : 0,
               (unsigned long long) reply->event_id);
        rc = 0;
    }
    if (reply != NULL) {
        rr_wire_free(reply);
    }
    cli_center_destroy(&client);
    return rc;
}

static void
print_event(const Rr__V1__Event *e, bool json)
{
    char when[32];
    utc(e->at_ms, when, sizeof when);
    if (json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t) e->seq,
            "event_id", (json_int_t) e->event_id, "referral_id", e->referral_id, "request_id",
            e->request_id, "service_code", e->service_code, "kind", e->kind, "from",
            e->from_status ? state_or(e->from_status, "") : "", "to", state_or(e->to_status, ""),
            "actor", e->actor, "office_code", e->office_code, "at", when);
        if (o != NULL) {
            json_object_set_new(o, "reason", json_string(e->reason));
            char *text = json_dumps(o, JSON_COMPACT);
            if (text != NULL) {
                printf("%s\n", text);
            }
            free(text);
            json_decref(o);
        }
        return;
    }
    printf("%llu %s %s %s %s -> %s by %s, owner %s, %s%s%s\n", (unsigned long long) e->seq, when,
           e->referral_id, e->kind, e->from_status ? state_or(e->from_status, "?") : "(new)",
           state_or(e->to_status, "?"), e->actor, e->office_code, e->service_code,
           e->reason[0] ? ": " : "", e->reason);
}

int
tool_follow_main(int argc, char **argv)
{
    const char *broker = NULL, *after_text = NULL, *key_file = NULL, *broker_key = NULL,
               *office = NULL;
    long center = 0, limit = 0, poll_ms = 0, timeout_ms = 0, attempts = 0;
    bool once = false, json = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated", &broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"center", RR_OPT_INT, NULL, "0", "the center whose referrals to follow", &center, 0,
         4294967295L},
        {"office", RR_OPT_STRING, NULL, "",
         "or the office whose work to follow, e.g. CO-2301: arrivals, changes, moves away", &office,
         0, 0},
        {"after", RR_OPT_STRING, NULL, "0", "cursor: the last seq already seen", &after_text, 0, 0},
        {"limit", RR_OPT_INT, NULL, "100", "changes per page", &limit, 1, 1000},
        {"poll-ms", RR_OPT_INT, NULL, "1000", "wait between polls once caught up, ms", &poll_ms, 10,
         3600000},
        {"once", RR_OPT_FLAG, NULL, "0", "stop once caught up instead of following", &once, 0, 0},
        {"json", RR_OPT_FLAG, NULL, "0", "one JSON object per change", &json, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "5", "attempts per page", &attempts, 1, 100},
    };
    rr_status st = rr_config_parse("referralctl follow",
                                   "referralctl follow --center C|--office O [--after N]: print "
                                   "every change to the center's referrals or the office's work, "
                                   "then keep following",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long after = strtoull(after_text, &end, 10);
    bool bad_after = errno != 0 || end == after_text || *end != '\0';
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1];
    office = tool_code(office, office_code, sizeof office_code);
    if ((center == 0) == (office[0] == '\0') || bad_after) {
        fprintf(stderr, "usage: referralctl follow --center C|--office O [--after N] [--once]\n");
        return 2;
    }
    cli_center *client = tool_client_open(broker, key_file, broker_key);
    if (client == NULL) {
        return 2;
    }
    int rc = 0;
    for (;;) {
        Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
        char qid[40];
        rr_uuid_generate(qid);
        f.query_id = qid;
        f.center_code = (uint32_t) center;
        f.office_code = (char *) office;
        f.after_seq = after;
        f.limit = (uint32_t) limit;
        Rr__V1__FollowReply *reply = NULL;
        rr_wire_error err = {0};
        st = cli_center_follow(client, &f, timeout_ms, (int) attempts, &reply, &err);
        if (st != RR_OK || reply->status != RR__V1__STATUS__STATUS_OK) {
            fprintf(stderr, "%s: %s\n",
                    rr_status_name(st != RR_OK ? (int) err.code : (int) reply->status),
                    st != RR_OK    ? err.message
                    : reply->error ? reply->error->message
                                   : "refused");
            if (reply != NULL) {
                rr_wire_free(reply);
            }
            rc = 1;
            break;
        }
        for (size_t i = 0; i < reply->n_events; i++) {
            print_event(reply->events[i], json);
        }
        fflush(stdout);
        after = reply->last_seq;
        bool more = reply->has_more;
        rr_wire_free(reply);
        if (more) {
            continue;
        }
        if (once) {
            fprintf(stderr, "caught up: next cursor %llu\n", after);
            break;
        }
        struct timespec ts = {poll_ms / 1000, (poll_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    cli_center_destroy(&client);
    return rc;
}
