// Earmarked donations through the real stack (issue 18): neighbourhoods
// imported with referralctl, donations recorded by center 941 over the
// broker (DONATE) and by concurrent clients through three workers, council
// allocations with referralctl and straight from concurrent database
// sessions; then the ledger's rules: idempotent donations, who may give for
// what, over-allocation refused with nothing written, intent honoured, the
// draw order, reconciliation, and the report.
#include "cli_center.h"
#include "it_harness.h"
#include "rr_uuid.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static it_stack stack;
static cli_center *client;
static PGconn *db;
static it_ctl_run run;

// Tehran (2301): Narmak and Khak-e Sefid served by 941, Tollab-e Now by no
// one; Isfahan (1002): Jolfa served by 1924.
static const char REGISTER[] = "county,name,setting,red_line,centers\n"
                               "2301,نارمک,urban,false,941\n"
                               "2301,Khak-e Sefid,urban,true,941\n"
                               "2301,Tollab-e Now,rural,true,\n"
                               "1002,Jolfa,urban,false,1924\n";

static int
setup(void **state)
{
    (void) state;
    if (!it_session_start(&stack, &client, &db, "donations", 56, NULL, NULL)) {
        return -1;
    }
    char path[600];
    (void) snprintf(path, sizeof path, "%s/neighbourhoods.csv", stack.logdir);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(REGISTER, f) == EOF || fclose(f) != 0) {
        return -1;
    }
    char args[700];
    (void) snprintf(args, sizeof args, "neighbourhoods import '%s' --by tester", path);
    it_ctl(&stack, stack.conninfo, args, &run);
    if (run.status != 0 || strstr(run.out, "added 4, changed 0, unchanged 0, refused 0") == NULL) {
        print_message("neighbourhoods import printed:\n%s%s\n", run.out, run.err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

typedef struct gift {
    char id[40];
    Rr__V1__DonateRequest req;
} gift;

static void
gift_init(gift *g, unsigned center, uint64_t rials, const char *bank_ref, int intent)
{
    rr_uuid_generate(g->id);
    rr__v1__donate_request__init(&g->req);
    g->req.donation_id = g->id;
    g->req.center_code = center;
    g->req.amount_rials = rials;
    g->req.bank_reference = (char *) bank_ref;
    g->req.intent = (Rr__V1__DonationIntent) intent;
}

// Sends g through c and returns the reply (rr_wire_free it); fails the
// test when no answer came.
static Rr__V1__DonateReply *
donate(cli_center *c, const gift *g)
{
    Rr__V1__DonateReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_donate(c, &g->req, 10000, 5, &reply, &err);
    if (st != RR_OK) {
        print_message("donate %s: %s %s\n", g->id, rr_status_name((int) err.code), err.message);
        fail();
    }
    return reply;
}

static long long
scalar(const char *sql, const char *param)
{
    const char *p[1] = {param};
    return it_db_scalar(db, sql, param ? 1 : 0, p);
}

// An allocation through referralctl; its exit status, output in run.
static int
allocate(const char *decision, const char *target, long long rials)
{
    char args[700];
    (void) snprintf(args, sizeof args,
                    "donations allocate --province 23 --county 2301 %s --amount %lld --purpose "
                    "'council decision %s' --decision %s --by council",
                    target, rials, decision, decision);
    it_ctl(&stack, stack.conninfo, args, &run);
    return run.status;
}

static long long
balance(const char *earmark)
{
    return scalar("SELECT coalesce((SELECT balance FROM earmark WHERE province_code = '23'"
                  " AND target_key = $1), -1)",
                  earmark);
}

static void
test_a_donation_is_idempotent_by_its_id_and_a_changed_retry_is_a_conflict(void **state)
{
    (void) state;
    gift g;
    gift_init(&g, 941, 5000000, "IT-IDEM-1",
              RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD);
    g.req.neighbourhood = "نارمك"; // Arabic kaf: the canonical name finds نارمک
    Rr__V1__DonateReply *first = donate(client, &g);
    assert_int_equal(first->status, RR__V1__STATUS__STATUS_OK);
    assert_false(first->replayed);
    assert_string_equal(first->province_code, "23");
    assert_non_null(strstr(first->earmark, "neighbourhood:"));
    Rr__V1__DonateReply *again = donate(client, &g);
    assert_int_equal(again->status, RR__V1__STATUS__STATUS_OK);
    assert_true(again->replayed);
    assert_int_equal(again->earmark_id, first->earmark_id);
    assert_int_equal(again->recorded_at_ms, first->recorded_at_ms);
    rr_wire_free(again);
    g.req.amount_rials = 6000000;
    Rr__V1__DonateReply *changed = donate(client, &g);
    assert_int_equal(changed->status, RR__V1__STATUS__STATUS_ECONFLICT);
    assert_string_equal(changed->error->field, "amount_rials");
    assert_string_equal(changed->donation_id, g.id);
    rr_wire_free(changed);
    // Another donation with the same bank transfer is refused too.
    gift other;
    gift_init(&other, 941, 10, "IT-IDEM-1", RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY);
    Rr__V1__DonateReply *reused = donate(client, &other);
    assert_int_equal(reused->status, RR__V1__STATUS__STATUS_ECONFLICT);
    assert_string_equal(reused->error->field, "bank_reference");
    rr_wire_free(reused);
    assert_int_equal(scalar("SELECT count(*) FROM donation WHERE donation_id = $1::uuid", g.id), 1);
    assert_int_equal(scalar("SELECT count(*) FROM ledger_entry WHERE donation_id = $1::uuid", g.id),
                     1);
    char key[64];
    (void) snprintf(key, sizeof key, "%s", first->earmark);
    rr_wire_free(first);
    assert_int_equal(balance(key), 5000000);
    assert_true(it_wait_metric(&stack, "referral_donations_total", 4, 5000));
}

static void
test_a_center_gives_only_for_its_own_county_and_the_neighbourhoods_it_serves(void **state)
{
    (void) state;
    static const struct {
        int intent;
        const char *neighbourhood, *county, *service;
        Rr__V1__Status status;
        const char *field;
    } cases[] = {
        {RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD, "Tollab-e Now", NULL, NULL,
         RR__V1__STATUS__STATUS_EPERM, "neighbourhood"},
        {RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD, "Jolfa", NULL, NULL,
         RR__V1__STATUS__STATUS_ENOTFOUND, "neighbourhood"},
        {RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY, NULL, "1002", NULL,
         RR__V1__STATUS__STATUS_EPERM, "county_code"},
        {RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE, NULL, NULL, "SOC-99",
         RR__V1__STATUS__STATUS_ENOTFOUND, "service_code"},
    };
    long long before = scalar("SELECT count(*) FROM donation", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gift g;
        char ref[32];
        (void) snprintf(ref, sizeof ref, "IT-PERM-%zu", i);
        gift_init(&g, 941, 1000, ref, cases[i].intent);
        g.req.neighbourhood = (char *) cases[i].neighbourhood;
        g.req.county_code = (char *) cases[i].county;
        g.req.service_code = (char *) cases[i].service;
        Rr__V1__DonateReply *r = donate(client, &g);
        assert_int_equal(r->status, cases[i].status);
        assert_string_equal(r->error->field, cases[i].field);
        rr_wire_free(r);
    }
    assert_int_equal(scalar("SELECT count(*) FROM donation", NULL), before);
}

// Gives rials for intent (with its target) from 941; the earmark key.
static void
give(int intent, const char *target, uint64_t rials, const char *ref, char key[64])
{
    gift g;
    gift_init(&g, 941, rials, ref, intent);
    if (intent == RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD) {
        g.req.neighbourhood = (char *) target;
    } else if (intent == RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE) {
        g.req.service_code = (char *) target;
    } else if (intent == RR__V1__DONATION_INTENT__DONATION_INTENT_DOMAIN) {
        g.req.domain = RR__V1__DOMAIN__DOMAIN_REHABILITATION;
    }
    Rr__V1__DonateReply *r = donate(client, &g);
    assert_int_equal(r->status, RR__V1__STATUS__STATUS_OK);
    (void) snprintf(key, 64, "%s", r->earmark);
    rr_wire_free(r);
}

static void
test_allocations_draw_neighbourhood_then_county_then_service_domain_and_unrestricted(void **state)
{
    (void) state;
    // Balances now: Narmak 5,000,000 (first test). Add one pot of each kind.
    char narmak[64], khak[64], county[64], service[64], domain[64], general[64];
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD, "نارمک", 1000000, "IT-ORD-1",
         narmak);
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD, "Khak-e Sefid", 700000, "IT-ORD-2",
         khak);
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY, NULL, 2000000, "IT-ORD-3", county);
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE, "RHB-02", 300000, "IT-ORD-4", service);
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_DOMAIN, NULL, 400000, "IT-ORD-5", domain);
    give(RR__V1__DONATION_INTENT__DONATION_INTENT_UNRESTRICTED, NULL, 900000, "IT-ORD-6", general);
    assert_int_equal(balance(narmak), 6000000);

    // More than Narmak may use (its own, the county's, the unrestricted:
    // 8,900,000; not Khak-e Sefid's, not the service's nor the domain's):
    // refused, and nothing is written.
    long long entries = scalar("SELECT count(*) FROM ledger_entry", NULL);
    assert_int_equal(allocate("D-OVER", "--neighbourhood نارمک", 8900001), 1);
    assert_non_null(strstr(run.err, "cannot allocate 8900001 rials for decision \"D-OVER\": the "
                                    "funds it may use hold 8900000 rials"));
    assert_int_equal(scalar("SELECT count(*) FROM ledger_entry", NULL), entries);
    assert_int_equal(scalar("SELECT count(*) FROM allocation", NULL), 0);
    assert_int_equal(balance(narmak), 6000000);

    // Narmak's own funds first, then the county's.
    assert_int_equal(allocate("D-1", "--neighbourhood نارمک", 6500000), 0);
    assert_int_equal(balance(narmak), 0);
    assert_int_equal(balance(county), 1500000);
    assert_int_equal(balance(khak), 700000); // another neighbourhood's intent is kept
    assert_int_equal(balance(service), 300000);
    // The same decision again is answered as recorded; other content refused.
    assert_int_equal(allocate("D-1", "--neighbourhood نارمک", 6500000), 0);
    assert_non_null(strstr(run.out, "already recorded"));
    assert_int_equal(allocate("D-1", "--neighbourhood نارمک", 6400000), 1);
    assert_int_equal(balance(county), 1500000);

    // A wheelchair (RHB-02) for the county: county, then the service's,
    // then the domain's, then the unrestricted funds.
    assert_int_equal(allocate("D-2", "--service RHB-02", 2300000), 0);
    assert_int_equal(balance(county), 0);
    assert_int_equal(balance(service), 0);
    assert_int_equal(balance(domain), 0);
    assert_int_equal(balance(general), 800000);
    assert_non_null(strstr(run.out, "service:RHB-02 300000"));
    // A social service cannot use what was given for rehabilitation (none
    // is left anyway) nor Khak-e Sefid's: only the unrestricted 800,000.
    assert_int_equal(allocate("D-3", "--service SOC-08", 800001), 1);
    assert_int_equal(allocate("D-4", "--neighbourhood 'Khak-e Sefid' --domain social", 1500000), 0);
    assert_int_equal(balance(khak), 0);
    assert_int_equal(balance(general), 0);
    assert_int_equal(
        scalar("SELECT count(*) FROM earmark_reconciliation WHERE NOT reconciled", NULL), 0);
}

