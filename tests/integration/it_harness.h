// Integration-test harness: a database of the test's own (copied from the
// fixture's template), the real broker and worker processes on the test's
// own ports, and helpers to wait with deadlines and to query PostgreSQL.
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define IT_MAX_WORKERS 8

typedef struct it_proc {
    pid_t pid; // 0 when not running
    char name[64];
    char log[512];
} it_proc;

typedef struct it_stack {
    char name[64];
    char pghost[512];
    char conninfo[700]; // the test's own database
    char frontend[64];  // tcp://127.0.0.1:PORT for centers
    char backend[64];   // tcp://127.0.0.1:PORT for workers
    char http[64];      // 127.0.0.1:PORT of the broker's HTTP monitor
    char logdir[512];
    it_proc broker;
    it_proc workers[IT_MAX_WORKERS];
    int nworkers;
} it_stack;

// Prepares a stack named name on ports RR_IT_PORT_BASE + 2*slot and + 1,
// with a fresh database copied from the template. Aborts the test on
// failure (these are preconditions).
void it_stack_init(it_stack *s, const char *name, int slot);

// Starts the broker with extra arguments (NULL-terminated, may be NULL) and
// waits until it accepts pings.
void it_broker_start(it_stack *s, const char *const *extra);

// The usual stack: it_stack_init, the broker (broker_extra), one worker per
// domain (worker_extra, may be NULL), and all three registered. Returns
// false when the workers did not register in time.
bool it_stack_start(it_stack *s, const char *name, int slot, const char *const *broker_extra,
                    const char *const *worker_extra);

// The group fixture most tests share: the usual stack (it_stack_start),
// a center client for its front end and a connection to its database.
// False when any of them could not be had.
typedef struct cli_center cli_center;
bool it_session_start(it_stack *s, cli_center **client, PGconn **db, const char *name, int slot,
                      const char *const *broker_extra, const char *const *worker_extra);

// Closes the client and the connection and stops the stack: 0 when every
// process exited cleanly, -1 otherwise (a cmocka teardown's answer).
int it_session_stop(it_stack *s, cli_center **client, PGconn **db);

// Starts a worker for domain with extra arguments; returns its index.
int it_worker_start(it_stack *s, const char *domain, const char *const *extra);

// The same inside network namespace netns (NULL: the test's own, through
// "ip netns exec", which needs root) with database conninfo (NULL: the
// stack's).
int it_worker_start_in(it_stack *s, const char *netns, const char *domain, const char *conninfo,
                       const char *const *extra);

// Waits until at least n workers are registered with the broker, as its
// metrics say; false on timeout.
bool it_wait_workers(it_stack *s, int n, int timeout_ms);

// Sends sig and waits for the process to exit; returns its exit status
// (0..255), 128+signal when killed by a signal, or -1 when it had to be
// SIGKILLed after timeout_ms.
int it_proc_stop(it_proc *p, int sig, int timeout_ms);

// Stops everything with SIGTERM and returns true when every process exited
// with status 0 (sanitizer and valgrind errors make it non-zero).
bool it_stack_stop(it_stack *s);

// A connection to the test's database (aborts on failure); PQfinish it.
PGconn *it_db(const it_stack *s);

// The single integer a query returns, with text parameters; aborts on error.
long long it_db_scalar(PGconn *conn, const char *sql, int nparams, const char *const *params);

// Runs a command or aborts.
void it_db_exec(PGconn *conn, const char *sql);

// Referrals without their first event: a record and its history commit
// together, so anything but 0 is a bug. Aborts on a query error.
long long it_db_referrals_without_history(PGconn *conn);

// True when the file contains needle (at least min times).
bool it_file_count(const char *path, const char *needle, int min);

// Milliseconds on the monotonic clock.
long long it_now_ms(void);

// Sleeps ms milliseconds (only inside a bounded poll loop).
void it_sleep_ms(long ms);

// The CPU time process pid has used so far (utime + stime), in ms; aborts
// when /proc cannot tell (a precondition).
long it_cpu_ms(pid_t pid);

// qsort's comparison of longs, ascending (latencies before percentiles).
int it_cmp_long(const void *a, const void *b);

#include "referral.pb-c.h"

// A submit request with its own storage; fields may be changed after init.
typedef struct it_request {
    Rr__V1__SubmitRequest req;
    char request_id[40];
    char household[64];
    char national_id[11];
} it_request;

