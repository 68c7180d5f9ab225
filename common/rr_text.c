// Refusing text and canonical identities, on ICU (see rr_text.h). Works in
// UTF-16 because ICU's normalizers do; buffers are on the stack for the
// short strings identities are, on the heap beyond that, freed before return
// (this file also runs inside PostgreSQL, where nothing may leak per call).
#include "rr_text.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { STACK_UNITS = 256, MAX_ROUNDS = 3 };

static bool
fail(rr_text_fault *fault, const char *why, size_t at)
{
    if (fault != NULL) {
        fault->why = why;
        fault->at = at;
    }
    return false;
}

static bool
is_bidi_control(UChar32 c)
{
    return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

bool
rr_text_check(const char *s, size_t n, rr_text_kind kind, rr_text_fault *fault)
{
    if (n > INT32_MAX) {
        return fail(fault, "is too long to be text", 0);
    }
    const uint8_t *p = (const uint8_t *) s;
    int32_t len = (int32_t) n;
    int32_t i = 0;
    while (i < len) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT(p, i, len, c);
        if (c < 0) {
            return fail(fault, "is not valid UTF-8", (size_t) at);
        }
        if (c == 0) {
            return fail(fault, "holds a NUL byte", (size_t) at);
        }
        if (c < 0x20 || c == 0x7F) {
            bool allowed = kind == RR_TEXT_MULTILINE && (c == '\t' || c == '\n' || c == '\r');
            if (!allowed) {
                return fail(fault, "holds a control character", (size_t) at);
            }
        } else if (c >= 0x80 && c <= 0x9F) {
            return fail(fault, "holds a C1 control character", (size_t) at);
        } else if (is_bidi_control(c)) {
            return fail(fault, "holds a bidi embedding, override or isolate character",
                        (size_t) at);
        }
    }
    return true;
}

// A UTF-16 buffer that starts on the stack and moves to the heap when it
// must grow. unit_cap counts UChars.
typedef struct ubuf {
    UChar *u;
    int32_t len;
    int32_t cap;
    bool heap;
} ubuf;

static bool
ubuf_reserve(ubuf *b, int32_t need)
{
    if (need <= b->cap) {
        return true;
    }
    UChar *u = malloc((size_t) need * sizeof *u);
    if (u == NULL) {
        return false;
    }
    if (b->heap) {
        free(b->u);
    }
    b->u = u;
    b->cap = need;
    b->heap = true;
    return true;
}

static void
ubuf_release(ubuf *b)
{
    if (b->heap) {
        free(b->u);
    }
    b->u = NULL;
    b->heap = false;
}

// dst = NFKC_Casefold(src).
static rr_status
normalize(const UNormalizer2 *nfkc_cf, const ubuf *src, ubuf *dst)
{
    UErrorCode st = U_ZERO_ERROR;
    int32_t need = unorm2_normalize(nfkc_cf, src->u, src->len, dst->u, dst->cap, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR) {
        if (!ubuf_reserve(dst, need)) {
            return RR_ENOMEM;
        }
        st = U_ZERO_ERROR;
        need = unorm2_normalize(nfkc_cf, src->u, src->len, dst->u, dst->cap, &st);
    }
    if (U_FAILURE(st)) {
        return st == U_MEMORY_ALLOCATION_ERROR ? RR_ENOMEM : RR_EINVAL;
    }
    dst->len = need;
    return RR_OK;
}

// The Persian letter a variant stands for; c itself when none; -1 to drop.
static UChar32
persian_letter(UChar32 c)
{
    switch (c) {
    case 0x064A:       // ARABIC LETTER YEH
    case 0x0649:       // ARABIC LETTER ALEF MAKSURA
        return 0x06CC; // ARABIC LETTER FARSI YEH
    case 0x0643:       // ARABIC LETTER KAF
        return 0x06A9; // ARABIC LETTER KEHEH
    case 0x0629:       // ARABIC LETTER TEH MARBUTA
    case 0x06C0:       // ARABIC LETTER HEH WITH YEH ABOVE
    case 0x06C1:       // ARABIC LETTER HEH GOAL
    case 0x06BE:       // ARABIC LETTER HEH DOACHASHMEE
    case 0x06D5:       // ARABIC LETTER AE
        return 0x0647; // ARABIC LETTER HEH
    case 0x0640:       // ARABIC TATWEEL: stretching, not a letter
    case 0x0670:       // ARABIC LETTER SUPERSCRIPT ALEF
        return -1;
    default:
        return c >= 0x064B && c <= 0x065F ? -1 : c; // harakat, hamza above/below
    }
}

// In place: letters, digits and dashes mapped, spaces collapsed and trimmed.
static void
fold(ubuf *b)
{
    int32_t in = 0;
    int32_t out = 0;
    bool pending_space = false;
    while (in < b->len) {
        UChar32 c;
        U16_NEXT(b->u, in, b->len, c);
        if (u_isUWhiteSpace(c)) {
            pending_space = out > 0;
            continue;
        }
        c = persian_letter(c);
        if (c < 0) {
            continue;
        }
        if (u_charType(c) == U_DECIMAL_DIGIT_NUMBER) {
            c = '0' + u_charDigitValue(c);
        } else if (u_charType(c) == U_DASH_PUNCTUATION || c == 0x2212) { // or MINUS SIGN
            c = '-';
        }
        if (pending_space) {
            b->u[out++] = ' ';
            pending_space = false;
        }
        // c is never longer than what it replaced: U16_APPEND stays in place.
        UBool bad = false;
        U16_APPEND(b->u, out, b->len, c, bad);
        (void) bad;
    }
    b->len = out;
}

