// The RabbitMQ peer's AMQP connection (peer_amqp.h).
#include "peer_amqp.h"

#include "rr_format.h"

#include <amqp_tcp_socket.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CHANNEL 1

struct peer_amqp {
    amqp_connection_state_t conn; // owned
    bool channel_open;
    bool closed; // the server closed the channel or the connection: no polite close
    char who[64];
};

// Says why an RPC (login, channel.open, queue.declare...) failed.
static bool
rpc_ok(peer_amqp *self, amqp_rpc_reply_t r, const char *what)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return true;
    case AMQP_RESPONSE_NONE:
        fprintf(stderr, "rabbit-peer: %s: %s: no reply from the server\n", self->who, what);
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        fprintf(stderr, "rabbit-peer: %s: %s: %s\n", self->who, what,
                amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        self->closed = true;
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const amqp_connection_close_t *m = r.reply.decoded;
            fprintf(stderr, "rabbit-peer: %s: %s: the server closed the connection: %u %.*s\n",
                    self->who, what, m->reply_code, (int) m->reply_text.len,
                    (const char *) m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const amqp_channel_close_t *m = r.reply.decoded;
            fprintf(stderr, "rabbit-peer: %s: %s: the server closed the channel: %u %.*s\n",
                    self->who, what, m->reply_code, (int) m->reply_text.len,
                    (const char *) m->reply_text.bytes);
        } else {
            fprintf(stderr, "rabbit-peer: %s: %s: unexpected server method 0x%08x\n", self->who,
                    what, (unsigned) r.reply.id);
        }
        break;
    }
    return false;
}

// For the calls that return a status (publish, ack, nack).
static bool
status_ok(peer_amqp *self, int status, const char *what)
{
    if (status == AMQP_STATUS_OK) {
        return true;
    }
    fprintf(stderr, "rabbit-peer: %s: %s: %s\n", self->who, what, amqp_error_string2(status));
    return false;
}

peer_amqp *
peer_amqp_new(const char *host, int port, const char *user, const char *password, const char *who)
{
    peer_amqp *self = calloc(1, sizeof *self);
    if (self == NULL) {
        fprintf(stderr, "rabbit-peer: %s: out of memory\n", who);
        return NULL;
    }
    rr_format_fits(self->who, sizeof self->who, "%s", who);
    self->conn = amqp_new_connection();
    amqp_socket_t *sock = self->conn ? amqp_tcp_socket_new(self->conn) : NULL;
    if (sock == NULL) {
        fprintf(stderr, "rabbit-peer: %s: out of memory\n", who);
        peer_amqp_destroy(&self);
        return NULL;
    }
    int st = amqp_socket_open(sock, host, port);
    if (st != AMQP_STATUS_OK) {
        fprintf(stderr, "rabbit-peer: %s: could not connect to %s:%d: %s\n", who, host, port,
                amqp_error_string2(st));
        self->closed = true;
        peer_amqp_destroy(&self);
        return NULL;
    }
    // No heartbeats: the runs are short and on loopback, and librabbitmq
    // would send them only from inside its own calls anyway.
    if (!rpc_ok(self,
                amqp_login(self->conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user, password),
                "login")) {
        self->closed = true;
        peer_amqp_destroy(&self);
        return NULL;
    }
    (void) amqp_channel_open(self->conn, CHANNEL);
    if (!rpc_ok(self, amqp_get_rpc_reply(self->conn), "opening the channel")) {
        peer_amqp_destroy(&self);
        return NULL;
    }
    self->channel_open = true;
    return self;
}

void
peer_amqp_destroy(peer_amqp **self_p)
{
    assert(self_p != NULL);
    peer_amqp *self = *self_p;
    if (self == NULL) {
        return;
    }
    if (self->conn != NULL) {
        if (!self->closed) {
            if (self->channel_open) {
                (void) rpc_ok(self, amqp_channel_close(self->conn, CHANNEL, AMQP_REPLY_SUCCESS),
                              "closing the channel");
            }
            (void) rpc_ok(self, amqp_connection_close(self->conn, AMQP_REPLY_SUCCESS),
                          "closing the connection");
        }
        int st = amqp_destroy_connection(self->conn);
        if (st != AMQP_STATUS_OK) {
            fprintf(stderr, "rabbit-peer: %s: closing the socket: %s\n", self->who,
                    amqp_error_string2(st));
        }
    }
    free(self);
    *self_p = NULL;
}

bool
peer_amqp_declare(peer_amqp *self, const char *name, const char *type)
{
    amqp_table_entry_t entry = {amqp_cstring_bytes("x-queue-type"), {0}};
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = amqp_cstring_bytes(type);
    amqp_table_t args = {1, &entry};
    char what[PEER_QUEUE_NAME_BYTES + 32];
    rr_format_fits(what, sizeof what, "declaring queue \"%s\"", name);
    (void) amqp_queue_declare(self->conn, CHANNEL, amqp_cstring_bytes(name), 0, 1, 0, 0, args);
    return rpc_ok(self, amqp_get_rpc_reply(self->conn), what);
}

bool
peer_amqp_declare_private(peer_amqp *self, char name[PEER_QUEUE_NAME_BYTES + 1])
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(self->conn, CHANNEL, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (!rpc_ok(self, amqp_get_rpc_reply(self->conn), "declaring its reply queue")) {
        return false;
    }
    if (ok == NULL || ok->queue.len == 0 || ok->queue.len > PEER_QUEUE_NAME_BYTES) {
        fprintf(stderr, "rabbit-peer: %s: the server named no usable reply queue\n", self->who);
        return false;
    }
    memcpy(name, ok->queue.bytes, ok->queue.len);
    name[ok->queue.len] = '\0';
    return true;
}

