// referralctl's reports against a known data set: the real binary, run
// with --db on the test's own database, its output compared to the letter.
// No broker or workers: the rows are inserted directly.
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

static it_stack stack;
static PGconn *db;

// Household H-941-A (center 941, county 2301, province 23) with two members
// and one referral in each domain; H-941-B beside it. Need-finding rows
// from April 2025 in counties 2301 (Narmak) and 2302 (a Persian-named
// neighbourhood of center 942, added here). Center 1924 (county 1002,
// province 10): one referral past its deadline, one escalated and accepted
// by the province office, one not yet due, one escalated and completed.
// Open rows that must not be overdue get a deadline in 2099.
// clang-format off
static const char FIXTURE_SQL[] =
    "INSERT INTO center (code, county_code, neighbourhood, name) VALUES\n"
    "    (942, '2302', 'گیلاوند',\n"
    "     'Positive Life Center 942 (Damavand, Gilavand)'),\n"
    "    (943, '2303', 'نارمک', 'c943'), (944, '2303', 'نارمك', 'c944'),\n"
    "    (945, '2303', 'نارمک ', 'c945');\n"
    "INSERT INTO referral\n"
    "    (id, request_id, center_code, household_id, national_id, service_code, domain, priority,\n"
    "     consent, office_code, status, created_at, accept_deadline, escalated_at)\n"
    "OVERRIDING SYSTEM VALUE VALUES\n"
    "    (9001, gen_random_uuid(), 941, 'h-941-a', '0012345679',\n"
    "     'SOC-03', 'social', 'routine', true, 'CO-2301', 'completed',\n"
    "     '2025-01-10T09:00Z', '2025-01-20T09:00Z', NULL),\n"
    "    (9002, gen_random_uuid(), 941, 'h-941-a', '1234567891',\n"
    "     'PRV-04', 'prevention', 'urgent', true, 'CO-2301', 'accepted',\n"
    "     '2025-02-01T09:00Z', '2025-02-04T09:00Z', NULL),\n"
    "    (9003, gen_random_uuid(), 941, 'h-941-a', '0012345679',\n"
    "     'RHB-02', 'rehabilitation', 'stat', true, 'CO-2301', 'requested',\n"
    "     '2025-03-01T09:00Z', '2025-03-01T13:00Z', NULL),\n"
    "    (9004, gen_random_uuid(), 941, 'h-941-b', '5555555555',\n"
    "     'SOC-04', 'social', 'routine', true, 'CO-2301', 'completed',\n"
    "     '2025-01-07T09:00Z', '2025-01-17T09:00Z', NULL),\n"
    "    (9011, gen_random_uuid(), 941, 'h-941-n1', '2000000001',\n"
    "     'SOC-03', 'social', 'routine', true, 'CO-2301', 'completed',\n"
    "     '2025-04-02T08:00Z', '2025-04-12T08:00Z', NULL),\n"
    "    (9012, gen_random_uuid(), 941, 'h-941-n2', '2000000002',\n"
    "     'SOC-03', 'social', 'routine', true, 'CO-2301', 'accepted',\n"
    "     '2025-04-02T08:00Z', '2025-04-12T08:00Z', NULL),\n"
    "    (9013, gen_random_uuid(), 941, 'h-941-n3', '2000000003',\n"
    "     'SOC-03', 'social', 'routine', true, 'CO-2301', 'rejected',\n"
    "     '2025-04-03T08:00Z', '2025-04-13T08:00Z', NULL),\n"
    "    (9014, gen_random_uuid(), 941, 'h-941-n4', '2000000004',\n"
    "     'SOC-03', 'social', 'routine', true, 'CO-2301', 'requested',\n"
    "     '2025-04-04T08:00Z', '2099-01-01T00:00Z', NULL),\n"
    "    (9015, gen_random_uuid(), 941, 'h-941-n1', '2000000001',\n"
    "     'PRV-01', 'prevention', 'routine', true, 'CO-2301', 'requested',\n"
    "     '2025-04-10T08:00Z', '2099-01-01T00:00Z', NULL),\n"
    "    (9016, gen_random_uuid(), 942, 'h-942-n6', '2000000006',\n"
    "     'RHB-01', 'rehabilitation', 'routine', true, 'CO-2302', 'completed',\n"
    "     '2025-04-11T08:00Z', '2025-04-21T08:00Z', NULL),\n"
    "    (9101, gen_random_uuid(), 1924, 'h-1924-a', '3000000001',\n"
    "     'SOC-04', 'social', 'routine', true, 'CO-1002', 'received',\n"
    "     '2025-05-01T08:00Z', '2025-05-11T08:00Z', NULL),\n"
    "    (9102, gen_random_uuid(), 1924, 'h-1924-b', '3000000002',\n"
    "     'RHB-03', 'rehabilitation', 'urgent', true, 'PO-10', 'accepted',\n"
    "     '2025-05-02T08:00Z', '2025-05-05T08:00Z', '2025-05-05T09:00Z'),\n"
    "    (9103, gen_random_uuid(), 1924, 'h-1924-c', '3000000003',\n"
    "     'PRV-02', 'prevention', 'routine', true, 'CO-1002', 'requested',\n"
    "     now(), now() + interval '10 days', NULL),\n"
    "    (9104, gen_random_uuid(), 1924, 'h-1924-d', '3000000004',\n"
    "     'SOC-06', 'social', 'urgent', true, 'PO-10', 'completed',\n"
    "     '2025-05-03T08:00Z', '2025-05-06T08:00Z', '2025-05-06T09:00Z');\n"
    "INSERT INTO referral\n"
    "    (id, request_id, center_code, household_id, national_id, service_code, domain, priority,\n"
    "     consent, office_code, status, created_at, accept_deadline, risk_flags)\n"
    "OVERRIDING SYSTEM VALUE VALUES\n"
    "    (9201, gen_random_uuid(), 943, 'h-943-a', '4000000001', 'SOC-03', 'social', 'urgent',\n"
    "     true, 'CO-2303', 'completed', '2025-04-05T08:00Z', '2099-01-01T00:00Z',\n"
    "     '{addiction,unemployment}'),\n"
    "    (9202, gen_random_uuid(), 944, 'h-944-a', '4000000002', 'SOC-03', 'social', 'urgent',\n"
    "     true, 'CO-2303', 'cancelled', '2025-04-06T08:00Z', '2099-01-01T00:00Z', '{addiction}'),\n"
    "    (9203, gen_random_uuid(), 945, 'h-945-a', '4000000003', 'SOC-03', 'social', 'routine',\n"
    "     true, 'CO-2303', 'failed', '2025-04-07T08:00Z', '2099-01-01T00:00Z', '{}'),\n"
    "    (9204, gen_random_uuid(), 943, 'h-943-a', '4000000004', 'SOC-03', 'social', 'urgent',\n"
    "     true, 'CO-2303', 'requested', '2025-04-08T08:00Z', '2099-01-01T00:00Z',\n"
    "     '{addiction}');\n"
    "INSERT INTO referral_event (referral_id, from_status, to_status, actor, kind,\n"
    "                            office_code, center_code, at)\n"
    "SELECT v.id, v.from_status, v.to_status, v.actor, v.kind, r.office_code, r.center_code,\n"
    "       v.at::timestamptz\n"
    "FROM (VALUES\n"
    "    (9001, NULL, 'requested', 'center:941', 'submit', '2025-01-10T09:00Z'),\n"
    "    (9001, 'requested', 'accepted', 'office:CO-2301', 'accept', '2025-01-11T09:00Z'),\n"
    "    (9001, 'accepted', 'completed', 'office:CO-2301', 'complete', '2025-01-15T09:00Z'),\n"
    "    (9002, NULL, 'requested', 'center:941', 'submit', '2025-02-01T09:00Z'),\n"
    "    (9002, 'requested', 'accepted', 'office:CO-2301', 'accept', '2025-02-02T09:00Z'),\n"
    "    (9003, NULL, 'requested', 'center:941', 'submit', '2025-03-01T09:00Z'),\n"
    "    (9004, NULL, 'requested', 'center:941', 'submit', '2025-01-07T09:00Z'),\n"
    "    (9004, 'requested', 'completed', 'office:CO-2301', 'complete', '2025-01-08T09:00Z'),\n"
    "    (9011, NULL, 'requested', 'center:941', 'submit', '2025-04-02T08:00Z'),\n"
    "    (9011, 'requested', 'accepted', 'office:CO-2301', 'accept', '2025-04-03T20:00Z'),\n"
    "    (9011, 'accepted', 'in-progress', 'office:CO-2301', 'start', '2025-04-04T08:00Z'),\n"
    "    (9011, 'in-progress', 'completed', 'office:CO-2301', 'complete', '2025-04-09T08:00Z'),\n"
    "    (9012, NULL, 'requested', 'center:941', 'submit', '2025-04-02T08:00Z'),\n"
    "    (9012, 'requested', 'accepted', 'office:CO-2301', 'accept', '2025-04-05T20:00Z'),\n"
    "    (9012, 'accepted', 'requested', 'office:CO-2301', 'forward', '2025-04-06T08:00Z'),\n"
    "    (9012, 'requested', 'accepted', 'office:CO-2301', 'accept', '2025-04-08T08:00Z'),\n"
    "    (9013, NULL, 'requested', 'center:941', 'submit', '2025-04-03T08:00Z'),\n"
    "    (9013, 'requested', 'rejected', 'office:CO-2301', 'reject', '2025-04-04T08:00Z'),\n"
    "    (9014, NULL, 'requested', 'center:941', 'submit', '2025-04-04T08:00Z'),\n"
    "    (9015, NULL, 'requested', 'center:941', 'submit', '2025-04-10T08:00Z'),\n"
    "    (9016, NULL, 'requested', 'center:942', 'submit', '2025-04-11T08:00Z'),\n"
    "    (9016, 'requested', 'accepted', 'office:CO-2302', 'accept', '2025-04-12T08:00Z'),\n"
    "    (9016, 'accepted', 'completed', 'office:CO-2302', 'complete', '2025-04-20T08:00Z'),\n"
    "    (9101, NULL, 'requested', 'center:1924', 'submit', '2025-05-01T08:00Z'),\n"
    "    (9101, 'requested', 'received', 'office:CO-1002', 'claim', '2025-05-02T08:00Z'),\n"
    "    (9102, NULL, 'requested', 'center:1924', 'submit', '2025-05-02T08:00Z'),\n"
    "    (9102, 'requested', 'requested', 'system', 'escalate', '2025-05-05T09:00Z'),\n"
    "    (9102, 'requested', 'accepted', 'office:PO-10', 'accept', '2025-05-06T09:00Z'),\n"
    "    (9103, NULL, 'requested', 'center:1924', 'submit', now()::text),\n"
    "    (9104, NULL, 'requested', 'center:1924', 'submit', '2025-05-03T08:00Z'),\n"
    "    (9104, 'requested', 'requested', 'system', 'escalate', '2025-05-06T09:00Z'),\n"
    "    (9104, 'requested', 'accepted', 'office:PO-10', 'accept', '2025-05-06T12:00Z'),\n"
    "    (9104, 'accepted', 'completed', 'office:PO-10', 'complete', '2025-05-08T12:00Z'))\n"
    "    AS v (id, from_status, to_status, actor, kind, at)\n"
    "JOIN referral r ON r.id = v.id;\n";
