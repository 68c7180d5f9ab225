// `referralctl neighbourhoods`: the neighbourhood registry per county
// (migration 0018): list it, and import it from CSV.
#ifndef TOOL_NEIGHBOURHOODS_H
#define TOOL_NEIGHBOURHOODS_H

// Exit status: 0 done, 1 a row refused or the database failed, 2 usage.
int tool_neighbourhoods_main(int argc, char **argv);

#endif
