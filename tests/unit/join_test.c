// brk_join: the resend index by sender and request_id, which resends may
// join (identical SUBMIT bodies only), and the latest copy to answer.
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
test_brk_joins_keeps_the_latest_resend_from_another_socket_to_answer(void **state)
{
    (void) state;
    brk_pool *pool = brk_pool_new();
    brk_joins *j = brk_joins_new();
    brk_request *r = held(pool, "center:941", "peer-1", "body");
    assert_int_equal(brk_joins_add(j, r, RID), RR_OK);
    const zmq_msg_t *id = NULL;
    const char *correlation = NULL;
    assert_false(brk_joins_latest(r, &id, &correlation));

    zmq_msg_t again;
    frame(&again, "peer-1"); // the same socket, the same correlation: one answer reaches it
    brk_joins_resend(r, &again, RID);
    assert_false(brk_joins_latest(r, &id, &correlation));
    rr_msg_close(&again);

    zmq_msg_t second, third;
    frame(&second, "peer-2");
    brk_joins_resend(r, &second, RID);
    assert_int_equal(zmq_msg_size(&second), 0); // moved into the index
    frame(&third, "peer-3");
    brk_joins_resend(r, &third, "attempt-3");
    assert_true(brk_joins_latest(r, &id, &correlation));
    assert_int_equal(zmq_msg_size((zmq_msg_t *) id), 6);
    assert_memory_equal(zmq_msg_data((zmq_msg_t *) id), "peer-3", 6);
    assert_string_equal(correlation, "attempt-3");
    rr_msg_close(&second);
    rr_msg_close(&third);
    brk_joins_remove(j, r);
    assert_false(brk_joins_latest(r, &id, &correlation));
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
        cmocka_unit_test(test_brk_joins_keeps_the_latest_resend_from_another_socket_to_answer),
    };
    return cmocka_run_group_tests_name("unit.join", tests, NULL, NULL);
}
