/*
 * wfpoll: workflow pollers and the executor slots they feed. A poller reserves a free slot,
 * polls, and hands the task it got to the slot's executor thread, then reserves another slot
 * and polls again at once: polling never waits for a task to run, so the time a workflow task
 * takes is CPU and its own answer, not a poll round trip as well (the Go SDK's pollers hand
 * tasks to its task workers the same way). At most TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS
 * slots, so no more than that many tasks are polled or run at once.
 *
 * With a workflow cache, each poll goes either to the task queue or to this invocation's own
 * sticky queue, by the Go SDK's rule: the sticky queue while it has a backlog, else the queue
 * with fewer polls open (the sticky one on a tie). With two pollers or more, one of them always
 * waits on the task queue, so a new workflow's first task finds a poller and does not make the
 * Worker Controller invoke the function again.
 *
 * The watchdog (wft_watchdog, on the worker's main thread) fails the task of workflow code
 * that has run longer than the deadlock timeout without yielding, as the official SDKs'
 * deadlock detector does; that executor stays in the user's code, its slot taken for good,
 * and the worker answers the invocation without it (worker.c ends the process then).
 *
 * Ownership: a task's arena goes from the poller to the slot (under mu) to the executor, which
 * frees it; the watchdog reads only the copies kept in the slot under mu.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/arena.h"
#include "runtime/log.h"
#include "temporal/worker/worker_int.h"

/* ---- slots ---- */

/* With mu held: a free slot, or NULL. */
static wf_slot *free_slot(worker *w)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].state == SLOT_FREE)
            return &w->slots[i];
    return NULL;
}

static void slot_begin(worker *w, wf_slot *slot, const wf_task *t)
{
    pthread_mutex_lock(&w->mu);
    w->wf_running++;
    slot->state = SLOT_RUNNING;
    slot->stuck = 0;
    slot->query = t->query != NULL;
    slot->attempt = t->attempt;
    snprintf(slot->type, sizeof(slot->type), "%s",
             t->workflow_type && t->workflow_type->name ? t->workflow_type->name : "?");
    snprintf(slot->id, sizeof(slot->id), "%s",
             t->workflow_execution && t->workflow_execution->workflow_id
                 ? t->workflow_execution->workflow_id : "?");
    free(slot->token);
    slot->token = malloc(t->task_token.len);
    slot->token_len = slot->token ? t->task_token.len : 0;
    if (slot->token)
        memcpy(slot->token, t->task_token.data, t->task_token.len);
    pthread_cond_broadcast(&w->cv); /* the main thread watches running workflow code */
    pthread_mutex_unlock(&w->mu);
}

/* The end of a task; the slot stays the executor's (|last|: free it for the pollers). */
static void slot_end(worker *w, wf_slot *slot, int failed, int last)
{
    pthread_mutex_lock(&w->mu);
    if (slot->stuck)
        w->stuck_executors--; /* the code came back after all */
    else
        w->wf_running--;
    if (slot->query) {
        w->queries++;
    } else {
        w->wf_tasks++;
        if (failed && !slot->stuck)
            w->wf_failed++;
    }
    slot->stuck = 0;
    free(slot->token);
    slot->token = NULL;
    slot->token_len = 0;
    if (last)
        slot->state = SLOT_FREE;
    w->last_busy = clock_mono_ms();
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Runs |t| and every task of its run the server hands back with an answer. */
static void run_tasks(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    while (t) {
        slot_begin(w, slot, t);
        log_set_task(t->query ? "query" : "workflow", slot->type,
                     t->workflow_execution->workflow_id, NULL);
        int failed = 0;
        arena *next_arena = NULL;
        wf_task *next = wft_run(w, slot, a, t, &next_arena, &failed);
        log_set_task(NULL, NULL, NULL, NULL);
        slot_end(w, slot, failed, next == NULL);
        a = next_arena;
        t = next;
    }
}

/* A slot's executor: runs the tasks handed to its slot until the stop, once no poller can
 * hand it another. */
static void *executor(void *arg)
{
    wf_slot *slot = arg;
    worker *w = slot->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (slot->state != SLOT_HANDED && !(w->stopping && w->pollers_running == 0))
            pthread_cond_wait(&w->cv, &w->mu);
        if (slot->state != SLOT_HANDED)
            break;
        arena *a = slot->task_arena;
        wf_task *t = slot->task;
        slot->task_arena = NULL;
        slot->task = NULL;
        pthread_mutex_unlock(&w->mu);
        run_tasks(w, slot, a, t);
        pthread_mutex_lock(&w->mu);
    }
    slot->executor = 0;
    pthread_mutex_unlock(&w->mu);
    worker_thread_done(w, &w->executors_running);
    return NULL;
}

/* Gives |t| (in |a|) to |slot|'s executor, starting it the first time; with no thread to be
 * had, the poller runs the task itself. */
