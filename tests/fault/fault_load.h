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
    // Filled when fault_load_mark was called (marked true): times from the
    // mark, on the clients' clock. The write outage is the longest stretch
    // without an acknowledgement that starts at or after the mark (from the
    // mark to the first acknowledgement, or between two); writes are back at
    // its end. "During the fault": requests first sent before writes were
    // back and acknowledged after the mark.
    bool marked;
    long outage_ms;     // the longest stretch without an acknowledgement
    long back_ms;       // from the mark to the end of that stretch
    long during;        // requests acknowledged during the fault
    long p99_during_ms; // their latency (first send to acknowledgement)
    long max_during_ms;
    long p99_ms; // every acknowledged request's
} fault_report;

// A load's shape (fault_load_start_with). Zero fields take the defaults.
typedef struct fault_load_opts {
    const char *const *endpoints; // front ends tried in turn (NULL: the stack's)
    int nendpoints;
    int clients;     // threads, each one center's software (1..32)
    int rate;        // requests/s offered by all clients together (0: pause_ms)
    int pause_ms;    // without a rate: pause after each answered request
    long budget_ms;  // retry budget per request (same request_id)
    long attempt_ms; // silence after which a client tries the next broker (1500)
    const char *tag; // makes households unique across loads on one database
} fault_load_opts;

// Starts clients threads against s's front end; each submits a new request
// (distinct household; client i the services of domain i % 3 in turn, so
// the 22 services are all used) every pause_ms, retrying
// each with the same request_id for up to budget_ms until it is answered.
// tag makes households unique across loads on one database.
fault_load *fault_load_start(const it_stack *s, int clients, int pause_ms, long budget_ms,
                             const char *tag);

// The same with every option: a paced rate (each client sends its share
// on a fixed schedule, catching up without a pause when behind, as a center
// with a queue of people does) and several brokers.
fault_load *fault_load_start_with(const it_stack *s, const fault_load_opts *o);

// Marks the fault's moment (now): the report then has the outage and the
// latency during the fault.
void fault_load_mark(fault_load *self);

// Requests acknowledged so far (any thread may call it).
long fault_load_acked(const fault_load *self);

// Waits up to timeout_ms until at least want requests are acknowledged;
// fails the test (cmocka) when they were not.
void fault_load_wait_acked(const fault_load *self, long want, int timeout_ms);

// Stops submitting new requests and waits up to timeout_ms for every client
// to finish the one in hand (within its budget); true when all have. The
// load keeps its outcomes for fault_load_copy_times and fault_load_finish.
bool fault_load_stop(fault_load *self, long timeout_ms);

// After a successful fault_load_stop: copies every request into the new
// temp table load_times (request_id, referral_id, state 'a' acknowledged,
// 'g' given up or 'r' rejected, sent_us when its client first sent it,
// answered_us when its client had the answer or gave up: wall-clock
// microseconds since the epoch, the clock PostgreSQL's clock_timestamp()
// reads on this machine) on db, which may be any database (a restored
// copy). False, with the reason on stderr, when the COPY failed.
bool fault_load_copy_times(const fault_load *self, PGconn *db);

// Stops submitting new requests, waits for those in hand to finish (within
// their budget) and reconciles with the database. Frees the load.
void fault_load_finish(fault_load **self_p, PGconn *db, fault_report *out);

// fault_load_finish against s's database, then fault_report_print and the
// broker's redelivery counters; fails the test (cmocka) unless the
// reconciliation is clean: something acknowledged, nothing lost, doubled,
// rejected or unreported, every referral with its first event. The report
// is left in out.
void fault_load_settle(fault_load **self_p, const it_stack *s, const char *name, fault_report *out);

// One line for the test log: "# <name>: acknowledged … lost … duplicated …",
// and a second with the outage and p99 when the load was marked.
void fault_report_print(const char *name, const fault_report *r);

#endif
