#define RR_LOG_MODULE "main"
#include "wrk_run.h"

#include "rr_clock.h"
#include "rr_log.h"
#include "rr_process.h"
#include "rr_service.h"
#include "rr_wire.h"
#include "wrk_echo.h"
#include "wrk_handler.h"
#include "wrk_brokers.h"
#include "wrk_store.h"

#include <stdlib.h>
#include <time.h>
#include <zmq.h>

// --no-db: the sessions and nothing else (wrk_echo.h).
static int
run_without_database(const wrk_run_config *cfg)
{
    long credit = cfg->credit;
    rr_log_warn("--no-db: answering every submission accepted WITHOUT recording it "
                "(benchmark mode)");
    void *ctx = zmq_ctx_new();
    wrk_job *jobs = calloc((size_t) credit, sizeof *jobs);
    wrk_session_config scfg = {NULL,          cfg->domain, (uint32_t) credit, cfg->heartbeat_ms,
                               cfg->liveness, cfg->curve};
    wrk_brokers *brokers = ctx && jobs ? wrk_brokers_new(ctx, cfg->brokers, &scfg) : NULL;
    int exit_code = brokers ? EXIT_SUCCESS : EXIT_FAILURE;
    uint64_t serial = 0;
    rr_service_ready("benchmark mode: answering without the database");
    while (brokers != NULL && !rr_process_stop) {
        rr_service_watchdog(rr_clock_mono_ms());
        size_t count = 0;
        rr_status st = wrk_brokers_recv(brokers, jobs, (size_t) credit, &count,
                                        wrk_brokers_next_tick_ms(brokers));
        if (st != RR_OK) {
            exit_code = st == RR_ESHUTDOWN ? EXIT_SUCCESS : EXIT_FAILURE;
            break;
        }
        for (size_t i = 0; i < count; i++) {
            zmq_msg_t reply;
            wrk_echo_reply(&jobs[i], ++serial, &reply);
            wrk_brokers_reply(brokers, &jobs[i], &reply);
            rr_msg_close(&jobs[i].body);
        }
        (void) wrk_brokers_tick(brokers);
    }
    wrk_brokers_destroy(&brokers);
    free(jobs);
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    return exit_code;
}

// The counters the sessions' next heartbeats carry to the brokers.
static void
report_stats(wrk_brokers *brokers, wrk_handler *handler, wrk_store *store)
{
    wrk_session_stats stats;
    wrk_handler_counters(handler, &stats.processed, &stats.failed, &stats.batches,
                         &stats.batch_items);
    wrk_store_counters(store, &stats.commits, &stats.commit_seconds, &stats.db_reconnects);
    stats.db_connected = wrk_store_connected(store);
    wrk_brokers_set_stats(brokers, &stats);
}

// The status line (systemctl status): the domain and which brokers we are
// attached to.
static void
report_status(const wrk_brokers *brokers, rr_domain domain)
{
    char which[512];
    wrk_brokers_describe(brokers, which, sizeof which);
    rr_service_status("serving %s requests; %s", rr_domain_or_any(domain), which);
}

