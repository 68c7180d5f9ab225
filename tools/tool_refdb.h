// What every reference-data command shares: the actor, a read-write
// session, a transaction that names its actor (migration 0011's triggers
// record each changed row with it), checked commands, and turning a row
// active or inactive. Exit statuses: 0 done, 1 refused or the database
// failed, 2 a usage error.
#ifndef TOOL_REFDB_H
#define TOOL_REFDB_H

#include "rr_config.h"
#include "tool_db.h"
#include "tool_refcheck.h"

#include <stdbool.h>

#define TOOL_EXIT_DONE    0
#define TOOL_EXIT_REFUSED 1
#define TOOL_EXIT_USAGE   2

// The options every reference-data command takes (--db, --by) as the first
// two entries of an rr_opt array, and their targets.
typedef struct tool_refdb_opts {
    const char *db;
    const char *by;
} tool_refdb_opts;

#define TOOL_REFDB_OPTS(o)                                                                         \
    {                                                                                              \
        "db",                                                                                      \
        RR_OPT_STRING,                                                                             \
        "REFERRAL_DB",                                                                             \
        "dbname=referral",                                                                         \
        "libpq connection string",                                                                 \
        &(o)->db,                                                                                  \
        0,                                                                                         \
        0},                                                                                        \
    {                                                                                              \
        "by", RR_OPT_STRING, NULL, "",                                                             \
            "who makes the change, for the audit (default: REFERRAL_ACTOR, else the "              \
            "operating-system user)",                                                              \
            &(o)->by, 0, 0                                                                         \
    }

// rr_config_parse; false when the command ends here with *exit_code (after
// --help, or a usage error already printed).
bool tool_refdb_parse(const char *program, const char *summary, rr_opt *opts, int count, int argc,
                      char **argv, int *first, int *exit_code);

// The actor of a change (tool_actor_choose with REFERRAL_ACTOR and the
// operating-system user of the effective uid). False after printing why.
bool tool_refdb_actor(const char *by, char out[TOOL_ACTOR_MAX_BYTES + 1]);

// BEGIN, and the transaction's actor for the audit. False after printing
// why (the transaction is then rolled back).
bool tool_refdb_begin(PGconn *conn, const char *actor);

// COMMIT when commit, else ROLLBACK. False after printing why.
bool tool_refdb_end(PGconn *conn, bool commit);

// Runs a command that returns no rows; false after printing "could not WHAT: ...".
bool tool_refdb_command(PGconn *conn, const char *what, const char *sql, int nparams,
                        const char *const *params);

// A check made after the row is locked and before it changes (an office
// that rules still send work to): false refuses the change, after
// printing why.
typedef bool (*tool_refdb_guard)(PGconn *conn, const char *code, void *ctx);

// Turns entity's row (table "center", "office" or "service", key code)
// active or inactive in a transaction of its own, after guard (may be
// NULL). Prints what happened; a row already so changes nothing. Returns the
// exit status: 1 for a row that does not exist or a refusal.
int tool_refdb_set_active(PGconn *conn, const char *actor, const char *entity, const char *code,
                          bool active, tool_refdb_guard guard, void *ctx);

// Runs a listing query and prints it in format; the exit status.
int tool_refdb_list(PGconn *conn, const char *what, const char *sql, int nparams,
                    const char *const *params, tool_db_format format);

// Checks that s is a line of text (rr_text_check) of at most max bytes, for
// option --option; false after printing why.
bool tool_refdb_text(const char *option, const char *s, size_t max);

#endif
