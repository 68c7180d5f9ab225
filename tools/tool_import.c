// The center register import (see tool_import.h): the file checked row by
// row in C (tool_refcsv), the valid rows sent with one COPY into a temporary
// table, and the register changed by two statements, so that 2,400 rows
// take one transaction and a handful of round trips.
#include "tool_import.h"

#include "tool_migrate.h"
#include "tool_refcsv.h"
#include "tool_refdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct counties {
    char (*code)[TOOL_COUNTY_CODE_LEN + 1]; // sorted
    size_t n;
} counties;

static int
by_code(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool
county_listed(void *ctx, const char *code)
{
    const counties *c = ctx;
    return bsearch(code, c->code, c->n, sizeof c->code[0], by_code) != NULL;
}

// Every county code, sorted, into *out (the caller frees out->code).
static bool
load_counties(PGconn *conn, counties *out)
{
    PGresult *res =
        tool_db_query(conn, "read the counties", "SELECT code FROM county ORDER BY code", 0, NULL);
    if (res == NULL) {
        return false;
    }
    size_t n = (size_t) PQntuples(res);
    out->code = calloc(n + 1, sizeof out->code[0]);
    out->n = 0;
    for (size_t i = 0; out->code != NULL && i < n; i++) {
        int k = snprintf(out->code[out->n], sizeof out->code[0], "%s", PQgetvalue(res, (int) i, 0));
        out->n += k == TOOL_COUNTY_CODE_LEN; // county.code is char(4): always four
    }
    PQclear(res);
    if (out->code == NULL) {
        fprintf(stderr, "could not read the counties: out of memory\n");
        return false;
    }
    // ORDER BY follows the database's collation; bsearch needs strcmp's.
    qsort(out->code, out->n, sizeof out->code[0], by_code);
    return true;
}

// One row in COPY's text format. Texts hold no control character (checked),
// so only the backslash needs escaping.
static bool
copy_row(PGconn *conn, const tool_center_row *r, char *line, size_t cap)
{
    size_t used = 0;
    int n = snprintf(line, cap, "%ld\t%s\t", r->code, r->county);
    used = (size_t) n;
    const char *texts[2] = {r->neighbourhood, r->name};
    for (size_t t = 0; t < 2; t++) {
        for (const char *p = texts[t]; *p != '\0'; p++) {
            if (*p == '\\') {
                line[used++] = '\\';
            }
            line[used++] = *p;
        }
        line[used++] = '\t';
    }
    const char *active = r->active < 0 ? "\\N" : r->active ? "t" : "f";
    n = snprintf(line + used, cap - used, "%s\n", active);
    used += (size_t) n;
    return PQputCopyData(conn, line, (int) used) == 1;
}

static bool
copy_rows(PGconn *conn, const tool_center_row *rows, const bool *skip, size_t n)
{
    PGresult *res = PQexec(conn, "COPY center_import FROM STDIN");
    bool ok = PQresultStatus(res) == PGRES_COPY_IN;
    if (!ok) {
        fprintf(stderr, "could not load the rows: %s",
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    }
    PQclear(res);
    if (!ok) {
        return false;
    }
    // Twice the texts (every byte a backslash at worst) and the rest.
    char line[2 * (TOOL_CENTER_NAME_MAX_BYTES + TOOL_CENTER_NEIGHBOURHOOD_MAX_BYTES) + 64];
    for (size_t i = 0; i < n && ok; i++) {
        ok = skip[i] || copy_row(conn, &rows[i], line, sizeof line);
    }
    if (PQputCopyEnd(conn, ok ? NULL : "could not send a row") != 1) {
        ok = false;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "could not load the rows: %s",
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        ok = false;
    }
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(res);
    }
    return ok;
}

// The number of rows a command changed (PQcmdTuples), or -1 on failure.
static long
changed_rows(PGconn *conn, const char *what, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    long n = -1;
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        n = strtol(PQcmdTuples(res), NULL, 10);
    } else {
        fprintf(stderr, "could not %s: %s", what,
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    }
    PQclear(res);
    return n;
}

// clang-format off
// A row without "active" leaves an existing center's state alone; a new
// center is active unless its row says otherwise. Rows that would change
// nothing are not touched, so they write no audit row.
static const char UPDATE_SQL[] =
    "UPDATE center c SET county_code = i.county_code, neighbourhood = i.neighbourhood,"
    "                    name = i.name, active = coalesce(i.active, c.active)"
    " FROM center_import i"
    " WHERE c.code = i.code"
    "   AND (c.county_code, c.neighbourhood, c.name, c.active)"
    "       IS DISTINCT FROM (i.county_code, i.neighbourhood, i.name, coalesce(i.active, c.active))";
static const char INSERT_SQL[] =
    "INSERT INTO center (code, county_code, neighbourhood, name, active)"
    " SELECT i.code, i.county_code, i.neighbourhood, i.name, coalesce(i.active, true)"
    " FROM center_import i WHERE NOT EXISTS (SELECT 1 FROM center c WHERE c.code = i.code)"
    " ORDER BY i.code";
// clang-format on

// Applies the valid rows in one transaction; *added and *changed count
// what it did. Rolled back when dry_run.
static bool
apply_rows(PGconn *conn, const char *actor, const tool_center_row *rows, const bool *skip, size_t n,
           bool dry_run, long *added, long *changed)
{
    if (!tool_refdb_begin(conn, actor)) {
        return false;
    }
    // SHARE ROW EXCLUSIVE: centers added meanwhile (another import, centers
    // add) wait, so "added" and "changed" are decided on a register that
    // holds still; workers' reads do not wait.
    bool ok = tool_refdb_command(conn, "lock the center register",
                                 "LOCK TABLE center IN SHARE ROW EXCLUSIVE MODE", 0, NULL) &&
              tool_refdb_command(conn, "prepare the import",
                                 "CREATE TEMPORARY TABLE center_import (code integer PRIMARY KEY,"
                                 " county_code char(4) NOT NULL, neighbourhood text NOT NULL,"
                                 " name text NOT NULL, active boolean) ON COMMIT DROP",
                                 0, NULL) &&
              copy_rows(conn, rows, skip, n);
    *changed = ok ? changed_rows(conn, "update the centers", UPDATE_SQL) : -1;
    *added = *changed >= 0 ? changed_rows(conn, "add the centers", INSERT_SQL) : -1;
    ok = *added >= 0;
    bool ended = tool_refdb_end(conn, ok && !dry_run);
    return ok && ended;
}

static int
by_line(const void *a, const void *b)
{
    const tool_refusal *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

typedef struct import {
    tool_center_row *rows;
    tool_refusal *refused;
    bool *skip;
    size_t nrows, nrefused;
} import;

// Reads every record after the header into rows or refusals.
static bool
check_records(const char *data, size_t len, size_t *pos, size_t *line, char *scratch,
              const tool_center_columns *cols, counties *known, import *im)
{
    tool_csv_record rec;
    size_t cap = 1024;
    im->rows = malloc(cap * sizeof *im->rows);
    im->refused = malloc(cap * sizeof *im->refused);
    while (im->rows != NULL && im->refused != NULL &&
           tool_csv_next(data, len, pos, line, scratch, &rec)) {
        if (tool_csv_blank(&rec)) {
            continue;
        }
        if (im->nrows == cap || im->nrefused == cap) {
            cap *= 2;
            tool_center_row *rows = realloc(im->rows, cap * sizeof *rows);
            im->rows = rows != NULL ? rows : im->rows;
            tool_refusal *refused = realloc(im->refused, cap * sizeof *refused);
            im->refused = refused != NULL ? refused : im->refused;
            if (rows == NULL || refused == NULL) {
                fprintf(stderr, "could not check the file: out of memory\n");
                return false;
            }
        }
        if (tool_center_row_check(&rec, cols, county_listed, known, &im->rows[im->nrows],
                                  &im->refused[im->nrefused])) {
            im->nrows++;
        } else {
            im->nrefused++;
        }
    }
    if (im->rows == NULL || im->refused == NULL) {
        fprintf(stderr, "could not check the file: out of memory\n");
        return false;
    }
    // Room for a refusal per row: duplicates are added to the list.
    tool_refusal *all = im->refused != NULL && im->rows != NULL
                            ? realloc(im->refused, (im->nrefused + im->nrows + 1) * sizeof *all)
                            : NULL;
    im->refused = all != NULL ? all : im->refused;
    im->skip = calloc(im->nrows + 1, sizeof *im->skip);
    size_t dups = 0;
    if (all == NULL || im->skip == NULL ||
        !tool_center_rows_duplicates(im->rows, im->nrows, im->skip, im->refused + im->nrefused,
                                     &dups)) {
        fprintf(stderr, "could not check the file: out of memory\n");
        return false;
    }
    im->nrefused += dups;
    return true;
}

int
tool_centers_import(PGconn *conn, const char *actor, const char *path, bool dry_run)
{
    size_t len = 0, pos = 0, line = 1;
    char *data = tool_migrate_read_file(path, &len);
    char *scratch = data != NULL ? malloc(len + 1) : NULL;
    counties known = {0};
import im = {0 };
    int rc = TOOL_EXIT_USAGE;
    tool_csv_record rec;
    tool_center_columns cols;
    tool_refusal why;
    if (scratch == NULL || !load_counties(conn, &known)) {
        rc = data == NULL ? TOOL_EXIT_USAGE : TOOL_EXIT_REFUSED;
        goto done;
    }
    if (!tool_csv_next(data, len, &pos, &line, scratch, &rec)) {
        fprintf(stderr, "cannot import \"%s\": the file is empty\n", path);
        goto done;
    }
    if (!tool_center_header(&rec, &cols, &why)) {
        fprintf(stderr, "cannot import \"%s\": line %zu, %s: %s\n", path, why.line, why.field,
                why.reason);
        goto done;
    }
    rc = TOOL_EXIT_REFUSED;
    if (!check_records(data, len, &pos, &line, scratch, &cols, &known, &im)) {
        goto done;
    }
    size_t dups = 0;
    for (size_t i = 0; i < im.nrows; i++) {
        dups += im.skip[i];
    }
    long added = 0, changed = 0;
    if (im.nrows > dups &&
        !apply_rows(conn, actor, im.rows, im.skip, im.nrows, dry_run, &added, &changed)) {
        fprintf(stderr, "nothing was imported\n");
        goto done;
    }
    qsort(im.refused, im.nrefused, sizeof *im.refused, by_line);
    for (size_t i = 0; i < im.nrefused; i++) {
        printf("refused line %zu, %s: %s\n", im.refused[i].line, im.refused[i].field,
               im.refused[i].reason);
    }
    long unchanged = (long) (im.nrows - dups) - added - changed;
    printf("added %ld, changed %ld, unchanged %ld, refused %zu%s\n", added, changed, unchanged,
           im.nrefused, dry_run ? " (dry run: nothing was changed)" : "");
    rc = im.nrefused == 0 ? TOOL_EXIT_DONE : TOOL_EXIT_REFUSED;
done:
    free(im.skip);
    free(im.refused);
    free(im.rows);
    free(known.code);
    free(scratch);
    free(data);
    return rc;
}
