// `referralctl queues`: the broker's queue depths, workers and counters.
#ifndef TOOL_QUEUES_H
#define TOOL_QUEUES_H

int tool_queues_main(int argc, char **argv);

#endif
