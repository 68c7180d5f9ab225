// tool_http_url: what referralctl makes of --http (host and port, IPv6,
// a URL with a path prefix behind a reverse proxy).
#include "tool_http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static rr_status
url_of(const char *base, char *url, size_t cap, char *why)
{
    tool_http_options o = {base, NULL, NULL, 1000};
    return tool_http_url(&o, "/api/v1/queues", url, cap, why, 256);
}

static void
test_tool_http_url_builds_urls_from_every_accepted_form(void **state)
{
    (void) state;
    const char *cases[][2] = {
        {"127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/queues"},
        {"localhost:8080", "http://localhost:8080/api/v1/queues"},
        {"[::1]:8080", "http://[::1]:8080/api/v1/queues"},
        {"https://ops.example/referral", "https://ops.example/referral/api/v1/queues"},
        {"https://ops.example/referral//", "https://ops.example/referral/api/v1/queues"},
        {"http://[fd00::2]:80", "http://[fd00::2]:80/api/v1/queues"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[256], why[256];
        assert_int_equal(url_of(cases[i][0], url, sizeof url, why), RR_OK);
        assert_string_equal(url, cases[i][1]);
    }
}

static void
test_tool_http_url_refuses_bare_ipv6_empty_and_too_long(void **state)
{
    (void) state;
    char url[64], why[256];
    assert_int_equal(url_of("::1:8080", url, sizeof url, why), RR_EINVAL);
    assert_non_null(strstr(why, "write an IPv6 address in brackets"));
    assert_int_equal(url_of("", url, sizeof url, why), RR_EINVAL);
    assert_non_null(strstr(why, "expected HOST:PORT or a URL"));
    assert_int_equal(
        url_of("https://a-very-long-host-name.example/with/a/long/prefix", url, sizeof url, why),
        RR_EINVAL); // does not fit url: refused, not cut
    assert_non_null(strstr(why, "too long"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_http_url_builds_urls_from_every_accepted_form),
        cmocka_unit_test(test_tool_http_url_refuses_bare_ipv6_empty_and_too_long),
    };
    return cmocka_run_group_tests_name("unit.http_url", tests, NULL, NULL);
}
