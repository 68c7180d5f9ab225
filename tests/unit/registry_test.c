// brk_registry: credit, round-robin fairness, completion by the right
// worker only, and orphans handed back when a worker is removed.
#include "brk_registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <utlist.h>

typedef struct fixture {
    brk_pool *pool;
    brk_registry *reg;
} fixture;

static int
setup(void **state)
{
    static fixture f;
    f.pool = brk_pool_new();
    f.reg = brk_registry_new();
    *state = &f;
    return f.pool && f.reg ? 0 : -1;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    brk_registry_destroy(&f->reg, f->pool);
    brk_pool_destroy(&f->pool);
    return 0;
}

static brk_worker *
add(fixture *f, const char *id, rr_domain domain, uint32_t credit)
{
    brk_worker *w = NULL;
    assert_int_equal(brk_registry_add(f->reg, id, strlen(id), domain, credit, "host", 1, 0, &w),
                     RR_OK);
    assert_non_null(w);
    return w;
}

static void
test_brk_registry_rotates_ready_workers_round_robin(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_SOCIAL, 2);
    brk_worker *b = add(f, "b", RR_DOMAIN_SOCIAL, 2);
    assert_int_equal(brk_registry_count(f->reg, RR_DOMAIN_SOCIAL), 2);
    assert_null(brk_registry_next_ready(f->reg, RR_DOMAIN_PREVENTION));
    uint64_t id = 1;
    const brk_worker *order[4];
    for (int i = 0; i < 4; i++) {
        brk_worker *w = brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL);
        assert_non_null(w);
        order[i] = w;
        brk_registry_assign(f->reg, w, brk_pool_get(f->pool), id++, false);
    }
    assert_ptr_equal(order[0], a);
    assert_ptr_equal(order[1], b);
    assert_ptr_equal(order[2], a);
    assert_ptr_equal(order[3], b);
    // Both are at their credit now.
    assert_null(brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL));
    assert_int_equal(brk_registry_ready_count(f->reg, RR_DOMAIN_SOCIAL), 0);
    assert_int_equal(brk_registry_inflight(f->reg), 4);
}

static void
test_brk_registry_completes_only_for_the_worker_that_holds_the_delivery(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_PREVENTION, 1);
    brk_worker *b = add(f, "b", RR_DOMAIN_PREVENTION, 1);
    brk_request *r = brk_pool_get(f->pool);
    brk_registry_assign(f->reg, a, r, 42, false);
    assert_null(brk_registry_complete(f->reg, b, 42)); // not b's
    assert_null(brk_registry_complete(f->reg, a, 43)); // unknown id
    brk_request *done = brk_registry_complete(f->reg, a, 42);
    assert_ptr_equal(done, r);
    assert_null(brk_registry_complete(f->reg, a, 42)); // only once
    assert_int_equal(a->inflight, 0);
    assert_true(a->ready);
    brk_pool_put(f->pool, &done);
}

static void
test_brk_registry_remove_hands_back_the_workers_requests(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_REHABILITATION, 3);
    brk_registry_assign(f->reg, a, brk_pool_get(f->pool), 1, false);
    brk_registry_assign(f->reg, a, brk_pool_get(f->pool), 2, false);
    brk_request *orphans = NULL;
    brk_registry_remove(f->reg, &a, &orphans);
    assert_null(a);
    int count = 0;
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(orphans, r, tmp)
    {
        assert_null(r->worker);
        DL_DELETE(orphans, r);
        brk_pool_put(f->pool, &r);
        count++;
    }
    assert_int_equal(count, 2);
    assert_int_equal(brk_registry_inflight(f->reg), 0);
    assert_int_equal(brk_registry_count(f->reg, RR_DOMAIN_REHABILITATION), 0);
    assert_null(brk_registry_find(f->reg, "a", 1));
}

static void
test_brk_registry_finds_expired_workers(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_SOCIAL, 1);
    brk_registry_touch(a, 1000, 3000);
    assert_null(brk_registry_expired(f->reg, 3999));
    assert_ptr_equal(brk_registry_expired(f->reg, 4001), a);
}

static void
test_brk_registry_any_domain_picks_a_ready_worker_of_any_domain(void **state)
{
    fixture *f = *state;
    assert_null(brk_registry_next_ready(f->reg, RR_DOMAIN_NONE));
    brk_worker *a = add(f, "a", RR_DOMAIN_REHABILITATION, 1);
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_NONE), a);
    brk_worker *w = NULL;
    assert_int_equal(brk_registry_add(f->reg, "", 0, RR_DOMAIN_SOCIAL, 1, "h", 1, 0, &w),
                     RR_EINVAL);
}

