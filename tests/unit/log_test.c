// rr_log: one JSON object per line with the event's id when asked.
#include "rr_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Runs fn with stderr sent to a file and returns what it wrote.
static void
capture(void (*fn)(void), char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/rr-log-test-%d", (int) getpid());
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    unlink(path);
}

static void
log_json_with_id(void)
{
    rr_log_init("worker.social", RR_LOG_INFO, true);
    rr_log_write_id(RR_LOG_WARN, "handler", "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59",
                    "request %s refused: \"quoted\"\nsecond line", "x");
    rr_log_write(RR_LOG_DEBUG, "handler", "not written at info");
}

static void
test_rr_log_json_lines_carry_the_id_and_escape_the_message(void **state)
{
    (void) state;
    char out[4096];
    capture(log_json_with_id, out, sizeof out);
    assert_non_null(strchr(out, '\n'));
    assert_null(strchr(strchr(out, '\n') + 1, '\n')); // exactly one line
    json_error_t err;
    json_t *o = json_loads(out, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "process")), "worker.social");
    assert_string_equal(json_string_value(json_object_get(o, "component")), "handler");
    assert_string_equal(json_string_value(json_object_get(o, "id")),
                        "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "request x refused: \"quoted\" second line");
    json_decref(o);
}

static void
log_text(void)
{
    rr_log_init("broker", RR_LOG_INFO, false);
    rr_log_write(RR_LOG_ERROR, "server", "libpq says: %s", "connection lost\n");
}

static void
test_rr_log_text_lines_have_time_level_process_and_module(void **state)
{
    (void) state;
    char out[4096];
    capture(log_text, out, sizeof out);
    assert_non_null(strstr(out, "Z error broker["));
    assert_non_null(strstr(out, "] server: libpq says: connection lost\n"));
    assert_int_equal(out[strlen(out) - 2], 't'); // the trailing newline of libpq is stripped
}

// As log_text, with JOURNAL_STREAM naming the file stderr now writes to.
static void
log_to_journal(void)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char stream[64];
    snprintf(stream, sizeof stream, "%llu:%llu", (unsigned long long) st.st_dev,
             (unsigned long long) st.st_ino);
    assert_int_equal(setenv("JOURNAL_STREAM", stream, 1), 0);
    rr_log_init("broker", RR_LOG_DEBUG, false);
    rr_log_write(RR_LOG_ERROR, "server", "e");
    rr_log_write(RR_LOG_WARN, "server", "w");
    rr_log_write(RR_LOG_INFO, "server", "i");
    rr_log_write(RR_LOG_DEBUG, "server", "d");
    rr_log_init("broker", RR_LOG_INFO, true);
    rr_log_write(RR_LOG_WARN, "server", "json");
    assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
}

// JOURNAL_STREAM inherited by a process whose stderr goes elsewhere.
static void
log_with_stale_journal_stream(void)
{
    assert_int_equal(setenv("JOURNAL_STREAM", "1:1", 1), 0);
    rr_log_init("broker", RR_LOG_INFO, false);
    rr_log_write(RR_LOG_ERROR, "server", "e");
    assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
}

static void
test_rr_log_prefixes_journald_priorities_only_when_stderr_is_the_journal(void **state)
{
    (void) state;
    char out[4096];
    capture(log_to_journal, out, sizeof out);
    const char *want[] = {"<3>", "<4>", "<6>", "<7>", "<4>{\"time\":"};
    const char *line = out;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_non_null(line);
        assert_memory_equal(line, want[i], strlen(want[i]));
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    assert_non_null(line);
    assert_int_equal(*line, '\0'); // five lines, no more
    json_error_t err;
    json_t *o = json_loads(strstr(out, "<4>{") + 3, 0, &err);
    assert_non_null(o); // the JSON object is whole after the prefix
    json_decref(o);

    capture(log_with_stale_journal_stream, out, sizeof out);
    assert_int_not_equal(out[0], '<');
    assert_non_null(strstr(out, "Z error broker["));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_log_json_lines_carry_the_id_and_escape_the_message),
        cmocka_unit_test(test_rr_log_text_lines_have_time_level_process_and_module),
        cmocka_unit_test(test_rr_log_prefixes_journald_priorities_only_when_stderr_is_the_journal),
    };
    return cmocka_run_group_tests_name("unit.log", tests, NULL, NULL);
}
