/*
 * coro: coroutines for workflow code (ucontext), each on its own stack with a guard region
 * below it (CORO_GUARD, 64 KiB) so an overflow faults instead of corrupting memory: a frame
 * smaller than the guard cannot step over it, and code built with -fstack-clash-protection
 * probes larger frames page by page. Workflow code written as straight-line C blocks in
 * tw_execute_activity(); underneath, the coroutine yields back to the workflow engine, which
 * resumes it when the history says the activity is done.
 *
 * AddressSanitizer is told about every switch (__sanitizer_*_switch_fiber) so it keeps
 * tracking the right stack. Threading: a coroutine is resumed by one thread at a time; the
 * engine keeps each workflow on the thread that runs its task.
 */
#ifndef TW_CORO_H
#define TW_CORO_H

#include <stddef.h>

typedef struct coro coro;
typedef void (*coro_fn)(void *arg);

#define CORO_STACK_DEFAULT (256 * 1024)
/* Inaccessible memory right below every stack (at least one page). */
#define CORO_GUARD (64 * 1024)

/* Makes a coroutine that will run |fn|(|arg|) on a |stack_size| stack. 0 or -1. */
int coro_new(coro **out, size_t stack_size, coro_fn fn, void *arg);
/* Runs |c| until it yields or returns. Returns 1 once |fn| has returned, else 0. */
int coro_resume(coro *c);
/* From inside a coroutine: back to whoever resumed it. */
void coro_yield(void);
/* The coroutine running on this thread, or NULL. */
coro *coro_current(void);
int coro_done(const coro *c);
/* Frees |c| (finished or not: an unfinished one is simply dropped). NULL is a no-op. */
void coro_free(coro *c);

#endif
