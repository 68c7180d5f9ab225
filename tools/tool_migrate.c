// Migrations and seeds over libpq. An advisory lock serialises concurrent
// runs; each migration commits with its schema_migrations row, so a failed
// one leaves nothing half-applied; a changed migration file is refused.
#define RR_LOG_MODULE "migrate"
#include "tool_migrate.h"

#include "rr_config.h"
#include "rr_log.h"
#include "wrk_pglog.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_BYTES (64L * 1024 * 1024)
#define LOCK_KEY       "7240115" // pg_advisory_lock key of referralctl migrate

char *
tool_migrate_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "could not open \"%s\": %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n > (size_t) MAX_FILE_BYTES) {
            fprintf(stderr, "file \"%s\" is too large (limit %ld bytes)\n", path, MAX_FILE_BYTES);
            free(buf);
            (void) fclose(f); // read only: nothing to lose
            return NULL;
        }
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                (void) fclose(f); // read only: nothing to lose
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    bool failed = ferror(f) != 0;
    (void) fclose(f); // read only: nothing to lose
    if (failed) {
        fprintf(stderr, "could not read \"%s\"\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

static bool
command_ok(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(res);
    bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok) {
        fprintf(stderr, "%s failed: %s", what, PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok;
}

static int
sql_file_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".sql") == 0 && d->d_name[0] >= '0' &&
           d->d_name[0] <= '9';
}

// Lists dir's NNNN_*.sql files in name order; the caller frees with free_list.
static int
list_sql(const char *dir, struct dirent ***names)
{
    int n = scandir(dir, names, sql_file_filter, alphasort);
    if (n < 0) {
        fprintf(stderr, "could not list \"%s\": %s\n", dir, strerror(errno));
    }
    return n;
}

static void
free_list(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

// Applies one migration unless recorded; refuses one whose text changed.
static int
apply_migration(PGconn *conn, const char *dir, const char *name, int *applied)
{
    char path[4096];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t) pn >= sizeof path) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        return -1;
    }
    char *end = NULL;
    long version = strtol(name, &end, 10);
    if (end == name || *end != '_') {
        fprintf(stderr, "migration \"%s\" must be named NNNN_what.sql\n", name);
        return -1;
    }
    char *sql = tool_migrate_read_file(path, NULL);
    if (sql == NULL) {
        return -1;
    }
    char vtext[24];
    int vn = snprintf(vtext, sizeof vtext, "%ld", version);
    (void) vn;
    const char *check_params[2] = {vtext, sql};
    PGresult *res = PQexecParams(conn,
                                 "SELECT checksum = md5($2) FROM schema_migrations "
                                 "WHERE version = $1::integer",
                                 2, NULL, check_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "could not read schema_migrations: %s", PQresultErrorMessage(res));
        PQclear(res);
        free(sql);
        return -1;
    }
    if (PQntuples(res) == 1) {
        bool same = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        free(sql);
        if (!same) {
            fprintf(stderr,
                    "cannot migrate: migration \"%s\" changed after it was applied; add a new "
                    "migration instead\n",
                    name);
            return -1;
        }
        return 0;
    }
    PQclear(res);
    int rc = -1;
    if (!command_ok(conn, "BEGIN", "BEGIN")) {
        goto done;
    }
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "migration \"%s\" failed: %s", name, PQresultErrorMessage(res));
        PQclear(res);
        if (!command_ok(conn, "ROLLBACK", "ROLLBACK")) {
            fprintf(stderr, "rollback failed too\n");
        }
        goto done;
    }
    PQclear(res);
    const char *ins_params[3] = {vtext, name, sql};
    res = PQexecParams(conn,
                       "INSERT INTO schema_migrations (version, name, checksum) "
                       "VALUES ($1::integer, $2, md5($3))",
                       3, NULL, ins_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "could not record migration \"%s\": %s", name, PQresultErrorMessage(res));
        PQclear(res);
        if (!command_ok(conn, "ROLLBACK", "ROLLBACK")) {
            fprintf(stderr, "rollback failed too\n");
        }
        goto done;
    }
    PQclear(res);
    if (!command_ok(conn, "COMMIT", "COMMIT")) {
        goto done;
    }
    printf("applied migration %s\n", name);
    (*applied)++;
    rc = 0;
