// `referralctl centers`: list, add, activate and deactivate Positive Life
// centers, and import the register from CSV (tool_import). A center added
// here is checked by the very function that checks a register row.
#include "tool_centers.h"

#include "tool_import.h"
#include "tool_refcsv.h"
#include "tool_filter.h"
#include "tool_refdb.h"

#include <stdio.h>
#include <string.h>

// clang-format off
static const char LIST_SQL[] =
    "SELECT c.code, c.county_code AS county, k.province_code AS province,"
    "       k.name_en AS county_name, c.neighbourhood, c.name, c.active"
    " FROM center c JOIN county k ON k.code = c.county_code"
    " WHERE ($1::text IS NULL OR c.county_code = $1) AND ($2::text IS NULL OR k.province_code = $2)"
    "   AND ($3::boolean OR c.active)"
    " ORDER BY c.code";
// clang-format on

static const char *
null_if_empty(const char *s)
{
    return s[0] == '\0' ? NULL : s;
}

static bool
county_in_database(void *ctx, const char *code)
{
    PGconn *conn = ctx;
    const char *params[1] = {code};
    PGresult *res = tool_db_query(conn, "look up the county",
                                  "SELECT 1 FROM county WHERE code = $1", 1, params);
    bool found = res != NULL && PQntuples(res) == 1;
    PQclear(res);
    return found;
}

// The options of `centers add` as a register row, checked as one.
static bool
check_new_center(PGconn *conn, const char *code, const char *county, const char *name,
                 const char *neighbourhood, tool_center_row *row)
{
    static const tool_center_columns cols = {
        .code = 0, .county = 1, .neighbourhood = 2, .name = 3, .active = -1, .count = 4};
    tool_csv_record rec = {.line = 0, .count = 4, .field = {code, county, neighbourhood, name}};
    for (size_t i = 0; i < 4; i++) {
        rec.len[i] = strlen(rec.field[i]);
    }
    tool_refusal why;
    if (!tool_center_row_check(&rec, &cols, county_in_database, conn, row, &why)) {
        fprintf(stderr, "invalid --%s: %s\n", why.field, why.reason);
        return false;
    }
    return true;
}

static int
add_center(PGconn *conn, const char *actor, const tool_center_row *row)
{
    char code[24];
    int n = snprintf(code, sizeof code, "%ld", row->code);
    (void) n; // a long always fits
    const char *params[4] = {code, row->county, row->neighbourhood, row->name};
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    PGresult *res = tool_db_query(conn, "add the center",
                                  "INSERT INTO center (code, county_code, neighbourhood, name)"
                                  " VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING"
                                  " RETURNING code",
                                  4, params);
    bool added = res != NULL && PQntuples(res) == 1;
    if (res != NULL && !added) {
        fprintf(stderr, "center \"%s\" already exists\n", code);
    }
    PQclear(res);
    if (!tool_refdb_end(conn, added) || !added) {
        return TOOL_EXIT_REFUSED;
    }
    printf("center %s added in county %s\n", code, row->county);
    return TOOL_EXIT_DONE;
}

// A center code as typed (Persian digits too) checked into out.
static bool
center_code(const char *typed, char out[24])
{
    long code = 0;
    tool_refusal why;
    if (!tool_center_code_read(typed, strlen(typed), 0, &code, &why)) {
        fprintf(stderr, "%s%s\n", strncmp(why.reason, "invalid", 7) == 0 ? "" : "center code ",
                why.reason);
        return false;
    }
    int n = snprintf(out, 24, "%ld", code);
    (void) n; // a long always fits
    return true;
}

static const char USAGE[] =
    "usage: referralctl centers list [--county C] [--province P] [--all] [--format table|csv]\n"
    "       referralctl centers add --code N --county C --name TEXT [--neighbourhood TEXT]\n"
    "       referralctl centers activate|deactivate CODE\n"
    "       referralctl centers import FILE.csv [--dry-run]\n"
    "(each with [--db CONNINFO] [--by NAME])\n";

int
tool_centers_main(int argc, char **argv)
{
    tool_refdb_opts ro = {0};
    const char *county = NULL, *province = NULL, *format_name = NULL, *code = NULL, *name = NULL,
               *hood = NULL;
    bool all = false, dry_run = false;
    rr_opt opts[] = {
        TOOL_REFDB_OPTS(&ro),
        {"county", RR_OPT_STRING, NULL, "", "list: only this county; add: the center's county",
         &county, 0, 0},
        {"province", RR_OPT_STRING, NULL, "", "list: only this province", &province, 0, 0},
        {"all", RR_OPT_FLAG, NULL, "0", "list: inactive centers too", &all, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
        {"code", RR_OPT_STRING, NULL, "", "add: the center's code", &code, 0, 0},
        {"name", RR_OPT_STRING, NULL, "", "add: the center's name", &name, 0, 0},
        {"neighbourhood", RR_OPT_STRING, NULL, "", "add: the center's neighbourhood", &hood, 0, 0},
        {"dry-run", RR_OPT_FLAG, NULL, "0", "import: report what would change, change nothing",
         &dry_run, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    if (!tool_refdb_parse("referralctl centers",
                          "referralctl centers list|add|activate|deactivate|import: the "
                          "Positive Life centers",
                          opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    const char *sub = first < argc ? argv[first] : "";
    int operands = argc - first - 1;
    bool is_list = strcmp(sub, "list") == 0, is_add = strcmp(sub, "add") == 0;
    bool is_import = strcmp(sub, "import") == 0;
    bool is_state = strcmp(sub, "activate") == 0 || strcmp(sub, "deactivate") == 0;
    tool_db_format format = TOOL_DB_TABLE;
    char code_text[24];
    if (!((is_list || is_add) && operands == 0) && !((is_import || is_state) && operands == 1)) {
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    if (is_add && (code[0] == '\0' || county[0] == '\0' || name[0] == '\0')) {
        fputs("centers add needs --code, --county and --name\n", stderr);
        return TOOL_EXIT_USAGE;
    }
    if ((is_list && !tool_filter_check(province, county, format_name, &format)) ||
        (is_state && !center_code(argv[first + 1], code_text))) {
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
    tool_center_row row;
    if (is_list) {
        const char *params[3] = {null_if_empty(county), null_if_empty(province),
                                 all ? "true" : "false"};
        if (tool_filter_exist(conn, province, county, "")) {
            rc = tool_refdb_list(conn, "list the centers", LIST_SQL, 3, params, format);
        }
    } else if (is_add) {
        rc = check_new_center(conn, code, county, name, hood, &row) ? add_center(conn, actor, &row)
                                                                    : TOOL_EXIT_REFUSED;
    } else if (is_state) {
        rc = tool_refdb_set_active(conn, actor, "center", code_text, strcmp(sub, "activate") == 0,
                                   NULL, NULL);
    } else {
        rc = tool_centers_import(conn, actor, argv[first + 1], dry_run);
    }
    PQfinish(conn);
    return rc;
}