// clang-format on

static it_ctl_run run;

// Runs "referralctl ARGS --db <the test's database>" and fills run.
static void
ctl(const char *args)
{
    it_ctl(&stack, stack.conninfo, args, &run);
}

static int
setup(void **state)
{
    (void) state;
    it_stack_init(&stack, "reports", 7);
    db = it_db(&stack);
    it_db_exec(db, FIXTURE_SQL);
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
test_household_prints_its_members_masked_and_its_referrals_newest_first(void **state)
{
    (void) state;
    ctl("household H-941-A");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    assert_string_equal(
        run.out,
        "household   h-941-a\n" // filed canonically: Latin case folded (docs/DOMAIN.md)
        "opened by   941 Positive Life Center 941 (Tehran, Narmak)\n"
        "created_at  2025-01-10T09:00:00Z\n" // its first referral (migration 0015)
        "\n"
        "members\n"
        "national_id  member_since\n"
        "-----------  --------------------\n"
        "******5679   2025-01-10T09:00:00Z\n" // each member since their first referral in it
        "******7891   2025-02-01T09:00:00Z\n"
        "(2 rows)\n"
        "\n"
        "referrals\n"
        "referral  service  member      for     domain          priority  status     office   "
        "office_name                   created_at\n"
        "--------  -------  ----------  ------  --------------  --------  ---------  -------  "
        "----------------------------  --------------------\n"
        "R-9003    RHB-02   ******5679  person  rehabilitation  stat      requested  CO-2301  "
        "Tehran County Welfare Office  2025-03-01T09:00:00Z\n"
        "R-9002    PRV-04   ******7891  person  prevention      urgent    accepted   CO-2301  "
        "Tehran County Welfare Office  2025-02-01T09:00:00Z\n"
        "R-9001    SOC-03   ******5679  person  social          routine   completed  CO-2301  "
        "Tehran County Welfare Office  2025-01-10T09:00:00Z\n"
        "(3 rows)\n");
}

static void
test_household_with_show_ids_prints_national_ids_in_full(void **state)
{
    (void) state;
    // Options may come before or after the ID.
    const char *forms[] = {"household --show-ids H-941-A", "household H-941-A --show-ids"};
    for (size_t i = 0; i < 2; i++) {
        ctl(forms[i]);
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "\n0012345679   2025-01-10T09:00:00Z\n"
                                        "1234567891   2025-02-01T09:00:00Z\n(2 rows)\n"));
        assert_null(strstr(run.out, "******"));
    }
}

