// Reference data without SQL: the real referralctl on the test's own
// database (seeded geography, offices, services and demo centers). Each
// command and each of its refusals, the audit with its actor, the
// referral_admin role, a 2,400-row register imported twice, catalogue
// notifications, and route explain refusing what a submission refuses.
// Long on purpose: one case per command, all on one seeded database.
#include "it_harness.h"

// cmocka.h needs these first.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static it_stack stack;
static PGconn *db;

typedef struct ctl_run {
    int status; // exit status, or -1 when it did not exit normally
    char out[65536];
    char err[8192];
} ctl_run;

static ctl_run run;

static void
read_all(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t got = 1; got > 0 && n + 1 < cap; n += got) {
        got = fread(buf + n, 1, cap - 1 - n, f);
    }
    buf[n] = '\0';
}

// Runs "ENV referralctl ARGS --db CONNINFO" (env: variable assignments or
// "") and fills run.
static void __attribute__((format(printf, 3, 4)))
ctl_as(const char *env, const char *conninfo, const char *fmt, ...)
{
    const char *bin = getenv("RR_CTL_BIN");
    assert_non_null(bin);
    char args[2048], errpath[600], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    // clang 14 misreads va_start in a static variadic function it inlines.
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t) n < sizeof args);
    n = snprintf(errpath, sizeof errpath, "%s/refdata.stderr", stack.logdir);
    assert_true(n > 0 && (size_t) n < sizeof errpath);
    n = snprintf(cmd, sizeof cmd, "%s '%s' %s --db '%s' 2>'%s'", env, bin, args, conninfo, errpath);
    assert_true(n > 0 && (size_t) n < sizeof cmd);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    read_all(p, run.out, sizeof run.out);
    int ws = pclose(p);
    run.status = ws != -1 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    FILE *e = fopen(errpath, "r");
    assert_non_null(e);
    read_all(e, run.err, sizeof run.err);
    (void) fclose(e); // read only: nothing to lose
}

#define ctl(...) ctl_as("REFERRAL_ACTOR=tester", stack.conninfo, __VA_ARGS__)

static long long
scalar(const char *sql)
{
    return it_db_scalar(db, sql, 0, NULL);
}

static void
expect(int status, const char *out, const char *err)
{
    if (run.status != status || (out != NULL && strcmp(run.out, out) != 0) ||
        (err != NULL && strcmp(run.err, err) != 0)) {
        fprintf(stderr, "status %d\nstdout:\n%s\nstderr:\n%s\n", run.status, run.out, run.err);
    }
    assert_int_equal(run.status, status);
    if (out != NULL) {
        assert_string_equal(run.out, out);
    }
    if (err != NULL) {
        assert_string_equal(run.err, err);
    }
}

static int
setup(void **state)
{
    (void) state;
    it_stack_init(&stack, "refdata", 20);
    db = it_db(&stack);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    PQfinish(db);
    return it_stack_stop(&stack) ? 0 : -1;
}

