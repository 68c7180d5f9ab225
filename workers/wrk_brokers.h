// The worker's sessions with all the brokers of its --broker list: one
// wrk_session per endpoint, polled together, each job answered through the
// session it came from. Each session registers, heartbeats and reconnects on
// its own, so losing one broker does not disturb the others.
#ifndef WRK_BROKERS_H
#define WRK_BROKERS_H

#include "wrk_endpoints.h"
#include "wrk_session.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct wrk_brokers wrk_brokers;

// One session per endpoint of eps, each configured as base (its endpoint
// replaced) and offering base->credit in full: see the README for why the
// credit is not split. NULL on failure (logged). Caller frees with
// wrk_brokers_destroy, which tells every broker it is leaving.
wrk_brokers *wrk_brokers_new(void *ctx, const wrk_endpoints *eps, const wrk_session_config *base);
void wrk_brokers_destroy(wrk_brokers **self_p);

// Waits up to timeout_ms for requests on any session and returns up to max
// of them in jobs (*count), each with job->broker naming its session. The
// session drained first rotates, so a busy broker cannot starve another.
// RR_OK (possibly *count == 0), RR_ESHUTDOWN when the context is
// terminated, RR_EIO on a socket failure (logged).
RR_NODISCARD rr_status wrk_brokers_recv(wrk_brokers *self, wrk_job *jobs, size_t max, size_t *count,
                                        long timeout_ms);

// Sends the answer to job through the session it came from (as
// wrk_session_reply: consumes body on every path).
void wrk_brokers_reply(wrk_brokers *self, const wrk_job *job, zmq_msg_t *body);

// wrk_session_tick for each session, whose heartbeats report which brokers
// we are attached to as of this call (each counting the broker it goes to).
// Returns true when the set of brokers we are attached to changed since the
// last call (logged).
bool wrk_brokers_tick(wrk_brokers *self);

// Milliseconds until the soonest session needs a tick (>= 0).
long wrk_brokers_next_tick_ms(const wrk_brokers *self);

// wrk_session_keepalive for each session (arg is the wrk_brokers), with the
// attachment reported as wrk_brokers_tick does.
void wrk_brokers_keepalive(void *arg);

// wrk_session_set_rules and wrk_session_set_stats for each session.
void wrk_brokers_set_rules(wrk_brokers *self, const rr_risk_rule *rules, size_t count);
void wrk_brokers_set_stats(wrk_brokers *self, const wrk_session_stats *stats);

// How many brokers there are, and how many we are attached to now.
size_t wrk_brokers_count(const wrk_brokers *self);
size_t wrk_brokers_attached(const wrk_brokers *self);

// "attached to 1 of 2 brokers: tcp://a:5556 up, tcp://b:5556 down" into
// buf (cap bytes; cut with "..." when longer), for the status line.
void wrk_brokers_describe(const wrk_brokers *self, char *buf, size_t cap);

#endif
