/*
 * dispatch: a workflow's coroutines and the deterministic order they run in (sdk-go's
 * dispatcher). A pass resumes every live coroutine in run order, each until it blocks; passes
 * repeat until one makes no progress (every coroutine is blocked where it was), or the
 * workflow function has returned. A blocking call is a loop around wf_block(): the coroutine
 * checks its own condition each time it is resumed and yields again when it does not hold,
 * which is "no progress". Handlers started by events are eager: they run before the others in
 * the next pass (right after the running coroutine when code started them), so the code they
 * interrupt sees what they did, as sdk-go runs update handlers and sdk-core orders signals
 * before resolutions.
 *
 * A coroutine gets its stack when it first runs and gives it back as soon as it finishes (a
 * burst of signal handlers that do not block runs on one stack after another, not on as many
 * stacks at once); it leaves the run order at the end of the pass, and its wf_co stays in the
 * arena (its future may point at its result).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/wf_int.h"

static void entry(void *arg)
{
    wf_co *c = arg;
    c->started = c->progressed = 1;
    c->body(c->wf, c);
}

wf_co *wf_spawn(tw_wf *wf, const char *name, void (*body)(tw_wf *, wf_co *), int eager)
{
    if (wf->co_live >= WF_MAX_COROUTINES)
        return NULL;
    wf_co *c = wf_mem(wf, sizeof(*c));
    if (!c)
        return NULL;
    *c = (wf_co){.wf = wf, .id = ++wf->co_seq, .name = name, .body = body};
    wf->co_live++;
    if (eager && wf->running) { /* right after the coroutine that started it (and the ones it
                                 * started before, in order) */
        wf_co *after = wf->insert_after ? wf->insert_after : wf->running;
        c->next = after->next;
        after->next = c;
        wf->insert_after = c;
        return c;
    }
    wf_co **tail = eager ? wf->eager_tail : &wf->cos;
    if (!eager)
        while (*tail)
            tail = &(*tail)->next;
    *tail = c;
    if (eager)
        wf->eager_tail = &c->next;
    return c;
}

/* Handlers started since the last pass go first, in the order they were started. */
static void splice_eager(tw_wf *wf)
{
    if (!wf->eager)
        return;
    *wf->eager_tail = wf->cos;
    wf->cos = wf->eager;
    wf->eager = NULL;
    wf->eager_tail = &wf->eager;
}

/* Resumes |c| (its stack made the first time) until it blocks or ends. 1 when it made
 * progress; 0 with wf->oom set when its stack could not be made. */
static int resume(tw_wf *wf, wf_co *c)
{
    if (!c->co && coro_new(&c->co, 0, entry, c) != 0) {
        c->co = NULL;
        wf->oom = 1;
        return 0;
    }
    c->progressed = 0;
    wf->running = c;
    wf->insert_after = NULL;
    if (wf->code_since)
        __atomic_store_n(wf->code_since, clock_mono_ms(), __ATOMIC_RELEASE);
    int ended = coro_resume(c->co);
    if (wf->code_since)
        __atomic_store_n(wf->code_since, 0, __ATOMIC_RELEASE);
    wf->running = NULL;
    if (ended) {
        c->finished = 1;
        c->waiting = c->wait_call = NULL;
        coro_free(c->co); /* for the next coroutine to run */
        c->co = NULL;
    }
    return ended || c->progressed;
}

/* Takes the coroutines that finished off the run order. */
static void reap(tw_wf *wf)
{
    for (wf_co **p = &wf->cos; *p;) {
        wf_co *c = *p;
        if (!c->finished) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        wf->co_live--;
    }
}

void wf_dispatch(tw_wf *wf)
{
    int progress = 1;
    while (progress && !wf->returned && !wf->oom) {
        progress = 0;
        splice_eager(wf);
        for (wf_co *c = wf->cos; c && !wf->returned && !wf->oom; c = c->next)
            if (!c->finished)
                progress |= resume(wf, c);
        reap(wf);
        progress |= wf_signals_spawn(wf) > 0; /* deliveries that waited for room */
    }
}

/* wf_block(), its wait described by |what|, or by |call| on |f| (wf_co's waiting). */
static int block(tw_wf *wf, int (*ready)(tw_wf *, void *), void *ctx, const char *what,
                 const char *call, const wf_future *f)
{
    wf_co *c = wf->running;
    for (;;) {
        if (ready(wf, ctx)) {
            c->progressed = 1;
            c->waiting = c->wait_call = NULL;
            return 0;
        }
        if (c->cancel_pending) {
            c->cancel_pending = 0;
            c->progressed = 1;
            c->waiting = c->wait_call = NULL;
            return TW_ECANCELED;
        }
        c->waiting = what;
        c->wait_call = call;
        c->wait_future = f;
        coro_yield();
    }
}

int wf_block(tw_wf *wf, int (*ready)(tw_wf *, void *), void *ctx, const char *what)
{
    return block(wf, ready, ctx, what, NULL, NULL);
}

static int future_done(tw_wf *wf, void *ctx) { return ((const wf_future *)ctx)->done; }

int wf_block_future(tw_wf *wf, wf_future *f, const char *call)
{
    return block(wf, future_done, f, NULL, call, f);
}

void wf_yield(tw_wf *wf)
{
    wf->running->progressed = 1;
    coro_yield();
    wf->running->progressed = 1;
}

void wf_free_coroutines(tw_wf *wf)
{
    splice_eager(wf);
    for (wf_co *c = wf->cos; c; c = c->next) {
        coro_free(c->co);
        c->co = NULL;
    }
}

size_t wf_stack_trace(tw_wf *wf, char *out, size_t n)
{
    size_t used = 0;
    if (n)
        out[0] = '\0';
    /* In creation order (ids), whatever the run order: the lowest id not listed yet, each
     * time. Coroutines are few enough (WF_MAX_COROUTINES) for the quadratic walk. */
    int last = 0;
    for (;;) {
        wf_co *next = NULL;
        wf_co *lists[2] = {wf->eager, wf->cos};
        for (int l = 0; l < 2; l++)
            for (wf_co *c = lists[l]; c; c = c->next)
                if (!c->finished && c->id > last && (!next || c->id < next->id))
                    next = c;
        if (!next)
            return used;
        last = next->id;
        char on[200];
        if (next->wait_call) {
            char desc[160];
            wf_describe_future(next->wait_future, desc, sizeof(desc));
            snprintf(on, sizeof(on), "%s %s", next->wait_call, desc);
        }
        const char *where = next->wait_call ? on : next->waiting ? next->waiting
                          : next == wf->running ? "running" : "not started yet";
        int k = snprintf(used < n ? out + used : NULL, used < n ? n - used : 0,
                         "coroutine %d (%s): %s\n", next->id, next->name, where);
        if (k > 0)
            used += (size_t)k;
    }
}
