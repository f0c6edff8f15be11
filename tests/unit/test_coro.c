/*
 * Unit tests of temporal/engine/coro.c: yielding and resuming, several coroutines interleaved,
 * dropping an unfinished one, enough stack for real work, values in registers (integer and
 * floating point) kept across switches on both sides, stacks reused by many coroutines one
 * after another, and an overflow that faults (in a child process) even when a big frame lands
 * deep below the stack, also on a reused stack.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temporal/engine/coro.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The guard every coroutine stack needs below it (tw.h promises it). */
enum { GUARD = 64 * 1024 };

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

/* Integer and floating-point work whose values live in registers across each yield. */
typedef struct mix {
    double d;
    uint64_t u;
} mix;

static mix mix_step(mix m, int i)
{
    m.d = m.d * 1.0001 + (double)(i % 7) * 0.25;
    m.u = m.u * 6364136223846793005u + 1442695040888963407u + (uint64_t)i;
    return m;
}

static void mix_in_coroutine(void *arg)
{
    mix m = {1.5, 7};
    double f1 = 0.5, f2 = 2.0;
    for (int i = 0; i < 1000; i++) {
        m = mix_step(m, i);
        f1 += m.d * 1e-6;
        f2 *= 1.000001;
        coro_yield();
    }
    m.d += f1 + f2;
    *(mix *)arg = m;
}

static void registers_survive_switches(void **st)
{
    mix got = {0}, want = {1.5, 7}, mine = {0.25, 3};
    double w1 = 0.5, w2 = 2.0;
    for (int i = 0; i < 1000; i++) {
        want = mix_step(want, i);
        w1 += want.d * 1e-6;
        w2 *= 1.000001;
    }
    want.d += w1 + w2;
    coro *co;
    assert_int_equal(coro_new(&co, 0, mix_in_coroutine, &got), 0);
    int i = 0;
    while (!coro_resume(co))
        mine = mix_step(mine, i++); /* the resumer's registers busy too */
    coro_free(co);
    assert_int_equal(i, 1000);
    assert_true(got.d == want.d);
    assert_true(got.u == want.u);
    mix again = {0.25, 3};
    for (int k = 0; k < 1000; k++)
        again = mix_step(again, k);
    assert_true(mine.d == again.d && mine.u == again.u);
}

/* Stacks are kept and reused: many coroutines one after another (and a few at once) each
 * start clean and run to the end. */
static void many_coroutines_reuse_stacks(void **st)
{
    for (int i = 0; i < 20000; i++) {
        counter c[3] = {{0}};
        coro *co[3];
        int n = i % 3 + 1;
        for (int k = 0; k < n; k++)
            assert_int_equal(coro_new(&co[k], 0, count_three, &c[k]), 0);
        for (int k = 0; k < n; k++) {
            int resumes = 0;
            while (!coro_resume(co[k]))
                resumes++;
            assert_int_equal(resumes, 3);
            assert_int_equal(c[k].steps, 3);
            assert_true(coro_done(co[k]));
        }
        for (int k = n; k-- > 0;)
            coro_free(co[k]);
    }
}

/* How far below its stack a coroutine writes, and whether something is mapped right below
 * the guard first (as another coroutine's stack or any heap mapping could be). */
typedef struct overflow {
    size_t below;
    int neighbour;
} overflow;

/* Runs on the coroutine: finds the stack's lowest byte from its own frame (the stack's top is
 * the page boundary just above it) and writes |below| bytes under it, as a frame that size
 * would. */
static void write_below_stack(void *arg)
{
    const overflow *o = arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t top = ((uintptr_t)__builtin_frame_address(0) + page - 1) & ~(page - 1);
    uintptr_t bottom = top - CORO_STACK_DEFAULT;
    if (o->neighbour) {
        /* Maps GUARD bytes ending a page below the stack; where the guard is, this fails
         * (EEXIST) and the write below must fault. */
        uintptr_t at = bottom - GUARD - page;
        void *m = mmap((void *)at, GUARD, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m != MAP_FAILED && m != (void *)at)
            munmap(m, GUARD); /* an old kernel took the address as a hint */
    }
    volatile char *p = (volatile char *)(bottom - o->below);
    *p = 1;
}

/* In a child: runs write_below_stack on a fresh coroutine; the child dies of SIGSEGV if the
 * write faulted and exits 0 if it wrote into memory. Returns the child's wait status. */
static int overflow_in_child(size_t below, int neighbour)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* die of it, whoever handles it in the parent */
        overflow o = {below, neighbour};
        coro *co;
        if (coro_new(&co, 0, write_below_stack, &o) != 0)
            _exit(2);
        coro_resume(co);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    return status;
}

static void overflow_faults(void **st)
{
    int status = overflow_in_child(1, 0); /* the byte just below the stack */
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* A frame of nearly 64 KiB (in code built without -fstack-clash-protection) lands its first
 * write that far below the stack: it must still hit the guard, not a neighbour's memory. */
static void big_frame_cannot_jump_the_guard(void **st)
{
    int status = overflow_in_child(GUARD - 64, 1);
    if (WIFEXITED(status))
        fail_msg("a write %d bytes below the stack did not fault (exit %d): the guard is too small",
                 GUARD - 64, WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_until_done),
        cmocka_unit_test(interleaved),
        cmocka_unit_test(dropped_unfinished),
        cmocka_unit_test(uses_its_stack),
        cmocka_unit_test(registers_survive_switches),
        cmocka_unit_test(many_coroutines_reuse_stacks),
        cmocka_unit_test(overflow_faults),
        cmocka_unit_test(big_frame_cannot_jump_the_guard),
    };
    return cmocka_run_group_tests_name("coro", tests, NULL, NULL);
}
