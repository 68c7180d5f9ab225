// The need-finding report's split by origin. A finding counts in its
// neighbourhood on the day it was recorded; a referral in the neighbourhood
// it names, else its center's (as report needs counts it: TOOL_CENTER_
// NEIGHBOURHOOD_JOIN), on the day it
// was created, as "from a finding" when a finding was referred as it.
#include "tool_report_findings.h"

// $1 province, $2 county (NULL: all), $3 since, $4 until (UTC days, NULL:
// open-ended). One row per neighbourhood, then one per county (its total).
// clang-format off
static const char ORIGIN_SQL[] =
    "WITH fnd AS ("
    "  SELECT k.province_code, k.code AS county, k.name_en, n.name_key AS area,"
    "         n.name AS spelling, f.state::text AS state, f.source::text AS source,"
    "         true AS is_finding, false AS from_finding"
    "  FROM finding f JOIN neighbourhood n ON n.id = f.neighbourhood_id"
    "  JOIN county k ON k.code = n.county_code"
    "  JOIN finding_event e ON e.finding_id = f.finding_id AND e.kind = 'record'"
    "  WHERE ($1::text IS NULL OR k.province_code = $1) AND ($2::text IS NULL OR k.code = $2)"
    "    AND ($3::date IS NULL OR e.at >= $3::date::timestamp AT TIME ZONE 'UTC')"
    "    AND ($4::date IS NULL OR e.at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC')"
    "), ref AS ("
    "  SELECT k.province_code, k.code, k.name_en,"
    "         coalesce(n.name_key, n1.name_key, c.neighbourhood_key),"
    "         coalesce(n.name, n1.name, btrim(c.neighbourhood)), NULL::text, NULL::text, false,"
    "         EXISTS (SELECT 1 FROM finding x WHERE x.referral_id = r.id)"
    "  FROM referral r JOIN center c ON c.code = r.center_code"
    "  LEFT JOIN referral_neighbourhood rn ON rn.referral_id = r.id"
    "  LEFT JOIN neighbourhood n ON n.id = rn.neighbourhood_id"
    TOOL_CENTER_NEIGHBOURHOOD_JOIN
    "  JOIN county k ON k.code = c.county_code"
    "  WHERE ($1::text IS NULL OR k.province_code = $1) AND ($2::text IS NULL OR k.code = $2)"
    "    AND ($3::date IS NULL OR r.created_at >= $3::date::timestamp AT TIME ZONE 'UTC')"
    "    AND ($4::date IS NULL OR r.created_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC')"
    "), u AS (SELECT * FROM fnd UNION ALL SELECT * FROM ref)"
    " SELECT province_code AS province, county, name_en AS county_name,"
    "        CASE WHEN grouping(area) = 1 THEN '(county total)'"
    "             ELSE mode() WITHIN GROUP (ORDER BY spelling) END AS neighbourhood,"
    "        count(*) FILTER (WHERE is_finding) AS findings,"
    "        count(*) FILTER (WHERE state = 'open') AS open,"
    "        count(*) FILTER (WHERE state = 'referred') AS referred,"
    "        count(*) FILTER (WHERE state = 'closed') AS closed,"
    "        coalesce(string_agg(DISTINCT source, ', ' ORDER BY source), '') AS sources,"
    "        count(*) FILTER (WHERE NOT is_finding AND from_finding) AS referrals_from_findings,"
    "        count(*) FILTER (WHERE NOT is_finding AND NOT from_finding) AS walk_in_referrals"
    " FROM u GROUP BY GROUPING SETS ((province_code, county, name_en, area),"
    "                                (province_code, county, name_en))"
    " ORDER BY province_code, county, grouping(area), area";
// clang-format on

int
tool_report_origin(const char *db, const char *province, const char *county, const char *since,
                   const char *until, tool_db_format format)
{
    const char *params[4] = {province, county, since, until};
    return tool_filter_report(db, province ? province : "", county ? county : "", "",
                              "build the need-finding report by origin", ORIGIN_SQL, 4, params,
                              format, NULL);
}
