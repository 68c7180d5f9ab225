// `referralctl update` (an office's, or a center's, status change) and
// `referralctl follow` (a center's stream of changes), over the broker.
#ifndef TOOL_FOLLOW_H
#define TOOL_FOLLOW_H

int tool_update_main(int argc, char **argv);
int tool_follow_main(int argc, char **argv);

#endif
