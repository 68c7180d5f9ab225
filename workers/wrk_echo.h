// Benchmark mode (referral-worker --no-db): answers every submission
// `accepted` at once, without the database, so that a bench measures the
// broker and the wire alone. Never for production: nothing is recorded.
#ifndef WRK_ECHO_H
#define WRK_ECHO_H

#include "wrk_session.h"

#include <stdint.h>
#include <zmq.h>

// Initialises reply with the answer to job: for a readable submission an
// `accepted` SubmitReply naming referral R-<serial> and office CO-0000;
// otherwise a rejected SubmitReply. Sets job->outcome to match.
void wrk_echo_reply(wrk_job *job, uint64_t serial, zmq_msg_t *reply);

#endif
