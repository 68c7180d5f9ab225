// rr_config: default < config file < environment < flag, per option.
#include "rr_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *name, *level;
static long port, workers;
static bool json;

static rr_status
parse(int argc, char **argv)
{
    rr_opt opts[] = {
        {"name", RR_OPT_STRING, "TEST_RR_NAME", "default-name", "a name", &name, 0, 0},
        {"level", RR_OPT_STRING, "TEST_RR_LEVEL", "info", "a level", &level, 0, 0},
        {"port", RR_OPT_INT, "TEST_RR_PORT", "1", "a port", &port, 1, 65535},
        {"workers", RR_OPT_INT, NULL, "2", "workers", &workers, 1, 100},
        {"json", RR_OPT_FLAG, "TEST_RR_JSON", "0", "json", &json, 0, 0},
    };
    return rr_config_parse("test-prog", "a test", opts, 5, argc, argv, NULL);
}

static char path[64];

static void
write_config(const char *text)
{
    snprintf(path, sizeof path, "/tmp/rr-config-test-%d.ini", (int) getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_rr_config_file_then_environment_then_flag(void **state)
{
    (void) state;
    write_config("; comment\nname = from-file\nport = 10\n[test-prog]\nworkers = 7\njson = yes\n"
                 "[other-prog]\nunknown = ignored\n");
    setenv("TEST_RR_PORT", "20", 1);
    char *argv[] = {"test-prog", "--config", path, "--level", "debug", NULL};
    assert_int_equal(parse(5, argv), RR_OK);
    assert_string_equal(name, "from-file");  // file over default
    assert_int_equal(port, 20);              // environment over file
    assert_string_equal(level, "debug");     // flag over all
    assert_int_equal(workers, 7);            // the program's own section
    assert_true(json);
    unsetenv("TEST_RR_PORT");
    unlink(path);
}

static void
test_rr_config_refuses_unknown_settings_and_bad_values(void **state)
{
    (void) state;
    write_config("nmae = typo\n");
    char *argv[] = {"test-prog", "--config", path, NULL};
    assert_int_equal(parse(3, argv), RR_EINVAL);
    write_config("port = 99999\n");
    assert_int_equal(parse(3, argv), RR_EINVAL);
    char *missing[] = {"test-prog", "--config=/nonexistent/rr.ini", NULL};
    assert_int_equal(parse(2, missing), RR_EINVAL);
    unlink(path);
}

static void
test_rr_config_defaults_without_file(void **state)
{
    (void) state;
    char *argv[] = {"test-prog", NULL};
    assert_int_equal(parse(1, argv), RR_OK);
    assert_string_equal(name, "default-name");
    assert_int_equal(port, 1);
    assert_false(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_config_file_then_environment_then_flag),
        cmocka_unit_test(test_rr_config_refuses_unknown_settings_and_bad_values),
        cmocka_unit_test(test_rr_config_defaults_without_file),
    };
    return cmocka_run_group_tests_name("unit.config", tests, NULL, NULL);
}