static void
test_missing_household_exits_1_and_names_it(void **state)
{
    (void) state;
    ctl("household H-941-Z");
    assert_int_equal(run.status, 1);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "household \"H-941-Z\" (filed as \"h-941-z\") does not exist\n");
}

// The CSV record after the one at line.
static const char *
next_line(const char *line)
{
    const char *end = strstr(line, "\r\n");
    assert_non_null(end);
    return end + 2;
}

// Seconds since deadline, by the database's clock.
static long long
seconds_late(const char *deadline)
{
    const char *p[] = {deadline};
    return it_db_scalar(db, "SELECT floor(extract(epoch FROM now() - $1::timestamptz))::bigint", 1,
                        p);
}

// Overdue means past the current owner's deadline, still requested or
// received: R-9102 and R-9104 were escalated and their province office
// accepted them, so neither is overdue any more.
static void
test_overdue_lists_referrals_past_their_owners_deadline_most_overdue_first(void **state)
{
    (void) state;
    long long before = seconds_late("2025-03-01T13:00:00Z");
    ctl("overdue --format csv");
    long long after = seconds_late("2025-03-01T13:00:00Z");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    const char *header = "referral,center,county,service,priority,status,office_code,"
                         "accept_deadline,escalated_at,overdue\r\n";
    assert_memory_equal(run.out, header, strlen(header));
    const char *line = run.out + strlen(header);
    const char *late = "R-9003,941,2301,RHB-02,stat,requested,CO-2301,2025-03-01T13:00:00Z,,";
    assert_memory_equal(line, late, strlen(late));
    long long days = -1, hours = -1, minutes = -1;
    assert_int_equal(sscanf(line + strlen(late), "%lldd %lldh %lldm", &days, &hours, &minutes), 3);
    long long shown = days * 1440 + hours * 60 + minutes;
    assert_in_range(shown, before / 60, after / 60);
    line = next_line(line);
    const char *received =
        "R-9101,1924,1002,SOC-04,routine,received,CO-1002,2025-05-11T08:00:00Z,,";
    assert_memory_equal(line, received, strlen(received));
    line = next_line(line);
    assert_string_equal(line, ""); // not R-9103 (not due), R-9014 (2099), R-9102 (accepted)
}

