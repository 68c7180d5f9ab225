// Option parsing over getopt_long with environment fallbacks.
#include "rr_config.h"

#include "rr_version.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 64

// Values read from a config file live here for the life of the process, so
// string options can point at them without an allocation to free.
static char value_pool[32768];
static size_t pool_used;

static const char *
keep(const char *value)
{
    size_t n = strlen(value) + 1;
    if (pool_used + n > sizeof value_pool) {
        return NULL;
    }
    char *dst = value_pool + pool_used;
    memcpy(dst, value, n);
    pool_used += n;
    return dst;
}

// "a,b": a list option's earlier value and one more, kept in the pool.
static const char *
join(const char *list, const char *value)
{
    size_t a = strlen(list), b = strlen(value);
    if (a == 0) {
        return value;
    }
    if (pool_used + a + b + 2 > sizeof value_pool) {
        return NULL;
    }
    char *dst = value_pool + pool_used;
    memcpy(dst, list, a);
    dst[a] = ',';
    memcpy(dst + a + 1, value, b + 1);
    pool_used += a + b + 2;
    return dst;
}

static rr_status
assign(rr_opt *opt, const char *value, const char *source)
{
    switch (opt->kind) {
    case RR_OPT_STRING:
    case RR_OPT_LIST:
        *(const char **) opt->target = value;
        return RR_OK;
    case RR_OPT_FLAG:
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0) {
            *(bool *) opt->target = true;
        } else if (value[0] == '\0' || strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                   strcmp(value, "no") == 0) {
            *(bool *) opt->target = false;
        } else {
            fprintf(stderr, "invalid value \"%s\" for %s: expected true or false\n", value, source);
            return RR_EINVAL;
        }
        return RR_OK;
    case RR_OPT_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < opt->min || v > opt->max) {
            fprintf(stderr, "invalid value \"%s\" for %s: expected an integer from %ld to %ld\n",
                    value, source, opt->min, opt->max);
            return RR_EINVAL;
        }
        *(long *) opt->target = v;
        return RR_OK;
    }
    }
    return RR_EINVAL;
}

typedef struct file_ctx {
    rr_opt *opts;
    int count;
    const char *section; // the program's own section, e.g. "referral-broker"
    const char *path;
    bool shared; // the section serves several commands (referralctl)
    bool failed;
} file_ctx;

// One key of the config file: keys of the unnamed section and of the
// program's own section must be options of the program; other sections
// belong to other programs.
static int
on_ini_key(void *user, const char *section, const char *name, const char *value)
{
    file_ctx *ctx = user;
    if (section[0] != '\0' && strcmp(section, ctx->section) != 0) {
        return 1;
    }
    for (int i = 0; i < ctx->count; i++) {
        if (strcmp(ctx->opts[i].name, name) == 0) {
            const char *kept = keep(value);
            char source[300];
            int n = snprintf(source, sizeof source, "\"%s\" in %s", name, ctx->path);
            (void) n;
            if (kept == NULL || assign(&ctx->opts[i], kept, source) != RR_OK) {
                ctx->failed = true;
            }
            return 1;
        }
    }
    if (ctx->shared) {
        return 1; // another referralctl command's setting
    }
    fprintf(stderr, "unrecognized setting \"%s\" in %s\n", name, ctx->path);
    ctx->failed = true;
    return 1;
}

// The --config argument, or REFERRAL_CONFIG; NULL when neither is given.
static const char *
config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            return argv[i + 1];
        }
        if (strncmp(argv[i], "--config=", 9) == 0) {
            return argv[i] + 9;
        }
    }
    const char *env = getenv("REFERRAL_CONFIG");
    return env && env[0] ? env : NULL;
}

static void
usage(const char *program, const char *summary, const rr_opt *opts, int count)
{
    printf("%s\n\nOptions (flag, environment variable, default):\n", summary);
    for (int i = 0; i < count; i++) {
        const rr_opt *o = &opts[i];
        printf("  --%s%s\n      %s\n      env %s, default \"%s\"\n", o->name,
               o->kind == RR_OPT_FLAG ? "" : "=VALUE", o->help, o->env ? o->env : "(none)", o->def);
    }
    printf("  --config=FILE\n      read settings from an INI file: \"name = value\" lines with the "
           "names above,\n      unsectioned or under [%s]; the environment and flags override "
           "it\n      env REFERRAL_CONFIG\n",
           program);
    printf("  --help\n      print this help and exit\n");
    printf("  --version\n      print the version and exit\n");
}

