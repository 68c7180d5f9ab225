// `referralctl rate`: a center records its client's satisfaction with a
// completed referral (RATE, over the broker), once per referral.
#ifndef TOOL_RATE_H
#define TOOL_RATE_H

// Exit status: 0 recorded or replayed, 1 refused or no answer, 2 usage.
int tool_rate_main(int argc, char **argv);

#endif
