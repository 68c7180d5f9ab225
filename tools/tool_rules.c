// `referralctl rules`: routing rules (which office a request goes to) and
// risk rules (flags that raise a request's priority): list, add with every
// check, remove. A routing rule is removed by deactivating it (referrals
// name the rule that routed them); a risk rule is deleted.
#include "tool_rules.h"

#include "tool_client.h"
#include "tool_refdb.h"
#include "tool_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX_BYTES 500

// clang-format off
static const char LIST_SQL[] =
    "SELECT r.id, coalesce(r.service_code, 'any') AS service,"
    "       coalesce(r.province_code, 'any') AS province, coalesce(r.county_code, 'any') AS county,"
    "       coalesce(r.priority, 'any') AS priority, r.office_code AS office,"
    "       o.province_code AS office_province, o.active AS office_active, r.active, r.note"
    " FROM routing_rule r JOIN office o ON o.code = r.office_code"
    " WHERE $1::boolean OR r.active ORDER BY r.id";
static const char RISK_LIST_SQL[] =
    "SELECT id, array_to_string(flags, ',') AS flags, min_priority, note"
    " FROM risk_priority_rule ORDER BY id";
static const char DUPLICATE_SQL[] =
    "SELECT id, office_code FROM routing_rule"
    " WHERE active AND service_code IS NOT DISTINCT FROM $1"
    "   AND province_code IS NOT DISTINCT FROM $2 AND county_code IS NOT DISTINCT FROM $3"
    "   AND priority IS NOT DISTINCT FROM $4"
    " ORDER BY id LIMIT 1";
// clang-format on

typedef struct rule_opts {
    const char *service, *province, *county, *priority, *office, *note, *risk, *min_priority;
    bool cross_province, all, risk_rules;
} rule_opts;

static const char *
null_if_empty(const char *s)
{
    return s[0] == '\0' ? NULL : s;
}

// Prints why the rule cannot be added, naming the option at fault (NULL:
// the rule as a whole).
static bool __attribute__((format(printf, 2, 3))) refuse(const char *option, const char *fmt, ...)
{
    if (option != NULL) {
        fprintf(stderr, "cannot add the rule (--%s): ", option);
    } else {
        fputs("cannot add the rule: ", stderr);
    }
    va_list ap;
    va_start(ap, fmt);
    // clang 14 misreads va_start in a static variadic function it inlines.
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return false;
}

// One row of sql for key, or NULL after printing (a missing row is not
// an error: *missing is set).
static PGresult *
lookup(PGconn *conn, const char *sql, const char *key, bool *missing)
{
    const char *params[1] = {key};
    PGresult *res = tool_db_query(conn, "check the rule", sql, 1, params);
    *missing = res != NULL && PQntuples(res) == 0;
    if (*missing) {
        PQclear(res);
        return NULL;
    }
    return res;
}

