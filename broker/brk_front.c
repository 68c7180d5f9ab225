// The center protocol (RRC2) as a table: for each command, how its body is
// admitted (unpacked, checked, given a domain and a priority) or answered
// at once, and how it is refused. Every answer echoes the request's
// correlation frame, so even a refusal of an unreadable body names it.
#define RR_LOG_MODULE "server"
#include "brk_admit.h"
#include "brk_server_impl.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_log.h"
#include "rr_principal.h"

#include <assert.h>
#include <string.h>

// ---- answers ------------------------------------------------------------------

static void
answer(brk_server *self, const zmq_msg_t *peer, uint8_t version, uint8_t command,
       const char *correlation, zmq_msg_t *body)
{
    rr_status st = rr_wire_send_answer(self->frontend, peer, version, command, correlation, body);
    if (st != RR_OK) {
        // The center disconnected or stopped reading: it will retry.
        self->stats.undeliverable++;
        if (brk_noisy_ok(&self->noisy, rr_clock_mono_ms())) {
            rr_log_warn("answer not delivered to a center: %s", rr_strerror(st));
        }
    }
}

// Packs a refusal in the answer type of command (a SubmitReply busy or
// rejected, the ReplyHead of a StatusReply, UpdateReply or FollowReply, an
// ErrorReply for anything else), busy ones with retry_after_ms, and sends
// it. domain counts submissions; counted: false for a second answer to one
// request (its latest resend).
static void
refuse_after(brk_server *self, const zmq_msg_t *peer, uint8_t version, uint8_t command,
             const char *correlation, const char *id, uint8_t domain, rr_wire_error *err, bool busy,
             int64_t retry_after_ms, bool counted)
{
    zmq_msg_t body;
    uint8_t reply_cmd = rr_wire_refusal_command(command);
    rr_status st = rr_wire_pack_refusal(command, reply_cmd == RR_CMD_ERROR ? correlation : id,
                                        busy ? RR__V1__OUTCOME__OUTCOME_BUSY
                                             : RR__V1__OUTCOME__OUTCOME_REJECTED,
                                        (uint32_t) retry_after_ms, err, &body);
    if (st != RR_OK) {
        return; // logged by rr_wire
    }
    if (!counted) {
        answer(self, peer, version, reply_cmd, correlation, &body);
        return;
    }
    if (busy) {
        self->stats.busy++;
    } else {
        self->stats.rejected++;
    }
    if (command == RR_CMD_SUBMIT) {
        assert(domain <= RR_DOMAIN_COUNT);
        if (busy) {
            self->snap->totals[domain].busy++;
        } else {
            self->snap->totals[domain].rejected++;
        }
    }
    answer(self, peer, version, reply_cmd, correlation, &body);
}

static void
refuse(brk_server *self, const zmq_msg_t *peer, uint8_t version, uint8_t command,
       const char *correlation, const char *id, uint8_t domain, rr_wire_error *err, bool busy)
{
    refuse_after(self, peer, version, command, correlation, id, domain, err, busy,
                 self->cfg.retry_after_ms, true);
}

void
brk_front_refuse(brk_server *self, brk_request *r, rr_wire_error *err, bool busy)
{
    char id[RR_WIRE_MAX_QUERY_ID_BYTES + 1];
    rr_wire_body_id(r->command, zmq_msg_data(&r->body), zmq_msg_size(&r->body), id);
    refuse(self, &r->client_id, 2, r->command, r->correlation, id, r->domain, err, busy);
    for (const brk_waiter *w = brk_joins_waiters(r); w != NULL; w = w->next) {
        refuse_after(self, &w->client_id, 2, r->command, w->correlation, id, r->domain, err, busy,
                     self->cfg.retry_after_ms, false);
    }
}

void
brk_front_refuse_shutdown(brk_server *self, brk_request **r_p)
{
    brk_request *r = *r_p;
    rr_wire_error err;
    (void) rr_wire_fail(&err, RR_ESHUTDOWN, "",
                        "could not process request \"%s\": broker is shutting down",
                        r->correlation);
    brk_front_refuse(self, r, &err, true);
    brk_dispatch_release(self, r_p);
}

void
brk_front_deliver(brk_server *self, const brk_request *r, zmq_msg_t *body)
{
    // Each joined resend hears the same answer under its own correlation.
    for (const brk_waiter *w = brk_joins_waiters(r); w != NULL; w = w->next) {
        zmq_msg_t copy;
        if (zmq_msg_init(&copy) == 0) {
            if (zmq_msg_copy(&copy, body) == 0) { // shares the bytes
                answer(self, &w->client_id, 2, r->command, w->correlation, &copy);
            }
            rr_msg_close(&copy);
        }
    }
    answer(self, &r->client_id, 2, r->command, r->correlation, body);
}

