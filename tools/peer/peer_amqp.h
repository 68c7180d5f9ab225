// The RabbitMQ peer's AMQP 0-9-1 connection (librabbitmq): one connection
// with one channel, the few methods the peer uses, and one reader that
// turns incoming frames into events (a delivery, a publisher confirm).
// Every failure is said once on stderr, naming the connection.
#ifndef PEER_AMQP_H
#define PEER_AMQP_H

#include <amqp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_QUEUE_NAME_BYTES 127

typedef struct peer_amqp peer_amqp;

// Connects to host:port as user/password on the virtual host "/", with no
// heartbeats, and opens channel 1; who names the connection in messages.
// NULL (said) on failure. Caller frees with peer_amqp_destroy.
peer_amqp *peer_amqp_new(const char *host, int port, const char *user, const char *password,
                         const char *who);

// Closes the channel and the connection (politely when still open) and
// frees it. Accepts NULL; sets *self_p to NULL.
void peer_amqp_destroy(peer_amqp **self_p);

// Declares the durable queue name of type ("classic" or "quorum"). False
// (said) when the server refuses, e.g. the queue exists with other settings.
bool peer_amqp_declare(peer_amqp *self, const char *name, const char *type);

// Declares a server-named, exclusive, non-durable queue (gone with the
// connection) and copies its name into name. False (said) on failure.
bool peer_amqp_declare_private(peer_amqp *self, char name[PEER_QUEUE_NAME_BYTES + 1]);

// Limits the deliveries unacknowledged on the channel to prefetch.
bool peer_amqp_qos(peer_amqp *self, uint16_t prefetch);

// Puts the channel in confirm mode: the server then confirms each message
// published on it, numbered 1, 2, ... in publishing order.
bool peer_amqp_confirm_select(peer_amqp *self);

// Starts consuming queue; no_ack: the server counts each delivery as
// acknowledged when it sends it.
bool peer_amqp_consume(peer_amqp *self, const char *queue, bool no_ack);

// Publishes size bytes to queue through the default exchange: persistent
// (delivery mode 2) or transient, with reply_to when not NULL. False (said)
// when the connection failed.
bool peer_amqp_publish(peer_amqp *self, const char *queue, const void *body, size_t size,
                       bool persistent, const char *reply_to);

// Acknowledges the delivery tag (and, with multiple, every earlier one).
bool peer_amqp_ack(peer_amqp *self, uint64_t tag, bool multiple);

// Refuses the delivery tag; requeue puts it back for another delivery.
bool peer_amqp_nack(peer_amqp *self, uint64_t tag, bool requeue);

typedef enum peer_event_kind {
    PEER_EV_NONE,     // nothing within the time given
    PEER_EV_DELIVERY, // a message from a consumed queue
    PEER_EV_ACK,      // publisher confirm: tag (and earlier ones with multiple) is safe
    PEER_EV_NACK,     // publisher confirm: the server lost tag (and earlier ones, multiple)
} peer_event_kind;

typedef struct peer_event {
    peer_event_kind kind;
    uint64_t tag;
    bool multiple;    // confirms
    bool redelivered; // deliveries: delivered before and not acknowledged
    const void *body; // deliveries: the message's bytes, until peer_event_clear
    size_t size;
    char reply_to[PEER_QUEUE_NAME_BYTES + 1]; // deliveries: "" when none
    amqp_message_t message;                   // deliveries: owns body
} peer_event;

// Waits up to timeout_ms (0: only what is already at hand) for the next
// event. False (said) when the connection or the channel was closed or
// failed. A delivery holds its message until peer_event_clear.
bool peer_amqp_next(peer_amqp *self, long timeout_ms, peer_event *ev);

// Frees a delivery's message (no-op for other events); safe to repeat.
void peer_event_clear(peer_event *ev);

// Frees the buffers of frames already handled; call between batches, with
// no delivery uncleared.
void peer_amqp_release(peer_amqp *self);

#endif
