// National id checks, after DOMAIN.md: S = d1*10 + ... + d9*2, r = S mod 11,
// valid when d10 == r for r < 2, else d10 == 11 - r.
#include "rr_natid.h"

#include <string.h>

// Decodes one digit at p (ASCII, Persian or Arabic-Indic); returns its value
// and advances *len by the bytes used, or -1 when p does not start a digit.
static int
decode_digit(const unsigned char *p, size_t *len)
{
    if (p[0] >= '0' && p[0] <= '9') {
        *len = 1;
        return p[0] - '0';
    }
    if (p[0] == 0xDB && p[1] >= 0xB0 && p[1] <= 0xB9) { // U+06F0..U+06F9
        *len = 2;
        return p[1] - 0xB0;
    }
    if (p[0] == 0xD9 && p[1] >= 0xA0 && p[1] <= 0xA9) { // U+0660..U+0669
        *len = 2;
        return p[1] - 0xA0;
    }
    return -1;
}

char
rr_natid_check_digit(const char *id)
{
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        sum += (id[i] - '0') * (10 - i);
    }
    int r = sum % 11;
    return (char) ('0' + (r < 2 ? r : 11 - r));
}

rr_status
rr_natid_normalize(const char *text, char out[RR_NATID_LEN + 1], const char **why)
{
    const char *reason = NULL;
    char digits[RR_NATID_LEN + 1];
    size_t count = 0;
    if (text == NULL || text[0] == '\0') {
        reason = "is empty";
        goto fail;
    }
    for (const unsigned char *p = (const unsigned char *) text; *p;) {
        size_t used = 0;
        int d = decode_digit(p, &used);
        if (d < 0) {
            reason = "must contain digits only";
            goto fail;
        }
        if (count == RR_NATID_LEN) {
            reason = "must have 10 digits";
            goto fail;
        }
        digits[count++] = (char) ('0' + d);
        p += used;
    }
    if (count < 8) {
        reason = "must have 10 digits";
        goto fail;
    }
    char id[RR_NATID_LEN + 1];
    size_t pad = RR_NATID_LEN - count;
    memset(id, '0', pad);
    memcpy(id + pad, digits, count);
    id[RR_NATID_LEN] = '\0';

    int same = 1;
    for (size_t i = 1; i < RR_NATID_LEN; i++) {
        same &= (id[i] == id[0]);
    }
    if (same) {
        reason = "cannot be ten identical digits";
        goto fail;
    }
    if (id[9] != rr_natid_check_digit(id)) {
        reason = "fails its check digit";
        goto fail;
    }
    memcpy(out, id, sizeof id);
    return RR_OK;
fail:
    if (why != NULL) {
        *why = reason;
    }
    return RR_EINVAL;
}
