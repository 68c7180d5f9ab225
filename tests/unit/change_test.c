// wrk_change: a status change's checks against the locked row, one rule at a
// time and in their documented order (docs/PROTOCOL.md section 3, UPDATE).
#include "wrk_change.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

// A social referral at version 3, requested, owned by CO-2301, from center 941.
static wrk_locked
row(void)
{
    wrk_locked r = {
        .status = RR_REF_REQUESTED, .version = 3, .center_code = 941, .domain = RR_DOMAIN_SOCIAL};
    strcpy(r.owner, "CO-2301");
    return r;
}

// Its office accepting it, as seen at version 3.
static wrk_update
accept_by_office(void)
{
    return (wrk_update){.update_id = "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59",
                        .referral_id = 7,
                        .domain = RR_DOMAIN_SOCIAL,
                        .to = RR_REF_ACCEPTED,
                        .office_code = "CO-2301",
                        .expected_version = 3};
}

// Checks u against r; expects code on field (RR_OK: field ignored).
static void
expect(const wrk_locked *r, const wrk_update *u, rr_status code, const char *field,
       const char *message)
{
    wrk_change c;
    assert_true(wrk_change_actor(u, &c));
    rr_wire_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(wrk_change_check(r, u, &c, &err), code);
    if (code != RR_OK) {
        assert_int_equal(err.code, code);
        assert_string_equal(err.field, field);
    }
    if (message != NULL) {
        assert_string_equal(err.message, message);
    }
}

static void
test_the_owning_office_accepts_and_names_itself(void **state)
{
    (void) state;
    wrk_locked r = row();
    wrk_update u = accept_by_office();
    wrk_change c;
    assert_true(wrk_change_actor(&u, &c));
    assert_int_equal(c.who, RR_ACTOR_OFFICE);
    assert_string_equal(c.actor, "office:CO-2301");
    assert_true(wrk_change_visible(&r, &u, &c));
    rr_wire_error err;
    assert_int_equal(wrk_change_check(&r, &u, &c, &err), RR_OK);
    assert_int_equal(c.event, RR_EV_ACCEPT);
}

static void
test_a_center_sees_only_its_own_referrals(void **state)
{
    (void) state;
    wrk_locked r = row();
    wrk_update u = {.referral_id = 7, .domain = RR_DOMAIN_SOCIAL, .center_code = 941};
    wrk_change c;
    assert_true(wrk_change_actor(&u, &c));
    assert_int_equal(c.who, RR_ACTOR_CENTER);
    assert_string_equal(c.actor, "center:941");
    assert_true(wrk_change_visible(&r, &u, &c));
    u.center_code = 1924;
    assert_true(wrk_change_actor(&u, &c));
    assert_false(wrk_change_visible(&r, &u, &c));
    // An office sees any (ownership is checked next, with its own error).
    wrk_update o = accept_by_office();
    o.office_code = "CO-1002";
    assert_true(wrk_change_actor(&o, &c));
    assert_true(wrk_change_visible(&r, &o, &c));
}

static void
test_each_rule_refuses_with_its_code_and_field_in_order(void **state)
{
    (void) state;
    wrk_locked r = row();
    wrk_update u = accept_by_office();
    // The domain comes first, even with every other rule broken too.
    u.domain = RR_DOMAIN_PREVENTION;
    u.office_code = "CO-1002";
    u.expected_version = 1;
    expect(&r, &u, RR_EINVAL, "domain",
           "referral \"R-7\" belongs to domain \"social\", not \"prevention\"");
    u.domain = RR_DOMAIN_SOCIAL;
    expect(&r, &u, RR_EPERM, "office_code",
           "cannot change referral \"R-7\": it is owned by office \"CO-2301\", not \"CO-1002\"");
    u.office_code = "CO-2301";
    expect(&r, &u, RR_ECONFLICT, "expected_version",
           "cannot change referral \"R-7\": it is at version 3, not 1 (it changed since you read "
           "it)");
    u.expected_version = 3;
    u.to = RR_REF_COMPLETED; // not from requested
    expect(&r, &u, RR_ESTATE, "to_status",
           "cannot change referral \"R-7\" to \"completed\": it is requested");
    u.to = RR_REF_REJECTED; // allowed, but needs a reason
    expect(&r, &u, RR_EINVAL, "reason", "missing required field \"reason\": a reject needs one");
    u.reason = "";
    expect(&r, &u, RR_EINVAL, "reason", NULL);
    u.reason = "outside our county";
    expect(&r, &u, RR_OK, NULL, NULL);
}

