// rr_text: what is refused, and that every everyday spelling of one
// household id has one canonical form.
#include "rr_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define BASE  "آرش کریمی ۴۱" // "Arash Karimi 41", as a Persian keyboard writes it
#define CANON "آرش کریمی 41"

typedef struct variant {
    const char *what;
    const char *text;
} variant;

// Each of issue 13's keyboard variants of BASE.
static const variant VARIANTS[] = {
    {"as typed", BASE},
    {"trailing space", BASE " "},
    {"leading space", " " BASE},
    {"no-break space between words", "آرش\u00a0کریمی ۴۱"},
    {"two spaces and a tab-free run of spaces", "آرش   کریمی  ۴۱"},
    {"Arabic yeh", "آرش کريمي ۴۱"},
    {"alef maksura", "آرش کریمى ۴۱"},
    {"Arabic kaf", "آرش كریمی ۴۱"},
    {"Latin digits", "آرش کریمی 41"},
    {"Arabic-Indic digits", "آرش کریمی ٤١"},
    {"ZWNJ", "آرش کری\u200cمی ۴۱"},
    {"zero-width space", "\u200bآرش کریمی ۴۱"},
    {"zero-width joiner", "آرش کر\u200dیمی ۴۱"},
    {"BOM", "\ufeffآرش کریمی ۴۱"},
    {"right-to-left mark", "\u200fآرش کریمی ۴۱\u200e"},
    {"Arabic letter mark", "آرش\u061c کریمی ۴۱"},
    {"soft hyphen", "آرش کری\u00adمی ۴۱"},
    {"tatweel", "آرش کریـمی ۴۱"},
    {"NFD alef with madda", "\u0627\u0653رش کریمی ۴۱"},
    {"presentation forms", "\ufe81\ufead\ufeb5 \ufedb\ufeae\ufef4\ufee4\ufbfc ۴۱"},
    {"fullwidth digits", "آرش کریمی \uff14\uff11"},
};

static void
test_every_keyboard_variant_has_one_canonical_form(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof VARIANTS / sizeof VARIANTS[0]; i++) {
        char out[128];
        size_t len = 0;
        rr_text_fault fault = {0};
        rr_status rc = rr_text_canon(VARIANTS[i].text, strlen(VARIANTS[i].text), out, sizeof out,
                                     &len, &fault);
        if (rc != RR_OK || strcmp(out, CANON) != 0) {
            fail_msg("variant \"%s\": status %d, got \"%s\" (%s)", VARIANTS[i].what, (int) rc, out,
                     fault.why ? fault.why : "");
        }
        assert_int_equal(len, strlen(CANON));
    }
}

typedef struct pair {
    const char *in;
    const char *canon;
} pair;

