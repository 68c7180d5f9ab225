// rr_config: default < config file < environment < flag, per option.
#include "rr_config.h"
#include "rr_version.h"

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
    assert_string_equal(name, "from-file"); // file over default
    assert_int_equal(port, 20);             // environment over file
    assert_string_equal(level, "debug");    // flag over all
    assert_int_equal(workers, 7);           // the program's own section
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

// A list option: the environment's list is replaced by the flags, and a
// flag given again adds to the list instead of replacing it.
static void
test_rr_config_a_repeated_list_flag_adds_to_the_list(void **state)
{
    (void) state;
    const char *hosts = NULL;
    rr_opt opts[] = {
        {"host", RR_OPT_LIST, "TEST_RR_HOSTS", "", "names", &hosts, 0, 0},
    };
    setenv("TEST_RR_HOSTS", "env.example,env2.example", 1);
    char *none[] = {"test-prog", NULL};
    assert_int_equal(rr_config_parse("test-prog", "a test", opts, 1, 1, none, NULL), RR_OK);
    assert_string_equal(hosts, "env.example,env2.example");
    char *argv[] = {"test-prog", "--host", "a.example", "--host=b.example", "--host", "c,d", NULL};
    assert_int_equal(rr_config_parse("test-prog", "a test", opts, 1, 6, argv, NULL), RR_OK);
    assert_string_equal(hosts, "a.example,b.example,c,d");
    char *one[] = {"test-prog", "--host", "only.example", NULL};
    assert_int_equal(rr_config_parse("test-prog", "a test", opts, 1, 3, one, NULL), RR_OK);
    assert_string_equal(hosts, "only.example");
    unsetenv("TEST_RR_HOSTS");
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

// Runs parse with stdout sent to a file; returns what it printed.
static rr_status
parse_capturing(int argc, char **argv, char *out, size_t cap)
{
    fflush(stdout);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/rr-config-out-%d", (int) getpid());
    FILE *f = fopen(tmp, "w+");
    assert_non_null(f);
    int saved = dup(STDOUT_FILENO);
    assert_true(dup2(fileno(f), STDOUT_FILENO) >= 0);
    rr_status st = parse(argc, argv);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    rewind(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    unlink(tmp);
    return st;
}

static void
test_rr_config_version_prints_the_build_and_stops(void **state)
{
    (void) state;
    char out[256];
    char *argv[] = {"test-prog", "--version", NULL};
    assert_int_equal(parse_capturing(2, argv, out, sizeof out), RR_ESHUTDOWN);
    char want[128];
    snprintf(want, sizeof want, "test-prog %s", rr_version_string());
    assert_memory_equal(out, want, strlen(want));
    assert_string_equal(out + strlen(want), "\n");
    assert_memory_equal(rr_version_string(), rr_version_number(), strlen(rr_version_number()));
}

// Which peers get what 0.5 added: the version's first two numbers decide.
static void
test_rr_version_at_least_reads_major_and_minor(void **state)
{
    (void) state;
    assert_true(rr_version_at_least("0.5.0", 0, 5));
    assert_true(rr_version_at_least("0.5.0 (git d13a9e1c0b2f-dirty)", 0, 5));
    assert_true(rr_version_at_least("0.12.1", 0, 5));
    assert_true(rr_version_at_least("1.0.0", 0, 5));
    assert_false(rr_version_at_least("0.4.0 (git 71d35a7)", 0, 5));
    assert_false(rr_version_at_least("0.4", 0, 5));
    assert_false(rr_version_at_least("", 0, 5));
    assert_false(rr_version_at_least("dev", 0, 5));
    assert_false(rr_version_at_least("5", 0, 5));
    assert_false(rr_version_at_least(NULL, 0, 5));
    assert_true(rr_version_at_least(rr_version_number(), 0, 5)); // this build
}

static const char *own_version;

static void
test_rr_config_a_command_keeps_its_own_version_option(void **state)
{
    (void) state;
    rr_opt opts[] = {
        {"version", RR_OPT_STRING, NULL, "", "the referral's version", &own_version, 0, 0},
    };
    char *argv[] = {"test-prog", "--version", "7", NULL};
    assert_int_equal(rr_config_parse("test-prog", "a test", opts, 1, 3, argv, NULL), RR_OK);
    assert_string_equal(own_version, "7");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_config_version_prints_the_build_and_stops),
        cmocka_unit_test(test_rr_version_at_least_reads_major_and_minor),
        cmocka_unit_test(test_rr_config_a_command_keeps_its_own_version_option),
        cmocka_unit_test(test_rr_config_file_then_environment_then_flag),
        cmocka_unit_test(test_rr_config_refuses_unknown_settings_and_bad_values),
        cmocka_unit_test(test_rr_config_defaults_without_file),
        cmocka_unit_test(test_rr_config_a_repeated_list_flag_adds_to_the_list),
    };
    return cmocka_run_group_tests_name("unit.config", tests, NULL, NULL);
}
