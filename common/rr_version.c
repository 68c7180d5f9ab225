// Version strings; the values come from a header generated at build time
// (cmake/rr_version.cmake), so only this file recompiles when they move.
#include "rr_version.h"

#include "rr_version_gen.h"

const char *
rr_version_number(void)
{
    return RR_VERSION_NUMBER;
}

const char *
rr_version_revision(void)
{
    return RR_VERSION_REVISION;
}

const char *
rr_version_string(void)
{
    return RR_VERSION_REVISION[0] != '\0' ? RR_VERSION_NUMBER " (git " RR_VERSION_REVISION ")"
                                          : RR_VERSION_NUMBER;
}
