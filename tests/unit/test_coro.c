/*
 * Unit tests of temporal/engine/coro.c: yielding and resuming, several coroutines interleaved,
 * dropping an unfinished one, enough stack for real work, and an overflow that faults (in a
 * child process) even when a big frame lands deep below the stack.
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
        cmocka_unit_test(overflow_faults),
        cmocka_unit_test(big_frame_cannot_jump_the_guard),
    };
    return cmocka_run_group_tests_name("coro", tests, NULL, NULL);
}
