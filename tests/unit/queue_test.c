// brk_queue: priority order, senders taking turns within a priority (FIFO
// per sender), the aging rule, the bounds (count and bytes) and who gives
// way to whom at them, redelivery at the head, and the record pool.
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

// brk_queue_push when nothing is to be displaced.
static rr_status
push(brk_queue *q, brk_request *r)
{
    brk_request *displaced = (brk_request *) 1;
    rr_status st = brk_queue_push(q, r, &displaced);
    assert_null(displaced);
    return st;
}

// A request whose body is n bytes.
static brk_request *
make_sized(brk_pool *pool, int priority, const char *id, size_t n)
{
    brk_request *r = make(pool, priority, id);
    assert_int_equal(zmq_msg_close(&r->body), 0);
    assert_int_equal(zmq_msg_init_size(&r->body, n), 0);
    memset(zmq_msg_data(&r->body), 'x', n);
    return r;
}

// Takes the first of a displaced list, checks its id and frees it.
static void
expect_displaced(brk_request **list, brk_pool *pool, const char *id)
{
    brk_request *r = *list;
    assert_non_null(r);
    assert_string_equal(r->correlation, id);
    *list = r->next;
    if (*list != NULL) {
        (*list)->prev = r->prev;
    }
    r->next = r->prev = NULL;
    brk_pool_put(pool, &r);
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
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 0);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ROUTINE, "r1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_URGENT, "u1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ROUTINE, "r2")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_STAT, "s1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ASAP, "a1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_STAT, "s2")), RR_OK);
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
    brk_queue *q = brk_queue_new(2, SIZE_MAX, 0);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_URGENT, "a")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ROUTINE, "b")), RR_OK);
    // Nothing below routine gives way to it.
    brk_request *c = make(pool, RR_PRIORITY_ROUTINE, "c");
    assert_int_equal(push(q, c), RR_EBUSY);
    assert_int_equal(brk_queue_depth(q), 2);
    brk_pool_put(pool, &c); // still the caller's after a refusal
    // Redelivery ignores the bound: it was admitted before.
    brk_queue_push_front(q, make(pool, RR_PRIORITY_ROUTINE, "again"));
    assert_int_equal(brk_queue_depth(q), 3);
    expect_pop(q, pool, "a");
    expect_pop(q, pool, "again");
    brk_queue_destroy(&q, pool); // frees the one still queued
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_full_admits_a_stat_by_displacing_the_newest_routine(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(3, SIZE_MAX, 0);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ROUTINE, "r1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_ROUTINE, "r2")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_URGENT, "u1")), RR_OK);
    brk_request *displaced = NULL;
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_STAT, "s1"), &displaced), RR_OK);
    expect_displaced(&displaced, pool, "r2"); // the newest of the lowest priority
    assert_null(displaced);
    assert_int_equal(brk_queue_depth(q), 3);
    assert_int_equal(brk_queue_depth_at(q, RR_PRIORITY_ROUTINE), 1);
    // An urgent one displaces the last routine; then only the urgent ones
    // are below a stat, and an urgent request finds nothing below it.
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_URGENT, "u2"), &displaced), RR_OK);
    expect_displaced(&displaced, pool, "r1");
    brk_request *u3 = make(pool, RR_PRIORITY_URGENT, "u3");
    assert_int_equal(brk_queue_push(q, u3, &displaced), RR_EBUSY);
    assert_null(displaced);
    brk_pool_put(pool, &u3);
    assert_int_equal(brk_queue_push(q, make(pool, RR_PRIORITY_STAT, "s2"), &displaced), RR_OK);
    expect_displaced(&displaced, pool, "u2");
    expect_pop(q, pool, "s1");
    expect_pop(q, pool, "s2");
    expect_pop(q, pool, "u1");
    assert_null(brk_queue_pop(q));
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_full_of_stat_refuses_a_stat(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(2, SIZE_MAX, 0);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_STAT, "s1")), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_STAT, "s2")), RR_OK);
    brk_request *displaced = NULL;
    brk_request *s3 = make(pool, RR_PRIORITY_STAT, "s3");
    assert_int_equal(brk_queue_push(q, s3, &displaced), RR_EBUSY);
    assert_null(displaced);
    brk_pool_put(pool, &s3);
    expect_pop(q, pool, "s1");
    expect_pop(q, pool, "s2");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_counts_bodies_and_a_record_cost_against_its_byte_budget(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    size_t unit = 1000 + BRK_QUEUE_RECORD_BYTES;
    brk_queue *q = brk_queue_new(100, 2 * unit, 0);
    brk_request *a = make_sized(pool, RR_PRIORITY_ROUTINE, "a", 1000);
    assert_int_equal(brk_queue_cost(a), unit);
    assert_int_equal(push(q, a), RR_OK);
    assert_int_equal(push(q, make_sized(pool, RR_PRIORITY_ROUTINE, "b", 1000)), RR_OK);
    assert_int_equal(brk_queue_bytes(q), 2 * unit);
    assert_int_equal(brk_queue_max_bytes(q), 2 * unit);
    brk_request *c = make_sized(pool, RR_PRIORITY_ROUTINE, "c", 1);
    assert_int_equal(push(q, c), RR_EBUSY); // one byte over, far under the count
    brk_pool_put(pool, &c);
    expect_pop(q, pool, "a");
    assert_int_equal(brk_queue_bytes(q), unit);
    brk_queue_push_front(q, make_sized(pool, RR_PRIORITY_ROUTINE, "back", 5000));
    assert_int_equal(brk_queue_bytes(q), 2 * unit + 4000); // over the budget: it was admitted
    expect_pop(q, pool, "back");
    expect_pop(q, pool, "b");
    assert_int_equal(brk_queue_bytes(q), 0);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_over_its_byte_budget_displaces_as_many_lower_ones_as_make_room(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    size_t small = 100 + BRK_QUEUE_RECORD_BYTES;
    brk_queue *q = brk_queue_new(100, 4 * small, 0);
    assert_int_equal(push(q, make_sized(pool, RR_PRIORITY_URGENT, "u1", 100)), RR_OK);
    assert_int_equal(push(q, make_sized(pool, RR_PRIORITY_ROUTINE, "r1", 100)), RR_OK);
    assert_int_equal(push(q, make_sized(pool, RR_PRIORITY_ROUTINE, "r2", 100)), RR_OK);
    assert_int_equal(push(q, make_sized(pool, RR_PRIORITY_ROUTINE, "r3", 100)), RR_OK);
    // Twice a small one's cost: the two newest routine ones go, r1 stays.
    brk_request *displaced = NULL;
    brk_request *big = make_sized(pool, RR_PRIORITY_ASAP, "big", 200 + BRK_QUEUE_RECORD_BYTES);
    assert_int_equal(brk_queue_push(q, big, &displaced), RR_OK);
    expect_displaced(&displaced, pool, "r3");
    expect_displaced(&displaced, pool, "r2");
    assert_null(displaced);
    assert_int_equal(brk_queue_bytes(q), 4 * small);
    // A stat larger than the whole budget can never fit: nothing is displaced.
    brk_request *huge = make_sized(pool, RR_PRIORITY_STAT, "huge", 4 * small);
    assert_int_equal(brk_queue_push(q, huge, &displaced), RR_EBUSY);
    assert_null(displaced);
    assert_int_equal(brk_queue_depth(q), 3);
    brk_pool_put(pool, &huge);
    // A stat of twice a small one's cost displaces the routine one, then the
    // urgent one (then there is room: the asap one stays).
    brk_request *s = make_sized(pool, RR_PRIORITY_STAT, "s", 100 + small);
    assert_int_equal(brk_queue_push(q, s, &displaced), RR_OK);
    expect_displaced(&displaced, pool, "r1");
    expect_displaced(&displaced, pool, "u1");
    assert_null(displaced);
    expect_pop(q, pool, "s");
    expect_pop(q, pool, "big");
    assert_int_equal(brk_queue_bytes(q), 0);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_removes_a_request_from_the_middle(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(10, SIZE_MAX, 0);
    brk_request *mid = make(pool, RR_PRIORITY_URGENT, "mid");
    assert_int_equal(push(q, make(pool, RR_PRIORITY_URGENT, "first")), RR_OK);
    assert_int_equal(push(q, mid), RR_OK);
    assert_int_equal(push(q, make(pool, RR_PRIORITY_URGENT, "last")), RR_OK);
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
    brk_queue *q = brk_queue_new(10, SIZE_MAX, 0);
    assert_int_equal(push(q, make(pool, 0, "zero")), RR_OK);
    assert_int_equal(push(q, make(pool, 9, "nine")), RR_OK);
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
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 4);
    brk_request *old = make(pool, RR_PRIORITY_ROUTINE, "routine-old");
    old->enqueued_us = 1;
    assert_int_equal(push(q, old), RR_OK);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "stat-%d", i);
        brk_request *r = make(pool, RR_PRIORITY_STAT, id);
        r->enqueued_us = 100 + i;
        assert_int_equal(push(q, r), RR_OK);
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
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 8);
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "routine-%d", i);
        brk_request *r = make(pool, RR_PRIORITY_ROUTINE, id);
        r->enqueued_us = i;
        assert_int_equal(push(q, r), RR_OK);
    }
    brk_request *stat = make(pool, RR_PRIORITY_STAT, "stat");
    stat->enqueued_us = 1000;
    assert_int_equal(push(q, stat), RR_OK);
    expect_pop(q, pool, "stat");
    expect_pop(q, pool, "routine-0");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

