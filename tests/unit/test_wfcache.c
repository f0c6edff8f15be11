/*
 * The worker's workflow cache (temporal/worker/wfcache.c): kept runs by run id, the least
 * recently used evicted past the capacity but never one a task holds, another task of a held
 * run waiting for it (or giving up and forgetting it), runs given up, and freeing the cache
 * with runs whose coroutines wait (LeakSanitizer checks under SAN=1).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "temporal/clock.h"
#include "temporal/worker/api.h"
#include "temporal/worker/wfcache.h"
#include "tests/support/harness.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st)
{
    char lib[4096], err[512];
    if (!realpath(harness_built("fixtures/lib_wf_talk.so"), lib))
        return -1;
    return reg_load(&reg, lib, NULL, api_table(), err, sizeof(err));
}

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* A new run of "Count" (it waits for signals), before any task. */
static wf_exec *new_run(void)
{
    wf_input in = {.workflow_type = "Count", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq"};
    wf_exec *x = wf_exec_new(reg, &in, 1u << 20);
    assert_non_null(x);
    return x;
}

/* A run that has processed its first task (its coroutines wait on a condition). */
static wf_exec *run_one_task(void)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "2");
    wf_input in = {.workflow_type = "Count", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h.ev, .nevents = h.n};
    wf_exec *x = wf_exec_new(reg, &in, 1u << 20);
    assert_non_null(x);
    arena *a = arena_new(1u << 20);
    wf_output out;
    assert_int_equal(wf_exec_task(x, a, &in, &out), 0);
    assert_true(wf_exec_reusable(x));
    arena_free(a);
    wh_free(&h);
    return x;
}

static void least_recently_used_goes_first(void **st)
{
    wfcache *c = wfcache_new(2);
    assert_non_null(c);
    wf_exec *a = new_run(), *b = new_run(), *x;
    wfcache_put(c, "a", a);
    wfcache_put(c, "b", b);
    assert_int_equal(wfcache_size(c), 2);
    assert_ptr_equal(wfcache_take(c, "a", 0), a); /* a is used: b is now the oldest */
    wfcache_put(c, "a", a);
    wfcache_put(c, "c", new_run());
    assert_int_equal(wfcache_size(c), 2);
    assert_null(wfcache_take(c, "b", 0)); /* evicted (and freed) */
    assert_ptr_equal((x = wfcache_take(c, "a", 0)), a);
    wfcache_put(c, "a", x);
    assert_null(wfcache_take(c, "nobody", 100)); /* nothing to wait for */
    wfcache_free(c);
    assert_null(wfcache_new(0));
    wfcache_free(NULL);
}

/* A held run is never evicted: past the capacity, an idle one goes, even the one just put. */
static void held_runs_are_not_evicted(void **st)
{
    wfcache *c = wfcache_new(1);
    wf_exec *a = new_run();
    wfcache_put(c, "a", a);
    assert_ptr_equal(wfcache_take(c, "a", 0), a);
    wfcache_put(c, "b", new_run()); /* over capacity with a held: b goes */
    assert_null(wfcache_take(c, "b", 0));
    assert_int_equal(wfcache_size(c), 1);
    wfcache_put(c, "a", a);
    assert_int_equal(wfcache_size(c), 1);
    wfcache_free(c);
}

typedef struct taker {
    wfcache *c;
    int64_t wait_ms;
    wf_exec *got;
    int64_t waited_ms;
} taker;

static void *take_thread(void *arg)
{
    taker *t = arg;
    int64_t t0 = clock_mono_ms();
    t->got = wfcache_take(t->c, "a", t->wait_ms);
    t->waited_ms = clock_mono_ms() - t0;
    return NULL;
}

/* The next task of a run waits while the thread that answered its last task still holds it,
 * and gets it when given back. */
static void next_task_waits_for_the_holder(void **st)
{
    wfcache *c = wfcache_new(4);
    wf_exec *a = new_run();
    wfcache_put(c, "a", a);
    assert_ptr_equal(wfcache_take(c, "a", 0), a);
    taker t = {.c = c, .wait_ms = 5000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
    usleep(100 * 1000);
    wfcache_put(c, "a", a);
    pthread_join(th, NULL);
    assert_ptr_equal(t.got, a);
    assert_true(t.waited_ms >= 90 && t.waited_ms < 4000);
    wfcache_put(c, "a", a);
    wfcache_free(c);
}

/* A holder that takes too long: the waiter forgets the run and starts over; the holder's run
 * comes back later, and of two runs of one workflow the one further on is kept. */
static void a_slow_holder_is_forgotten(void **st)
{
    wfcache *c = wfcache_new(4);
    wf_exec *a = new_run();
    wfcache_put(c, "a", a);
    assert_ptr_equal(wfcache_take(c, "a", 0), a);
    taker t = {.c = c, .wait_ms = 50};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
    pthread_join(th, NULL);
    assert_null(t.got);
    assert_int_equal(wfcache_size(c), 0); /* forgotten */
    wf_exec *fresh = run_one_task(); /* the waiter's replay from the first event */
    wfcache_put(c, "a", fresh);
    wfcache_put(c, "a", a); /* the slow holder comes back behind it: freed */
    assert_int_equal(wfcache_size(c), 1);
    assert_ptr_equal(wfcache_take(c, "a", 0), fresh);
    wfcache_put(c, "a", fresh);
    wfcache_free(c);
}

/* A run given up (its task failed, its workflow closed) leaves the cache and is freed; one
 * given up after being forgotten is only freed. */
static void dropped_runs_go(void **st)
{
    wfcache *c = wfcache_new(4);
    wf_exec *a = run_one_task();
    wfcache_put(c, "a", a);
    assert_ptr_equal(wfcache_take(c, "a", 0), a);
    wfcache_drop(c, "a", a);
    assert_int_equal(wfcache_size(c), 0);
    assert_null(wfcache_take(c, "a", 0));
    wfcache_put(c, "b", new_run());
    wfcache_drop(c, "b", new_run()); /* not the one in the cache: only freed */
    assert_int_equal(wfcache_size(c), 1);
    wfcache_free(c); /* b's run with it */
}

static void count_run(void *arg, const wf_exec *x)
{
    (*(int *)arg)++;
}

/* The runs a reader sees are the ones not held. */
static void visit_skips_held_runs(void **st)
{
    wfcache *c = wfcache_new(4);
    wf_exec *a = run_one_task();
    wfcache_put(c, "a", a);
    wfcache_put(c, "b", run_one_task());
    int n = 0;
    wfcache_visit(c, count_run, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(wfcache_take(c, "a", 0), a);
    n = 0;
    wfcache_visit(c, count_run, &n);
    assert_int_equal(n, 1);
    wfcache_put(c, "a", a);
    wfcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_recently_used_goes_first),
        cmocka_unit_test(held_runs_are_not_evicted),
        cmocka_unit_test(next_task_waits_for_the_holder),
        cmocka_unit_test(a_slow_holder_is_forgotten),
        cmocka_unit_test(dropped_runs_go),
        cmocka_unit_test(visit_skips_held_runs),
    };
    return cmocka_run_group_tests_name("wfcache", tests, group_setup, group_teardown);
}
