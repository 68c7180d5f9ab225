// brk_join: the resend index by sender and request_id, which resends may
// join (identical SUBMIT bodies only), and the copies waiting, within bounds.
#include "brk_join.h"

#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#define RID "5f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59"

static void
frame(zmq_msg_t *m, const char *text)
{
    assert_int_equal(zmq_msg_init_size(m, strlen(text)), 0);
    memcpy(zmq_msg_data(m), text, strlen(text));
}

static brk_request *
held(brk_pool *pool, const char *sender, const char *peer, const char *body)
{
    brk_request *r = brk_pool_get(pool);
    assert_non_null(r);
    r->command = RR_CMD_SUBMIT;
    snprintf(r->sender, sizeof r->sender, "%s", sender);
    snprintf(r->correlation, sizeof r->correlation, "%s", RID);
    rr_msg_close(&r->client_id);
    frame(&r->client_id, peer);
    rr_msg_close(&r->body);
    frame(&r->body, body);
    return r;
}

static void
test_brk_joins_finds_a_held_submission_by_sender_and_request_id_only(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_joins *j = brk_joins_new();
    brk_request *r = held(pool, "center:941", "peer-1", "body");
    assert_int_equal(brk_joins_add(j, r, RID), RR_OK);
    assert_ptr_equal(brk_joins_find(j, "center:941", RID), r);
    assert_null(brk_joins_find(j, "center:1924", RID)); // another center's id is its own
    assert_null(brk_joins_find(j, "center:941", "6f0c8a52-1d2e-4c3b-9a7f-0e1d2c3b4a59"));
    brk_request *copy = held(pool, "center:941", "peer-2", "other body");
    assert_int_equal(brk_joins_add(j, copy, RID), RR_ESTATE);
    assert_null(copy->join);
    assert_int_equal(brk_joins_count(j), 1);
    brk_joins_remove(j, r);
    assert_null(r->join);
    assert_null(brk_joins_find(j, "center:941", RID));
    assert_int_equal(brk_joins_count(j), 0);
    brk_pool_put(pool, &r);
    brk_pool_put(pool, &copy);
    brk_joins_destroy(&j);
    assert_null(j);
    brk_pool_destroy(&pool);
}

static void
test_brk_joins_joins_only_a_submit_with_the_same_bytes(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_request *r = held(pool, "center:941", "peer-1", "the body");
    zmq_msg_t same, other, longer;
    frame(&same, "the body");
    frame(&other, "the bodY");
    frame(&longer, "the body!");
    assert_true(brk_joins_same(r, RR_CMD_SUBMIT, &same));
    assert_false(brk_joins_same(r, RR_CMD_SUBMIT, &other)); // a conflict: the database says so
    assert_false(brk_joins_same(r, RR_CMD_SUBMIT, &longer));
    assert_false(brk_joins_same(r, RR_CMD_UPDATE, &same));
    rr_msg_close(&same);
    rr_msg_close(&other);
    rr_msg_close(&longer);
    brk_pool_put(pool, &r);
    brk_pool_destroy(&pool);
}

static void
test_brk_joins_keeps_each_resend_waiting_once_and_up_to_its_bound(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_joins *j = brk_joins_new();
    brk_request *r = held(pool, "center:941", "peer-1", "body");
    assert_int_equal(brk_joins_add(j, r, RID), RR_OK);
    assert_null(brk_joins_waiters(r));

    zmq_msg_t m;
    frame(&m, "peer-1"); // the same socket, the same correlation: one answer reaches it
    assert_true(brk_joins_resend(j, r, &m, RID));
    assert_null(brk_joins_waiters(r));
    rr_msg_close(&m);

    frame(&m, "peer-2");
    assert_true(brk_joins_resend(j, r, &m, RID));
    assert_int_equal(zmq_msg_size(&m), 0); // moved into the index
    rr_msg_close(&m);
    frame(&m, "peer-2"); // again from peer-2: already waiting
    assert_true(brk_joins_resend(j, r, &m, RID));
    rr_msg_close(&m);
    frame(&m, "peer-3");
    assert_true(brk_joins_resend(j, r, &m, "attempt-3"));
    rr_msg_close(&m);
    const brk_waiter *w = brk_joins_waiters(r);
    assert_non_null(w);
    assert_memory_equal(zmq_msg_data((zmq_msg_t *) &w->client_id), "peer-2", 6);
    assert_string_equal(w->correlation, RID);
    w = w->next;
    assert_non_null(w);
    assert_memory_equal(zmq_msg_data((zmq_msg_t *) &w->client_id), "peer-3", 6);
    assert_string_equal(w->correlation, "attempt-3");
    assert_null(w->next);
    assert_int_equal(brk_joins_waiting(j), 2);

    for (int i = 2; i < BRK_JOIN_MAX_PER_REQUEST; i++) {
        char peer[16];
        snprintf(peer, sizeof peer, "more-%d", i);
        frame(&m, peer);
        assert_true(brk_joins_resend(j, r, &m, RID));
        rr_msg_close(&m);
    }
    frame(&m, "one-too-many");
    assert_false(brk_joins_resend(j, r, &m, RID)); // queued as its own copy instead
    assert_int_equal(zmq_msg_size(&m), 12);        // left with the caller
    rr_msg_close(&m);
    assert_int_equal(brk_joins_waiting(j), BRK_JOIN_MAX_PER_REQUEST);

    brk_joins_remove(j, r);
    assert_null(brk_joins_waiters(r));
    assert_int_equal(brk_joins_waiting(j), 0);
    brk_pool_put(pool, &r);
    brk_joins_destroy(&j);
    brk_pool_destroy(&pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_joins_finds_a_held_submission_by_sender_and_request_id_only),
        cmocka_unit_test(test_brk_joins_joins_only_a_submit_with_the_same_bytes),
        cmocka_unit_test(test_brk_joins_keeps_each_resend_waiting_once_and_up_to_its_bound),
    };
    return cmocka_run_group_tests_name("unit.join", tests, NULL, NULL);
}
