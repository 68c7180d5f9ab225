// Why the database refused a request, as a dead letter keeps it: the
// SQLSTATE, its class's name and PostgreSQL's primary message with every
// value taken out. A primary message may quote the data that failed
// ('invalid input syntax for type uuid: "…"'); a dead letter is read by
// operators, and a row's personal data (national ids, names, household
// ids) never goes there. Schema names the server reports in the error's
// own fields (table, column, constraint, type) are kept: they say where.
#ifndef WRK_PGCAUSE_H
#define WRK_PGCAUSE_H

#include <stdbool.h>
#include <stddef.h>

#define WRK_PGCAUSE_CAP 256

// The name of a SQLSTATE's class ("23" → "integrity constraint
// violation"); "unknown class" for one not in the table, or for NULL.
const char *wrk_pgcause_class(const char *sqlstate);

// True when an error says this server can no longer take our writes, so
// the connection is to be dropped and made again (a multi-host conninfo
// with target_session_attrs=read-write then finds the new primary):
// 25006 (a read-only transaction: the server was demoted to a standby),
// 57P01-57P03 (shut down by an administrator or a crash, or not accepting
// connections yet), and class 08 (connection exceptions). NULL: false.
bool wrk_pgcause_server_lost(const char *sqlstate);

// Writes into out (cap bytes, cut at a character boundary):
//   "SQLSTATE 23514 (integrity constraint violation): new row for relation
//    "referral" violates check constraint "referral_household_canonical""
// primary's double-quoted parts are kept when they equal one of
// names[0..n) (NULL entries skipped); from the first that does not, the
// rest of the message is hidden ("…": PostgreSQL does not escape quotes
// inside a value, so nothing after it is safe). Numbers with five or more
// digits (ASCII, Persian or Arabic-Indic, joined by '-', '/', '.' or
// spaces: "0912-345 6789") become "…" too.
void wrk_pgcause_format(const char *sqlstate, const char *primary, const char *const *names,
                        size_t n, char *out, size_t cap);

#endif
