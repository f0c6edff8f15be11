/*
 * coro: coroutines on guarded mmap'd stacks, with sanitizer fiber annotations.
 *
 * A switch saves the callee-saved registers and the stack pointer and loads the other side's
 * (coro_switch, a few instructions on x86_64 and arm64): no system call, where ucontext's
 * swapcontext saves and restores the signal mask with one at every switch, which was about a
 * third of a replay's time (bench/replay.c). Elsewhere, or with x86's control-flow protection
 * (shadow stacks) on, ucontext does the switching.
 *
 * Stacks of freed coroutines are kept for the next ones, up to STACK_POOL of them for the
 * process: a full replay makes a coroutine per task, and mapping, protecting and unmapping a
 * stack, with the page faults of a fresh one, was another third. A kept stack holds the pages
 * its last coroutine touched (a few KiB for usual workflow code). The coroutine's own struct
 * lives at the top of its mapping, above the stack.
 */
#define _GNU_SOURCE
#include "temporal/engine/coro.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

#if (defined(__x86_64__) && !defined(__CET__)) || defined(__aarch64__)
#define CORO_SWITCH 1
#else
#include <ucontext.h>
#endif

/* Stacks kept for reuse, at most. */
#define STACK_POOL 8

struct coro {
#ifdef CORO_SWITCH
    void *sp;           /* its stack pointer while it is suspended */
    void *caller_sp;    /* its resumer's while it runs */
#else
    ucontext_t ctx;
    ucontext_t caller;
#endif
    void *map;          /* guard + stack + this struct */
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

/* ---- switching ---- */

#ifdef CORO_SWITCH
/* Saves the callee-saved registers on the current stack, stores the stack pointer in *|save|,
 * switches to stack |to| and restores the registers saved there: returns into whatever
 * suspended |to| (or, the first time, into coro_boot). */
void coro_switch(void **save, void *to) __attribute__((visibility("hidden")));
/* A new coroutine's first frame returns here: calls coro_main(the coroutine), which never
 * returns. */
void coro_boot(void) __attribute__((visibility("hidden")));

#if defined(__x86_64__)
/* rbp rbx r12-r15 and the SSE and x87 control words (callee-saved in the System V ABI). */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl coro_switch\n"
        ".type coro_switch,@function\n"
        "coro_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $16, %rsp\n"
        "    stmxcsr 8(%rsp)\n"
        "    fnstcw 12(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr 8(%rsp)\n"
        "    fldcw 12(%rsp)\n"
        "    addq $16, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size coro_switch,.-coro_switch\n"
        ".p2align 4\n"
        ".globl coro_boot\n"
        ".type coro_boot,@function\n"
        "coro_boot:\n"
        "    movq %rbx, %rdi\n"
        "    callq *%r12\n"
        "    ud2\n"
        ".size coro_boot,.-coro_boot\n");
enum { FRAME_WORDS = 9 }; /* control words (2), r15 r14 r13 r12 rbx rbp, return address */
#else
/* d8-d15, x19-x28, the frame pointer and the link register (callee-saved in AAPCS64). */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl coro_switch\n"
        ".type coro_switch,%function\n"
        "coro_switch:\n"
        "    sub sp, sp, #160\n"
        "    stp d8, d9, [sp, #0]\n"
        "    stp d10, d11, [sp, #16]\n"
        "    stp d12, d13, [sp, #32]\n"
        "    stp d14, d15, [sp, #48]\n"
        "    stp x19, x20, [sp, #64]\n"
        "    stp x21, x22, [sp, #80]\n"
        "    stp x23, x24, [sp, #96]\n"
        "    stp x25, x26, [sp, #112]\n"
        "    stp x27, x28, [sp, #128]\n"
        "    stp x29, x30, [sp, #144]\n"
        "    mov x2, sp\n"
        "    str x2, [x0]\n"
        "    mov sp, x1\n"
        "    ldp d8, d9, [sp, #0]\n"
        "    ldp d10, d11, [sp, #16]\n"
        "    ldp d12, d13, [sp, #32]\n"
        "    ldp d14, d15, [sp, #48]\n"
        "    ldp x19, x20, [sp, #64]\n"
        "    ldp x21, x22, [sp, #80]\n"
        "    ldp x23, x24, [sp, #96]\n"
        "    ldp x25, x26, [sp, #112]\n"
        "    ldp x27, x28, [sp, #128]\n"
        "    ldp x29, x30, [sp, #144]\n"
        "    add sp, sp, #160\n"
        "    ret\n"
        ".size coro_switch,.-coro_switch\n"
        ".p2align 4\n"
        ".globl coro_boot\n"
        ".type coro_boot,%function\n"
        "coro_boot:\n"
        "    mov x0, x19\n"
        "    blr x20\n"
        "    brk #0\n"
        ".size coro_boot,.-coro_boot\n");
