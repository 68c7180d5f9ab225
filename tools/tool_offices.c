// `referralctl offices`: list, add, activate and deactivate welfare offices.
// Deactivation is refused while work would still be sent to the office.
#include "tool_offices.h"

#include "tool_client.h"
#include "tool_refdb.h"
#include "tool_filter.h"

#include <stdio.h>
#include <string.h>

#define OFFICE_NAME_MAX_BYTES 255 // office_names_fit (0008): workers carry them in fixed room

// clang-format off
static const char LIST_SQL[] =
    "SELECT o.code, o.kind, o.province_code AS province, o.county_code AS county, o.name_en,"
    "       o.name_fa, o.active,"
    "       (SELECT count(*) FROM routing_rule r WHERE r.office_code = o.code AND r.active)"
    "           AS rules"
    " FROM office o"
    " WHERE ($1::text IS NULL OR o.county_code = $1) AND ($2::text IS NULL OR o.province_code = $2)"
    "   AND ($3::boolean OR o.active)"
    " ORDER BY o.code";
// What still sends work to an office: active routing rules naming it and,
// for a county office, the active centers of its county (without a rule,
// a center's requests go to its county office, active or not).
static const char USERS_SQL[] =
    "SELECT (SELECT string_agg(r.id::text, ', ' ORDER BY r.id) FROM routing_rule r"
    "        WHERE r.office_code = o.code AND r.active),"
    "       (SELECT count(*) FROM center c WHERE c.county_code = o.county_code AND c.active)"
    " FROM office o WHERE o.code = $1";
// clang-format on

static const char *
null_if_empty(const char *s)
{
    return s[0] == '\0' ? NULL : s;
}

static bool
still_used(PGconn *conn, const char *code, void *ctx)
{
    bool force = *(const bool *) ctx;
    // Until this transaction ends, no rule or center can start sending work
    // to the office behind the check's back (workers only read: not held up).
    if (!tool_refdb_command(conn, "lock the rules and centers",
                            "LOCK TABLE routing_rule, center IN SHARE MODE", 0, NULL)) {
        return false;
    }
    const char *params[1] = {code};
    PGresult *res = tool_db_query(conn, "look up what the office serves", USERS_SQL, 1, params);
    if (res == NULL) {
        return false;
    }
    const char *rules = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
    const char *centers = PQgetvalue(res, 0, 1);
    bool used = rules != NULL || strcmp(centers, "0") != 0;
    if (rules != NULL) {
        bool one = strchr(rules, ',') == NULL;
        fprintf(stderr, "%s office \"%s\": active routing rule%s %s send%s requests to it%s\n",
                force ? "warning: deactivating" : "cannot deactivate", code, one ? "" : "s", rules,
                one ? "s" : "",
                force ? " (workers will pass over them)" : " (remove them first, or --force)");
    }
    if (strcmp(centers, "0") != 0) {
        fprintf(stderr,
                "%s office \"%s\": %s active center(s) of its county send requests to it when no "
                "rule matches%s\n",
                force ? "warning: deactivating" : "cannot deactivate", code, centers,
                force ? " (they still will)" : " (add rules for them first, or --force)");
    }
    PQclear(res);
    return !used || force;
}

// Adds office code (kind and area from the code) with its names.
static int
add_office(PGconn *conn, const char *actor, const char *code, const tool_office_code *oc,
           const char *name_fa, const char *name_en)
{
    const char *area[1] = {oc->area};
    const char *sql = oc->kind == TOOL_OFFICE_COUNTY
                          ? "SELECT province_code, code FROM county WHERE code = $1"
                          : "SELECT code, NULL FROM province WHERE code = $1";
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    PGresult *res = tool_db_query(conn, "look up the office's area", sql, 1, area);
    bool ok = res != NULL && PQntuples(res) == 1;
    if (res != NULL && !ok) {
        fprintf(stderr, "cannot add office \"%s\": %s \"%s\" does not exist\n", code,
                tool_office_kind_name(oc->kind), oc->area);
    }
    if (ok) {
        const char *params[6] = {code,
                                 tool_office_kind_name(oc->kind),
                                 PQgetvalue(res, 0, 0),
                                 PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
                                 name_fa,
                                 name_en};
        PGresult *ins = tool_db_query(
            conn, "add the office",
            "INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING code",
            6, params);
        ok = ins != NULL && PQntuples(ins) == 1;
        if (ins != NULL && !ok) {
            fprintf(stderr, "office \"%s\" already exists\n", code);
        }
        PQclear(ins);
    }
    PQclear(res);
    if (!tool_refdb_end(conn, ok) || !ok) {
        return TOOL_EXIT_REFUSED;
    }
    printf("office %s added (%s office)\n", code, tool_office_kind_name(oc->kind));
    return TOOL_EXIT_DONE;
}

