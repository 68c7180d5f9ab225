// `referralctl neighbourhoods list|import`: the registry of neighbourhoods
// per county (urban or rural, red-line flag, the centers that serve them).
// Rows are checked in C (tool_nbhd_row_check), then each is applied by the
// database's import_neighbourhood under a savepoint, so one bad row is
// refused alone and the valid rows commit together, as for centers.
#include "tool_neighbourhoods.h"

#include "tool_filter.h"
#include "tool_migrate.h"
#include "tool_refcsv.h"
#include "tool_refdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// clang-format off
static const char LIST_SQL[] =
    "SELECT n.id, n.county_code AS county, k.province_code AS province, n.name, n.setting,"
    "       n.red_line, coalesce(string_agg(nc.center_code::text, ';'"
    "                            ORDER BY nc.center_code), '') AS centers"
    " FROM neighbourhood n JOIN county k ON k.code = n.county_code"
    " LEFT JOIN neighbourhood_center nc ON nc.neighbourhood_id = n.id"
    " WHERE ($1::text IS NULL OR n.county_code = $1) AND ($2::text IS NULL OR k.province_code = $2)"
    "   AND (NOT $3::boolean OR n.red_line)"
    " GROUP BY n.id, k.province_code ORDER BY n.county_code, n.name_key";
// clang-format on

static const char USAGE[] =
    "usage: referralctl neighbourhoods list [--county C] [--province P] [--red-line] "
    "[--format table|csv]\n"
    "       referralctl neighbourhoods import FILE.csv [--dry-run]\n"
    "(each with [--db CONNINFO] [--by NAME])\n";

typedef struct tally {
    size_t added, changed, unchanged, refused;
} tally;

static void
print_refusal(const tool_refusal *why)
{
    printf("refused line %zu, %s: %s\n", why->line, why->field, why->reason);
}

// Applies one checked row under a savepoint: false (after printing why)
// when the database refused it (unknown county, a center elsewhere).
static bool
apply_row(PGconn *conn, const tool_nbhd_row *row, tally *t)
{
    char centers[TOOL_NBHD_MAX_CENTERS * 12 + 3];
    size_t at = 0;
    centers[at++] = '{';
    for (size_t i = 0; i < row->n_centers; i++) {
        int n = snprintf(centers + at, sizeof centers - at, "%s%ld", i ? "," : "", row->centers[i]);
        at += n > 0 ? (size_t) n : 0; // 32 codes of at most 10 digits fit
    }
    (void) snprintf(centers + at, sizeof centers - at, "}");
    const char *params[5] = {row->county, row->name, row->rural ? "rural" : "urban",
                             row->red_line ? "true" : "false", centers};
    if (!tool_refdb_command(conn, "set a savepoint", "SAVEPOINT row", 0, NULL)) {
        return false;
    }
    PGresult *res = PQexecParams(conn,
                                 "SELECT import_neighbourhood($1, $2, $3, $4::boolean,"
                                 " $5::integer[])",
                                 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        tool_refusal why = {.line = row->line, .field = "row"};
        const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
        if (column != NULL && strcmp(column, "centers") == 0) {
            why.field = "centers";
        } else if (column != NULL && strcmp(column, "county") == 0) {
            why.field = "county";
        }
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        (void) snprintf(why.reason, sizeof why.reason, "%s", msg ? msg : "refused");
        PQclear(res);
        print_refusal(&why);
        t->refused++;
        return tool_refdb_command(conn, "roll back the row", "ROLLBACK TO SAVEPOINT row", 0, NULL);
    }
    const char *what = PQgetvalue(res, 0, 0);
    t->added += strcmp(what, "added") == 0;
    t->changed += strcmp(what, "changed") == 0;
    t->unchanged += strcmp(what, "unchanged") == 0;
    PQclear(res);
    return tool_refdb_command(conn, "release the savepoint", "RELEASE SAVEPOINT row", 0, NULL);
}