static void
test_centers_add_list_deactivate_and_activate_each_recorded_with_its_actor(void **state)
{
    (void) state;
    ctl_as("", stack.conninfo,
           "centers add --code 7001 --county 2301 --name 'مرکز ۷۰۰۱'"
           " --neighbourhood 'نارمک، شرقی' --by alice");
    expect(0, "center 7001 added in county 2301\n", "");
    ctl("centers list --county 2301 --format csv");
    expect(0,
           "code,county,province,county_name,neighbourhood,name,active\r\n"
           "941,2301,23,Tehran,Narmak,\"Positive Life Center 941 (Tehran, Narmak)\",t\r\n"
           "7001,2301,23,Tehran,نارمک، شرقی,مرکز ۷۰۰۱,t\r\n", // an Arabic comma needs no quotes
           "");
    ctl("centers add --code 7001 --county 2301 --name again");
    expect(1, "", "center \"7001\" already exists\n");
    ctl("centers add --code 7002 --county 9999 --name x");
    expect(1, "", "invalid --county: unrecognized county \"9999\"\n");
    ctl("centers add --code 7002 --county 2301 --name 'bad \xE2\x80\xAE name'");
    expect(1, "", "invalid --name: holds a bidi embedding, override or isolate character\n");
    ctl("centers deactivate ۷۰۰۱"); // Persian digits, as typed
    expect(0, "center 7001 is now inactive\n", "");
    ctl("centers deactivate 7001");
    expect(0, "center 7001 is already inactive: nothing changed\n", "");
    ctl("centers list --county 2301 --format csv");
    assert_null(strstr(run.out, "7001"));
    ctl("centers list --county 2301 --all --format csv");
    assert_non_null(strstr(run.out, "\r\n7001,2301,23,Tehran,نارمک، شرقی,مرکز ۷۰۰۱,f\r\n"));
    ctl("centers activate 7001 --by carol");
    expect(0, "center 7001 is now active\n", "");
    ctl("centers activate 7099");
    expect(1, "", "unrecognized center \"7099\"\n");
    ctl("centers list --county 2301 --province 10");
    expect(1, "", "county \"2301\" is not in province \"10\"\n");

    // Who and how: the --by name, else REFERRAL_ACTOR; the database role.
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'center'"
                            " AND key = '7001'"),
                     3);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'center'"
                            " AND key = '7001' AND action = 'insert' AND actor = 'alice'"
                            " AND db_role = 'postgres' AND before IS NULL"
                            " AND after ->> 'name' = 'مرکز ۷۰۰۱'"),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE key = '7001'"
                            " AND action = 'update' AND actor = 'tester'"
                            " AND before -> 'active' = 'true' AND after -> 'active' = 'false'"),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE key = '7001'"
                            " AND action = 'update' AND actor = 'carol'"
                            " AND after -> 'active' = 'true'"),
                     1);
    ctl("reference-log --entity center --key 7001 --format csv");
    expect(0, NULL, "");
    assert_non_null(
        strstr(run.out, ",tester,postgres,center,7001,update,active: true -> false\r\n"));
    assert_non_null(
        strstr(run.out, ",carol,postgres,center,7001,update,active: false -> true\r\n"));
    // Append-only.
    PGresult *res = PQexec(db, "DELETE FROM reference_change");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
    PQclear(res);
}

static void
test_route_explain_refuses_an_inactive_center_and_a_withdrawn_service_as_a_submission_does(
    void **state)
{
    (void) state;
    ctl("route explain --center 941 --service SOC-04");
    expect(0, NULL, "");
    assert_non_null(strstr(run.out, "destination: CO-2301 "));
    ctl("centers deactivate 941");
    expect(0, NULL, "");
    ctl("route explain --center 941 --service SOC-04");
    expect(1, "",
           "ESTATE center_code: cannot accept requests from center \"941\": it is inactive\n");
    ctl("centers activate 941");
    ctl("services deactivate soc-04");
    expect(0, "service SOC-04 is now inactive\n", "");
    ctl("route explain --center 941 --service SOC-04");
    expect(1, "",
           "ESTATE service_code: cannot accept service \"SOC-04\": it is withdrawn from the "
           "catalogue\n");
    ctl("services activate SOC-04");
    expect(0, "service SOC-04 is now active\n", "");
    ctl("route explain --center 941 --service SOC-04");
    expect(0, NULL, "");
}

