// `referralctl report needs --origin`: needs found actively (findings, and
// referrals made from them) beside walk-ins (referrals without a finding),
// by neighbourhood and county (issue 18, point 4).
#ifndef TOOL_REPORT_FINDINGS_H
#define TOOL_REPORT_FINDINGS_H

#include "tool_db.h"
#include "tool_filter.h"

// The neighbourhood a referral that names none counts in (both needs
// reports): n1, the registered neighbourhood its center c serves when it
// serves exactly one (so that "Narmak" in the center register and "نارمک"
// in the neighbourhood register are one row); NULL otherwise, and the
// reports fall back to the center's own text.
#define TOOL_CENTER_NEIGHBOURHOOD_JOIN                                                             \
    "  LEFT JOIN LATERAL (SELECT min(x.neighbourhood_id) AS id FROM neighbourhood_center x"        \
    "   WHERE x.center_code = c.code HAVING count(*) = 1) one ON true"                             \
    "  LEFT JOIN neighbourhood n1 ON n1.id = one.id"

// Prints the report for the filters (each NULL: unset; since and until UTC
// days) in format. Returns the exit status.
int tool_report_origin(const char *db, const char *province, const char *county, const char *since,
                       const char *until, tool_db_format format);

#endif
