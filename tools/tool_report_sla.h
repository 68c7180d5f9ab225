// `referralctl report sla`: how long referrals took, per service and per
// office (the owner at the time), derived from the append-only history:
// time to acceptance, time on hold and time to completion, each with its
// count, median and 90th percentile.
#ifndef TOOL_REPORT_SLA_H
#define TOOL_REPORT_SLA_H

// The process exit status: 0 done, 1 the database failed or the province
// does not exist, 2 a usage error. argv[0] is "sla".
int tool_report_sla_main(int argc, char **argv);

#endif
