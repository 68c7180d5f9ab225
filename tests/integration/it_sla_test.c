// Deadlines that follow the owner (issue 14, point 5), through the real
// stack: each owner gets its own level's time to accept (priority_sla per
// county or province office) when a referral is submitted to it, forwarded
// to it or escalated to it; `referralctl overdue --office` lists what is
// past its current owner's deadline; `referralctl report sla` derives the
// time to acceptance, on hold and to completion from the history, compared
// to the letter. The workers log in as a member of referral_worker, so the
// role's privileges are proven enough for all of it.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static it_stack stack;
static char admin_conninfo[sizeof stack.conninfo]; // the test database's owner
static PGconn *db;                                 // as its owner
static PGconn *worker_db;                          // as the workers' role
static cli_center *client;
static it_ctl_run run;

// Province offices get other times than county offices here, so that a
// deadline tells which level it came from: stat 2 hours (county 4 hours),
// urgent 6 days (county 3 days). Routine stays 10 days at both.
//
// The report's fixture, created in June 2025 (events given by hand; each
// event's office_code is the owner after it):
//   R-9501 SOC-03 CO-2301: accepted after 2 h (7200 s), held 30 h
//          (108000 s), completed after 9 days (777600 s).
//   R-9502 SOC-03 CO-2301: accepted after 24 h (86400 s), completed after
//          3 days (259200 s); never held.
//   R-9503 SOC-03 CO-2301: accepted after 2.5 days (216000 s), held twice,
//          12 h and 24 h (129600 s in all), completed after 10 days
//          (864000 s).
//   R-9504 SOC-03 CO-2301: accepted after 30 min (1800 s), on hold since:
//          a hold still going on has no length yet and is not counted.
//   R-9505 SOC-03 CO-2302: escalated to PO-23 after 3 days, accepted by
//          PO-23 4 h later (273600 s after creation, PO-23's), completed by
//          PO-23 after 5 days (432000 s).
//   R-9506 RHB-02 CO-2301: forwarded to CO-2302 after 4 h, accepted by
//          CO-2302 after 24 h (86400 s), held 45 min (2700 s), withdrawn.
//   R-9507 SOC-04 CO-1002 (province 10): accepted after 1 h, completed
//          after 25 h.
//   R-9508 SOC-03 CO-2301, created in May: before --since.
// The overdue fixture, created in July 2025, all still waiting:
//   R-9601 stat, requested at CO-2301, due 2025-07-01T12:00Z: overdue.
//   R-9602 urgent, received at PO-23 (escalated before), due
//          2025-07-02T04:00Z: overdue, at the province office.
//   R-9603 routine, requested at CO-1002, due 2025-07-03T00:00Z: overdue.
//   R-9604 routine, accepted at CO-2301 after its deadline: accepted, so
//          not overdue.
//   R-9605 routine, requested at CO-2301, due 2099: not yet.
// clang-format off
static const char FIXTURE_SQL[] =
    "UPDATE priority_sla SET accept_within = interval '2 hours'\n"
    "    WHERE priority = 'stat' AND level = 'province';\n"
    "UPDATE priority_sla SET accept_within = interval '6 days'\n"
    "    WHERE priority = 'urgent' AND level = 'province';\n"
    "INSERT INTO referral\n"
    "    (id, request_id, center_code, household_id, national_id, service_code, domain, priority,\n"
    "     consent, office_code, status, created_at, accept_deadline, escalated_at)\n"
    "OVERRIDING SYSTEM VALUE\n"
    "SELECT v.id, gen_random_uuid(), v.center, 'h-sla-' || v.id, (7000000000 + v.id)::text,\n"
    "       v.service, v.domain, v.priority, true, v.office, v.status, v.created::timestamptz,\n"
    "       v.due::timestamptz, v.escalated::timestamptz\n"
    "FROM (VALUES\n"
    "    (9501, 941, 'SOC-03', 'social', 'routine', 'CO-2301', 'completed',\n"
    "     '2025-06-01T08:00Z', '2025-06-11T08:00Z', NULL),\n"
    "    (9502, 941, 'SOC-03', 'social', 'routine', 'CO-2301', 'completed',\n"
    "     '2025-06-02T08:00Z', '2025-06-12T08:00Z', NULL),\n"
    "    (9503, 941, 'SOC-03', 'social', 'routine', 'CO-2301', 'completed',\n"
    "     '2025-06-03T08:00Z', '2025-06-13T08:00Z', NULL),\n"
    "    (9504, 941, 'SOC-03', 'social', 'routine', 'CO-2301', 'on-hold',\n"
    "     '2025-06-04T08:00Z', '2025-06-14T08:00Z', NULL),\n"
    "    (9505, 941, 'SOC-03', 'social', 'urgent', 'PO-23', 'completed',\n"
    "     '2025-06-01T08:00Z', '2025-06-10T08:00Z', '2025-06-04T08:00Z'),\n"
    "    (9506, 941, 'RHB-02', 'rehabilitation', 'routine', 'CO-2302', 'cancelled',\n"
    "     '2025-06-01T08:00Z', '2025-06-11T12:00Z', NULL),\n"
    "    (9507, 1924, 'SOC-04', 'social', 'routine', 'CO-1002', 'completed',\n"
    "     '2025-06-01T08:00Z', '2025-06-11T08:00Z', NULL),\n"
    "    (9508, 941, 'SOC-03', 'social', 'routine', 'CO-2301', 'accepted',\n"
    "     '2025-05-20T08:00Z', '2025-05-30T08:00Z', NULL),\n"
    "    (9601, 941, 'SOC-03', 'social', 'stat', 'CO-2301', 'requested',\n"
    "     '2025-07-01T08:00Z', '2025-07-01T12:00Z', NULL),\n"
    "    (9602, 941, 'SOC-04', 'social', 'urgent', 'PO-23', 'received',\n"
    "     '2025-06-28T00:00Z', '2025-07-02T04:00Z', '2025-07-01T00:00Z'),\n"
    "    (9603, 1924, 'SOC-03', 'social', 'routine', 'CO-1002', 'requested',\n"
    "     '2025-06-23T00:00Z', '2025-07-03T00:00Z', NULL),\n"
    "    (9604, 941, 'PRV-01', 'prevention', 'routine', 'CO-2301', 'accepted',\n"
    "     '2025-07-01T00:00Z', '2025-07-01T04:00Z', NULL),\n"
    "    (9605, 941, 'PRV-02', 'prevention', 'routine', 'CO-2301', 'requested',\n"
    "     '2025-07-01T00:00Z', '2099-01-01T00:00Z', NULL))\n"
    "    AS v (id, center, service, domain, priority, office, status, created, due, escalated);\n"
    "INSERT INTO referral_event (referral_id, from_status, to_status, actor, kind, office_code,\n"
    "                            center_code, at)\n"
    "SELECT v.id, v.from_status, v.to_status, v.actor, v.kind, v.office, r.center_code,\n"
    "       v.at::timestamptz\n"
    "FROM (VALUES\n"
    "    (9501, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-01T08:00Z'),\n"
    "    (9501, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-06-01T10:00Z'),\n"
    "    (9501, 'accepted', 'in-progress', 'office:CO-2301', 'start', 'CO-2301', '2025-06-02T08:00Z'),\n"
    "    (9501, 'in-progress', 'on-hold', 'office:CO-2301', 'pause', 'CO-2301', '2025-06-03T08:00Z'),\n"
    "    (9501, 'on-hold', 'in-progress', 'office:CO-2301', 'resume', 'CO-2301', '2025-06-04T14:00Z'),\n"
    "    (9501, 'in-progress', 'completed', 'office:CO-2301', 'complete', 'CO-2301', '2025-06-10T08:00Z'),\n"
    "    (9502, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-02T08:00Z'),\n"
    "    (9502, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-06-03T08:00Z'),\n"
    "    (9502, 'accepted', 'in-progress', 'office:CO-2301', 'start', 'CO-2301', '2025-06-03T09:00Z'),\n"
    "    (9502, 'in-progress', 'completed', 'office:CO-2301', 'complete', 'CO-2301', '2025-06-05T08:00Z'),\n"
    "    (9503, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-03T08:00Z'),\n"
    "    (9503, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-06-05T20:00Z'),\n"
    "    (9503, 'accepted', 'in-progress', 'office:CO-2301', 'start', 'CO-2301', '2025-06-06T08:00Z'),\n"
    "    (9503, 'in-progress', 'on-hold', 'office:CO-2301', 'pause', 'CO-2301', '2025-06-07T08:00Z'),\n"
    "    (9503, 'on-hold', 'in-progress', 'office:CO-2301', 'resume', 'CO-2301', '2025-06-07T20:00Z'),\n"
    "    (9503, 'in-progress', 'on-hold', 'office:CO-2301', 'pause', 'CO-2301', '2025-06-08T08:00Z'),\n"
    "    (9503, 'on-hold', 'in-progress', 'office:CO-2301', 'resume', 'CO-2301', '2025-06-09T08:00Z'),\n"
    "    (9503, 'in-progress', 'completed', 'office:CO-2301', 'complete', 'CO-2301', '2025-06-13T08:00Z'),\n"
    "    (9504, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-04T08:00Z'),\n"
    "    (9504, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-06-04T08:30Z'),\n"
    "    (9504, 'accepted', 'in-progress', 'office:CO-2301', 'start', 'CO-2301', '2025-06-04T09:00Z'),\n"
    "    (9504, 'in-progress', 'on-hold', 'office:CO-2301', 'pause', 'CO-2301', '2025-06-05T08:00Z'),\n"
    "    (9505, NULL, 'requested', 'center:941', 'submit', 'CO-2302', '2025-06-01T08:00Z'),\n"
    "    (9505, 'requested', 'requested', 'system', 'escalate', 'PO-23', '2025-06-04T08:00Z'),\n"
    "    (9505, 'requested', 'accepted', 'office:PO-23', 'accept', 'PO-23', '2025-06-04T12:00Z'),\n"
    "    (9505, 'accepted', 'in-progress', 'office:PO-23', 'start', 'PO-23', '2025-06-05T08:00Z'),\n"
    "    (9505, 'in-progress', 'completed', 'office:PO-23', 'complete', 'PO-23', '2025-06-06T08:00Z'),\n"
    "    (9506, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-01T08:00Z'),\n"
    "    (9506, 'requested', 'requested', 'office:CO-2301', 'forward', 'CO-2302', '2025-06-01T12:00Z'),\n"
    "    (9506, 'requested', 'accepted', 'office:CO-2302', 'accept', 'CO-2302', '2025-06-02T08:00Z'),\n"
    "    (9506, 'accepted', 'in-progress', 'office:CO-2302', 'start', 'CO-2302', '2025-06-02T09:00Z'),\n"
    "    (9506, 'in-progress', 'on-hold', 'office:CO-2302', 'pause', 'CO-2302', '2025-06-02T10:00Z'),\n"
    "    (9506, 'on-hold', 'in-progress', 'office:CO-2302', 'resume', 'CO-2302', '2025-06-02T10:45Z'),\n"
    "    (9506, 'in-progress', 'cancelled', 'center:941', 'withdraw', 'CO-2302', '2025-06-03T08:00Z'),\n"
    "    (9507, NULL, 'requested', 'center:1924', 'submit', 'CO-1002', '2025-06-01T08:00Z'),\n"
    "    (9507, 'requested', 'accepted', 'office:CO-1002', 'accept', 'CO-1002', '2025-06-01T09:00Z'),\n"
    "    (9507, 'accepted', 'in-progress', 'office:CO-1002', 'start', 'CO-1002', '2025-06-01T10:00Z'),\n"
    "    (9507, 'in-progress', 'completed', 'office:CO-1002', 'complete', 'CO-1002', '2025-06-02T09:00Z'),\n"
    "    (9508, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-05-20T08:00Z'),\n"
    "    (9508, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-05-21T08:00Z'),\n"
    "    (9601, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-07-01T08:00Z'),\n"
    "    (9602, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-06-28T00:00Z'),\n"
    "    (9602, 'requested', 'requested', 'system', 'escalate', 'PO-23', '2025-07-01T00:00Z'),\n"
    "    (9602, 'requested', 'received', 'office:PO-23', 'claim', 'PO-23', '2025-07-01T06:00Z'),\n"
    "    (9603, NULL, 'requested', 'center:1924', 'submit', 'CO-1002', '2025-06-23T00:00Z'),\n"
    "    (9604, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-07-01T00:00Z'),\n"
    "    (9604, 'requested', 'accepted', 'office:CO-2301', 'accept', 'CO-2301', '2025-07-01T06:00Z'),\n"
    "    (9605, NULL, 'requested', 'center:941', 'submit', 'CO-2301', '2025-07-01T00:00Z'))\n"
    "    AS v (id, from_status, to_status, actor, kind, office, at)\n"
    "JOIN referral r ON r.id = v.id;\n";