static void
test_services_add_refuses_a_code_whose_prefix_is_not_its_domain_and_scope_changes(void **state)
{
    (void) state;
    ctl("services add --code SOC-12 --domain prevention --name-en Test --name-fa تست");
    expect(2, "",
           "service code \"SOC-12\" does not match domain \"prevention\": its prefix names domain "
           "\"social\"\n");
    ctl("services add --code XYZ-01 --name-en Test --name-fa تست");
    expect(2, "",
           "invalid service code \"XYZ-01\": it must start with PRV- (prevention), RHB- "
           "(rehabilitation) or SOC- (social)\n");
    ctl("services add --code SOC-01 --name-en Again --name-fa دوباره");
    expect(1, "", "service \"SOC-01\" already exists\n");
    ctl("services add --code soc-12 --name-en 'Family mediation' --name-fa 'میانجی‌گری "
        "خانواده'"
        " --scope household");
    expect(0, "service SOC-12 added (social, per household)\n", "");
    ctl("services scope SOC-12 person");
    expect(0, "service SOC-12 is now per person\n", "");
    ctl("services scope SOC-12 person");
    expect(0, "service SOC-12 is already per person: nothing changed\n", "");
    ctl("services scope SOC-12 family");
    expect(2, "", "invalid scope \"family\": expected person or household\n");
    ctl("services list --format csv");
    expect(0, NULL, "");
    assert_non_null(strstr(
        run.out,
        "\r\nSOC-12,social,person,Family mediation,میانجی‌گری خانواده,t\r\n"));
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'service'"
                            " AND key = 'SOC-12' AND actor = 'tester'"),
                     2);
}

static void
test_routing_rules_are_checked_against_offices_areas_services_and_each_other(void **state)
{
    (void) state;
    // Valid: county 2301 (Tehran) to CO-2302, an office in the same province.
    ctl("rules add --service SOC-03 --county 2301 --office co-2302 --note 'capacity'");
    expect(0, NULL, "");
    long long id = scalar("SELECT max(id) FROM routing_rule");
    char want[256];
    (void) snprintf(
        want, sizeof want,
        "routing rule %lld added: service SOC-03, province any, county 2301, priority any "
        "-> CO-2302\n",
        id);
    assert_string_equal(run.out, want);
    ctl("route explain --center 941 --service SOC-03");
    expect(0, NULL, "");
    assert_non_null(strstr(run.out, "destination: CO-2302 "));

    ctl("rules add --service SOC-04 --county 2301 --office CO-1002");
    expect(1, "",
           "cannot add the rule (--office): office \"CO-1002\" is in province \"10\", not in "
           "province \"23\" of the rule's county \"2301\" (add --cross-province if that is "
           "intended)\n");
    ctl("rules add --service SOC-04 --province 23 --office PO-10");
    expect(1, "",
           "cannot add the rule (--office): office \"PO-10\" is in province \"10\", not in the "
           "rule's province \"23\" (add --cross-province if that is intended)\n");
    ctl("rules add --service SOC-04 --county 2301 --office CO-9999");
    expect(1, "", "cannot add the rule (--office): office \"CO-9999\" does not exist\n");
    it_db_exec(db, "UPDATE office SET active = false WHERE code = 'CO-2303'");
    ctl("rules add --service SOC-04 --county 2301 --office CO-2303");
    expect(1, "", "cannot add the rule (--office): office \"CO-2303\" is inactive\n");
    it_db_exec(db, "UPDATE office SET active = true WHERE code = 'CO-2303'");
    ctl("rules add --service SOC-99 --county 2301 --office CO-2301");
    expect(1, "", "cannot add the rule (--service): unrecognized service \"SOC-99\"\n");
    ctl("rules add --service SOC-04 --county 2301 --province 10 --office CO-2301");
    expect(1, "",
           "cannot add the rule (--county): county \"2301\" is not in province \"10\" (it is in "
           "province \"23\")\n");
    ctl("rules add --service SOC-04 --county 9999 --office CO-2301");
    expect(1, "", "cannot add the rule (--county): county \"9999\" does not exist\n");
    ctl("rules add --service SOC-03 --county 2301 --office CO-2303");
    (void) snprintf(
        want, sizeof want,
        "cannot add the rule: rule %lld already covers the same service, province, county "
        "and priority (it sends them to CO-2302): remove it first\n",
        id);
    expect(1, "", want);
    ctl("rules add --service SOC-04 --priority soon --office CO-2301 --county 2301");
    expect(2, "",
           "cannot add the rule (--priority): invalid priority \"soon\": expected routine, "
           "urgent, asap or stat\n");
    ctl("rules add --service SOC-04 --office CO-2301");
    expect(1, "",
           "cannot add the rule (--office): a rule without a county or province covers every "
           "province: add --cross-province to send it all to office \"CO-2301\"\n");
    ctl("rules add --service SOC-04 --county 2301 --office CO-1002 --cross-province");
    expect(0, NULL, "");
    assert_int_equal(scalar("SELECT count(*) FROM routing_rule WHERE active"), 2);

    ctl("rules list --format csv");
    expect(0, NULL, "");
    (void) snprintf(want, sizeof want, "\r\n%lld,SOC-03,any,2301,any,CO-2302,23,t,t,capacity\r\n",
                    id);
    assert_non_null(strstr(run.out, want));
    ctl("rules remove %lld --by dana", id);
    (void) snprintf(want, sizeof want, "routing rule %lld removed\n", id);
    expect(0, want, "");
    ctl("rules remove %lld", id);
    (void) snprintf(want, sizeof want,
                    "unrecognized routing rule \"%lld\" (or it is removed already)\n", id);
    expect(1, "", want);
    ctl("route explain --center 941 --service SOC-03");
    assert_non_null(strstr(run.out, "destination: CO-2301 "));
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'routing_rule'"
                            " AND action = 'update' AND actor = 'dana'"
                            " AND after -> 'active' = 'false'"),
                     1);
}