// Every check of a routing rule, inside the transaction that adds it (rows
// it depends on are locked FOR SHARE, so they cannot change before COMMIT).
static bool
routing_rule_ok(PGconn *conn, const rule_opts *o)
{
    bool missing = false;
    PGresult *office =
        lookup(conn, "SELECT active, province_code FROM office WHERE code = $1 FOR SHARE",
               o->office, &missing);
    if (office == NULL) {
        return missing && refuse("office", "office \"%s\" does not exist", o->office);
    }
    bool office_active = PQgetvalue(office, 0, 0)[0] == 't';
    char office_province[3];
    int n = snprintf(office_province, sizeof office_province, "%s", PQgetvalue(office, 0, 1));
    (void) n; // province_code is char(2)
    PQclear(office);
    if (!office_active) {
        return refuse("office", "office \"%s\" is inactive", o->office);
    }
    if (o->service[0] != '\0') {
        PGresult *s = lookup(conn, "SELECT active FROM service WHERE code = $1 FOR SHARE",
                             o->service, &missing);
        if (s == NULL) {
            return missing && refuse("service", "unrecognized service \"%s\"", o->service);
        }
        bool active = PQgetvalue(s, 0, 0)[0] == 't';
        PQclear(s);
        if (!active) {
            return refuse("service", "service \"%s\" is withdrawn from the catalogue", o->service);
        }
    }
    if (o->province[0] != '\0') {
        PGresult *p = lookup(conn, "SELECT 1 FROM province WHERE code = $1", o->province, &missing);
        if (p == NULL) {
            return missing && refuse("province", "province \"%s\" does not exist", o->province);
        }
        PQclear(p);
    }
    char county_province[3] = "";
    if (o->county[0] != '\0') {
        PGresult *c =
            lookup(conn, "SELECT province_code FROM county WHERE code = $1", o->county, &missing);
        if (c == NULL) {
            return missing && refuse("county", "county \"%s\" does not exist", o->county);
        }
        n = snprintf(county_province, sizeof county_province, "%s", PQgetvalue(c, 0, 0));
        (void) n; // county.province_code is char(2)
        PQclear(c);
    }
    tool_rule_area area = {o->county, county_province, o->province,
                           o->office, office_province, o->cross_province};
    const char *field = "office";
    char why[TOOL_WHY_BYTES];
    if (!tool_rule_area_check(&area, &field, why)) {
        return refuse(field, "%s", why);
    }
    const char *params[4] = {null_if_empty(o->service), null_if_empty(o->province),
                             null_if_empty(o->county), null_if_empty(o->priority)};
    PGresult *dup = tool_db_query(conn, "check the rule", DUPLICATE_SQL, 4, params);
    if (dup == NULL) {
        return false;
    }
    bool unique = PQntuples(dup) == 0;
    if (!unique) {
        (void) refuse(NULL,
                      "rule %s already covers the same service, province, county and "
                      "priority (it sends them to %s): remove it first",
                      PQgetvalue(dup, 0, 0), PQgetvalue(dup, 0, 1));
    }
    PQclear(dup);
    return unique;
}

static int
add_routing_rule(PGconn *conn, const char *actor, const rule_opts *o)
{
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    // Concurrent adds wait for each other, so two identical rules cannot
    // both pass the duplicate check.
    bool ok = tool_refdb_command(conn, "lock the routing rules",
                                 "LOCK TABLE routing_rule IN SHARE ROW EXCLUSIVE MODE", 0, NULL) &&
              routing_rule_ok(conn, o);
    PGresult *res = NULL;
    if (ok) {
        const char *params[6] = {null_if_empty(o->service),
                                 null_if_empty(o->province),
                                 null_if_empty(o->county),
                                 null_if_empty(o->priority),
                                 o->office,
                                 o->note};
        res = tool_db_query(conn, "add the rule",
                            "INSERT INTO routing_rule (service_code, province_code, county_code,"
                            " priority, office_code, note) VALUES ($1, $2, $3, $4, $5, $6)"
                            " RETURNING id",
                            6, params);
        ok = res != NULL;
    }
    if (!tool_refdb_end(conn, ok) || !ok) {
        PQclear(res);
        return TOOL_EXIT_REFUSED;
    }
    printf("routing rule %s added: service %s, province %s, county %s, priority %s -> %s\n",
           PQgetvalue(res, 0, 0), o->service[0] ? o->service : "any",
           o->province[0] ? o->province : "any", o->county[0] ? o->county : "any",
           o->priority[0] ? o->priority : "any", o->office);
    PQclear(res);
    return TOOL_EXIT_DONE;
}

