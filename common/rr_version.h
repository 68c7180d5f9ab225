// The build's version, from one place for every binary: the CMake project
// version and, when built from a git checkout, `git describe` of it.
#ifndef RR_VERSION_H
#define RR_VERSION_H

// The release, e.g. "0.2.0".
const char *rr_version_number(void);

// `git describe --always --dirty` of the source tree at build time, e.g.
// "d13a9e1c0b2f-dirty"; "" when not built from git.
const char *rr_version_revision(void);

// Both as one string for --version and logs: "0.2.0 (git d13a9e1c0b2f)",
// or "0.2.0" without a revision.
const char *rr_version_string(void);

#endif
