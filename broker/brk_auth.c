#define RR_LOG_MODULE "auth"
#include "brk_auth.h"

#include "brk_noisy.h"
#include "rr_clock.h"
#include "rr_format.h"

#include "rr_log.h"
#include "rr_principal.h"
#include "rr_wire.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct brk_key {
    char public_key[RR_KEY_TEXT_LEN + 1];
    char principal[RR_PRINCIPAL_MAX + 1];
    UT_hash_handle hh;
} brk_key;

#define SPARE_FDS 2 // the directory and one key file at a time

struct brk_auth {
    void *zap; // REP
    char dir[PATH_MAX];
    struct timespec loaded_mtime;
    brk_key *keys; // hash by public_key
    uint64_t admitted, refused;
    struct timespec loaded_at; // monotonic: reloads at least every FORCE_RELOAD_S
    brk_noisy *noisy;          // borrowed: the broker's limit on lines peers cause
    // Descriptors kept for reading the directory (-1 when not held): a
    // flood of connections can take every other one, and a re-read that
    // could not open the files would miss a revocation.
    int spare[SPARE_FDS];
};

// The directory's mtime catches registrations and revocations made with
// referralctl (a rename); an edit in place, or two changes within the
// clock's granularity, are caught by this periodic re-read.
#define FORCE_RELOAD_S 10

static void
free_keys(brk_key **keys)
{
    // HASH_CLEAR frees the table and leaves the entries linked (hh.next).
    brk_key *k = *keys;
    HASH_CLEAR(hh, *keys);
    while (k != NULL) {
        brk_key *next = k->hh.next;
        free(k);
        k = next;
    }
}

// Loads every *.pub file of the directory. A bad file is skipped with a
// warning (the others still load); an unreadable directory keeps the old
// table. RR_OK when the directory was read.
static void
spares_release(brk_auth *self)
{
    for (int i = 0; i < SPARE_FDS; i++) {
        if (self->spare[i] >= 0) {
            close(self->spare[i]);
            self->spare[i] = -1;
        }
    }
}

static void
spares_take(brk_auth *self)
{
    for (int i = 0; i < SPARE_FDS; i++) {
        if (self->spare[i] < 0) {
            self->spare[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
    }
}

static rr_status load_dir(brk_auth *self);

// load_dir with the spare descriptors released for it, and taken back.
static rr_status
load(brk_auth *self)
{
    spares_release(self);
    rr_status st = load_dir(self);
    spares_take(self);
    return st;
}

static rr_status
load_dir(brk_auth *self)
{
    struct stat st;
    DIR *d = opendir(self->dir);
    if (d == NULL || stat(self->dir, &st) != 0) {
        rr_log_error("cannot read key directory \"%s\": %s", self->dir, strerror(errno));
        if (d != NULL) {
            closedir(d);
        }
        return RR_EIO;
    }
    brk_key *keys = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!rr_keys_registry_entry(e->d_name)) {
            continue;
        }
        char path[PATH_MAX + 256];
        if (rr_format_exact(path, sizeof path, "%s/%s", self->dir, e->d_name) != RR_OK) {
            rr_log_warn("key skipped: the path of \"%s\" is too long", e->d_name);
            continue;
        }
        rr_key_file kf;
        char why[512];
        errno = 0;
        if (rr_keys_read(path, &kf, why, sizeof why) != RR_OK) {
            if (errno == EMFILE || errno == ENFILE) {
                // Not the file's fault: keep the table as it was.
                rr_log_error("key directory not re-read: out of descriptors (%s)", why);
                free_keys(&keys);
                closedir(d);
                return RR_EIO;
            }
            rr_log_warn("key skipped: %s", why);
            continue;
        }
        if (kf.principal[0] == '\0') {
            rr_log_warn("key skipped: \"%s\" names no principal", path);
            continue;
        }
        brk_key *k = NULL;
        HASH_FIND_STR(keys, kf.public_key, k);
        if (k != NULL) {
            // Which principal would win depends on readdir order: neither.
            rr_log_warn("key refused: \"%s\" repeats a key registered in another file", path);
            k->principal[0] = '\0';
            continue;
        }
        k = calloc(1, sizeof *k);
        if (k == NULL) {
            rr_log_error("out of memory loading keys");
            free_keys(&keys);
            closedir(d);
            return RR_ENOMEM;
        }
        memcpy(k->public_key, kf.public_key, sizeof k->public_key);
        memcpy(k->principal, kf.principal, sizeof k->principal);
        HASH_ADD_STR(keys, public_key, k);
        count++;
    }
    closedir(d);
    free_keys(&self->keys);
    self->keys = keys;
    self->loaded_mtime = st.st_mtim;
    clock_gettime(CLOCK_MONOTONIC, &self->loaded_at);
    rr_log_info("%zu key(s) registered in \"%s\"", count, self->dir);
    return RR_OK;
}

