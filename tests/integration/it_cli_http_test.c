// `referralctl queues` and `workers` reach a real monitor the ways operators
// do: by host name, over IPv6, and through a real reverse proxy (nginx)
// with TLS and basic authentication under a path prefix; and every way of
// failing ends in a clear message and a non-zero exit.
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static it_stack stack;
static int http_port, tls_port, v6_port;
static char dir[600];
static pid_t nginx_pid;
static char out[1 << 16];

#define run(...) it_run(out, sizeof out, __VA_ARGS__)

static int
setup(void **state)
{
    (void) state;
    if (!it_stack_start(&stack, "clihttp", 12, NULL, NULL)) {
        return -1;
    }
    http_port = atoi(strrchr(stack.http, ':') + 1);
    tls_port = http_port + 50;
    v6_port = http_port + 51;
    snprintf(dir, sizeof dir, "%s/nginx", stack.logdir);
    // A self-signed certificate for localhost, a password file, and nginx
    // in front of the monitor: https + basic auth under /referral/ on
    // 127.0.0.1, plain http on [::1].
    if (run("rm -rf %s && mkdir -p %s/logs && cd %s && "
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 "
            "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 && "
            "printf 'ops:%%s\\n' \"$(openssl passwd -apr1 s3cret)\" > htpasswd",
            dir, dir, dir) != 0) {
        fprintf(stderr, "%s", out);
        return -1;
    }
    char conf[700];
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f,
            "daemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log %s/logs/error.log;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log %s/logs/access.log;\n"
            "  client_body_temp_path %s/tmp-body;\n  proxy_temp_path %s/tmp-proxy;\n"
            "  fastcgi_temp_path %s/tmp-fcgi;\n  uwsgi_temp_path %s/tmp-uwsgi;\n"
            "  scgi_temp_path %s/tmp-scgi;\n"
            "  server {\n    listen 127.0.0.1:%d ssl;\n    server_name localhost;\n"
            "    ssl_certificate %s/cert.pem;\n    ssl_certificate_key %s/key.pem;\n"
            "    location /referral/ {\n      auth_basic \"referral monitor\";\n"
            "      auth_basic_user_file %s/htpasswd;\n      proxy_pass http://%s/;\n    }\n  }\n"
            "  server {\n    listen [::1]:%d;\n    location / { proxy_pass http://%s; }\n  }\n}\n",
            dir, dir, dir, dir, dir, dir, dir, dir, tls_port, dir, dir, dir, stack.http, v6_port,
            stack.http);
    fclose(f);
    nginx_pid = fork();
    if (nginx_pid == 0) {
        char log[700];
        snprintf(log, sizeof log, "%s/logs/stderr.log", dir);
        if (freopen(log, "w", stderr) == NULL) {
            _exit(127);
        }
        execlp("nginx", "nginx", "-p", dir, "-c", conf, (char *) NULL);
        _exit(127);
    }
    // Ready when it answers through both servers.
    for (long long deadline = it_now_ms() + 20000; it_now_ms() < deadline; it_sleep_ms(100)) {
        if (run("curl -sf -o /dev/null --cacert %s/cert.pem -u ops:s3cret "
                "https://localhost:%d/referral/healthz && curl -sf -o /dev/null "
                "http://[::1]:%d/healthz",
                dir, tls_port, v6_port) == 0) {
            return 0;
        }
    }
    fprintf(stderr, "nginx did not come up: see %s/logs\n", dir);
    return -1;
}

static int
teardown(void **state)
{
    (void) state;
    if (nginx_pid > 0) {
        kill(nginx_pid, SIGTERM);
        waitpid(nginx_pid, NULL, 0);
    }
    return it_stack_stop(&stack) ? 0 : -1;
}

static const char *
ctl(void)
{
    return getenv("RR_CTL_BIN");
}

