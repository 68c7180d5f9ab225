// The worker's session with a broker: a DEALER socket, registration
// (READY with the domain and credit), heartbeats both ways, and a fresh
// socket and registration whenever the broker goes silent or asks for it.
#ifndef WRK_SESSION_H
#define WRK_SESSION_H

#include "rr_keys.h"
#include "rr_risk.h"
#include "rr_status.h"
#include "rr_vocab.h"
#include "rr_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

// One request delivered by the broker. The job owns body.
typedef struct wrk_job {
    uint64_t delivery_id;
    uint8_t command;   // RR_CMD_SUBMIT, _STATUS, _UPDATE or _FOLLOW (flags cleared)
    bool dead;         // RR_CMD_DEAD_LETTER_FLAG: record it as a dead letter
    bool last_attempt; // RR_CMD_LAST_ATTEMPT_FLAG: no retry follows a failure
    unsigned earlier;  // deliveries of it before this one that brought no answer
    bool failed;       // set by the handler: answer FAILED, the broker retries
    uint8_t outcome;   // set by the handler: a SubmitReply's outcome, RR_WIRE_NO_OUTCOME otherwise
    char principal[RR_PRINCIPAL_MAX + 1]; // who sent it (CURVE), or "" (insecure)
    unsigned broker; // set by wrk_brokers: the session it came from, which must answer it
    zmq_msg_t body;
} wrk_job;

typedef struct wrk_session_config {
    const char *endpoint; // the broker's back end
    rr_domain domain;
    uint32_t credit; // requests held at once
    long heartbeat_ms;
    long liveness;         // silent heartbeats before the broker counts as gone
    rr_curve_client curve; // our keys and the broker's (curve.on false: none)
} wrk_session_config;

typedef struct wrk_session wrk_session;

// Creates the session and connects (ZeroMQ connects in the background, so
// this succeeds before the broker is up). NULL on failure (logged). Caller
// frees with wrk_session_destroy, which sends DISCONNECT first.
wrk_session *wrk_session_new(void *ctx, const wrk_session_config *config);
void wrk_session_destroy(wrk_session **self_p);

// The session's socket, to poll for input with others (NULL between
// failed reconnects: wrk_session_tick retries).
void *wrk_session_socket(const wrk_session *self);

// Takes the messages already waiting (no blocking) and returns up to max
// requests among them in jobs (*count; each to be answered with
// wrk_session_reply and its body closed by the caller), handling heartbeats
// and the broker's DISCONNECT on the way. RR_OK (possibly with *count == 0),
// RR_ESHUTDOWN when the context is terminated, RR_EIO on a socket failure
// (logged).
RR_NODISCARD rr_status wrk_session_drain(wrk_session *self, wrk_job *jobs, size_t max,
                                         size_t *count);

// True when the broker has been heard from since the socket was last
// (re)opened and has not gone silent since: the worker is registered there.
bool wrk_session_attached(const wrk_session *self);

// The broker's worker endpoint this session connects to.
const char *wrk_session_endpoint(const wrk_session *self);

// Sends the answer to job: a REPLY, or a FAILED when job->failed (the
// broker retries it later; body is the refusal, for its log), carrying
// job->outcome for the broker to count. Consumes body on every path. A
// reply the broker cannot take is dropped (logged): the center's retry
// recovers it.
void wrk_session_reply(wrk_session *self, const wrk_job *job, zmq_msg_t *body);

// Sends heartbeats that are due and reconnects when the broker has been
// silent too long. Call at least every heartbeat_ms.
void wrk_session_tick(wrk_session *self);

// Tells the broker the catalogue's risk rules now and after every
// re-registration (copied).
void wrk_session_set_rules(wrk_session *self, const rr_risk_rule *rules, size_t count);

// The counters the next heartbeats carry to the broker (copied).
typedef struct wrk_session_stats {
    uint64_t processed, failed, batches, batch_items, commits, db_reconnects;
    double commit_seconds;
    bool db_connected;
} wrk_session_stats;
void wrk_session_set_stats(wrk_session *self, const wrk_session_stats *stats);

// Which brokers of the worker's --broker list it is attached to, for the
// heartbeats (WorkerStats.brokers_*), this session's own broker counted as
// attached. detached points into the caller's endpoint list, which must
// outlive the session.
typedef struct wrk_session_brokers {
    uint32_t configured, attached;
    size_t ndetached;
    const char *detached[RR_WIRE_MAX_BROKERS]; // borrowed
} wrk_session_brokers;

// The attachment the next heartbeats carry (copied); until the first call
// they carry none, as an older worker's do.
void wrk_session_set_brokers(wrk_session *self, const wrk_session_brokers *brokers);

// Sends a heartbeat when one is due, and nothing else: safe to call from
// inside request processing (arg is the wrk_session). Keeps the broker from
// declaring a worker dead while it waits on a slow database.
void wrk_session_keepalive(void *arg);

// Milliseconds until the next heartbeat is due (>= 0).
long wrk_session_next_tick_ms(const wrk_session *self);

#endif