static void
test_overdue_filters_by_the_province_and_county_of_the_center(void **state)
{
    (void) state;
    ctl("overdue --province 10 --format csv");
    assert_int_equal(run.status, 0);
    assert_null(strstr(run.out, "R-9003"));
    assert_null(strstr(run.out, "R-9102"));
    const char *last = strstr(run.out, "\r\nR-9101,1924,1002,");
    assert_non_null(last);
    assert_string_equal(next_line(last + 2), "");

    ctl("overdue --province 23 --format csv");
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "\r\nR-9003,941,2301,"));
    assert_null(strstr(run.out, "R-910"));

    ctl("overdue --county 2302 --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "referral,center,county,service,priority,status,office_code,"
                                 "accept_deadline,escalated_at,overdue\r\n");
}

static const char NEEDS_CSV_HEADER[] =
    "province,county,county_name,county_name_fa,neighbourhood,domain,service,requests,households,"
    "persons,open,completed,rejected,failed,cancelled,median_days_to_accept,first_request,"
    "last_request,risk_flags\r\n";

static void
test_report_needs_csv_counts_outcomes_and_the_median_days_to_first_acceptance(void **state)
{
    (void) state;
    // SOC-03 in Narmak: 4 requests, 2 open (accepted, requested), 1
    // completed, 1 rejected; first acceptances after 1.5 and 3.5 days (the
    // second acceptance of R-9012 does not count): median 2.5. January to
    // March rows fall before --since. Days print in the Solar Hijri
    // calendar: 2025-04-02 is 1404/01/13.
    ctl("report needs --province 23 --since 2025-04-01 --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    char expected[2048];
    snprintf(expected, sizeof expected, "%s%s", NEEDS_CSV_HEADER,
             "23,2301,Tehran,تهران,Narmak,prevention,PRV-01,1,1,1,1,0,0,0,0,,1404/01/21,"
             "1404/01/21,\r\n"
             "23,2301,Tehran,تهران,Narmak,social,SOC-03,4,4,4,2,1,1,0,0,2.5,1404/01/13,"
             "1404/01/15,\r\n"
             "23,2302,Damavand,دماوند,گیلاوند,rehabilitation,RHB-01,1,1,1,0,1,0,0,0,1.0,"
             "1404/01/22,1404/01/22,\r\n"
             "23,2303,Rey,ری,نارمک,social,SOC-03,4,3,4,1,1,0,1,1,,1404/01/16,1404/01/19,"
             "\"addiction 3, unemployment 1\"\r\n");
    assert_string_equal(run.out, expected);
}

static void
test_report_needs_groups_the_spellings_of_a_neighbourhood_and_its_columns_add_up(void **state)
{
    (void) state;
    // Centers 943, 944 and 945 wrote their neighbourhood "نارمک", "نارمك"
    // and "نارمک ": one row, shown as the most common spelling. Four
    // requests from three households and four persons: one open, one
    // completed, one failed, one cancelled. --since in the Solar Hijri
    // calendar is the same day as 2025-04-01.
    ctl("report needs --province 23 --county 2303 --since 1404/01/12 --format csv");
    assert_int_equal(run.status, 0);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s%s", NEEDS_CSV_HEADER,
             "23,2303,Rey,ری,نارمک,social,SOC-03,4,3,4,1,1,0,1,1,,1404/01/16,1404/01/19,"
             "\"addiction 3, unemployment 1\"\r\n");
    assert_string_equal(run.out, expected);
    char gregorian[sizeof run.out];
    snprintf(gregorian, sizeof gregorian, "%s", run.out);
    ctl("report needs --province 23 --county 2303 --since ۲۰۲۵-۰۴-۰۱ --format csv");
    assert_string_equal(run.out, gregorian);
}