typedef struct donor_thread {
    pthread_t thread;
    int index;
    long recorded, replayed, refused;
    long long rials; // sum of the donations acknowledged as recorded
} donor_thread;

enum { DONORS = 6, GIFTS = 40, COUNCILS = 2, DECISIONS = 30 };

static void *
donor_main(void *arg)
{
    donor_thread *t = arg;
    const char *ep[1] = {stack.frontend};
    cli_center *c = cli_center_new(ep, 1);
    static const int intents[] = {RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD,
                                  RR__V1__DONATION_INTENT__DONATION_INTENT_COUNTY,
                                  RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE,
                                  RR__V1__DONATION_INTENT__DONATION_INTENT_UNRESTRICTED};
    for (int i = 0; c != NULL && i < GIFTS; i++) {
        gift g;
        char ref[40];
        (void) snprintf(ref, sizeof ref, "IT-LOAD-%d-%d", t->index, i);
        uint64_t rials = 1000 + (uint64_t) ((t->index * 7919 + i * 104729) % 900000);
        gift_init(&g, 941, rials, ref, intents[(t->index + i) % 4]);
        if (g.req.intent == RR__V1__DONATION_INTENT__DONATION_INTENT_NEIGHBOURHOOD) {
            g.req.neighbourhood = "نارمک";
        } else if (g.req.intent == RR__V1__DONATION_INTENT__DONATION_INTENT_SERVICE) {
            g.req.service_code = "RHB-02";
        }
        // Each donation twice, as a center retrying after a lost answer.
        for (int copy = 0; copy < 2; copy++) {
            Rr__V1__DonateReply *r = NULL;
            rr_wire_error err = {0};
            if (cli_center_donate(c, &g.req, 10000, 5, &r, &err) != RR_OK) {
                t->refused++;
                continue;
            }
            if (r->status != RR__V1__STATUS__STATUS_OK) {
                t->refused++;
            } else if (r->replayed) {
                t->replayed++;
            } else {
                t->recorded++;
                t->rials += (long long) rials;
            }
            rr_wire_free(r);
        }
    }
    cli_center_destroy(&c);
    return NULL;
}

