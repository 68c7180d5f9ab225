// libpq for referralctl's read-only reports: connect, query with $n
// parameters, print results as a table or CSV.
#include "tool_db.h"
#include "wrk_pglog.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

// Type OIDs of PostgreSQL's number types (catalog/pg_type_d.h is in the
// server headers, which clients do not install): such columns align right.
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

#define COLUMN_GAP_WIDTH 2

static PGconn *
connect_session(const char *conninfo, bool read_only)
{
    // expand_dbname: conninfo may be a whole connection string; the
    // fallback application name shows referralctl in pg_stat_activity
    // unless conninfo names another.
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const values[] = {conninfo, "referralctl", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    wrk_pglog_attach(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "could not connect to the database: %s",
                conn ? PQerrorMessage(conn) : "out of memory\n");
        PQfinish(conn);
        return NULL;
    }
    const char *params[1] = {read_only ? "on" : "off"};
    PGresult *res =
        PQexecParams(conn,
                     "SELECT pg_catalog.set_config('search_path', 'referral', false),"
                     " pg_catalog.set_config('default_transaction_read_only', $1, false)",
                     1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        fprintf(stderr, "could not set up the database session: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!ok) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

PGconn *
tool_db_connect(const char *conninfo)
{
    return connect_session(conninfo, true);
}

PGconn *
tool_db_connect_writable(const char *conninfo)
{
    return connect_session(conninfo, false);
}

PGresult *
tool_db_query(PGconn *conn, const char *what, const char *sql, int nparams,
              const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        // PQresultErrorMessage of a NULL result is "", so ask the connection.
        fprintf(stderr, "could not %s: %s", what,
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

rr_status
tool_db_format_parse(const char *name, tool_db_format *format)
{
    if (strcmp(name, "table") == 0) {
        *format = TOOL_DB_TABLE;
        return RR_OK;
    }
    if (strcmp(name, "csv") == 0) {
        *format = TOOL_DB_CSV;
        return RR_OK;
    }
    return RR_EINVAL;
}

size_t
tool_db_text_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
        if ((*p & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static bool
is_number_type(Oid type)
{
    return type == OID_INT8 || type == OID_INT2 || type == OID_INT4 || type == OID_FLOAT4 ||
           type == OID_FLOAT8 || type == OID_NUMERIC;
}

static void
print_spaces(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputc(' ', out);
    }
}

// One table cell, numbers right-aligned. Blanks are held back in *pending
// until more text follows, so that lines carry no trailing blanks.
static void
print_cell(FILE *out, const char *text, size_t width, bool right, size_t *pending)
{
    size_t pad = width - tool_db_text_width(text);
    if (right) {
        *pending += pad;
    }
    if (text[0] != '\0') {
        print_spaces(out, *pending);
        *pending = 0;
        fputs(text, out);
    }
    if (!right) {
        *pending += pad;
    }
    *pending += COLUMN_GAP_WIDTH;
}

enum { CELL_CAP = 64 };

// Field (r, c) as printed.
static const char *
cell(const PGresult *res, int r, int c, const tool_db_cells *cells, char buf[CELL_CAP])
{
    const char *value = PQgetvalue(res, r, c);
    return cells != NULL ? cells->text(cells->ctx, res, c, value, buf, CELL_CAP) : value;
}

static rr_status
print_table(FILE *out, const PGresult *res, const tool_db_cells *cells)
{
    char buf[CELL_CAP];
    int ncols = PQnfields(res), nrows = PQntuples(res);
    if (ncols == 0) {
        return RR_OK;
    }
    size_t *width = calloc((size_t) ncols, sizeof *width);
    if (width == NULL) {
        fprintf(stderr, "could not print the result: out of memory\n");
        return RR_ENOMEM;
    }
    for (int c = 0; c < ncols; c++) {
        width[c] = tool_db_text_width(PQfname(res, c));
        for (int r = 0; r < nrows; r++) {
            size_t w = tool_db_text_width(cell(res, r, c, cells, buf));
            width[c] = w > width[c] ? w : width[c];
        }
    }
    size_t pending = 0;
    for (int c = 0; c < ncols; c++) {
        print_cell(out, PQfname(res, c), width[c], is_number_type(PQftype(res, c)), &pending);
    }
    fputc('\n', out);
    for (int c = 0; c < ncols; c++) {
        print_spaces(out, c > 0 ? COLUMN_GAP_WIDTH : 0);
        for (size_t i = 0; i < width[c]; i++) {
            fputc('-', out);
        }
    }
    fputc('\n', out);
    for (int r = 0; r < nrows; r++) {
        pending = 0;
        for (int c = 0; c < ncols; c++) {
            print_cell(out, cell(res, r, c, cells, buf), width[c], is_number_type(PQftype(res, c)),
                       &pending);
        }
        fputc('\n', out);
    }
    fprintf(out, "(%d row%s)\n", nrows, nrows == 1 ? "" : "s");
    free(width);
    return RR_OK;
}

// One CSV field, quoted when it holds a separator, a quote or a line break.
static void
print_csv_field(FILE *out, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"') {
            fputc('"', out);
        }
        fputc(*p, out);
    }
    fputc('"', out);
}

static void
print_csv(FILE *out, const PGresult *res, const tool_db_cells *cells)
{
    char buf[CELL_CAP];
    int ncols = PQnfields(res), nrows = PQntuples(res);
    for (int c = 0; c < ncols; c++) {
        if (c > 0) {
            fputc(',', out);
        }
        print_csv_field(out, PQfname(res, c));
    }
    fputs("\r\n", out);
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            if (c > 0) {
                fputc(',', out);
            }
            print_csv_field(out, cell(res, r, c, cells, buf)); // "" for NULL
        }
        fputs("\r\n", out);
    }
}

rr_status
tool_db_print(FILE *out, const PGresult *res, tool_db_format format)
{
    return tool_db_print_cells(out, res, format, NULL);
}

rr_status
tool_db_print_cells(FILE *out, const PGresult *res, tool_db_format format,
                    const tool_db_cells *cells)
{
    if (format == TOOL_DB_CSV) {
        print_csv(out, res, cells);
    } else {
        rr_status st = print_table(out, res, cells);
        if (st != RR_OK) {
            return st;
        }
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "could not write the output\n");
        return RR_EIO;
    }
    return RR_OK;
}