static void
test_report_needs_without_a_province_is_the_national_view_in_either_calendar(void **state)
{
    (void) state;
    ctl("report needs --since 2025-04-01 --until 1404/10/10 --calendar gregorian --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    char expected[2048];
    snprintf(expected, sizeof expected, "%s%s", NEEDS_CSV_HEADER,
             "10,1002,Isfahan,اصفهان,Jolfa,rehabilitation,RHB-03,1,1,1,1,0,0,0,0,4.0,2025-05-02,"
             "2025-05-02,\r\n"
             "10,1002,Isfahan,اصفهان,Jolfa,social,SOC-04,1,1,1,1,0,0,0,0,,2025-05-01,2025-05-01,"
             "\r\n"
             "10,1002,Isfahan,اصفهان,Jolfa,social,SOC-06,1,1,1,0,1,0,0,0,3.2,2025-05-03,"
             "2025-05-03,\r\n"
             "23,2301,Tehran,تهران,Narmak,prevention,PRV-01,1,1,1,1,0,0,0,0,,2025-04-10,"
             "2025-04-10,\r\n"
             "23,2301,Tehran,تهران,Narmak,social,SOC-03,4,4,4,2,1,1,0,0,2.5,2025-04-02,"
             "2025-04-04,\r\n"
             "23,2302,Damavand,دماوند,گیلاوند,rehabilitation,RHB-01,1,1,1,0,1,0,0,0,1.0,"
             "2025-04-11,2025-04-11,\r\n"
             "23,2303,Rey,ری,نارمک,social,SOC-03,4,3,4,1,1,0,1,1,,2025-04-05,2025-04-08,"
             "\"addiction 3, unemployment 1\"\r\n");
    assert_string_equal(run.out, expected);
}

static void
test_report_needs_filters_by_county_and_counts_everything_without_since(void **state)
{
    (void) state;
    // Without --since, SOC-03 adds R-9001 (completed, accepted after 1 day):
    // median of 1, 1.5, 3.5.
    ctl("report needs --province 23 --county 2301 --format csv");
    assert_int_equal(run.status, 0);
    char expected[2048];
    snprintf(expected, sizeof expected, "%s%s", NEEDS_CSV_HEADER,
             "23,2301,Tehran,تهران,Narmak,prevention,PRV-01,1,1,1,1,0,0,0,0,,1404/01/21,"
             "1404/01/21,\r\n"
             "23,2301,Tehran,تهران,Narmak,prevention,PRV-04,1,1,1,1,0,0,0,0,1.0,1403/11/13,"
             "1403/11/13,\r\n"
             "23,2301,Tehran,تهران,Narmak,rehabilitation,RHB-02,1,1,1,1,0,0,0,0,,1403/12/11,"
             "1403/12/11,\r\n"
             "23,2301,Tehran,تهران,Narmak,social,SOC-03,5,5,5,2,2,1,0,0,1.5,1403/10/21,"
             "1404/01/15,\r\n"
             "23,2301,Tehran,تهران,Narmak,social,SOC-04,1,1,1,0,1,0,0,0,,1403/10/18,1403/10/18,"
             "\r\n");
    assert_string_equal(run.out, expected);
}

static void
test_report_needs_table_aligns_persian_names_by_code_points(void **state)
{
    (void) state;
    // "گیلاوند" is 7 letters in 14 bytes: padded as 7 wide.
    ctl("report needs --province 23 --county 2302 --since 2025-04-01");
    assert_int_equal(run.status, 0);
    assert_string_equal(
        run.out,
        "province  county  county_name  county_name_fa  neighbourhood  domain          service  "
        "requests  households  persons  open  completed  rejected  failed  cancelled  "
        "median_days_to_accept  first_request  last_request  risk_flags\n"
        "--------  ------  -----------  --------------  -------------  --------------  -------  "
        "--------  ----------  -------  ----  ---------  --------  ------  ---------  "
        "---------------------  -------------  ------------  ----------\n"
        "23        2302    Damavand     دماوند          گیلاوند        rehabilitation  RHB-01   "
        "       1           1        1     0          1         0       0          0  "
        "                  1.0  1404/01/22     1404/01/22\n"
        "(1 row)\n");
}

static void
test_report_needs_refuses_a_malformed_province_county_or_date_with_exit_2(void **state)
{
    (void) state;
    ctl("report needs --province 2");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err,
                        "invalid value \"2\" for --province: expected a two-digit province code\n");

    ctl("report needs --province 23 --county 23O1");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err,
                        "invalid value \"23O1\" for --county: expected a four-digit county code\n");

    ctl("report needs --province 23 --since 2025-02-29");
    assert_int_equal(run.status, 2);
    assert_string_equal(
        run.err,
        "invalid value \"2025-02-29\" for --since: no such day in the Gregorian calendar\n");

    ctl("report needs --province 23 --until 1404/12/30"); // 1404 is not a leap year
    assert_int_equal(run.status, 2);
    assert_string_equal(
        run.err,
        "invalid value \"1404/12/30\" for --until: no such day in the Solar Hijri calendar\n");

    ctl("report needs --since 2025-04-01 --calendar persian");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err,
                        "invalid value \"persian\" for --calendar: expected jalali or gregorian\n");
}

