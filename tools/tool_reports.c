// The operator reports: options and their checks, the SQL of each report
// (parameters only), and its layout. Printing goes through tool_db.
#include "tool_reports.h"

#include "rr_config.h"
#include "rr_wire.h"
#include "tool_calendar.h"
#include "tool_db.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EXIT_DONE   0
#define EXIT_FAILED 1
#define EXIT_USAGE  2

// A timestamptz column as UTC ISO 8601, e.g. 2025-03-01T13:00:00Z.
#define UTC_TEXT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// Parses options; false when the command ends here with *exit_code (after
// --help, or a usage error already printed).
static bool
parse_options(const char *program, const char *summary, rr_opt *opts, int count, int argc,
              char **argv, int *first_arg, int *exit_code)
{
    rr_status st = rr_config_parse(program, summary, opts, count, argc, argv, first_arg);
    if (st == RR_ESHUTDOWN) {
        *exit_code = EXIT_DONE;
        return false;
    }
    if (st != RR_OK) {
        *exit_code = EXIT_USAGE;
        return false;
    }
    return true;
}

static const char *
null_if_empty(const char *s)
{
    return s[0] == '\0' ? NULL : s;
}

// Runs a report query and prints its rows; the exit status.
static int
print_query(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params,
            tool_db_format format)
{
    PGresult *res = tool_db_query(conn, what, sql, nparams, params);
    if (res == NULL) {
        return EXIT_FAILED;
    }
    rr_status st = tool_db_print(stdout, res, format);
    PQclear(res);
    return st == RR_OK ? EXIT_DONE : EXIT_FAILED;
}

// --- referralctl household ------------------------------------------------

// clang-format off
static const char HOUSEHOLD_SQL[] =
    "SELECT h.id, h.center_code, c.name, " UTC_TEXT("h.created_at") ","
    "       (SELECT string_agg('\"' || s.spelling || '\"', ', ' ORDER BY s.spelling)"
    "        FROM household_spelling s WHERE s.household_id = h.id)"
    " FROM household h JOIN center c ON c.code = h.center_code WHERE h.id = $1";
// clang-format on

// National ids are masked in SQL, so that a full id never leaves the
// database unless asked for.
// clang-format off
static const char MEMBERS_SQL[] =
    "SELECT CASE WHEN $2::boolean THEN p.national_id"
    "            ELSE '******' || right(p.national_id, 4) END AS national_id,"
    "       " UTC_TEXT("p.updated_at") " AS member_since"
    " FROM person p WHERE p.household_id = $1 ORDER BY p.national_id";
// clang-format on

// clang-format off
static const char REFERRALS_SQL[] =
    "SELECT 'R-' || r.id AS referral, r.service_code AS service,"
    "       CASE WHEN $2::boolean THEN r.national_id"
    "            ELSE '******' || right(r.national_id, 4) END AS member,"
    "       r.scope AS \"for\", r.domain, r.priority,"
    "       r.status, r.office_code AS office, o.name_en AS office_name,"
    "       " UTC_TEXT("r.created_at") " AS created_at"
    " FROM referral r JOIN office o ON o.code = r.office_code"
    " WHERE r.household_id = $1 ORDER BY r.created_at DESC, r.id DESC";
// clang-format on

static int
print_household(PGconn *conn, const char *typed, bool show_ids)
{
    // Found as it is filed: in canonical form, however it was typed.
    char id[RR_WIRE_MAX_HOUSEHOLD_BYTES + 1];
    rr_wire_error err;
    if (rr_wire_household_canon(typed, id, &err) != RR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return EXIT_USAGE;
    }
    const char *params[2] = {id, show_ids ? "true" : "false"};
    PGresult *res = tool_db_query(conn, "read the household", HOUSEHOLD_SQL, 1, params);
    if (res == NULL) {
        return EXIT_FAILED;
    }
    if (PQntuples(res) == 0) {
        if (strcmp(typed, id) != 0) {
            fprintf(stderr, "household \"%s\" (filed as \"%s\") does not exist\n", typed, id);
        } else {
            fprintf(stderr, "household \"%s\" does not exist\n", id);
        }
        PQclear(res);
        return EXIT_FAILED;
    }
    printf("household   %s\n", PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 4)) {
        printf("also typed  %s\n", PQgetvalue(res, 0, 4)); // spellings merged by 0009
    }
    printf("opened by   %s %s\ncreated_at  %s\n\nmembers\n", PQgetvalue(res, 0, 1),
           PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
    PQclear(res);
    int rc =
        print_query(conn, "read the household's members", MEMBERS_SQL, 2, params, TOOL_DB_TABLE);
    if (rc != EXIT_DONE) {
        return rc;
    }
    printf("\nreferrals\n");
    return print_query(conn, "read the household's referrals", REFERRALS_SQL, 2, params,
                       TOOL_DB_TABLE);
}