static void
test_risk_rules_take_known_flags_in_one_spelling_and_are_removed_by_id(void **state)
{
    (void) state;
    ctl("rules add --risk domestic_violence,child_at_risk --min-priority stat --note both");
    expect(0, NULL, "");
    long long id = scalar("SELECT id FROM risk_priority_rule"
                          " WHERE flags = '{child_at_risk,domestic_violence}'");
    char want[256];
    (void) snprintf(want, sizeof want,
                    "risk rule %lld added: {child_at_risk,domestic_violence} -> at least stat\n",
                    id);
    assert_string_equal(run.out, want);
    ctl("rules add --risk child_at_risk,domestic_violence --min-priority asap");
    (void) snprintf(want, sizeof want,
                    "cannot add the rule (--risk): risk rule %lld already has flags "
                    "{child_at_risk,domestic_violence}\n",
                    id);
    expect(1, "", want);
    ctl("rules add --risk addiction,poverty --min-priority stat");
    expect(2, "", "cannot add the rule (--risk): unrecognized risk flag \"poverty\"\n");
    ctl("rules add --risk addiction --min-priority soon");
    expect(2, "",
           "cannot add the rule (--min-priority): invalid priority \"soon\": expected routine, "
           "urgent, asap or stat\n");
    ctl("rules list --risk --format csv");
    (void) snprintf(want, sizeof want, "\r\n%lld,\"child_at_risk,domestic_violence\",stat,both\r\n",
                    id);
    assert_non_null(strstr(run.out, want));
    ctl("rules remove --risk %lld", id);
    (void) snprintf(want, sizeof want, "risk rule %lld removed\n", id);
    expect(0, want, "");
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity ="
                            " 'risk_priority_rule' AND action = 'delete' AND after IS NULL"
                            " AND before ->> 'min_priority' = 'stat'"),
                     1);
}

