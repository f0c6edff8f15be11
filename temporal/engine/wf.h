/*
 * wf: the workflow engine. Runs one workflow task: replays the workflow's history through the
 * user's workflow function (in a coroutine), matches the commands the code makes against the
 * command events already in the history (a mismatch is non-determinism), and returns the new
 * commands the code made after the last event. Either from the first event (wf_run, or a new
 * wf_exec), or, for a run kept between its tasks (wf_exec: sticky execution), from the event
 * after the last one it processed: the rest of the history, which is what a sticky task
 * carries. A kept run and a full replay of the same history make the same commands.
 *
 * Supported: activities (execute, start + await, select), timers (sleep, start + await),
 * several coroutines per workflow (tw_go, tw_await_condition) run in a deterministic order,
 * cancellation (of the workflow, of timers, activities, coroutines and other workflows),
 * deterministic time and randomness, completion, failure and cancellation of the workflow,
 * queries (answered once the history is replayed) and updates (protocol messages in and out;
 * accepted ones replayed from their UpdateAccepted events). Events the engine does not act on
 * (markers, ...) are passed over. As in the official SDKs,
 * the code never runs at a workflow task attempt that failed or timed out (the next attempt
 * sees the time of its own start), and tw_random() is seeded by the original execution's run
 * id (so a reset run replays the same values) and reseeded by the new run id at the reset
 * point.
 *
 * The engine's files: history.c (the history in batches, pages loaded as the replay needs
 * them), cmd.c (the command state machines as tables), wf.c (the replay driver), dispatch.c
 * (the coroutines and their order), wf_api.c (the calls workflow code makes), cancel.c
 * (cancellation both ways), query.c and update.c (queries, updates); wf_int.h is what they
 * share.
 *
 * Memory: wf_run: everything lives in the caller's arena; wf_exec: see below. Threading: one
 * task per call, on the calling thread; calls on different runs are independent.
 */
#ifndef TW_WF_H
#define TW_WF_H

#include <stddef.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/history.h"
#include "temporal/engine/proto.h"
#include "registry/reg.h"

typedef Temporal__Api__Protocol__V1__Message pb_message;
typedef Temporal__Api__Query__V1__WorkflowQuery pb_query;
typedef Temporal__Api__Query__V1__WorkflowQueryResult pb_query_result;

typedef struct wf_input {
    const char *workflow_type;
    const char *workflow_id;
    const char *run_id;
    const char *task_queue;
    pb_event *const *events; /* the history's first page (or all of it), in order */
    size_t nevents;
    history_page_fn next_page; /* NULL: |events| is the whole history; else loads the next
                                * page when the replay reaches the end of the last one */
    void *page_ctx;          /* |next_page|'s */
    int64_t *code_since;     /* NULL, or set (atomically) to the monotonic ms whenever workflow
                              * code is resumed and to 0 when it yields: the worker's deadlock
                              * watchdog reads it from another thread */
    int stack_trace;         /* nonzero: |stack_trace| of the output says where each coroutine
                              * waits once the history is replayed (the __stack_trace query) */
    /* ---- queries and updates (query.c, update.c) ---- */
    pb_message *const *messages; /* the poll's protocol messages (update requests), in order */
    size_t nmessages;
    pb_query *const *queries;  /* to answer once the history is replayed, each in turn */
    size_t nqueries;
    int query_only;            /* a legacy query task: all code runs as replay (silent) and the
                                * output has no commands or messages, only |query_results| */
    /* ---- tw_wf_info (can.c): the worker's; copied when the run is made, may be NULL ---- */
    const char *namespace_name;
    const char *deployment_name; /* the worker's deployment version */
    const char *build_id;
} wf_input;

/* A local activity the worker is to run (local.c): everything it needs, in the run's arena,
 * valid until the next call on the run (the worker copies it). */
