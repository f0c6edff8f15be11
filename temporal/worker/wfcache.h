/*
 * wfcache: the invocation's workflow cache, for sticky execution: runs kept between their
 * tasks (the engine's wf_exec), by run id, at most |capacity| of them, the least recently used
 * evicted first (as the official SDKs' sticky cache). It knows nothing of tasks or queues: the
 * worker (wft.c) decides when a kept run may take a task and when it must be dropped.
 *
 * Ownership: a run in the cache belongs to the cache, which frees it (wf_exec_free) when it
 * evicts it or is freed itself. wfcache_take() hands a run to the caller, who holds it alone
 * (the entry stays, marked held, so another task of the run waits for it instead of replaying
 * from the first event) until it gives it back with wfcache_put() or gives it up with
 * wfcache_drop(); only the holder's thread touches a held run. A held run is never evicted.
 *
 * Threading: every call is thread-safe (one mutex). Freeing runs (munmap of coroutine stacks)
 * happens outside the lock, on the calling thread.
 */
#ifndef TW_WFCACHE_H
#define TW_WFCACHE_H

#include <stdint.h>

#include "temporal/engine/wf.h"

typedef struct wfcache wfcache;

/* A cache of at most |capacity| (>= 1) runs. NULL when out of memory. */
wfcache *wfcache_new(int capacity);
/* Takes run |run_id|'s kept run for a task: the caller holds it. NULL when the cache has none.
 * When another caller holds it, waits up to |wait_ms| for it to be given back (the next task
 * of a run can reach another thread while the one that answered the last task still holds
 * it); past that the entry is forgotten (its holder frees the run when done) and NULL is
 * returned. */
wf_exec *wfcache_take(wfcache *c, const char *run_id, int64_t wait_ms);
/* Gives |x| back, or puts it in for the first time, as run |run_id|'s kept run, most recently
 * used; then evicts (frees) the least recently used runs not held while there are more than
 * the capacity. A run whose entry was forgotten meanwhile, or that another run has replaced,
 * is freed instead. */
void wfcache_put(wfcache *c, const char *run_id, wf_exec *x);
/* The holder of |x| gives it up (its task failed, the workflow closed): the entry goes and
 * |x| is freed. */
void wfcache_drop(wfcache *c, const char *run_id, wf_exec *x);
/* Runs in the cache (held ones included). */
int wfcache_size(wfcache *c);
/* Calls |fn|(|arg|, run) for each run in the cache that no caller holds, with the lock held:
 * |fn| may only read the run (wf_exec's queries), never run a task on it or free it. */
void wfcache_visit(wfcache *c, void (*fn)(void *arg, const wf_exec *x), void *arg);
/* Frees the cache and every run in it. Called once nothing holds a run (the worker frees it
 * when its last thread has ended); a run still held is left to its holder. NULL is a no-op. */
void wfcache_free(wfcache *c);

#endif
