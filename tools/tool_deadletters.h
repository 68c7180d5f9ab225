// `referralctl dead-letters list|show|retry|drop`: requests that could not
// be processed, with the error each one hit.
#ifndef TOOL_DEADLETTERS_H
#define TOOL_DEADLETTERS_H

int tool_deadletters_main(int argc, char **argv);

#endif
