// brk_httpguard: the Host names the monitor answers, the headers every
// answer carries, and what an accept() failure does.
#include "brk_httpguard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static brk_hosts
hosts_with(const char *bind_host, const char *extra)
{
    brk_hosts h;
    char why[256] = "";
    assert_int_equal(brk_hosts_init(&h, bind_host, extra, why, sizeof why), RR_OK);
    assert_string_equal(why, "");
    return h;
}

static void
test_the_monitor_answers_localhost_its_bound_name_and_every_address(void **state)
{
    (void) state;
    brk_hosts h = hosts_with("127.0.0.1", NULL);
    assert_int_equal(h.n, 1); // an address needs no entry
    assert_string_equal(h.name[0], "localhost");
    const char *ok[] = {"localhost",      "localhost:8080", "LOCALHOST.:8080",
                        "127.0.0.1:8080", "127.0.0.1",      "10.2.3.4:80",
                        "[::1]:8080",     "[::1]",          "[fe80::1]:1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(brk_hosts_check(&h, ok[i], 1, true), BRK_HOST_OK);
    }
    brk_hosts named = hosts_with("monitor.internal", NULL);
    assert_int_equal(named.n, 2);
    assert_int_equal(brk_hosts_check(&named, "Monitor.Internal:8080", 1, true), BRK_HOST_OK);
    // A wildcard bind names no host; its addresses are answered anyway.
    brk_hosts any = hosts_with("0.0.0.0", NULL);
    assert_int_equal(any.n, 1);
    brk_hosts any6 = hosts_with("::", NULL);
    assert_int_equal(any6.n, 1);
}

static void
test_a_rebound_name_is_refused_as_misdirected(void **state)
{
    (void) state;
    brk_hosts h = hosts_with("127.0.0.1", NULL);
    const char *names[] = {"evil.example:8080",     "evil.example", "localhost.evil.example",
                           "127.0.0.1.nip.io:8080", "0x7f.1",       "2130706433"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(brk_hosts_check(&h, names[i], 1, true), BRK_HOST_UNKNOWN);
    }
}

static void
test_a_missing_duplicated_or_malformed_host_is_a_bad_request(void **state)
{
    (void) state;
    brk_hosts h = hosts_with("127.0.0.1", NULL);
    assert_int_equal(brk_hosts_check(&h, NULL, 0, true), BRK_HOST_MISSING);
    assert_int_equal(brk_hosts_check(&h, NULL, 0, false), BRK_HOST_OK); // HTTP/1.0 may omit it
    assert_int_equal(brk_hosts_check(&h, "localhost", 2, true), BRK_HOST_MISSING);
    assert_int_equal(brk_hosts_check(&h, "localhost", 2, false), BRK_HOST_MISSING);
    const char *bad[] = {
        "",     "local host", "localhost:",    "localhost:99999", "localhost:80:80", "localhost:8o",
        "[::1", "[::1]x",     "[nonsense]:80", "<script>",        "user@localhost",  "localhost/x",
        "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(brk_hosts_check(&h, bad[i], 1, true), BRK_HOST_MALFORMED);
    }
}

static void
test_monitor_host_names_are_added_and_checked(void **state)
{
    (void) state;
    brk_hosts h = hosts_with("127.0.0.1", " ops.example.org , Grafana.Local:3000,,10.0.0.9,::1");
    assert_int_equal(h.n, 3);
    assert_string_equal(h.name[1], "ops.example.org");
    assert_string_equal(h.name[2], "grafana.local");
    assert_int_equal(brk_hosts_check(&h, "ops.example.org", 1, true), BRK_HOST_OK);
    assert_int_equal(brk_hosts_check(&h, "grafana.local:443", 1, true), BRK_HOST_OK);
    assert_int_equal(brk_hosts_check(&h, "example.org", 1, true), BRK_HOST_UNKNOWN);

    brk_hosts bad;
    char why[256];
    assert_int_equal(brk_hosts_init(&bad, "127.0.0.1", "ok.example,not a name", why, sizeof why),
                     RR_EINVAL);
    assert_string_equal(why, "invalid monitor host name \"not a name\": expected a name such as "
                             "\"ops.example.org\" or an address");
    char many[512];
    size_t len = 0;
    for (int i = 0; i < BRK_HOSTS_MAX; i++) { // with localhost, one too many
        len += (size_t) snprintf(many + len, sizeof many - len, "h%d.example,", i);
    }
    assert_int_equal(brk_hosts_init(&bad, "127.0.0.1", many, why, sizeof why), RR_EINVAL);
    assert_string_equal(why, "too many monitor host names: at most 16, localhost included");
}

