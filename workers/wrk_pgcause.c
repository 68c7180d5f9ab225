#include "wrk_pgcause.h"

#include "rr_format.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

typedef struct sqlstate_class {
    const char *code;
    const char *name;
} sqlstate_class;

// PostgreSQL's error classes (Appendix A of its manual), those a statement
// of ours can end with.
static const sqlstate_class CLASSES[] = {
    {"08", "connection exception"},
    {"0A", "feature not supported"},
    {"21", "cardinality violation"},
    {"22", "data exception"},
    {"23", "integrity constraint violation"},
    {"25", "invalid transaction state"},
    {"28", "invalid authorization specification"},
    {"2B", "dependent privilege descriptors still exist"},
    {"3D", "invalid catalog name"},
    {"3F", "invalid schema name"},
    {"40", "transaction rollback"},
    {"42", "syntax error or access rule violation"},
    {"53", "insufficient resources"},
    {"54", "program limit exceeded"},
    {"55", "object not in prerequisite state"},
    {"57", "operator intervention"},
    {"58", "system error"},
    {"F0", "configuration file error"},
    {"P0", "PL/pgSQL error"},
    {"XX", "internal error"},
};

const char *
wrk_pgcause_class(const char *sqlstate)
{
    if (sqlstate != NULL && strlen(sqlstate) == 5) {
        for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++) {
            if (strncmp(sqlstate, CLASSES[i].code, 2) == 0) {
                return CLASSES[i].name;
            }
        }
    }
    return "unknown class";
}

static bool
is_name(const char *text, size_t len, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] != NULL && names[i][0] != '\0' && strlen(names[i]) == len &&
            memcmp(names[i], text, len) == 0) {
            return true;
        }
    }
    return false;
}

// Appends len bytes of text to out at *at, as far as they fit (cap - 1),
// never cutting a UTF-8 character in two. False when it did not all fit.
static bool
put(char *out, size_t cap, size_t *at, const char *text, size_t len)
{
    size_t room = cap - 1 - *at;
    bool whole = len <= room;
    if (!whole) {
        len = room;
        while (len > 0 && ((unsigned char) text[len] & 0xC0) == 0x80) {
            len--; // text[len] continues a character: stop before it
        }
    }
    memcpy(out + *at, text, len);
    *at += len;
    out[*at] = '\0';
    return whole;
}

#define HIDDEN "\xE2\x80\xA6" // U+2026, "…"

// The bytes of the digit at p (ASCII, or Persian or Arabic-Indic: U+06F0-9,
// U+0660-9, two bytes each); 0 when p is not at a digit.
static size_t
digit_at(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;
    if (isdigit(u[0])) {
        return 1;
    }
    if ((u[0] == 0xDB && u[1] >= 0xB0 && u[1] <= 0xB9) ||
        (u[0] == 0xD9 && u[1] >= 0xA0 && u[1] <= 0xA9)) {
        return 2;
    }
    return 0;
}

// The length of the number at p: digits, joined by single '-', '/', '.'
// or spaces between digits ("0912-345 6789" is one number); *digits, how
// many digits it holds. 0 when p is not at a digit.
static size_t
number_length(const char *p, size_t *digits)
{
    size_t len = 0;
    *digits = 0;
    for (;;) {
        size_t d = digit_at(p + len);
        if (d > 0) {
            len += d;
            (*digits)++;
            continue;
        }
        bool joiner = p[len] == '-' || p[len] == '/' || p[len] == '.' || p[len] == ' ';
        if (*digits > 0 && joiner && digit_at(p + len + 1) > 0) {
            len++;
            continue;
        }
        return len;
    }
}

void
wrk_pgcause_format(const char *sqlstate, const char *primary, const char *const *names, size_t n,
                   char *out, size_t cap)
{
    const char *state = sqlstate != NULL && sqlstate[0] != '\0' ? sqlstate : "?????";
    rr_format(out, cap, "SQLSTATE %s (%s): ", state, wrk_pgcause_class(sqlstate));
    size_t at = strlen(out);
    const char *p = primary != NULL ? primary : "(no message)";
    bool fits = true;
    while (*p != '\0' && fits) {
        if (*p == '"') {
            // PostgreSQL does not escape a quote inside a quoted value: once
            // a quoted part is not a known name, nothing after it can be
            // told apart from the value, so the rest is hidden.
            const char *end = strchr(p + 1, '"');
            size_t len = end ? (size_t) (end - p - 1) : 0;
            if (end == NULL || !is_name(p + 1, len, names, n)) {
                (void) put(out, cap, &at, "\"" HIDDEN, 4);
                break;
            }
            fits = put(out, cap, &at, p, len + 2);
            p = end + 1;
            continue;
        }
        size_t digits = 0;
        size_t len = number_length(p, &digits);
        if (digits >= 5) {
            fits = put(out, cap, &at, HIDDEN, 3);
        } else {
            if (len == 0) { // one character, whole
                len = 1;
                while (((unsigned char) p[len] & 0xC0) == 0x80) {
                    len++;
                }
            }
            fits = put(out, cap, &at, p, len);
        }
        p += len;
    }
}

bool
wrk_pgcause_server_lost(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5) {
        return false;
    }
    return strcmp(sqlstate, "25006") == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0 ||
           strncmp(sqlstate, "08", 2) == 0;
}
