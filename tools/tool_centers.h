// `referralctl centers`: the Positive Life centers without SQL.
#ifndef TOOL_CENTERS_H
#define TOOL_CENTERS_H

// list, add, activate, deactivate, import. Returns the exit status: 0 done,
// 1 refused (or rows of an import refused) or the database failed, 2 a
// usage error.
int tool_centers_main(int argc, char **argv);

#endif