// Generates dir/name.key and .pub with referralctl and, unless principal is
// NULL, registers the public key in the broker's key directory registry;
// fails the test when a step fails.
void it_key_make(const char *dir, const char *name, const char *registry, const char *principal);

// A client of s's front end authenticating with dir/name.key to the broker
// whose public key file is broker_pub (cli_center_destroy it).
cli_center *it_client_with_key(const it_stack *s, const char *dir, const char *name,
                               const char *broker_pub);

// Submits req through c (retrying as the client library does) and returns
// the answer (rr_wire_free it); fails the test when none came.
Rr__V1__SubmitReply *it_submit(cli_center *c, const Rr__V1__SubmitRequest *req);

// A valid request from center for service (new request_id, a random valid
// national id, household "H-<center>-<tag>", routine, consent given).
void it_request_init(it_request *r, unsigned center, const char *service, const char *tag);

// The changes that take a referral from requested to completed (accept,
// start, complete), for it_referral and it_advance.
extern const Rr__V1__ReferralStatus IT_TO_COMPLETED[3];

// Moves referral id (of domain, owned by office, at version) through the
// states in to, as its owning office, over c (without authentication);
// fails the test when a change is refused.
void it_advance(cli_center *c, const char *id, Rr__V1__Domain domain, const char *office,
                uint32_t version, const Rr__V1__ReferralStatus *to, size_t nto);

// A new referral of center for service (it_request_init's household tag),
// submitted over c and moved through to (it_advance): its id into id.
#define IT_REFERRAL_ID_CAP 32
void it_referral(cli_center *c, unsigned center, const char *service, const char *tag,
                 const Rr__V1__ReferralStatus *to, size_t nto, char id[IT_REFERRAL_ID_CAP]);

// GETs path from 127.0.0.1:port over HTTP/1.0; returns the status code
// (-1 when the connection failed) and the body in body (NUL-terminated).
int it_http_get(int port, const char *path, char *body, size_t cap);

// The broker's /metrics sample series now (a name without labels: the sum
// of all its series), or -1 when it cannot be read. Not thread-safe (one
// static buffer).
double it_metric(const it_stack *s, const char *series);

// Waits up to timeout_ms until the broker's /metrics sample series reaches
// want; true when it did.
bool it_wait_metric(const it_stack *s, const char *series, double want, int timeout_ms);

// Waits up to timeout_ms until the series equals want exactly (a gauge
// falling back, a count that must not move on); true when it did.
bool it_wait_metric_equal(const it_stack *s, const char *series, double want, int timeout_ms);

// Waits up to timeout_ms until GET path on the broker's monitor answers
// status with a body containing needle; true when it did.
bool it_wait_http(const it_stack *s, const char *path, int status, const char *needle,
                  int timeout_ms);

// Renders path of the broker's monitor in headless Chromium with a window of
// width x height: the DOM after its scripts ran (5 s of virtual time) into
// dom (cap bytes, NUL-terminated), and a screenshot into png when png is not
// NULL. A fresh profile each time: nothing carries over from an earlier
// page load. True on success.
bool it_chromium(const it_stack *s, const char *path, int width, int height, const char *png,
                 char *dom, size_t cap);

// The file holding the last it_chromium page load's browser log: the
// page's console lines ("CONSOLE"), script errors and Content Security
// Policy refusals among them.
const char *it_chromium_log(void);

// Runs a shell command made from fmt; its stdout and stderr together land in
// out (cap bytes, NUL-terminated). Returns its exit status, -1 when it did
// not exit normally.
int it_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// What one run of referralctl printed and how it ended.
typedef struct it_ctl_run {
    int status; // exit status, or -1 when it did not exit normally
    char out[16384];
    char err[4096];
} it_ctl_run;

// Runs "referralctl ARGS --db 'CONNINFO'" (the binary RR_CTL_BIN) and
// fills run: its stdout, its stderr (through a file in s's log folder) and
// its exit status. Aborts when it cannot be run (a precondition).
void it_ctl(const it_stack *s, const char *conninfo, const char *args, it_ctl_run *run);

// Stops ("stop") or starts ("start") the fixture's PostgreSQL cluster; true
// on success.
bool it_pg_ctl(const char *action);

// Restarts the fixture's cluster listening on TCP too, on addresses (a
// listen_addresses list), with the client rules of hba_file (a path the
// postgres account can read); NULL addresses: back to the fixture's own
// settings (a unix socket only, its pg_hba.conf). True on success.
bool it_pg_listen(const char *addresses, const char *hba_file);

#endif