static int
import_file(PGconn *conn, const char *actor, const char *path, bool dry_run)
{
    size_t len = 0;
    char *data = tool_migrate_read_file(path, &len);
    char *scratch = data != NULL ? malloc(len + 1) : NULL;
    int rc = TOOL_EXIT_USAGE;
    size_t pos = 0, line = 1;
    tool_csv_record rec = {0};
    tool_nbhd_columns cols;
    tool_refusal why;
    if (scratch == NULL) {
        fprintf(stderr, "cannot read \"%s\"\n", path);
        goto done;
    }
    if (!tool_csv_next(data, len, &pos, &line, scratch, &rec) ||
        !tool_nbhd_header(&rec, &cols, &why)) {
        fprintf(stderr, "cannot import \"%s\": %s\n", path,
                rec.count ? why.reason : "the file is empty");
        goto done;
    }
    rc = TOOL_EXIT_REFUSED;
    if (!tool_refdb_begin(conn, actor)) {
        goto done;
    }
    tally t = {0};
    bool ok = true;
    tool_nbhd_row row;
    while (ok && tool_csv_next(data, len, &pos, &line, scratch, &rec)) {
        if (tool_csv_blank(&rec)) {
            continue;
        }
        if (!tool_nbhd_row_check(&rec, &cols, &row, &why)) {
            print_refusal(&why);
            t.refused++;
            continue;
        }
        ok = apply_row(conn, &row, &t);
    }
    if (!tool_refdb_end(conn, ok && !dry_run) || !ok) {
        goto done;
    }
    printf("added %zu, changed %zu, unchanged %zu, refused %zu%s\n", t.added, t.changed,
           t.unchanged, t.refused, dry_run ? " (dry run: nothing was changed)" : "");
    rc = t.refused ? TOOL_EXIT_REFUSED : TOOL_EXIT_DONE;
done:
    free(scratch);
    free(data);
    return rc;
}

int
tool_neighbourhoods_main(int argc, char **argv)
{
    tool_refdb_opts ro = {0};
    const char *county = NULL, *province = NULL, *format_name = NULL;
    bool dry_run = false, red_line = false;
    rr_opt opts[] = {
        TOOL_REFDB_OPTS(&ro),
        {"county", RR_OPT_STRING, NULL, "", "list: only this county", &county, 0, 0},
        {"province", RR_OPT_STRING, NULL, "", "list: only this province", &province, 0, 0},
        {"red-line", RR_OPT_FLAG, NULL, "0", "list: only red-line (marginal, high-risk) ones",
         &red_line, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
        {"dry-run", RR_OPT_FLAG, NULL, "0", "import: report what would change, change nothing",
         &dry_run, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    if (!tool_refdb_parse("referralctl neighbourhoods",
                          "referralctl neighbourhoods list|import: the neighbourhoods of each "
                          "county and the centers that serve them",
                          opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    const char *sub = first < argc ? argv[first] : "";
    int operands = argc - first - 1;
    bool is_list = strcmp(sub, "list") == 0 && operands == 0;
    bool is_import = strcmp(sub, "import") == 0 && operands == 1;
    tool_db_format format = TOOL_DB_TABLE;
    if (!is_list && !is_import) {
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    if (is_list && !tool_filter_check(province, county, format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    char actor[TOOL_ACTOR_MAX_BYTES + 1] = "";
    if (is_import && !tool_refdb_actor(ro.by, actor)) {
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect_writable(ro.db);
    if (conn == NULL) {
        return TOOL_EXIT_REFUSED;
    }
    if (is_list) {
        const char *params[3] = {tool_filter_or_null(county), tool_filter_or_null(province),
                                 red_line ? "true" : "false"};
        rc = tool_filter_exist(conn, province, county, "")
                 ? tool_refdb_list(conn, "list the neighbourhoods", LIST_SQL, 3, params, format)
                 : TOOL_EXIT_REFUSED;
    } else {
        rc = import_file(conn, actor, argv[first + 1], dry_run);
    }
    PQfinish(conn);
    return rc;
}
