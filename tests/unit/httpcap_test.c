// brk_httpcap: the HTTP monitor's connection caps and request deadlines,
// as a table with no I/O (the handles here are plain addresses).
#include "brk_httpcap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static int handle[8]; // stand-ins for the caller's bufferevents

static void
test_brk_httpcap_fit_keeps_half_the_total_for_other_addresses(void **state)
{
    (void) state;
    brk_conns_limits l = brk_httpcap_fit(256, 32);
    assert_int_equal(l.max_total, 256);
    assert_int_equal(l.max_per_addr, 32);
    // The total lowered to fit 1,024 descriptors (brk_conns_fit: 24).
    l = brk_httpcap_fit(24, 32);
    assert_int_equal(l.max_total, 24);
    assert_int_equal(l.max_per_addr, 12);
    l = brk_httpcap_fit(3, 32);
    assert_int_equal(l.max_per_addr, 1);
    l = brk_httpcap_fit(1, 32);
    assert_int_equal(l.max_total, 1);
    assert_int_equal(l.max_per_addr, 1);
    l = brk_httpcap_fit(0, 0); // never a cap of nothing
    assert_int_equal(l.max_total, 1);
    assert_int_equal(l.max_per_addr, 1);
}

static void
test_brk_httpcap_refuses_the_third_connection_from_one_address_at_two(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){6, 2}, 5000);
    assert_non_null(t);
    brk_httpcap_conn *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = brk_httpcap_open(t, &handle[i], 0);
        assert_non_null(c[i]);
    }
    assert_int_equal(brk_httpcap_count(t).open, 4);
    // Placed oldest first, as the caller learns their addresses.
    assert_ptr_equal(brk_httpcap_unplaced(t), c[0]);
    assert_int_equal(brk_httpcap_place(t, c[0], "127.0.0.2"), BRK_CONN_ADMIT);
    assert_ptr_equal(brk_httpcap_unplaced(t), c[1]);
    assert_int_equal(brk_httpcap_place(t, c[1], "127.0.0.2"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_place(t, c[2], "127.0.0.2"), BRK_CONN_OVER_ADDR);
    assert_int_equal(brk_httpcap_place(t, c[3], "127.0.0.1"), BRK_CONN_ADMIT);
    assert_null(brk_httpcap_unplaced(t));
    brk_httpcap_counts n = brk_httpcap_count(t);
    assert_int_equal(n.open, 4); // the refused one until the caller has closed it
    assert_int_equal(n.refused_addr, 1);
    assert_int_equal(n.refused_total, 0);
    // The refused one closing frees no place of its address...
    brk_httpcap_close(t, c[2]);
    brk_httpcap_conn *again = brk_httpcap_open(t, &handle[4], 0);
    assert_int_equal(brk_httpcap_place(t, again, "127.0.0.2"), BRK_CONN_OVER_ADDR);
    brk_httpcap_close(t, again);
    // ...an admitted one closing does.
    brk_httpcap_close(t, c[0]);
    again = brk_httpcap_open(t, &handle[4], 0);
    assert_int_equal(brk_httpcap_place(t, again, "127.0.0.2"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_count(t).open, 3);
    assert_int_equal(brk_httpcap_count(t).refused_addr, 2);
    brk_httpcap_destroy(&t); // frees the entries left
    assert_null(t);
}

static void
test_brk_httpcap_is_full_at_the_total_and_no_longer_after_a_close(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){2, 2}, 5000);
    brk_httpcap_conn *a = brk_httpcap_open(t, &handle[0], 0);
    assert_false(brk_httpcap_full(t));
    brk_httpcap_conn *b = brk_httpcap_open(t, &handle[1], 0);
    assert_true(brk_httpcap_full(t));
    brk_httpcap_note_full(t);
    assert_int_equal(brk_httpcap_count(t).refused_total, 1);
    // One accepted over the cap all the same is refused when placed.
    brk_httpcap_conn *over = brk_httpcap_open(t, &handle[2], 0);
    assert_int_equal(brk_httpcap_place(t, a, "10.0.0.1"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_place(t, b, "10.0.0.2"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_place(t, over, "10.0.0.3"), BRK_CONN_OVER_TOTAL);
    assert_int_equal(brk_httpcap_count(t).refused_total, 2);
    brk_httpcap_close(t, over);
    assert_true(brk_httpcap_full(t));
    brk_httpcap_close(t, a);
    assert_false(brk_httpcap_full(t));
    assert_int_equal(brk_httpcap_count(t).open, 1);
    brk_httpcap_destroy(&t);
}

static void
test_brk_httpcap_expires_a_connection_without_a_whole_request_once(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){8, 4}, 5000);
    brk_httpcap_conn *slow = brk_httpcap_open(t, &handle[0], 1000);
    brk_httpcap_conn *fast = brk_httpcap_open(t, &handle[1], 1000);
    assert_int_equal(brk_httpcap_place(t, slow, "127.0.0.2"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_place(t, fast, "127.0.0.1"), BRK_CONN_ADMIT);
    void *io[4] = {0};
    assert_int_equal(brk_httpcap_expire(t, 5999, io, 4), 0); // 1 ms before the deadline
    brk_httpcap_served(t, fast, 4000);                       // its request read whole
    assert_int_equal(brk_httpcap_expire(t, 6000, io, 4), 1);
    assert_ptr_equal(io[0], &handle[0]);
    // Returned once: the caller is closing it.
    assert_int_equal(brk_httpcap_expire(t, 7000, io, 4), 0);
    // The served one's next request (kept alive, idle) has its own deadline.
    assert_int_equal(brk_httpcap_expire(t, 9000, io, 4), 1);
    assert_ptr_equal(io[0], &handle[1]);
    brk_httpcap_counts n = brk_httpcap_count(t);
    assert_int_equal(n.timed_out, 2);
    assert_int_equal(n.open, 2); // until the caller's connections are freed
    brk_httpcap_close(t, slow);
    brk_httpcap_close(t, fast);
    assert_int_equal(brk_httpcap_count(t).open, 0);
    brk_httpcap_destroy(&t);
}