rr_status
rr_config_parse(const char *program, const char *summary, rr_opt *opts, int count, int argc,
                char **argv, int *first_arg)
{
    if (count > MAX_OPTS - 4) {
        return RR_EINVAL;
    }
    for (int i = 0; i < count; i++) {
        if (assign(&opts[i], opts[i].def, opts[i].name) != RR_OK) {
            return RR_EINVAL; // a bad built-in default is our bug
        }
    }
    // Precedence: default < config file < environment < flag.
    const char *path = config_path(argc, argv);
    if (path != NULL) {
        char section[64];
        int n = snprintf(section, sizeof section, "%s", program);
        char *space = n > 0 ? strchr(section, ' ') : NULL;
        if (space != NULL) {
            *space = '\0'; // "referralctl submit" reads [referralctl]
        }
        file_ctx ctx = {opts, count, section, path, space != NULL, false};
        int rc = ini_parse(path, on_ini_key, &ctx);
        if (rc != 0) {
            fprintf(stderr,
                    rc < 0 ? "could not read config file %s\n" : "syntax error in config file %s\n",
                    path);
            return RR_EINVAL;
        }
        if (ctx.failed) {
            return RR_EINVAL;
        }
    }
    for (int i = 0; i < count; i++) {
        const char *env = opts[i].env ? getenv(opts[i].env) : NULL;
        if (env != NULL && assign(&opts[i], env, opts[i].env) != RR_OK) {
            return RR_EINVAL;
        }
    }
    struct option longopts[MAX_OPTS];
    for (int i = 0; i < count; i++) {
        longopts[i] = (struct option){opts[i].name,
                                      opts[i].kind == RR_OPT_FLAG ? no_argument : required_argument,
                                      NULL, 1000 + i};
    }
    longopts[count] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[count + 1] = (struct option){"config", required_argument, NULL, 'c'};
    // A command with an option of its own named "version" (referralctl
    // update --version N) keeps it; the others print the build's version.
    bool own_version = false;
    for (int i = 0; i < count; i++) {
        own_version = own_version || strcmp(opts[i].name, "version") == 0;
    }
    longopts[count + 2] = own_version ? (struct option){NULL, 0, NULL, 0}
                                      : (struct option){"version", no_argument, NULL, 'V'};
    longopts[count + 3] = (struct option){NULL, 0, NULL, 0};

    bool given[MAX_OPTS] = {false}; // on the command line already: a list grows
    optind = 1;
    opterr = 1;
    int c;
    // GNU getopt permutes: options may come before or after operands
    // ("update R-7 --to accepted"), and optind ends at the first operand.
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(program, summary, opts, count);
            return RR_ESHUTDOWN;
        }
        if (c == 'V') {
            printf("%s %s\n", program, rr_version_string());
            return RR_ESHUTDOWN;
        }
        if (c == 'c') {
            if (path == NULL || strcmp(optarg, path) != 0) {
                fprintf(stderr, "write --config FILE in full; try \"%s --help\"\n", program);
                return RR_EINVAL;
            }
            continue; // read above, before the environment
        }
        if (c < 1000 || c >= 1000 + count) {
            fprintf(stderr, "try \"%s --help\"\n", program);
            return RR_EINVAL;
        }
        rr_opt *o = &opts[c - 1000];
        if (o->kind == RR_OPT_LIST && given[c - 1000]) {
            const char *joined = join(*(const char **) o->target, optarg);
            if (joined == NULL) {
                fprintf(stderr, "too many values for --%s\n", o->name);
                return RR_EINVAL;
            }
            *(const char **) o->target = joined;
            continue;
        }
        given[c - 1000] = true;
        char source[80];
        int n = snprintf(source, sizeof source, "--%s", o->name);
        (void) n;
        if (assign(o, o->kind == RR_OPT_FLAG ? "1" : optarg, source) != RR_OK) {
            return RR_EINVAL;
        }
    }
    if (first_arg != NULL) {
        *first_arg = optind;
    } else if (optind < argc) {
        fprintf(stderr, "unexpected argument \"%s\"; try \"%s --help\"\n", argv[optind], program);
        return RR_EINVAL;
    }
    return RR_OK;
}
