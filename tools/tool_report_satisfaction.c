// referralctl report satisfaction [--province P] [--county C]
// [--by center|office|service] [--since D] [--until D]: one row per group
// and a total row, over the referrals completed in the days given (the day
// of their completion event, UTC), in the area of the center that made
// them. Only reads; days typed and printed in either calendar.
#include "tool_report_satisfaction.h"

#include "tool_filter.h"

#include <stdio.h>
#include <string.h>

// The grouping each --by names: the key and its name (both constant SQL,
// chosen from this table, never typed by the user).
static const struct {
    const char *by, *key, *name, *join;
} GROUPS[] = {
    {"center", "d.center_code::text", "max(c.name)", "JOIN center c ON c.code = d.center_code"},
    {"office", "d.office_code", "max(o.name_en)", "JOIN office o ON o.code = d.office_code"},
    {"service", "d.service_code", "max(s.name_en)", "JOIN service s ON s.code = d.service_code"},
};

// $1 province, $2 county (NULL: all), $3 since, $4 until (UTC days of the
// completion, NULL: open-ended). %1$s the key, %2$s its name, %3$s the
// join that names it, %4$s the --by word as the key's column title.
// clang-format off
static const char SATISFACTION_SQL[] =
    "WITH done AS ("
    "  SELECT r.id, r.center_code, r.office_code, r.service_code"
    "  FROM referral r"
    "  JOIN center rc ON rc.code = r.center_code"
    "  JOIN county k ON k.code = rc.county_code"
    "  JOIN LATERAL (SELECT max(e.at) AS at FROM referral_event e"
    "                WHERE e.referral_id = r.id AND e.to_status = 'completed') f ON true"
    "  WHERE r.status = 'completed'"
    "    AND ($1::text IS NULL OR k.province_code = $1)"
    "    AND ($2::text IS NULL OR k.code = $2)"
    "    AND ($3::date IS NULL OR f.at >= $3::date::timestamp AT TIME ZONE 'UTC')"
    "    AND ($4::date IS NULL OR f.at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC')"
    ")"
    " SELECT CASE WHEN grouping(%1$s) = 1 THEN 'total' ELSE %1$s END AS %4$s,"
    "        CASE WHEN grouping(%1$s) = 1 THEN '' ELSE %2$s END AS name,"
    "        count(*) AS completed, count(g.rating_id) AS rated,"
    "        round(100.0 * count(g.rating_id) / count(*), 1) AS rated_pct,"
    "        coalesce(round(avg(g.score), 1)::text, '') AS mean,"
    "        count(*) FILTER (WHERE g.score = 1) AS \"1\","
    "        count(*) FILTER (WHERE g.score = 2) AS \"2\","
    "        count(*) FILTER (WHERE g.score = 3) AS \"3\","
    "        count(*) FILTER (WHERE g.score = 4) AS \"4\","
    "        count(*) FILTER (WHERE g.score = 5) AS \"5\","
    "        to_char(min(g.rated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_rated,"
    "        to_char(max(g.rated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_rated"
    " FROM done d %3$s"
    " LEFT JOIN referral_rating g ON g.referral_id = d.id"
    " GROUP BY ROLLUP (%1$s)"
    " ORDER BY grouping(%1$s), %1$s";
// clang-format on

int
tool_report_satisfaction_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *county = NULL, *by = NULL, *since = NULL,
               *until = NULL, *format_name = NULL, *calendar_name = NULL;
    int rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        TOOL_FILTER_AREA_OPTS(&province, &county),
        {"by", RR_OPT_STRING, NULL, "center", "one row per center, office or service", &by, 0, 0},
        {"since", RR_OPT_STRING, NULL, "",
         "only referrals completed on or after this day (UTC): 1405/09/01 (Solar Hijri) or "
         "2026-11-22 (Gregorian)",
         &since, 0, 0},
        {"until", RR_OPT_STRING, NULL, "", "only referrals completed on or before this day (UTC)",
         &until, 0, 0},
        TOOL_FILTER_OUTPUT_OPTS(&calendar_name, &format_name),
    };
    if (!tool_filter_options("referralctl report satisfaction",
                             "referralctl report satisfaction: clients' ratings of completed "
                             "referrals by center, office or service (count, mean, distribution "
                             "1..5, share of completed referrals rated)",
                             opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    size_t g = 0;
    while (g < sizeof GROUPS / sizeof GROUPS[0] && strcmp(GROUPS[g].by, by) != 0) {
        g++;
    }
    if (g == sizeof GROUPS / sizeof GROUPS[0]) {
        fprintf(stderr, "invalid --by \"%s\": expected center, office or service\n", by);
        return TOOL_EXIT_USAGE;
    }
    tool_db_format format = TOOL_DB_TABLE;
    tool_calendar calendar = TOOL_CALENDAR_JALALI;
    char since_iso[TOOL_DATE_LEN + 1], until_iso[TOOL_DATE_LEN + 1];
    if (!tool_filter_check(province, county, format_name, &format) ||
        !tool_filter_calendar(calendar_name, &calendar) ||
        !tool_filter_day("since", since, since_iso) ||
        !tool_filter_day("until", until, until_iso)) {
        return TOOL_EXIT_USAGE;
    }
    char sql[sizeof SATISFACTION_SQL + 512];
    int n = snprintf(sql, sizeof sql, SATISFACTION_SQL, GROUPS[g].key, GROUPS[g].name,
                     GROUPS[g].join, GROUPS[g].by);
    if (n < 0 || (size_t) n >= sizeof sql) {
        fprintf(stderr, "could not build the satisfaction report: query too long\n");
        return TOOL_EXIT_FAILED;
    }
    const char *params[4] = {tool_filter_or_null(province), tool_filter_or_null(county),
                             tool_filter_or_null(since_iso), tool_filter_or_null(until_iso)};
    static const char *const day_columns[] = {"first_rated", "last_rated", NULL};
    tool_filter_days days = {calendar, day_columns};
    tool_db_cells cells = {tool_filter_day_cell, &days};
    return tool_filter_report(db, province, county, "", "build the satisfaction report", sql, 4,
                              params, format, &cells);
}