int
tool_household_main(int argc, char **argv)
{
    const char *db = NULL;
    bool show_ids = false;
    int first = 0, rc = EXIT_USAGE;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"show-ids", RR_OPT_FLAG, NULL, "0",
         "print national ids in full (otherwise only their last 4 digits)", &show_ids, 0, 0},
    };
    const char *program = "referralctl household";
    const char *summary = "referralctl household ID: a household's file, its members and its "
                          "referrals, newest first";
    if (!parse_options(program, summary, opts, (int) (sizeof opts / sizeof opts[0]), argc, argv,
                       &first, &rc)) {
        return rc;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: referralctl household ID [--show-ids] [--db CONNINFO]\n");
        return EXIT_USAGE;
    }
    if (first != argc - 1) {
        fprintf(stderr, "usage: referralctl household ID [--show-ids] [--db CONNINFO]\n");
        return EXIT_USAGE;
    }
    const char *id = argv[first];
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return EXIT_FAILED;
    }
    rc = print_household(conn, id, show_ids);
    PQfinish(conn);
    return rc;
}

// --- referralctl overdue --------------------------------------------------

// Open referrals nobody accepted before the deadline, and escalated ones
// still open, most overdue first. The province and county are the center's.
// clang-format off
static const char OVERDUE_SQL[] =
    "SELECT 'R-' || r.id AS referral, r.center_code AS center, c.county_code AS county,"
    "       r.service_code AS service, r.priority, r.status, r.office_code,"
    "       " UTC_TEXT("r.accept_deadline") " AS accept_deadline,"
    "       " UTC_TEXT("r.escalated_at") " AS escalated_at,"
    "       (s.late / 86400) || 'd ' || lpad((s.late % 86400 / 3600)::text, 2, '0') || 'h '"
    "           || lpad((s.late % 3600 / 60)::text, 2, '0') || 'm' AS overdue"
    " FROM referral r"
    " JOIN center c ON c.code = r.center_code"
    " JOIN county k ON k.code = c.county_code"
    " CROSS JOIN LATERAL (SELECT CASE WHEN r.accept_deadline < now() THEN"
    "     floor(extract(epoch FROM now() - r.accept_deadline))::bigint END AS late) s"
    " WHERE ((r.status IN ('requested', 'received') AND r.accept_deadline < now())"
    "        OR (r.escalated_at IS NOT NULL AND referral_is_open(r.status)))"
    "   AND ($1::text IS NULL OR k.province_code = $1)"
    "   AND ($2::text IS NULL OR c.county_code = $2)"
    " ORDER BY r.accept_deadline NULLS LAST, r.id";
// clang-format on