// clang-format on

static int
setup(void **state)
{
    (void) state;
    it_stack_init(&stack, "sla", 18);
    db = it_db(&stack);
    it_db_exec(db, FIXTURE_SQL);
    it_db_exec(db, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname ="
                   " 'rr_sla_worker') THEN CREATE ROLE rr_sla_worker LOGIN IN ROLE"
                   " referral_worker; END IF; END $$");
    memcpy(admin_conninfo, stack.conninfo, sizeof admin_conninfo);
    // The stack's workers (and worker_db) connect as the restricted role.
    // Escalation is run by the tests, when they want it.
    int n = snprintf(stack.conninfo, sizeof stack.conninfo,
                     "host=%s user=rr_sla_worker dbname=it_sla", stack.pghost);
    assert_true(n > 0 && (size_t) n < sizeof stack.conninfo);
    worker_db = it_db(&stack);
    it_db_exec(worker_db, "SET search_path = referral");
    it_broker_start(&stack, NULL);
    const char *no_escalation[] = {"--escalate-every-ms", "0", NULL};
    it_worker_start(&stack, "prevention", no_escalation);
    it_worker_start(&stack, "rehabilitation", no_escalation);
    it_worker_start(&stack, "social", no_escalation);
    if (!it_wait_workers(&stack, 3, 20000)) {
        return -1;
    }
    const char *eps[] = {stack.frontend};
    client = cli_center_new(eps, 1);
    return client != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    cli_center_destroy(&client);
    PQfinish(worker_db);
    PQfinish(db);
    return it_stack_stop(&stack) ? 0 : -1;
}

