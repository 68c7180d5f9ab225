// rr_vocab: a worker's instance name (a systemd unit instance) to its domain.
#include "rr_vocab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
test_rr_domain_parse_instance_takes_a_domain_with_an_optional_suffix(void **state)
{
    (void) state;
    assert_int_equal(rr_domain_parse_instance("social"), RR_DOMAIN_SOCIAL);
    assert_int_equal(rr_domain_parse_instance("social-2"), RR_DOMAIN_SOCIAL);
    assert_int_equal(rr_domain_parse_instance("rehabilitation-east_1"), RR_DOMAIN_REHABILITATION);
    assert_int_equal(rr_domain_parse_instance("prevention-A"), RR_DOMAIN_PREVENTION);
}

static void
test_rr_domain_parse_instance_refuses_what_is_not_a_domain_instance(void **state)
{
    (void) state;
    const char *bad[] = {
        "",          "-",         "social-",   "-2",
        "housing-1", "social 2",  "social-2 ", "social-a.b",
        "Social-1",  "social--1", "socialx-1", "a-very-long-prefix-that-is-not-a-domain-at-all-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rr_domain_parse_instance(bad[i]), RR_DOMAIN_NONE);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_domain_parse_instance_takes_a_domain_with_an_optional_suffix),
        cmocka_unit_test(test_rr_domain_parse_instance_refuses_what_is_not_a_domain_instance),
    };
    return cmocka_run_group_tests_name("unit.vocab", tests, NULL, NULL);
}
