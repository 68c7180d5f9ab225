// brk_queue: priority order, FIFO within a priority, the bound, redelivery
// at the head, and the record pool.
#include "brk_queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static brk_request *
make(brk_pool *pool, int priority, const char *id)
{
    brk_request *r = brk_pool_get(pool);
    assert_non_null(r);
    r->priority = (uint8_t) priority;
    int n = snprintf(r->correlation, sizeof r->correlation, "%s", id);
    assert_true(n > 0);
    return r;
}

static void
expect_pop(brk_queue *q, brk_pool *pool, const char *id)
{
    brk_request *r = brk_queue_pop(q);
    assert_non_null(r);
    assert_string_equal(r->correlation, id);
    brk_pool_put(pool, &r);
    assert_null(r);
}

static void
test_brk_queue_serves_highest_priority_first_and_fifo_within_one(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, 0);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_ROUTINE, "r1")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_URGENT, "u1")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_ROUTINE, "r2")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_STAT, "s1")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_ASAP, "a1")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_STAT, "s2")), RR_OK);
    assert_int_equal(brk_queue_depth(q), 6);
    assert_int_equal(brk_queue_depth_at(q, RR_PRIORITY_STAT), 2);
    expect_pop(q, pool, "s1");
    expect_pop(q, pool, "s2");
    expect_pop(q, pool, "a1");
    expect_pop(q, pool, "u1");
    expect_pop(q, pool, "r1");
    expect_pop(q, pool, "r2");
    assert_null(brk_queue_pop(q));
    assert_int_equal(brk_queue_depth(q), 0);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
    assert_null(q);
    assert_null(pool);
}

static void
test_brk_queue_refuses_past_its_bound_with_ebusy(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(2, 0);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_ROUTINE, "a")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_ROUTINE, "b")), RR_OK);
    brk_request *c = make(pool, RR_PRIORITY_STAT, "c");
    assert_int_equal(brk_queue_push(q, c), RR_EBUSY);
    assert_int_equal(brk_queue_depth(q), 2);
    brk_pool_put(pool, &c); // still the caller's after a refusal
    // Redelivery ignores the bound: it was admitted before.
    brk_queue_push_front(q, make(pool, RR_PRIORITY_ROUTINE, "again"));
    assert_int_equal(brk_queue_depth(q), 3);
    expect_pop(q, pool, "again");
    brk_queue_destroy(&q, pool); // frees the two still queued
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_removes_a_request_from_the_middle(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(10, 0);
    brk_request *mid = make(pool, RR_PRIORITY_URGENT, "mid");
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_URGENT, "first")), RR_OK);
    assert_int_equal(brk_queue_push(q, mid), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_URGENT, "last")), RR_OK);
    assert_string_equal(brk_queue_peek_oldest(q, RR_PRIORITY_URGENT)->correlation, "first");
    brk_queue_remove(q, mid);
    brk_pool_put(pool, &mid);
    assert_int_equal(brk_queue_depth_at(q, RR_PRIORITY_URGENT), 2);
    expect_pop(q, pool, "first");
    expect_pop(q, pool, "last");
    assert_null(brk_queue_peek_oldest(q, RR_PRIORITY_URGENT));
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_treats_an_out_of_range_priority_as_routine(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(10, 0);
    assert_int_equal(brk_queue_push(q, make(pool, 0, "zero")), RR_OK);
    assert_int_equal(brk_queue_push(q, make(pool, 9, "nine")), RR_OK);
    assert_int_equal(brk_queue_depth_at(q, RR_PRIORITY_ROUTINE), 2);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_pool_recycles_records_zeroed(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_request *r = make(pool, RR_PRIORITY_STAT, "x");
    r->tries.attempts = 3;
    brk_request *first = r;
    brk_pool_put(pool, &r);
    brk_request *again = brk_pool_get(pool);
    assert_ptr_equal(again, first);
    assert_int_equal(again->tries.attempts, 0);
    assert_string_equal(again->correlation, "");
    assert_int_equal(zmq_msg_size(&again->body), 0);
    brk_pool_put(pool, &again);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_serves_the_longest_waiting_request_every_nth_pop(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, 4);
    brk_request *old = make(pool, RR_PRIORITY_ROUTINE, "routine-old");
    old->enqueued_us = 1;
    assert_int_equal(brk_queue_push(q, old), RR_OK);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "stat-%d", i);
        brk_request *r = make(pool, RR_PRIORITY_STAT, id);
        r->enqueued_us = 100 + i;
        assert_int_equal(brk_queue_push(q, r), RR_OK);
    }
    // Three stat requests, then the routine one that waited longest.
    expect_pop(q, pool, "stat-0");
    expect_pop(q, pool, "stat-1");
    expect_pop(q, pool, "stat-2");
    expect_pop(q, pool, "routine-old");
    // With nothing older left, stat requests follow in order.
    expect_pop(q, pool, "stat-3");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_stat_submitted_last_is_popped_first(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, 8);
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "routine-%d", i);
        brk_request *r = make(pool, RR_PRIORITY_ROUTINE, id);
        r->enqueued_us = i;
        assert_int_equal(brk_queue_push(q, r), RR_OK);
    }
    brk_request *stat = make(pool, RR_PRIORITY_STAT, "stat");
    stat->enqueued_us = 1000;
    assert_int_equal(brk_queue_push(q, stat), RR_OK);
    expect_pop(q, pool, "stat");
    expect_pop(q, pool, "routine-0");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_queue_serves_highest_priority_first_and_fifo_within_one),
        cmocka_unit_test(test_brk_queue_refuses_past_its_bound_with_ebusy),
        cmocka_unit_test(test_brk_queue_removes_a_request_from_the_middle),
        cmocka_unit_test(test_brk_queue_treats_an_out_of_range_priority_as_routine),
        cmocka_unit_test(test_brk_pool_recycles_records_zeroed),
        cmocka_unit_test(test_brk_queue_serves_the_longest_waiting_request_every_nth_pop),
        cmocka_unit_test(test_brk_queue_stat_submitted_last_is_popped_first),
    };
    return cmocka_run_group_tests_name("unit.queue", tests, NULL, NULL);
}
