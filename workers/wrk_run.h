// The worker's run loop: sessions with its brokers, the handler and the
// store, kept going through database outages (leaving the brokers while the
// database is away) until SIGTERM; and the --no-db benchmark loop.
#ifndef WRK_RUN_H
#define WRK_RUN_H

#include "rr_keys.h"
#include "rr_vocab.h"
#include "wrk_endpoints.h"

#include <stdbool.h>

typedef struct wrk_run_config {
    const wrk_endpoints *brokers; // the brokers' worker endpoints, one session each
    rr_domain domain;
    const char *db;      // libpq connection string
    const char *process; // application_name, e.g. "worker.social-2"
    long credit;         // requests taken at once: one batch; offered to each broker
    long batch_wait_ms;  // how long a lone request waits for company
    long heartbeat_ms;
    long liveness;
    long reload_min_ms; // least time between catalogue reloads on a miss
    long escalate_ms;   // how often to escalate overdue referrals (0: never)
    bool no_db;         // benchmark: answer accepted without the database
    rr_curve_client curve;
} wrk_run_config;

// Runs until SIGTERM (rr_process_stop). Returns the process exit code.
int wrk_run(const wrk_run_config *cfg);

#endif
