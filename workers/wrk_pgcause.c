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
            const char *end = strchr(p + 1, '"');
            if (end == NULL) { // unbalanced: hide the rest
                (void) put(out, cap, &at, "\"" HIDDEN, 4);
                break;
            }
            size_t len = (size_t) (end - p - 1);
            bool name = is_name(p + 1, len, names, n);
            fits = put(out, cap, &at, "\"", 1) &&
                   (name ? put(out, cap, &at, p + 1, len) : put(out, cap, &at, HIDDEN, 3)) &&
                   put(out, cap, &at, "\"", 1);
            p = end + 1;
            continue;
        }
        size_t len = 0;
        while (isdigit((unsigned char) p[len])) {
            len++;
        }
        if (len >= 5) {
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
