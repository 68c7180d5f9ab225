// brk_policy: blame, retry, dead letters and delivery flags, rule by rule.
#include "brk_policy.h"
#include "rr_wire_frames.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static const brk_policy P = {8, 3, 200000}; // the broker's defaults

static void
test_brk_policy_a_worker_leaving_on_purpose_blames_nothing(void **state)
{
    (void) state;
    brk_attempts a = {1, 0, true, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, false, 1, true), BRK_NEXT_REQUEUE);
    assert_int_equal(a.failures, 0);
    assert_true(a.suspect); // stays what it was
    brk_attempts b = {1, 0, false, false};
    assert_int_equal(brk_policy_worker_lost(&P, &b, false, 1, true), BRK_NEXT_REQUEUE);
    assert_false(b.suspect);
}

static void
test_brk_policy_a_first_crash_makes_a_suspect_without_blame(void **state)
{
    (void) state;
    brk_attempts a = {1, 0, false, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 1, true), BRK_NEXT_REQUEUE);
    assert_true(a.suspect);
    assert_int_equal(a.failures, 0);
}

static void
test_brk_policy_a_crash_with_a_batch_blames_none_of_it(void **state)
{
    (void) state;
    brk_attempts a = {2, 0, true, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 5, true), BRK_NEXT_REQUEUE);
    assert_int_equal(a.failures, 0);
}

static void
test_brk_policy_a_suspect_held_alone_by_a_crashed_worker_is_blamed_and_retried_later(void **state)
{
    (void) state;
    brk_attempts a = {2, 0, true, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 1, true), BRK_NEXT_RETRY_LATER);
    assert_int_equal(a.failures, 1);
}

static void
test_brk_policy_max_failures_dead_letters_a_submission_then_gives_up(void **state)
{
    (void) state;
    brk_attempts a = {3, 2, true, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 1, true), BRK_NEXT_DEAD_LETTER);
    assert_true(a.dead);
    assert_int_equal(brk_policy_delivery_flags(&P, &a), RR_CMD_DEAD_LETTER_FLAG);
    // The dead-letter delivery's worker dies too: nothing more to try. A
    // dead request is never blamed again.
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 1, true), BRK_NEXT_GIVE_UP);
    assert_int_equal(a.failures, 3);
}

static void
test_brk_policy_other_commands_are_given_up_not_dead_lettered(void **state)
{
    (void) state;
    brk_attempts a = {3, 2, true, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, true, 1, false), BRK_NEXT_GIVE_UP);
    assert_false(a.dead);
}

static void
test_brk_policy_max_attempts_gives_up_without_any_blame(void **state)
{
    (void) state;
    brk_attempts a = {8, 0, false, false};
    assert_int_equal(brk_policy_worker_lost(&P, &a, false, 4, true), BRK_NEXT_DEAD_LETTER);
    brk_attempts b = {7, 0, false, false};
    assert_int_equal(brk_policy_worker_lost(&P, &b, false, 4, true), BRK_NEXT_REQUEUE);
}

static void
test_brk_policy_failed_answers_are_failures_retried_until_the_last_attempt(void **state)
{
    (void) state;
    brk_attempts a = {1, 0, false, false};
    assert_int_equal(brk_policy_delivery_flags(&P, &a), 0);
    assert_int_equal(brk_policy_failed(&P, &a, true), BRK_NEXT_RETRY_LATER);
    assert_int_equal(a.failures, 1);
    // The delivery after max_failures - 1 failures is the last attempt.
    assert_int_equal(brk_policy_delivery_flags(&P, &a), 0);
    assert_int_equal(brk_policy_failed(&P, &a, true), BRK_NEXT_RETRY_LATER);
    assert_int_equal(brk_policy_delivery_flags(&P, &a), RR_CMD_LAST_ATTEMPT_FLAG);
    // A worker that answers FAILED to a last attempt did not honour the mark.
    assert_int_equal(brk_policy_failed(&P, &a, true), BRK_NEXT_DEAD_LETTER);
    assert_int_equal(brk_policy_failed(&P, &a, true), BRK_NEXT_GIVE_UP);
}

static void
test_brk_policy_backoff_doubles_caps_at_thirty_two_times_and_spreads_by_a_quarter(void **state)
{
    (void) state;
    assert_int_equal(brk_policy_backoff_us(&P, 1, 0), 200000);
    assert_int_equal(brk_policy_backoff_us(&P, 2, 0), 400000);
    assert_int_equal(brk_policy_backoff_us(&P, 6, 0), 6400000);
    assert_int_equal(brk_policy_backoff_us(&P, 7, 0), 6400000);
    assert_int_equal(brk_policy_backoff_us(&P, 40, 0), 6400000);
    // jitter adds its remainder modulo a quarter of the base, plus one.
    assert_int_equal(brk_policy_backoff_us(&P, 1, 50000), 250000);
    assert_int_equal(brk_policy_backoff_us(&P, 1, 50001), 200000);
    for (uint64_t j = 0; j < 1000; j += 37) {
        int64_t w = brk_policy_backoff_us(&P, 3, j * 7919);
        assert_true(w >= 800000 && w <= 1000000);
    }
}

static void
test_brk_policy_a_label_is_printable_ascii_and_bounded(void **state)
{
    (void) state;
    assert_true(brk_policy_label_ok("worker-3.example.org", 64));
    assert_true(brk_policy_label_ok("0.6.0 (git d13a9e1c0b2f-dirty)", 64));
    assert_true(brk_policy_label_ok("", 64));
    assert_false(brk_policy_label_ok("host\nname", 64));
    assert_false(brk_policy_label_ok("<img src=x onerror=\x01>", 64));
    assert_false(brk_policy_label_ok("\xd8\xaa\xd9\x87\xd8\xb1\xd8\xa7\xd9\x86", 64)); // UTF-8
    assert_false(brk_policy_label_ok("del\x7f", 64));
    assert_true(brk_policy_label_ok("abcd", 4));
    assert_false(brk_policy_label_ok("abcde", 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_policy_a_worker_leaving_on_purpose_blames_nothing),
        cmocka_unit_test(test_brk_policy_a_label_is_printable_ascii_and_bounded),
        cmocka_unit_test(test_brk_policy_a_first_crash_makes_a_suspect_without_blame),
        cmocka_unit_test(test_brk_policy_a_crash_with_a_batch_blames_none_of_it),
        cmocka_unit_test(
            test_brk_policy_a_suspect_held_alone_by_a_crashed_worker_is_blamed_and_retried_later),
        cmocka_unit_test(test_brk_policy_max_failures_dead_letters_a_submission_then_gives_up),
        cmocka_unit_test(test_brk_policy_other_commands_are_given_up_not_dead_lettered),
        cmocka_unit_test(test_brk_policy_max_attempts_gives_up_without_any_blame),
        cmocka_unit_test(
            test_brk_policy_failed_answers_are_failures_retried_until_the_last_attempt),
        cmocka_unit_test(
            test_brk_policy_backoff_doubles_caps_at_thirty_two_times_and_spreads_by_a_quarter),
    };
    return cmocka_run_group_tests_name("unit.policy", tests, NULL, NULL);
}
