// ZeroMQ CURVE authentication for the broker: a ZAP handler (RFC 27) on
// inproc://zeromq.zap.01 that admits only the public keys registered in a
// key directory (one rr_keys file per key, with its principal), and the
// table the broker consults on every message, so that a key revoked while
// its connection is open stops working too. The directory is re-read when
// it changes (checked on each call to brk_auth_reload_if_changed).
//
// ZAP domains: the front end's is "centers" (center and office keys), the
// back end's "workers" (worker keys). The ZAP user id of an admitted
// connection is its public key (Z85), which each message carries as its
// "User-Id" property.
#ifndef BRK_AUTH_H
#define BRK_AUTH_H

#include "rr_keys.h"
#include "brk_noisy.h"
#include "rr_status.h"

#include <stdint.h>

#define BRK_ZAP_DOMAIN_CENTERS "centers"
#define BRK_ZAP_DOMAIN_WORKERS "workers"

// The broker's two CURVE sockets, as a ZAP request names them by domain.
typedef enum brk_auth_side {
    BRK_AUTH_FRONT_END, // ZAP domain "centers"
    BRK_AUTH_BACK_END,  // ZAP domain "workers"
} brk_auth_side;

typedef enum brk_auth_verdict {
    BRK_AUTH_ADMITTED,
    BRK_AUTH_UNREGISTERED, // the key is not (or no longer) registered
    BRK_AUTH_WRONG_SIDE,   // a worker's key on the front end, or another key on the back end
} brk_auth_verdict;

// Whether a key registered as principal (NULL or "" when it is not
// registered) may connect to side: centers' and offices' keys on the front
// end, workers' ("worker:...") on the back end. Pure; the ZAP handler's
// whole decision once the request is well formed, and the check the
// broker repeats per message (a key may be revoked while connected).
brk_auth_verdict brk_auth_admission(const char *principal, brk_auth_side side);

typedef struct brk_auth brk_auth;

// Binds the ZAP handler in ctx (before any CURVE socket binds) and loads
// keys_dir. NULL (logged) when the directory cannot be read or the socket
// cannot be bound. Caller frees with brk_auth_destroy.
brk_auth *brk_auth_new(void *ctx, const char *keys_dir, brk_noisy *noisy);
void brk_auth_destroy(brk_auth **self_p);

// The ZAP socket, to poll for ZMQ_POLLIN.
void *brk_auth_socket(brk_auth *self);

// Answers the ZAP requests waiting on the socket.
void brk_auth_handle(brk_auth *self);

// Re-reads the key directory if it changed since the last load.
void brk_auth_reload_if_changed(brk_auth *self);

// The principal registered for a public key (Z85), or NULL when the key is
// not (or no longer) registered. Borrowed until the next reload.
const char *brk_auth_principal(const brk_auth *self, const char *public_key);

// Connections admitted and refused so far.
void brk_auth_counters(const brk_auth *self, uint64_t *admitted, uint64_t *refused);

#endif
