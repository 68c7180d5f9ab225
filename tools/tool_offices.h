// `referralctl offices`: the welfare offices without SQL.
#ifndef TOOL_OFFICES_H
#define TOOL_OFFICES_H

// list, add, activate, deactivate. Returns the exit status: 0 done, 1
// refused or the database failed, 2 a usage error.
int tool_offices_main(int argc, char **argv);

#endif