static void
test_report_needs_refuses_an_unknown_province_or_a_county_outside_it_with_exit_1(void **state)
{
    (void) state;
    ctl("report needs --province 99");
    assert_int_equal(run.status, 1);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "province \"99\" does not exist\n");

    ctl("report needs --province 10 --county 2301");
    assert_int_equal(run.status, 1);
    assert_string_equal(run.err, "county \"2301\" is not in province \"10\"\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_household_prints_its_members_masked_and_its_referrals_newest_first),
        cmocka_unit_test(test_household_with_show_ids_prints_national_ids_in_full),
        cmocka_unit_test(test_missing_household_exits_1_and_names_it),
        cmocka_unit_test(
            test_overdue_lists_referrals_past_their_owners_deadline_most_overdue_first),
        cmocka_unit_test(test_overdue_filters_by_the_province_and_county_of_the_center),
        cmocka_unit_test(
            test_report_needs_csv_counts_outcomes_and_the_median_days_to_first_acceptance),
        cmocka_unit_test(
            test_report_needs_groups_the_spellings_of_a_neighbourhood_and_its_columns_add_up),
        cmocka_unit_test(
            test_report_needs_without_a_province_is_the_national_view_in_either_calendar),
        cmocka_unit_test(test_report_needs_filters_by_county_and_counts_everything_without_since),
        cmocka_unit_test(test_report_needs_table_aligns_persian_names_by_code_points),
        cmocka_unit_test(test_report_needs_refuses_a_malformed_province_county_or_date_with_exit_2),
        cmocka_unit_test(
            test_report_needs_refuses_an_unknown_province_or_a_county_outside_it_with_exit_1),
    };
    return cmocka_run_group_tests_name("integration.reports", tests, setup, teardown);
}