static const char *
header(const brk_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, name) == 0) {
            return h[i].value;
        }
    }
    return NULL;
}

static void
test_every_answer_forbids_framing_sniffing_and_inline_script(void **state)
{
    (void) state;
    for (int html = 0; html <= 1; html++) {
        size_t n = 0;
        const brk_header *h = brk_httpguard_headers(html, &n);
        assert_string_equal(header(h, n, "X-Content-Type-Options"), "nosniff");
        assert_string_equal(header(h, n, "X-Frame-Options"), "DENY");
        assert_string_equal(header(h, n, "Cache-Control"), "no-store");
        assert_string_equal(header(h, n, "Referrer-Policy"), "no-referrer");
        const char *csp = header(h, n, "Content-Security-Policy");
        assert_non_null(csp);
        assert_non_null(strstr(csp, "default-src 'none'"));
        assert_non_null(strstr(csp, "frame-ancestors 'none'"));
        assert_null(strstr(csp, "unsafe-"));
    }
    size_t n = 0;
    const brk_header *page = brk_httpguard_headers(true, &n);
    assert_string_equal(header(page, n, "Content-Security-Policy"),
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'");
    const brk_header *other = brk_httpguard_headers(false, &n);
    assert_null(strstr(header(other, n, "Content-Security-Policy"), "script-src"));
}

static void
test_an_accept_failure_pauses_the_listener(void **state)
{
    (void) state;
    assert_int_equal(brk_httpguard_accept_pause_ms(EMFILE), 100);
    assert_int_equal(brk_httpguard_accept_pause_ms(ENFILE), 100);
    assert_int_equal(brk_httpguard_accept_pause_ms(ENOBUFS), 100);
    assert_int_equal(brk_httpguard_accept_pause_ms(ENOMEM), 100);
    assert_int_equal(brk_httpguard_accept_pause_ms(EPERM), 1000); // never 0: no spinning
    assert_int_equal(brk_httpguard_accept_pause_ms(0), 1000);
}

static void
test_accept_failures_are_logged_once_a_minute_and_the_recovery_once(void **state)
{
    (void) state;
    brk_accept_log log = {0};
    uint64_t n = 0;
    assert_false(brk_accept_log_served(&log, &n)); // nothing failed: no line
    assert_true(brk_accept_log_failed(&log, 1000, &n));
    assert_int_equal(n, 1);
    for (int64_t t = 1500; t < 1000 + BRK_ACCEPT_LOG_EVERY_MS; t += 500) {
        assert_false(brk_accept_log_failed(&log, t, &n));
    }
    n = 0;
    assert_true(brk_accept_log_failed(&log, 1000 + BRK_ACCEPT_LOG_EVERY_MS, &n));
    assert_int_equal(n, 120); // the 119 unlogged ones and this one
    assert_true(brk_accept_log_served(&log, &n));
    assert_int_equal(n, 121); // the whole run
    assert_false(brk_accept_log_served(&log, &n));
    // A new run is logged at once again.
    assert_true(brk_accept_log_failed(&log, 1000 + BRK_ACCEPT_LOG_EVERY_MS + 10, &n));
    assert_int_equal(n, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_monitor_answers_localhost_its_bound_name_and_every_address),
        cmocka_unit_test(test_a_rebound_name_is_refused_as_misdirected),
        cmocka_unit_test(test_a_missing_duplicated_or_malformed_host_is_a_bad_request),
        cmocka_unit_test(test_monitor_host_names_are_added_and_checked),
        cmocka_unit_test(test_every_answer_forbids_framing_sniffing_and_inline_script),
        cmocka_unit_test(test_an_accept_failure_pauses_the_listener),
        cmocka_unit_test(test_accept_failures_are_logged_once_a_minute_and_the_recovery_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
