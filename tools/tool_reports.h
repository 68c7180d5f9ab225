// Operator reports over PostgreSQL, read-only: `referralctl household`
// (one household's file), `referralctl overdue` (referrals past their
// current owner's deadline to accept) and `referralctl report` (needs:
// need-finding by county, neighbourhood and service; sla: tool_report_sla).
#ifndef TOOL_REPORTS_H
#define TOOL_REPORTS_H

// Each returns the process exit status: 0 done, 1 the database failed or the
// household, province or county does not exist, 2 a usage error.
int tool_household_main(int argc, char **argv);
int tool_overdue_main(int argc, char **argv);
int tool_report_main(int argc, char **argv);

#endif