static void
test_offices_add_and_deactivation_is_refused_while_rules_or_centers_send_work(void **state)
{
    (void) state;
    it_db_exec(db, "INSERT INTO county VALUES ('2399', '23', 'آزمایشی', 'Trial')");
    ctl("offices add --code co-2399 --name-fa 'اداره آزمایشی' --name-en 'Trial Office'");
    expect(0, "office CO-2399 added (county office)\n", "");
    assert_int_equal(scalar("SELECT count(*) FROM office WHERE code = 'CO-2399' AND kind ="
                            " 'county' AND province_code = '23' AND county_code = '2399'"),
                     1);
    ctl("offices add --code CO-2399 --name-fa a --name-en b");
    expect(1, "", "office \"CO-2399\" already exists\n");
    ctl("offices add --code CO-2398 --name-fa a --name-en b");
    expect(1, "", "cannot add office \"CO-2398\": county \"2398\" does not exist\n");
    ctl("offices add --code PO-99 --name-fa a --name-en b");
    expect(1, "", "cannot add office \"PO-99\": province \"99\" does not exist\n");
    ctl("offices add --code XO-23 --name-fa a --name-en b");
    expect(2, "",
           "invalid office code \"XO-23\": expected CO-<four-digit county> or PO-<two-digit "
           "province>\n");

    ctl("rules add --service SOC-05 --county 2301 --office CO-2399");
    expect(0, NULL, "");
    long long id = scalar("SELECT max(id) FROM routing_rule");
    ctl("offices deactivate CO-2399");
    char want[256];
    (void) snprintf(
        want, sizeof want,
        "cannot deactivate office \"CO-2399\": active routing rule %lld sends requests to it "
        "(remove them first, or --force)\n",
        id);
    expect(1, "", want);
    ctl("offices deactivate CO-2301");
    expect(1, "",
           "cannot deactivate office \"CO-2301\": 2 active center(s) of its county send requests "
           "to it when no rule matches (add rules for them first, or --force)\n");
    ctl("offices deactivate CO-2399 --force");
    expect(0, "office CO-2399 is now inactive\n", NULL);
    ctl("route explain --center 941 --service SOC-05"); // the rule is passed over
    assert_non_null(strstr(run.out, "destination: CO-2301 "));
    ctl("offices list --county 2399 --all --format csv");
    (void) snprintf(want, sizeof want,
                    "code,kind,province,county,name_en,name_fa,active,rules\r\n"
                    "CO-2399,county,23,2399,Trial Office,اداره آزمایشی,f,1\r\n");
    expect(0, want, "");
    ctl("offices activate CO-2399");
    expect(0, "office CO-2399 is now active\n", "");
}

// A CSV file in the test's log folder.
static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void
test_import_applies_valid_rows_and_lists_each_refused_row_with_line_field_and_reason(void **state)
{
    (void) state;
    char path[600];
    (void) snprintf(path, sizeof path, "%s/refdata-bad.csv", stack.logdir);
    write_file(path, "code,county,neighbourhood,name,active\r\n"
                     "8001,2301,\"نارمک، شرقی\",\"مرکز \"\"امید\"\"\",true\r\n"
                     "8002,9999,x,y,\r\n"
                     "8003,2301,x,,\r\n"
                     "80a4,2301,x,y,\r\n"
                     "8005,2301,x,\"مرکز \xE2\x80\xAEمثبت\",\r\n"
                     "8006,2301,x,y\r\n"
                     "8001,1002,x,z,\r\n"
                     "8007,1002,\"a\xff\",y,\r\n"
                     "8008,۱۰۰۲,جلفا,مرکز ۸۰۰۸,false\r\n");
    const char *refused = "refused line 2, code: duplicate code \"8001\" in the file (also on "
                          "line 8)\n"
                          "refused line 3, county: unrecognized county \"9999\"\n"
                          "refused line 4, name: is empty\n"
                          "refused line 5, code: invalid center code \"80A4\": expected a "
                          "number from 1 to 2147483647\n"
                          "refused line 6, name: holds a bidi embedding, override or isolate "
                          "character\n"
                          "refused line 7, row: has 4 fields, expected 5\n"
                          "refused line 8, code: duplicate code \"8001\" in the file (also on "
                          "line 2)\n"
                          "refused line 9, neighbourhood: is not valid UTF-8\n";
    char want[2048];
    long long audit = scalar("SELECT count(*) FROM reference_change");
    ctl("centers import '%s' --dry-run", path);
    (void) snprintf(want, sizeof want,
                    "%sadded 1, changed 0, unchanged 0, refused 8 (dry run: nothing "
                    "was changed)\n",
                    refused);
    expect(1, want, "");
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code >= 8000"), 0);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change"), audit);
    ctl("centers import '%s'", path);
    (void) snprintf(want, sizeof want, "%sadded 1, changed 0, unchanged 0, refused 8\n", refused);
    expect(1, want, "");
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code >= 8000"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code = 8008 AND county_code ="
                            " '1002' AND name = 'مرکز ۸۰۰۸' AND NOT active"),
                     1);

    (void) snprintf(path, sizeof path, "%s/refdata-header.csv", stack.logdir);
    write_file(path, "code,county,name\n1,2301,x\n");
    ctl("centers import '%s'", path);
    char err[1024];
    (void) snprintf(err, sizeof err,
                    "cannot import \"%s\": line 1, header: column \"neighbourhood\" is missing\n",
                    path);
    expect(2, "", err);
}

