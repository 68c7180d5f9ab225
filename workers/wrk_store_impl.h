// Inside the store: what the driver (wrk_store.c) gives the modules that
// do the store's jobs (wrk_store_catalog.c, wrk_record.c, wrk_read.c,
// wrk_update.c). Not for anyone else: the rest of the worker uses
// wrk_store.h.
#ifndef WRK_STORE_IMPL_H
#define WRK_STORE_IMPL_H

#include "wrk_store.h"

#include <libpq-fe.h>
#include <stdint.h>

// A statement the driver prepares on every new connection.
typedef struct wrk_statement {
    const char *name;
    const char *sql;
    int nparams;
} wrk_statement;

typedef struct wrk_statements {
    const wrk_statement *list;
    size_t count;
} wrk_statements;

// Each module's statements (defined in that module).
extern const wrk_statements wrk_record_statements;
extern const wrk_statements wrk_read_statements;
extern const wrk_statements wrk_update_statements;
extern const wrk_statements wrk_inbox_statements;
extern const wrk_statements wrk_donate_statements;
extern const wrk_statements wrk_nbhd_statements;
extern const wrk_statements wrk_rate_statements;

// A referral row's first fifteen columns, in the order wrk_read.c's
// SQL_REFERRAL names them, into out (its events untouched).
void wrk_read_referral_row(const PGresult *res, int row, wrk_status *out);

// Runs the prepared statement name (or, with name NULL, sql as a one-off)
// with a deadline, returning its last result, or NULL when the connection
// failed or the deadline passed (the connection is then dropped: whatever
// it was doing is in doubt, and the caller's retry settles it). A result
// counts only once PQgetResult has returned NULL: for an implicit
// transaction, after its COMMIT. The caller clears it.
PGresult *wrk_store_exec(wrk_store *self, const char *name, const char *sql, int nparams,
                         const char *const *values);

// wrk_store_exec inside an explicit transaction: NULL (logged) unless it
// returned want; the caller rolls back.
PGresult *wrk_store_tx_step(wrk_store *self, const char *name, const char *sql, int nparams,
                            const char *const *values, ExecStatusType want);

// Rolls back the open transaction, if still connected.
void wrk_store_rollback(wrk_store *self);

// Drops the connection (the next wrk_store_ensure makes a new one).
void wrk_store_disconnect(wrk_store *self);

// Counts a commit that began at t0_us (rr_clock_mono_us).
void wrk_store_commit_done(wrk_store *self, int64_t t0_us);

// A failed result's primary message only: DETAIL may quote the failing
// row, and a referral row holds a national id, which never goes in a log.
const char *wrk_store_primary(const PGresult *res);

// True when res failed with SQLSTATE code.
bool wrk_store_sqlstate_is(const PGresult *res, const char *code);

// Copies a column into dst, cutting a value too long for it at a UTF-8
// character boundary so that what goes on the wire stays valid UTF-8.
void wrk_store_copy_field(char *dst, size_t cap, const PGresult *res, int row, int col);

#endif
