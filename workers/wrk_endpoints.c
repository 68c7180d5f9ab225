// Parsing the worker's --broker list.
#include "wrk_endpoints.h"

#include "rr_format.h"

#include <assert.h>
#include <string.h>

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

rr_status
wrk_endpoints_parse(const char *text, wrk_endpoints *out, char *why, size_t cap)
{
    assert(text != NULL && out != NULL && why != NULL);
    wrk_endpoints eps;
    memset(&eps, 0, sizeof eps);
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        const char *a = p, *b = end;
        while (a < b && is_space(*a)) {
            a++;
        }
        while (b > a && is_space(b[-1])) {
            b--;
        }
        size_t len = (size_t) (b - a);
        if (len == 0) {
            (void) rr_format(why, cap, "invalid broker list \"%s\": an endpoint is empty", text);
            return RR_EINVAL;
        }
        if (len > WRK_MAX_ENDPOINT_BYTES) {
            (void) rr_format(why, cap, "invalid broker list: an endpoint is longer than %d bytes",
                             WRK_MAX_ENDPOINT_BYTES);
            return RR_EINVAL;
        }
        for (const char *c = a; c < b; c++) {
            if ((unsigned char) *c < 0x20 || (unsigned char) *c > 0x7e) {
                (void) rr_format(why, cap,
                                 "invalid broker list: an endpoint holds byte 0x%02x, not "
                                 "printable ASCII",
                                 (unsigned) (unsigned char) *c);
                return RR_EINVAL;
            }
        }
        if (eps.count == WRK_MAX_BROKERS) {
            (void) rr_format(why, cap, "invalid broker list \"%s\": more than %d brokers", text,
                             WRK_MAX_BROKERS);
            return RR_EINVAL;
        }
        char *slot = eps.list[eps.count];
        memcpy(slot, a, len);
        slot[len] = '\0';
        for (size_t i = 0; i < eps.count; i++) {
            if (strcmp(eps.list[i], slot) == 0) {
                (void) rr_format(why, cap, "invalid broker list: \"%s\" is named twice", slot);
                return RR_EINVAL;
            }
        }
        eps.count++;
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    *out = eps;
    return RR_OK;
}