// A worker of every domain serves each domain whose own workers are all
// busy (or absent), after them, and counts in every domain.
static void
test_brk_registry_a_worker_of_every_domain_backs_each_domain_up(void **state)
{
    fixture *f = *state;
    brk_worker *social = add(f, "s", RR_DOMAIN_SOCIAL, 1);
    brk_worker *any = add(f, "any", RR_DOMAIN_NONE, 2);
    assert_int_equal(brk_registry_count(f->reg, RR_DOMAIN_SOCIAL), 2);
    assert_int_equal(brk_registry_count(f->reg, RR_DOMAIN_PREVENTION), 1);
    assert_int_equal(brk_registry_count(f->reg, RR_DOMAIN_NONE), 1);
    // Its own domain's worker first; the "any" worker once that one is full.
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL), social);
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_PREVENTION), any);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_REHABILITATION), any);
    brk_request *r = brk_pool_get(f->pool);
    brk_registry_assign(f->reg, social, r, 1, false);
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL), any);
    assert_int_equal(brk_registry_ready_count(f->reg, RR_DOMAIN_SOCIAL), 1);
    // Queries (no domain): any worker at all, the "any" one included.
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_NONE), any);
    brk_request *done = brk_registry_complete(f->reg, social, 1);
    assert_ptr_equal(done, r);
    brk_pool_put(f->pool, &done);
}

// An idle worker is found as deliveries come and go (a suspect request
// needs one): its own domain's first, then one of every domain.
static void
test_brk_registry_finds_idle_workers(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_SOCIAL, 8);
    brk_worker *b = add(f, "b", RR_DOMAIN_SOCIAL, 8);
    brk_worker *any = add(f, "any", RR_DOMAIN_NONE, 8);
    brk_request *r1 = brk_pool_get(f->pool), *r2 = brk_pool_get(f->pool);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), a);
    brk_registry_assign(f->reg, a, r1, 1, false);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), b);
    brk_registry_assign(f->reg, b, r2, 2, false);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), any);
    brk_registry_assign(f->reg, any, brk_pool_get(f->pool), 3, false);
    assert_null(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL));
    // Round robin among the busy ones with spare credit.
    assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL), a);
    brk_request *done = brk_registry_complete(f->reg, a, 1);
    assert_ptr_equal(done, r1);
    brk_pool_put(f->pool, &done);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), a);
    // A busy worker removed: the idle one is still found.
    brk_request *orphans = NULL;
    brk_registry_remove(f->reg, &b, &orphans);
    assert_ptr_equal(orphans, r2);
    DL_DELETE(orphans, r2);
    brk_pool_put(f->pool, &r2);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), a);
    brk_registry_remove(f->reg, &a, &orphans);
    assert_null(orphans);
    assert_null(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL));
}

static void
test_brk_registry_a_solo_delivery_keeps_the_worker_to_itself(void **state)
{
    fixture *f = *state;
    brk_worker *a = add(f, "a", RR_DOMAIN_SOCIAL, 4);
    brk_worker *b = add(f, "b", RR_DOMAIN_SOCIAL, 4);
    brk_registry_assign(f->reg, a, brk_pool_get(f->pool), 1, false);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), b);
    brk_registry_assign(f->reg, b, brk_pool_get(f->pool), 2, true);
    assert_null(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL));
    assert_false(b->ready); // spare credit, but it holds a suspect
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(brk_registry_next_ready(f->reg, RR_DOMAIN_SOCIAL), a);
    }
    brk_request *done = brk_registry_complete(f->reg, b, 2);
    assert_non_null(done);
    brk_pool_put(f->pool, &done);
    assert_true(b->ready);
    assert_false(b->solo);
    assert_ptr_equal(brk_registry_next_idle(f->reg, RR_DOMAIN_SOCIAL), b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_brk_registry_rotates_ready_workers_round_robin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_brk_registry_completes_only_for_the_worker_that_holds_the_delivery, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_brk_registry_remove_hands_back_the_workers_requests,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_brk_registry_finds_expired_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_brk_registry_a_worker_of_every_domain_backs_each_domain_up, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_brk_registry_any_domain_picks_a_ready_worker_of_any_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brk_registry_finds_idle_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_brk_registry_a_solo_delivery_keeps_the_worker_to_itself, setup, teardown),
    };
    return cmocka_run_group_tests_name("unit.registry", tests, NULL, NULL);
}
