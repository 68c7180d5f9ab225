// Pure decisions of the reference-data commands (see tool_refcheck.h).
#include "tool_refcheck.h"

#include "rr_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool __attribute__((format(printf, 2, 3)))
say(char why[TOOL_WHY_BYTES], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    // clang 14 misreads va_start in a static variadic function it inlines.
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    int n = vsnprintf(why, TOOL_WHY_BYTES, fmt, ap);
    va_end(ap);
    (void) n; // values in messages are short codes; a cut one still reads
    return false;
}

bool
tool_actor_choose(const char *by, const char *env, const char *os_user,
                  char out[TOOL_ACTOR_MAX_BYTES + 1], char why[TOOL_WHY_BYTES])
{
    const char *name = by != NULL && by[0] != '\0'     ? by
                       : env != NULL && env[0] != '\0' ? env
                                                       : os_user;
    out[0] = '\0';
    if (name == NULL || name[0] == '\0') {
        return say(why, "no actor: give --by NAME or set REFERRAL_ACTOR");
    }
    size_t len = strlen(name);
    rr_text_fault fault;
    if (!rr_text_check(name, len, RR_TEXT_LINE, &fault)) {
        return say(why, "invalid actor name: it %s", fault.why);
    }
    if (len > TOOL_ACTOR_MAX_BYTES) {
        return say(why, "invalid actor name: it is longer than %d bytes", TOOL_ACTOR_MAX_BYTES);
    }
    memcpy(out, name, len + 1);
    return true;
}

bool
tool_refcheck_digits(const char *s, size_t n)
{
    if (strlen(s) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

bool
tool_office_code_parse(const char *code, tool_office_code *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(code, "CO-", 3) == 0 && tool_refcheck_digits(code + 3, 4)) {
        out->kind = TOOL_OFFICE_COUNTY;
    } else if (strncmp(code, "PO-", 3) == 0 && tool_refcheck_digits(code + 3, 2)) {
        out->kind = TOOL_OFFICE_PROVINCE;
    } else {
        return false;
    }
    memcpy(out->area, code + 3, strlen(code + 3) + 1);
    return true;
}

const char *
tool_office_kind_name(tool_office_kind kind)
{
    return kind == TOOL_OFFICE_COUNTY ? "county" : "province";
}

bool
tool_service_code_check(const char *code, rr_domain domain, char why[TOOL_WHY_BYTES])
{
    bool shape = strlen(code) == 6 && code[3] == '-' && tool_refcheck_digits(code + 4, 2);
    for (size_t i = 0; shape && i < 3; i++) {
        shape = code[i] >= 'A' && code[i] <= 'Z';
    }
    if (!shape) {
        return say(why,
                   "invalid service code \"%s\": expected three capitals, \"-\" and two "
                   "digits, as in \"SOC-12\"",
                   code);
    }
    rr_domain of_code = rr_domain_of_service_code(code);
    if (of_code == RR_DOMAIN_NONE) {
        return say(why,
                   "invalid service code \"%s\": it must start with PRV- (prevention), "
                   "RHB- (rehabilitation) or SOC- (social)",
                   code);
    }
    if (of_code != domain) {
        return say(why,
                   "service code \"%s\" does not match domain \"%s\": its prefix names "
                   "domain \"%s\"",
                   code, rr_domain_name(domain), rr_domain_name(of_code));
    }
    return true;
}

bool
tool_rule_area_check(const tool_rule_area *a, const char **field, char why[TOOL_WHY_BYTES])
{
    bool county = a->county[0] != '\0', province = a->province[0] != '\0';
    if (county && province && strcmp(a->county_province, a->province) != 0) {
        *field = "county";
        return say(why, "county \"%s\" is not in province \"%s\" (it is in province \"%s\")",
                   a->county, a->province, a->county_province);
    }
    if (a->cross_province) {
        return true;
    }
    *field = "office";
    if (!county && !province) {
        return say(why,
                   "a rule without a county or province covers every province: add "
                   "--cross-province to send it all to office \"%s\"",
                   a->office);
    }
    const char *area = province ? a->province : a->county_province;
    if (strcmp(a->office_province, area) == 0) {
        return true;
    }
    if (province) {
        return say(why,
                   "office \"%s\" is in province \"%s\", not in the rule's province \"%s\" "
                   "(add --cross-province if that is intended)",
                   a->office, a->office_province, area);
    }
    return say(why,
               "office \"%s\" is in province \"%s\", not in province \"%s\" of the rule's "
               "county \"%s\" (add --cross-province if that is intended)",
               a->office, a->office_province, area, a->county);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(rr_risk_flag_name(*(const int *) a), rr_risk_flag_name(*(const int *) b));
}

bool
tool_risk_flags_parse(const char *text, char out[TOOL_RISK_FLAGS_BYTES], char why[TOOL_WHY_BYTES])
{
    int flags[RR_RISK_FLAG_COUNT];
    size_t n = 0;
    out[0] = '\0';
    const char *p = text;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char name[32];
        if (len == 0 || len >= sizeof name) {
            return say(why, "unrecognized risk flag \"%.*s\"", (int) (len < 40 ? len : 40), p);
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int f = rr_risk_flag_parse(name);
        if (f == 0) {
            return say(why, "unrecognized risk flag \"%s\"", name);
        }
        bool seen = false;
        for (size_t i = 0; i < n; i++) {
            seen = seen || flags[i] == f;
        }
        if (!seen) {
            flags[n++] = f; // at most RR_RISK_FLAG_COUNT distinct flags exist
        }
        p += len + (p[len] == ',');
    }
    if (n == 0) {
        return say(why, "no risk flag given");
    }
    qsort(flags, n, sizeof flags[0], by_name);
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        const char *name = rr_risk_flag_name(flags[i]);
        size_t len = strlen(name);
        // Eight flag names of under 32 bytes each fit TOOL_RISK_FLAGS_BYTES.
        memcpy(out + used, name, len);
        used += len;
        out[used++] = i + 1 < n ? ',' : '}';
    }
    out[used] = '\0';
    return true;
}
