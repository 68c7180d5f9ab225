// `referralctl report needs --origin`: needs found actively (findings, and
// referrals made from them) beside walk-ins (referrals without a finding),
// by neighbourhood and county (issue 18, point 4).
#ifndef TOOL_REPORT_FINDINGS_H
#define TOOL_REPORT_FINDINGS_H

#include "tool_db.h"
#include "tool_filter.h"

// Prints the report for the filters (each NULL: unset; since and until UTC
// days) in format. Returns the exit status.
int tool_report_origin(const char *db, const char *province, const char *county, const char *since,
                       const char *until, tool_db_format format);

#endif
