// Upgrading a database that holds referrals: migration 0003 backfills
// households, persons, deadlines and the new event columns, and history
// stays append-only afterwards; 0009 merges the spellings of one household
// without losing a referral or an event; 0012 keeps the organisation's
// deadlines as the county level and copies them for province offices.
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

// A new database `name` migrated up to migration `until` (no seeds),
// connected with search_path referral; args receives the migrate options
// that name it.
static PGconn *
database_at(const char *name, int until, char *args, size_t cap)
{
    const char *host = getenv("RR_IT_PGHOST");
    const char *dbdir = getenv("RR_DB_DIR");
    assert_non_null(host);
    assert_non_null(dbdir);
    char admin[600], conninfo[600], sql[200], extra[64];
    snprintf(admin, sizeof admin, "host=%s user=postgres dbname=postgres", host);
    snprintf(conninfo, sizeof conninfo, "host=%s user=postgres dbname=%s", host, name);
    PGconn *a = PQconnectdb(admin);
    assert_int_equal(PQstatus(a), CONNECTION_OK);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    it_db_exec(a, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    it_db_exec(a, sql);
    PQfinish(a);
    snprintf(args, cap, "--db '%s' --dir %s", conninfo, dbdir);
    snprintf(extra, sizeof extra, "--until %d --no-seed", until);
    assert_int_equal(migrate(getenv("RR_CTL_BIN"), extra, args), 0);
    PGconn *db = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    it_db_exec(db, "SET search_path = referral");
    return db;
}

static void
test_upgrading_a_database_with_referrals_backfills_the_household_files(void **state)
{
    (void) state;
    const char *ctl = getenv("RR_CTL_BIN");
    char args[1400];
    PGconn *db = database_at("it_upgrade", 2, args, sizeof args);
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
    // Household ids are kept canonically since 0009 (Latin case folded).
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM household WHERE id = 'h-941-1'"
                                  " AND center_code = 941",
                                  0, NULL),
                     1);
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM person WHERE household_id = 'h-941-1'", 0, NULL), 2);
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