static void
test_a_register_of_2400_centers_imports_in_seconds_and_a_second_run_changes_nothing(void **state)
{
    (void) state;
    // Real county codes, names with commas and quotes in Persian.
    PGresult *res = PQexec(db, "SELECT code FROM county ORDER BY code");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    int ncounties = PQntuples(res);
    assert_int_equal(ncounties, 480); // 479 seeded, 2399 added above
    char path[600];
    (void) snprintf(path, sizeof path, "%s/refdata-2400.csv", stack.logdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs("code,county,neighbourhood,name\n", f) >= 0);
    for (int i = 0; i < 2400; i++) {
        assert_true(fprintf(f, "%d,%s,\"محله %d، بلوک \"\"الف\"\"\",مرکز مثبت زندگی %d\n",
                            100000 + i, PQgetvalue(res, i % ncounties, 0), i, 100000 + i) > 0);
    }
    assert_int_equal(fclose(f), 0);
    PQclear(res);

    long long started = it_now_ms();
    ctl("centers import '%s'", path);
    long long took = it_now_ms() - started;
    expect(0, "added 2400, changed 0, unchanged 0, refused 0\n", "");
    assert_true(took < 10000);
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code >= 100000 AND active"), 2400);
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code = 100007"
                            " AND neighbourhood = 'محله 7، بلوک \"الف\"'"),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'center'"
                            " AND action = 'insert' AND actor = 'tester'"
                            " AND key ~ '^1[0-9]{5}$'"),
                     2400);

    long long audit = scalar("SELECT count(*) FROM reference_change");
    ctl("centers import '%s'", path);
    expect(0, "added 0, changed 0, unchanged 2400, refused 0\n", "");
    assert_int_equal(scalar("SELECT count(*) FROM reference_change"), audit);

    // One center renamed, one deactivated elsewhere: a file without the
    // active column changes only the name.
    it_db_exec(db, "UPDATE center SET name = 'old', active = false WHERE code IN (100001, 100002)");
    audit = scalar("SELECT count(*) FROM reference_change");
    ctl("centers import '%s'", path);
    expect(0, "added 0, changed 2, unchanged 2398, refused 0\n", "");
    assert_int_equal(scalar("SELECT count(*) FROM center WHERE code IN (100001, 100002)"
                            " AND name LIKE 'مرکز%' AND NOT active"),
                     2);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change"), audit + 2);
}

