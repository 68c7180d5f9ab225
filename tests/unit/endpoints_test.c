// wrk_endpoints: the worker's --broker list, one session per endpoint.
#include "wrk_endpoints.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

static void
test_wrk_endpoints_takes_a_single_endpoint_as_a_list_of_one(void **state)
{
    (void) state;
    wrk_endpoints eps;
    char why[256] = "";
    assert_int_equal(wrk_endpoints_parse("tcp://127.0.0.1:5556", &eps, why, sizeof why), RR_OK);
    assert_int_equal(eps.count, 1);
    assert_string_equal(eps.list[0], "tcp://127.0.0.1:5556");
    assert_string_equal(why, "");
}

static void
test_wrk_endpoints_splits_on_commas_and_trims_spaces(void **state)
{
    (void) state;
    wrk_endpoints eps;
    char why[256];
    assert_int_equal(
        wrk_endpoints_parse("tcp://a:5556, tcp://b:5556 ,\ttcp://c:5556", &eps, why, sizeof why),
        RR_OK);
    assert_int_equal(eps.count, 3);
    assert_string_equal(eps.list[0], "tcp://a:5556");
    assert_string_equal(eps.list[1], "tcp://b:5556");
    assert_string_equal(eps.list[2], "tcp://c:5556");
}

// Each refusal leaves the caller's list as it was.
static void
expect_refusal(const char *text, const char *reason)
{
    wrk_endpoints eps;
    memset(&eps, 0x5a, sizeof eps);
    wrk_endpoints before = eps;
    char why[256] = "";
    assert_int_equal(wrk_endpoints_parse(text, &eps, why, sizeof why), RR_EINVAL);
    assert_memory_equal(&eps, &before, sizeof eps);
    assert_non_null(strstr(why, reason));
}

static void
test_wrk_endpoints_refuses_an_empty_list_or_entry(void **state)
{
    (void) state;
    expect_refusal("", "an endpoint is empty");
    expect_refusal("tcp://a:1,,tcp://b:1", "an endpoint is empty");
    expect_refusal("tcp://a:1, ", "an endpoint is empty");
}

static void
test_wrk_endpoints_refuses_an_endpoint_named_twice(void **state)
{
    (void) state;
    expect_refusal("tcp://a:1,tcp://b:1, tcp://a:1", "\"tcp://a:1\" is named twice");
}

static void
test_wrk_endpoints_refuses_more_than_eight_brokers(void **state)
{
    (void) state;
    wrk_endpoints eps;
    char why[256];
    const char *eight = "tcp://a:1,tcp://a:2,tcp://a:3,tcp://a:4,tcp://a:5,tcp://a:6,"
                        "tcp://a:7,tcp://a:8";
    assert_int_equal(wrk_endpoints_parse(eight, &eps, why, sizeof why), RR_OK);
    assert_int_equal(eps.count, WRK_MAX_BROKERS);
    assert_string_equal(eps.list[7], "tcp://a:8");
    expect_refusal("tcp://a:1,tcp://a:2,tcp://a:3,tcp://a:4,tcp://a:5,tcp://a:6,tcp://a:7,"
                   "tcp://a:8,tcp://a:9",
                   "more than 8 brokers");
}

static void
test_wrk_endpoints_refuses_an_endpoint_longer_than_its_limit(void **state)
{
    (void) state;
    char text[WRK_MAX_ENDPOINT_BYTES + 2];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0'; // one byte over
    expect_refusal(text, "longer than 255 bytes");
    text[sizeof text - 2] = '\0'; // exactly the limit
    wrk_endpoints eps;
    char why[256];
    assert_int_equal(wrk_endpoints_parse(text, &eps, why, sizeof why), RR_OK);
    assert_int_equal(strlen(eps.list[0]), WRK_MAX_ENDPOINT_BYTES);
}

// The heartbeats name the endpoints a worker is detached from, and the
// brokers take printable ASCII only: such a list is refused at start, not
// found out as heartbeat counters every broker skips.
static void
test_wrk_endpoints_refuses_an_endpoint_that_is_not_printable_ascii(void **state)
{
    (void) state;
    expect_refusal("tcp://a:1,tcp://\xc3\xa9:1", "byte 0xc3, not printable ASCII");
    expect_refusal("tcp://a\x01:1", "byte 0x01, not printable ASCII");
    expect_refusal("tcp://a:1\x7f", "byte 0x7f, not printable ASCII");
    wrk_endpoints eps;
    char why[256];
    assert_int_equal(
        wrk_endpoints_parse("tcp://[::1]:5556,ipc:///run/rr~b.sock", &eps, why, sizeof why), RR_OK);
    assert_int_equal(eps.count, 2);
    assert_string_equal(eps.list[1], "ipc:///run/rr~b.sock");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrk_endpoints_takes_a_single_endpoint_as_a_list_of_one),
        cmocka_unit_test(test_wrk_endpoints_splits_on_commas_and_trims_spaces),
        cmocka_unit_test(test_wrk_endpoints_refuses_an_empty_list_or_entry),
        cmocka_unit_test(test_wrk_endpoints_refuses_an_endpoint_named_twice),
        cmocka_unit_test(test_wrk_endpoints_refuses_more_than_eight_brokers),
        cmocka_unit_test(test_wrk_endpoints_refuses_an_endpoint_longer_than_its_limit),
        cmocka_unit_test(test_wrk_endpoints_refuses_an_endpoint_that_is_not_printable_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