// Issue 13's keyboard variants of one household id, as 0.3 stored them: one
// household each, with parallel open referrals.
static const char *const VARIANTS[] = {
    "آرش کریمی ۴۱",
    "آرش کریمی ۴۱ ",
    " آرش کریمی ۴۱",
    "آرش\u00a0کریمی ۴۱",
    "آرش کريمي ۴۱",
    "آرش كریمی ۴۱",
    "آرش کریمی 41",
    "آرش کریمی ٤١",
    "آرش کری\u200cمی ۴۱",
    "\u200bآرش کریمی ۴۱",
    "\ufeffآرش کریمی ۴۱",
    "\u200fآرش کریمی ۴۱",
    "\u0627\u0653رش کریمی ۴۱",
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static void
test_upgrading_variant_spellings_merges_households_and_keeps_every_referral(void **state)
{
    (void) state;
    const char *ctl = getenv("RR_CTL_BIN");
    char args[1400];
    PGconn *db = database_at("it_variants", 8, args, sizeof args);
    it_db_exec(db, "INSERT INTO province VALUES ('23', 'تهران', 'Tehran');"
                   "INSERT INTO county VALUES ('2301', '23', 'تهران', 'Tehran');"
                   "INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)"
                   " VALUES ('CO-2301', 'county', '23', '2301', 'اداره', 'Tehran office');"
                   "INSERT INTO service VALUES ('SOC-04', 'social', 'Home visit', 'بازدید'),"
                   " ('RHB-02', 'rehabilitation', 'Wheelchair', 'ویلچر');"
                   "INSERT INTO center (code, county_code, name, neighbourhood) VALUES"
                   " (941, '2301', 'a', 'نارمک'), (942, '2301', 'b', 'نارمك'),"
                   " (943, '2301', 'c', 'نارمک ');");
    // One household per spelling, each with an open home visit (0.3 allowed
    // it: the spellings differed), the first also completed one before; and
    // one person with an open wheelchair request under two households.
    for (size_t i = 0; i < N_VARIANTS; i++) {
        const char *params[2] = {VARIANTS[i], i == 0 ? "completed" : "requested"};
        assert_int_equal(it_db_scalar(db,
                                      "SELECT count(*) FROM (SELECT submit_referral("
                                      "gen_random_uuid(), 941, $1, '0012345679', 'SOC-04',"
                                      " 'social', 'routine', 'routine', '{}', '', 'CO-2301',"
                                      " NULL)) x",
                                      1, params),
                         1);
        if (i == 0) {
            it_db_exec(db, "UPDATE referral SET status = 'completed'");
        }
    }
    it_db_exec(db, "SELECT submit_referral(gen_random_uuid(), 941, 'H-1', '1234567891', 'RHB-02',"
                   " 'rehabilitation', 'routine', 'routine', '{}', '', 'CO-2301', NULL);"
                   "SELECT submit_referral(gen_random_uuid(), 941, 'H-2', '1234567891', 'RHB-02',"
                   " 'rehabilitation', 'routine', 'routine', '{}', '', 'CO-2301', NULL);");
    long long referrals = it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL);
    long long events = it_db_scalar(db, "SELECT count(*) FROM referral_event", 0, NULL);
    assert_int_equal(referrals, (long long) N_VARIANTS + 2);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM household", 0, NULL),
                     (long long) N_VARIANTS + 2);

    assert_int_equal(migrate(ctl, "", args), 0);
    it_db_exec(db, "SET search_path = referral");
    // Every referral is kept, each spelling is one household now.
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral", 0, NULL), referrals);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE household_id ="
                                  " 'آرش کریمی 41'",
                                  0, NULL),
                     (long long) N_VARIANTS);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM household", 0, NULL), 3);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM household_spelling", 0, NULL),
                     (long long) N_VARIANTS - 1 + 2); // all but the canonical one; H-1, H-2
    // No parallel work: one home visit stays open (the oldest open one), and
    // one wheelchair request; each other is cancelled with an event naming it.
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE referral_is_open(status)", 0, NULL),
        2);
    long long cancelled = (long long) N_VARIANTS - 2 + 1;
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event WHERE kind = 'cancel'"
                                  " AND actor = 'system' AND reason LIKE 'parallel referral: R-%'",
                                  0, NULL),
                     cancelled);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral_event", 0, NULL),
                     events + cancelled);
    // The person's file moved with the household.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM person WHERE national_id = '0012345679'"
                                  " AND household_id = 'آرش کریمی 41'",
                                  0, NULL),
                     1);
    // Scopes: home visits per household, wheelchairs per person.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE (service_code = 'SOC-04'"
                                  " AND scope = 'household') OR (service_code = 'RHB-02'"
                                  " AND scope = 'person')",
                                  0, NULL),
                     referrals);
    // The three spellings of one neighbourhood are one key.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(DISTINCT neighbourhood_key) FROM center"
                                  " WHERE code IN (941, 942, 943)",
                                  0, NULL),
                     1);
    // A new variant of the household finds the open home visit.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM submit_referral(gen_random_uuid(), 941,"
                                  " canonical_text('آرش كريمي 41'), '1234567891', 'SOC-04',"
                                  " 'household', 'social', 'routine', 'routine', '{}', '',"
                                  " 'CO-2301', NULL) WHERE duplicate",
                                  0, NULL),
                     1);
    // ... and, a duplicate, moves nobody: the person stays in h-2.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM person WHERE national_id = '1234567891'"
                                  " AND household_id = 'h-2'",
                                  0, NULL),
                     1);
    // A household id that is not canonical cannot be stored.
    PGresult *res = PQexec(db, "INSERT INTO household (id, center_code) VALUES ('H-9', 941)");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    assert_int_equal(migrate(ctl, "", args), 0);
    PQfinish(db);
}

// Migration 0012 keys priority_sla by owner level: the organisation's rows
// (edited, or partly missing) become the county level, the province level
// starts as a copy of them, and the seed fills only what is missing.
static void
test_upgrading_keeps_the_organisations_deadlines_for_county_and_province_offices(void **state)
{
    (void) state;
    const char *ctl = getenv("RR_CTL_BIN");
    char args[1400];
    PGconn *db = database_at("it_owner_sla", 10, args, sizeof args);
    it_db_exec(db, "INSERT INTO priority_sla (priority, accept_within) VALUES"
                   " ('stat', interval '2 hours'), ('routine', interval '12 days')");
    assert_int_equal(migrate(ctl, "", args), 0);
    it_db_exec(db, "SET search_path = referral");
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM priority_sla WHERE"
                                  " (priority, accept_within) IN (('stat', interval '2 hours'),"
                                  " ('routine', interval '12 days'), ('asap', interval '24 hours'),"
                                  " ('urgent', interval '3 days'))",
                                  0, NULL),
                     8); // four priorities at both levels, the edits at both
    assert_int_equal(it_db_scalar(db, "SELECT count(DISTINCT level) FROM priority_sla", 0, NULL),
                     2);
    // An office's level chooses its row; the old one-argument form is the
    // county's.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) WHERE accept_deadline_for('stat', 'PO-23') ="
                                  " now() + interval '2 hours' AND accept_deadline_for('stat')"
                                  " = now() + interval '2 hours' AND accept_deadline_for("
                                  "'routine', 'CO-2301') = now() + interval '12 days'",
                                  0, NULL),
                     1);
    // A province's edit is its own; re-seeding keeps it.
    it_db_exec(db, "UPDATE priority_sla SET accept_within = interval '1 hour'"
                   " WHERE priority = 'stat' AND level = 'province'");
    assert_int_equal(migrate(ctl, "", args), 0);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) WHERE accept_deadline_for('stat', 'PO-23') ="
                                  " now() + interval '1 hour' AND accept_deadline_for('stat',"
                                  " 'CO-2301') = now() + interval '2 hours'",
                                  0, NULL),
                     1);
    // A level that is not an office's is refused.
    PGresult *res = PQexec(db, "INSERT INTO priority_sla (priority, level, accept_within)"
                               " VALUES ('stat', 'national', interval '1 hour')");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    PQfinish(db);
}