typedef struct wf_local_request {
    uint32_t seq;                 /* the run's handle for it (wf_local_result.seq) */
    const char *activity_id;
    const char *activity_type;
    const tw_payload *args;
    size_t nargs;
    int32_t attempt;              /* the attempt to run first */
    int64_t scheduled_ms;         /* when the first attempt was asked for (Unix ms, workflow
                                   * clock): schedule-to-close counts from it */
    int64_t schedule_to_close_ms; /* 0: none */
    int64_t start_to_close_ms;    /* 0: none */
    int64_t retry_threshold_ms;   /* a longer backoff is the engine's (a durable timer) */
    tw_retry_policy retry;        /* the defaults applied */
    int cancel_type;              /* TW_CANCEL_* */
    int cancelled;                /* cancelled (WAIT_COMPLETED) before it started: report it
                                   * cancelled without running it */
} wf_local_request;

/* How a local activity ended, as the worker gives it back (wf_exec_local_done). */
enum { WF_LOCAL_COMPLETED = 1, WF_LOCAL_FAILED, WF_LOCAL_CANCELED };
typedef struct wf_local_result {
    uint32_t seq;
    int outcome;                  /* WF_LOCAL_* */
    tw_payload result;            /* COMPLETED's */
    const tw_failure *failure;    /* FAILED's: the activity's error (a timeout's: kind
                                   * TW_FAILURE_TIMEOUT) */
    int32_t attempt;              /* the attempt that ended */
    int64_t backoff_ms;           /* FAILED, to be retried after a durable timer of this long */
    int64_t completed_ms;         /* Unix ms: the marker's time */
} wf_local_result;

typedef struct wf_output {
    pb_command **commands; /* new commands, in the order the code made them */
    size_t ncommands;
    int task_failed;       /* the task cannot be completed: fail it with |cause| and |message| */
    int cause;             /* WorkflowTaskFailedCause */
    const char *message;
    int versioning;        /* the workflow's versioning behaviour (tw_versioning), 0 if unknown */
    const char *stack_trace; /* when asked (wf_input): "coroutine 1 (main): tw_await activity 1
                              * \"Compose\"\n...", one line per coroutine still running */
    pb_message **messages;   /* protocol messages to send with the commands (update
                              * acceptances, rejections, responses), in order */
    size_t nmessages;
    pb_query_result **query_results; /* one per query of wf_input, in order */
    size_t nquery_results;
    /* ---- local activities (local.c) ---- */
    const wf_local_request *locals; /* to start now, in the order the code asked */
    size_t nlocals;
    const uint32_t *local_cancels;  /* running ones the code cancelled: tell them (seq) */
    size_t nlocal_cancels;
    int64_t task_timeout_ms;        /* the run's workflow task timeout, when local activities
                                     * run (0: unknown) */
} wf_output;

/* WorkflowTaskFailedCause values, by their generated names. */
#define WF_CAUSE(name) \
    TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_##name
#define WF_CAUSE_UNHANDLED_FAILURE WF_CAUSE(WORKFLOW_WORKER_UNHANDLED_FAILURE)
#define WF_CAUSE_NON_DETERMINISTIC WF_CAUSE(NON_DETERMINISTIC_ERROR)

/* Runs one workflow task from the first event, everything in |a| (nothing is kept). Returns
 * 0; what to answer is in |out|. Running out of memory
 * anywhere (the arena's limit, malloc) is a failed task (UNHANDLED_FAILURE), which the server
 * retries, never a failed workflow; so is a page |next_page| could not load, a history whose
 * event ids are not 1, 2, 3, ... (missing history events), and one that cannot be this run's,
 * the message naming the event:
 * an event the engine reads (WorkflowExecutionStarted, WorkflowTaskFailed, ActivityTask*,
 * Timer*) without its own attributes, an ActivityTaskScheduled without a type, or a
 * completion, failure, time-out, cancellation or fire of an activity or timer the code did not
 * start, or of one resolved already. A result payload with len > 0 and data NULL fails the
 * task too (an activity argument like that is TW_EINVAL). Event times are saturated. Nothing
 * in |in| crashes the engine as long as it is what protobuf-c's unpack makes. */
