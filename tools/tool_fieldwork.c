// Trustees and findings from the command line: the center's acts sent as
// TRUSTEE and FINDING through the broker, the lists read from migration
// 0019's tables (personal data masked in SQL, so a full id never leaves the
// database through this tool).
#include "tool_fieldwork.h"

#include "cli_nbhd.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_uuid.h"
#include "tool_client.h"
#include "tool_db.h"
#include "tool_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field_opts {
    const char *broker, *key_file, *broker_key, *db, *center, *neighbourhood, *id, *name, *role,
        *phone, *national_id, *reason, *household, *service, *need, *source, *trustee, *state;
    bool consent;
    long timeout_ms, attempts;
} field_opts;

// The options both commands take; the command reads the ones it needs.
#define FIELD_OPTS(o)                                                                              \
    {"broker",                                                                                     \
     RR_OPT_STRING,                                                                                \
     "REFERRAL_BROKER",                                                                            \
     "tcp://127.0.0.1:5555",                                                                       \
     "broker front-end endpoints, comma-separated",                                                \
     &(o).broker,                                                                                  \
     0,                                                                                            \
     0},                                                                                           \
        TOOL_CURVE_OPTS(&(o).key_file, &(o).broker_key), {"db",                                    \
                                                          RR_OPT_STRING,                           \
                                                          "REFERRAL_DB",                           \
                                                          "dbname=referral",                       \
                                                          "list: libpq connection string",         \
                                                          &(o).db,                                 \
                                                          0,                                       \
                                                          0},                                      \
        {"center", RR_OPT_STRING, NULL, "", "the recording center's code", &(o).center, 0, 0},     \
        {"neighbourhood",                                                                          \
         RR_OPT_STRING,                                                                            \
         NULL,                                                                                     \
         "",                                                                                       \
         "the neighbourhood, by name (list: its id)",                                              \
         &(o).neighbourhood,                                                                       \
         0,                                                                                        \
         0},                                                                                       \
        {"id",                                                                                     \
         RR_OPT_STRING,                                                                            \
         NULL,                                                                                     \
         "",                                                                                       \
         "the trustee's or finding's id (default: a new UUID)",                                    \
         &(o).id,                                                                                  \
         0,                                                                                        \
         0},                                                                                       \
        {"national-id", RR_OPT_STRING, NULL, "", "optional national id", &(o).national_id, 0, 0},  \
        {"reason", RR_OPT_STRING, NULL, "", "deactivate, close: why", &(o).reason, 0, 0},          \
        {"timeout-ms",                                                                             \
         RR_OPT_INT,                                                                               \
         "REFERRAL_TIMEOUT_MS",                                                                    \
         "5000",                                                                                   \
         "wait per attempt, ms",                                                                   \
         &(o).timeout_ms,                                                                          \
         10,                                                                                       \
         600000},                                                                                  \
    {                                                                                              \
        "attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "attempts", &(o).attempts, 1, 100        \
    }

static bool
read_center(const char *text, uint32_t *out)
{
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] == '\0' || *end != '\0' || v == 0 || v > UINT32_MAX) {
        fprintf(stderr, "--center needs a center's code\n");
        return false;
    }
    *out = (uint32_t) v;
    return true;
}

// Prints a refusal as "ID STATUS field: message"; true when st and status
// are OK.
static bool
answered(const char *id, rr_status st, const rr_wire_error *err, const Rr__V1__ReplyHead *head)
{
    if (st != RR_OK) {
        printf("%s %s %s: %s\n", id, rr_status_name((int) err->code), err->field, err->message);
        return false;
    }
    if (head->status != RR__V1__STATUS__STATUS_OK) {
        printf("%s %s %s: %s\n", id, rr_status_name((int) head->status),
               head->error ? head->error->field : "", head->error ? head->error->message : "");
        return false;
    }
    return true;
}

// Lists with masked personal data. $1 the neighbourhood id or NULL.
static const char TRUSTEES_SQL[] =
    "SELECT t.trustee_id, t.neighbourhood_id AS neighbourhood, n.name AS neighbourhood_name,"
    " t.name, t.role,"
    " CASE WHEN t.phone IS NULL THEN '' ELSE '******' || right(t.phone, 4) END AS phone,"
    " CASE WHEN t.national_id IS NULL THEN '' ELSE '******' || right(t.national_id, 4) END"
    " AS national_id, CASE WHEN t.active THEN 'active' ELSE 'inactive' END AS state,"
    " (SELECT string_agg(e.kind || ' ' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    "  || ' ' || e.actor || coalesce(': ' || e.reason, ''), '; ' ORDER BY e.id)"
    "  FROM trustee_event e WHERE e.trustee_id = t.trustee_id) AS history"
    " FROM trustee t JOIN neighbourhood n ON n.id = t.neighbourhood_id"
    " WHERE $1::integer IS NULL OR t.neighbourhood_id = $1::integer ORDER BY n.id, t.name";

