// `referralctl report donations`: a province's earmarked donations, what
// the council allocated from them and what is left, by neighbourhood and
// county, with days in the Solar Hijri calendar (migration 0018's ledger).
#ifndef TOOL_REPORT_DONATIONS_H
#define TOOL_REPORT_DONATIONS_H

// Exit status: 0 done, 1 failed (or the ledger does not reconcile), 2 usage.
int tool_report_donations_main(int argc, char **argv);

#endif