typedef struct council_thread {
    pthread_t thread;
    int index;
    long recorded, refused_funds, failed;
    long long rials;
} council_thread;

static void *
council_main(void *arg)
{
    council_thread *t = arg;
    PGconn *conn = PQconnectdb(stack.conninfo);
    PGresult *pin = PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'referral', false)");
    if (PQresultStatus(pin) != PGRES_TUPLES_OK) {
        t->failed = DECISIONS;
    }
    PQclear(pin);
    for (int i = 0; t->failed == 0 && PQstatus(conn) == CONNECTION_OK && i < DECISIONS; i++) {
        char decision[40], amount[24];
        (void) snprintf(decision, sizeof decision, "LOAD-%d-%d", t->index, i);
        // 60 decisions of 1 to 5 million rials ask for more than the
        // donations bring (about 100 million): some must be refused.
        long long rials = 1000000 + (long long) ((t->index * 31337 + i * 77279) % 4000000);
        (void) snprintf(amount, sizeof amount, "%lld", rials);
        const char *p[9] = {"23",     decision,
                            amount,   "load",
                            "2301",   i % 3 == 0 ? "نارمک" : NULL,
                            NULL,     i % 3 == 1 ? "RHB-02" : NULL,
                            "council"};
        PGresult *res = PQexecParams(conn,
                                     "SELECT allocation_id FROM allocate_donations($1, $2,"
                                     " $3::bigint, $4, $5, $6, $7, $8, $9)",
                                     9, NULL, p, NULL, NULL, 0);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            t->recorded++;
            t->rials += rials;
        } else if (state != NULL && strcmp(state, "23514") == 0) {
            t->refused_funds++;
        } else {
            print_message("allocation %s failed: %s", decision, PQresultErrorMessage(res));
            t->failed++;
        }
        PQclear(res);
    }
    PQfinish(conn);
    return NULL;
}