static void
test_queues_by_host_name_and_over_ipv6(void **state)
{
    (void) state;
    assert_int_equal(run("%s queues --http localhost:%d", ctl(), http_port), 0);
    assert_non_null(strstr(out, "social"));
    assert_non_null(strstr(out, "; ready;"));
    // Each worker's database state arrives with its first heartbeat.
    for (long long deadline = it_now_ms() + 10000;; it_sleep_ms(200)) {
        assert_int_equal(run("%s workers --http '[::1]:%d'", ctl(), v6_port), 0);
        if (strstr(out, "unknown") == NULL || it_now_ms() > deadline) {
            break;
        }
    }
    assert_non_null(strstr(out, "(3 workers)"));
    // One broker in each worker's list, attached to it; no line naming a
    // broker it is not attached to.
    assert_non_null(strstr(out, " reconnects brokers\n"));
    assert_non_null(strstr(out, "    1/1\n"));
    assert_null(strstr(out, "is not attached to"));
    assert_null(strstr(out, "unknown"));
    assert_null(strstr(out, "DOWN")); // not even in the first heartbeat
    assert_non_null(strstr(out, "connected"));
    // An IPv6 address without brackets is refused with the reason.
    assert_int_equal(run("%s queues --http ::1:%d", ctl(), v6_port), 1);
    assert_non_null(strstr(out, "write an IPv6 address in brackets"));
}

static void
test_queues_through_a_tls_proxy_with_basic_auth(void **state)
{
    (void) state;
    // Credentials from the environment, the proxy's CA from a file, and a
    // path prefix: the same table as on the broker's host.
    assert_int_equal(
        run("REFERRAL_HTTP_USER=ops:s3cret %s queues --http https://localhost:%d/referral/ "
            "--http-cacert %s/cert.pem",
            ctl(), tls_port, dir),
        0);
    assert_non_null(strstr(out, "rehabilitation"));
    assert_non_null(strstr(out, "; ready;"));
    assert_int_equal(run("%s workers --json --http https://localhost:%d/referral "
                         "--http-user ops:s3cret --http-cacert %s/cert.pem",
                         ctl(), tls_port, dir),
                     0);
    assert_non_null(strstr(out, "\"workers\":["));

    // Wrong or missing credentials: the proxy's 401, said plainly.
    assert_int_equal(run("%s queues --http https://localhost:%d/referral --http-cacert %s/cert.pem",
                         ctl(), tls_port, dir),
                     1);
    assert_non_null(strstr(out, "answered 401"));
    assert_non_null(strstr(out, "refused the credentials"));
    assert_int_equal(run("%s queues --http https://localhost:%d/referral --http-user ops:wrong "
                         "--http-cacert %s/cert.pem",
                         ctl(), tls_port, dir),
                     1);
    assert_non_null(strstr(out, "answered 401"));

    // A certificate the system's CAs do not vouch for is refused.
    assert_int_equal(run("%s queues --http https://localhost:%d/referral --http-user ops:s3cret",
                         ctl(), tls_port),
                     1);
    assert_non_null(strstr(out, "could not reach the monitor at https://localhost:"));
    assert_non_null(strstr(out, "certificate"));
}

static void
test_connection_failures_name_the_url_and_the_cause(void **state)
{
    (void) state;
    // Nothing listens on port 1.
    assert_int_equal(run("%s queues --http 127.0.0.1:1", ctl()), 1);
    assert_non_null(strstr(out, "could not reach the monitor at http://127.0.0.1:1/api/v1/queues"));
    assert_non_null(strstr(out, "Couldn't connect to server"));
    // A name that does not resolve.
    assert_int_equal(run("%s queues --http no-such-host.invalid:8080", ctl()), 1);
    assert_non_null(strstr(out, "no-such-host.invalid"));
    assert_non_null(strstr(out, "resolve"));
    // Something that is not the monitor: its answer is named, not parsed as ours.
    assert_int_equal(run("%s queues --http 'http://[::1]:%d/nothing'", ctl(), v6_port), 1);
    assert_non_null(strstr(out, "answered 404"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queues_by_host_name_and_over_ipv6),
        cmocka_unit_test(test_queues_through_a_tls_proxy_with_basic_auth),
        cmocka_unit_test(test_connection_failures_name_the_url_and_the_cause),
    };
    return cmocka_run_group_tests_name("integration.cli_http", tests, setup, teardown);
}
