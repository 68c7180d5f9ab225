// `referralctl donations record|allocate`. record is a center's act and
// goes through the broker like a submission (the worker checks the key and
// the database the ledger's rules); allocate is a council decision, written
// by an operator with database rights and the --by actor, and the database
// function decides which earmarks it draws from (docs/OPERATIONS.md).
#include "tool_donations.h"

#include "cli_center.h"
#include "rr_config.h"
#include "rr_uuid.h"
#include "rr_vocab.h"
#include "tool_client.h"
#include "tool_filter.h"
#include "tool_refdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: referralctl donations record --center C --amount RIALS --bank-ref REF\n"
    "           --intent unrestricted|neighbourhood|county|domain|service [--neighbourhood NAME]\n"
    "           [--county C] [--domain D] [--service S] [--donor NAME] [--id UUID]\n"
    "       referralctl donations allocate --province P --county C [--neighbourhood NAME]\n"
    "           [--domain D] [--service S] --amount RIALS --purpose TEXT --decision REF [--by "
    "NAME]\n";

typedef struct donation_opts {
    const char *broker, *key_file, *broker_key, *db, *by;
    const char *center, *amount, *bank_ref, *intent, *neighbourhood, *county, *domain, *service,
        *donor, *id, *province, *purpose, *decision;
    long timeout_ms, attempts;
} donation_opts;

// An amount of rials as typed: digits only (no sign, no fraction), 1 ..
// RR_WIRE_MAX_RIALS.
static bool
read_rials(const char *text, unsigned long long *out)
{
    if (text[0] < '0' || text[0] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > RR_WIRE_MAX_RIALS) {
        return false;
    }
    *out = v;
    return true;
}

static int
record(const donation_opts *o)
{
    Rr__V1__DonateRequest d = RR__V1__DONATE_REQUEST__INIT;
    char id[40], county[16], service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    char *end = NULL;
    unsigned long center = strtoul(o->center, &end, 10);
    unsigned long long amount = 0;
    if (o->center[0] == '\0' || *end != '\0' || center == 0 || center > UINT32_MAX ||
        !read_rials(o->amount, &amount)) {
        fprintf(stderr, "donations record needs --center (a code) and --amount (whole rials, 1 to "
                        "10000000000000)\n");
        return TOOL_EXIT_USAGE;
    }
    d.center_code = (uint32_t) center;
    d.amount_rials = (uint64_t) amount;
    int intent = 0;
    for (int i = 1; i <= 5; i++) {
        if (strcmp(o->intent, rr_wire_donation_intent_name(i)) == 0) {
            intent = i;
        }
    }
    d.domain = (Rr__V1__Domain) (o->domain[0] ? rr_domain_parse(o->domain) : 0);
    if (intent == 0 || (o->domain[0] && d.domain == 0)) {
        fprintf(stderr, "invalid %s \"%s\"\n", intent == 0 ? "--intent" : "--domain",
                intent == 0 ? o->intent : o->domain);
        return TOOL_EXIT_USAGE;
    }
    d.intent = (Rr__V1__DonationIntent) intent;
    if (o->id[0]) {
        (void) snprintf(id, sizeof id, "%s", o->id);
    } else {
        rr_uuid_generate(id);
    }
    d.donation_id = id;
    d.bank_reference = (char *) o->bank_ref;
    d.donor = (char *) o->donor;
    d.neighbourhood = (char *) o->neighbourhood;
    d.county_code = (char *) tool_code(o->county, county, sizeof county);
    d.service_code = (char *) tool_code(o->service, service, sizeof service);
    cli_center *client = tool_client_open(o->broker, o->key_file, o->broker_key);
    if (client == NULL) {
        return TOOL_EXIT_USAGE;
    }
    Rr__V1__DonateReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_donate(client, &d, o->timeout_ms, (int) o->attempts, &reply, &err);
    int rc = TOOL_EXIT_REFUSED;
    if (!tool_client_refused(id, st, &err, st == RR_OK ? (int) reply->status : 0,
                             st == RR_OK ? reply->error : NULL)) {
        printf("%s %s earmark %" PRIu64 " (%s) of province %s\n", id,
               reply->replayed ? "replayed" : "recorded", reply->earmark_id, reply->earmark,
               reply->province_code);
        rc = TOOL_EXIT_DONE;
    }
    rr_wire_free(reply);
    cli_center_destroy(&client);
    return rc;
}