static void
test_the_ledger_reconciles_after_concurrent_donations_and_allocations(void **state)
{
    (void) state;
    assert_true(it_worker_start(&stack, "any", NULL) >= 0); // four workers in all
    assert_true(it_wait_workers(&stack, 4, 10000));
    long long before_donated = scalar("SELECT coalesce(sum(amount), 0) FROM donation", NULL);
    long long before_allocated = scalar("SELECT coalesce(sum(amount), 0) FROM allocation", NULL);
    donor_thread donors[DONORS];
    council_thread councils[COUNCILS];
    memset(donors, 0, sizeof donors);
    memset(councils, 0, sizeof councils);
    long long t0 = it_now_ms();
    for (int i = 0; i < DONORS; i++) {
        donors[i].index = i;
        assert_int_equal(pthread_create(&donors[i].thread, NULL, donor_main, &donors[i]), 0);
    }
    // The council meets once some money has come in (bounded wait).
    for (int waited = 0; waited < 200 && scalar("SELECT count(*) FROM donation WHERE"
                                                " bank_reference LIKE 'IT-LOAD-%'",
                                                NULL) < DONORS * GIFTS / 4;
         waited++) {
        it_sleep_ms(25);
    }
    for (int i = 0; i < COUNCILS; i++) {
        councils[i].index = i;
        assert_int_equal(pthread_create(&councils[i].thread, NULL, council_main, &councils[i]), 0);
    }
    long recorded = 0, replayed = 0, refused = 0, allocs = 0, short_funds = 0, failed = 0;
    long long rials = 0, allocated = 0;
    for (int i = 0; i < DONORS; i++) {
        assert_int_equal(pthread_join(donors[i].thread, NULL), 0);
        recorded += donors[i].recorded;
        replayed += donors[i].replayed;
        refused += donors[i].refused;
        rials += donors[i].rials;
    }
    for (int i = 0; i < COUNCILS; i++) {
        assert_int_equal(pthread_join(councils[i].thread, NULL), 0);
        allocs += councils[i].recorded;
        short_funds += councils[i].refused_funds;
        failed += councils[i].failed;
        allocated += councils[i].rials;
    }
    long long took = it_now_ms() - t0;
    long long donated = scalar("SELECT coalesce(sum(amount), 0) FROM donation", NULL);
    long long in_allocations = scalar("SELECT coalesce(sum(amount), 0) FROM allocation", NULL);
    print_message("concurrent ledger: %d donors x %d donations (each sent twice) through 4 "
                  "workers and %d council sessions x %d decisions in %lld ms: %ld recorded "
                  "(%lld rials), %ld replayed, %ld refused; %ld allocations (%lld rials), %ld "
                  "refused for lack of funds, %ld failed\n",
                  DONORS, GIFTS, COUNCILS, DECISIONS, took, recorded, rials, replayed, refused,
                  allocs, allocated, short_funds, failed);
    assert_int_equal(recorded, DONORS * GIFTS);
    assert_int_equal(replayed, DONORS * GIFTS);
    assert_int_equal(refused, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(allocs + short_funds, COUNCILS * DECISIONS);
    assert_true(allocs > 0);
    assert_true(short_funds > 0); // the limit was reached while donations kept coming
    // Every acknowledged donation is there once; the money adds up.
    assert_int_equal(donated - before_donated, rials);
    assert_int_equal(in_allocations - before_allocated, allocated);
    assert_int_equal(
        scalar("SELECT count(*) FROM donation WHERE bank_reference LIKE 'IT-LOAD-%'", NULL),
        DONORS * GIFTS);
    assert_int_equal(
        scalar("SELECT coalesce(sum(amount), 0) FROM ledger_entry WHERE amount > 0", NULL),
        donated);
    assert_int_equal(
        scalar("SELECT coalesce(-sum(amount), 0) FROM ledger_entry WHERE amount < 0", NULL),
        in_allocations);
    assert_int_equal(scalar("SELECT count(*) FROM allocation a WHERE a.amount <> -(SELECT"
                            " sum(l.amount) FROM ledger_entry l WHERE l.allocation_id = a.id)",
                            NULL),
                     0);
    assert_int_equal(
        scalar("SELECT count(*) FROM earmark_reconciliation WHERE NOT reconciled", NULL), 0);
    assert_int_equal(scalar("SELECT count(*) FROM earmark WHERE balance < 0", NULL), 0);
    assert_int_equal(scalar("SELECT sum(balance) FROM earmark", NULL), donated - in_allocations);
}

static void
test_the_report_shows_each_earmark_the_counties_and_the_allocations_in_solar_hijri(void **state)
{
    (void) state;
    it_ctl(&stack, stack.conninfo, "report donations --province 23", &run);
    if (run.status != 0 || strstr(run.out, "earmarks") == NULL ||
        strstr(run.out, "Khak-e Sefid") == NULL || strstr(run.out, "by county") == NULL ||
        strstr(run.out, "D-2") == NULL || strstr(run.out, "reconciled: ") == NULL ||
        strstr(run.out, " 14") == NULL) { // days like 1405/09/05
        print_message("report donations printed:\n%s%s\n", run.out, run.err);
        fail();
    }
    long long balance_sum =
        scalar("SELECT sum(balance) FROM earmark WHERE province_code = '23'", NULL);
    char total[64];
    (void) snprintf(total, sizeof total, " %lld\n", balance_sum);
    assert_non_null(strstr(strstr(run.out, "\ntotal "), total)); // the total row's balance
    it_ctl(&stack, stack.conninfo,
           "report donations --province 23 --calendar gregorian --format csv", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "decision,day,amount,county,neighbourhood"));
    assert_non_null(strstr(run.out, ",20")); // Gregorian days 2026-...
    it_ctl(&stack, stack.conninfo, "report donations --province 99", &run);
    assert_int_equal(run.status, 1);
    it_ctl(&stack, stack.conninfo, "neighbourhoods list --province 23 --red-line", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "Khak-e Sefid"));
    assert_non_null(strstr(run.out, "Tollab-e Now"));
    assert_null(strstr(run.out, "نارمک"));
    // The registry's changes are in the audit, with the importing actor.
    assert_int_equal(scalar("SELECT count(*) FROM reference_change WHERE entity = 'neighbourhood'"
                            " AND action = 'insert' AND actor = 'tester'",
                            NULL),
                     4);
    assert_int_equal(scalar("SELECT count(*) FROM reference_change"
                            " WHERE entity = 'neighbourhood_center' AND action = 'insert'",
                            NULL),
                     4); // 941 twice, 1924 once in setup; 941 for Narmak-e Jonubi (roles)
    it_ctl(&stack, stack.conninfo, "reference-log --entity neighbourhood", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, "Khak-e Sefid"));
}

