// referralctl keys generate | register | revoke | list. The registry is a
// directory of public-key files, one per key, each naming its principal;
// the broker re-reads it when it changes (brk_auth.h), so registering and
// revoking take effect without a restart.
#include "tool_keys.h"

#include "rr_config.h"
#include "rr_format.h"
#include "rr_keys.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define USAGE                                                                                      \
    "usage: referralctl keys generate --out PREFIX [--principal P]\n"                              \
    "       referralctl keys register --dir DIR --principal P KEY\n"                               \
    "       referralctl keys revoke --dir DIR (KEY | --principal P)\n"                             \
    "       referralctl keys list --dir DIR\n"                                                     \
    "KEY is a public key's Z85 text or a key file; P is center:<code>, office:<code> or\n"         \
    "worker:<prevention|rehabilitation|social|any>\n"

static int
generate(const char *prefix, const char *principal)
{
    if (prefix[0] == '\0') {
        fprintf(stderr, "keys generate: --out PREFIX is required\n");
        return 2;
    }
    if (principal[0] != '\0' && !rr_principal_valid(principal)) {
        fprintf(stderr, "invalid principal \"%s\"\n", principal);
        return 2;
    }
    rr_key_file k;
    if (rr_keys_generate(&k) != RR_OK) {
        fprintf(stderr, "cannot generate a key pair: libzmq has no CURVE support\n");
        return 1;
    }
    char path[PATH_MAX], why[512];
    if (rr_format_exact(k.principal, sizeof k.principal, "%s", principal) != RR_OK ||
        rr_format_exact(path, sizeof path, "%s.key", prefix) != RR_OK) {
        fprintf(stderr, "the principal or the path \"%s\" is too long\n", prefix);
        return 2;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "\"%s\" exists: not overwriting a secret key\n", path);
        return 1;
    }
    if (rr_keys_write(path, &k, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    memset(k.secret_key, 0, sizeof k.secret_key);
    rr_format_fits(path, sizeof path, "%s.pub", prefix); // as long as "%s.key"
    if (rr_keys_write(path, &k, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    printf("%s\n", k.public_key);
    fprintf(stderr, "wrote %s.key (secret, mode 0600) and %s.pub\n", prefix, prefix);
    return 0;
}

// Calls fn for every registered key file in dir; stops when fn returns
// false. -1 when the directory cannot be read.
static int
each_key(const char *dir, bool (*fn)(const char *path, const rr_key_file *k, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot read key directory \"%s\": %s\n", dir, strerror(errno));
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!rr_keys_registry_entry(e->d_name)) {
            continue;
        }
        char path[PATH_MAX + 256], why[512];
        if (rr_format_exact(path, sizeof path, "%s/%s", dir, e->d_name) != RR_OK) {
            fprintf(stderr, "skipped: the path of \"%s\" is too long\n", e->d_name);
            continue;
        }
        rr_key_file k;
        if (rr_keys_read(path, &k, why, sizeof why) != RR_OK) {
            fprintf(stderr, "skipped: %s\n", why);
            continue;
        }
        n++;
        if (!fn(path, &k, arg)) {
            break;
        }
    }
    closedir(d);
    return n;
}

typedef struct match {
    const char *public_key; // or NULL
    const char *principal;  // or NULL
    int found;
    bool remove;
} match;

static bool
on_match(const char *path, const rr_key_file *k, void *arg)
{
    match *m = arg;
    if ((m->public_key && strcmp(k->public_key, m->public_key) == 0) ||
        (m->principal && strcmp(k->principal, m->principal) == 0)) {
        m->found++;
        if (m->remove) {
            if (unlink(path) != 0) {
                fprintf(stderr, "cannot remove \"%s\": %s\n", path, strerror(errno));
                m->found--;
            } else {
                printf("revoked %s %s\n", k->principal, k->public_key);
            }
        }
    }
    return true;
}

static int
reg(const char *dir, const char *principal, const char *key_arg)
{
    if (!rr_principal_valid(principal)) {
        fprintf(stderr,
                "invalid principal \"%s\": expected center:<code>, office:<code> or "
                "worker:<prevention|rehabilitation|social|any>\n",
                principal);
        return 2;
    }
    rr_key_file k;
    memset(&k, 0, sizeof k);
    char why[512];
    if (rr_keys_public_from(key_arg, k.public_key, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    if (rr_format_exact(k.principal, sizeof k.principal, "%s", principal) != RR_OK) {
        fprintf(stderr, "invalid principal \"%s\": too long\n", principal);
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create \"%s\": %s\n", dir, strerror(errno));
        return 1;
    }
    match m = {k.public_key, NULL, 0, false};
    if (each_key(dir, on_match, &m) < 0) {
        return 1;
    }
    if (m.found > 0) {
        fprintf(stderr, "this key is registered already: revoke it first\n");
        return 1;
    }
    // File name: the principal, and the key's first bytes in hex (Z85 text
    // is not file-name safe).
    uint8_t bin[32];
    zmq_z85_decode(bin, k.public_key);
    char name[64], path[PATH_MAX + 64];
    rr_format_fits(name, sizeof name, "%s", k.principal); // no longer than RR_PRINCIPAL_MAX
    for (char *c = name; *c; c++) {
        if (*c == ':') {
            *c = '-';
        }
    }
    if (rr_format_exact(path, sizeof path, "%s/%s.%02x%02x%02x%02x.pub", dir, name, bin[0], bin[1],
                        bin[2], bin[3]) != RR_OK) {
        fprintf(stderr, "the key directory's path \"%s\" is too long\n", dir);
        return 2;
    }
    if (rr_keys_write(path, &k, why, sizeof why) != RR_OK) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    printf("registered %s %s\n", principal, k.public_key);
    return 0;
}

static int
revoke(const char *dir, const char *principal, const char *key_arg)
{
    match m = {NULL, NULL, 0, true};
    char key[RR_KEY_TEXT_LEN + 1], why[512];
    if (key_arg != NULL) {
        if (rr_keys_public_from(key_arg, key, why, sizeof why) != RR_OK) {
            fprintf(stderr, "%s\n", why);
            return 2;
        }
        m.public_key = key;
    } else if (principal[0] != '\0') {
        m.principal = principal;
    } else {
        fprintf(stderr, USAGE);
        return 2;
    }
    if (each_key(dir, on_match, &m) < 0) {
        return 1;
    }
    if (m.found == 0) {
        fprintf(stderr, "no registered key matches\n");
        return 1;
    }
    return 0;
}

static bool
on_list(const char *path, const rr_key_file *k, void *arg)
{
    (void) arg;
    const char *base = strrchr(path, '/');
    printf("%-24s %s  %s\n", k->principal, k->public_key, base ? base + 1 : path);
    return true;
}

int
tool_keys_main(int argc, char **argv)
{
    const char *out = NULL, *principal = NULL, *dir = NULL;
    int first = 0;
    rr_opt opts[] = {
        {"out", RR_OPT_STRING, NULL, "", "generate: write PREFIX.key and PREFIX.pub", &out, 0, 0},
        {"principal", RR_OPT_STRING, NULL, "", "who holds the key, e.g. center:941", &principal, 0,
         0},
        {"dir", RR_OPT_STRING, "REFERRAL_KEYS_DIR", "", "the broker's key directory", &dir, 0, 0},
    };
    rr_status st = rr_config_parse("referralctl keys",
                                   "referralctl keys generate | register | revoke | list: CURVE "
                                   "keys and the broker's key directory",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK || first >= argc) {
        fprintf(stderr, USAGE);
        return 2;
    }
    const char *action = argv[first];
    int rest = argc - first - 1;
    if (strcmp(action, "generate") == 0 && rest == 0) {
        return generate(out, principal);
    }
    if (dir[0] == '\0') {
        fprintf(stderr, "keys %s: --dir (or REFERRAL_KEYS_DIR) is required\n", action);
        return 2;
    }
    if (strcmp(action, "register") == 0 && rest == 1) {
        return reg(dir, principal, argv[first + 1]);
    }
    if (strcmp(action, "revoke") == 0 && rest <= 1) {
        return revoke(dir, principal, rest == 1 ? argv[first + 1] : NULL);
    }
    if (strcmp(action, "list") == 0 && rest == 0) {
        printf("%-24s %-40s  %s\n", "principal", "public key", "file");
        return each_key(dir, on_list, NULL) < 0 ? 1 : 0;
    }
    fprintf(stderr, USAGE);
    return 2;
}
