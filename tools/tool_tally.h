// A load run's tally, shared by referralctl bench and the RabbitMQ peer
// (tools/peer/): its clients' counts and latency percentiles, and the
// reconciliation of what was acknowledged with the database.
#ifndef TOOL_TALLY_H
#define TOOL_TALLY_H

#include "tool_load.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tool_tally {
    size_t acked;              // acknowledged (accepted or duplicate)
    size_t nlat;               // latencies in the percentiles
    double p50, p90, p99, max; // ms
    long rejected, busy, resent, unanswered, errors;
} tool_tally;

// Sums clients[0..n) into *out and takes the percentiles of all their
// latencies. Out of memory for the latencies: said on stderr, and the
// percentiles are 0 (nlat 0).
void tool_tally_sum(const client *clients, long n, tool_tally *out);

// Loads what clients[0..n) were acknowledged into a temporary table of db
// and counts *lost (acknowledged but missing, or not the referral the
// client was told), *duplicated (two referrals for one household and
// service of the run b->tag, or for one request_id) and *extra (recorded
// for the run but never acknowledged). A connection lost before or during
// it is opened again (with backoff, for up to TOOL_RETRY_BUDGET_MS) and the
// check starts over, up to three times. False (said on stderr) when the
// database could not tell.
bool tool_tally_reconcile(const bench *b, PGconn *db, const client *clients, long n, long *lost,
                          long *duplicated, long *extra);

#endif