int
tool_overdue_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *county = NULL, *format_name = NULL;
    int rc = EXIT_USAGE;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"province", RR_OPT_STRING, NULL, "", "only centers in this province (two digits)",
         &province, 0, 0},
        {"county", RR_OPT_STRING, NULL, "", "only centers in this county (four digits)", &county, 0,
         0},
        {"format", RR_OPT_STRING, NULL, "table", "output: table or csv", &format_name, 0, 0},
    };
    if (!parse_options("referralctl overdue",
                       "referralctl overdue: open referrals past their acceptance deadline, and "
                       "escalated ones still open",
                       opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (!tool_db_check_filters(province, county, format_name, &format)) {
        return EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return EXIT_FAILED;
    }
    rc = EXIT_FAILED;
    if (tool_db_areas_exist(conn, province, county)) {
        const char *params[2] = {null_if_empty(province), null_if_empty(county)};
        rc = print_query(conn, "list overdue referrals", OVERDUE_SQL, 2, params, format);
    }
    PQfinish(conn);
    return rc;
}

// --- referralctl report needs ---------------------------------------------

// Requests by area (county, then neighbourhood: canonical, so that its
// spellings are one row, shown by its most common spelling), domain and
// service: how many, for how many households and persons, in which state
// (open + completed + rejected + failed + cancelled = requests), the median
// days from creation to the first acceptance, the first and last request
// (UTC days, printed in the calendar asked for) and the risk flags carried.
// $1 province, $2 county (NULL: all), $3 since, $4 until (UTC days, NULL:
// open-ended).
// clang-format off
static const char NEEDS_SQL[] =
    "WITH base AS ("
    "  SELECT r.id, r.household_id, r.national_id, r.domain, r.service_code, r.status,"
    "         r.risk_flags, r.created_at, k.province_code, k.code AS county, k.name_en, k.name_fa,"
    "         c.neighbourhood_key AS area, btrim(c.neighbourhood) AS spelling"
    "  FROM referral r"
    "  JOIN center c ON c.code = r.center_code"
    "  JOIN county k ON k.code = c.county_code"
    "  WHERE ($1::text IS NULL OR k.province_code = $1)"
    "    AND ($2::text IS NULL OR k.code = $2)"
    "    AND ($3::date IS NULL OR r.created_at >= $3::date::timestamp AT TIME ZONE 'UTC')"
    "    AND ($4::date IS NULL OR r.created_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC')"
    "), flags AS ("
    "  SELECT county, area, domain, service_code,"
    "         string_agg(flag || ' ' || n, ', ' ORDER BY n DESC, flag) AS risk_flags"
    "  FROM (SELECT county, area, domain, service_code, flag, count(*) AS n"
    "        FROM base, unnest(risk_flags) AS flag GROUP BY 1, 2, 3, 4, 5) f"
    "  GROUP BY 1, 2, 3, 4"
    ")"
    " SELECT b.province_code AS province, b.county, b.name_en AS county_name,"
    "        b.name_fa AS county_name_fa,"
    "        mode() WITHIN GROUP (ORDER BY b.spelling) AS neighbourhood,"
    "        b.domain, b.service_code AS service, count(*) AS requests,"
    "        count(DISTINCT b.household_id) AS households,"
    "        count(DISTINCT b.national_id) AS persons,"
    "        count(*) FILTER (WHERE referral_is_open(b.status)) AS open,"
    "        count(*) FILTER (WHERE b.status = 'completed') AS completed,"
    "        count(*) FILTER (WHERE b.status = 'rejected') AS rejected,"
    "        count(*) FILTER (WHERE b.status = 'failed') AS failed,"
    "        count(*) FILTER (WHERE b.status = 'cancelled') AS cancelled,"
    "        round((percentile_cont(0.5) WITHIN GROUP"
    "               (ORDER BY extract(epoch FROM a.at - b.created_at)::double precision / 86400)"
    "              )::numeric, 1) AS median_days_to_accept,"
    "        to_char(min(b.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_request,"
    "        to_char(max(b.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_request,"
    "        coalesce(f.risk_flags, '') AS risk_flags"
    " FROM base b"
    " LEFT JOIN LATERAL (SELECT min(e.at) AS at FROM referral_event e"
    "                    WHERE e.referral_id = b.id AND e.to_status = 'accepted') a ON true"
    " LEFT JOIN flags f ON f.county = b.county AND f.area = b.area AND f.domain = b.domain"
    "                  AND f.service_code = b.service_code"
    " GROUP BY b.province_code, b.county, b.name_en, b.name_fa, b.area, b.domain,"
    "          b.service_code, f.risk_flags"
    " ORDER BY b.province_code, b.county, b.area, b.domain, b.service_code";
// clang-format on

// The report's day columns in the calendar asked for.
static const char *
needs_cell(void *ctx, const PGresult *res, int c, const char *value, char *buf, size_t cap)
{
    const tool_calendar *calendar = ctx;
    const char *name = PQfname(res, c);
    bool day = strcmp(name, "first_request") == 0 || strcmp(name, "last_request") == 0;
    if (!day || cap <= TOOL_DATE_LEN || !tool_calendar_format(value, *calendar, buf)) {
        return value;
    }
    return buf;
}

// Reads --since or --until (either calendar) into iso; "" stays unset.
static bool
read_day(const char *option, const char *text, char iso[TOOL_DATE_LEN + 1])
{
    iso[0] = '\0';
    const char *why = NULL;
    if (text[0] != '\0' && !tool_calendar_parse(text, iso, &why)) {
        fprintf(stderr, "invalid value \"%s\" for --%s: %s\n", text, option, why);
        return false;
    }
    return true;
}

static int
report_needs_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *county = NULL, *since = NULL, *until = NULL,
               *format_name = NULL, *calendar_name = NULL;
    int rc = EXIT_USAGE;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"province", RR_OPT_STRING, NULL, "",
         "province of the centers (two digits; default: the whole country)", &province, 0, 0},
        {"county", RR_OPT_STRING, NULL, "", "only centers in this county (four digits)", &county, 0,
         0},
        {"since", RR_OPT_STRING, NULL, "",
         "only referrals created on or after this day (UTC): 1405/09/01 (Solar Hijri) or "
         "2026-11-22 (Gregorian)",
         &since, 0, 0},
        {"until", RR_OPT_STRING, NULL, "", "only referrals created on or before this day (UTC)",
         &until, 0, 0},
        {"calendar", RR_OPT_STRING, NULL, "jalali", "days printed as jalali or gregorian",
         &calendar_name, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "output: table or csv", &format_name, 0, 0},
    };
    if (!parse_options("referralctl report needs",
                       "referralctl report needs: requests by area (county and neighbourhood), "
                       "domain and service, with households, persons, outcomes, the median days "
                       "to acceptance and risk flags",
                       opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (!tool_db_check_filters(province, county, format_name, &format)) {
        return EXIT_USAGE;
    }
    tool_calendar calendar = TOOL_CALENDAR_JALALI;
    if (strcmp(calendar_name, "gregorian") == 0) {
        calendar = TOOL_CALENDAR_GREGORIAN;
    } else if (strcmp(calendar_name, "jalali") != 0) {
        fprintf(stderr, "invalid value \"%s\" for --calendar: expected jalali or gregorian\n",
                calendar_name);
        return EXIT_USAGE;
    }
    char since_iso[TOOL_DATE_LEN + 1], until_iso[TOOL_DATE_LEN + 1];
    if (!read_day("since", since, since_iso) || !read_day("until", until, until_iso)) {
        return EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return EXIT_FAILED;
    }
    rc = EXIT_FAILED;
    if (tool_db_areas_exist(conn, province, county)) {
        const char *params[4] = {null_if_empty(province), null_if_empty(county),
                                 null_if_empty(since_iso), null_if_empty(until_iso)};
        PGresult *res = tool_db_query(conn, "build the needs report", NEEDS_SQL, 4, params);
        if (res != NULL) {
            tool_db_cells cells = {needs_cell, &calendar};
            rc =
                tool_db_print_cells(stdout, res, format, &cells) == RR_OK ? EXIT_DONE : EXIT_FAILED;
            PQclear(res);
        }
    }
    PQfinish(conn);
    return rc;
}

static void
report_usage(FILE *out)
{
    fprintf(out, "usage: referralctl report REPORT [options]\n\n"
                 "reports:\n"
                 "  needs   requests by county, neighbourhood, domain and service\n\n"
                 "\"referralctl report REPORT --help\" lists a report's options.\n");
}

int
tool_report_main(int argc, char **argv)
{
    if (argc < 2) {
        report_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "needs") == 0) {
        return report_needs_main(argc - 1, argv + 1);
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        report_usage(stdout);
        return EXIT_DONE;
    }
    fprintf(stderr, "unrecognized report \"%s\"\n", name);
    report_usage(stderr);
    return EXIT_USAGE;
}
