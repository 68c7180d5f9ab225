// referralctl inbox: the referrals an office owns now, most urgent first,
// with its counts per state; every page, or one (--after, --limit).
#include "tool_inbox.h"

#include "cli_center.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_uuid.h"
#include "rr_vocab.h"
#include "tool_client.h"
#include "tool_db.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_PAGES = 10000 };

// Reads a comma-separated list of state names into q; false on a name
// that is none.
static bool
read_states(const char *list, Rr__V1__ReferralStatus *out, size_t *n)
{
    *n = 0;
    char buf[256];
    int w = snprintf(buf, sizeof buf, "%s", list);
    if (w < 0 || (size_t) w >= sizeof buf) {
        return false;
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        rr_ref_state st = rr_ref_state_parse(tok);
        if (st == RR_REF_NONE || *n >= RR_REF_STATE_MAX) {
            fprintf(stderr, "invalid state \"%s\" for --status\n", tok);
            return false;
        }
        out[(*n)++] = (Rr__V1__ReferralStatus) st;
    }
    return true;
}

static void
print_item(const Rr__V1__InboxItem *it, bool json)
{
    const Rr__V1__Referral *r = it->referral;
    char deadline[32] = "";
    if (it->accept_deadline_ms > 0) {
        time_t t = (time_t) (it->accept_deadline_ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL) {
            size_t n = strftime(deadline, sizeof deadline, "%Y-%m-%dT%H:%M:%SZ", &tm);
            deadline[n] = '\0';
        }
    }
    const char *priority = rr_priority_name((int) r->priority);
    const char *status = rr_ref_state_name((int) r->status);
    if (json) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:b}", "referral_id",
                      r->referral_id, "priority", priority ? priority : "", "status",
                      status ? status : "", "service", r->service_code, "center",
                      (json_int_t) r->center_code, "household", r->household_id, "version",
                      (json_int_t) r->version, "accept_deadline", deadline, "overdue", it->overdue);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        if (text != NULL) {
            printf("%s\n", text);
        }
        free(text);
        json_decref(o);
        return;
    }
    // Household ids may be Persian: padded by letters, not bytes.
    size_t width = tool_db_text_width(r->household_id);
    printf("%-10s %-8s %-11s %-7s %-6u %s%*s v%-3u %s%s\n", r->referral_id,
           priority ? priority : "?", status ? status : "?", r->service_code, r->center_code,
           r->household_id, width < 20 ? (int) (20 - width) : 0, "", r->version, deadline,
           it->overdue ? " OVERDUE" : "");
}