// A request of sender at priority.
static brk_request *
make_from(brk_pool *pool, int priority, const char *sender, const char *id)
{
    brk_request *r = make(pool, priority, id);
    int n = snprintf(r->sender, sizeof r->sender, "%s", sender);
    assert_true(n > 0);
    return r;
}

static void
test_brk_queue_serves_a_sender_with_one_request_within_two_pops_of_one_with_a_thousand(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(2000, SIZE_MAX, 8);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", i);
        brk_request *r = make_from(pool, RR_PRIORITY_ROUTINE, "center:1", id);
        r->enqueued_us = i;
        assert_int_equal(push(q, r), RR_OK);
    }
    brk_request *b = make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b-0");
    b->enqueued_us = 1000;
    assert_int_equal(push(q, b), RR_OK);
    assert_int_equal(brk_queue_senders(q), 2);
    expect_pop(q, pool, "a-0");
    expect_pop(q, pool, "b-0");
    assert_int_equal(brk_queue_senders(q), 1); // B's FIFO went with its last request
    expect_pop(q, pool, "a-1");
    assert_int_equal(brk_queue_depth(q), 998);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_senders_take_turns_in_order_of_arrival_fifo_within_each(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 0);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a2")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a3")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "office:CO-1", "o1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b2")), RR_OK);
    assert_int_equal(brk_queue_senders(q), 3);
    expect_pop(q, pool, "a1");
    expect_pop(q, pool, "o1");
    expect_pop(q, pool, "b1");
    expect_pop(q, pool, "a2");
    expect_pop(q, pool, "b2");
    expect_pop(q, pool, "a3");
    assert_null(brk_queue_pop(q));
    assert_int_equal(brk_queue_senders(q), 0);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_keeps_priority_order_across_senders(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 0);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a-routine")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_STAT, "center:1", "a-stat")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b-routine")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_URGENT, "center:2", "b-urgent")), RR_OK);
    assert_int_equal(brk_queue_senders(q), 4); // one FIFO per sender and priority
    expect_pop(q, pool, "a-stat");
    expect_pop(q, pool, "b-urgent");
    expect_pop(q, pool, "a-routine");
    expect_pop(q, pool, "b-routine");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_keeps_the_aging_rule_with_many_senders(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 3);
    brk_request *old = make_from(pool, RR_PRIORITY_ROUTINE, "center:9", "routine-old");
    old->enqueued_us = 1;
    assert_int_equal(push(q, old), RR_OK);
    for (int i = 0; i < 6; i++) {
        char id[16], sender[16];
        snprintf(id, sizeof id, "stat-%d", i);
        snprintf(sender, sizeof sender, "center:%d", i % 2);
        brk_request *r = make_from(pool, RR_PRIORITY_STAT, sender, id);
        r->enqueued_us = 100 + i;
        assert_int_equal(push(q, r), RR_OK);
    }
    expect_pop(q, pool, "stat-0"); // center:0
    expect_pop(q, pool, "stat-1"); // center:1
    expect_pop(q, pool, "routine-old");
    expect_pop(q, pool, "stat-2");
    expect_pop(q, pool, "stat-3");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_displaces_the_newest_lower_request_whoever_sent_it(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(3, SIZE_MAX, 0);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a2")), RR_OK);
    brk_request *displaced = NULL;
    assert_int_equal(
        brk_queue_push(q, make_from(pool, RR_PRIORITY_STAT, "center:3", "s1"), &displaced), RR_OK);
    expect_displaced(&displaced, pool, "a2");
    assert_null(displaced);
    assert_int_equal(brk_queue_depth(q), 3);
    assert_int_equal(brk_queue_senders(q), 3); // center:1 still has a1 waiting
    expect_pop(q, pool, "s1");
    expect_pop(q, pool, "a1");
    expect_pop(q, pool, "b1");
    assert_int_equal(brk_queue_senders(q), 0);
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

static void
test_brk_queue_serves_a_request_put_back_first_and_its_sender_keeps_its_turn(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_queue *q = brk_queue_new(100, SIZE_MAX, 0);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:1", "a1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b1")), RR_OK);
    assert_int_equal(push(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b2")), RR_OK);
    brk_queue_push_front(q, make_from(pool, RR_PRIORITY_ROUTINE, "center:2", "b0"));
    assert_string_equal(brk_queue_peek_oldest(q, RR_PRIORITY_ROUTINE)->correlation, "b0");
    expect_pop(q, pool, "b0");
    expect_pop(q, pool, "a1");
    expect_pop(q, pool, "b1");
    expect_pop(q, pool, "b2");
    brk_queue_destroy(&q, pool);
    brk_pool_destroy(&pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_queue_serves_highest_priority_first_and_fifo_within_one),
        cmocka_unit_test(test_brk_queue_refuses_past_its_bound_with_ebusy),
        cmocka_unit_test(test_brk_queue_full_admits_a_stat_by_displacing_the_newest_routine),
        cmocka_unit_test(test_brk_queue_full_of_stat_refuses_a_stat),
        cmocka_unit_test(test_brk_queue_counts_bodies_and_a_record_cost_against_its_byte_budget),
        cmocka_unit_test(
            test_brk_queue_over_its_byte_budget_displaces_as_many_lower_ones_as_make_room),
        cmocka_unit_test(test_brk_queue_removes_a_request_from_the_middle),
        cmocka_unit_test(test_brk_queue_treats_an_out_of_range_priority_as_routine),
        cmocka_unit_test(test_brk_pool_recycles_records_zeroed),
        cmocka_unit_test(test_brk_queue_serves_the_longest_waiting_request_every_nth_pop),
        cmocka_unit_test(test_brk_queue_stat_submitted_last_is_popped_first),
        cmocka_unit_test(
            test_brk_queue_serves_a_sender_with_one_request_within_two_pops_of_one_with_a_thousand),
        cmocka_unit_test(test_brk_queue_senders_take_turns_in_order_of_arrival_fifo_within_each),
        cmocka_unit_test(test_brk_queue_keeps_priority_order_across_senders),
        cmocka_unit_test(test_brk_queue_keeps_the_aging_rule_with_many_senders),
        cmocka_unit_test(test_brk_queue_displaces_the_newest_lower_request_whoever_sent_it),
        cmocka_unit_test(
            test_brk_queue_serves_a_request_put_back_first_and_its_sender_keeps_its_turn),
    };
    return cmocka_run_group_tests_name("unit.queue", tests, NULL, NULL);
}
