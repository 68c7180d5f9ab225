// Upgrading a database that holds referrals: migration 0003 backfills
// households, persons, deadlines and the new event columns, and history
// stays append-only afterwards.
#include "it_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

// Runs "CTL migrate EXTRA ARGS" quietly and returns its exit status.
static int
migrate(const char *ctl, const char *extra, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s migrate %s %s >/dev/null", ctl, extra, args);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_upgrading_a_database_with_referrals_backfills_the_household_files(void **state)
{
    (void) state;
    const char *host = getenv("RR_IT_PGHOST");
    const char *ctl = getenv("RR_CTL_BIN");
    const char *dbdir = getenv("RR_DB_DIR");
    assert_non_null(host);
    assert_non_null(ctl);
    assert_non_null(dbdir);
    char admin[600], conninfo[600];
    snprintf(admin, sizeof admin, "host=%s user=postgres dbname=postgres", host);
    snprintf(conninfo, sizeof conninfo, "host=%s user=postgres dbname=it_upgrade", host);
    PGconn *a = PQconnectdb(admin);
    assert_int_equal(PQstatus(a), CONNECTION_OK);
    it_db_exec(a, "DROP DATABASE IF EXISTS it_upgrade WITH (FORCE)");
    it_db_exec(a, "CREATE DATABASE it_upgrade");
    PQfinish(a);

    char args[1400];
    snprintf(args, sizeof args, "--db '%s' --dir %s", conninfo, dbdir);
    assert_int_equal(migrate(ctl, "--until 2 --no-seed", args), 0);
    PGconn *db = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    it_db_exec(db, "SET search_path = referral");
    // A referral as the spine (migrations 1 and 2) recorded it.
    it_db_exec(db, "INSERT INTO province VALUES ('23', 'تهران', 'Tehran');"
                   "INSERT INTO county VALUES ('2301', '23', 'تهران', 'Tehran');"
                   "INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)"
                   " VALUES ('CO-2301', 'county', '23', '2301', 'اداره', 'Tehran office');"
                   "INSERT INTO service VALUES ('SOC-04', 'social', 'Home visit', 'بازدید');"
                   "INSERT INTO center (code, county_code, name) VALUES (941, '2301', 'c');"
                   "INSERT INTO referral (request_id, center_code, household_id, national_id,"
                   " service_code, domain, priority, consent, office_code)"
                   " VALUES ('5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59', 941, 'H-941-1',"
                   " '0012345679', 'SOC-04', 'social', 'stat', true, 'CO-2301');"
                   "INSERT INTO referral (request_id, center_code, household_id, national_id,"
                   " service_code, domain, priority, consent, office_code)"
                   " VALUES ('6f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59', 941, 'H-941-1',"
                   " '1234567891', 'SOC-04', 'social', 'routine', true, 'CO-2301');"
                   "INSERT INTO referral_event (referral_id, to_status, actor)"
                   " SELECT id, 'requested', 'center:941' FROM referral ORDER BY id");

    assert_int_equal(migrate(ctl, "", args), 0);
    it_db_exec(db, "SET search_path = referral");
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM household WHERE id = 'H-941-1'"
                                  " AND center_code = 941",
                                  0, NULL),
                     1);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM person WHERE household_id = 'H-941-1'", 0, NULL), 2);
    // Deadlines count from the upgrade, not from creation.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE accept_deadline >"
                                  " now() + interval '3 hours'",
                                  0, NULL),
                     2);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event WHERE office_code ="
                                  " 'CO-2301' AND center_code = 941 AND kind = 'submit'",
                                  0, NULL),
                     2);
    // The parallel referral is closed, with an event saying why; the first stays open.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE status = 'requested'"
                                  " AND national_id = '0012345679'",
                                  0, NULL),
                     1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event e JOIN referral r"
                                  " ON r.id = e.referral_id WHERE r.national_id = '1234567891'"
                                  " AND r.status = 'cancelled' AND e.kind = 'cancel'"
                                  " AND e.actor = 'system'",
                                  0, NULL),
                     1);
    // The history there is numbered for follow-up.
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral_event WHERE seq IS NULL", 0, NULL), 0);
    // History is append-only again.
    PGresult *res = PQexec(db, "UPDATE referral_event SET reason = 'rewritten'");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    // And migrating again changes nothing.
    assert_int_equal(migrate(ctl, "", args), 0);
    PQfinish(db);
}

static void
test_the_databases_notices_go_through_the_logger_not_raw_to_stderr(void **state)
{
    (void) state;
    const char *host = getenv("RR_IT_PGHOST");
    char out[8192];
    // Migrating an up-to-date database again: "CREATE TABLE IF NOT EXISTS"
    // makes PostgreSQL send a NOTICE, which libpq would print raw.
    assert_int_equal(it_run(out, sizeof out,
                            "REFERRAL_LOG_LEVEL=info %s migrate --no-seed --db 'host=%s "
                            "user=postgres dbname=it_upgrade' --dir %s >/dev/null",
                            getenv("RR_CTL_BIN"), host, getenv("RR_DB_DIR")),
                     0);
    assert_non_null(strstr(out, " info  referralctl["));
    assert_non_null(strstr(out, "] postgres: NOTICE: relation \"schema_migrations\" already "
                                "exists, skipping (SQLSTATE 42P07)\n"));
    assert_null(strstr(out, "NOTICE:  ")); // libpq's own format, never
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrading_a_database_with_referrals_backfills_the_household_files),
        cmocka_unit_test(test_the_databases_notices_go_through_the_logger_not_raw_to_stderr),
    };
    return cmocka_run_group_tests_name("integration.migrate", tests, NULL, NULL);
}
