// referralctl bench: load a running stack with realistic submissions,
// measure acknowledged referrals/s and ack latency, check the database holds
// exactly what was acknowledged, and compare with PostgreSQL's own ceiling
// for the same rows measured in the same run.
#ifndef TOOL_BENCH_H
#define TOOL_BENCH_H

int tool_bench_main(int argc, char **argv);

#endif