static int
add_risk_rule(PGconn *conn, const char *actor, const rule_opts *o)
{
    char flags[TOOL_RISK_FLAGS_BYTES], why[TOOL_WHY_BYTES];
    if (!tool_risk_flags_parse(o->risk, flags, why)) {
        (void) refuse("risk", "%s", why);
        return TOOL_EXIT_USAGE;
    }
    if (rr_priority_parse(o->min_priority) == RR_PRIORITY_NONE) {
        (void) refuse("min-priority",
                      "invalid priority \"%s\": expected routine, urgent, asap or "
                      "stat",
                      o->min_priority);
        return TOOL_EXIT_USAGE;
    }
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    const char *params[3] = {flags, o->min_priority, o->note};
    // The flags' unique key makes a concurrent duplicate fail on INSERT.
    PGresult *dup =
        tool_db_query(conn, "check the rule",
                      "SELECT id FROM risk_priority_rule WHERE flags = $1::text[]", 1, params);
    bool ok = dup != NULL && PQntuples(dup) == 0;
    if (dup != NULL && !ok) {
        (void) refuse("risk", "risk rule %s already has flags %s", PQgetvalue(dup, 0, 0), flags);
    }
    PQclear(dup);
    PGresult *res = NULL;
    if (ok) {
        res = tool_db_query(conn, "add the rule",
                            "INSERT INTO risk_priority_rule (flags, min_priority, note)"
                            " VALUES ($1::text[], $2, $3) RETURNING id",
                            3, params);
        ok = res != NULL;
    }
    if (!tool_refdb_end(conn, ok) || !ok) {
        PQclear(res);
        return TOOL_EXIT_REFUSED;
    }
    printf("risk rule %s added: %s -> at least %s\n", PQgetvalue(res, 0, 0), flags,
           o->min_priority);
    PQclear(res);
    return TOOL_EXIT_DONE;
}

static int
remove_rule(PGconn *conn, const char *actor, const char *id, bool risk)
{
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    const char *params[1] = {id};
    PGresult *res =
        risk ? tool_db_query(conn, "remove the rule",
                             "DELETE FROM risk_priority_rule WHERE id = $1 RETURNING id", 1, params)
             : tool_db_query(conn, "remove the rule",
                             "UPDATE routing_rule SET active = false WHERE id = $1 AND active"
                             " RETURNING id",
                             1, params);
    bool removed = res != NULL && PQntuples(res) == 1;
    if (res != NULL && !removed) {
        fprintf(stderr, "unrecognized %s rule \"%s\"%s\n", risk ? "risk" : "routing", id,
                risk ? "" : " (or it is removed already)");
    }
    PQclear(res);
    if (!tool_refdb_end(conn, removed) || !removed) {
        return TOOL_EXIT_REFUSED;
    }
    printf("%s rule %s removed\n", risk ? "risk" : "routing", id);
    return TOOL_EXIT_DONE;
}

// Canonical codes for what a person types ("co-۲۳۰۱"), in bufs.
static void
canonical_codes(rule_opts *o, char bufs[4][32])
{
    o->office = tool_code(o->office, bufs[0], 32);
    o->service = tool_code(o->service, bufs[1], 32);
    o->county = tool_code(o->county, bufs[2], 32);
    o->province = tool_code(o->province, bufs[3], 32);
}

static bool
valid_id(const char *text)
{
    char *end = NULL;
    long id = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || id < 1 || id > 2147483647L) {
        fprintf(stderr, "invalid rule id \"%s\": expected a positive number\n", text);
        return false;
    }
    return true;
}

static const char USAGE[] =
    "usage: referralctl rules list [--risk] [--all] [--format table|csv]\n"
    "       referralctl rules add --office CODE [--service S] [--province P] [--county C] "
    "[--priority P] [--note TEXT] [--cross-province]\n"
    "       referralctl rules add --risk FLAG[,FLAG...] --min-priority P [--note TEXT]\n"
    "       referralctl rules remove ID | remove --risk ID\n"
    "(each with [--db CONNINFO] [--by NAME])\n";

