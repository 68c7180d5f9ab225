// The referral domain end to end: household files and no parallel work,
// routing rules reloaded live, the closed loop of status changes, the
// follow-up cursor, and deadlines (priority in the broker:
// it_priority_test.c). Long on purpose: its cases share one stack, which
// takes seconds to start.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static it_stack stack;
static cli_center *client;
static PGconn *db;

static int
setup(void **state)
{
    (void) state;
    const char *opts[] = {"--log-level", "debug", "--escalate-every-ms", "100", NULL};
    return it_session_start(&stack, &client, &db, "domain", 8, NULL, opts) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

// Submits and returns the new referral's id ("R-<n>") into out.
static void
submit_ok(const Rr__V1__SubmitRequest *req, char *out, size_t cap)
{
    Rr__V1__SubmitReply *reply = it_submit(client, req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    snprintf(out, cap, "%s", reply->referral_id);
    rr_wire_free(reply);
}

// Sends an update; returns the reply (caller frees).
static Rr__V1__UpdateReply *
update(const char *referral, Rr__V1__Domain domain, Rr__V1__ReferralStatus to, const char *office,
       uint32_t center, uint32_t version, const char *reason, const char *forward_to)
{
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = (char *) referral;
    u.domain = domain;
    u.to_status = to;
    u.office_code = (char *) (office ? office : "");
    u.center_code = center;
    u.expected_version = version;
    u.reason = (char *) (reason ? reason : "");
    u.forward_to = (char *) (forward_to ? forward_to : "");
    Rr__V1__UpdateReply *reply = NULL;
    rr_wire_error err = {0};
    if (cli_center_update(client, &u, 10000, 3, &reply, &err) != RR_OK) {
        fail_msg("update failed: %s", err.message);
    }
    assert_string_equal(reply->update_id, uid);
    return reply;
}

// The events office reads of referral with STATUS; -1 when it may not.
static long
events_read_by_office(const char *referral, const char *office)
{
    Rr__V1__StatusQuery q = RR__V1__STATUS_QUERY__INIT;
    q.key_case = RR__V1__STATUS_QUERY__KEY_REFERRAL_ID;
    q.referral_id = (char *) referral;
    q.office_code = (char *) office;
    Rr__V1__StatusReply *s = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_status(client, &q, 10000, 3, &s, &err), RR_OK);
    long n = -1;
    if (s->status == RR__V1__STATUS__STATUS_OK) {
        n = (long) s->n_events;
    } else {
        assert_int_equal(s->status, RR__V1__STATUS__STATUS_ENOTFOUND);
    }
    rr_wire_free(s);
    return n;
}

// The kinds of referral's events in office's FOLLOW stream from the start,
// space-separated, in order (every page read).
static void
followed_by_office(const char *office, const char *referral, char *out, size_t cap)
{
    out[0] = '\0';
    size_t len = 0;
    uint64_t after = 0;
    for (int page = 0; page < 100; page++) {
        Rr__V1__FollowRequest f = RR__V1__FOLLOW_REQUEST__INIT;
        f.office_code = (char *) office;
        f.after_seq = after;
        f.limit = 1000;
        Rr__V1__FollowReply *reply = NULL;
        rr_wire_error err = {0};
        assert_int_equal(cli_center_follow(client, &f, 10000, 3, &reply, &err), RR_OK);
        assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
        for (size_t i = 0; i < reply->n_events; i++) {
            const Rr__V1__Event *e = reply->events[i];
            if (strcmp(e->referral_id, referral) == 0) {
                int n = snprintf(out + len, cap - len, "%s%s", len ? " " : "", e->kind);
                assert_true(n > 0 && (size_t) n < cap - len);
                len += (size_t) n;
            }
        }
        bool more = reply->has_more;
        after = reply->last_seq;
        rr_wire_free(reply);
        if (!more) {
            return;
        }
    }
    fail_msg("the follow stream of %s did not end", office);
}

static long long
events_of(const char *referral)
{
    const char *p[] = {referral + 2};
    return it_db_scalar(db, "SELECT count(*) FROM referral_event WHERE referral_id = $1::bigint", 1,
                        p);
}

// ---- no parallel work ------------------------------------------------------------

typedef struct racer {
    it_request req;
    int outcome;
    char referral_id[32];
} racer;

static void *
race(void *arg)
{
    racer *r = arg;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err;
    if (c != NULL && cli_center_submit(c, &r->req.req, 10000, 3, &reply, &err) == RR_OK) {
        r->outcome = reply->outcome;
        snprintf(r->referral_id, sizeof r->referral_id, "%s", reply->referral_id);
        rr_wire_free(reply);
    }
    cli_center_destroy(&c);
    return NULL;
}

static void
test_two_centers_racing_one_household_and_service_make_one_open_referral(void **state)
{
    (void) state;
    for (int round = 0; round < 5; round++) {
        racer a = {.outcome = -1}, b = {.outcome = -1};
        char household[40];
        snprintf(household, sizeof household, "H-RACE-%d", round);
        // SOC-04, a home visit, is per household (docs/DOMAIN.md).
        it_request_init(&a.req, 941, "SOC-04", "x");
        it_request_init(&b.req, 1924, "SOC-04", "y");
        snprintf(a.req.household, sizeof a.req.household, "%s", household);
        snprintf(b.req.household, sizeof b.req.household, "%s", household);
        b.req.req.national_id = "1234567891";
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
        assert_int_equal(pthread_join(ta, NULL), 0);
        assert_int_equal(pthread_join(tb, NULL), 0);
        // One accepted, one told duplicate, both name the same referral.
        assert_int_equal(a.outcome + b.outcome,
                         RR__V1__OUTCOME__OUTCOME_ACCEPTED + RR__V1__OUTCOME__OUTCOME_DUPLICATE);
        assert_string_equal(a.referral_id, b.referral_id);
        const char *p[] = {household};
        assert_int_equal(it_db_scalar(db,
                                      "SELECT count(*) FROM referral WHERE household_id ="
                                      " canonical_text($1) AND service_code = 'SOC-04'"
                                      " AND status NOT IN"
                                      " ('completed','rejected','failed','cancelled')",
                                      1, p),
                         1);
        // Only the accepted request's client joins the file: a duplicate
        // answer writes nothing but itself.
        assert_int_equal(it_db_scalar(db,
                                      "SELECT count(*) FROM person WHERE household_id ="
                                      " canonical_text($1)",
                                      1, p),
                         1);
        assert_int_equal(it_db_scalar(db,
                                      "SELECT count(*) FROM duplicate_answer d JOIN referral r"
                                      " ON r.id = d.referral_id WHERE r.household_id ="
                                      " canonical_text($1)",
                                      1, p),
                         1);
    }
}

static void
test_once_the_open_referral_is_final_a_new_one_can_be_opened(void **state)
{
    (void) state;
    it_request first;
    it_request_init(&first, 941, "PRV-06", "final");
    char r1[32];
    submit_ok(&first.req, r1, sizeof r1);

    it_request again;
    it_request_init(&again, 941, "PRV-06", "final");
    Rr__V1__SubmitReply *dup = it_submit(client, &again.req);
    assert_int_equal(dup->outcome, RR__V1__OUTCOME__OUTCOME_DUPLICATE);
    assert_string_equal(dup->referral_id, r1);
    assert_string_equal(dup->office_code, "CO-2301");
    rr_wire_free(dup);

    Rr__V1__UpdateReply *u = update(r1, RR__V1__DOMAIN__DOMAIN_PREVENTION,
                                    RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REJECTED, "CO-2301", 0,
                                    1, "outside the program's criteria", NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(u);

    it_request third;
    it_request_init(&third, 941, "PRV-06", "final");
    char r3[32];
    submit_ok(&third.req, r3, sizeof r3);
    assert_string_not_equal(r3, r1);
}

// ---- closed loop ---------------------------------------------------------------------

static void
test_an_office_walks_a_referral_to_completed_with_a_versioned_history(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 2441, "RHB-02", "loop");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    const Rr__V1__Domain D = RR__V1__DOMAIN__DOMAIN_REHABILITATION;
    const struct {
        Rr__V1__ReferralStatus to;
        const char *reason;
    } steps[] = {
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED, NULL},
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, NULL},
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_IN_PROGRESS, NULL},
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ON_HOLD, "waiting for the medical report"},
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_IN_PROGRESS, NULL},
        {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_COMPLETED, "wheelchair delivered"},
    };
    for (uint32_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        Rr__V1__UpdateReply *u =
            update(id, D, steps[i].to, "CO-0916", 0, i + 1, steps[i].reason, NULL);
        if (u->status != RR__V1__STATUS__STATUS_OK) {
            fail_msg("step %u refused: %s", i, u->error ? u->error->message : "");
        }
        assert_non_null(u->referral);
        assert_int_equal(u->referral->status, steps[i].to);
        assert_int_equal(u->referral->version, i + 2);
        assert_true(u->event_id > 0);
        rr_wire_free(u);
    }
    assert_int_equal(events_of(id), 7);
    const char *p[] = {id + 2};
    assert_int_equal(
        it_db_scalar(db,
                     "SELECT count(*) FROM referral_event WHERE referral_id = $1::bigint"
                     " AND kind = 'pause' AND actor = 'office:CO-0916'"
                     " AND reason = 'waiting for the medical report'",
                     1, p),
        1);
}

