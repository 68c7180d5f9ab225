// The office's half of the loop (issue 14), through the real stack: an
// office's INBOX — what it owns now, most urgent first, paged, filtered,
// counted — that gains a referral forwarded to it and loses one it
// forwards away, and `referralctl inbox`.
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
#include <stdlib.h>
#include <string.h>

static it_stack stack;
static cli_center *client;
static PGconn *db;

static int
setup(void **state)
{
    (void) state;
    return it_session_start(&stack, &client, &db, "office", 14, NULL, NULL) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    return it_session_stop(&stack, &client, &db);
}

// Submits a PRV-05 (child vision screening) request from center 3102
// (Tabriz: office CO-0303) at priority; the referral id into out.
static void
submit_screening(Rr__V1__Priority priority, const char *tag, char out[32])
{
    it_request r;
    it_request_init(&r, 3102, "PRV-05", tag);
    r.req.priority = priority;
    Rr__V1__SubmitReply *reply = it_submit(client, &r.req);
    assert_int_equal(reply->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    assert_string_equal(reply->office_code, "CO-0303");
    snprintf(out, 32, "%s", reply->referral_id);
    rr_wire_free(reply);
}

// One INBOX page of office for service (NULL: any), after cursor; the
// reply (caller frees).
static Rr__V1__InboxReply *
inbox(const char *office, const char *service, const char *after, uint32_t limit)
{
    Rr__V1__InboxRequest q = RR__V1__INBOX_REQUEST__INIT;
    char qid[40];
    rr_uuid_generate(qid);
    q.query_id = qid;
    q.office_code = (char *) office;
    q.service_code = (char *) (service ? service : "");
    q.after = (char *) (after ? after : "");
    q.limit = limit;
    Rr__V1__InboxReply *reply = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_inbox(client, &q, 10000, 3, &reply, &err), RR_OK);
    assert_string_equal(reply->query_id, qid);
    return reply;
}

static void
test_the_inbox_lists_what_the_office_owns_most_urgent_first_a_page_at_a_time(void **state)
{
    (void) state;
    char routine[32], stat[32], urgent[32];
    submit_screening(RR__V1__PRIORITY__PRIORITY_ROUTINE, "inbox-1", routine);
    submit_screening(RR__V1__PRIORITY__PRIORITY_STAT, "inbox-2", stat);
    submit_screening(RR__V1__PRIORITY__PRIORITY_URGENT, "inbox-3", urgent);
    const char *order[] = {stat, urgent, routine};
    char cursor[64] = "";
    for (int page = 0; page < 3; page++) {
        Rr__V1__InboxReply *reply = inbox("CO-0303", "PRV-05", cursor, 1);
        assert_int_equal(reply->status, RR__V1__STATUS__STATUS_OK);
        assert_int_equal(reply->n_items, 1);
        assert_string_equal(reply->items[0]->referral->referral_id, order[page]);
        assert_int_equal(reply->items[0]->referral->version, 1);
        assert_true(reply->items[0]->accept_deadline_ms > 0);
        assert_false(reply->items[0]->overdue);
        // Counts are of everything the office owns: three requested here.
        assert_int_equal(reply->n_counts, 1);
        assert_int_equal(reply->counts[0]->status,
                         RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED);
        assert_int_equal(reply->counts[0]->count, 3);
        if (page < 2) {
            assert_string_not_equal(reply->next, "");
        } else {
            assert_string_equal(reply->next, "");
        }
        snprintf(cursor, sizeof cursor, "%s", reply->next);
        rr_wire_free(reply);
    }
    // Another office sees none of them; a made-up cursor is refused.
    Rr__V1__InboxReply *other = inbox("CO-2301", "PRV-05", NULL, 100);
    assert_int_equal(other->status, RR__V1__STATUS__STATUS_OK);
    assert_int_equal(other->n_items, 0);
    rr_wire_free(other);
    Rr__V1__InboxReply *bad = inbox("CO-0303", NULL, "9:1:1", 100);
    assert_int_equal(bad->status, RR__V1__STATUS__STATUS_EINVAL);
    assert_string_equal(bad->error->field, "after");
    rr_wire_free(bad);
}

static void
test_a_forward_moves_a_referral_from_one_inbox_to_the_other(void **state)
{
    (void) state;
    char id[32];
    submit_screening(RR__V1__PRIORITY__PRIORITY_ASAP, "inbox-fwd", id);
    Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
    char uid[40];
    rr_uuid_generate(uid);
    u.update_id = uid;
    u.referral_id = id;
    u.domain = RR__V1__DOMAIN__DOMAIN_PREVENTION;
    u.to_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED;
    u.office_code = "CO-0303";
    u.expected_version = 1;
    u.reason = "the family moved to Maragheh";
    u.forward_to = "CO-0306";
    Rr__V1__UpdateReply *ur = NULL;
    rr_wire_error err = {0};
    assert_int_equal(cli_center_update(client, &u, 10000, 3, &ur, &err), RR_OK);
    assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
    rr_wire_free(ur);
    bool in_old = false, in_new = false;
    Rr__V1__InboxReply *old = inbox("CO-0303", "PRV-05", NULL, 1000);
    for (size_t i = 0; i < old->n_items; i++) {
        in_old = in_old || strcmp(old->items[i]->referral->referral_id, id) == 0;
    }
    rr_wire_free(old);
    Rr__V1__InboxReply *fresh = inbox("CO-0306", "PRV-05", NULL, 1000);
    for (size_t i = 0; i < fresh->n_items; i++) {
        in_new = in_new || strcmp(fresh->items[i]->referral->referral_id, id) == 0;
    }
    rr_wire_free(fresh);
    assert_false(in_old);
    assert_true(in_new);
}

static void
test_referralctl_inbox_prints_the_page_and_the_counts(void **state)
{
    (void) state;
    char out[16384];
    int rc = it_run(out, sizeof out, "%s inbox --broker %s --office co-۰۳۰۳ --service prv-05",
                    getenv("RR_CTL_BIN"), stack.frontend);
    assert_int_equal(rc, 0);
    const char *stat_line = strstr(out, " stat ");
    const char *routine_line = strstr(out, " routine ");
    if (stat_line == NULL || routine_line == NULL || stat_line > routine_line ||
        strstr(out, "owned by CO-0303: requested 3") == NULL) {
        print_message("referralctl inbox printed:\n%s\n", out);
        fail();
    }
    rc = it_run(out, sizeof out, "%s inbox --broker %s --office CO-0303 --status nonsense",
                getenv("RR_CTL_BIN"), stack.frontend);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "invalid state \"nonsense\" for --status"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_the_inbox_lists_what_the_office_owns_most_urgent_first_a_page_at_a_time),
        cmocka_unit_test(test_a_forward_moves_a_referral_from_one_inbox_to_the_other),
        cmocka_unit_test(test_referralctl_inbox_prints_the_page_and_the_counts),
    };
    return cmocka_run_group_tests_name("integration.office", tests, setup, teardown);
}
