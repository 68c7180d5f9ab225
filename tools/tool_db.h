// PostgreSQL access for referralctl's reports and reference-data commands: a
// connection with a pinned search_path (read-only unless asked), checked
// parameterised queries, and printing a result as an aligned text table or
// as RFC 4180 CSV.
#ifndef TOOL_DB_H
#define TOOL_DB_H

#include "rr_status.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum tool_db_format {
    TOOL_DB_TABLE, // columns padded to the widest value, then "(N rows)"
    TOOL_DB_CSV,   // RFC 4180: header line, CRLF line ends, quoted when needed
} tool_db_format;

// Connects with the libpq connection string conninfo, pins search_path to
// "referral" and makes the session read-only. Returns the connection (the
// caller PQfinish-es it), or NULL after printing why to stderr.
PGconn *tool_db_connect(const char *conninfo);

// tool_db_connect for the commands that change reference data: the same
// session, read-write.
PGconn *tool_db_connect_writable(const char *conninfo);

// Runs sql with nparams text parameters ($1..$n; a NULL entry is SQL NULL).
// Returns the PGRES_TUPLES_OK result, which the caller PQclear-s, or NULL
// after printing "could not WHAT: <libpq message>" to stderr.
PGresult *tool_db_query(PGconn *conn, const char *what, const char *sql, int nparams,
                        const char *const *params);

// Sets *format from "table" or "csv". RR_EINVAL for anything else.
RR_NODISCARD rr_status tool_db_format_parse(const char *name, tool_db_format *format);

// Prints every row of res to out with its column names as the header. SQL
// NULL prints as an empty field. RR_EIO when writing to out failed.
RR_NODISCARD rr_status tool_db_print(FILE *out, const PGresult *res, tool_db_format format);

// A rewrite of cells as they are printed (a date shown in another
// calendar): returns the text to print for column c's value, which may be
// value itself or written into buf (cap bytes).
typedef struct tool_db_cells {
    const char *(*text)(void *ctx, const PGresult *res, int c, const char *value, char *buf,
                        size_t cap);
    void *ctx;
} tool_db_cells;

// tool_db_print with cells (NULL: as stored) rewriting each field.
RR_NODISCARD rr_status tool_db_print_cells(FILE *out, const PGresult *res, tool_db_format format,
                                           const tool_db_cells *cells);

// The number of UTF-8 code points in s (the bytes that do not continue a
// sequence): how wide a table cell is, since Persian letters take 2 bytes.
size_t tool_db_text_width(const char *s);

#endif
