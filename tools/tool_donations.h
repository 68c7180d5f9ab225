// `referralctl donations`: record a center's cash donation over the broker
// (command DONATE), and record a provincial council's allocation in the
// database (allocate_donations, migration 0018).
#ifndef TOOL_DONATIONS_H
#define TOOL_DONATIONS_H

// Exit status: 0 done, 1 refused or failed, 2 usage.
int tool_donations_main(int argc, char **argv);

#endif