static void
test_a_referral_names_a_neighbourhood_of_its_centers_county(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "RHB-02", "nbhd-1");
    r.req.neighbourhood = "نارمك"; // Arabic kaf: the canonical name finds نارمک
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    const char *id[1] = {r.request_id};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT (n.name = 'نارمک')::int FROM referral r"
                                  " JOIN referral_neighbourhood rn ON rn.referral_id = r.id"
                                  " JOIN neighbourhood n ON n.id = rn.neighbourhood_id"
                                  " WHERE r.request_id = $1::uuid",
                                  1, id),
                     1);
    reply = it_submit(client, &r.req); // a retry links nothing twice
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    rr_wire_free(reply);
    assert_int_equal(it_db_scalar(db, "SELECT count(*) FROM referral_neighbourhood", 0, NULL), 1);
    // Isfahan's Jolfa is not in Tehran: refused, nothing recorded.
    it_request other;
    it_request_init(&other, 941, "RHB-02", "nbhd-2");
    other.req.neighbourhood = "Jolfa";
    reply = it_submit(client, &other.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_REJECTED);
    assert_int_equal(reply->error->code, RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_string_equal(reply->error->field, "neighbourhood");
    assert_string_equal(reply->error->message,
                        "unrecognized neighbourhood \"Jolfa\" in county \"2301\"");
    rr_wire_free(reply);
    const char *oid[1] = {other.request_id};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral WHERE request_id = $1::uuid", 1, oid), 0);
    // The needs report counts it in the neighbourhood it names, not its
    // center's ("Narmak" in the seed).
    it_ctl(&stack, stack.conninfo, "report needs --county 2301 --format csv", &run);
    assert_int_equal(run.status, 0);
    assert_non_null(strstr(run.out, ",نارمک,rehabilitation,RHB-02,1,"));
}