static int
allocate(const donation_opts *o)
{
    unsigned long long amount = 0;
    char county[16], service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    const char *county_code = tool_code(o->county, county, sizeof county);
    const char *service_code = tool_code(o->service, service, sizeof service);
    if (!read_rials(o->amount, &amount) || o->province[0] == '\0' || o->county[0] == '\0' ||
        o->purpose[0] == '\0' || o->decision[0] == '\0') {
        fprintf(stderr, "donations allocate needs --province, --county, --amount (whole rials, 1 "
                        "to 10000000000000), --purpose and --decision\n");
        return TOOL_EXIT_USAGE;
    }
    if (!tool_filter_check(o->province, county_code, "table", &(tool_db_format){TOOL_DB_TABLE}) ||
        (o->domain[0] && rr_domain_parse(o->domain) == 0) ||
        !tool_refdb_text("purpose", o->purpose, 1000) ||
        !tool_refdb_text("decision", o->decision, 64) ||
        !tool_refdb_text("neighbourhood", o->neighbourhood, RR_WIRE_MAX_NEIGHBOURHOOD_BYTES)) {
        if (o->domain[0] && rr_domain_parse(o->domain) == 0) {
            fprintf(stderr, "invalid --domain \"%s\"\n", o->domain);
        }
        return TOOL_EXIT_USAGE;
    }
    char actor[TOOL_ACTOR_MAX_BYTES + 1] = "";
    if (!tool_refdb_actor(o->by, actor)) {
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect_writable(o->db);
    if (conn == NULL) {
        return TOOL_EXIT_REFUSED;
    }
    char amount_text[24];
    (void) snprintf(amount_text, sizeof amount_text, "%llu", amount);
    const char *params[9] = {o->province,
                             o->decision,
                             amount_text,
                             o->purpose,
                             county_code,
                             tool_filter_or_null(o->neighbourhood),
                             tool_filter_or_null(o->domain),
                             tool_filter_or_null(service_code),
                             actor};
    int rc = TOOL_EXIT_REFUSED;
    PGresult *res = NULL;
    if (!tool_refdb_begin(conn, actor)) {
        goto done;
    }
    res = PQexecParams(conn,
                       "SELECT allocation_id, replayed FROM allocate_donations($1, $2,"
                       " $3::bigint, $4, $5, $6, $7, $8, $9)",
                       9, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        // The function's refusals are worded for the operator; other
        // failures keep libpq's whole message.
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool refusal =
            state != NULL && (strcmp(state, "22023") == 0 || strcmp(state, "23505") == 0 ||
                              strcmp(state, "23514") == 0);
        fprintf(stderr, "%s%s", refusal ? "" : "could not allocate: ",
                refusal && primary ? primary : PQresultErrorMessage(res));
        fprintf(stderr, "%s", refusal ? "\n" : "");
        (void) tool_refdb_end(conn, false);
        goto done;
    }
    const char *alloc_id = PQgetvalue(res, 0, 0);
    bool replayed = PQgetvalue(res, 0, 1)[0] == 't';
    PGresult *draws =
        tool_db_query(conn, "read the draws",
                      "SELECT e.target_key AS earmark, -l.amount AS rials FROM ledger_entry l"
                      " JOIN earmark e ON e.id = l.earmark_id WHERE l.allocation_id = $1::bigint"
                      " ORDER BY l.id",
                      1, &alloc_id);
    if (draws == NULL || !tool_refdb_end(conn, true)) {
        PQclear(draws);
        goto done;
    }
    printf("allocation %s %s: %s rials for decision \"%s\", drawn from:\n", alloc_id,
           replayed ? "already recorded" : "recorded", amount_text, o->decision);
    for (int i = 0; i < PQntuples(draws); i++) {
        printf("  %s %s\n", PQgetvalue(draws, i, 0), PQgetvalue(draws, i, 1));
    }
    PQclear(draws);
    rc = TOOL_EXIT_DONE;
done:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int
tool_donations_main(int argc, char **argv)
{
    donation_opts o = {0};
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "record: broker front-end endpoints, comma-separated", &o.broker, 0, 0},
        TOOL_CURVE_OPTS(&o.key_file, &o.broker_key),
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "allocate: libpq connection string",
         &o.db, 0, 0},
        {"by", RR_OPT_STRING, NULL, "",
         "allocate: who records the decision (default: REFERRAL_ACTOR, else the system user)",
         &o.by, 0, 0},
        {"center", RR_OPT_STRING, NULL, "", "record: the recording center's code", &o.center, 0, 0},
        {"amount", RR_OPT_STRING, NULL, "", "whole rials", &o.amount, 0, 0},
        {"bank-ref", RR_OPT_STRING, NULL, "", "record: the bank transfer's reference", &o.bank_ref,
         0, 0},
        {"intent", RR_OPT_STRING, NULL, "",
         "record: unrestricted, neighbourhood, county, domain or service", &o.intent, 0, 0},
        {"neighbourhood", RR_OPT_STRING, NULL, "", "the neighbourhood, by name", &o.neighbourhood,
         0, 0},
        {"county", RR_OPT_STRING, NULL, "", "the county (four digits)", &o.county, 0, 0},
        {"domain", RR_OPT_STRING, NULL, "", "prevention, rehabilitation or social", &o.domain, 0,
         0},
        {"service", RR_OPT_STRING, NULL, "", "a service code, e.g. RHB-02", &o.service, 0, 0},
        {"donor", RR_OPT_STRING, NULL, "", "record: the donor (empty: anonymous)", &o.donor, 0, 0},
        {"id", RR_OPT_STRING, NULL, "", "record: the donation id (default: a new UUID)", &o.id, 0,
         0},
        {"province", RR_OPT_STRING, NULL, "", "allocate: the province (two digits)", &o.province, 0,
         0},
        {"purpose", RR_OPT_STRING, NULL, "", "allocate: what the money is for", &o.purpose, 0, 0},
        {"decision", RR_OPT_STRING, NULL, "", "allocate: the council's decision reference",
         &o.decision, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "record: wait per attempt, ms",
         &o.timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "record: attempts", &o.attempts, 1, 100},
    };
    int first = 0;
    rr_status st = rr_config_parse("referralctl donations",
                                   "referralctl donations record|allocate: earmarked cash "
                                   "donations and the council's allocations",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return TOOL_EXIT_DONE;
    }
    if (st != RR_OK) {
        return TOOL_EXIT_USAGE;
    }
    const char *sub = first < argc ? argv[first] : "";
    if (argc - first == 1 && strcmp(sub, "record") == 0) {
        return record(&o);
    }
    if (argc - first == 1 && strcmp(sub, "allocate") == 0) {
        return allocate(&o);
    }
    fputs(USAGE, stderr);
    return TOOL_EXIT_USAGE;
}
