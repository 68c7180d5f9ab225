// `referralctl reference-log`: who changed the reference data, and how
// (the reference_change audit of migration 0011).
#ifndef TOOL_REFLOG_H
#define TOOL_REFLOG_H

// Returns the exit status: 0 done, 1 the database failed, 2 a usage error.
int tool_reflog_main(int argc, char **argv);

#endif