int wf_run(const tw_registry *reg, arena *a, const wf_input *in, wf_output *out);

/* ---- a run kept between its tasks (sticky execution) ----
 *
 * A wf_exec is a workflow run's whole engine state: its own arena (the state the code built,
 * its coroutines' stacks, handlers, futures, commands not yet in the history), and the last
 * event it processed. Each task gives it only what follows that event, so replaying a cached
 * run costs only the new events. What a task's answer needs (its pages, the command array,
 * messages, query results) lives in the task's arena; what the run keeps of an event is copied
 * into its own.
 *
 * Ownership and threading: the caller owns a wf_exec and frees it with wf_exec_free(). It is
 * not thread-safe: one thread at a time may call wf_exec_task() or wf_exec_free() on it, but
 * successive tasks may run on different threads (the coroutines' stacks are the run's; nothing
 * of it is thread-local), the caller ordering them (a lock, a hand-over). Workflow code must
 * therefore not keep thread-local state across a blocking call. */
typedef struct wf_exec wf_exec;

/* A new run of |in|'s workflow type, id and run id (copied), its state in an arena of its own
 * capped at |limit| bytes. A type that is not registered makes a run whose first task fails
 * naming the registered ones. NULL when out of memory. */
wf_exec *wf_exec_new(const tw_registry *reg, const wf_input *in, size_t limit);
/* Runs one task on |x| as wf_run() does (the same |in| and |out|), its answer and pages in
 * |task|, which must outlive only the use of |out|. |in|'s events start right after the last
 * event |x| processed (wf_exec_next_event(); the first event for a new run): a task whose
 * history does not, fails ("missing history events") and leaves |x| unusable. Returns 0. */
int wf_exec_task(wf_exec *x, arena *task, const wf_input *in, wf_output *out);
/* The id of the event |x|'s next task must start with (1 for a new run). */
int64_t wf_exec_next_event(const wf_exec *x);
/* May |x| take another task? Only after a task that completed (not failed, not a legacy
 * query), ended at its WorkflowTaskStarted with the code run, and did not close the workflow,
 * with memory enough all along. */
int wf_exec_reusable(const wf_exec *x);
/* Does a task whose history starts with |first| continue |x|? Only when |first| is the event
 * after the last one |x| processed and is the WorkflowTaskCompleted of the task |x| ran last:
 * the answer |x| gave was taken, so the state the code built then is the run's. (Any other
 * first event: that task timed out or failed, or another worker answered since; the run must
 * be replayed from the first event.) */
int wf_exec_continues(const wf_exec *x, const pb_event *first);
/* What a kept run waits on that will bring it another task: activities it scheduled that have
 * not ended, and the earliest time (Unix ms, the history's clock) one of its timers fires (0:
 * none). For the worker's idle rule; reads |x| only. */
typedef struct wf_waits {
    int activities;
    int64_t next_timer_ms;
} wf_waits;
void wf_exec_waits(const wf_exec *x, wf_waits *out);
/* Local activities (local.c): the outcome |r| of one of |x|'s (requested in an answer's
 * |locals|) resolves it, records its marker and runs the code on, within the same workflow
 * task: |out| is the task's whole answer again (every command since the task began, the
 * local activities to start or cancel now; no query results: the first answer's stand), in
 * |task|, the task's arena. |code_since| as wf_input's. Returns 0. */
int wf_exec_local_done(wf_exec *x, arena *task, int64_t *code_since, const wf_local_result *r,
                       wf_output *out);
/* How many local activities |x| handed to the worker wait for their outcome (0 once the
 * workflow closed: their outcomes are no longer needed). */
int wf_exec_locals_running(const wf_exec *x);
/* Frees |x|: its coroutines (suspended ones are dropped) and its arena. NULL is a no-op. */
void wf_exec_free(wf_exec *x);

#endif