static void
test_illegal_foreign_and_stale_updates_are_refused_and_leave_no_event(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "SOC-02", "refuse");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    const Rr__V1__Domain D = RR__V1__DOMAIN__DOMAIN_SOCIAL;

    // Completed straight from requested: not in the table; the error names the state.
    Rr__V1__UpdateReply *u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_COMPLETED,
                                    "CO-2301", 0, 1, "done", NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_ESTATE);
    assert_non_null(strstr(u->error->message, "it is requested"));
    assert_int_equal(u->referral->version, 1);
    rr_wire_free(u);

    // Another office.
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, "CO-1002", 0, 1, NULL,
               NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_EPERM);
    assert_non_null(strstr(u->error->message, "owned by office \"CO-2301\""));
    rr_wire_free(u);

    // A stale version.
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, "CO-2301", 0, 7, NULL,
               NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_ECONFLICT);
    rr_wire_free(u);

    // A reject without a reason.
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REJECTED, "CO-2301", 0, 1, NULL,
               NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(u->error->field, "reason");
    rr_wire_free(u);

    // Another center may not even see it; a center may not accept.
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED, NULL, 1924, 1, "mistake",
               NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_ENOTFOUND);
    assert_null(u->referral);
    rr_wire_free(u);
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED, NULL, 941, 1, NULL, NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_EPERM);
    rr_wire_free(u);

    assert_int_equal(events_of(id), 1); // only the submission

    // Its own center may withdraw it.
    u = update(id, D, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED, NULL, 941, 1,
               "the family moved away", NULL);
    assert_int_equal(u->status, RR__V1__STATUS__STATUS_OK);
    assert_int_equal(u->referral->status, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_CANCELLED);
    rr_wire_free(u);
    const char *p[] = {id + 2};
    assert_int_equal(
        it_db_scalar(db,
                     "SELECT count(*) FROM referral_event WHERE referral_id = $1::bigint"
                     " AND kind = 'withdraw' AND actor = 'center:941'",
                     1, p),
        1);
}

