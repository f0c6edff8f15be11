/*
 * Unit tests of temporal/coro.c: yielding and resuming, several coroutines interleaved,
 * dropping an unfinished one, and enough stack for real work.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "temporal/coro.h"

typedef struct counter {
    int steps;
    int log[16];
    int id;
    int *shared;
    int nshared;
} counter;

static void count_three(void *arg)
{
    counter *c = arg;
    for (int i = 0; i < 3; i++) {
        c->log[c->steps++] = i;
        if (c->shared)
            c->shared[c->nshared++] = c->id * 10 + i;
        coro_yield();
    }
}

static void resume_until_done(void **st)
{
    counter c = {0};
    coro *co;
    assert_int_equal(coro_new(&co, 0, count_three, &c), 0);
    assert_null(coro_current());
    int rounds = 0;
    while (!coro_resume(co))
        rounds++;
    assert_int_equal(rounds, 3);
    assert_int_equal(c.steps, 3);
    assert_true(coro_done(co));
    assert_int_equal(coro_resume(co), 1); /* resuming a finished one is harmless */
    coro_free(co);
}

static void interleaved(void **st)
{
    int order[16];
    counter a = {.id = 1, .shared = order}, b = {.id = 2, .shared = order};
    coro *ca, *cb;
    assert_int_equal(coro_new(&ca, 0, count_three, &a), 0);
    assert_int_equal(coro_new(&cb, 0, count_three, &b), 0);
    for (int i = 0; i < 3; i++) {
        coro_resume(ca);
        b.nshared = a.nshared;
        coro_resume(cb);
        a.nshared = b.nshared;
    }
    int want[] = {10, 20, 11, 21, 12, 22};
    assert_memory_equal(order, want, sizeof(want));
    coro_free(ca);
    coro_free(cb);
}

static void dropped_unfinished(void **st)
{
    counter c = {0};
    coro *co;
    assert_int_equal(coro_new(&co, 0, count_three, &c), 0);
    assert_int_equal(coro_resume(co), 0);
    assert_false(coro_done(co));
    coro_free(co);
    coro_free(NULL);
}

static void deep(void *arg)
{
    char buf[64 * 1024]; /* a quarter of the default stack, used */
    memset(buf, 7, sizeof(buf));
    *(int *)arg = buf[sizeof(buf) - 1];
    coro_yield();
}

static void uses_its_stack(void **st)
{
    int v = 0;
    coro *co;
    assert_int_equal(coro_new(&co, 0, deep, &v), 0);
    assert_int_equal(coro_resume(co), 0);
    assert_int_equal(v, 7);
    assert_int_equal(coro_resume(co), 1);
    coro_free(co);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_until_done),
        cmocka_unit_test(interleaved),
        cmocka_unit_test(dropped_unfinished),
        cmocka_unit_test(uses_its_stack),
    };
    return cmocka_run_group_tests_name("coro", tests, NULL, NULL);
}