// Canonical UTF-16 of s into *result (which the caller releases).
static rr_status
canon_units(const char *s, size_t n, ubuf *result, ubuf *scratch, rr_text_fault *fault)
{
    if (!rr_text_check(s, n, RR_TEXT_LINE, fault)) {
        return RR_EINVAL;
    }
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
    if (U_FAILURE(st)) {
        return RR_ENOMEM; // ICU's data could not be loaded
    }
    int32_t need = 0;
    st = U_ZERO_ERROR;
    u_strFromUTF8(scratch->u, scratch->cap, &need, s, (int32_t) n, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING) {
        if (!ubuf_reserve(scratch, need + 1)) {
            return RR_ENOMEM;
        }
        st = U_ZERO_ERROR;
        u_strFromUTF8(scratch->u, scratch->cap, &need, s, (int32_t) n, &st);
    }
    if (U_FAILURE(st)) {
        (void) fail(fault, "is not valid UTF-8", 0);
        return RR_EINVAL;
    }
    scratch->len = need;
    // Folding can bring together what normalization would join (a mark
    // removed between a letter and another mark): repeat until stable.
    ubuf *src = scratch;
    ubuf *dst = result;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        rr_status norm = normalize(nfkc_cf, src, dst);
        if (norm != RR_OK) {
            return norm;
        }
        fold(dst);
        st = U_ZERO_ERROR;
        if (unorm2_isNormalized(nfkc_cf, dst->u, dst->len, &st) && U_SUCCESS(st)) {
            break;
        }
        ubuf *t = src;
        src = dst;
        dst = t;
    }
    if (dst != result) {
        ubuf t = *result;
        *result = *dst;
        *dst = t;
    }
    if (result->len == 0) {
        (void) fail(fault, "is empty once spaces and invisible characters are removed", 0);
        return RR_EINVAL;
    }
    return RR_OK;
}

// Printable ASCII (what most ids are) written canonically without ICU: for
// ASCII, NFKC with case folding is lower case, no character is ignorable,
// '-' is the only dash, the digits are ASCII and the space the only white
// space rr_text_check lets through. The same answer as the full path (the
// unit tests and fuzz_text compare the two), without touching ICU's data.
static rr_status
canon_ascii(const char *s, size_t n, char *out, size_t cap, size_t *out_len, rr_text_fault *fault)
{
    size_t len = 0;
    bool pending_space = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ') {
            pending_space = len > 0;
            continue;
        }
        if (pending_space) {
            len++; // the space is written below, once room is known
            pending_space = false;
            if (len <= cap) {
                out[len - 1] = ' ';
            }
        }
        len++;
        if (len <= cap) {
            out[len - 1] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
        }
    }
    *out_len = len;
    if (len == 0) {
        (void) fail(fault, "is empty once spaces and invisible characters are removed", 0);
        return RR_EINVAL;
    }
    if (len >= cap) {
        if (cap > 0) {
            out[0] = '\0';
        }
        (void) fail(fault, "is too long", 0);
        return RR_ETOOBIG;
    }
    out[len] = '\0';
    return RR_OK;
}

static bool
printable_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7F) {
            return false;
        }
    }
    return true;
}

rr_status
rr_text_canon(const char *s, size_t n, char *out, size_t cap, size_t *out_len, rr_text_fault *fault)
{
    *out_len = 0;
    if (cap > 0) {
        out[0] = '\0';
    }
    if (printable_ascii(s, n)) {
        return canon_ascii(s, n, out, cap, out_len, fault);
    }
    UChar stack_a[STACK_UNITS];
    UChar stack_b[STACK_UNITS];
    ubuf result = {stack_a, 0, STACK_UNITS, false};
    ubuf scratch = {stack_b, 0, STACK_UNITS, false};
    rr_status rc = canon_units(s, n, &result, &scratch, fault);
    if (rc == RR_OK) {
        UErrorCode st = U_ZERO_ERROR;
        int32_t need = 0;
        int32_t room = cap > INT32_MAX ? INT32_MAX : (int32_t) cap;
        u_strToUTF8(out, room, &need, result.u, result.len, &st);
        *out_len = (size_t) need;
        if (st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING) {
            (void) fail(fault, "is too long", 0);
            rc = RR_ETOOBIG;
        } else if (U_FAILURE(st)) {
            rc = RR_EINVAL;
        }
        if (rc != RR_OK && cap > 0) {
            out[0] = '\0';
        }
    }
    ubuf_release(&result);
    ubuf_release(&scratch);
    return rc;
}

rr_status
rr_text_canon_code(const char *s, size_t n, char *out, size_t cap, size_t *out_len,
                   rr_text_fault *fault)
{
    rr_status rc = rr_text_canon(s, n, out, cap, out_len, fault);
    if (rc == RR_OK) {
        for (size_t i = 0; i < *out_len; i++) {
            if (out[i] >= 'a' && out[i] <= 'z') {
                out[i] = (char) (out[i] - 'a' + 'A');
            }
        }
    }
    return rc;
}