static const char USAGE[] =
    "usage: referralctl offices list [--county C] [--province P] [--all] [--format table|csv]\n"
    "       referralctl offices add --code CO-<county>|PO-<province> --name-fa TEXT "
    "--name-en TEXT\n"
    "       referralctl offices activate CODE\n"
    "       referralctl offices deactivate CODE [--force]\n"
    "(each with [--db CONNINFO] [--by NAME])\n";

int
tool_offices_main(int argc, char **argv)
{
    tool_refdb_opts ro = {0};
    const char *county = NULL, *province = NULL, *format_name = NULL, *code = NULL, *name_fa = NULL,
               *name_en = NULL;
    bool all = false, force = false;
    rr_opt opts[] = {
        TOOL_REFDB_OPTS(&ro),
        {"county", RR_OPT_STRING, NULL, "", "list: only this county", &county, 0, 0},
        {"province", RR_OPT_STRING, NULL, "", "list: only this province", &province, 0, 0},
        {"all", RR_OPT_FLAG, NULL, "0", "list: inactive offices too", &all, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
        {"code", RR_OPT_STRING, NULL, "", "add: CO-<county> or PO-<province>", &code, 0, 0},
        {"name-fa", RR_OPT_STRING, NULL, "", "add: the Persian name", &name_fa, 0, 0},
        {"name-en", RR_OPT_STRING, NULL, "", "add: the English name", &name_en, 0, 0},
        {"force", RR_OPT_FLAG, NULL, "0",
         "deactivate: even while routing rules or centers send work to it", &force, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    if (!tool_refdb_parse("referralctl offices",
                          "referralctl offices list|add|activate|deactivate: the welfare offices",
                          opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    const char *sub = first < argc ? argv[first] : "";
    int operands = argc - first - 1;
    bool is_list = strcmp(sub, "list") == 0, is_add = strcmp(sub, "add") == 0;
    bool is_state = strcmp(sub, "activate") == 0 || strcmp(sub, "deactivate") == 0;
    if (!((is_list || is_add) && operands == 0) && !(is_state && operands == 1)) {
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (is_list && !tool_filter_check(province, county, format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    char canon[32];
    tool_office_code oc;
    if (!is_list) {
        code = tool_code(is_add ? code : argv[first + 1], canon, sizeof canon);
        if (!tool_office_code_parse(code, &oc)) {
            fprintf(stderr,
                    "invalid office code \"%s\": expected CO-<four-digit county> or "
                    "PO-<two-digit province>\n",
                    code);
            return TOOL_EXIT_USAGE;
        }
    }
    if (is_add && (name_fa[0] == '\0' || name_en[0] == '\0')) {
        fputs("offices add needs --code, --name-fa and --name-en\n", stderr);
        return TOOL_EXIT_USAGE;
    }
    if (is_add && (!tool_refdb_text("name-fa", name_fa, OFFICE_NAME_MAX_BYTES) ||
                   !tool_refdb_text("name-en", name_en, OFFICE_NAME_MAX_BYTES))) {
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
    rc = TOOL_EXIT_REFUSED;
    if (is_list) {
        const char *params[3] = {null_if_empty(county), null_if_empty(province),
                                 all ? "true" : "false"};
        if (tool_filter_exist(conn, province, county, "")) {
            rc = tool_refdb_list(conn, "list the offices", LIST_SQL, 3, params, format);
        }
    } else if (is_add) {
        rc = add_office(conn, actor, code, &oc, name_fa, name_en);
    } else {
        bool activate = strcmp(sub, "activate") == 0;
        rc = tool_refdb_set_active(conn, actor, "office", code, activate,
                                   activate ? NULL : still_used, &force);
    }
    PQfinish(conn);
    return rc;
}
