// `referralctl queues` and `referralctl workers`: the broker's state from
// its HTTP monitor.
#ifndef TOOL_QUEUES_H
#define TOOL_QUEUES_H

int tool_queues_main(int argc, char **argv);
int tool_workers_main(int argc, char **argv);

#endif