done:
    free(sql);
    return rc;
}

// Declares referral.canonical_text(text) from the server module at module
// before any migration runs (0009 on use it), again on every run so that it
// follows the module when it moves (a package replacing a build tree).
// Needs a superuser, as every C function does.
static bool
declare_canonical_text(PGconn *conn, const char *module)
{
    char *quoted = PQescapeLiteral(conn, module, strlen(module));
    if (quoted == NULL) {
        fprintf(stderr, "could not quote --pg-module: %s", PQerrorMessage(conn));
        return false;
    }
    char sql[8192];
    int n = snprintf(sql, sizeof sql,
                     "CREATE OR REPLACE FUNCTION referral.canonical_text(text) RETURNS text"
                     " AS %s, 'referral_canonical_text'"
                     " LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE",
                     quoted);
    PQfreemem(quoted);
    if (n < 0 || (size_t) n >= sizeof sql) {
        fprintf(stderr, "--pg-module is too long\n");
        return false;
    }
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        fprintf(stderr,
                "could not declare referral.canonical_text from \"%s\": %s"
                "(the module comes with the package, or is db/ext/referral_text.so in a build "
                "tree: give --pg-module; migrations need a superuser)\n",
                module, PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok;
}

// Streams a CSV file into the temporary table county_csv with COPY.
static bool
copy_csv(PGconn *conn, const char *path)
{
    size_t len = 0;
    char *data = tool_migrate_read_file(path, &len);
    if (data == NULL) {
        return false;
    }
    bool ok = command_ok(conn,
                         "CREATE TEMP TABLE county_csv (province_code char(2), province_fa text,"
                         " province_en text, county_code char(4), county_fa text, county_en text)"
                         " ON COMMIT DROP",
                         "creating county_csv");
    if (ok) {
        PGresult *res = PQexec(conn, "COPY county_csv FROM STDIN WITH (FORMAT csv, HEADER true)");
        ok = PQresultStatus(res) == PGRES_COPY_IN;
        if (!ok) {
            fprintf(stderr, "COPY failed: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    if (ok) {
        // len fits an int: tool_migrate_read_file refuses files over MAX_FILE_BYTES.
        bool sent = PQputCopyData(conn, data, (int) len) == 1;
        // End the COPY in every case, or the connection stays in COPY_IN.
        if (PQputCopyEnd(conn, sent ? NULL : "could not send the file") != 1 || !sent) {
            fprintf(stderr, "COPY of \"%s\" failed: %s", path, PQerrorMessage(conn));
            ok = false;
        }
        PGresult *res;
        while ((res = PQgetResult(conn)) != NULL) {
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                fprintf(stderr, "COPY of \"%s\" failed: %s", path, PQresultErrorMessage(res));
                ok = false;
            }
            PQclear(res);
        }
    }
    free(data);
    return ok;
}

static bool
load_seeds(PGconn *conn, const char *seed_dir)
{
    char path[4096];
    int pn = snprintf(path, sizeof path, "%s/iran_counties.csv", seed_dir);
    if (pn < 0 || (size_t) pn >= sizeof path) {
        return false;
    }
    if (!command_ok(conn, "BEGIN", "BEGIN")) {
        return false;
    }
    // The reference-data audit (0011) records seeded rows as the seed's.
    bool ok =
        command_ok(conn, "SELECT set_config('referral.actor', 'referralctl migrate (seed)', true)",
                   "naming the seed's changes") &&
        copy_csv(conn, path);
    struct dirent **names = NULL;
    int n = ok ? list_sql(seed_dir, &names) : -1;
    ok = ok && n >= 0;
    for (int i = 0; ok && i < n; i++) {
        pn = snprintf(path, sizeof path, "%s/%s", seed_dir, names[i]->d_name);
        char *sql =
            (pn > 0 && (size_t) pn < sizeof path) ? tool_migrate_read_file(path, NULL) : NULL;
        ok = sql != NULL && command_ok(conn, sql, names[i]->d_name);
        free(sql);
    }
    if (n > 0) {
        free_list(names, n);
    }
    if (!ok) {
        if (!command_ok(conn, "ROLLBACK", "ROLLBACK")) {
            fprintf(stderr, "rollback failed too\n");
        }
        return false;
    }
    if (!command_ok(conn, "COMMIT", "COMMIT")) {
        return false;
    }
    PGresult *res = PQexec(conn, "SELECT (SELECT count(*) FROM province), (SELECT count(*) FROM "
                                 "county), (SELECT count(*) FROM office), (SELECT count(*) FROM "
                                 "service), (SELECT count(*) FROM center)");
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        printf("seeded: %s provinces, %s counties, %s offices, %s services, %s centers\n",
               PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
               PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    return true;
}

int
tool_migrate_main(int argc, char **argv)
{
    const char *db = NULL, *dir = NULL, *module = NULL;
    bool no_seed = false;
    long until = 0;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"dir", RR_OPT_STRING, "REFERRAL_DB_DIR", RR_DB_DIR_DEFAULT,
         "folder holding migrations/ and seed/ (db in a source tree)", &dir, 0, 0},
        {"pg-module", RR_OPT_STRING, "REFERRAL_PG_MODULE", "$libdir/referral_text",
         "the server module behind referral.canonical_text (db/ext; a build tree's "
         "db/ext/referral_text.so)",
         &module, 0, 0},
        {"no-seed", RR_OPT_FLAG, NULL, "0", "apply migrations only", &no_seed, 0, 0},
        {"until", RR_OPT_INT, NULL, "0", "apply migrations up to this version only (0: all)",
         &until, 0, 9999},
    };
    rr_status st = rr_config_parse("referralctl migrate",
                                   "referralctl migrate: apply db/migrations and load db/seed",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, NULL);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    if (st != RR_OK) {
        return 2;
    }
    // Before touching the database: a build-tree referralctl looks in the
    // install location by default, where nothing may be yet.
    char probe[4096];
    int probe_n = snprintf(probe, sizeof probe, "%s/migrations", dir);
    if (probe_n < 0 || (size_t) probe_n >= sizeof probe || access(probe, R_OK | X_OK) != 0) {
        fprintf(stderr,
                "cannot read the migrations in \"%s\": %s; give --dir (or REFERRAL_DB_DIR) "
                "the folder holding migrations/ and seed/: db in a source tree\n",
                probe, strerror(errno));
        return 2;
    }
    PGconn *conn = PQconnectdb(db);
    wrk_pglog_attach(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "could not connect to the database: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    int rc = 1;
    struct dirent **names = NULL;
    int n = -1;
    // PostgreSQL's notices ("already exists, skipping") go to the logger at
    // info, which referralctl shows with REFERRAL_LOG_LEVEL=info.
    if (!command_ok(conn, "SELECT pg_advisory_lock(" LOCK_KEY ")", "taking the migration lock") ||
        !command_ok(conn, "CREATE SCHEMA IF NOT EXISTS referral", "creating schema referral") ||
        !command_ok(conn, "SELECT pg_catalog.set_config('search_path', 'referral', false)",
                    "setting search_path") ||
        !command_ok(conn,
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                    " name text NOT NULL, checksum text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    "creating schema_migrations") ||
        !declare_canonical_text(conn, module)) {
        goto done;
    }
    char mdir[4096];
    int pn = snprintf(mdir, sizeof mdir, "%s/migrations", dir);
    if (pn < 0 || (size_t) pn >= sizeof mdir) {
        goto done;
    }
    n = list_sql(mdir, &names);
    if (n < 0) {
        goto done;
    }
    int applied = 0;
    int skipped = 0;
    for (int i = 0; i < n; i++) {
        if (until > 0 && strtol(names[i]->d_name, NULL, 10) > until) {
            skipped++;
            continue;
        }
        if (apply_migration(conn, mdir, names[i]->d_name, &applied) != 0) {
            goto done;
        }
    }
    printf("%d migration(s) applied, %d already present\n", applied, n - applied - skipped);
    if (!no_seed) {
        char sdir[4096];
        pn = snprintf(sdir, sizeof sdir, "%s/seed", dir);
        if (pn < 0 || (size_t) pn >= sizeof sdir || !load_seeds(conn, sdir)) {
            goto done;
        }
    }
    rc = 0;
done:
    if (n > 0) {
        free_list(names, n);
    }
    PQfinish(conn); // ends the session and with it the advisory lock
    return rc;
}