static void
test_brk_httpcap_expire_returns_at_most_cap_and_the_rest_next_time(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){8, 8}, 100);
    for (int i = 0; i < 5; i++) {
        assert_non_null(brk_httpcap_open(t, &handle[i], 0));
    }
    void *io[2];
    assert_int_equal(brk_httpcap_expire(t, 100, io, 2), 2);
    assert_int_equal(brk_httpcap_expire(t, 100, io, 2), 2);
    assert_int_equal(brk_httpcap_expire(t, 100, io, 2), 1);
    assert_int_equal(brk_httpcap_expire(t, 100, io, 2), 0);
    assert_int_equal(brk_httpcap_count(t).timed_out, 5);
    brk_httpcap_destroy(&t);
}

static void
test_brk_httpcap_finds_a_connection_by_its_handle(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){8, 8}, 100);
    brk_httpcap_conn *c = brk_httpcap_open(t, &handle[3], 0);
    assert_ptr_equal(brk_httpcap_find(t, &handle[3]), c);
    assert_ptr_equal(brk_httpcap_io(c), &handle[3]);
    assert_null(brk_httpcap_find(t, &handle[2]));
    brk_httpcap_close(t, c);
    assert_null(brk_httpcap_find(t, &handle[3]));
    brk_httpcap_destroy(&t);
}

static void
test_brk_httpcap_keeps_a_served_refused_connection_closing(void **state)
{
    (void) state;
    brk_httpcap *t = brk_httpcap_new((brk_conns_limits){8, 1}, 100);
    brk_httpcap_conn *a = brk_httpcap_open(t, &handle[0], 0);
    brk_httpcap_conn *b = brk_httpcap_open(t, &handle[1], 0);
    assert_int_equal(brk_httpcap_place(t, a, "::1"), BRK_CONN_ADMIT);
    assert_int_equal(brk_httpcap_place(t, b, "::1"), BRK_CONN_OVER_ADDR);
    // A request read before the refusal took effect does not revive it,
    // and it is not expired (closed) a second time.
    brk_httpcap_served(t, b, 50);
    void *io[2];
    assert_int_equal(brk_httpcap_expire(t, 100, io, 2), 1);
    assert_ptr_equal(io[0], &handle[0]);
    brk_httpcap_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brk_httpcap_fit_keeps_half_the_total_for_other_addresses),
        cmocka_unit_test(test_brk_httpcap_refuses_the_third_connection_from_one_address_at_two),
        cmocka_unit_test(test_brk_httpcap_is_full_at_the_total_and_no_longer_after_a_close),
        cmocka_unit_test(test_brk_httpcap_expires_a_connection_without_a_whole_request_once),
        cmocka_unit_test(test_brk_httpcap_expire_returns_at_most_cap_and_the_rest_next_time),
        cmocka_unit_test(test_brk_httpcap_finds_a_connection_by_its_handle),
        cmocka_unit_test(test_brk_httpcap_keeps_a_served_refused_connection_closing),
    };
    return cmocka_run_group_tests_name("unit.httpcap", tests, NULL, NULL);
}