static void hand_over(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    pthread_mutex_lock(&w->mu);
    int inline_run = 0;
    if (!slot->executor) {
        slot->executor = worker_spawn_locked(w, executor, slot, &w->executors_running) == 0;
        inline_run = !slot->executor;
    }
    if (!inline_run) {
        slot->task_arena = a;
        slot->task = t;
        slot->state = SLOT_HANDED;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (inline_run) {
        log_warn("no thread for a workflow task executor: the poller runs the task");
        run_tasks(w, slot, a, t);
    }
}

/* ---- polling ---- */

/* With mu held: poll the sticky queue next? Counts the poll as open on its queue. */
static int pick_sticky(worker *w)
{
    int sticky = w->cache && (w->sticky_backlog > 0 || w->pending_sticky <= w->pending_normal);
    if (sticky)
        w->pending_sticky++;
    else
        w->pending_normal++;
    return sticky;
}

void *wft_poller(void *arg)
{
    worker *w = arg;
    int64_t backoff = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu); /* a slot is reserved before polling */
        wf_slot *slot = NULL;
        while (!w->stopping && !(slot = free_slot(w)))
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        slot->state = SLOT_POLLING;
        int sticky = pick_sticky(w);
        pthread_mutex_unlock(&w->mu);

        arena *a = arena_new(TASK_ARENA_LIMIT);
        ProtobufCMessage *resp = NULL;
        grpc_status st = {.message = "out of memory"};
        int code = GRPC_RESOURCE_EXHAUSTED;
        if (a) {
            WFS(PollWorkflowTaskQueueRequest) req;
            PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &req);
            req.namespace_ = (char *)w->ns;
            req.task_queue = sticky ? worker_sticky_task_queue(w, a)
                                    : worker_task_queue(a, w->s->task_queue);
            req.identity = w->identity;
            req.worker_instance_key = w->instance_key;
            req.deployment_options = &w->dep;
            code = grpc_unary(w->ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                              &req.base, &WFS_DESC(poll_workflow_task_queue_response),
                              arena_allocator(a), &resp, worker_call_ms(w, POLL_TIMEOUT_MS), &st);
        }
        wf_task *t = code == GRPC_OK ? (void *)resp : NULL;
        pthread_mutex_lock(&w->mu);
        if (sticky) {
            w->pending_sticky--;
            w->sticky_backlog = t ? t->backlog_count_hint : 0;
        } else {
            w->pending_normal--;
        }
        pthread_mutex_unlock(&w->mu);
        int has_task = t && t->task_token.len;
        if (has_task && !t->workflow_execution) {
            log_error("workflow task without an execution: dropped");
            has_task = 0;
        }
        if (has_task) {
            hand_over(w, slot, a, t);
        } else {
            arena_free(a);
            pthread_mutex_lock(&w->mu);
            slot->state = SLOT_FREE;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
        worker_poll_outcome(w, sticky ? "sticky workflow poll" : "workflow poll", code, &st,
                            &backoff);
    }
    worker_thread_done(w, &w->pollers_running);
    return NULL;
}

/* ---- the watchdog ---- */

/* The watchdog's report of one stuck task, sent on a thread of its own so the main thread
 * never waits on the network for it. Owns its copies. */
typedef struct deadlock_report {
    worker *w;
    ProtobufCBinaryData token;
    int query;               /* a legacy query task's: answered as a failed query */
    char msg[600];
} deadlock_report;

static void *report_thread(void *arg)
{
    deadlock_report *r = arg;
    worker *w = r->w;
    arena *a = arena_new(1024 * 1024);
    if (a && r->query)
        wft_respond_query(w, a, r->token, NULL, r->msg);
    else if (a)
        wft_respond_task_failed(w, a, r->token, WF_CAUSE_UNHANDLED_FAILURE, "PotentialDeadlock",
                                r->msg);
    arena_free(a);
    free(r->token.data);
    free(r);
    worker_thread_done(w, &w->answers_running);
    return NULL;
}

/* With mu held: marks |slot| stuck and, on the task's first attempt (as the official SDKs
 * report a failing task once), sends the failure naming the workflow. */
static void report_stuck(worker *w, wf_slot *slot, int64_t limit)
{
    slot->stuck = 1;
    w->wf_stuck++;
    w->wf_running--;      /* not running work: it must not hold the idle exit or the drain */
    w->stuck_executors++;
    deadlock_report *r = calloc(1, sizeof(*r));
    if (r) {
        r->w = w;
        r->query = slot->query;
        snprintf(r->msg, sizeof(r->msg), "potential deadlock: the code of workflow %s (id %s) "
                 "ran for more than %lld ms without yielding (an endless loop or a blocking call "
                 "in workflow code?); its task is failed and this Lambda environment will be "
                 "replaced once the invocation ends", slot->type, slot->id, (long long)limit);
        log_error("%s", r->msg);
        r->token.len = slot->token_len;
        r->token.data = slot->token_len ? malloc(slot->token_len) : NULL;
        if (r->token.data)
            memcpy(r->token.data, slot->token, slot->token_len);
    }
    if (!r || !r->token.data || slot->attempt > 1 ||
        worker_spawn_locked(w, report_thread, r, &w->answers_running) != 0) {
        if (r)
            free(r->token.data);
        free(r);
    }
    pthread_cond_broadcast(&w->cv);
}

void wft_watchdog(worker *w)
{
    int64_t limit = w->s->deadlock_timeout_ms;
    if (limit <= 0)
        return;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nslots; i++) {
        wf_slot *slot = &w->slots[i];
        int64_t since = __atomic_load_n(&slot->code_since, __ATOMIC_ACQUIRE);
        if (slot->state == SLOT_RUNNING && !slot->stuck && since &&
            clock_mono_ms() - since >= limit)
            report_stuck(w, slot, limit);
    }
    pthread_mutex_unlock(&w->mu);
}
