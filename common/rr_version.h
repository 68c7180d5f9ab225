// The build's version, from one place for every binary: the CMake project
// version and, when built from a git checkout, `git describe` of it.
#ifndef RR_VERSION_H
#define RR_VERSION_H

#include <stdbool.h>

// The release, e.g. "0.2.0".
const char *rr_version_number(void);

// `git describe --always --dirty` of the source tree at build time, e.g.
// "d13a9e1c0b2f-dirty"; "" when not built from git.
const char *rr_version_revision(void);

// Both as one string for --version and logs: "0.2.0 (git d13a9e1c0b2f)",
// or "0.2.0" without a revision.
const char *rr_version_string(void);

// True when text (a version as rr_version_string writes it: "0.5.0",
// "0.5.0 (git …)") is major.minor or later. False for anything that does
// not start with two numbers and a dot between them ("", "dev"): a peer of
// unknown version gets what the oldest understands.
bool rr_version_at_least(const char *text, unsigned major, unsigned minor);

#endif
