// referral-broker: reads its configuration, installs signal handlers and
// runs the broker loop until SIGTERM or SIGINT.
#define RR_LOG_MODULE "main"
#include "brk_conns.h"
#include "brk_http.h"
#include "brk_monitor.h"
#include "brk_server.h"
#include "rr_config.h"
#include "rr_log.h"
#include "rr_process.h"
#include "rr_service.h"
#include "rr_version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

// The descriptor limit (RLIMIT_NOFILE's soft limit) set to want when it is
// not 0, within the hard limit; the limit in force is returned. systemd's
// default soft limit (1,024) would let a flood of connections take every
// descriptor long before the connection caps apply.
static uint64_t
set_open_files(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        rr_log_warn("cannot read the descriptor limit: %s; assuming 1024", strerror(errno));
        return 1024;
    }
    if (want > 0 && (rlim_t) want != rl.rlim_cur) {
        rlim_t target = (rlim_t) want;
        if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) {
            rr_log_warn("--open-files %ld is above the hard limit %llu: using that", want,
                        (unsigned long long) rl.rlim_max);
            target = rl.rlim_max;
        }
        struct rlimit next = {target, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &next) != 0) {
            rr_log_warn("cannot set the descriptor limit to %llu: %s", (unsigned long long) target,
                        strerror(errno));
        } else {
            rl = next;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl.rlim_cur;
}