static void
test_a_center_may_withdraw_but_not_accept(void **state)
{
    (void) state;
    wrk_locked r = row();
    wrk_update u = {.referral_id = 7,
                    .domain = RR_DOMAIN_SOCIAL,
                    .to = RR_REF_ACCEPTED,
                    .center_code = 941,
                    .expected_version = 3};
    expect(&r, &u, RR_EPERM, "to_status",
           "cannot change referral \"R-7\" to \"accepted\": only its office may");
    u.to = RR_REF_CANCELLED;
    u.reason = "the family moved";
    wrk_change c;
    assert_true(wrk_change_actor(&u, &c));
    rr_wire_error err;
    assert_int_equal(wrk_change_check(&r, &u, &c, &err), RR_OK);
    assert_int_equal(c.event, RR_EV_WITHDRAW);
    // An office cancelling is a cancel, not a withdrawal.
    wrk_update o = accept_by_office();
    o.to = RR_REF_CANCELLED;
    o.reason = "duplicate file";
    assert_true(wrk_change_actor(&o, &c));
    assert_int_equal(wrk_change_check(&r, &o, &c, &err), RR_OK);
    assert_int_equal(c.event, RR_EV_CANCEL);
    // A final referral cannot move at all.
    r.status = RR_REF_CANCELLED;
    expect(&r, &u, RR_ESTATE, "to_status",
           "cannot change referral \"R-7\" to \"cancelled\": it is cancelled");
}

static void
test_forward_to_is_required_for_a_forward_and_only_then(void **state)
{
    (void) state;
    wrk_locked r = row();
    r.status = RR_REF_RECEIVED;
    wrk_update u = accept_by_office();
    u.to = RR_REF_REQUESTED; // a forward
    u.reason = "their county";
    expect(&r, &u, RR_EINVAL, "forward_to",
           "a forward needs \"forward_to\": an office other than \"CO-2301\"");
    u.forward_to = "CO-2301"; // to itself
    expect(&r, &u, RR_EINVAL, "forward_to", NULL);
    u.forward_to = "CO-2302";
    wrk_change c;
    assert_true(wrk_change_actor(&u, &c));
    rr_wire_error err;
    assert_int_equal(wrk_change_check(&r, &u, &c, &err), RR_OK);
    assert_int_equal(c.event, RR_EV_FORWARD);
    // forward_to on anything else is refused rather than ignored.
    u.to = RR_REF_ACCEPTED;
    expect(&r, &u, RR_EINVAL, "forward_to",
           "field \"forward_to\" is only for a forward (to \"requested\")");
}

// The accept of accept_by_office() as its event recorded it.
static wrk_prior_update
recorded_accept(void)
{
    wrk_prior_update p = {.referral_id = 7, .to = RR_REF_ACCEPTED, .version_before = 3};
    strcpy(p.actor, "office:CO-2301");
    strcpy(p.owner_after, "CO-2301");
    return p;
}

static const char *
differs(const wrk_prior_update *p, const wrk_update *u)
{
    wrk_change c;
    assert_true(wrk_change_actor(u, &c));
    return wrk_change_differs(p, u, &c);
}

static void
test_an_update_id_again_is_the_same_change_only_with_the_same_content(void **state)
{
    (void) state;
    wrk_prior_update p = recorded_accept();
    wrk_update u = accept_by_office();
    assert_null(differs(&p, &u));
    u.reason = ""; // no reason and an empty one are the same
    assert_null(differs(&p, &u));
    u = accept_by_office();
    u.referral_id = 8;
    assert_string_equal(differs(&p, &u), "referral_id");
    u = accept_by_office();
    u.office_code = "CO-2302";
    assert_string_equal(differs(&p, &u), "office_code");
    u = accept_by_office();
    u.office_code = NULL;
    u.center_code = 941;
    assert_string_equal(differs(&p, &u), "center_code");
    u = accept_by_office();
    u.to = RR_REF_RECEIVED;
    assert_string_equal(differs(&p, &u), "to_status");
    u = accept_by_office();
    u.expected_version = 4;
    assert_string_equal(differs(&p, &u), "expected_version");
    u = accept_by_office();
    u.reason = "another reason";
    assert_string_equal(differs(&p, &u), "reason");
    u = accept_by_office();
    u.forward_to = "CO-2303";
    assert_string_equal(differs(&p, &u), "forward_to");
    // A forward: the same target is the same change, another is not.
    p.to = RR_REF_REQUESTED;
    p.forward = true;
    strcpy(p.owner_after, "CO-2303");
    strcpy(p.reason, "the family moved");
    u = accept_by_office();
    u.to = RR_REF_REQUESTED;
    u.reason = "the family moved";
    u.forward_to = "CO-2303";
    assert_null(differs(&p, &u));
    u.forward_to = "CO-2304";
    assert_string_equal(differs(&p, &u), "forward_to");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_owning_office_accepts_and_names_itself),
        cmocka_unit_test(test_a_center_sees_only_its_own_referrals),
        cmocka_unit_test(test_each_rule_refuses_with_its_code_and_field_in_order),
        cmocka_unit_test(test_a_center_may_withdraw_but_not_accept),
        cmocka_unit_test(test_forward_to_is_required_for_a_forward_and_only_then),
        cmocka_unit_test(test_an_update_id_again_is_the_same_change_only_with_the_same_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