// Runs "referralctl ARGS" against the test's database, as its owner.
static void
ctl(const char *args)
{
    it_ctl(&stack, admin_conninfo, args, &run);
}

// Submits service from center 941 at priority; the referral id (without
// "R-") into id, and returns the office it went to in office.
static void
submit(const char *service, Rr__V1__Priority priority, const char *tag, char id[32],
       char office[16])
{
    it_request r;
    it_request_init(&r, 941, service, tag);
    r.req.priority = priority;
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_memory_equal(reply->referral_id, "R-", 2);
    snprintf(id, 32, "%s", reply->referral_id + 2);
    snprintf(office, 16, "%s", reply->office_code);
    rr_wire_free(reply);
}

// Forwards referral id (at version) from office `from` to office `to`.
static void
forward(const char *id, uint32_t version, const char *from, const char *to)
{
    char rid[40], uid[40];
    snprintf(rid, sizeof rid, "R-%s", id);
    rr_uuid_generate(uid);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    u.update_id = uid;
    u.referral_id = rid;
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED;
    u.office_code = (char *) from;
    u.expected_version = version;
    u.reason = "another office serves this family";
    u.forward_to = (char *) to;
    Rr__V1__UpdateReply *reply = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &reply, &err), RR_OK);
    assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
    assert_string_equal(reply->referral->office_code, to);
    rr_wire_free(reply);
}

