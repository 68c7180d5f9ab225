// rr_lifecycle: the referral state table of DOMAIN.md.
#include "rr_lifecycle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void
expect_event(rr_ref_state from, rr_ref_state to, rr_actor who, rr_ref_event want, bool reason)
{
    rr_ref_event ev = RR_EV_NONE;
    bool needs = !reason;
    assert_int_equal(rr_lifecycle_decide(from, to, who, &ev, &needs), RR_OK);
    assert_int_equal(ev, want);
    assert_int_equal(needs, reason);
}

static void
test_rr_lifecycle_allows_every_move_of_the_table(void **state)
{
    (void) state;
    expect_event(RR_REF_REQUESTED, RR_REF_RECEIVED, RR_ACTOR_OFFICE, RR_EV_CLAIM, false);
    expect_event(RR_REF_REQUESTED, RR_REF_ACCEPTED, RR_ACTOR_OFFICE, RR_EV_ACCEPT, false);
    expect_event(RR_REF_RECEIVED, RR_REF_ACCEPTED, RR_ACTOR_OFFICE, RR_EV_ACCEPT, false);
    expect_event(RR_REF_RECEIVED, RR_REF_REJECTED, RR_ACTOR_OFFICE, RR_EV_REJECT, true);
    expect_event(RR_REF_ACCEPTED, RR_REF_IN_PROGRESS, RR_ACTOR_OFFICE, RR_EV_START, false);
    expect_event(RR_REF_IN_PROGRESS, RR_REF_ON_HOLD, RR_ACTOR_OFFICE, RR_EV_PAUSE, false);
    expect_event(RR_REF_ON_HOLD, RR_REF_IN_PROGRESS, RR_ACTOR_OFFICE, RR_EV_RESUME, false);
    expect_event(RR_REF_IN_PROGRESS, RR_REF_COMPLETED, RR_ACTOR_OFFICE, RR_EV_COMPLETE, true);
    expect_event(RR_REF_ON_HOLD, RR_REF_FAILED, RR_ACTOR_OFFICE, RR_EV_FAIL, true);
    expect_event(RR_REF_ACCEPTED, RR_REF_CANCELLED, RR_ACTOR_CENTER, RR_EV_WITHDRAW, true);
    expect_event(RR_REF_ON_HOLD, RR_REF_CANCELLED, RR_ACTOR_OFFICE, RR_EV_CANCEL, true);
    expect_event(RR_REF_RECEIVED, RR_REF_REQUESTED, RR_ACTOR_OFFICE, RR_EV_FORWARD, true);
}

static void
test_rr_lifecycle_refuses_moves_the_table_does_not_have(void **state)
{
    (void) state;
    rr_ref_event ev = RR_EV_NONE;
    bool needs = false;
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_REQUESTED, RR_REF_COMPLETED, RR_ACTOR_OFFICE, &ev, &needs),
        RR_ESTATE);
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_REJECTED, RR_REF_ACCEPTED, RR_ACTOR_OFFICE, &ev, &needs),
        RR_ESTATE);
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_COMPLETED, RR_REF_CANCELLED, RR_ACTOR_CENTER, &ev, &needs),
        RR_ESTATE);
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_ACCEPTED, RR_REF_ON_HOLD, RR_ACTOR_OFFICE, &ev, &needs),
        RR_ESTATE);
    assert_int_equal(ev, RR_EV_NONE); // untouched on refusal
}

static void
test_rr_lifecycle_keeps_office_moves_from_centers(void **state)
{
    (void) state;
    rr_ref_event ev = RR_EV_NONE;
    bool needs = false;
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_REQUESTED, RR_REF_ACCEPTED, RR_ACTOR_CENTER, &ev, &needs),
        RR_EPERM);
    assert_int_equal(
        rr_lifecycle_decide(RR_REF_REQUESTED, RR_REF_REQUESTED, RR_ACTOR_CENTER, &ev, &needs),
        RR_EPERM);
}

static void
test_rr_lifecycle_final_states(void **state)
{
    (void) state;
    assert_true(rr_lifecycle_is_final(RR_REF_COMPLETED));
    assert_true(rr_lifecycle_is_final(RR_REF_CANCELLED));
    assert_false(rr_lifecycle_is_final(RR_REF_ON_HOLD));
    assert_string_equal(rr_ref_event_name(RR_EV_FORWARD), "forward");
    assert_null(rr_ref_event_name(RR_EV_NONE));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_lifecycle_allows_every_move_of_the_table),
        cmocka_unit_test(test_rr_lifecycle_refuses_moves_the_table_does_not_have),
        cmocka_unit_test(test_rr_lifecycle_keeps_office_moves_from_centers),
        cmocka_unit_test(test_rr_lifecycle_final_states),
    };
    return cmocka_run_group_tests_name("unit.lifecycle", tests, NULL, NULL);
}
