// `referralctl rules`: routing rules and risk rules without SQL.
#ifndef TOOL_RULES_H
#define TOOL_RULES_H

// list, add, remove. Returns the exit status: 0 done, 1 refused or the
// database failed, 2 a usage error.
int tool_rules_main(int argc, char **argv);

#endif