// 1 when referral id is owned by office and its deadline is exactly its
// last change (updated_at: the same transaction's now()) plus within.
static long long
deadline_is(const char *id, const char *office, const char *within)
{
    const char *p[] = {id, office, within};
    return it_db_scalar(db,
                        "SELECT count(*) FROM referral WHERE id = $1::bigint"
                        " AND office_code = $2 AND accept_deadline = updated_at + $3::interval",
                        3, p);
}

static void
test_each_owner_gets_its_own_levels_time_at_submission_and_at_each_forward(void **state)
{
    (void) state;
    char id[32], office[16];
    // Submitted to the county office: the county's 3 days for urgent.
    submit("SOC-03", RR__V1__PRIORITY__PRIORITY_URGENT, "fwd", id, office);
    assert_string_equal(office, "CO-2301");
    assert_int_equal(deadline_is(id, "CO-2301", "3 days"), 1);
    // Forwarded to the province office: its own 6 days, from the forward.
    forward(id, 1, "CO-2301", "PO-23");
    assert_int_equal(deadline_is(id, "PO-23", "6 days"), 1);
    // And on to another county office: a county's 3 days again.
    forward(id, 2, "PO-23", "CO-2303");
    assert_int_equal(deadline_is(id, "CO-2303", "3 days"), 1);
    const char *p[] = {id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral_event WHERE referral_id ="
                                  " $1::bigint AND kind = 'forward'",
                                  1, p),
                     2);

    // A routing rule sends SOC-05 straight to the province office: the
    // batch path (submit_referrals) gives it the province's 2 hours for
    // stat. Workers reload the rules when notified; wait for it.
    it_db_exec(db, "INSERT INTO routing_rule (service_code, office_code, note)"
                   " VALUES ('SOC-05', 'PO-23', 'adoption is handled by the province')");
    bool routed = false;
    long long until = it_now_ms() + 10000;
    for (int i = 0; !routed && it_now_ms() < until; i++) {
        char tag[24];
        snprintf(tag, sizeof tag, "route-%d", i);
        submit("SOC-05", RR__V1__PRIORITY__PRIORITY_STAT, tag, id, office);
        routed = strcmp(office, "PO-23") == 0;
        if (!routed) {
            assert_int_equal(deadline_is(id, "CO-2301", "4 hours"), 1);
            it_sleep_ms(100);
        }
    }
    assert_true(routed);
    assert_int_equal(deadline_is(id, "PO-23", "2 hours"), 1);
    // The one-request path (submit_referral, what a batch falls back to)
    // and the deadline functions, as the workers' role calls them.
    long long single = it_db_scalar(worker_db,
                                    "SELECT id FROM submit_referral(gen_random_uuid(), 941,"
                                    " 'h-sla-single', '7100000001', 'SOC-03', 'household',"
                                    " 'social', 'stat', 'stat', '{}', '', 'PO-23', NULL)",
                                    0, NULL);
    snprintf(id, sizeof id, "%lld", single);
    assert_int_equal(deadline_is(id, "PO-23", "2 hours"), 1);
    assert_int_equal(it_db_scalar(worker_db,
                                  "SELECT count(*) WHERE accept_deadline_for('urgent', 'PO-23') ="
                                  " now() + interval '6 days' AND accept_deadline_for('urgent',"
                                  " 'CO-2301') = now() + interval '3 days' AND"
                                  " accept_deadline_for('urgent') = now() + interval '3 days'",
                                  0, NULL),
                     1);
}