int
wrk_run(const wrk_run_config *cfg)
{
    if (cfg->no_db) {
        return run_without_database(cfg);
    }
    rr_domain domain = cfg->domain;
    long credit = cfg->credit, batch_wait_ms = cfg->batch_wait_ms, escalate_ms = cfg->escalate_ms;
    rr_status st;
    int exit_code = EXIT_FAILURE;
    void *ctx = zmq_ctx_new();
    wrk_store *store = wrk_store_new(cfg->db, cfg->process);
    wrk_handler *handler = store ? wrk_handler_new(domain, store, cfg->reload_min_ms) : NULL;
    wrk_brokers *brokers = NULL;
    wrk_job *jobs = calloc((size_t) credit, sizeof *jobs);
    zmq_msg_t *replies = calloc((size_t) credit, sizeof *replies);
    if (ctx == NULL || handler == NULL || jobs == NULL || replies == NULL) {
        rr_log_error("could not start: out of memory");
        goto done;
    }
    // Started: systemd's "ready" means the process is up, not that the
    // database is (a worker waiting for PostgreSQL must not be killed for a
    // start timeout). /readyz on the broker says whether the domain serves.
    rr_service_ready("connecting to the database");
    // Connect to the database before offering credit, so the first requests
    // do not meet a cold connection; keep trying while it is away.
    while (!rr_process_stop && wrk_store_ensure(store) != RR_OK) {
        rr_service_watchdog(rr_clock_mono_ms());
        struct timespec ts = {0, 200L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    // Each broker is offered the whole credit: split, a lost broker would
    // leave the survivors with a fraction of the worker. Requests beyond one
    // batch wait in their socket for the next (README, "Several brokers").
    wrk_session_config scfg = {NULL,          cfg->domain, (uint32_t) credit, cfg->heartbeat_ms,
                               cfg->liveness, cfg->curve};
    brokers = wrk_brokers_new(ctx, cfg->brokers, &scfg);
    if (brokers == NULL) {
        goto done;
    }
    wrk_store_set_keepalive(store, wrk_brokers_keepalive, brokers);
    report_stats(brokers, handler, store); // the first heartbeat tells the truth too
    report_status(brokers, domain);
    if (wrk_handler_prepare(handler) != RR_OK) {
        rr_log_warn("catalogue not loaded yet: it will be at the first request");
    }
    uint64_t rules_pushed = 0; // the catalogue load whose rules the broker has
    int64_t next_escalation = rr_clock_mono_ms() + escalate_ms;
    while (!rr_process_stop) {
        size_t count = 0;
        st = wrk_brokers_recv(brokers, jobs, (size_t) credit, &count,
                              wrk_brokers_next_tick_ms(brokers));
        if (st == RR_OK && count == 1 && batch_wait_ms > 0 && credit > 1) {
            // A batch of one pays PostgreSQL's whole per-statement and
            // COMMIT cost alone: give a second request a moment to join.
            size_t more = 0;
            st = wrk_brokers_recv(brokers, jobs + 1, (size_t) credit - 1, &more, batch_wait_ms);
            count += more;
        }
        if (st != RR_OK) {
            // Requests taken are not answered: their brokers redeliver them.
            for (size_t i = 0; i < count; i++) {
                rr_msg_close(&jobs[i].body);
            }
            if (st == RR_ESHUTDOWN) {
                break;
            }
            goto done;
        }
        if (count > 0) {
            wrk_handler_process(handler, jobs, count, replies);
            for (size_t i = 0; i < count; i++) {
                wrk_brokers_reply(brokers, &jobs[i], &replies[i]);
                rr_msg_close(&jobs[i].body);
            }
        } else if (wrk_handler_prepare(handler) != RR_OK) {
            rr_log_debug("catalogue not loaded: database away");
        }
        if (!wrk_store_connected(store)) {
            // Taking requests only to answer them busy would bounce the
            // centers: leave the broker, which queues them (and reports
            // the domain not ready) until we are back.
            rr_log_warn("database unreachable: leaving the brokers until it is back");
            wrk_store_set_keepalive(store, NULL, NULL);
            wrk_brokers_destroy(&brokers);
            rr_service_status("database unreachable: waiting for it, not serving");
            while (!rr_process_stop && wrk_store_ensure(store) != RR_OK) {
                rr_service_watchdog(rr_clock_mono_ms());
                struct timespec ts = {0, 100L * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            if (rr_process_stop) {
                break;
            }
            rr_log_info("database reachable again: registering with the brokers");
            brokers = wrk_brokers_new(ctx, cfg->brokers, &scfg);
            if (brokers == NULL) {
                goto done;
            }
            wrk_store_set_keepalive(store, wrk_brokers_keepalive, brokers);
            report_stats(brokers, handler, store);
            report_status(brokers, domain);
            rules_pushed = 0;
            continue;
        }
        if (escalate_ms > 0 && rr_clock_mono_ms() >= next_escalation) {
            int escalated = 0;
            if (wrk_store_escalate(store, 100, &escalated) == RR_OK && escalated > 0) {
                rr_log_info("escalated %d overdue referral(s) to their province office", escalated);
            }
            next_escalation = rr_clock_mono_ms() + escalate_ms;
        }
        report_stats(brokers, handler, store);
        rr_risk_rule rules[RR_RISK_MAX_RULES];
        size_t nrules = 0;
        uint64_t loaded = wrk_handler_risk_rules(handler, rules, &nrules);
        if (loaded != rules_pushed) {
            wrk_brokers_set_rules(brokers, rules, nrules);
            rules_pushed = loaded;
        }
        if (wrk_brokers_tick(brokers)) {
            report_status(brokers, domain);
        }
        rr_service_watchdog(rr_clock_mono_ms());
    }
    rr_service_stopping();
    rr_log_info("stopping");
    exit_code = EXIT_SUCCESS;
done:
    wrk_brokers_destroy(&brokers);
    free(replies);
    free(jobs);
    wrk_handler_destroy(&handler);
    wrk_store_destroy(&store);
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
    return exit_code;
}