int
main(int argc, char **argv)
{
    brk_config cfg = {0};
    const char *log_level = NULL, *http_address = NULL, *monitor_hosts = NULL;
    const char *log_format = NULL, *expected = NULL;
    long history_step_ms = 0, history_samples = 0, open_files = 0;
    long monitor_max = 0, monitor_per_address = 0, monitor_request_ms = 0;
    rr_opt opts[] = {
        {"frontend", RR_OPT_STRING, "REFERRAL_BROKER_FRONTEND", "tcp://127.0.0.1:5555",
         "endpoint centers connect to", &cfg.frontend, 0, 0},
        {"backend", RR_OPT_STRING, "REFERRAL_BROKER_BACKEND", "tcp://127.0.0.1:5556",
         "endpoint workers connect to", &cfg.backend, 0, 0},
        {"queue-max", RR_OPT_INT, "REFERRAL_QUEUE_MAX", "100000",
         "requests waiting per domain before new ones are answered busy", &cfg.queue_max, 1,
         10000000},
        {"queue-max-bytes", RR_OPT_INT, "REFERRAL_QUEUE_MAX_BYTES", "67108864",
         "bytes waiting per domain (bodies plus a fixed cost per request) before new ones are "
         "answered busy",
         &cfg.queue_max_bytes, 1048576, 68719476736},
        {"heartbeat-ms", RR_OPT_INT, "REFERRAL_HEARTBEAT_MS", "1000",
         "heartbeat interval with workers, ms", &cfg.heartbeat_ms, 50, 60000},
        {"liveness", RR_OPT_INT, "REFERRAL_LIVENESS", "3",
         "heartbeats a worker may miss before it is declared dead", &cfg.liveness, 2, 100},
        {"max-attempts", RR_OPT_INT, "REFERRAL_MAX_ATTEMPTS", "8",
         "deliveries of one request in all before it is given up (dead-lettered)",
         &cfg.max_attempts, 1, 100},
        {"max-failures", RR_OPT_INT, "REFERRAL_MAX_FAILURES", "3",
         "failures of one request (a worker refusing it, or lost holding it alone) before it is "
         "dead-lettered",
         &cfg.max_failures, 1, 100},
        {"retry-backoff-ms", RR_OPT_INT, "REFERRAL_RETRY_BACKOFF_MS", "200",
         "wait before retrying a failed request, ms; doubles with each failure",
         &cfg.retry_backoff_ms, 0, 600000},
        {"retry-after-ms", RR_OPT_INT, "REFERRAL_RETRY_AFTER_MS", "1000",
         "retry hint sent with busy replies, ms", &cfg.retry_after_ms, 0, 3600000},
        {"request-ttl-ms", RR_OPT_INT, "REFERRAL_REQUEST_TTL_MS", "30000",
         "a request queued longer than this is answered busy, ms", &cfg.request_ttl_ms, 100,
         3600000},
        {"drain-ms", RR_OPT_INT, "REFERRAL_DRAIN_MS", "5000",
         "on SIGTERM, how long to wait for in-flight replies, ms", &cfg.drain_ms, 0, 600000},
        {"hwm", RR_OPT_INT, "REFERRAL_HWM", "200000", "ZeroMQ high-water mark per socket, messages",
         &cfg.hwm, 100, 10000000},
        {"fair-every", RR_OPT_INT, "REFERRAL_FAIR_EVERY", "8",
         "every n-th dispatch serves the longest-waiting request of any priority (0: strict)",
         &cfg.fair_every, 0, 1000000},
        {"max-inflight-per-principal", RR_OPT_INT, "REFERRAL_MAX_INFLIGHT_PER_PRINCIPAL", "256",
         "requests one principal (a key) may have queued or in flight at once; more are answered "
         "busy (0: no limit; not applied with --insecure)",
         &cfg.max_outstanding, 0, 10000000},
        {"queries-per-second", RR_OPT_INT, "REFERRAL_QUERIES_PER_SECOND", "20",
         "FOLLOW, STATUS and INBOX one principal may send per second, on average (operators ten "
         "times as many); faster ones are answered busy with the time until the next (0: no "
         "limit; not applied with --insecure)",
         &cfg.queries_per_s, 0, 1000000},
        {"query-burst", RR_OPT_INT, "REFERRAL_QUERY_BURST", "40",
         "queries one principal may send at once above that rate (operators ten times as many)",
         &cfg.query_burst, 1, 10000000},
        {"max-body-bytes", RR_OPT_INT, "REFERRAL_MAX_BODY_BYTES", "65536",
         "largest request body accepted; larger ones are answered ETOOBIG", &cfg.max_body_bytes,
         256, 65536},
        {"handshake-ms", RR_OPT_INT, "REFERRAL_HANDSHAKE_MS", "5000",
         "a connection that has not finished its ZeroMQ handshake within this many ms is closed",
         &cfg.handshake_ms, 100, 60000},
        {"max-center-connections", RR_OPT_INT, "REFERRAL_MAX_CENTER_CONNECTIONS", "8192",
         "connections open at once on the front end; more are closed at once", &cfg.max_centers, 1,
         1000000},
        {"max-worker-connections", RR_OPT_INT, "REFERRAL_MAX_WORKER_CONNECTIONS", "1024",
         "connections open at once on the back end; more are closed at once", &cfg.max_workers, 1,
         1000000},
        {"max-connections-per-address", RR_OPT_INT, "REFERRAL_MAX_CONNECTIONS_PER_ADDRESS", "256",
         "connections open at once from one source address, on each socket (raise it for many "
         "centers behind one NAT)",
         &cfg.max_per_address, 1, 1000000},
        {"open-files", RR_OPT_INT, "REFERRAL_OPEN_FILES", "65536",
         "descriptor limit set at start (within the hard limit; 0: leave it); the connection "
         "caps are lowered to fit it",
         &open_files, 0, 16777216},
        {"curve-key-file", RR_OPT_STRING, "REFERRAL_CURVE_KEY_FILE", "",
         "the broker's CURVE key file, with its secret key (referralctl keys generate)",
         &cfg.curve_key_file, 0, 0},
        {"keys-dir", RR_OPT_STRING, "REFERRAL_KEYS_DIR", "",
         "directory of registered public keys (referralctl keys register); re-read when it "
         "changes",
         &cfg.keys_dir, 0, 0},
        {"insecure", RR_OPT_FLAG, "REFERRAL_INSECURE", "0",
         "no authentication: any peer may act as any center, office or worker (local "
         "development only)",
         &cfg.insecure, 0, 0},
        {"http", RR_OPT_STRING, "REFERRAL_HTTP", "127.0.0.1:8080",
         "HOST:PORT of the HTTP monitor (/metrics, /healthz, /readyz, /api/v1/...); off: none",
         &http_address, 0, 0},
        {"monitor-host", RR_OPT_LIST, "REFERRAL_MONITOR_HOST", "",
         "a host name browsers and scrapers use for the HTTP monitor (a reverse proxy's name "
         "when it passes the Host on); repeat it, or separate names with commas. IP addresses "
         "and localhost are always answered, other names with 421",
         &monitor_hosts, 0, 0},
        {"monitor-max-connections", RR_OPT_INT, "REFERRAL_MONITOR_MAX_CONNECTIONS", "256",
         "connections open at once on the HTTP monitor; at the cap it stops accepting until one "
         "closes (lowered to fit --open-files)",
         &monitor_max, 1, 100000},
        {"monitor-max-connections-per-address", RR_OPT_INT,
         "REFERRAL_MONITOR_MAX_CONNECTIONS_PER_ADDRESS", "32",
         "HTTP monitor connections open at once from one source address (at most half the "
         "total); more are closed at once",
         &monitor_per_address, 1, 100000},
        {"monitor-request-timeout-ms", RR_OPT_INT, "REFERRAL_MONITOR_REQUEST_TIMEOUT_MS", "5000",
         "an HTTP monitor connection whose request is not whole within this many ms of its "
         "accept or of its previous answer is closed (slow clients, idle keep-alive)",
         &monitor_request_ms, 100, 600000},
        {"expected-workers", RR_OPT_STRING, "REFERRAL_EXPECTED_WORKERS", "1",
         "live workers each domain should have, for monitoring and alerts: N for every domain, "
         "or prevention=N,rehabilitation=N,social=N",
         &expected, 0, 0},
        {"history-step-ms", RR_OPT_INT, "REFERRAL_HISTORY_STEP_MS", "5000",
         "the dashboard's history: one sample every this many ms", &history_step_ms, 100, 3600000},
        {"history-samples", RR_OPT_INT, "REFERRAL_HISTORY_SAMPLES", "5760",
         "the dashboard's history: samples kept (5760 of 5 s: 8 hours, about 2.2 MB)",
         &history_samples, 1, 100000},
        {"log-level", RR_OPT_STRING, "REFERRAL_LOG_LEVEL", "info", "error, warn, info or debug",
         &log_level, 0, 0},
        {"log-format", RR_OPT_STRING, "REFERRAL_LOG_FORMAT", "text",
         "text, or json for one JSON object per line", &log_format, 0, 0},
    };
    rr_status st = rr_config_parse("referral-broker",
                                   "referral-broker: routes center requests to domain workers",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return EXIT_SUCCESS;
    }
    if (st != RR_OK) {
        return 2;
    }
    char why[256];
    if (brk_expected_workers_parse(expected, cfg.workers_expected, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    if (rr_process_start("broker", log_level, log_format) != RR_OK) {
        return 2;
    }
    rr_log_info("referral-broker %s starting", rr_version_string());
    uint64_t fd_limit = set_open_files(open_files);
    brk_conns_plan plan = brk_conns_fit(fd_limit, (size_t) cfg.max_centers,
                                        (size_t) cfg.max_workers, (size_t) monitor_max);
    if (plan.lowered) {
        rr_log_warn("descriptor limit %llu: connection caps lowered to fit it (centers %zu, "
                    "workers %zu, monitor %zu); raise --open-files or LimitNOFILE",
                    (unsigned long long) fd_limit, plan.centers, plan.workers, plan.monitor);
    }
    cfg.max_centers = (long) plan.centers;
    cfg.max_workers = (long) plan.workers;

    brk_server *server = brk_server_new(&cfg);
    if (server == NULL) {
        return EXIT_FAILURE;
    }
    brk_board *board = NULL;
    brk_http *http = NULL;
    if (strcmp(http_address, "off") != 0) {
        board = brk_board_new((size_t) history_samples, history_step_ms);
        brk_http_caps caps = {plan.monitor, (size_t) monitor_per_address, monitor_request_ms};
        http = board ? brk_http_new(http_address, monitor_hosts, board, &caps) : NULL;
        if (http == NULL) {
            brk_board_destroy(&board);
            brk_server_destroy(&server);
            return EXIT_FAILURE;
        }
        brk_server_set_board(server, board);
    }
    char status[512];
    int n = snprintf(status, sizeof status, "routing: centers on %s, workers on %s, monitor on %s",
                     cfg.frontend, cfg.backend, http_address);
    rr_service_ready(n > 0 ? status : "routing");
    st = brk_server_run(server, &rr_process_stop);
    brk_http_destroy(&http); // stops its thread before the board goes
    const brk_stats *s = brk_server_stats(server);
    rr_log_info("served %llu replies; %llu busy, %llu refused, %llu redelivered, %llu late",
                (unsigned long long) s->replied, (unsigned long long) s->busy,
                (unsigned long long) s->rejected, (unsigned long long) s->redelivered,
                (unsigned long long) s->late_replies);
    brk_server_destroy(&server);
    brk_board_destroy(&board);
    return st == RR_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
