// `referralctl submit` (one request from flags, or JSON lines from a file)
// and `referralctl status` (one referral and its history).
#ifndef TOOL_SUBMIT_H
#define TOOL_SUBMIT_H

int tool_submit_main(int argc, char **argv);
int tool_status_main(int argc, char **argv);

#endif
