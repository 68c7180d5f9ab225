// The operator reports: household, overdue and need-finding, the SQL of
// each (parameters only) and its layout; `report sla` is tool_report_sla.
// Options are checked by tool_filter; printing goes through tool_db.
#include "tool_reports.h"

#include "rr_wire.h"
#include "tool_filter.h"
#include "tool_report_donations.h"
#include "tool_report_findings.h"
#include "tool_report_satisfaction.h"
#include "tool_report_sla.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

// Runs a report query and prints its rows; the exit status.
static int
print_query(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params,
            tool_db_format format)
{
    PGresult *res = tool_db_query(conn, what, sql, nparams, params);
    if (res == NULL) {
        return TOOL_EXIT_FAILED;
    }
    rr_status st = tool_db_print(stdout, res, format);
    PQclear(res);
    return st == RR_OK ? TOOL_EXIT_DONE : TOOL_EXIT_FAILED;
}

// --- referralctl household ------------------------------------------------

// clang-format off
static const char HOUSEHOLD_SQL[] =
    "SELECT h.id, h.center_code, c.name, " TOOL_UTC_TEXT("h.created_at") ","
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
    "       " TOOL_UTC_TEXT("p.updated_at") " AS member_since"
    " FROM person p WHERE p.household_id = $1"
    // A member has a referral in the household (their latest): found by
    // the household's referrals, then each person's row (migration 0014).
    "  AND p.national_id IN (SELECT r.national_id FROM referral r WHERE r.household_id = $1)"
    " ORDER BY p.national_id";
// clang-format on

// clang-format off
static const char REFERRALS_SQL[] =
    "SELECT 'R-' || r.id AS referral, r.service_code AS service,"
    "       CASE WHEN $2::boolean THEN r.national_id"
    "            ELSE '******' || right(r.national_id, 4) END AS member,"
    "       r.scope AS \"for\", r.domain, r.priority,"
    "       r.status, r.office_code AS office, o.name_en AS office_name,"
    "       " TOOL_UTC_TEXT("r.created_at") " AS created_at"
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
        return TOOL_EXIT_USAGE;
    }
    const char *params[2] = {id, show_ids ? "true" : "false"};
    PGresult *res = tool_db_query(conn, "read the household", HOUSEHOLD_SQL, 1, params);
    if (res == NULL) {
        return TOOL_EXIT_FAILED;
    }
    if (PQntuples(res) == 0) {
        if (strcmp(typed, id) != 0) {
            fprintf(stderr, "household \"%s\" (filed as \"%s\") does not exist\n", typed, id);
        } else {
            fprintf(stderr, "household \"%s\" does not exist\n", id);
        }
        PQclear(res);
        return TOOL_EXIT_FAILED;
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
    if (rc != TOOL_EXIT_DONE) {
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
    int first = 0, rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        {"show-ids", RR_OPT_FLAG, NULL, "0",
         "print national ids in full (otherwise only their last 4 digits)", &show_ids, 0, 0},
    };
    const char *program = "referralctl household";
    const char *summary = "referralctl household ID: a household's file, its members and its "
                          "referrals, newest first";
    if (!tool_filter_options(program, summary, opts, (int) (sizeof opts / sizeof opts[0]), argc,
                             argv, &first, &rc)) {
        return rc;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: referralctl household ID [--show-ids] [--db CONNINFO]\n");
        return TOOL_EXIT_USAGE;
    }
    if (first != argc - 1) {
        fprintf(stderr, "usage: referralctl household ID [--show-ids] [--db CONNINFO]\n");
        return TOOL_EXIT_USAGE;
    }
    const char *id = argv[first];
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return TOOL_EXIT_FAILED;
    }
    rc = print_household(conn, id, show_ids);
    PQfinish(conn);
    return rc;
}

// --- referralctl overdue --------------------------------------------------

// Referrals past their current owner's deadline to accept (a county
// office's, or after an escalation or a forward the new owner's own, from
// priority_sla by its level), most overdue first. The province and county
// are the center's; the office is the owner now.
// clang-format off
static const char OVERDUE_SQL[] =
    "SELECT 'R-' || r.id AS referral, r.center_code AS center, c.county_code AS county,"
    "       r.service_code AS service, r.priority, r.status, r.office_code,"
    "       " TOOL_UTC_TEXT("r.accept_deadline") " AS accept_deadline,"
    "       " TOOL_UTC_TEXT("r.escalated_at") " AS escalated_at,"
    "       (s.late / 86400) || 'd ' || lpad((s.late % 86400 / 3600)::text, 2, '0') || 'h '"
    "           || lpad((s.late % 3600 / 60)::text, 2, '0') || 'm' AS overdue"
    " FROM referral r"
    " JOIN center c ON c.code = r.center_code"
    " JOIN county k ON k.code = c.county_code"
    " CROSS JOIN LATERAL (SELECT"
    "     floor(extract(epoch FROM now() - r.accept_deadline))::bigint AS late) s"
    " WHERE r.status IN ('requested', 'received') AND r.accept_deadline < now()"
    "   AND ($1::text IS NULL OR k.province_code = $1)"
    "   AND ($2::text IS NULL OR c.county_code = $2)"
    "   AND ($3::text IS NULL OR r.office_code = $3)"
    " ORDER BY r.accept_deadline, r.id";
// clang-format on

