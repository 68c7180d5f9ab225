// referralctl report donations --province P: three tables from the ledger
// (each earmark; the sums by county; the allocations and what each drew
// from), then whether every earmark's balance equals the sum of its
// entries. Only reads; days as Solar Hijri unless --calendar gregorian.
#include "tool_report_donations.h"

#include "tool_filter.h"

#include <stdio.h>
#include <string.h>

#define DAY_SQL(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

// clang-format off
// One row per earmark: its place (county, neighbourhood; empty for the
// province-wide pots), its intent, the money in and out, the balance.
static const char EARMARKS_SQL[] =
    "SELECT coalesce(e.county_code, '') AS county, coalesce(n.name, '') AS neighbourhood,"
    "       e.intent, e.target_key AS earmark, count(d.donation_id) AS donations,"
    "       r.received, r.allocated, r.balance,"
    "       " DAY_SQL("min(d.recorded_at)") " AS first_day,"
    "       " DAY_SQL("max(d.recorded_at)") " AS last_day"
    " FROM earmark e JOIN earmark_reconciliation r ON r.id = e.id"
    " LEFT JOIN neighbourhood n ON n.id = e.neighbourhood_id"
    " LEFT JOIN donation d ON d.earmark_id = e.id"
    " WHERE e.province_code = $1"
    " GROUP BY e.id, n.name, r.received, r.allocated, r.balance"
    " ORDER BY allocation_draw_rank(e.intent) > 2, e.county_code, n.name, e.id";

// The same sums by county (neighbourhood pots counted in their county's
// row), the province-wide pots on one row, and the province's total.
static const char COUNTIES_SQL[] =
    "SELECT CASE WHEN grouping(e.county_code) = 1 THEN 'total'"
    "            ELSE coalesce(e.county_code, 'province-wide') END AS county,"
    "       CASE WHEN grouping(e.county_code) = 1 THEN '' ELSE coalesce(max(k.name_en), '') END"
    "         AS county_name,"
    "       sum(r.received)::bigint AS received, sum(r.allocated)::bigint AS allocated,"
    "       sum(r.balance)::bigint AS balance"
    " FROM earmark e JOIN earmark_reconciliation r ON r.id = e.id"
    " LEFT JOIN county k ON k.code = e.county_code"
    " WHERE e.province_code = $1"
    " GROUP BY ROLLUP (e.county_code)"
    " ORDER BY grouping(e.county_code), e.county_code NULLS LAST";

static const char ALLOCATIONS_SQL[] =
    "SELECT a.decision_ref AS decision, " DAY_SQL("a.recorded_at") " AS day, a.amount,"
    "       a.county_code AS county, coalesce(n.name, '') AS neighbourhood,"
    "       coalesce(a.service_code, a.domain, '') AS for_service, a.purpose,"
    "       string_agg(e.target_key || ' ' || (-l.amount)::text, '; ' ORDER BY l.id) AS drawn_from,"
    "       a.decided_by"
    " FROM allocation a LEFT JOIN neighbourhood n ON n.id = a.neighbourhood_id"
    " JOIN ledger_entry l ON l.allocation_id = a.id JOIN earmark e ON e.id = l.earmark_id"
    " WHERE a.province_code = $1"
    " GROUP BY a.id, n.name ORDER BY a.recorded_at, a.id";
// clang-format on

// Prints one section: a title line (table format only) and the rows.
static bool
section(PGconn *conn, const char *title, const char *sql, const char *province,
        tool_db_format format, const tool_db_cells *cells)
{
    PGresult *res = tool_db_query(conn, title, sql, 1, &province);
    if (res == NULL) {
        return false;
    }
    if (format == TOOL_DB_TABLE) {
        printf("%s\n", title);
    }
    bool ok = tool_db_print_cells(stdout, res, format, cells) == RR_OK;
    PQclear(res);
    if (format == TOOL_DB_TABLE) {
        printf("\n");
    }
    return ok;
}

int
tool_report_donations_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *format_name = NULL, *calendar_name = NULL;
    int rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        {"province", RR_OPT_STRING, NULL, "", "the province (two digits; required)", &province, 0,
         0},
        {"calendar", RR_OPT_STRING, NULL, "jalali", "days printed as jalali or gregorian",
         &calendar_name, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "output: table or csv", &format_name, 0, 0},
    };
    if (!tool_filter_options("referralctl report donations",
                             "referralctl report donations --province P: donations received, "
                             "allocated and left, by earmark, neighbourhood and county",
                             opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    tool_calendar calendar = TOOL_CALENDAR_JALALI;
    if (province[0] == '\0') {
        fprintf(stderr, "report donations needs --province\n");
        return TOOL_EXIT_USAGE;
    }
    if (!tool_filter_check(province, "", format_name, &format) ||
        !tool_filter_calendar(calendar_name, &calendar)) {
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return TOOL_EXIT_FAILED;
    }
    rc = TOOL_EXIT_FAILED;
    static const char *const day_columns[] = {"first_day", "last_day", "day", NULL};
    tool_filter_days days = {calendar, day_columns};
    tool_db_cells cells = {tool_filter_day_cell, &days};
    if (tool_filter_exist(conn, province, "", "") &&
        section(conn, "earmarks", EARMARKS_SQL, province, format, &cells) &&
        section(conn, "by county", COUNTIES_SQL, province, format, NULL) &&
        section(conn, "allocations", ALLOCATIONS_SQL, province, format, &cells)) {
        PGresult *res = tool_db_query(conn, "reconcile the ledger",
                                      "SELECT count(*) FILTER (WHERE NOT reconciled), count(*)"
                                      " FROM earmark_reconciliation WHERE province_code = $1",
                                      1, &province);
        if (res != NULL) {
            bool ok = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
            // On stderr in CSV, so that the file stays one table per section.
            fprintf(format == TOOL_DB_TABLE ? stdout : stderr,
                    "%s: %s of %s earmarks' balances equal the sum of their entries\n",
                    ok ? "reconciled" : "NOT RECONCILED",
                    ok ? PQgetvalue(res, 0, 1) : PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
            rc = ok ? TOOL_EXIT_DONE : TOOL_EXIT_FAILED;
        }
        PQclear(res);
    }
    PQfinish(conn);
    return rc;
}
