// Command-line and environment configuration shared by every binary: each
// option has a long flag, an environment variable and a default; the flag
// beats the variable, which beats the default. `--help` lists them all.
#ifndef RR_CONFIG_H
#define RR_CONFIG_H

#include "rr_status.h"

#include <stdbool.h>

typedef enum rr_opt_kind {
    RR_OPT_STRING, // target is const char ** (points into argv, environ or the default)
    RR_OPT_INT,    // target is long *; min and max bound it
    RR_OPT_FLAG,   // target is bool *; takes no argument on the command line
    RR_OPT_LIST,   // as RR_OPT_STRING, comma-separated; a flag given again adds to the list
} rr_opt_kind;

typedef struct rr_opt {
    const char *name; // long flag without dashes, e.g. "frontend"
    rr_opt_kind kind;
    const char *env; // environment variable, or NULL
    const char *def; // default as text ("" for none; "0"/"1" for flags)
    const char *help;
    void *target;
    long min, max; // for RR_OPT_INT
} rr_opt;

// Fills every target from its default, then the environment, then argv.
// Returns RR_OK; RR_EINVAL after printing the problem and a hint to stderr;
// RR_ESHUTDOWN after printing usage for --help or the version for --version
// (the caller exits 0). When first_arg is not NULL, *first_arg is set to the
// index in argv of the first operand (argument that is not an option).
RR_NODISCARD rr_status rr_config_parse(const char *program, const char *summary, rr_opt *opts,
                                       int count, int argc, char **argv, int *first_arg);

#endif