// The production roles (migration 0005, 0011): workers record donations and
// link neighbourhoods as referral_worker, operators import and allocate as
// referral_admin; neither may rewrite the ledger.
static void
test_the_worker_and_admin_roles_may_do_their_part_and_no_more(void **state)
{
    (void) state;
    it_db_exec(db, "SET ROLE referral_worker");
    assert_int_equal(scalar("SELECT (outcome = 'ok')::int FROM record_donation("
                            "'9a1f1c5e-2b7d-4e0a-8c3f-5d6e7f8a9b0c', 941, 1000, 'IT-ROLE-1', NULL,"
                            " 'unrestricted', NULL, NULL, NULL, NULL, 'center:941')",
                            NULL),
                     1);
    PGresult *res = PQexec(db, "UPDATE donation SET amount = 1 WHERE bank_reference = 'IT-ROLE-1'");
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK); // append-only, and no grant
    PQclear(res);
    it_db_exec(db, "RESET ROLE");
    it_db_exec(db, "SET ROLE referral_admin");
    assert_int_equal(scalar("SELECT count(*) FROM allocate_donations('23', 'D-ROLE', 1000, 'role',"
                            " '2301', NULL, NULL, NULL, 'tester')",
                            NULL),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM (SELECT import_neighbourhood('2301', 'Narmak-e"
                            " Jonubi', 'urban', false, '{941}')) x",
                            NULL),
                     1);
    res = PQexec(db, "DELETE FROM ledger_entry");
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    it_db_exec(db, "RESET ROLE");
    assert_int_equal(
        scalar("SELECT count(*) FROM earmark_reconciliation WHERE NOT reconciled", NULL), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_donation_is_idempotent_by_its_id_and_a_changed_retry_is_a_conflict),
        cmocka_unit_test(
            test_a_center_gives_only_for_its_own_county_and_the_neighbourhoods_it_serves),
        cmocka_unit_test(
            test_allocations_draw_neighbourhood_then_county_then_service_domain_and_unrestricted),
        cmocka_unit_test(test_the_ledger_reconciles_after_concurrent_donations_and_allocations),
        cmocka_unit_test(test_a_referral_names_a_neighbourhood_of_its_centers_county),
        cmocka_unit_test(test_the_worker_and_admin_roles_may_do_their_part_and_no_more),
        cmocka_unit_test(
            test_the_report_shows_each_earmark_the_counties_and_the_allocations_in_solar_hijri),
    };
    return cmocka_run_group_tests_name("integration.donations", tests, setup, teardown);
}
