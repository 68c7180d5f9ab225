// `referralctl relay`: the wire's limit, for the bench to compare the broker
// with (docs/PERFORMANCE.md). A bare ZeroMQ ROUTER-to-ROUTER relay in front
// of echo threads that answer every submission `accepted` as
// `referral-worker --no-db` does: the same sockets, hops and message
// handling, without the broker's checks, queues, credit, heartbeats and
// counters. Never a service: nothing is checked or recorded.
#ifndef TOOL_RELAY_H
#define TOOL_RELAY_H

int tool_relay_main(int argc, char **argv);

#endif
