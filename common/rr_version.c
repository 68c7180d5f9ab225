// Version strings; the values come from a header generated at build time
// (cmake/rr_version.cmake), so only this file recompiles when they move.
#include "rr_version.h"

#include "rr_version_gen.h"

#include <ctype.h>
#include <stdlib.h>

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

// Reads digits at *p into *out; false when there are none or too many.
static bool
number(const char **p, unsigned long *out)
{
    if (!isdigit((unsigned char) **p)) {
        return false;
    }
    char *end = NULL;
    *out = strtoul(*p, &end, 10);
    if (end - *p > 6) {
        return false;
    }
    *p = end;
    return true;
}

bool
rr_version_at_least(const char *text, unsigned major, unsigned minor)
{
    unsigned long ma = 0, mi = 0;
    const char *p = text;
    if (p == NULL || !number(&p, &ma) || *p++ != '.' || !number(&p, &mi)) {
        return false;
    }
    return ma > major || (ma == major && mi >= minor);
}
