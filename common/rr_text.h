// Text as people type it: which strings are refused outright, and the one
// canonical form of identities and place names (household ids,
// neighbourhoods, codes in text form) that every process compares. Pure;
// Unicode work is ICU's (normalization, character properties), not tables
// of our own. The same function runs inside PostgreSQL (db/ext), so SQL and
// C cannot disagree on what "the same household" is.
#ifndef RR_TEXT_H
#define RR_TEXT_H

#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum rr_text_kind {
    RR_TEXT_LINE,      // identities, codes, names: no control character at all
    RR_TEXT_MULTILINE, // notes and reasons: TAB, LF and CR allowed
} rr_text_kind;

// Why a string was refused: a static phrase that completes "field X ..."
// ("holds a NUL byte"), and the byte offset of the first offending byte.
typedef struct rr_text_fault {
    const char *why;
    size_t at;
} rr_text_fault;

// True when s (n bytes, NUL bytes included in n) is well-formed UTF-8 with
// no NUL, no C0 or C1 control character (but TAB, LF, CR in MULTILINE), no
// DEL and no bidi embedding, override or isolate (U+202A-U+202E,
// U+2066-U+2069: they reorder what a reader sees). Bidi marks (LRM, RLM,
// ALM) are allowed. Otherwise false and *fault says why (fault may be NULL).
bool rr_text_check(const char *s, size_t n, rr_text_kind kind, rr_text_fault *fault);

// The canonical form of an identity or place name, in this order:
// Unicode NFKC with case folding and removal of default-ignorable
// characters (ZWNJ, ZWJ, zero-width space, BOM, soft hyphen, bidi marks:
// ICU's NFKC_Casefold); Arabic yeh and alef maksura to Persian yeh (U+06CC);
// Arabic kaf to keheh (U+06A9); teh marbuta, heh with yeh above, heh goal,
// heh doachashmee and ae to heh (U+0647); tatweel and Arabic diacritics
// (U+064B-U+065F, U+0670) removed; every decimal digit of any script to
// ASCII; every dash and the minus sign to '-'; white space (NBSP included) trimmed and runs
// collapsed to one ASCII space. Idempotent: canon(canon(x)) == canon(x).
//
// Writes the result and a NUL into out (cap bytes), its length to *out_len.
// RR_EINVAL when rr_text_check(LINE) refuses s or nothing is left (fault
// says why: "is empty once spaces and invisible characters are removed");
// RR_ETOOBIG when the result does not fit cap - 1 bytes (*out_len then
// holds its full length when known, else 0); RR_ENOMEM.
RR_NODISCARD rr_status rr_text_canon(const char *s, size_t n, char *out, size_t cap,
                                     size_t *out_len, rr_text_fault *fault);

// A code's canonical form ("co-۲۳۰۱ " -> "CO-2301"): rr_text_canon, then
// ASCII letters upper-cased, since codes are written in capitals.
RR_NODISCARD rr_status rr_text_canon_code(const char *s, size_t n, char *out, size_t cap,
                                          size_t *out_len, rr_text_fault *fault);

#endif