static void
answer_ping(brk_server *self, rr_wire_call *call, int64_t now_us)
{
    (void) now_us;
    zmq_msg_t empty;
    int rc = zmq_msg_init(&empty);
    assert(rc == 0);
    (void) rc;
    answer(self, &call->peer, call->version, RR_CMD_PING, call->correlation, &empty);
}

static void
answer_stats(brk_server *self, rr_wire_call *call, int64_t now_us)
{
    brk_view_fill(self, self->snap, now_us / 1000);
    zmq_msg_t body;
    if (brk_view_stats(self, self->snap, &body) == RR_OK) {
        answer(self, &call->peer, call->version, RR_CMD_STATS, call->correlation, &body);
    }
}

// The center protocol: a command is either queued for a worker (admit) or
// answered by the broker at once (now).
typedef struct front_command {
    uint8_t command;
    const char *name;
    rr_status (*admit)(const brk_server *self, const void *data, size_t size, brk_admission *a,
                       rr_wire_error *err);
    void (*now)(brk_server *self, rr_wire_call *call, int64_t now_us);
    bool operators_only; // with authentication: the service's own figures
} front_command;

static const front_command COMMANDS[] = {
    {RR_CMD_SUBMIT, "SUBMIT", brk_admit_submit, NULL, false},
    {RR_CMD_STATUS, "STATUS", brk_admit_status, NULL, false},
    {RR_CMD_UPDATE, "UPDATE", brk_admit_update, NULL, false},
    {RR_CMD_FOLLOW, "FOLLOW", brk_admit_follow, NULL, false},
    {RR_CMD_INBOX, "INBOX", brk_admit_inbox, NULL, false},
    {RR_CMD_DONATE, "DONATE", brk_admit_donate, NULL, false},
    {RR_CMD_PROFILE, "PROFILE", brk_admit_profile, NULL, false},
    {RR_CMD_TRUSTEE, "TRUSTEE", brk_admit_trustee, NULL, false},
    {RR_CMD_FINDING, "FINDING", brk_admit_finding, NULL, false},
    {RR_CMD_RATE, "RATE", brk_admit_rate, NULL, false},
    {RR_CMD_PING, "PING", NULL, answer_ping, false},
    {RR_CMD_STATS, "STATS", NULL, answer_stats, true},
};

static const front_command *
find_command(uint8_t command)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (COMMANDS[i].command == command) {
            return &COMMANDS[i];
        }
    }
    return NULL;
}

// The principal of the key a message came with. False when the key is no
// longer registered (revoked while connected) or is not a center's or an
// office's. Always true, with principal "", without authentication.
static bool
principal_of(brk_server *self, const rr_wire_call *call, char principal[RR_PRINCIPAL_MAX + 1])
{
    principal[0] = '\0';
    if (self->auth == NULL) {
        return true;
    }
    const char *p = brk_auth_principal(self->auth, call->user_id[0] ? call->user_id : NULL);
    if (brk_auth_admission(p, BRK_AUTH_FRONT_END) != BRK_AUTH_ADMITTED) {
        return false;
    }
    memcpy(principal, p, strlen(p) + 1);
    return true;
}

static bool
operator_key(const char *principal)
{
    rr_principal who;
    return rr_principal_parse(principal, &who) && who.kind == RR_PRINCIPAL_OPERATOR;
}