int
tool_overdue_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *county = NULL, *office = NULL, *format_name = NULL;
    int rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        {"province", RR_OPT_STRING, NULL, "", "only centers in this province (two digits)",
         &province, 0, 0},
        {"county", RR_OPT_STRING, NULL, "", "only centers in this county (four digits)", &county, 0,
         0},
        {"office", RR_OPT_STRING, NULL, "",
         "only referrals this office owns now (CO-2301, or PO-23 for what was escalated to the "
         "province office)",
         &office, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "output: table or csv", &format_name, 0, 0},
    };
    if (!tool_filter_options("referralctl overdue",
                             "referralctl overdue: open referrals past their current owner's "
                             "deadline to accept",
                             opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    char office_code[32];
    if (!tool_filter_check(province, county, format_name, &format) ||
        !tool_filter_office(office, office_code, sizeof office_code)) {
        return TOOL_EXIT_USAGE;
    }
    const char *params[3] = {tool_filter_or_null(province), tool_filter_or_null(county),
                             tool_filter_or_null(office_code)};
    return tool_filter_report(db, province, county, office_code, "list overdue referrals",
                              OVERDUE_SQL, 3, params, format, NULL);
}

// --- referralctl report needs ---------------------------------------------

// Requests by area (county, then neighbourhood: the one the referral names
// (migration 0018), else the registered one its center serves when it serves
// exactly one, else its center's own text; canonical, so that its spellings are
// one row, shown by its most common spelling), domain and
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
    "         coalesce(n.name_key, n1.name_key, c.neighbourhood_key) AS area,"
    "         coalesce(n.name, n1.name, btrim(c.neighbourhood)) AS spelling"
    "  FROM referral r"
    "  JOIN center c ON c.code = r.center_code"
    "  LEFT JOIN referral_neighbourhood rn ON rn.referral_id = r.id"
    "  LEFT JOIN neighbourhood n ON n.id = rn.neighbourhood_id"
    TOOL_CENTER_NEIGHBOURHOOD_JOIN
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

static int
report_needs_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *county = NULL, *since = NULL, *until = NULL,
               *format_name = NULL, *calendar_name = NULL;
    bool origin = false;
    int rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        TOOL_FILTER_AREA_OPTS(&province, &county),
        TOOL_FILTER_DAY_OPTS(&since, &until),
        TOOL_FILTER_OUTPUT_OPTS(&calendar_name, &format_name),
        {"origin", RR_OPT_FLAG, NULL, "0",
         "by origin instead: findings and referrals made from them beside walk-ins, by "
         "neighbourhood and county",
         &origin, 0, 0},
    };
    if (!tool_filter_options(
            "referralctl report needs",
            "referralctl report needs: requests by area (county and neighbourhood), "
            "domain and service, with households, persons, outcomes, the median days "
            "to acceptance and risk flags",
            opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (!tool_filter_check(province, county, format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    tool_calendar calendar = TOOL_CALENDAR_JALALI;
    if (!tool_filter_calendar(calendar_name, &calendar)) {
        return TOOL_EXIT_USAGE;
    }
    char since_iso[TOOL_DATE_LEN + 1], until_iso[TOOL_DATE_LEN + 1];
    if (!tool_filter_day("since", since, since_iso) ||
        !tool_filter_day("until", until, until_iso)) {
        return TOOL_EXIT_USAGE;
    }
    const char *params[4] = {tool_filter_or_null(province), tool_filter_or_null(county),
                             tool_filter_or_null(since_iso), tool_filter_or_null(until_iso)};
    if (origin) {
        return tool_report_origin(db, params[0], params[1], params[2], params[3], format);
    }
    static const char *const day_columns[] = {"first_request", "last_request", NULL};
    tool_filter_days days = {calendar, day_columns};
    tool_db_cells cells = {tool_filter_day_cell, &days};
    return tool_filter_report(db, province, county, "", "build the needs report", NEEDS_SQL, 4,
                              params, format, &cells);
}

static void
report_usage(FILE *out)
{
    fprintf(out, "usage: referralctl report REPORT [options]\n\n"
                 "reports:\n"
                 "  needs   requests by county, neighbourhood, domain and service\n"
                 "  sla     time to acceptance, on hold and to completion, per service and "
                 "office\n"
                 "  donations  earmarked donations received, allocated and left, by "
                 "neighbourhood and county\n"
                 "  satisfaction  clients' ratings of completed referrals by center, office "
                 "or service\n\n"
                 "\"referralctl report REPORT --help\" lists a report's options.\n");
}

int
tool_report_main(int argc, char **argv)
{
    if (argc < 2) {
        report_usage(stderr);
        return TOOL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "needs") == 0) {
        return report_needs_main(argc - 1, argv + 1);
    }
    if (strcmp(name, "sla") == 0) {
        return tool_report_sla_main(argc - 1, argv + 1);
    }
    if (strcmp(name, "donations") == 0) {
        return tool_report_donations_main(argc - 1, argv + 1);
    }
    if (strcmp(name, "satisfaction") == 0) {
        return tool_report_satisfaction_main(argc - 1, argv + 1);
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        report_usage(stdout);
        return TOOL_EXIT_DONE;
    }
    fprintf(stderr, "unrecognized report \"%s\"\n", name);
    report_usage(stderr);
    return TOOL_EXIT_USAGE;
}
