// referralctl report sla: the time referrals spent before acceptance, on
// hold and before completion, per service and office, from their history
// (referral_event); nothing is stored for it.
#include "tool_report_sla.h"

#include "tool_filter.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Each referral created in [$2, $3] (UTC days; NULL: open-ended) gives up
// to three measures, each owned by the office that owned the referral then
// (an event's office_code is the owner after it):
//   to accept:   created to its first acceptance, the accepting office's;
//   on hold:     the sum of its ended hold periods (an event into on-hold
//                to the next event), per office that held it;
//   to complete: created to completion, the completing office's.
// A hold still going on has no length yet and is left out. Rows are kept
// for offices in province $1 (NULL: all). Medians and 90th percentiles
// are interpolated (percentile_cont) and rounded to the second.
// clang-format off
static const char SLA_SQL[] =
    "WITH base AS ("
    "  SELECT r.id, r.service_code, r.created_at FROM referral r"
    "  WHERE ($2::date IS NULL OR r.created_at >= $2::date::timestamp AT TIME ZONE 'UTC')"
    "    AND ($3::date IS NULL OR r.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC')"
    "), ev AS ("
    "  SELECT e.id, e.referral_id, e.to_status, e.office_code, e.at,"
    "         lead(e.at) OVER (PARTITION BY e.referral_id ORDER BY e.at, e.id) AS next_at"
    "  FROM referral_event e JOIN base b ON b.id = e.referral_id"
    "), measure AS ("
    "  (SELECT DISTINCT ON (b.id) b.service_code, ev.office_code, 'accept' AS what,"
    "          extract(epoch FROM ev.at - b.created_at)::double precision AS secs"
    "   FROM base b JOIN ev ON ev.referral_id = b.id AND ev.to_status = 'accepted'"
    "   ORDER BY b.id, ev.at, ev.id)"
    "  UNION ALL"
    "  SELECT b.service_code, ev.office_code, 'hold',"
    "         sum(extract(epoch FROM ev.next_at - ev.at))::double precision"
    "  FROM base b JOIN ev ON ev.referral_id = b.id AND ev.to_status = 'on-hold'"
    "  WHERE ev.next_at IS NOT NULL"
    "  GROUP BY b.id, b.service_code, ev.office_code"
    "  UNION ALL"
    "  SELECT b.service_code, ev.office_code, 'complete',"
    "         extract(epoch FROM ev.at - b.created_at)::double precision"
    "  FROM base b JOIN ev ON ev.referral_id = b.id AND ev.to_status = 'completed'"
    ")"
    " SELECT o.province_code AS province, m.service_code AS service, m.office_code AS office,"
    "        count(*) FILTER (WHERE m.what = 'accept') AS accepted,"
    "        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'accept'))::numeric)::bigint AS to_accept_median,"
    "        round((percentile_cont(0.9) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'accept'))::numeric)::bigint AS to_accept_p90,"
    "        count(*) FILTER (WHERE m.what = 'hold') AS held,"
    "        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'hold'))::numeric)::bigint AS on_hold_median,"
    "        round((percentile_cont(0.9) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'hold'))::numeric)::bigint AS on_hold_p90,"
    "        count(*) FILTER (WHERE m.what = 'complete') AS completed,"
    "        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'complete'))::numeric)::bigint AS to_complete_median,"
    "        round((percentile_cont(0.9) WITHIN GROUP (ORDER BY m.secs)"
    "               FILTER (WHERE m.what = 'complete'))::numeric)::bigint AS to_complete_p90"
    " FROM measure m JOIN office o ON o.code = m.office_code"
    " WHERE $1::text IS NULL OR o.province_code = $1"
    " GROUP BY o.province_code, m.service_code, m.office_code"
    " ORDER BY o.province_code, m.service_code, m.office_code";
// clang-format on

// Writes seconds as days and hours:minutes, rounded down to the minute
// ("2d 03:15", "0d 00:45") into out. False when seconds is negative or the
// text does not fit in cap bytes.
static bool
duration_text(int64_t seconds, char *out, size_t cap)
{
    if (seconds < 0) {
        return false;
    }
    int64_t minutes = seconds / 60;
    int n = snprintf(out, cap, "%" PRId64 "d %02d:%02d", minutes / 1440,
                     (int) (minutes % 1440 / 60), (int) (minutes % 60));
    return n > 0 && (size_t) n < cap;
}

// The table shows durations as "2d 03:15"; CSV keeps the seconds.
static const char *
duration_cell(void *ctx, const PGresult *res, int c, const char *value, char *buf, size_t cap)
{
    (void) ctx;
    const char *name = PQfname(res, c);
    size_t len = strlen(name);
    bool duration = (len > 7 && strcmp(name + len - 7, "_median") == 0) ||
                    (len > 4 && strcmp(name + len - 4, "_p90") == 0);
    if (!duration || value[0] == '\0') {
        return value;
    }
    char *end = NULL;
    long long seconds = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || !duration_text(seconds, buf, cap)) {
        return value;
    }
    return buf;
}

int
tool_report_sla_main(int argc, char **argv)
{
    const char *db = NULL, *province = NULL, *since = NULL, *until = NULL, *format_name = NULL;
    int rc = TOOL_EXIT_USAGE;
    rr_opt opts[] = {
        TOOL_FILTER_DB_OPT(&db),
        {"province", RR_OPT_STRING, NULL, "",
         "offices of this province (two digits: its county offices and its province office; "
         "default: the whole country)",
         &province, 0, 0},
        TOOL_FILTER_DAY_OPTS(&since, &until),
        {"format", RR_OPT_STRING, NULL, "table",
         "output: table (durations as 2d 03:15) or csv (durations in seconds)", &format_name, 0, 0},
    };
    if (!tool_filter_options("referralctl report sla",
                             "referralctl report sla: per service and office (the owner at the "
                             "time), the count, median and 90th percentile of the time to "
                             "acceptance, on hold and to completion",
                             opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (!tool_filter_check(province, "", format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    char since_iso[TOOL_DATE_LEN + 1], until_iso[TOOL_DATE_LEN + 1];
    if (!tool_filter_day("since", since, since_iso) ||
        !tool_filter_day("until", until, until_iso)) {
        return TOOL_EXIT_USAGE;
    }
    const char *params[3] = {tool_filter_or_null(province), tool_filter_or_null(since_iso),
                             tool_filter_or_null(until_iso)};
    tool_db_cells cells = {duration_cell, NULL};
    return tool_filter_report(db, province, "", "", "build the sla report", SLA_SQL, 3, params,
                              format, format == TOOL_DB_TABLE ? &cells : NULL);
}