static const char OVERDUE_HEADER[] = "referral,center,county,service,priority,status,office_code,"
                                     "accept_deadline,escalated_at,overdue\r\n";

// The CSV record of referral ref in run.out without its last field (how
// late: it grows while the test runs), or NULL when it is not listed.
static const char *
overdue_row(const char *ref)
{
    char key[40];
    snprintf(key, sizeof key, "\r\n%s,", ref);
    const char *at = strstr(run.out, key);
    return at ? at + 2 : NULL;
}

// The number of records after the header.
static int
records(void)
{
    int n = -1;
    for (const char *p = run.out; (p = strstr(p, "\r\n")) != NULL; p += 2) {
        n++;
    }
    return n;
}

static void
test_overdue_lists_what_is_past_its_current_owners_deadline_by_office(void **state)
{
    (void) state;
    ctl("overdue --office CO-2301 --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    assert_memory_equal(run.out, OVERDUE_HEADER, strlen(OVERDUE_HEADER));
    assert_int_equal(records(), 1); // not R-9604 (accepted), R-9605 (due in 2099)
    const char *row = "R-9601,941,2301,SOC-03,stat,requested,CO-2301,2025-07-01T12:00:00Z,,";
    assert_non_null(overdue_row("R-9601"));
    assert_memory_equal(overdue_row("R-9601"), row, strlen(row));

    // The province office's own overdue: R-9602, past its own deadline.
    ctl("overdue --office po-۲۳ --format csv"); // typed as people type it
    assert_int_equal(run.status, 0);
    assert_int_equal(records(), 1);
    row = "R-9602,941,2301,SOC-04,urgent,received,PO-23,2025-07-02T04:00:00Z,"
          "2025-07-01T00:00:00Z,";
    assert_non_null(overdue_row("R-9602"));
    assert_memory_equal(overdue_row("R-9602"), row, strlen(row));

    // Everyone's, most overdue first.
    ctl("overdue --format csv");
    assert_int_equal(run.status, 0);
    assert_int_equal(records(), 3);
    const char *first = overdue_row("R-9601"), *second = overdue_row("R-9602"),
               *third = overdue_row("R-9603");
    assert_true(first != NULL && second != NULL && third != NULL);
    assert_true(first < second && second < third);

    // Escalation, as the workers' role runs it: the two overdue referrals
    // of county offices go to their province offices, each with that
    // level's time counted from the escalation (stat 2 hours, routine 10
    // days); the one a province office owns already stays.
    assert_int_equal(it_db_scalar(worker_db, "SELECT escalate_overdue(100)", 0, NULL), 2);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE (id = 9601 AND"
                                  " office_code = 'PO-23' AND accept_deadline = escalated_at +"
                                  " interval '2 hours') OR (id = 9603 AND office_code = 'PO-10'"
                                  " AND accept_deadline = escalated_at + interval '10 days')"
                                  " OR (id = 9602 AND accept_deadline = '2025-07-02T04:00Z')",
                                  0, NULL),
                     3);
    assert_int_equal(
        it_db_scalar(db,
                     "SELECT count(*) FROM referral_event WHERE kind = 'escalate'"
                     " AND referral_id IN (9601, 9603) AND reason LIKE"
                     " 'not accepted by CO-____ before 2025-07-0%Z: escalated to PO-%'",
                     0, NULL),
        2);
    // The province office has its own time: it is not overdue the moment
    // it takes the referral over. Nothing is left at the county office.
    ctl("overdue --office CO-2301 --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, OVERDUE_HEADER);
    ctl("overdue --office PO-23 --format csv");
    assert_int_equal(records(), 1);
    assert_non_null(overdue_row("R-9602"));
    ctl("overdue --format csv");
    assert_int_equal(records(), 1);
    // Escalating again finds nothing.
    assert_int_equal(it_db_scalar(worker_db, "SELECT escalate_overdue(100)", 0, NULL), 0);
}

static void
test_overdue_refuses_a_malformed_or_unknown_office(void **state)
{
    (void) state;
    ctl("overdue --office 2301");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.out, "");
    assert_string_equal(
        run.err, "invalid value \"2301\" for --office: expected an office code (CO-2301, PO-23)\n");
    ctl("overdue --office CO-9999");
    assert_int_equal(run.status, 1);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "office \"CO-9999\" does not exist\n");
}