brk_auth *
brk_auth_new(void *ctx, const char *keys_dir, brk_noisy *noisy)
{
    brk_auth *self = calloc(1, sizeof *self);
    if (self == NULL) {
        rr_log_error("out of memory");
        return NULL;
    }
    self->noisy = noisy;
    for (int i = 0; i < SPARE_FDS; i++) {
        self->spare[i] = -1;
    }
    if (snprintf(self->dir, sizeof self->dir, "%s", keys_dir) >= (int) sizeof self->dir) {
        rr_log_error("key directory path too long");
        brk_auth_destroy(&self);
        return NULL;
    }
    if (load(self) != RR_OK) {
        brk_auth_destroy(&self);
        return NULL;
    }
    self->zap = zmq_socket(ctx, ZMQ_REP);
    if (self->zap == NULL) {
        rr_log_error("zmq_socket(ZAP) failed: %s", zmq_strerror(errno));
        brk_auth_destroy(&self);
        return NULL;
    }
    int linger = 0;
    if (zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(self->zap, ZAP_ENDPOINT) != 0) {
        rr_log_error("cannot start the ZAP handler: %s", zmq_strerror(errno));
        brk_auth_destroy(&self);
        return NULL;
    }
    return self;
}

void
brk_auth_destroy(brk_auth **self_p)
{
    assert(self_p != NULL);
    brk_auth *self = *self_p;
    if (self == NULL) {
        return;
    }
    if (self->zap != NULL) {
        zmq_close(self->zap);
    }
    free_keys(&self->keys);
    spares_release(self);
    free(self);
    *self_p = NULL;
}

void *
brk_auth_socket(brk_auth *self)
{
    return self->zap;
}

const char *
brk_auth_principal(const brk_auth *self, const char *public_key)
{
    if (public_key == NULL) {
        return NULL;
    }
    brk_key *k = NULL;
    HASH_FIND_STR(self->keys, public_key, k);
    return k && k->principal[0] ? k->principal : NULL;
}

void
brk_auth_counters(const brk_auth *self, uint64_t *admitted, uint64_t *refused)
{
    *admitted = self->admitted;
    *refused = self->refused;
}

