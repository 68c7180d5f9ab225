// A steady load of retrying center clients for the fault tests, and the
// reconciliation that ends each: every acknowledged request_id is in the
// database exactly once, with the referral id its client was told, and
// every row there belongs to a request some client reported (acknowledged
// or given up).
#ifndef FAULT_LOAD_H
#define FAULT_LOAD_H

#include "it_harness.h"

#include <libpq-fe.h>

typedef struct fault_load fault_load;

typedef struct fault_report {
    long submitted;        // distinct request_ids sent
    long acked;            // answered accepted (or duplicate: never, households are distinct)
    long gave_up;          // no answer, or still busy, when the client's retry budget ran out
    long rejected;         // answered rejected (a test bug or a false refusal)
    long gave_up_recorded; // given up, yet in the database (the client would find it by retrying)
    long lost;             // acknowledged, not in the database with the id the client was told
    long duplicated;       // request_ids or households with more than one referral
    long unreported;       // rows no client reported
} fault_report;

// Starts clients threads against s's front end; each submits a new request
// (distinct household; client i the services of domain i % 3 in turn, so
// the 22 services are all used) every pause_ms, retrying
// each with the same request_id for up to budget_ms until it is answered.
// tag makes households unique across loads on one database.
fault_load *fault_load_start(const it_stack *s, int clients, int pause_ms, long budget_ms,
                             const char *tag);

// Requests acknowledged so far (any thread may call it).
long fault_load_acked(const fault_load *self);

// Stops submitting new requests, waits for those in hand to finish (within
// their budget) and reconciles with the database. Frees the load.
void fault_load_finish(fault_load **self_p, PGconn *db, fault_report *out);

// One line for the test log: "# <name>: acknowledged … lost … duplicated …".
void fault_report_print(const char *name, const fault_report *r);

#endif
