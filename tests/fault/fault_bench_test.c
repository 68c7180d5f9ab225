// Fault test of referralctl bench itself: PostgreSQL restarts during its
// load and is still down when the load ends. The bench's own connection
// died with the restart; it must open it again (with backoff) and still
// reconcile every acknowledgement: nothing lost, nothing duplicated.
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static bool pg_stopped;

static int
restart_pg(void **state)
{
    (void) state;
    if (pg_stopped && it_pg_ctl("start")) {
        pg_stopped = false;
    }
    return pg_stopped ? -1 : 0;
}

typedef struct bench_run {
    char cmd[2048];
    char out[4096];
    int status;
    atomic_bool done;
} bench_run;

static void *
run_bench(void *arg)
{
    bench_run *r = arg;
    FILE *p = popen(r->cmd, "r");
    size_t n = p ? fread(r->out, 1, sizeof r->out - 1, p) : 0;
    r->out[n] = '\0';
    r->status = p ? pclose(p) : -1;
    atomic_store(&r->done, true);
    return NULL;
}

static void
test_bench_across_a_postgresql_restart(void **state)
{
    (void) state;
    it_stack s;
    const char *fast[] = {"--heartbeat-ms", "200", NULL};
    assert_true(it_stack_start(&s, "f_bench", 27, fast, fast));
    static bench_run r;
    snprintf(r.cmd, sizeof r.cmd,
             "%s bench --broker %s --db '%s' --duration 4 --clients 4 --window 4 --timeout-ms 500"
             " --ceiling-seconds 0 --json 2>%s/bench.err",
             getenv("RR_CTL_BIN"), s.frontend, s.conninfo, s.logdir);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_bench, &r), 0);
    it_sleep_ms(2000); // load under way
    assert_true(it_pg_ctl("stop"));
    pg_stopped = true;
    // Down past the end of the load (4 s) and its drain (3 x 500 ms): the
    // bench finds its connection dead and the database away.
    it_sleep_ms(6000);
    assert_false(atomic_load(&r.done)); // still trying, not given up
    assert_true(it_pg_ctl("start"));
    pg_stopped = false;
    assert_int_equal(pthread_join(t, NULL), 0);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        fail_msg("bench failed (status %d): %s; see %s/bench.err", r.status, r.out, s.logdir);
    }
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    if (o == NULL) {
        fail_msg("bench printed no JSON: %s", r.out);
    }
    printf("# bench across a restart: %s", r.out);
    assert_true(json_integer_value(json_object_get(o, "acked")) > 0);
    assert_int_equal(json_integer_value(json_object_get(o, "lost")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "duplicated")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "rejected")), 0);
    json_decref(o);
    char err[700];
    snprintf(err, sizeof err, "%s/bench.err", s.logdir);
    assert_true(it_file_count(err, "reconnected to the database", 1));
    assert_true(it_stack_stop(&s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bench_across_a_postgresql_restart, restart_pg),
    };
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
