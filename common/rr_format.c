// The two ways to fill a fixed buffer; vsnprintf's result is looked at once, here.
#include "rr_format.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
rr_format(char *buf, size_t cap, const char *fmt, ...)
{
    assert(cap >= 4);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf[0] = '\0';
        return false;
    }
    if ((size_t) n >= cap) {
        memcpy(buf + cap - 4, "...", 4); // the cut shows
        return false;
    }
    return true;
}

rr_status
rr_format_exact(char *buf, size_t cap, const char *fmt, ...)
{
    assert(cap >= 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= cap) {
        buf[0] = '\0';
        return n < 0 ? RR_EINVAL : RR_ETOOBIG;
    }
    return RR_OK;
}

void
rr_format_fits(char *buf, size_t cap, const char *fmt, ...)
{
    assert(cap >= 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert(n >= 0 && (size_t) n < cap);
    (void) n;
}