// Upgrading a database that holds work through 0011 to 0013: a referral
// escalated before 0012 and still waiting gets the province office's own
// deadline, counted from its escalation (not the county's passed one); an
// open dead letter keeps its attempts and gains an empty cause.
static void
test_upgrading_gives_waiting_escalated_referrals_the_province_deadline(void **state)
{
    (void) state;
    char args[1400];
    PGconn *db = database_at("it_upgrade_work", 10, args, sizeof args);
    it_db_exec(db, "INSERT INTO province (code, name_fa, name_en) VALUES ('23', 't', 'Tehran');"
                   "INSERT INTO county (code, province_code, name_fa, name_en)"
                   " VALUES ('2301', '23', 't', 'Tehran');"
                   "INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)"
                   " VALUES ('CO-2301', 'county', '23', '2301', 'c', 'c'),"
                   " ('PO-23', 'province', '23', NULL, 'p', 'p');"
                   "INSERT INTO service (code, domain, name_en, name_fa)"
                   " VALUES ('SOC-03', 'social', 's', 's');"
                   "INSERT INTO center (code, county_code, name) VALUES (941, '2301', 'c941');"
                   "INSERT INTO household (id, center_code) VALUES ('h-941-a', 941);"
                   "INSERT INTO referral (id, request_id, center_code, household_id, national_id,"
                   " service_code, domain, priority, consent, office_code, status, created_at,"
                   " accept_deadline, escalated_at) OVERRIDING SYSTEM VALUE VALUES"
                   " (1, gen_random_uuid(), 941, 'h-941-a', '0012345679', 'SOC-03', 'social',"
                   " 'routine', true, 'PO-23', 'requested', now() - interval '12 days',"
                   " now() - interval '2 days', now() - interval '1 day'),"
                   " (2, gen_random_uuid(), 941, 'h-941-a', '1234567891', 'SOC-03', 'social',"
                   " 'routine', true, 'PO-23', 'accepted', now() - interval '12 days',"
                   " now() - interval '2 days', now() - interval '1 day');"
                   "INSERT INTO dead_letter (request_id, center_code, domain, service_code, body,"
                   " error_code, error_message, attempts)"
                   " VALUES (gen_random_uuid(), 941, 'social', 'SOC-03', '\\x00', 'EINTERNAL',"
                   " 'refused', 4)");
    assert_int_equal(migrate(getenv("RR_CTL_BIN"), "", args), 0);
    it_db_exec(db, "SET search_path = referral");
    // Waiting: ten days (routine, province level) from the escalation.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE id = 1"
                                  " AND accept_deadline = escalated_at + interval '10 days'",
                                  0, NULL),
                     1);
    // Accepted: nothing to wait for, left alone.
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE id = 2"
                                  " AND accept_deadline < now() - interval '1 day'",
                                  0, NULL),
                     1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM dead_letter WHERE attempts = 4"
                                  " AND cause = '' AND sqlstate IS NULL AND retried_by IS NULL",
                                  0, NULL),
                     1);
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
        cmocka_unit_test(
            test_upgrading_variant_spellings_merges_households_and_keeps_every_referral),
        cmocka_unit_test(
            test_upgrading_keeps_the_organisations_deadlines_for_county_and_province_offices),
        cmocka_unit_test(test_upgrading_gives_waiting_escalated_referrals_the_province_deadline),
        cmocka_unit_test(test_the_databases_notices_go_through_the_logger_not_raw_to_stderr),
    };
    return cmocka_run_group_tests_name("integration.migrate", tests, NULL, NULL);
}