static void
test_latin_case_digits_dashes_and_heh_variants(void **state)
{
    (void) state;
    static const pair CASES[] = {
        {"H-941-0007", "h-941-0007"},
        {"h-941-0007", "h-941-0007"},
        {"\uff28\uff0d\uff19\uff14\uff11\uff0d\uff10\uff10\uff10\uff17", "h-941-0007"}, // fullwidth
        {"H\u2013941\u2212"
         "0007",
         "h-941-0007"},                    // en dash, minus sign
        {"H\u2010941-0007", "h-941-0007"}, // hyphen
        {"نارمک", "نارمک"},
        {"نارمك", "نارمک"},
        {"نارمک ", "نارمک"},
        {"خانهٔ ما", "خانه ما"}, // heh + hamza above (ezafe)
        {"خانۀ ما", "خانه ما"}, // heh with yeh above
        {"مدرسة", "مدرسه"},     // teh marbuta
        {"مُحَمَّد", "محمد"},       // harakat
        {"STRASSE", "strasse"},
        {"Straße", "strasse"}, // full case folding
        {"a \u2028 b", "a b"}, // line separator is white space
        {"\u00a0x\u00a0", "x"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char out[128];
        size_t len = 0;
        rr_text_fault fault = {0};
        rr_status rc =
            rr_text_canon(CASES[i].in, strlen(CASES[i].in), out, sizeof out, &len, &fault);
        if (rc != RR_OK || strcmp(out, CASES[i].canon) != 0) {
            fail_msg("\"%s\": status %d, got \"%s\", want \"%s\"", CASES[i].in, (int) rc, out,
                     CASES[i].canon);
        }
    }
}

static void
test_canon_is_idempotent(void **state)
{
    (void) state;
    static const char *const INPUTS[] = {
        BASE, "H-941-0007", "ا\u064e\u0653", "\u0627\u064e\u0654", "ﷺ", "ﷺ ﷻ",
        "Ǆ",  "ﬃ",          "\u1e9b\u0323",
    };
    for (size_t i = 0; i < sizeof INPUTS / sizeof INPUTS[0]; i++) {
        char once[256];
        char twice[256];
        size_t n1 = 0;
        size_t n2 = 0;
        assert_int_equal(rr_text_canon(INPUTS[i], strlen(INPUTS[i]), once, sizeof once, &n1, NULL),
                         RR_OK);
        assert_int_equal(rr_text_canon(once, n1, twice, sizeof twice, &n2, NULL), RR_OK);
        assert_string_equal(once, twice);
    }
}

static void
test_refused_text_names_the_reason_and_offset(void **state)
{
    (void) state;
    typedef struct refusal {
        const char *text;
        size_t len;
        rr_text_kind kind;
        const char *why;
        size_t at;
    } refusal;
    static const refusal CASES[] = {
        {"ab\0cd", 5, RR_TEXT_MULTILINE, "holds a NUL byte", 2},
        {"a\x01", 2, RR_TEXT_MULTILINE, "holds a control character", 1},
        {"a\tb", 3, RR_TEXT_LINE, "holds a control character", 1},
        {"a\nb", 3, RR_TEXT_LINE, "holds a control character", 1},
        {"\x7f", 1, RR_TEXT_MULTILINE, "holds a control character", 0},
        {"x\xc2\x85", 3, RR_TEXT_MULTILINE, "holds a C1 control character", 1},
        {"\xe2\x80\xae"
         "abc",
         6, RR_TEXT_LINE, "holds a bidi embedding, override or isolate character", 0}, // RLO
        {"a\xe2\x81\xa6", 4, RR_TEXT_MULTILINE,
         "holds a bidi embedding, override or isolate character", 1},     // LRI
        {"\xc0\xaf", 2, RR_TEXT_LINE, "is not valid UTF-8", 0},           // overlong '/'
        {"\xed\xa0\x80", 3, RR_TEXT_LINE, "is not valid UTF-8", 0},       // U+D800
        {"ab\xf4\x90\x80\x80", 6, RR_TEXT_LINE, "is not valid UTF-8", 2}, // > U+10FFFF
        {"\xe2\x82", 2, RR_TEXT_LINE, "is not valid UTF-8", 0},           // truncated
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        rr_text_fault fault = {0};
        assert_false(rr_text_check(CASES[i].text, CASES[i].len, CASES[i].kind, &fault));
        assert_string_equal(fault.why, CASES[i].why);
        assert_int_equal(fault.at, CASES[i].at);
    }
    assert_true(rr_text_check("سلام\tدنیا\r\n", strlen("سلام\tدنیا\r\n"), RR_TEXT_MULTILINE, NULL));
    assert_true(rr_text_check("\u200fسلام\u200e", strlen("\u200fسلام\u200e"), RR_TEXT_LINE, NULL));
    assert_true(rr_text_check("\xf0\x9f\x98\x80", 4, RR_TEXT_LINE, NULL)); // U+1F600
}

static void
test_canon_refuses_what_check_refuses_and_empty_results(void **state)
{
    (void) state;
    char out[64];
    size_t len = 99;
    rr_text_fault fault = {0};
    assert_int_equal(rr_text_canon("H-1\0x", 5, out, sizeof out, &len, &fault), RR_EINVAL);
    assert_string_equal(fault.why, "holds a NUL byte");
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    const char *invisible = " \u200c\u200b\ufeff\u00a0 ";
    assert_int_equal(rr_text_canon(invisible, strlen(invisible), out, sizeof out, &len, &fault),
                     RR_EINVAL);
    assert_string_equal(fault.why, "is empty once spaces and invisible characters are removed");
}

static void
test_canon_that_does_not_fit_is_too_big_not_cut(void **state)
{
    (void) state;
    char out[8];
    size_t len = 0;
    rr_text_fault fault = {0};
    assert_int_equal(rr_text_canon("abcdefgh", 8, out, sizeof out, &len, &fault), RR_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(len, 8);
    assert_int_equal(rr_text_canon("abcdefg", 7, out, sizeof out, &len, &fault), RR_OK);
    assert_string_equal(out, "abcdefg");
    // One ligature is 18 characters once compatibility forms are decomposed.
    char room[64];
    assert_int_equal(rr_text_canon("ﷺ", strlen("ﷺ"), room, 20, &len, &fault), RR_ETOOBIG);
    assert_true(len > 20);
    // Longer than the stack buffers: the heap path gives the same answer.
    char big_in[3000];
    char big_out[3100];
    memset(big_in, 'A', sizeof big_in);
    memcpy(big_in + 1000, " \u064a ", strlen(" \u064a "));
    assert_int_equal(rr_text_canon(big_in, sizeof big_in, big_out, sizeof big_out, &len, &fault),
                     RR_OK);
    assert_int_equal(big_out[0], 'a');
    assert_memory_equal(big_out + 1000, " \u06cc ", strlen(" \u06cc "));
}

static void
test_codes_are_upper_case_with_ascii_digits(void **state)
{
    (void) state;
    char out[16];
    size_t len = 0;
    assert_int_equal(
        rr_text_canon_code(" co-۲۳۰۱\u200c", strlen(" co-۲۳۰۱\u200c"), out, sizeof out, &len, NULL),
        RR_OK);
    assert_string_equal(out, "CO-2301");
    assert_int_equal(len, 7);
}

// Printable ASCII takes a path of its own; a leading ZWNJ (removed) sends
// the same text through ICU: both must agree, on every string of up to four
// characters from an alphabet with each kind of ASCII character.
static void
test_the_ascii_path_agrees_with_icu(void **state)
{
    (void) state;
    static const char ALPHABET[] = " aZ-09!~_";
    enum { K = sizeof ALPHABET - 1 };
    for (int len = 0; len <= 4; len++) {
        int total = 1;
        for (int i = 0; i < len; i++) {
            total *= K;
        }
        for (int code = 0; code < total; code++) {
            char ascii[8];
            char zwnj[16] = "\u200c";
            int c = code;
            for (int i = 0; i < len; i++, c /= K) {
                ascii[i] = ALPHABET[c % K];
            }
            ascii[len] = '\0';
            strcat(zwnj, ascii);
            char a[32], b[32];
            size_t na = 0, nb = 0;
            rr_status sa = rr_text_canon(ascii, strlen(ascii), a, sizeof a, &na, NULL);
            rr_status sb = rr_text_canon(zwnj, strlen(zwnj), b, sizeof b, &nb, NULL);
            if (sa != sb || na != nb || strcmp(a, b) != 0) {
                fail_msg("\"%s\": %d \"%s\" by the ASCII path, %d \"%s\" through ICU", ascii,
                         (int) sa, a, (int) sb, b);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_keyboard_variant_has_one_canonical_form),
        cmocka_unit_test(test_latin_case_digits_dashes_and_heh_variants),
        cmocka_unit_test(test_canon_is_idempotent),
        cmocka_unit_test(test_refused_text_names_the_reason_and_offset),
        cmocka_unit_test(test_canon_refuses_what_check_refuses_and_empty_results),
        cmocka_unit_test(test_canon_that_does_not_fit_is_too_big_not_cut),
        cmocka_unit_test(test_codes_are_upper_case_with_ascii_digits),
        cmocka_unit_test(test_the_ascii_path_agrees_with_icu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
