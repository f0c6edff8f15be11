/*
 * coro: ucontext coroutines with guarded mmap'd stacks and sanitizer fiber annotations.
 */
#define _GNU_SOURCE
#include "temporal/engine/coro.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif

#ifdef CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

struct coro {
    ucontext_t ctx;
    ucontext_t caller;
    void *map;          /* guard + stack */
    size_t map_len;
    char *stack;
    size_t stack_len;
    coro_fn fn;
    void *arg;
    int done;
    coro *prev;         /* the coroutine that was current when this one was resumed */
#ifdef CORO_ASAN
    void *fake_stack;
    const void *caller_bottom;
    size_t caller_size;
#endif
};

static __thread coro *current;

coro *coro_current(void) { return current; }
int coro_done(const coro *c) { return c->done; }

static void trampoline(unsigned lo, unsigned hi)
{
    coro *c = (coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->caller_bottom, &c->caller_size);
#endif
    c->fn(c->arg);
    c->done = 1;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(NULL, c->caller_bottom, c->caller_size); /* stack ends */
#endif
    setcontext(&c->caller);
}

int coro_new(coro **out, size_t stack_size, coro_fn fn, void *arg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t guard = (CORO_GUARD + page - 1) / page * page;
    *out = NULL;
    if (!stack_size)
        stack_size = CORO_STACK_DEFAULT;
    stack_size = (stack_size + page - 1) / page * page;
    coro *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->map_len = guard + stack_size;
    c->map = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                  -1, 0);
    if (c->map == MAP_FAILED) {
        free(c);
        return -1;
    }
    if (mprotect(c->map, guard, PROT_NONE) != 0) { /* the guard: stacks grow down */
        munmap(c->map, c->map_len);
        free(c);
        return -1;
    }
    c->stack = (char *)c->map + guard;
    c->stack_len = stack_size;
    c->fn = fn;
    c->arg = arg;
    if (getcontext(&c->ctx) != 0) {
        munmap(c->map, c->map_len);
        free(c);
        return -1;
    }
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = c->stack_len;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))trampoline, 2, (unsigned)(p & 0xffffffffu),
                (unsigned)(p >> 32));
    *out = c;
    return 0;
}

int coro_resume(coro *c)
{
    if (c->done)
        return 1;
    c->prev = current;
    current = c;
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, c->stack, c->stack_len);
#endif
    swapcontext(&c->caller, &c->ctx);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    current = c->prev;
    return c->done;
}

void coro_yield(void)
{
    coro *c = current;
    if (!c)
        return;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&c->fake_stack, c->caller_bottom, c->caller_size);
#endif
    swapcontext(&c->ctx, &c->caller);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(c->fake_stack, &c->caller_bottom, &c->caller_size);
#endif
}

void coro_free(coro *c)
{
    if (!c)
        return;
#ifdef CORO_ASAN
    __asan_unpoison_memory_region(c->stack, c->stack_len); /* a dropped stack may hold poison */
#endif
    munmap(c->map, c->map_len);
    free(c);
}
