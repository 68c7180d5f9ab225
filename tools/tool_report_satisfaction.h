// `referralctl report satisfaction`: clients' ratings of completed
// referrals (migration 0020) by center, office or service: how many rated,
// the mean to one decimal, the distribution over the five points and the
// share of completed referrals rated.
#ifndef TOOL_REPORT_SATISFACTION_H
#define TOOL_REPORT_SATISFACTION_H

// Exit status: 0 done, 1 failed, 2 usage.
int tool_report_satisfaction_main(int argc, char **argv);

#endif
