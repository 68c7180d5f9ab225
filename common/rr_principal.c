#include "rr_principal.h"

#include "rr_format.h"

#include <ctype.h>
#include <string.h>

typedef struct principal_prefix {
    const char *text;
    rr_principal_kind kind;
} principal_prefix;

static const principal_prefix PREFIXES[] = {
    {"center:", RR_PRINCIPAL_CENTER},
    {"office:", RR_PRINCIPAL_OFFICE},
    {"worker:", RR_PRINCIPAL_WORKER},
    {"operator:", RR_PRINCIPAL_OPERATOR},
};

// A center code: digits, no leading zero, 1..RR_CENTER_CODE_MAX.
static bool
center_code_ok(const char *c, uint32_t *out)
{
    size_t n = strlen(c);
    if (n < 1 || n > 10 || c[0] == '0') {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char) c[i])) {
            return false;
        }
        v = v * 10 + (uint64_t) (c[i] - '0');
    }
    if (v > RR_CENTER_CODE_MAX) {
        return false;
    }
    *out = (uint32_t) v;
    return true;
}

// An office code: two capitals, a hyphen, then capitals, digits or hyphens
// ("CO-2301", "PO-11"): safe in a file name and a log line.
static bool
office_code_ok(const char *c)
{
    if (strlen(c) < 4 || !isupper((unsigned char) c[0]) || !isupper((unsigned char) c[1]) ||
        c[2] != '-') {
        return false;
    }
    for (; *c; c++) {
        if (!isupper((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '-') {
            return false;
        }
    }
    return true;
}

// An operator's name: 1..14 of [a-z0-9._-], starting with a letter or a
// digit (a file name and a log word, never a path).
static bool
operator_name_ok(const char *c)
{
    size_t n = strlen(c);
    if (n < 1 || n > RR_PRINCIPAL_MAX - strlen("operator:") || c[0] == '.' || c[0] == '_' ||
        c[0] == '-') {
        return false;
    }
    for (; *c; c++) {
        bool lower = *c >= 'a' && *c <= 'z';
        if (!lower && !isdigit((unsigned char) *c) && *c != '.' && *c != '_' && *c != '-') {
            return false;
        }
    }
    return true;
}

bool
rr_principal_parse(const char *text, rr_principal *out)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || strlen(text) > RR_PRINCIPAL_MAX) {
        return false;
    }
    for (size_t i = 0; i < sizeof PREFIXES / sizeof PREFIXES[0]; i++) {
        size_t n = strlen(PREFIXES[i].text);
        if (strncmp(text, PREFIXES[i].text, n) != 0) {
            continue;
        }
        const char *code = text + n;
        bool ok = false;
        switch (PREFIXES[i].kind) {
        case RR_PRINCIPAL_CENTER:
            ok = center_code_ok(code, &out->center);
            break;
        case RR_PRINCIPAL_OFFICE:
            ok = office_code_ok(code);
            break;
        case RR_PRINCIPAL_WORKER:
            out->domain = rr_domain_parse(code);
            ok = out->domain != RR_DOMAIN_NONE || strcmp(code, "any") == 0;
            break;
        case RR_PRINCIPAL_OPERATOR:
            ok = operator_name_ok(code);
            break;
        case RR_PRINCIPAL_NONE:
            break;
        }
        if (!ok) {
            memset(out, 0, sizeof *out);
            return false;
        }
        out->kind = PREFIXES[i].kind;
        memcpy(out->code, code, strlen(code) + 1);
        return true;
    }
    return false;
}

bool
rr_principal_valid(const char *text)
{
    rr_principal p;
    return rr_principal_parse(text, &p);
}

// Formats and checks: a principal made here always parses back.
static bool
make(char out[RR_PRINCIPAL_MAX + 1], const char *prefix, const char *code)
{
    if (rr_format_exact(out, RR_PRINCIPAL_MAX + 1, "%s%s", prefix, code) != RR_OK ||
        !rr_principal_valid(out)) {
        out[0] = '\0';
        return false;
    }
    return true;
}

bool
rr_principal_of_center(uint32_t center_code, char out[RR_PRINCIPAL_MAX + 1])
{
    char code[16];
    rr_format_fits(code, sizeof code, "%u", center_code);
    return make(out, PREFIXES[0].text, code);
}

bool
rr_principal_of_office(const char *office_code, char out[RR_PRINCIPAL_MAX + 1])
{
    return make(out, PREFIXES[1].text, office_code ? office_code : "");
}

bool
rr_principal_serves(const rr_principal *p, rr_domain d)
{
    return p->kind == RR_PRINCIPAL_WORKER && (p->domain == RR_DOMAIN_NONE || p->domain == d);
}
