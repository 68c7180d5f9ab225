// A worker's answers to STATUS, UPDATE and FOLLOW (the submissions are
// wrk_handler's): decode, check who acts, ask the store, pack the reply.
#ifndef WRK_QUERIES_H
#define WRK_QUERIES_H

#include "rr_vocab.h"
#include "rr_wire.h"
#include "wrk_session.h"
#include "wrk_store.h"
#include "wrk_validate.h"

#include <zmq.h>

// Each initialises *reply with the answer to job (a refusal when it fails;
// an empty body only when even that could not be packed).
void wrk_query_status(wrk_store *store, wrk_job *job, zmq_msg_t *reply);
void wrk_query_update(wrk_store *store, rr_domain domain, wrk_job *job, zmq_msg_t *reply);
void wrk_query_follow(wrk_store *store, wrk_job *job, zmq_msg_t *reply);

// INBOX: an office's page of the referrals it owns (wrk_store_inbox), as
// the sender's key allows (office:<office_code>).
void wrk_query_inbox(wrk_store *store, wrk_job *job, zmq_msg_t *reply);

// The sender may act as the request says (wrk_validate_actor), or the
// refusal is logged: a spoofing attempt is worth an operator's look.
RR_NODISCARD rr_status wrk_check_actor(const wrk_job *job, wrk_action action, uint32_t center_code,
                                       const char *office_code, rr_wire_error *err);

// Packs msg into *out, or initialises *out empty when it cannot (an empty
// reply still frees the broker's slot).
void wrk_pack_or_empty(const ProtobufCMessage *msg, zmq_msg_t *out);

#endif
