// Sessions and transactions of the reference-data commands (see
// tool_refdb.h).
#include "tool_refdb.h"

#include "rr_text.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
tool_refdb_parse(const char *program, const char *summary, rr_opt *opts, int count, int argc,
                 char **argv, int *first, int *exit_code)
{
    rr_status st = rr_config_parse(program, summary, opts, count, argc, argv, first);
    if (st == RR_ESHUTDOWN) {
        *exit_code = TOOL_EXIT_DONE;
        return false;
    }
    if (st != RR_OK) {
        *exit_code = TOOL_EXIT_USAGE;
        return false;
    }
    return true;
}

bool
tool_refdb_actor(const char *by, char out[TOOL_ACTOR_MAX_BYTES + 1])
{
    const struct passwd *pw = getpwuid(geteuid());
    char why[TOOL_WHY_BYTES];
    if (!tool_actor_choose(by, getenv("REFERRAL_ACTOR"), pw != NULL ? pw->pw_name : NULL, out,
                           why)) {
        fprintf(stderr, "%s\n", why);
        return false;
    }
    return true;
}

bool
tool_refdb_command(PGconn *conn, const char *what, const char *sql, int nparams,
                   const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        fprintf(stderr, "could not %s: %s", what,
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    }
    PQclear(res);
    return ok;
}

bool
tool_refdb_begin(PGconn *conn, const char *actor)
{
    const char *params[1] = {actor};
    if (!tool_refdb_command(conn, "start a transaction", "BEGIN", 0, NULL)) {
        return false;
    }
    // A transaction setting: the audit triggers read it; it ends with the
    // transaction, so it cannot leak into a later one on this session.
    if (!tool_refdb_command(conn, "record the actor",
                            "SELECT pg_catalog.set_config('referral.actor', $1, true)", 1,
                            params)) {
        (void) tool_refdb_end(conn, false);
        return false;
    }
    return true;
}

bool
tool_refdb_end(PGconn *conn, bool commit)
{
    return tool_refdb_command(conn, commit ? "commit the change" : "roll back",
                              commit ? "COMMIT" : "ROLLBACK", 0, NULL);
}

// The row's active flag, locked for the transaction: 1, 0, or -1 when the
// row does not exist; -2 when the query failed (printed).
static int
locked_active(PGconn *conn, const char *entity, const char *code)
{
    char sql[128];
    int n = snprintf(sql, sizeof sql, "SELECT active FROM %s WHERE code = $1 FOR UPDATE", entity);
    if (n < 0 || (size_t) n >= sizeof sql) {
        return -2;
    }
    const char *params[1] = {code};
    PGresult *res = tool_db_query(conn, "look up the row", sql, 1, params);
    if (res == NULL) {
        return -2;
    }
    int active = PQntuples(res) == 0 ? -1 : PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return active;
}

int
tool_refdb_set_active(PGconn *conn, const char *actor, const char *entity, const char *code,
                      bool active, tool_refdb_guard guard, void *ctx)
{
    if (!tool_refdb_begin(conn, actor)) {
        return TOOL_EXIT_REFUSED;
    }
    int was = locked_active(conn, entity, code);
    const char *state = active ? "active" : "inactive";
    bool commit = false;
    int rc = TOOL_EXIT_REFUSED;
    if (was == -1) {
        fprintf(stderr, "unrecognized %s \"%s\"\n", entity, code);
    } else if (was == (int) active) {
        printf("%s %s is already %s: nothing changed\n", entity, code, state);
        rc = TOOL_EXIT_DONE;
    } else if (was >= 0 && (guard == NULL || guard(conn, code, ctx))) {
        char sql[128];
        int n = snprintf(sql, sizeof sql, "UPDATE %s SET active = $2 WHERE code = $1", entity);
        const char *params[2] = {code, active ? "true" : "false"};
        commit = n > 0 && (size_t) n < sizeof sql &&
                 tool_refdb_command(conn, "change the row", sql, 2, params);
    }
    if (!tool_refdb_end(conn, commit)) {
        return TOOL_EXIT_REFUSED;
    }
    if (commit) {
        printf("%s %s is now %s\n", entity, code, state);
        rc = TOOL_EXIT_DONE;
    }
    return rc;
}

int
tool_refdb_list(PGconn *conn, const char *what, const char *sql, int nparams,
                const char *const *params, tool_db_format format)
{
    PGresult *res = tool_db_query(conn, what, sql, nparams, params);
    if (res == NULL) {
        return TOOL_EXIT_REFUSED;
    }
    rr_status st = tool_db_print(stdout, res, format);
    PQclear(res);
    return st == RR_OK ? TOOL_EXIT_DONE : TOOL_EXIT_REFUSED;
}

bool
tool_refdb_text(const char *option, const char *s, size_t max)
{
    rr_text_fault fault;
    size_t len = strlen(s);
    if (!rr_text_check(s, len, RR_TEXT_LINE, &fault)) {
        fprintf(stderr, "invalid value for --%s: it %s\n", option, fault.why);
        return false;
    }
    if (len > max) {
        fprintf(stderr, "invalid value for --%s: it is longer than %zu bytes\n", option, max);
        return false;
    }
    return true;
}
