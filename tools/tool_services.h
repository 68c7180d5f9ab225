// `referralctl services`: the service catalogue without SQL.
#ifndef TOOL_SERVICES_H
#define TOOL_SERVICES_H

// list, add, activate, deactivate, scope. Returns the exit status: 0 done,
// 1 refused or the database failed, 2 a usage error.
int tool_services_main(int argc, char **argv);

#endif
