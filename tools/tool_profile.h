// `referralctl neighbourhood profile|show|history`: a neighbourhood's
// profile (issue 18, point 2), sent by a center over the broker, and read
// from the database, latest version or every version.
#ifndef TOOL_PROFILE_H
#define TOOL_PROFILE_H

int tool_profile_main(int argc, char **argv);

#endif