int
tool_rules_main(int argc, char **argv)
{
    tool_refdb_opts ro = {0};
    rule_opts o = {0};
    const char *format_name = NULL;
    rr_opt opts[] = {
        TOOL_REFDB_OPTS(&ro),
        {"service", RR_OPT_STRING, NULL, "", "add: the service the rule is for", &o.service, 0, 0},
        {"province", RR_OPT_STRING, NULL, "", "add: the centers' province", &o.province, 0, 0},
        {"county", RR_OPT_STRING, NULL, "", "add: the centers' county", &o.county, 0, 0},
        {"priority", RR_OPT_STRING, NULL, "", "add: the request's priority", &o.priority, 0, 0},
        {"office", RR_OPT_STRING, NULL, "", "add: the office it sends requests to", &o.office, 0,
         0},
        {"note", RR_OPT_STRING, NULL, "", "add: why the rule exists", &o.note, 0, 0},
        {"cross-province", RR_OPT_FLAG, NULL, "0",
         "add: allow an office outside the rule's province", &o.cross_province, 0, 0},
        {"risk", RR_OPT_STRING, NULL, "",
         "add: the risk flags (comma-separated); list, remove: risk rules", &o.risk, 0, 0},
        {"min-priority", RR_OPT_STRING, NULL, "", "add: the priority the flags impose at least",
         &o.min_priority, 0, 0},
        {"all", RR_OPT_FLAG, NULL, "0", "list: removed routing rules too", &o.all, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    // "--risk" alone (list, remove) is a flag; getopt needs an argument for
    // it, so those forms are read before parsing.
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--risk") == 0 && i >= 2 &&
            (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "remove") == 0)) {
            o.risk_rules = true;
            argv[i] = (char *) "--risk=";
        }
    }
    if (!tool_refdb_parse("referralctl rules",
                          "referralctl rules list|add|remove: routing rules and risk rules", opts,
                          (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    const char *sub = first < argc ? argv[first] : "";
    int operands = argc - first - 1;
    bool is_list = strcmp(sub, "list") == 0, is_add = strcmp(sub, "add") == 0;
    bool is_remove = strcmp(sub, "remove") == 0;
    bool risk_add = is_add && o.risk[0] != '\0';
    if (!((is_list || is_add) && operands == 0) && !(is_remove && operands == 1)) {
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    tool_db_format format = TOOL_DB_TABLE;
    char bufs[4][32];
    canonical_codes(&o, bufs);
    if ((is_list && !tool_filter_check("", "", format_name, &format)) ||
        (is_remove && !valid_id(argv[first + 1])) ||
        (is_add && !tool_refdb_text("note", o.note, NOTE_MAX_BYTES))) {
        return TOOL_EXIT_USAGE;
    }
    if (is_add && !risk_add && o.office[0] == '\0') {
        fputs("rules add needs --office (a routing rule) or --risk (a risk rule)\n", stderr);
        return TOOL_EXIT_USAGE;
    }
    if (is_add && !risk_add && o.priority[0] != '\0' &&
        rr_priority_parse(o.priority) == RR_PRIORITY_NONE) {
        (void) refuse("priority", "invalid priority \"%s\": expected routine, urgent, asap or stat",
                      o.priority);
        return TOOL_EXIT_USAGE;
    }
    char actor[TOOL_ACTOR_MAX_BYTES + 1] = "";
    if (!is_list && !tool_refdb_actor(ro.by, actor)) {
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect_writable(ro.db);
    if (conn == NULL) {
        return TOOL_EXIT_REFUSED;
    }
    if (is_list) {
        const char *params[1] = {o.all ? "true" : "false"};
        rc = o.risk_rules
                 ? tool_refdb_list(conn, "list the risk rules", RISK_LIST_SQL, 0, NULL, format)
                 : tool_refdb_list(conn, "list the routing rules", LIST_SQL, 1, params, format);
    } else if (is_add) {
        rc = risk_add ? add_risk_rule(conn, actor, &o) : add_routing_rule(conn, actor, &o);
    } else {
        rc = remove_rule(conn, actor, argv[first + 1], o.risk_rules);
    }
    PQfinish(conn);
    return rc;
}
