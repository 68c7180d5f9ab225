// Option parsing over getopt_long with environment fallbacks.
#include "rr_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 64

static rr_status
assign(rr_opt *opt, const char *value, const char *source)
{
    switch (opt->kind) {
    case RR_OPT_STRING:
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

static void
usage(const char *program, const char *summary, const rr_opt *opts, int count)
{
    printf("%s\n\nOptions (flag, environment variable, default):\n", summary);
    for (int i = 0; i < count; i++) {
        const rr_opt *o = &opts[i];
        printf("  --%s%s\n      %s\n      env %s, default \"%s\"\n", o->name,
               o->kind == RR_OPT_FLAG ? "" : "=VALUE", o->help, o->env ? o->env : "(none)",
               o->def);
    }
    printf("  --help\n      print this help and exit\n");
    (void) program;
}

rr_status
rr_config_parse(const char *program, const char *summary, rr_opt *opts, int count, int argc,
                char **argv, int *first_arg)
{
    if (count > MAX_OPTS - 2) {
        return RR_EINVAL;
    }
    for (int i = 0; i < count; i++) {
        if (assign(&opts[i], opts[i].def, opts[i].name) != RR_OK) {
            return RR_EINVAL; // a bad built-in default is our bug
        }
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
    longopts[count + 1] = (struct option){NULL, 0, NULL, 0};

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
        if (c < 1000 || c >= 1000 + count) {
            fprintf(stderr, "try \"%s --help\"\n", program);
            return RR_EINVAL;
        }
        rr_opt *o = &opts[c - 1000];
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