// Whom a request counts against: its key's principal; without keys the
// center or office its body names, else its connection.
static void
sender_of(const rr_wire_call *call, const char *principal, const brk_admission *a,
          char sender[RR_PRINCIPAL_MAX + 1])
{
    if (principal[0] != '\0') {
        memcpy(sender, principal, strlen(principal) + 1);
        return;
    }
    if (a->sender[0] != '\0') {
        memcpy(sender, a->sender, sizeof a->sender);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    const uint8_t *id = zmq_msg_data((zmq_msg_t *) &call->peer);
    size_t n = zmq_msg_size((zmq_msg_t *) &call->peer), o = 5;
    memcpy(sender, "peer:", 5);
    for (size_t i = 0; i < n && o + 2 <= RR_PRINCIPAL_MAX; i++) {
        sender[o++] = hex[id[i] >> 4];
        sender[o++] = hex[id[i] & 15];
    }
    sender[o] = '\0';
}

// A SUBMIT repeating byte for byte one the broker holds (queued, held
// back, or with a worker) for the same sender joins it: its answer goes to
// both. True when it joined (nothing more to do).
static bool
join(brk_server *self, rr_wire_call *call, const char *sender, const char *request_id)
{
    if (call->command != RR_CMD_SUBMIT || request_id[0] == '\0') {
        return false;
    }
    brk_request *held = brk_joins_find(self->joins, sender, request_id);
    if (held == NULL || !brk_joins_same(held, call->command, &call->body)) {
        return false; // a different body is queued: the database answers the conflict
    }
    if (!brk_joins_resend(self->joins, held, &call->peer, call->correlation)) {
        return false; // no room to wait: queued as its own copy
    }
    self->stats.resends_joined++;
    rr_log_debug_id(held->correlation, "resend of request %s joined to the copy held (%s)",
                    request_id, held->worker ? "with a worker" : "waiting");
    return true;
}

static bool
query_command(uint8_t command)
{
    return command == RR_CMD_STATUS || command == RR_CMD_FOLLOW || command == RR_CMD_INBOX;
}

// The per-principal limits (with keys only): false when the request was
// answered busy, with the time until it may come again.
static bool
within_limits(brk_server *self, rr_wire_call *call, const char *principal, const char *sender,
              const brk_admission *a, int64_t now_us)
{
    if (self->limits == NULL) {
        return true;
    }
    int64_t retry_ms = self->cfg.retry_after_ms;
    bool query = query_command(call->command);
    brk_limit verdict =
        brk_limits_admit(self->limits, sender, query, operator_key(principal), now_us, &retry_ms);
    rr_wire_error e;
    switch (verdict) {
    case BRK_LIMIT_OK:
        return true;
    case BRK_LIMIT_OUTSTANDING:
        self->stats.limited_outstanding++;
        (void) rr_wire_fail(&e, RR_EBUSY, "",
                            "could not queue request \"%s\": %s already has %ld requests queued "
                            "or in flight, limit %ld",
                            call->correlation, sender, self->cfg.max_outstanding,
                            self->cfg.max_outstanding);
        break;
    case BRK_LIMIT_RATE:
        self->stats.limited_rate++;
        (void) rr_wire_fail(&e, RR_EBUSY, "",
                            "could not queue query \"%s\": %s sends more than %ld queries a "
                            "second (burst %ld%s); retry in %lld ms",
                            call->correlation, sender,
                            self->cfg.queries_per_s * (operator_key(principal) ? 10 : 1),
                            self->cfg.query_burst * (operator_key(principal) ? 10 : 1),
                            operator_key(principal) ? ", an operator's" : "", (long long) retry_ms);
        break;
    case BRK_LIMIT_SENDERS:
        (void) rr_wire_fail(&e, RR_EBUSY, "",
                            "could not queue request \"%s\": the broker tracks %d senders "
                            "already",
                            call->correlation, BRK_MAX_SENDERS);
        break;
    }
    if (brk_noisy_ok(&self->noisy, now_us / 1000)) {
        rr_log_warn_id(call->correlation, "request %s from %s answered busy: %s", call->correlation,
                       sender, e.message);
    }
    refuse_after(self, &call->peer, 2, call->command, call->correlation, a->id, a->domain, &e, true,
                 retry_ms, true);
    return false;
}

// ---- one message ------------------------------------------------------------------

void
brk_front_on_call(brk_server *self, rr_wire_call *call, rr_status st, const rr_wire_error *err,
                  int64_t now_us)
{
    int64_t now_ms = now_us / 1000;
    if (st != RR_OK) {
        // The frames themselves are wrong: one ERROR, naming what could be read.
        rr_wire_error e = *err;
        self->stats.protocol_errors++;
        if (brk_noisy_ok(&self->noisy, now_ms)) {
            rr_log_warn_id(call->correlation, "protocol error from a center (%s): %s",
                           call->correlation[0] ? call->correlation : "no correlation", e.message);
        }
        refuse(self, &call->peer, call->version, RR_CMD_ERROR, call->correlation, "", 0, &e, false);
        return;
    }
    const front_command *cmd = find_command(call->command);
    char principal[RR_PRINCIPAL_MAX + 1];
    bool allowed = principal_of(self, call, principal);
    rr_wire_error e;
    if (cmd == NULL) {
        self->stats.protocol_errors++;
        (void) rr_wire_fail(&e, RR_EPROTO, "", "unrecognized command 0x%02x", call->command);
        if (brk_noisy_ok(&self->noisy, now_ms)) {
            rr_log_warn_id(call->correlation, "protocol error from a center: %s", e.message);
        }
        refuse(self, &call->peer, 2, RR_CMD_ERROR, call->correlation, "", 0, &e, false);
        return;
    }
    if (!allowed) {
        if (brk_noisy_ok(&self->noisy, now_ms)) {
            rr_log_warn("refused a message from key %s: not registered (revoked?)",
                        call->user_id[0] ? call->user_id : "?");
        }
        self->stats.unauthorized++;
        (void) rr_wire_fail(&e, RR_EPERM, "",
                            "not permitted: this key is not registered with the broker (revoked?)");
        brk_admission a = {"", 0, 0, ""};
        if (cmd->admit != NULL) {
            (void) cmd->admit(self, zmq_msg_data(&call->body), zmq_msg_size(&call->body), &a, NULL);
        }
        refuse(self, &call->peer, 2, cmd->admit ? call->command : RR_CMD_ERROR, call->correlation,
               a.id, 0, &e, false);
        return;
    }
    if (cmd->operators_only && self->auth != NULL && !operator_key(principal)) {
        (void) rr_wire_fail(&e, RR_EPERM, "",
                            "not permitted: %s is for operator keys; this key belongs to %s",
                            cmd->name, principal);
        if (brk_noisy_ok(&self->noisy, now_ms)) {
            rr_log_warn("refused %s to %s: not an operator", cmd->name, principal);
        }
        self->stats.unauthorized++;
        refuse(self, &call->peer, 2, RR_CMD_ERROR, call->correlation, "", 0, &e, false);
        return;
    }
    if (cmd->now != NULL) {
        cmd->now(self, call, now_us);
        return;
    }
    brk_admission a = {"", 0, RR_PRIORITY_ROUTINE, ""};
    size_t size = zmq_msg_size(&call->body);
    st = size > (size_t) self->cfg.max_body_bytes
             ? rr_wire_fail(&e, RR_ETOOBIG, "", "message too large: %zu bytes, limit %ld", size,
                            self->cfg.max_body_bytes)
             : cmd->admit(self, zmq_msg_data(&call->body), size, &a, &e);
    if (st != RR_OK) {
        if (brk_noisy_ok(&self->noisy, now_ms)) {
            rr_log_warn_id(call->correlation, "request %s refused: %s",
                           call->correlation[0] ? call->correlation : "(no correlation)",
                           e.message);
        }
        if (st == RR_EPROTO) {
            self->stats.protocol_errors++;
        }
        refuse(self, &call->peer, 2, call->command, call->correlation, a.id, 0, &e, false);
        return;
    }
    if (self->draining) {
        (void) rr_wire_fail(&e, RR_ESHUTDOWN, "",
                            "could not queue request \"%s\": broker is shutting down",
                            call->correlation);
        refuse(self, &call->peer, 2, call->command, call->correlation, a.id, a.domain, &e, true);
        return;
    }
    char sender[RR_PRINCIPAL_MAX + 1];
    sender_of(call, principal, &a, sender);
    if (join(self, call, sender, a.id)) {
        return;
    }
    if (!within_limits(self, call, principal, sender, &a, now_us)) {
        return;
    }
    brk_request *req = brk_pool_get(self->pool);
    if (req == NULL) {
        (void) rr_wire_fail(&e, RR_ENOMEM, "", "could not queue request: broker out of memory");
        rr_log_error("out of memory queueing a request");
        refuse(self, &call->peer, 2, call->command, call->correlation, a.id, a.domain, &e, true);
        if (self->limits != NULL) {
            brk_limits_release(self->limits, sender, now_us);
        }
        return;
    }
    req->limited = self->limits != NULL;
    memcpy(req->sender, sender, sizeof req->sender);
    req->command = call->command;
    req->domain = a.domain;
    req->priority = a.priority;
    req->received_us = now_us;
    req->enqueued_us = now_us;
    memcpy(req->correlation, call->correlation, sizeof req->correlation);
    memcpy(req->principal, principal, sizeof req->principal);
    rr_msg_move(&req->client_id, &call->peer);
    rr_msg_move(&req->body, &call->body);
    if (req->command == RR_CMD_SUBMIT && brk_joins_add(self->joins, req, a.id) == RR_ENOMEM) {
        rr_log_warn_id(req->correlation, "request %s not indexed for resends: out of memory",
                       req->correlation);
    }
    brk_dispatch_admit(self, req);
}