bool
peer_amqp_qos(peer_amqp *self, uint16_t prefetch)
{
    (void) amqp_basic_qos(self->conn, CHANNEL, 0, prefetch, 0);
    return rpc_ok(self, amqp_get_rpc_reply(self->conn), "setting the prefetch");
}

bool
peer_amqp_confirm_select(peer_amqp *self)
{
    (void) amqp_confirm_select(self->conn, CHANNEL);
    return rpc_ok(self, amqp_get_rpc_reply(self->conn), "selecting publisher confirms");
}

bool
peer_amqp_consume(peer_amqp *self, const char *queue, bool no_ack)
{
    char what[PEER_QUEUE_NAME_BYTES + 32];
    rr_format_fits(what, sizeof what, "consuming queue \"%s\"", queue);
    (void) amqp_basic_consume(self->conn, CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes, 0,
                              no_ack, 0, amqp_empty_table);
    return rpc_ok(self, amqp_get_rpc_reply(self->conn), what);
}

bool
peer_amqp_publish(peer_amqp *self, const char *queue, const void *body, size_t size,
                  bool persistent, const char *reply_to)
{
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = persistent ? 2 : 1;
    if (reply_to != NULL) {
        props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
        props.reply_to = amqp_cstring_bytes(reply_to);
    }
    amqp_bytes_t bytes = {size, (void *) body};
    return status_ok(self,
                     amqp_basic_publish(self->conn, CHANNEL, amqp_empty_bytes,
                                        amqp_cstring_bytes(queue), 0, 0, &props, bytes),
                     "publishing");
}

bool
peer_amqp_ack(peer_amqp *self, uint64_t tag, bool multiple)
{
    return status_ok(self, amqp_basic_ack(self->conn, CHANNEL, tag, multiple), "acknowledging");
}

bool
peer_amqp_nack(peer_amqp *self, uint64_t tag, bool requeue)
{
    return status_ok(self, amqp_basic_nack(self->conn, CHANNEL, tag, 0, requeue), "refusing");
}

// Reads the delivery whose basic.deliver is m: its header and body frames.
static bool
read_delivery(peer_amqp *self, amqp_channel_t channel, const amqp_basic_deliver_t *m,
              peer_event *ev)
{
    ev->tag = m->delivery_tag;
    ev->redelivered = m->redelivered;
    if (!rpc_ok(self, amqp_read_message(self->conn, channel, &ev->message, 0),
                "reading a delivery")) {
        return false;
    }
    ev->kind = PEER_EV_DELIVERY;
    ev->body = ev->message.body.bytes;
    ev->size = ev->message.body.len;
    const amqp_basic_properties_t *p = &ev->message.properties;
    if ((p->_flags & AMQP_BASIC_REPLY_TO_FLAG) && p->reply_to.len <= PEER_QUEUE_NAME_BYTES) {
        memcpy(ev->reply_to, p->reply_to.bytes, p->reply_to.len);
        ev->reply_to[p->reply_to.len] = '\0';
    }
    return true;
}

bool
peer_amqp_next(peer_amqp *self, long timeout_ms, peer_event *ev)
{
    memset(ev, 0, sizeof *ev);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    for (;;) {
        amqp_frame_t frame;
        int st = amqp_simple_wait_frame_noblock(self->conn, &frame, &tv);
        if (st == AMQP_STATUS_TIMEOUT) {
            return true; // PEER_EV_NONE
        }
        if (st != AMQP_STATUS_OK) {
            self->closed = true;
            fprintf(stderr, "rabbit-peer: %s: reading: %s\n", self->who, amqp_error_string2(st));
            return false;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) {
            continue; // a stray header or body: not ours to read
        }
        const amqp_method_t *m = &frame.payload.method;
        switch (m->id) {
        case AMQP_BASIC_DELIVER_METHOD:
            return read_delivery(self, frame.channel, m->decoded, ev);
        case AMQP_BASIC_ACK_METHOD: {
            const amqp_basic_ack_t *a = m->decoded;
            ev->kind = PEER_EV_ACK;
            ev->tag = a->delivery_tag;
            ev->multiple = a->multiple;
            return true;
        }
        case AMQP_BASIC_NACK_METHOD: {
            const amqp_basic_nack_t *n = m->decoded;
            ev->kind = PEER_EV_NACK;
            ev->tag = n->delivery_tag;
            ev->multiple = n->multiple;
            return true;
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
            const amqp_channel_close_t *c = m->decoded;
            fprintf(stderr, "rabbit-peer: %s: the server closed the channel: %u %.*s\n", self->who,
                    c->reply_code, (int) c->reply_text.len, (const char *) c->reply_text.bytes);
            self->closed = true;
            return false;
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
            const amqp_connection_close_t *c = m->decoded;
            fprintf(stderr, "rabbit-peer: %s: the server closed the connection: %u %.*s\n",
                    self->who, c->reply_code, (int) c->reply_text.len,
                    (const char *) c->reply_text.bytes);
            self->closed = true;
            return false;
        }
        case AMQP_BASIC_CANCEL_METHOD:
            fprintf(stderr, "rabbit-peer: %s: the server cancelled our consumer\n", self->who);
            return false;
        default:
            fprintf(stderr, "rabbit-peer: %s: ignoring server method 0x%08x\n", self->who,
                    (unsigned) m->id);
            break;
        }
    }
}

void
peer_event_clear(peer_event *ev)
{
    if (ev->kind == PEER_EV_DELIVERY) {
        amqp_destroy_message(&ev->message);
    }
    memset(ev, 0, sizeof *ev);
}

void
peer_amqp_release(peer_amqp *self)
{
    amqp_maybe_release_buffers(self->conn);
}