static void
test_every_table_the_commands_change_notifies_the_workers(void **state)
{
    (void) state;
    it_db_exec(db, "LISTEN referral_catalog");
    const char *commands[] = {
        "centers deactivate 5165",
        "offices deactivate PO-07 --force",
        "services deactivate PRV-07",
        "rules add --risk addiction,disability --min-priority urgent",
        "rules add --service PRV-07 --province 07 --office PO-07",
    };
    const char *tables[] = {"center", "office", "service", "risk_priority_rule", "routing_rule"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (i == 4) {
            ctl("offices activate PO-07");
            ctl("services activate PRV-07");
            while (PQconsumeInput(db) == 1) {
                PGnotify *n = PQnotifies(db);
                if (n == NULL) {
                    break;
                }
                PQfreemem(n);
            }
        }
        ctl("%s", commands[i]);
        expect(0, NULL, NULL);
        // The notification arrives with the commit: poll with a deadline.
        bool seen = false;
        for (long long end = it_now_ms() + 5000; !seen && it_now_ms() < end;) {
            assert_int_equal(PQconsumeInput(db), 1);
            PGnotify *n = PQnotifies(db);
            if (n == NULL) {
                it_sleep_ms(20);
                continue;
            }
            seen = strcmp(n->extra, tables[i]) == 0;
            PQfreemem(n);
        }
        assert_true(seen);
    }
    it_db_exec(db, "UNLISTEN referral_catalog");
}

static void
test_referral_admin_may_change_reference_data_and_nothing_else(void **state)
{
    (void) state;
    it_db_exec(db, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                   " 'rr_test_admin') THEN CREATE ROLE rr_test_admin LOGIN IN ROLE"
                   " referral_admin; END IF; END $$");
    char conninfo[800];
    (void) snprintf(conninfo, sizeof conninfo, "%s user=rr_test_admin", stack.conninfo);
    ctl_as("", conninfo, "centers add --code 9101 --county 0105 --name 'Admin center' --by erin");
    expect(0, "center 9101 added in county 0105\n", "");
    ctl_as("", conninfo, "rules add --service SOC-07 --county 0105 --office CO-0105 --by erin");
    expect(0, NULL, "");
    ctl_as("", conninfo, "rules remove --risk 1 --by erin");
    expect(0, "risk rule 1 removed\n", "");
    ctl_as("", conninfo, "offices deactivate CO-0105 --force --by erin");
    expect(0, "office CO-0105 is now inactive\n", NULL);
    ctl_as("", conninfo, "reference-log --entity center --key 9101 --format csv");
    expect(0, NULL, "");
    assert_non_null(strstr(run.out, ",erin,rr_test_admin,center,9101,insert,"));

    PGconn *admin = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    const char *refused[] = {
        "SELECT count(*) FROM referral.referral",
        "SELECT count(*) FROM referral.person",
        "UPDATE referral.reference_change SET actor = 'nobody'",
        // The audit is the triggers' to write: no row of one's own.
        "INSERT INTO referral.reference_change (actor, db_role, entity, key, action, after)"
        " VALUES ('erin', 'postgres', 'center', '1', 'insert', '{}')",
        "DELETE FROM referral.center WHERE code = 9101",
        "DELETE FROM referral.routing_rule",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        PGresult *res = PQexec(admin, refused[i]);
        assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
        assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501");
        PQclear(res);
    }
    PQfinish(admin);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_centers_add_list_deactivate_and_activate_each_recorded_with_its_actor),
        cmocka_unit_test(
            test_route_explain_refuses_an_inactive_center_and_a_withdrawn_service_as_a_submission_does),
        cmocka_unit_test(
            test_services_add_refuses_a_code_whose_prefix_is_not_its_domain_and_scope_changes),
        cmocka_unit_test(
            test_routing_rules_are_checked_against_offices_areas_services_and_each_other),
        cmocka_unit_test(test_risk_rules_take_known_flags_in_one_spelling_and_are_removed_by_id),
        cmocka_unit_test(
            test_offices_add_and_deactivation_is_refused_while_rules_or_centers_send_work),
        cmocka_unit_test(
            test_import_applies_valid_rows_and_lists_each_refused_row_with_line_field_and_reason),
        cmocka_unit_test(
            test_a_register_of_2400_centers_imports_in_seconds_and_a_second_run_changes_nothing),
        cmocka_unit_test(test_every_table_the_commands_change_notifies_the_workers),
        cmocka_unit_test(test_referral_admin_may_change_reference_data_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
