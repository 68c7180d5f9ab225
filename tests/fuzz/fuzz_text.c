// libFuzzer target: rr_text on any bytes. Check and canonical form agree
// (what canon accepts, check accepts; its output is clean text), the
// canonical form is idempotent, and a code's form is the canonical form
// upper-cased. Runs inside PostgreSQL too (db/ext), so a crash here is a
// server crash there.
#include "rr_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;
    bool clean = rr_text_check(s, size, RR_TEXT_LINE, NULL);
    (void) rr_text_check(s, size, RR_TEXT_MULTILINE, NULL);
    char once[512];
    size_t n1 = 0;
    rr_status st = rr_text_canon(s, size, once, sizeof once, &n1, NULL);
    if (st == RR_OK) {
        if (!clean || n1 == 0 || n1 >= sizeof once || strlen(once) != n1 ||
            !rr_text_check(once, n1, RR_TEXT_LINE, NULL)) {
            abort();
        }
        char twice[512];
        size_t n2 = 0;
        if (rr_text_canon(once, n1, twice, sizeof twice, &n2, NULL) != RR_OK || n2 != n1 ||
            memcmp(once, twice, n1) != 0) {
            abort(); // not idempotent
        }
        char code[512];
        size_t n3 = 0;
        if (rr_text_canon_code(s, size, code, sizeof code, &n3, NULL) != RR_OK || n3 != n1) {
            abort();
        }
        // Printable ASCII takes its own path: a leading ZWNJ (removed)
        // sends the same text through ICU, which must agree.
        if (size < 256) {
            char zwnj[260] = "\xe2\x80\x8c";
            memcpy(zwnj + 3, data, size);
            char other[512];
            size_t n4 = 0;
            if (rr_text_canon(zwnj, size + 3, other, sizeof other, &n4, NULL) != RR_OK ||
                n4 != n1 || memcmp(other, once, n1) != 0) {
                abort();
            }
        }
    } else if (st != RR_EINVAL && st != RR_ETOOBIG) {
        abort();
    } else if (st == RR_EINVAL && clean && n1 != 0) {
        abort();
    }
    return 0;
}