static const char FINDINGS_SQL[] =
    "SELECT f.finding_id, f.neighbourhood_id AS neighbourhood, n.name AS neighbourhood_name,"
    " f.household_id AS household,"
    " CASE WHEN f.national_id IS NULL THEN '' ELSE '******' || right(f.national_id, 4) END"
    " AS national_id, coalesce(f.service_code, '') AS service, f.source,"
    " f.state, coalesce('R-' || f.referral_id, '') AS referral,"
    " (SELECT string_agg(e.kind || ' ' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    "  || coalesce(': ' || e.reason, ''), '; ' ORDER BY e.id)"
    "  FROM finding_event e WHERE e.finding_id = f.finding_id) AS history"
    " FROM finding f JOIN neighbourhood n ON n.id = f.neighbourhood_id"
    " WHERE ($1::integer IS NULL OR f.neighbourhood_id = $1::integer)"
    "   AND ($2::text IS NULL OR f.state = $2) ORDER BY n.id, f.household_id, f.finding_id";

static int
list(const field_opts *o, const char *sql, int nparams)
{
    if (o->neighbourhood[0] != '\0' &&
        strspn(o->neighbourhood, "0123456789") != strlen(o->neighbourhood)) {
        fprintf(stderr, "list --neighbourhood takes the neighbourhood's id\n");
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect(o->db);
    if (conn == NULL) {
        return TOOL_EXIT_FAILED;
    }
    // --state is findings' only (NULL in trustees' options).
    const char *params[2] = {tool_filter_or_null(o->neighbourhood),
                             o->state ? tool_filter_or_null(o->state) : NULL};
    PGresult *res = tool_db_query(conn, "list", sql, nparams, params);
    int rc = res != NULL && tool_db_print(stdout, res, TOOL_DB_TABLE) == RR_OK ? TOOL_EXIT_DONE
                                                                               : TOOL_EXIT_FAILED;
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static void
new_id(const field_opts *o, char id[40])
{
    if (o->id[0] != '\0') {
        rr_format_fits(id, 40, "%s", o->id);
    } else {
        rr_uuid_generate(id);
    }
}

static int
send_trustee(const field_opts *o, bool reg)
{
    Rr__V1__TrusteeRequest t = RR__V1__TRUSTEE_REQUEST__INIT;
    char id[40];
    if (!read_center(o->center, &t.center_code)) {
        return TOOL_EXIT_USAGE;
    }
    if (!reg && o->id[0] == '\0') {
        fprintf(stderr, "trustees deactivate needs --id\n");
        return TOOL_EXIT_USAGE;
    }
    new_id(o, id);
    t.trustee_id = id;
    t.action = reg ? RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_REGISTER
                   : RR__V1__TRUSTEE_ACTION__TRUSTEE_ACTION_DEACTIVATE;
    t.neighbourhood = (char *) o->neighbourhood;
    t.name = (char *) o->name;
    t.role = (char *) o->role;
    t.phone = (char *) o->phone;
    t.national_id = (char *) o->national_id;
    t.consent = o->consent;
    t.reason = (char *) o->reason;
    cli_center *client = tool_client_open(o->broker, o->key_file, o->broker_key);
    if (client == NULL) {
        return TOOL_EXIT_USAGE;
    }
    Rr__V1__TrusteeReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_trustee(client, &t, o->timeout_ms, (int) o->attempts, &reply, &err);
    int rc = TOOL_EXIT_FAILED;
    if (answered(id, st, &err, (const Rr__V1__ReplyHead *) reply)) {
        printf("%s %s trustee of neighbourhood %u, %s\n", id,
               reply->replayed ? "replayed" : "recorded", reply->neighbourhood_id,
               reply->active ? "active" : "inactive");
        rc = TOOL_EXIT_DONE;
    }
    rr_wire_free(reply);
    cli_center_destroy(&client);
    return rc;
}

int
tool_trustees_main(int argc, char **argv)
{
    field_opts o = {0};
    rr_opt opts[] = {
        FIELD_OPTS(o),
        {"name", RR_OPT_STRING, NULL, "", "register: the trustee's name", &o.name, 0, 0},
        {"role", RR_OPT_STRING, NULL, "", "register: e.g. imam, teacher, elder", &o.role, 0, 0},
        {"phone", RR_OPT_STRING, NULL, "", "register: optional phone", &o.phone, 0, 0},
        {"consent", RR_OPT_FLAG, NULL, "0", "register: the trustee consented (required)",
         &o.consent, 0, 0},
    };
    int first = 0;
    rr_status st = rr_config_parse("referralctl trustees",
                                   "referralctl trustees register|deactivate|list: a "
                                   "neighbourhood's trustees (معتمدین محله)",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st != RR_OK) {
        return st == RR_ESHUTDOWN ? TOOL_EXIT_DONE : TOOL_EXIT_USAGE;
    }
    const char *sub = first < argc ? argv[first] : "";
    if (argc - first == 1 && (strcmp(sub, "register") == 0 || strcmp(sub, "deactivate") == 0)) {
        return send_trustee(&o, strcmp(sub, "register") == 0);
    }
    if (argc - first == 1 && strcmp(sub, "list") == 0) {
        return list(&o, TRUSTEES_SQL, 1);
    }
    fputs("usage: referralctl trustees register --center C --neighbourhood NAME --name N --role R\n"
          "           --consent [--phone P] [--national-id ID] [--id UUID]\n"
          "       referralctl trustees deactivate --center C --id UUID --reason TEXT\n"
          "       referralctl trustees list [--neighbourhood ID]\n",
          stderr);
    return TOOL_EXIT_USAGE;
}

static int
send_finding(const field_opts *o, bool rec)
{
    Rr__V1__FindingRequest f = RR__V1__FINDING_REQUEST__INIT;
    char id[40], service[RR_WIRE_MAX_SERVICE_BYTES + 1];
    if (!read_center(o->center, &f.center_code)) {
        return TOOL_EXIT_USAGE;
    }
    if (!rec && o->id[0] == '\0') {
        fprintf(stderr, "findings close needs --id\n");
        return TOOL_EXIT_USAGE;
    }
    if (rec) {
        for (int s = 1; s <= 5; s++) {
            if (strcmp(o->source, rr_wire_finding_source_name(s)) == 0) {
                f.source = (Rr__V1__FindingSource) s;
            }
        }
        if (f.source == 0) {
            fprintf(stderr, "--source must be outreach, trustee, school, health_house or other\n");
            return TOOL_EXIT_USAGE;
        }
    }
    new_id(o, id);
    f.finding_id = id;
    f.action = rec ? RR__V1__FINDING_ACTION__FINDING_ACTION_RECORD
                   : RR__V1__FINDING_ACTION__FINDING_ACTION_CLOSE;
    f.household_id = (char *) o->household;
    f.national_id = (char *) o->national_id;
    f.neighbourhood = (char *) o->neighbourhood;
    f.service_code = (char *) tool_code(o->service, service, sizeof service);
    f.need = (char *) o->need;
    f.trustee_id = (char *) o->trustee;
    f.reason = (char *) o->reason;
    cli_center *client = tool_client_open(o->broker, o->key_file, o->broker_key);
    if (client == NULL) {
        return TOOL_EXIT_USAGE;
    }
    Rr__V1__FindingReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_finding(client, &f, o->timeout_ms, (int) o->attempts, &reply, &err);
    int rc = TOOL_EXIT_FAILED;
    if (answered(id, st, &err, (const Rr__V1__ReplyHead *) reply)) {
        printf("%s %s finding in neighbourhood %u: %s%s%s\n", id,
               reply->replayed ? "replayed" : (rec ? "recorded" : "closed"),
               reply->neighbourhood_id, reply->state, reply->referral_id[0] ? " as " : "",
               reply->referral_id);
        rc = TOOL_EXIT_DONE;
    }
    rr_wire_free(reply);
    cli_center_destroy(&client);
    return rc;
}

int
tool_findings_main(int argc, char **argv)
{
    field_opts o = {0};
    rr_opt opts[] = {
        FIELD_OPTS(o),
        {"household", RR_OPT_STRING, NULL, "", "record: the household id", &o.household, 0, 0},
        {"service", RR_OPT_STRING, NULL, "", "record: the need as a service code", &o.service, 0,
         0},
        {"need", RR_OPT_STRING, NULL, "", "record: the need in words", &o.need, 0, 0},
        {"source", RR_OPT_STRING, NULL, "",
         "record: outreach, trustee, school, health_house or other", &o.source, 0, 0},
        {"trustee", RR_OPT_STRING, NULL, "", "record: the trustee's id (source trustee)",
         &o.trustee, 0, 0},
        {"state", RR_OPT_STRING, NULL, "", "list: open, referred or closed", &o.state, 0, 0},
    };
    int first = 0;
    rr_status st = rr_config_parse("referralctl findings",
                                   "referralctl findings record|close|list: active need-finding "
                                   "(نیازمندیابی فعال)",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st != RR_OK) {
        return st == RR_ESHUTDOWN ? TOOL_EXIT_DONE : TOOL_EXIT_USAGE;
    }
    const char *sub = first < argc ? argv[first] : "";
    if (argc - first == 1 && (strcmp(sub, "record") == 0 || strcmp(sub, "close") == 0)) {
        return send_finding(&o, strcmp(sub, "record") == 0);
    }
    if (argc - first == 1 && strcmp(sub, "list") == 0) {
        return list(&o, FINDINGS_SQL, 2);
    }
    fputs("usage: referralctl findings record --center C --neighbourhood NAME --household H\n"
          "           --source S [--trustee UUID] [--service S] [--need TEXT] [--national-id ID]\n"
          "           [--id UUID]\n"
          "       referralctl findings close --center C --id UUID --reason TEXT\n"
          "       referralctl findings list [--neighbourhood ID] [--state open|referred|closed]\n",
          stderr);
    return TOOL_EXIT_USAGE;
}