int
tool_inbox_main(int argc, char **argv)
{
    const char *broker = NULL, *key_file = NULL, *broker_key = NULL, *office = NULL,
               *statuses = NULL, *priority = NULL, *domain = NULL, *service = NULL, *after = NULL;
    long limit = 0, timeout_ms = 0, attempts = 0;
    bool overdue = false, json = false, one_page = false;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated", &broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"office", RR_OPT_STRING, NULL, "", "the office, e.g. CO-2301 (required)", &office, 0, 0},
        {"status", RR_OPT_STRING, NULL, "", "only these states, comma-separated (default: open)",
         &statuses, 0, 0},
        {"priority", RR_OPT_STRING, NULL, "", "only this priority or higher", &priority, 0, 0},
        {"overdue", RR_OPT_FLAG, NULL, "0", "only those past their acceptance deadline", &overdue,
         0, 0},
        {"domain", RR_OPT_STRING, NULL, "", "only this domain", &domain, 0, 0},
        {"service", RR_OPT_STRING, NULL, "", "only this service, e.g. RHB-02", &service, 0, 0},
        {"after", RR_OPT_STRING, NULL, "", "one page, after this cursor (a page's \"next\")",
         &after, 0, 0},
        {"limit", RR_OPT_INT, NULL, "100", "referrals per page", &limit, 1, 1000},
        {"page", RR_OPT_FLAG, NULL, "0", "print one page and its next cursor, not every page",
         &one_page, 0, 0},
        {"json", RR_OPT_FLAG, NULL, "0", "one JSON object per referral", &json, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "attempts per page", &attempts, 1, 100},
    };
    rr_status st = rr_config_parse("referralctl inbox",
                                   "referralctl inbox --office O: the referrals the office owns "
                                   "now, most urgent first, and its counts per state",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    Rr__V1__InboxRequest q = RR__V1__INBOX_REQUEST__INIT;
    char office_code[RR_WIRE_MAX_OFFICE_BYTES + 1], service_code[RR_WIRE_MAX_SERVICE_BYTES + 1];
    q.office_code = (char *) tool_code(office, office_code, sizeof office_code);
    q.service_code = (char *) tool_code(service, service_code, sizeof service_code);
    Rr__V1__ReferralStatus states[RR_REF_STATE_MAX];
    if (office[0] == '\0' || !read_states(statuses, states, &q.n_statuses)) {
        fprintf(stderr, "usage: referralctl inbox --office O [--status S,...] [--priority P] "
                        "[--overdue] [--domain D] [--service S] [--page [--after C]] [--json]\n");
        return 2;
    }
    q.statuses = states;
    q.min_priority = (Rr__V1__Priority) (priority[0] ? rr_priority_parse(priority) : 0);
    q.domain = (Rr__V1__Domain) (domain[0] ? rr_domain_parse(domain) : 0);
    if ((priority[0] && q.min_priority == 0) || (domain[0] && q.domain == 0)) {
        fprintf(stderr, "invalid %s \"%s\"\n",
                priority[0] && q.min_priority == 0 ? "--priority" : "--domain",
                priority[0] && q.min_priority == 0 ? priority : domain);
        return 2;
    }
    q.overdue = overdue;
    q.limit = (uint32_t) limit;
    cli_center *client = tool_client_open(broker, key_file, broker_key);
    if (client == NULL) {
        return 2;
    }
    char cursor[RR_WIRE_MAX_INBOX_CURSOR + 1];
    if (rr_format_exact(cursor, sizeof cursor, "%s", after) != RR_OK) {
        fprintf(stderr, "invalid value for --after: not a cursor (too long)\n");
        cli_center_destroy(&client);
        return 2;
    }
    int rc = 0;
    for (int page = 0; page < MAX_PAGES; page++) {
        char qid[40];
        rr_uuid_generate(qid);
        q.query_id = qid;
        q.after = cursor;
        Rr__V1__InboxReply *reply = NULL;
        rr_wire_error err = {0};
        st = cli_center_inbox(client, &q, timeout_ms, (int) attempts, &reply, &err);
        if (st != RR_OK || reply->status != RR__V1__STATUS__STATUS_OK) {
            fprintf(stderr, "%s: %s\n",
                    rr_status_name(st != RR_OK ? (int) err.code : (int) reply->status),
                    st != RR_OK ? err.message : (reply->error ? reply->error->message : ""));
            rr_wire_free(reply);
            rc = 1;
            break;
        }
        if (page == 0 && !json) {
            printf("%-10s %-8s %-11s %-7s %-6s %-20s %-4s %s\n", "referral", "priority", "status",
                   "service", "center", "household", "ver", "accept by");
        }
        for (size_t i = 0; i < reply->n_items; i++) {
            print_item(reply->items[i], json);
        }
        bool more = reply->next[0] != '\0';
        rr_format(cursor, sizeof cursor, "%s", reply->next); // the service writes it to fit
        if (!json && (!more || one_page)) {
            printf("owned by %s:", q.office_code);
            for (size_t i = 0; i < reply->n_counts; i++) {
                const char *name = rr_ref_state_name((int) reply->counts[i]->status);
                printf(" %s %u%s", name ? name : "?", reply->counts[i]->count,
                       i + 1 < reply->n_counts ? "," : "");
            }
            printf("%s\n", reply->n_counts ? "" : " nothing");
            if (more) {
                printf("next page: --after %s\n", cursor);
            }
        }
        rr_wire_free(reply);
        if (!more || one_page) {
            break;
        }
    }
    cli_center_destroy(&client);
    return rc;
}