static void
test_a_forward_changes_the_owner_and_a_retried_update_is_applied_once(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 941, "SOC-03", "forward");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = id;
    u.domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED;
    u.office_code = "CO-2301";
    u.expected_version = 1;
    u.reason = "the family lives in Rey";
    u.forward_to = "CO-2303";
    uint64_t first_event = 0;
    for (int i = 0; i < 2; i++) { // the same update_id twice
        Rr__V1__UpdateReply *reply = NULL;
        rr_wire_error err;
        assert_int_equal(cli_center_update(client, &u, 10000, 3, &reply, &err), RR_OK);
        assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
        assert_string_equal(reply->referral->office_code, "CO-2303");
        assert_int_equal(reply->referral->version, 2);
        if (i == 0) {
            first_event = reply->event_id;
        } else {
            assert_true(reply->event_id == first_event);
        }
        rr_wire_free(reply);
    }
    assert_int_equal(events_of(id), 2);
    // The same update_id with another reason is another change: refused,
    // naming what differs, and nothing written.
    u.reason = "the family lives in Varamin";
    Rr__V1__UpdateReply *changed = NULL;
    rr_wire_error changed_err;
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &changed, &changed_err), RR_OK);
    assert_int_equal(changed->status, RR__V1__STATUS__STATUS_ECONFLICT);
    assert_string_equal(changed->error->field, "update_id");
    assert_non_null(strstr(changed->error->message, "(its reason differs)"));
    rr_wire_free(changed);
    u.reason = "the family lives in Rey";
    assert_int_equal(events_of(id), 2);
    // The new owner gets the full time to accept.
    const char *p[] = {id + 2};
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE id = $1::bigint AND"
                                  " accept_deadline > now() + interval '9 days'"
                                  " AND escalated_at IS NULL",
                                  1, p),
                     1);
    // The same update_id on another referral is not mistaken for a retry.
    it_request other;
    it_request_init(&other, 941, "SOC-05", "forward-other");
    char other_id[32];
    submit_ok(&other.req, other_id, sizeof other_id);
    u.referral_id = other_id;
    Rr__V1__UpdateReply *reused = NULL;
    rr_wire_error err;
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &reused, &err), RR_OK);
    assert_int_equal(reused->status, RR__V1__STATUS__STATUS_ECONFLICT);
    assert_string_equal(reused->error->field, "update_id");
    assert_null(reused->referral);
    rr_wire_free(reused);
    assert_int_equal(events_of(other_id), 1);
    // The old owner has no say any more.
    Rr__V1__UpdateReply *old =
        update(id, RR__V1__DOMAIN__DOMAIN_SOCIAL, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED,
               "CO-2301", 0, 2, NULL, NULL);
    assert_int_equal(old->status, RR__V1__STATUS__STATUS_EPERM);
    rr_wire_free(old);
    // The new owner acts on it; each office reads what it owned.
    Rr__V1__UpdateReply *taken =
        update(id, RR__V1__DOMAIN__DOMAIN_SOCIAL, RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED,
               "CO-2303", 0, 2, NULL, NULL);
    assert_int_equal(taken->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(taken);
    assert_int_equal(events_read_by_office(id, "CO-2303"), 3);  // all of it
    assert_int_equal(events_read_by_office(id, "CO-2301"), 2);  // up to its forward
    assert_int_equal(events_read_by_office(id, "CO-2302"), -1); // never its
    // Each office's FOLLOW stream: the old owner sees the submission and the
    // forward that took it away, then nothing; the new one the arrival on.
    char kinds[64];
    followed_by_office("CO-2301", id, kinds, sizeof kinds);
    assert_string_equal(kinds, "submit forward");
    followed_by_office("CO-2303", id, kinds, sizeof kinds);
    assert_string_equal(kinds, "forward accept");
    followed_by_office("CO-2302", id, kinds, sizeof kinds);
    assert_string_equal(kinds, "");
}

