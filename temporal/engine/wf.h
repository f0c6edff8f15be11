/*
 * wf: the workflow engine. Runs one workflow task: replays the workflow's whole history
 * through the user's workflow function (in a coroutine), matches the commands the code makes
 * against the command events already in the history (a mismatch is non-determinism), and
 * returns the new commands the code made after the last event. No state is kept between tasks:
 * every task replays from the first event (no sticky cache), which is what a fresh Lambda
 * invocation has anyway.
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
 * Memory: everything lives in the caller's arena. Threading: one task per call, on the
 * calling thread; calls on different threads are independent.
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
} wf_input;

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
} wf_output;

/* WorkflowTaskFailedCause values, by their generated names. */
#define WF_CAUSE(name) \
    TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_##name
#define WF_CAUSE_UNHANDLED_FAILURE WF_CAUSE(WORKFLOW_WORKER_UNHANDLED_FAILURE)
#define WF_CAUSE_NON_DETERMINISTIC WF_CAUSE(NON_DETERMINISTIC_ERROR)

/* Runs one workflow task. Returns 0; what to answer is in |out|. Running out of memory
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

#endif
