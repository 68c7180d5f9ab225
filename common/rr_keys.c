#include "rr_keys.h"

#include "rr_format.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

rr_status
rr_keys_generate(rr_key_file *out)
{
    memset(out, 0, sizeof *out);
    if (zmq_curve_keypair(out->public_key, out->secret_key) != 0) {
        return RR_EIO; // ENOTSUP: libzmq built without CURVE
    }
    return RR_OK;
}

bool
rr_keys_valid(const char *z85)
{
    uint8_t bin[32];
    return z85 != NULL && strlen(z85) == RR_KEY_TEXT_LEN && zmq_z85_decode(bin, z85) != NULL;
}

bool
rr_keys_registry_entry(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

typedef struct read_ctx {
    rr_key_file *out;
    char bad[64]; // the first unexpected key, if any
} read_ctx;

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    read_ctx *ctx = user;
    char *dst = NULL;
    size_t cap = 0;
    if (strcmp(section, "curve") == 0 && strcmp(name, "public") == 0) {
        dst = ctx->out->public_key;
        cap = sizeof ctx->out->public_key;
    } else if (strcmp(section, "curve") == 0 && strcmp(name, "secret") == 0) {
        dst = ctx->out->secret_key;
        cap = sizeof ctx->out->secret_key;
    } else if (strcmp(section, "curve") == 0 && strcmp(name, "principal") == 0) {
        dst = ctx->out->principal;
        cap = sizeof ctx->out->principal;
    }
    if (dst == NULL || strlen(value) >= cap) {
        if (ctx->bad[0] == '\0') {
            rr_format_fits(ctx->bad, sizeof ctx->bad, "[%.20s] %.30s", section, name);
        }
        return 1; // keep going; reported after
    }
    memcpy(dst, value, strlen(value) + 1);
    return 1;
}

rr_status
rr_keys_read(const char *path, rr_key_file *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    read_ctx ctx = {out, ""};
    int rc = ini_parse(path, on_key, &ctx);
    if (rc < 0) {
        (void) rr_format(why, cap, "cannot read key file \"%s\": %s", path, strerror(errno));
        return RR_EIO;
    }
    if (rc > 0) {
        (void) rr_format(why, cap, "key file \"%s\": syntax error on line %d", path, rc);
        return RR_EINVAL;
    }
    if (ctx.bad[0] != '\0') {
        (void) rr_format(why, cap, "key file \"%s\": unexpected or overlong %s", path, ctx.bad);
        return RR_EINVAL;
    }
    if (!rr_keys_valid(out->public_key)) {
        (void) rr_format(why, cap, "key file \"%s\": no valid public key (40 Z85 characters)",
                         path);
        return RR_EINVAL;
    }
    if (out->secret_key[0] != '\0' && !rr_keys_valid(out->secret_key)) {
        (void) rr_format(why, cap, "key file \"%s\": the secret key is not 40 Z85 characters",
                         path);
        return RR_EINVAL;
    }
    if (out->principal[0] != '\0' && !rr_principal_valid(out->principal)) {
        (void) rr_format(why, cap,
                         "key file \"%s\": invalid principal \"%s\" (expected center:<code>, "
                         "office:<code> or worker:<domain|any>)",
                         path, out->principal);
        return RR_EINVAL;
    }
    return RR_OK;
}

rr_status
rr_keys_write(const char *path, const rr_key_file *key, char *why, size_t cap)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long) getpid()) >= (int) sizeof tmp) {
        (void) rr_format(why, cap, "path too long: \"%s\"", path);
        return RR_EIO;
    }
    bool secret = key->secret_key[0] != '\0';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, secret ? 0600 : 0644);
    if (fd < 0) {
        (void) rr_format(why, cap, "cannot create \"%s\": %s", tmp, strerror(errno));
        return RR_EIO;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        (void) rr_format(why, cap, "cannot write \"%s\": %s", tmp, strerror(errno));
        return RR_EIO;
    }
    fprintf(f, "# referral-router CURVE key%s\n[curve]\npublic = %s\n",
            secret ? ": keep this file secret" : "", key->public_key);
    if (secret) {
        fprintf(f, "secret = %s\n", key->secret_key);
    }
    if (key->principal[0] != '\0') {
        fprintf(f, "principal = %s\n", key->principal);
    }
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        (void) rr_format(why, cap, "cannot write \"%s\": %s", path, strerror(errno));
        unlink(tmp);
        return RR_EIO;
    }
    return RR_OK;
}

rr_status
rr_keys_public_from(const char *arg, char out[RR_KEY_TEXT_LEN + 1], char *why, size_t cap)
{
    struct stat st;
    if (rr_keys_valid(arg) && stat(arg, &st) != 0) {
        memcpy(out, arg, RR_KEY_TEXT_LEN + 1);
        return RR_OK;
    }
    rr_key_file k;
    rr_status s = rr_keys_read(arg, &k, why, cap);
    if (s == RR_OK) {
        memcpy(out, k.public_key, sizeof k.public_key);
    }
    return s;
}

static bool
given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

rr_status
rr_curve_client_load(const char *key_file, const char *broker_key, rr_curve_client *out, char *why,
                     size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!given(key_file) && !given(broker_key)) {
        return RR_OK;
    }
    if (!given(key_file) || !given(broker_key)) {
        (void) rr_format(why, cap,
                         "CURVE needs both a key file (with our secret key) and the broker's "
                         "public key");
        return RR_EINVAL;
    }
    rr_key_file k;
    rr_status st = rr_keys_read(key_file, &k, why, cap);
    if (st != RR_OK) {
        return st;
    }
    if (k.secret_key[0] == '\0') {
        (void) rr_format(why, cap, "key file \"%s\" holds no secret key", key_file);
        return RR_EINVAL;
    }
    st = rr_keys_public_from(broker_key, out->server_key, why, cap);
    if (st != RR_OK) {
        return st;
    }
    memcpy(out->public_key, k.public_key, sizeof out->public_key);
    memcpy(out->secret_key, k.secret_key, sizeof out->secret_key);
    out->on = true;
    return RR_OK;
}

rr_status
rr_curve_client_apply(const rr_curve_client *c, void *socket, char *why, size_t cap)
{
    if (!c->on) {
        return RR_OK;
    }
    size_t n = RR_KEY_TEXT_LEN + 1; // Z85 text with its NUL
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, c->server_key, n) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, c->public_key, n) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret_key, n) != 0) {
        (void) rr_format(why, cap, "cannot set CURVE keys: %s", zmq_strerror(errno));
        return RR_EIO;
    }
    return RR_OK;
}