void
brk_auth_reload_if_changed(brk_auth *self)
{
    struct stat st;
    if (stat(self->dir, &st) != 0) {
        // Gone or unreadable: fail closed rather than keep stale keys.
        rr_log_error("cannot stat key directory \"%s\": %s; no key is admitted until it is back",
                     self->dir, strerror(errno));
        free_keys(&self->keys);
        memset(&self->loaded_mtime, 0, sizeof self->loaded_mtime);
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (st.st_mtim.tv_sec != self->loaded_mtime.tv_sec ||
        st.st_mtim.tv_nsec != self->loaded_mtime.tv_nsec ||
        now.tv_sec - self->loaded_at.tv_sec >= FORCE_RELOAD_S) {
        (void) load(self);
    }
}

brk_auth_verdict
brk_auth_admission(const char *principal, brk_auth_side side)
{
    rr_principal who;
    if (!rr_principal_parse(principal, &who)) {
        return BRK_AUTH_UNREGISTERED;
    }
    bool is_worker = who.kind == RR_PRINCIPAL_WORKER;
    return is_worker == (side == BRK_AUTH_BACK_END) ? BRK_AUTH_ADMITTED : BRK_AUTH_WRONG_SIDE;
}

static bool
frame_is(rr_frames *f, size_t i, const char *text)
{
    return rr_frames_equal(f, i, text, strlen(text));
}

// Anyone can attempt handshakes with random keys: refusal lines share the
// broker's limit (the refused counter counts them all).
static bool
may_log(brk_auth *self)
{
    return brk_noisy_ok(self->noisy, rr_clock_mono_ms());
}

// Decides one ZAP request: status code, text and user id.
static const char *
decide(brk_auth *self, rr_frames *f, const char **text, char *user, size_t cap)
{
    user[0] = '\0';
    // [version][request id][domain][address][routing id][mechanism][key]
    if (f->count != 7 || !frame_is(f, 0, "1.0")) {
        *text = "malformed ZAP request";
        return "500";
    }
    if (!frame_is(f, 5, "CURVE") || rr_frames_size(f, 6) != 32) {
        *text = "CURVE required";
        return "400";
    }
    char key[RR_KEY_TEXT_LEN + 1];
    if (zmq_z85_encode(key, rr_frames_data(f, 6), 32) == NULL) {
        *text = "bad key";
        return "400";
    }
    char address[64];
    size_t alen =
        rr_frames_size(f, 3) < sizeof address - 1 ? rr_frames_size(f, 3) : sizeof address - 1;
    memcpy(address, rr_frames_data(f, 3), alen);
    address[alen] = '\0';
    const char *principal = brk_auth_principal(self, key);
    // Only the broker's two sockets set a ZAP domain: anything but the
    // workers' is the front end, which admits no worker key.
    brk_auth_side side =
        frame_is(f, 2, BRK_ZAP_DOMAIN_WORKERS) ? BRK_AUTH_BACK_END : BRK_AUTH_FRONT_END;
    brk_auth_verdict verdict = brk_auth_admission(principal, side);
    if (verdict == BRK_AUTH_UNREGISTERED) {
        if (may_log(self)) {
            rr_log_warn("refused key %s from %s: not registered", key, address);
        }
        *text = "key not registered";
        return "400";
    }
    if (verdict != BRK_AUTH_ADMITTED) {
        if (may_log(self)) {
            rr_log_warn("refused key %s (%s) from %s: not allowed on the %s socket", key, principal,
                        address, side == BRK_AUTH_BACK_END ? "workers'" : "centers'");
        }
        *text = "key not allowed here";
        return "400";
    }
    rr_log_info("admitted %s from %s", principal, address);
    if (rr_format_exact(user, cap, "%s", key) != RR_OK) {
        *text = "key too long";
        return "500"; // a Z85 key is 40 characters: ZAP's user id room is ample
    }
    *text = "OK";
    return "200";
}

void
brk_auth_handle(brk_auth *self)
{
    for (;;) {
        rr_frames f;
        rr_status st = rr_frames_recv(self->zap, &f, ZMQ_DONTWAIT);
        if (st != RR_OK) {
            return; // nothing waiting (or a socket error, logged by the caller's loop)
        }
        const char *text = "";
        char user[RR_KEY_TEXT_LEN + 1];
        const char *code = decide(self, &f, &text, user, sizeof user);
        if (strcmp(code, "200") == 0) {
            self->admitted++;
        } else {
            self->refused++;
        }
        // The reply echoes the request id (frame 1) even for a malformed request.
        bool ok = zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE) >= 0;
        ok = ok && (f.count > 1 ? zmq_send(self->zap, rr_frames_data(&f, 1), rr_frames_size(&f, 1),
                                           ZMQ_SNDMORE)
                                : zmq_send(self->zap, "", 0, ZMQ_SNDMORE)) >= 0;
        ok = ok && zmq_send(self->zap, code, 3, ZMQ_SNDMORE) >= 0;
        ok = ok && zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE) >= 0;
        ok = ok && zmq_send(self->zap, user, strlen(user), ZMQ_SNDMORE) >= 0;
        ok = ok && zmq_send(self->zap, "", 0, 0) >= 0;
        if (!ok) {
            rr_log_error("ZAP reply failed: %s", zmq_strerror(errno));
        }
        rr_frames_close(&f);
    }
}
