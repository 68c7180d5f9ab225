// `referralctl services`: list, add, activate (offer again), deactivate
// (withdraw) and set the scope of services. A code's prefix names its domain.
#include "tool_services.h"

#include "tool_client.h"
#include "tool_refdb.h"
#include "tool_filter.h"

#include <stdio.h>
#include <string.h>

#define SERVICE_NAME_MAX_BYTES 255

// clang-format off
static const char LIST_SQL[] =
    "SELECT code, domain, scope, name_en, name_fa, active FROM service"
    " WHERE $1::boolean OR active ORDER BY code";
// clang-format on

static int
add_service(PGconn *conn, const char *actor, const char *const params[5])
{
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    PGresult *res = tool_db_query(conn, "add the service",
                                  "INSERT INTO service (code, domain, scope, name_en, name_fa)"
                                  " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING"
                                  " RETURNING code",
                                  5, params);
    bool added = res != NULL && PQntuples(res) == 1;
    if (res != NULL && !added) {
        fprintf(stderr, "service \"%s\" already exists\n", params[0]);
    }
    PQclear(res);
    if (!tool_refdb_end(conn, added) || !added) {
        return TOOL_EXIT_REFUSED;
    }
    printf("service %s added (%s, per %s)\n", params[0], params[1], params[2]);
    return TOOL_EXIT_DONE;
}

// Sets a service's scope: who "no parallel work" counts per. Referrals keep
// the scope they were submitted with (0009), so open ones are not affected.
static int
set_scope(PGconn *conn, const char *actor, const char *code, const char *scope)
{
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    const char *params[2] = {code, scope};
    PGresult *res =
        tool_db_query(conn, "look up the service",
                      "SELECT scope FROM service WHERE code = $1 FOR UPDATE", 1, params);
    bool change = false;
    int rc = TOOL_EXIT_REFUSED;
    if (res != NULL && PQntuples(res) == 0) {
        fprintf(stderr, "unrecognized service \"%s\"\n", code);
    } else if (res != NULL && strcmp(PQgetvalue(res, 0, 0), scope) == 0) {
        printf("service %s is already per %s: nothing changed\n", code, scope);
        rc = TOOL_EXIT_DONE;
    } else if (res != NULL) {
        change = tool_refdb_command(conn, "change the scope",
                                    "UPDATE service SET scope = $2 WHERE code = $1", 2, params);
    }
    PQclear(res);
    if (!tool_refdb_end(conn, change)) {
        return TOOL_EXIT_REFUSED;
    }
    if (change) {
        printf("service %s is now per %s\n", code, scope);
        rc = TOOL_EXIT_DONE;
    }
    return rc;
}

static bool
valid_scope(const char *scope)
{
    if (strcmp(scope, "person") == 0 || strcmp(scope, "household") == 0) {
        return true;
    }
    fprintf(stderr, "invalid scope \"%s\": expected person or household\n", scope);
    return false;
}

static const char USAGE[] = "usage: referralctl services list [--all] [--format table|csv]\n"
                            "       referralctl services add --code PRV-NN|RHB-NN|SOC-NN [--domain "
                            "D] --name-en TEXT --name-fa TEXT "
                            "[--scope person|household]\n"
                            "       referralctl services activate|deactivate CODE\n"
                            "       referralctl services scope CODE household|person\n"
                            "(each with [--db CONNINFO] [--by NAME])\n";

int
tool_services_main(int argc, char **argv)
{
    tool_refdb_opts ro = {0};
    const char *format_name = NULL, *code = NULL, *domain = NULL, *name_fa = NULL, *name_en = NULL,
               *scope = NULL;
    bool all = false;
    rr_opt opts[] = {
        TOOL_REFDB_OPTS(&ro),
        {"all", RR_OPT_FLAG, NULL, "0", "list: withdrawn services too", &all, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
        {"code", RR_OPT_STRING, NULL, "", "add: the code, e.g. SOC-12", &code, 0, 0},
        {"domain", RR_OPT_STRING, NULL, "",
         "add: prevention, rehabilitation or social (default: the code's prefix)", &domain, 0, 0},
        {"name-en", RR_OPT_STRING, NULL, "", "add: the English name", &name_en, 0, 0},
        {"name-fa", RR_OPT_STRING, NULL, "", "add: the Persian name", &name_fa, 0, 0},
        {"scope", RR_OPT_STRING, NULL, "person",
         "add: who one open referral is counted per: person or household", &scope, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    if (!tool_refdb_parse("referralctl services",
                          "referralctl services list|add|activate|deactivate|scope: the service "
                          "catalogue",
                          opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    const char *sub = first < argc ? argv[first] : "";
    int operands = argc - first - 1;
    bool is_list = strcmp(sub, "list") == 0, is_add = strcmp(sub, "add") == 0;
    bool is_state = strcmp(sub, "activate") == 0 || strcmp(sub, "deactivate") == 0;
    bool is_scope = strcmp(sub, "scope") == 0;
    if (!((is_list || is_add) && operands == 0) && !(is_state && operands == 1) &&
        !(is_scope && operands == 2)) {
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (is_list && !tool_filter_check("", "", format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    char canon[32];
    code = is_list ? code : tool_code(is_add ? code : argv[first + 1], canon, sizeof canon);
    if (is_scope) {
        scope = argv[first + 2];
    }
    if ((is_add || is_scope) && !valid_scope(scope)) {
        return TOOL_EXIT_USAGE;
    }
    if (is_add) {
        rr_domain d = domain[0] != '\0' ? rr_domain_parse(domain) : rr_domain_of_service_code(code);
        char why[TOOL_WHY_BYTES];
        if (domain[0] != '\0' && d == RR_DOMAIN_NONE) {
            fprintf(stderr,
                    "invalid domain \"%s\": expected prevention, rehabilitation or "
                    "social\n",
                    domain);
            return TOOL_EXIT_USAGE;
        }
        if (name_fa[0] == '\0' || name_en[0] == '\0') {
            fputs("services add needs --code, --name-en and --name-fa\n", stderr);
            return TOOL_EXIT_USAGE;
        }
        if (!tool_service_code_check(code, d, why)) {
            fprintf(stderr, "%s\n", why);
            return TOOL_EXIT_USAGE;
        }
        if (!tool_refdb_text("name-en", name_en, SERVICE_NAME_MAX_BYTES) ||
            !tool_refdb_text("name-fa", name_fa, SERVICE_NAME_MAX_BYTES)) {
            return TOOL_EXIT_USAGE;
        }
        domain = rr_domain_name(d);
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
        const char *params[1] = {all ? "true" : "false"};
        rc = tool_refdb_list(conn, "list the services", LIST_SQL, 1, params, format);
    } else if (is_add) {
        const char *params[5] = {code, domain, scope, name_en, name_fa};
        rc = add_service(conn, actor, params);
    } else if (is_scope) {
        rc = set_scope(conn, actor, code, scope);
    } else {
        rc = tool_refdb_set_active(conn, actor, "service", code, strcmp(sub, "activate") == 0, NULL,
                                   NULL);
    }
    PQfinish(conn);
    return rc;
}
