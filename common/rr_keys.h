// CURVE key files and principals. A key file is INI:
//
//   [curve]
//   public = <40 Z85 characters>
//   secret = <40 Z85 characters>      (only in a party's own, mode 0600, file)
//   principal = center:941             (only in the broker's registry)
//
// A principal names who holds a key (rr_principal.h).
#ifndef RR_KEYS_H
#define RR_KEYS_H

#include "rr_principal.h"
#include "rr_status.h"

#include <stdbool.h>
#include <stddef.h>

#define RR_KEY_TEXT_LEN 40 // Z85 text of a 32-byte key

typedef struct rr_key_file {
    char public_key[RR_KEY_TEXT_LEN + 1];
    char secret_key[RR_KEY_TEXT_LEN + 1]; // "" when the file holds none
    char principal[RR_PRINCIPAL_MAX + 1]; // "" when the file names none
} rr_key_file;

// A new key pair (libzmq with libsodium). RR_EIO when CURVE is unavailable.
RR_NODISCARD rr_status rr_keys_generate(rr_key_file *out);

// Reads and checks a key file. RR_EIO when it cannot be read, RR_EINVAL
// when it is malformed; why (cap bytes) says which.
RR_NODISCARD rr_status rr_keys_read(const char *path, rr_key_file *out, char *why, size_t cap);

// Writes a key file atomically (temporary file and rename), mode 0600 when
// it holds a secret key and 0644 otherwise. RR_EIO on failure (why).
RR_NODISCARD rr_status rr_keys_write(const char *path, const rr_key_file *key, char *why,
                                     size_t cap);

// True for 40 characters of Z85 that decode to a key.
bool rr_keys_valid(const char *z85);

// A public key given as its Z85 text or as the path of a key file.
RR_NODISCARD rr_status rr_keys_public_from(const char *arg, char out[RR_KEY_TEXT_LEN + 1],
                                           char *why, size_t cap);

// A client's side of CURVE: its own key pair and the broker's public key.
typedef struct rr_curve_client {
    bool on; // false: plain TCP (a broker run with --insecure)
    char public_key[RR_KEY_TEXT_LEN + 1];
    char secret_key[RR_KEY_TEXT_LEN + 1];
    char server_key[RR_KEY_TEXT_LEN + 1];
} rr_curve_client;

// Loads key_file (with a secret key) and broker_key (Z85 text or a key
// file); both empty or NULL leaves CURVE off. RR_EINVAL/RR_EIO with why
// when only one is given or a file is bad.
RR_NODISCARD rr_status rr_curve_client_load(const char *key_file, const char *broker_key,
                                            rr_curve_client *out, char *why, size_t cap);

// Makes socket (before it connects) a CURVE client when c->on. RR_EIO
// (why) when libzmq refuses.
RR_NODISCARD rr_status rr_curve_client_apply(const rr_curve_client *c, void *socket, char *why,
                                             size_t cap);

// True for a file name the key directory counts as a registered key:
// "*.pub", not hidden (referralctl's temporary files are skipped).
bool rr_keys_registry_entry(const char *file_name);

#endif