// Per service and office of province 23, June 2025 (see the fixture):
//   SOC-03 CO-2301, to accept: 1800, 7200, 86400, 216000 s. Median (the
//     mean of the middle two) 46800 s = 0d 13:00; p90 at rank 0.9 x 3 =
//     2.7: 86400 + 0.7 x 129600 = 177120 s = 2d 01:12.
//   on hold: 108000, 129600 s (R-9504's hold goes on: left out). Median
//     118800 s = 1d 09:00; p90 at rank 0.9: 108000 + 0.9 x 21600 = 127440
//     s = 1d 11:24.
//   to complete: 259200, 777600, 864000 s. Median 777600 s = 9d 00:00;
//     p90 at rank 1.8: 777600 + 0.8 x 86400 = 846720 s = 9d 19:12.
//   SOC-03 PO-23 (R-9505, escalated): to accept 273600 s = 3d 04:00, to
//     complete 432000 s = 5d 00:00; never held.
//   RHB-02 CO-2302 (R-9506, forwarded to it): to accept 86400 s = 1d
//     00:00 (counted from creation), held 2700 s = 0d 00:45; withdrawn.
//   CO-2301 and CO-2302 get no row for what they forwarded or lost to
//   escalation: nothing was accepted, held or completed there. R-9507 is
//   province 10's; R-9508 was created before --since.
static const char SLA_CSV[] =
    "province,service,office,accepted,to_accept_median,to_accept_p90,held,on_hold_median,"
    "on_hold_p90,completed,to_complete_median,to_complete_p90\r\n"
    "23,RHB-02,CO-2302,1,86400,86400,1,2700,2700,0,,\r\n"
    "23,SOC-03,CO-2301,4,46800,177120,2,118800,127440,3,777600,846720\r\n"
    "23,SOC-03,PO-23,1,273600,273600,0,,,1,432000,432000\r\n";

