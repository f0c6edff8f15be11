/*
 * wfpoll: the workflow task threads. One thread per slot (TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS
 * of them), taking turns at polling: at most TEMPORAL_WORKFLOW_TASK_POLLERS polls are open at
 * once, each on a thread with nothing to run; a thread whose poll brings a task runs it at once
 * (no hand-over, so a task waits for no other thread) while an idle thread opens the next poll.
 * So polling never waits for a task to run: a poll is open whenever a slot is free, and the
 * time a workflow task takes is its own work and answer, not a poll round trip as well (the Go
 * SDK's pollers hand tasks to its task workers for the same reason). No more than the slots
 * are polled or run at once.
 *
 * With a workflow cache, each poll goes either to the task queue or to this invocation's own
 * sticky queue, by the Go SDK's rule: the sticky queue while it has a backlog, else the queue
 * with fewer polls open (the sticky one on a tie). With two polls open or more, one of them
 * always waits on the task queue, so a new workflow's first task finds a poller and does not
 * make the Worker Controller invoke the function again.
 *
 * The watchdog (wft_watchdog, on the worker's main thread) fails the task of workflow code
 * that has run longer than the deadlock timeout without yielding, as the official SDKs'
 * deadlock detector does; that thread stays in the user's code, its slot taken for good, and
 * the worker answers the invocation without it (worker.c ends the process then).
 *
 * Ownership: a task's arena belongs to the thread that polled it, which frees it; the watchdog
 * reads only the copies kept in the slot under mu.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/arena.h"
#include "runtime/log.h"
#include "temporal/worker/worker_int.h"

/* ---- running tasks ---- */

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

static void slot_end(worker *w, wf_slot *slot, int failed)
{
    pthread_mutex_lock(&w->mu);
    if (slot->stuck)
        w->stuck_pollers--; /* the code came back after all */
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
    slot->state = SLOT_FREE;
    free(slot->token);
    slot->token = NULL;
    slot->token_len = 0;
    w->last_busy = clock_mono_ms();
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Runs |t| (in |a|) and every task of its run the server hands back with an answer. */
static void run_tasks(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    while (t) {
        int64_t since = metrics_clock_us();
        int query = t->query != NULL; /* |t| is gone after wft_run */
        slot_begin(w, slot, t);
        log_set_task(t->query ? "query" : "workflow", slot->type,
                     t->workflow_execution->workflow_id, NULL);
        int failed = 0;
        arena *next_arena = NULL;
        wf_task *next = wft_run(w, slot, a, t, &next_arena, &failed);
        log_set_task(NULL, NULL, NULL, NULL);
        if (!query)
            worker_sample(w, &w->wft_latency, since);
        slot_end(w, slot, failed);
        a = next_arena;
        t = next;
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

/* One poll: the task it brought (in *|a|), or NULL. */
static wf_task *poll_once(worker *w, int sticky, int poll_ms, arena **a, int64_t *backoff)
{
    *a = arena_new(TASK_ARENA_LIMIT);
    ProtobufCMessage *resp = NULL;
    grpc_status st = {.message = "out of memory"};
    int code = GRPC_RESOURCE_EXHAUSTED;
    int64_t since = metrics_clock_us();
    if (*a) {
        WFS(PollWorkflowTaskQueueRequest) req;
        PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &req);
        req.namespace_ = (char *)w->ns;
        req.task_queue = sticky ? worker_sticky_task_queue(w, *a)
                                : worker_task_queue(*a, w->s->task_queue);
        req.identity = w->identity;
        req.worker_instance_key = w->instance_key;
        req.deployment_options = &w->dep;
        code = grpc_unary(w->ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                          &req.base, &WFS_DESC(poll_workflow_task_queue_response),
                          arena_allocator(*a), &resp, poll_ms, &st);
    }
    wf_task *t = code == GRPC_OK ? (void *)resp : NULL;
    pthread_mutex_lock(&w->mu);
    w->polls_open--;
    if (sticky) {
        w->pending_sticky--;
        w->sticky_backlog = t ? t->backlog_count_hint : 0;
    } else {
        w->pending_normal--;
    }
    pthread_cond_broadcast(&w->cv); /* an idle thread opens the next poll */
    pthread_mutex_unlock(&w->mu);
    if (t && t->task_token.len && !t->workflow_execution) {
        log_error("workflow task without an execution: dropped");
        t = NULL;
    }
    if (!t || !t->task_token.len) {
        arena_free(*a);
        *a = NULL;
        t = NULL;
    }
    if (t)
        worker_sample(w, &w->poll_wait, since);
    worker_poll_outcome(w, sticky ? "sticky workflow poll" : "workflow poll", code, &st, backoff);
    return t;
}

void *wft_poller(void *arg)
{
    wf_slot *slot = arg;
    worker *w = slot->w;
    int64_t backoff = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->stopping && w->polls_open >= w->max_polls)
            pthread_cond_wait(&w->cv, &w->mu);
        int poll_ms = w->stopping ? 0 : worker_poll_ms_locked(w);
        if (!poll_ms) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        w->polls_open++;
        slot->state = SLOT_POLLING;
        int sticky = pick_sticky(w);
        pthread_mutex_unlock(&w->mu);
        arena *a;
        wf_task *t = poll_once(w, sticky, poll_ms, &a, &backoff);
        if (t) {
            run_tasks(w, slot, a, t);
        } else {
            pthread_mutex_lock(&w->mu);
            slot->state = SLOT_FREE;
            pthread_mutex_unlock(&w->mu);
        }
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
    w->stuck_pollers++;
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