// ---- follow-up ---------------------------------------------------------------------

enum { FOLLOW_REFERRALS = 250, FOLLOW_CENTER = 6010 };

typedef struct follower {
    volatile int stop;
    uint64_t seqs[2000];
    uint64_t ids[2000];
    size_t count;
    uint64_t cursor;
    int errors;
} follower;

// Pages through changes from a cursor until told to stop and caught up.
static void *
follow_loop(void *arg)
{
    follower *f = arg;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    long long deadline = it_now_ms() + 120000;
    bool final_pass = false;
    while (c != NULL && it_now_ms() < deadline) {
        bool stopping = f->stop;
        Rr__V1__FollowRequest q = RR__V1__FOLLOW_REQUEST__INIT;
        char qid[40];
        rr_uuid_generate(qid);
        q.query_id = qid;
        q.center_code = FOLLOW_CENTER;
        q.after_seq = f->cursor;
        q.limit = 100;
        Rr__V1__FollowReply *reply = NULL;
        rr_wire_error err;
        if (cli_center_follow(c, &q, 10000, 3, &reply, &err) != RR_OK ||
            reply->status != RR__V1__STATUS__STATUS_OK) {
            f->errors++;
            if (reply != NULL) {
                rr_wire_free(reply);
            }
            break;
        }
        for (size_t i = 0; i < reply->n_events && f->count < 2000; i++) {
            f->seqs[f->count] = reply->events[i]->seq;
            f->ids[f->count] = reply->events[i]->event_id;
            f->count++;
        }
        f->cursor = reply->last_seq;
        bool more = reply->has_more;
        rr_wire_free(reply);
        if (more) {
            continue;
        }
        if (final_pass) {
            break;
        }
        if (stopping) {
            final_pass = true; // one more page after the writers finished
            continue;
        }
        it_sleep_ms(20);
    }
    cli_center_destroy(&c);
    return NULL;
}