enum { FRAME_WORDS = 20 }; /* d8-d15, x19-x28, x29, x30 */
#endif

static void coro_main(coro *c);

/* The frame coro_switch finds on a new coroutine's stack: it "returns" into coro_boot with the
 * coroutine and coro_main in the registers coro_boot reads. */
static void first_frame(coro *c)
{
    uintptr_t *sp = (uintptr_t *)(((uintptr_t)(c->stack + c->stack_len)) & ~(uintptr_t)15);
    sp -= FRAME_WORDS;
    memset(sp, 0, FRAME_WORDS * sizeof(*sp));
#if defined(__x86_64__)
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    memcpy((char *)sp + 8, &mxcsr, sizeof(mxcsr));
    memcpy((char *)sp + 12, &fpucw, sizeof(fpucw));
    sp[5] = (uintptr_t)coro_main; /* r12 */
    sp[6] = (uintptr_t)c;         /* rbx */
    sp[8] = (uintptr_t)coro_boot; /* the return address */
#else
    sp[8] = (uintptr_t)c;          /* x19 */
    sp[9] = (uintptr_t)coro_main;  /* x20 */
    sp[19] = (uintptr_t)coro_boot; /* x30 */
#endif
    c->sp = sp;
}

static void coro_main(coro *c)
{
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->caller_bottom, &c->caller_size);
#endif
    c->fn(c->arg);
    c->done = 1;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(NULL, c->caller_bottom, c->caller_size); /* stack ends */
#endif
    coro_switch(&c->sp, c->caller_sp);
    abort(); /* a finished coroutine is never resumed (coro_resume checks) */
}

static int first_frame_ready(coro *c)
{
    first_frame(c);
    return 0;
}
#define SWITCH_TO(c) coro_switch(&(c)->caller_sp, (c)->sp)
#define SWITCH_BACK(c) coro_switch(&(c)->sp, (c)->caller_sp)
#else
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

static int first_frame_ready(coro *c)
{
    if (getcontext(&c->ctx) != 0)
        return -1;
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = c->stack_len;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))trampoline, 2, (unsigned)(p & 0xffffffffu),
                (unsigned)(p >> 32));
    return 0;
}
#define SWITCH_TO(c) swapcontext(&(c)->caller, &(c)->ctx)
#define SWITCH_BACK(c) swapcontext(&(c)->ctx, &(c)->caller)
#endif

/* ---- stacks ---- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *map;
    size_t len;
} pool[STACK_POOL];
static int npool;

/* A kept mapping of |len| bytes, or NULL. */
static void *pool_take(size_t len)
{
    void *map = NULL;
    pthread_mutex_lock(&pool_lock);
    for (int i = npool; i-- > 0;)
        if (pool[i].len == len) {
            map = pool[i].map;
            pool[i] = pool[--npool];
            break;
        }
    pthread_mutex_unlock(&pool_lock);
    return map;
}

/* Keeps |map| for the next coroutine: 1, or 0 when the pool is full. */
static int pool_give(void *map, size_t len)
{
    int kept = 0;
    pthread_mutex_lock(&pool_lock);
    if (npool < STACK_POOL) {
        pool[npool].map = map;
        pool[npool++].len = len;
        kept = 1;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

/* A new mapping of |len| bytes whose first |guard| are inaccessible, or NULL. */
static void *map_stack(size_t len, size_t guard)
{
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, guard, PROT_NONE) != 0) { /* the guard: stacks grow down */
        munmap(map, len);
        return NULL;
    }
    return map;
}

int coro_new(coro **out, size_t stack_size, coro_fn fn, void *arg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t guard = (CORO_GUARD + page - 1) / page * page;
    size_t self = (sizeof(coro) + 63) & ~(size_t)63;
    *out = NULL;
    if (!stack_size)
        stack_size = CORO_STACK_DEFAULT;
    stack_size = (stack_size + page - 1) / page * page;
    size_t len = guard + stack_size;
    void *map = pool_take(len);
    if (!map && !(map = map_stack(len, guard)))
        return -1;
    coro *c = (coro *)((char *)map + len - self);
    memset(c, 0, sizeof(*c));
    c->map = map;
    c->map_len = len;
    c->stack = (char *)map + guard;
    c->stack_len = stack_size - self;
    c->fn = fn;
    c->arg = arg;
    if (first_frame_ready(c) != 0) {
        munmap(map, len);
        return -1;
    }
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
    SWITCH_TO(c);
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
    SWITCH_BACK(c);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(c->fake_stack, &c->caller_bottom, &c->caller_size);
#endif
}

void coro_free(coro *c)
{
    if (!c)
        return;
    void *map = c->map;
    size_t len = c->map_len;
#ifdef CORO_ASAN
    __asan_unpoison_memory_region(c->stack, c->stack_len); /* a dropped stack may hold poison */
#endif
    if (!pool_give(map, len))
        munmap(map, len);
}
