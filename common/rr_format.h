// Formatting into fixed buffers with the truncation decided, never silent:
// rr_format for text a person reads (a cut message ends in "..."), and
// rr_format_exact for text a program uses (paths, ids, SQL), which must fit.
#ifndef RR_FORMAT_H
#define RR_FORMAT_H

#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>

// Formats into buf (cap >= 4 bytes, NUL-terminated). A result that does not
// fit is cut and ends in "...". Returns true when it fitted.
bool rr_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Formats into buf (cap >= 1, NUL-terminated). RR_ETOOBIG when the result
// does not fit (buf then holds ""), RR_EINVAL on a formatting error.
RR_NODISCARD rr_status rr_format_exact(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// rr_format_exact where the buffer's size makes a cut impossible (numbers,
// bounded ids): a cut is our bug, so it asserts.
void rr_format_fits(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