typedef struct writer {
    int index;
    int errors;
} writer;

static void *
write_loop(void *arg)
{
    writer *w = arg;
    const char *eps[] = {stack.frontend};
    cli_center *c = cli_center_new(eps, 1);
    for (int i = w->index; c != NULL && i < FOLLOW_REFERRALS; i += 4) {
        it_request r;
        char tag[16];
        snprintf(tag, sizeof tag, "F%03d", i);
        it_request_init(&r, FOLLOW_CENTER, i % 2 ? "SOC-07" : "PRV-04", tag);
        Rr__V1__SubmitReply *sr = NULL;
        rr_wire_error err;
        if (cli_center_submit(c, &r.req, 10000, 3, &sr, &err) != RR_OK ||
            sr->outcome != RR__V1__OUTCOME__OUTCOME_ACCEPTED) {
            w->errors++;
            if (sr != NULL) {
                rr_wire_free(sr);
            }
            continue;
        }
        char id[32];
        snprintf(id, sizeof id, "%s", sr->referral_id);
        Rr__V1__Domain d = sr->domain;
        rr_wire_free(sr);
        const Rr__V1__ReferralStatus to[] = {RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_RECEIVED,
                                             RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED,
                                             RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_IN_PROGRESS};
        for (uint32_t k = 0; k < 3; k++) {
            Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
            char uid[40];
            rr_uuid_generate(uid);
            u.update_id = uid;
            u.referral_id = id;
            u.domain = d;
            u.to_status = to[k];
            u.office_code = "CO-0105";
            u.expected_version = k + 1;
            u.reason = "";
            u.forward_to = "";
            Rr__V1__UpdateReply *ur = NULL;
            if (cli_center_update(c, &u, 10000, 3, &ur, &err) != RR_OK ||
                ur->status != RR__V1__STATUS__STATUS_OK) {
                w->errors++;
            }
            if (ur != NULL) {
                rr_wire_free(ur);
            }
        }
    }
    cli_center_destroy(&c);
    return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void
test_a_center_catches_up_on_a_thousand_changes_with_no_gap_or_repeat(void **state)
{
    (void) state;
    // A follower reads while four writers make 250 referrals x 4 events.
    static follower f;
    memset(&f, 0, sizeof f);
    writer w[4];
    pthread_t tf, tw[4];
    assert_int_equal(pthread_create(&tf, NULL, follow_loop, &f), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (writer){i, 0};
        assert_int_equal(pthread_create(&tw[i], NULL, write_loop, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(tw[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
    }
    f.stop = 1;
    assert_int_equal(pthread_join(tf, NULL), 0);
    assert_int_equal(f.errors, 0);
    assert_int_equal(f.count, 1000);
    for (size_t i = 1; i < f.count; i++) {
        assert_true(f.seqs[i] > f.seqs[i - 1]); // in order, no repeat
    }
    // Exactly the center's events in the database: no gap.
    char center[16];
    snprintf(center, sizeof center, "%d", FOLLOW_CENTER);
    const char *p[] = {center};
    assert_int_equal(
        it_db_scalar(db, "SELECT count(*) FROM referral_event WHERE center_code = $1::integer", 1,
                     p),
        1000);
    qsort(f.ids, f.count, sizeof f.ids[0], cmp_u64);
    for (size_t i = 1; i < f.count; i++) {
        assert_true(f.ids[i] != f.ids[i - 1]);
    }
    // And a center that was offline catches up from its cursor alone.
    follower late;
    memset(&late, 0, sizeof late);
    late.stop = 1;
    late.cursor = f.seqs[499];
    follow_loop(&late);
    assert_int_equal(late.count, 500);
    assert_true(late.seqs[0] == f.seqs[500]);
}

// A page stops short of the answer limit, however many events were asked
// for, and the next page goes on from it: 700 events with 1,000-byte
// reasons (700 KiB) come in two pages, none lost, none repeated.
static void
test_a_page_of_long_changes_stops_under_the_answer_limit(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 5165, "SOC-03", "long-pages");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    const char *p[] = {id + 2};
    it_db_exec(db, "BEGIN");
    PGresult *res =
        PQexecParams(db,
                     "INSERT INTO referral_event (referral_id, from_status, to_status,"
                     " actor, reason, kind, office_code, center_code)"
                     " SELECT r.id, 'requested', 'requested', 'system', repeat('x', 1000),"
                     " 'forward', r.office_code, r.center_code"
                     " FROM referral r, generate_series(1, 700) WHERE r.id = $1::bigint",
                     1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    it_db_exec(db, "COMMIT");
    uint64_t cursor = 0, last = 0;
    size_t seen = 0, pages = 0;
    bool more = true;
    while (more && pages < 10) {
        Rr__V1__FollowRequest q = RR__V1__FOLLOW_REQUEST__INIT;
        q.query_id = "long-pages";
        q.center_code = 5165;
        q.after_seq = cursor;
        q.limit = 1000;
        Rr__V1__FollowReply *reply = NULL;
        rr_wire_error err = {0};
        assert_int_equal(cli_center_follow(client, &q, 10000, 3, &reply, &err), RR_OK);
        assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
        assert_true(rr__v1__follow_reply__get_packed_size(reply) <= RR_WIRE_MAX_ANSWER_BYTES);
        for (size_t i = 0; i < reply->n_events; i++) {
            assert_true(reply->events[i]->seq > last); // in order, no repeat
            last = reply->events[i]->seq;
        }
        seen += reply->n_events;
        cursor = reply->last_seq;
        more = reply->has_more;
        pages++;
        if (pages == 1) {
            assert_true(more); // cut short: 701 did not fit
            assert_true(reply->n_events > 100 && reply->n_events < 701);
        }
        rr_wire_free(reply);
    }
    assert_int_equal(seen, 701); // the submission's event and the 700
    assert_int_equal(pages, 2);
}

// ---- routing rules and deadlines ----------------------------------------------------

static void
test_a_routing_rule_change_takes_effect_without_restarting_workers(void **state)
{
    (void) state;
    it_request before;
    it_request_init(&before, 4207, "RHB-04", "rule-before");
    Rr__V1__SubmitReply *reply = it_submit(client, &before.req);
    assert_string_equal(reply->office_code, "CO-1105");
    rr_wire_free(reply);

    it_db_exec(db, "INSERT INTO routing_rule (service_code, county_code, office_code, note)"
                   " VALUES ('RHB-04', '1105', 'PO-11', 'therapy runs at the province center')");
    // The workers hear of it by notification; give them a bounded moment.
    bool routed = false;
    long long deadline = it_now_ms() + 10000;
    for (int i = 0; !routed && it_now_ms() < deadline; i++) {
        it_request after;
        char tag[24];
        snprintf(tag, sizeof tag, "rule-after-%d", i);
        it_request_init(&after, 4207, "RHB-04", tag);
        reply = it_submit(client, &after.req);
        assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
        routed = strcmp(reply->office_code, "PO-11") == 0;
        rr_wire_free(reply);
        if (!routed) {
            it_sleep_ms(50);
        }
    }
    assert_true(routed);
}

static void
test_an_overdue_referral_is_escalated_to_its_province_office(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 5165, "PRV-07", "overdue");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    const char *p[] = {id + 2};
    it_db_exec(db, "SELECT 1"); // keep the connection warm
    PGresult *res = PQexecParams(db,
                                 "UPDATE referral SET accept_deadline = now() - interval '1 hour'"
                                 " WHERE id = $1::bigint",
                                 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    long long deadline = it_now_ms() + 15000;
    long long escalated = 0;
    while (escalated == 0 && it_now_ms() < deadline) {
        escalated =
            it_db_scalar(db,
                         "SELECT count(*) FROM referral_event WHERE referral_id = $1::bigint"
                         " AND kind = 'escalate' AND office_code = 'PO-07'",
                         1, p);
        if (escalated == 0) {
            it_sleep_ms(50);
        }
    }
    assert_int_equal(escalated, 1);
    assert_int_equal(it_db_scalar(db,
                                  "SELECT count(*) FROM referral WHERE id = $1::bigint"
                                  " AND office_code = 'PO-07' AND escalated_at IS NOT NULL"
                                  " AND version = 2",
                                  1, p),
                     1);
}

// Runs referralctl with args (a shell-quoted string) and returns its exit
// status, with stdout and stderr in out.
static int
ctl(char *out, size_t cap, const char *args)
{
    const char *bin = getenv("RR_CTL_BIN");
    assert_non_null(bin);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_referralctl_explains_routes_updates_and_follows_from_the_shell(void **state)
{
    (void) state;
    it_request r;
    it_request_init(&r, 3102, "SOC-01", "cli");
    char id[32];
    submit_ok(&r.req, id, sizeof id);
    char out[8192], args[1024];

    snprintf(args, sizeof args,
             "route explain --db '%s' --center 3102 --service SOC-01 --risk "
             "domestic_violence",
             stack.conninfo);
    assert_int_equal(ctl(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "priority stat, raised from routine"));
    assert_non_null(strstr(out, "destination: CO-0303 Tabriz County Welfare Office"));
    assert_non_null(strstr(out, "because: no rule matches"));

    snprintf(args, sizeof args, "update %s --to accepted --by CO-0303 --broker %s", id,
             stack.frontend);
    assert_int_equal(ctl(out, sizeof out, args), 0);
    char want[128];
    snprintf(want, sizeof want, "%s accepted, owner CO-0303, version 2", id);
    assert_non_null(strstr(out, want));

    snprintf(args, sizeof args, "update %s --to completed --by CO-0303 --reason done --broker %s",
             id, stack.frontend);
    assert_int_equal(ctl(out, sizeof out, args), 1);
    assert_non_null(strstr(out, "ESTATE"));
    assert_non_null(strstr(out, "it is accepted"));

    snprintf(args, sizeof args, "follow --center 3102 --once --broker %s", stack.frontend);
    assert_int_equal(ctl(out, sizeof out, args), 0);
    snprintf(want, sizeof want, "%s accept requested -> accepted by office:CO-0303", id);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "%s submit (new) -> requested by center:3102", id);
    assert_non_null(strstr(out, want));

    snprintf(args, sizeof args, "household H-3102-cli --db '%s'", stack.conninfo);
    assert_int_equal(ctl(out, sizeof out, args), 0);
    assert_non_null(strstr(out, id));
    snprintf(want, sizeof want, "******%s", r.national_id + 6);
    assert_non_null(strstr(out, want));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_centers_racing_one_household_and_service_make_one_open_referral),
        cmocka_unit_test(test_once_the_open_referral_is_final_a_new_one_can_be_opened),
        cmocka_unit_test(test_an_office_walks_a_referral_to_completed_with_a_versioned_history),
        cmocka_unit_test(test_illegal_foreign_and_stale_updates_are_refused_and_leave_no_event),
        cmocka_unit_test(test_a_forward_changes_the_owner_and_a_retried_update_is_applied_once),
        cmocka_unit_test(test_a_center_catches_up_on_a_thousand_changes_with_no_gap_or_repeat),
        cmocka_unit_test(test_a_page_of_long_changes_stops_under_the_answer_limit),
        cmocka_unit_test(test_a_routing_rule_change_takes_effect_without_restarting_workers),
        cmocka_unit_test(test_an_overdue_referral_is_escalated_to_its_province_office),
        cmocka_unit_test(test_referralctl_explains_routes_updates_and_follows_from_the_shell),
    };
    return cmocka_run_group_tests_name("integration.domain", tests, setup, teardown);
}