static void
test_report_sla_gives_counts_medians_and_p90_per_service_and_owning_office(void **state)
{
    (void) state;
    ctl("report sla --province 23 --since 2025-06-01 --until 2025-06-30 --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    assert_string_equal(run.out, SLA_CSV);
    // The same days in the Solar Hijri calendar: 1404/03/11 to 1404/04/09.
    ctl("report sla --province 23 --since 1404/03/11 --until ۱۴۰۴/۰۴/۰۹ --format csv");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, SLA_CSV);
}

static void
test_report_sla_table_prints_durations_as_days_hours_and_minutes(void **state)
{
    (void) state;
    // Without --province, the whole country: R-9507 adds CO-1002 (accepted
    // after 1 h, completed after 25 h).
    ctl("report sla --since 2025-06-01 --until 2025-06-30");
    assert_int_equal(run.status, 0);
    assert_string_equal(run.err, "");
    assert_string_equal(
        run.out, "province  service  office   accepted  to_accept_median  to_accept_p90  held  "
                 "on_hold_median  on_hold_p90  completed  to_complete_median  to_complete_p90\n"
                 "--------  -------  -------  --------  ----------------  -------------  ----  "
                 "--------------  -----------  ---------  ------------------  ---------------\n"
                 "10        SOC-04   CO-1002         1          0d 01:00       0d 01:00     0  "
                 "                                     1            1d 01:00         1d 01:00\n"
                 "23        RHB-02   CO-2302         1          1d 00:00       1d 00:00     1  "
                 "      0d 00:45     0d 00:45          0\n"
                 "23        SOC-03   CO-2301         4          0d 13:00       2d 01:12     2  "
                 "      1d 09:00     1d 11:24          3            9d 00:00         9d 19:12\n"
                 "23        SOC-03   PO-23           1          3d 04:00       3d 04:00     0  "
                 "                                     1            5d 00:00         5d 00:00\n"
                 "(4 rows)\n");
}

static void
test_report_sla_refuses_a_malformed_or_unknown_province_or_day(void **state)
{
    (void) state;
    ctl("report sla --province 2");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err,
                        "invalid value \"2\" for --province: expected a two-digit province code\n");
    ctl("report sla --province 23 --since 2025-02-29");
    assert_int_equal(run.status, 2);
    assert_string_equal(
        run.err,
        "invalid value \"2025-02-29\" for --since: no such day in the Gregorian calendar\n");
    ctl("report sla --province 99");
    assert_int_equal(run.status, 1);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, "province \"99\" does not exist\n");
    ctl("report sla --format xml");
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err, "invalid value \"xml\" for --format: expected table or csv\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_each_owner_gets_its_own_levels_time_at_submission_and_at_each_forward),
        cmocka_unit_test(test_overdue_lists_what_is_past_its_current_owners_deadline_by_office),
        cmocka_unit_test(test_overdue_refuses_a_malformed_or_unknown_office),
        cmocka_unit_test(
            test_report_sla_gives_counts_medians_and_p90_per_service_and_owning_office),
        cmocka_unit_test(test_report_sla_table_prints_durations_as_days_hours_and_minutes),
        cmocka_unit_test(test_report_sla_refuses_a_malformed_or_unknown_province_or_day),
    };
    return cmocka_run_group_tests_name("integration.sla", tests, setup, teardown);
}
