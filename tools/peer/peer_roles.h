// The RabbitMQ peer's two roles (tools/peer/rabbit_peer.c picks one): the
// load, which publishes the bench's requests and waits for each to be
// recorded, and the consumer, which records them as a worker does.
#ifndef PEER_ROLES_H
#define PEER_ROLES_H

// Queue names: the requests of one domain ("rr.peer.social"), or of every
// domain in one queue ("rr.peer.any"), as the consumers' --domain asks.
#define PEER_QUEUE_PREFIX "rr.peer."

// rabbit-peer load [options]: a closed or open loop of the bench's requests
// (tool_load.h) over AMQP with publisher confirms; prints the bench's
// figures and the reconciliation with the database. Exit 0 when nothing was
// lost, duplicated, rejected or unconfirmed.
int peer_load_main(int argc, char **argv);

// rabbit-peer consume [options]: consumes one queue and records its
// requests in batches with the worker's own handler; runs until SIGTERM.
int peer_consume_main(int argc, char **argv);

#endif
