// referral-worker: serves one domain's requests from a broker, recording
// referrals in PostgreSQL. SIGTERM finishes the batch in hand, replies,
// tells the broker and exits. This file parses options; wrk_run runs.
#define RR_LOG_MODULE "main"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_log.h"
#include "rr_process.h"
#include "rr_version.h"
#include "rr_vocab.h"
#include "wrk_handler.h"
#include "wrk_run.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    const char *domain_name = NULL, *broker = NULL, *db = NULL, *log_level = NULL;
    long credit = 0, batch_wait_ms = 0, heartbeat_ms = 0, liveness = 0, reload_min_ms = 0;
    long escalate_ms = 0;
    const char *log_format = NULL, *key_file = NULL, *broker_key = NULL;
    bool no_db = false;
    rr_opt opts[] = {
        {"domain", RR_OPT_STRING, "REFERRAL_DOMAIN", "",
         "domain served: prevention, rehabilitation, social, or any (every domain: the broker "
         "offers it each domain's queue, most urgent first) (required); a suffix after \"-\" "
         "names one of several instances (social-2, as in referral-worker@social-2)",
         &domain_name, 0, 0},
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER_BACKEND", "tcp://127.0.0.1:5556",
         "the brokers' worker endpoints, separated by commas: the worker serves each of them at "
         "once (at most 8)",
         &broker, 0, 0},
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral",
         "libpq connection string of the referral database; for a formation, every server with"
         " target_session_attrs=read-write (docs/DEPLOYMENT.md)",
         &db, 0, 0},
        {"curve-key-file", RR_OPT_STRING, "REFERRAL_CURVE_KEY_FILE", "",
         "this worker's CURVE key file, with its secret key (empty: no CURVE, for a broker run "
         "with --insecure)",
         &key_file, 0, 0},
        {"broker-key", RR_OPT_STRING, "REFERRAL_BROKER_KEY", "",
         "the broker's public key: its Z85 text or a key file", &broker_key, 0, 0},
        {"credit", RR_OPT_INT, "REFERRAL_CREDIT", "128",
         "requests taken from the broker at once: a batch, recorded in one transaction", &credit, 1,
         WRK_MAX_BATCH},
        {"batch-wait-ms", RR_OPT_INT, "REFERRAL_BATCH_WAIT_MS", "1",
         "how long a lone request waits for a second to share its transaction, ms (0: never)",
         &batch_wait_ms, 0, 100},
        {"heartbeat-ms", RR_OPT_INT, "REFERRAL_HEARTBEAT_MS", "1000",
         "heartbeat interval with the broker, ms", &heartbeat_ms, 50, 60000},
        {"liveness", RR_OPT_INT, "REFERRAL_LIVENESS", "3",
         "heartbeats the broker may miss before we reconnect", &liveness, 2, 100},
        {"catalog-reload-min-ms", RR_OPT_INT, "REFERRAL_CATALOG_RELOAD_MIN_MS", "5000",
         "least time between catalogue reloads caused by unknown centers or services, ms",
         &reload_min_ms, 0, 3600000},
        {"escalate-every-ms", RR_OPT_INT, "REFERRAL_ESCALATE_EVERY_MS", "60000",
         "how often to escalate referrals past their acceptance deadline, ms (0: never)",
         &escalate_ms, 0, 86400000},
        {"no-db", RR_OPT_FLAG, NULL, "0",
         "benchmark only: answer every submission accepted without the database (records "
         "nothing)",
         &no_db, 0, 0},
        {"log-level", RR_OPT_STRING, "REFERRAL_LOG_LEVEL", "info", "error, warn, info or debug",
         &log_level, 0, 0},
        {"log-format", RR_OPT_STRING, "REFERRAL_LOG_FORMAT", "text",
         "text, or json for one JSON object per line", &log_format, 0, 0},
    };
    rr_status st = rr_config_parse("referral-worker",
                                   "referral-worker: records one domain's referrals in PostgreSQL",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return EXIT_SUCCESS;
    }
    if (st != RR_OK) {
        return 2;
    }
    rr_domain domain = RR_DOMAIN_NONE;
    if (!rr_domain_parse_worker(domain_name, &domain)) {
        fprintf(stderr,
                "invalid --domain \"%s\": expected prevention, rehabilitation, social or any, "
                "optionally with a suffix such as \"social-2\"\n",
                domain_name);
        return 2;
    }
    char process[64];
    if (rr_format_exact(process, sizeof process, "worker.%s", domain_name) != RR_OK) {
        fprintf(stderr, "invalid --domain \"%s\": at most %zu characters\n", domain_name,
                sizeof process - sizeof "worker.");
        return 2;
    }
    if (rr_process_start(process, log_level, log_format) != RR_OK) {
        return 2;
    }
    rr_log_info("referral-worker %s starting for the %s domain", rr_version_string(),
                rr_domain_or_any(domain));
    char why[512];
    wrk_endpoints brokers;
    if (wrk_endpoints_parse(broker, &brokers, why, sizeof why) != RR_OK) {
        rr_log_error("%s", why);
        return 2;
    }
    rr_curve_client curve;
    if (rr_curve_client_load(key_file, broker_key, &curve, why, sizeof why) != RR_OK) {
        rr_log_error("%s", why);
        return 2;
    }

    wrk_run_config cfg = {.brokers = &brokers,
                          .domain = domain,
                          .db = db,
                          .process = process,
                          .credit = credit,
                          .batch_wait_ms = batch_wait_ms,
                          .heartbeat_ms = heartbeat_ms,
                          .liveness = liveness,
                          .reload_min_ms = reload_min_ms,
                          .escalate_ms = escalate_ms,
                          .no_db = no_db,
                          .curve = curve};
    return wrk_run(&cfg);
}
