/*
 * wf_int: what the engine's files share (wf.c: the replay driver and the coroutine dispatcher;
 * wf_api.c: the calls workflow code makes). Nothing outside temporal/engine/ includes this.
 *
 * The model, in one paragraph: the history is read in batches (history.h), one per workflow
 * task whose code runs. Within a batch, a command event (cmd.h: the event that records a
 * command) must match the next command the code made in an earlier batch, in order; a
 * resolution event resolves the future of the operation it names. At the end of the batch the
 * code runs until it blocks, with the time of the batch's WorkflowTaskStarted, making new
 * commands; those made after the last batch are the task's answer.
 *
 * Memory: two arenas. wf->a holds the run's state (coroutines' data, futures, commands,
 * handlers, what the code allocates) and lives as long as the run: one task for a full replay,
 * many for a cached run (wf.h's wf_exec). wf->ta is the task's: its history pages and
 * everything that only makes the task's answer (the command array, protocol messages, query
 * results, failure messages). When they differ, what the state keeps of an event (a result, a
 * failure, a signal's input, an update request) is copied into wf->a first (wf_keep; an
 * activity's result and a signal's name and input alone: wf_kept_payloads), since the task's
 * arena goes when the task ends; when they are the same arena (a full replay) nothing is
 * copied. Out of memory anywhere sets wf->oom: no closing command is made whatever the code
 * returns next, and the task fails (retried); the run is not kept.
 */
#ifndef TW_WF_INT_H
#define TW_WF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/coro.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "registry/reg.h"
#include "tw.h"

typedef struct wf_co wf_co;

/* Signal, query and update handlers live in lists by name, in the order set; each entry
 * starts with a wf_named (the list's link), in the run's arena (wf_named_* below). */
typedef struct wf_named {
    const char *name;          /* NULL: a signal's default handler */
    struct wf_named *next;
} wf_named;

/* What a tw_future is: the state of an operation a command started (an activity, a timer), of
 * a coroutine (tw_go), or of one that needs no command (a 0 ms timer). */
typedef struct wf_future {
    const cmd_kind *kind;      /* its command's row; NULL when it has none */
    int done;
    int failed;
    int canceled;              /* done as cancelled: waits on it return TW_ECANCELED */
    const char *id;            /* activity id or timer id */
    const char *type;          /* activity type */
    int64_t initiated;         /* the event that recorded its command; 0 until the history has it */
    int64_t fire_at_ms;        /* a timer's: when it fires (the history's clock), as the code
                                * that started it saw the time */
    struct wf_cmd *cmd;        /* its command while the history does not have it yet */
    int resolved_early;        /* resolved (cancelled) before the history said how it ended:
                                * the resolution events still to come are dropped */
    wf_co *co;                 /* a tw_go coroutine's future: the coroutine */
    int cancel_type;           /* an activity's TW_CANCEL_* */
    int cancel_requested;      /* its cancelling command is made (TW_CANCEL_WAIT_COMPLETED:
                                * the future still waits for the activity's answer) */
    tw_payload *result;
    size_t nresult;
    tw_failure *failure;
    struct wf_local *local;    /* a local activity's (local.c) */
    struct wf_child *child;    /* a child workflow's futures and its cancel request's (child.c) */
    struct wf_future *next;
} wf_future;

/* A command the code made, until a history event matches it (or it is the task's answer). */
typedef struct wf_cmd {
    pb_command *pb;
    const cmd_kind *kind;
    wf_future *f;              /* the operation it starts (or cancels), or NULL */
    int must_match;            /* made during a task the history says completed */
    struct wf_cmd *next;
} wf_cmd;

/* One coroutine of the workflow (dispatch.c). */
struct wf_co {
    tw_wf *wf;
    coro *co;                  /* NULL until it first runs and once finished (its stack is
                                * made then, given back now) */
    int id;                    /* 1: the workflow function, then in creation order */
    const char *name;          /* "main", "tw_go", "signal \"approve\"" */
    void (*body)(tw_wf *wf, wf_co *c); /* what it runs */
    tw_coroutine_fn fn;        /* tw_go's function and argument */
    void *arg;
    wf_future *future;         /* tw_go: resolved when |fn| returns */
    void *data;                /* the body's own (a signal handler: its signal) */
    int handler;               /* a signal or update handler (tw_all_handlers_finished) */
    const char *handles;       /* a handler's signal or update name (tw_handler_name) */
    int started, finished;
    int progressed;            /* got past a blocking point, or started, since last resumed */
    int in_condition;          /* evaluating a tw_await_condition predicate: no blocking calls */
    int cancel_pending;        /* the workflow's cancel reached it: its next blocking call
                                * returns TW_ECANCELED */
    tw_payload result;         /* |fn|'s */
    tw_failure *failure;       /* set by tw_wf_fail() while it runs */
    /* What it blocks on, for the stack trace, NULL while it runs: |waiting| (the blocking
     * call's text, in that call's frame), or |wait_call| on |wait_future| (formatted only
     * when a stack trace asks). */
    const char *waiting;
    const char *wait_call;
    const struct wf_future *wait_future;
    wf_co *next;               /* run order */
};

struct tw_wf {
    int64_t *code_since;       /* see wf_input (the current task's) */
    arena *a;                  /* the run's state */
    arena *ta;                 /* the current task's (the same as |a| for a full replay) */
    const reg_workflow *def;
    tw_wf_info info;
    tw_payload *args;
    size_t nargs;
    wf_co *cos;                /* live coroutines, in run order */
    wf_co *eager, **eager_tail;/* handlers started since the last pass, to run first */
    wf_co *running;            /* the coroutine running now, NULL between them */
    wf_co *insert_after;       /* the last handler it started (they run after it, in order) */
    wf_co *main;               /* the workflow function's */
    int co_seq, co_live;
    struct wf_signal *signals, **signals_tail; /* every signal, in history order */
    wf_named *handlers;        /* signal handlers (signal.c's wf_handler); name NULL: the default */
    unsigned abi_minor;        /* the library's: struct fields past 1.0 are read when >= 1 */
    int cancel_requested;      /* WorkflowExecutionCancelRequested was seen */
    int64_t now_ms;
    uint64_t rng;
    int replaying;
    int act_seq, timer_seq;
    int child_seq;             /* children given a default workflow id (child.c) */
    wf_cmd *pending, **pending_tail;
    wf_future *futures;
    int returned;              /* the workflow function has returned */
    int code;
    tw_payload result;
    tw_failure *failure;       /* tw_wf_fail() outside any coroutine */
    const tw_failure *last_failure;
    int closed;                /* the closing command is made */
    int oom;                   /* an allocation failed: the task fails, whatever the code does */
    int bad_result;            /* the code returned a payload with len > 0 and data NULL */
    const char *nondeterminism;/* a call found the history is not this code's (marker.c): the
                                * task fails with this message (wf.c's run_code) */
    struct wf_markers *markers;/* marker.c's: side effects, patches, the markers read ahead */
    struct wf_props *props;    /* props.c's: search attributes, memo, headers */
    struct wf_updates *updates;                 /* update.c's: handlers, requests, messages */
    wf_named *query_handlers;  /* query.c's wf_query_handler, in the order set */
    int query_only;            /* a legacy query task: all code runs as replay, nothing is sent */
    struct wf_locals *locals;  /* local.c's: the local activities the code asked for */
    struct wf_can *can;        /* can.c's: the continuation tw_continue_as_new() prepared */
};

/* ---- named handlers (wf_api.c): the lists of wf_named above ---- */

/* The entry of |name| in |list| (a NULL name finds the entry named NULL), or NULL. */
wf_named *wf_named_find(wf_named *list, const char *name);
/* |name|'s entry, made at the end of |*list| (|size| bytes, zeroed, the name copied) when
 * there is none. NULL with wf->oom set when memory ran out. */
wf_named *wf_named_put(tw_wf *wf, wf_named **list, const char *name, size_t size);
/* Takes |name|'s entry out of |*list|; nothing when there is none. */
void wf_named_remove(wf_named **list, const char *name);
/* "[first a b]" (|first| may be NULL): the names in |list|, for messages naming the known
 * handlers. Truncated to |n|. */
void wf_named_names(const wf_named *list, const char *first, char *out, size_t n);

/* ---- dispatch.c: the coroutines ---- */

/* At most this many coroutines live at once: past it tw_go() and handlers are TW_ENOMEM. */
#define WF_MAX_COROUTINES 1000

/* A coroutine named |name| running |body|, in |wf|'s run order: at the end (tw_go), or, when
 * |eager|, to run before the others (a handler: right after the running coroutine, or first
 * in the next pass). NULL when out of memory (wf->oom set) or over WF_MAX_COROUTINES. Its
 * stack is made when it first runs (no stack then: wf->oom, the task fails). */
wf_co *wf_spawn(tw_wf *wf, const char *name, void (*body)(tw_wf *, wf_co *), int eager);
/* Runs the coroutines until none can go on, or the workflow function has returned. */
void wf_dispatch(tw_wf *wf);
/* Blocks the running coroutine until ready(ctx) is nonzero: 0, or TW_ECANCELED when the
 * workflow's cancel reached it first (its cancel_pending is then cleared). |what| says what it
 * waits on, for the stack trace; it is borrowed until the call returns (a buffer in the
 * caller's frame: the coroutine's stack keeps it while it waits). */
int wf_block(tw_wf *wf, int (*ready)(tw_wf *, void *), void *ctx, const char *what);
/* wf_block() until |f| is done, what it waits on being "|call| <f>" (wf_describe_future),
 * formatted only when a stack trace asks: awaiting an activity or a timer formats nothing. */
int wf_block_future(tw_wf *wf, wf_future *f, const char *call);
/* Lets the coroutines after the running one run (the handlers it just started) before it goes
 * on: one yield that counts as progress. */
void wf_yield(tw_wf *wf);
/* Frees every coroutine's stack (the end of the task). */
void wf_free_coroutines(tw_wf *wf);
/* "coroutine 1 (main): tw_await activity 1 \"Compose\"", one line per live coroutine in
 * creation order, into |out| (truncated to |n|). Returns the length it needed. */
size_t wf_stack_trace(tw_wf *wf, char *out, size_t n);

/* ---- cancel.c ---- */

/* WorkflowExecutionCancelRequested: every live coroutine's next blocking call (the one it is
 * blocked in) returns TW_ECANCELED. */
void wf_on_cancel_requested(tw_wf *wf);
/* Cancels what |f| stands for (tw_cancel()): 0, or TW_ESTATE when it cannot be any more (an
 * external operation the server has). */
int wf_cancel_future(tw_wf *wf, wf_future *f);
/* A blocking call on |fs| (|n| of them) was interrupted by the workflow's cancel: cancels each
 * (per its cancellation type), waits for the activities that must confirm it
 * (TW_CANCEL_WAIT_COMPLETED), and returns TW_ECANCELED. */
int wf_interrupted(tw_wf *wf, wf_future *const *fs, size_t n, const char *what);

/* ---- signal.c ---- */

/* WorkflowExecutionSignaled: to its handler (a coroutine that runs before the others), or the
 * default handler, or the buffer (tw_signal_receive, or a handler set later). */
void wf_on_signal(tw_wf *wf, const pb_event *ev);
/* Starts the handler coroutines of signals already given to a handler, in order, while there
 * is room (WF_MAX_COROUTINES); the dispatcher calls it after each pass. Returns how many. */
int wf_signals_spawn(tw_wf *wf);

/* ---- wf_api.c ---- */

/* |wf| when the calling code is one of its coroutines (and not inside a tw_await_condition
 * predicate, for calls that block or make commands: wf_current_blocking), else NULL: calls
 * from elsewhere are TW_ESTATE. */
tw_wf *wf_current(tw_wf *wf);
tw_wf *wf_current_blocking(tw_wf *wf);
/* Allocations that set wf->oom when they fail: in the run's arena (wf_mem, wf_strdup), or in
 * the task's, for what only the task's answer needs (wf_tmem, wf_tstrdup). */
void *wf_mem(tw_wf *wf, size_t n);
char *wf_strdup(tw_wf *wf, const char *s);
void *wf_tmem(tw_wf *wf, size_t n);
char *wf_tstrdup(tw_wf *wf, const char *s);
/* |m| as the run keeps it: |m| itself when the run and the task share an arena, else a deep
 * copy in the run's (protobuf-c copies strings and bytes when unpacking). NULL for NULL, or
 * with wf->oom set when memory ran out. */
void *wf_keep(tw_wf *wf, const ProtobufCMessage *m);
pb_payloads *wf_payloads(tw_wf *wf, const tw_payload *p, size_t n);
/* |pb|'s payloads as the run keeps them: views of the event's bytes when the run and the task
 * share an arena, else copies in the run's (cheaper than keeping the whole event, wf_keep, for
 * every activity result and signal a kept run sees). 0, or -1 out of memory. */
int wf_kept_payloads(tw_wf *wf, const pb_payloads *pb, tw_payload **out, size_t *n);
/* Queues command |pb| (of row |type|) about |f| (or NULL); NULL with wf->oom set when |pb| is
 * NULL or memory ran out. */
wf_cmd *wf_push_cmd(tw_wf *wf, int type, pb_command *pb, wf_future *f);
/* Takes |c| (made during this run of the code: not yet sent) out of the queue. */
void wf_drop_cmd(tw_wf *wf, wf_cmd *c);
/* Cancels timer |f|: resolved cancelled at once; its StartTimer is dropped when it was not
 * sent yet, else a CancelTimer follows it. Nothing when it is done already. */
void wf_cancel_timer(tw_wf *wf, wf_future *f);
/* "activity 1 \"Compose\"", "timer 2", "coroutine 3": what |f| is, for the stack trace. */
void wf_describe_future(const wf_future *f, char *out, size_t n);
/* A future of |kind| (NULL: none) for operation |id| / |type|, on the workflow's list. */
wf_future *wf_new_future(tw_wf *wf, const cmd_kind *kind, const char *id, const char *type);
/* FNV-1a of a run id: the seed of tw_random(). */
uint64_t wf_seed_of(const char *run_id);

/* ---- update.c ---- */

/* After batch |b|'s events, before its code runs: delivers the update requests the task got,
 * each starting its handler's coroutine (or waiting for a handler). For the task being
 * answered, the poll's messages (|in|) and its UpdateAdmitted events; for a replayed task, the
 * updates the next batch's UpdateAccepted events say it accepted (read ahead with
 * history_peek). 0, or -1 when the next batch could not be read (history_error() says why). */
int wf_updates_batch(tw_wf *wf, history_iter *h, const history_batch *b, const wf_input *in);
/* After the coroutines ran: rejects the requests still without a handler (unknown update),
 * and, once the workflow function returned, those that never ran. */
void wf_updates_settle(tw_wf *wf);
/* The protocol messages made while the code ran outside replay, in order, into |out|. */
void wf_updates_collect(tw_wf *wf, wf_output *out);
/* The start of a task: the last task's outgoing messages are gone with its arena. */
void wf_updates_begin(tw_wf *wf);

/* ---- props.c (ABI 1.2) ---- */

/* The header every command that carries one goes out with (ScheduleActivityTask,
 * StartChildWorkflowExecution, SignalExternalWorkflowExecution, ContinueAsNewWorkflowExecution):
 * what tw_set_header() set, in the run's arena, or NULL when none. Commands take the pointer
 * (they do not free it). */
Temporal__Api__Common__V1__Header *wf_outgoing_header(tw_wf *wf);
/* The search attributes, memo and header of WorkflowExecutionStarted |ev| (kept in the run's
 * arena: the state points into it). */
void wf_props_started(tw_wf *wf, const pb_event *ev);
/* A recorded UpsertWorkflowSearchAttributes or WorkflowPropertiesModified |ev| (matched to
 * the code's command) brings the state to what the server holds; other events: nothing. */
void wf_props_event(tw_wf *wf, const pb_event *ev);
/* The run's search attributes and memo as they are now (the start's with the code's upserts
 * and the recorded events'), as the messages a command carries: what continue-as-new keeps,
 * as sdk-go does. In the run's arena; NULL when there are none (or memory ran out: wf->oom). */
Temporal__Api__Common__V1__SearchAttributes *wf_props_search_attributes(tw_wf *wf);
Temporal__Api__Common__V1__Memo *wf_props_memo(tw_wf *wf);

/* ---- marker.c (ABI 1.2) ---- */

/* Before the code of batch |b| runs as replay: reads the next batch (history_peek) for the
 * markers its commands recorded (side effect results, mutable side effect values, patches),
 * which the code's calls then replay. 0, or -1 when the next batch could not be read
 * (history_error() says why). Nothing for the last batch. */
int wf_markers_batch(tw_wf *wf, history_iter *h, const history_batch *b);
/* Command event |ev| is not the code's next command: 1 when it is one the code may leave out
 * (a deprecated patch marker, and the TemporalChangeVersion upsert recorded right after it),
 * passed over as the official SDKs do; else 0 (non-determinism). */
int wf_marker_passed_over(tw_wf *wf, const pb_event *ev);
/* Fails the task as non-deterministic with |fmt|'s message (the first such call wins) and
 * blocks the calling coroutine for good: the code goes no further in this task. */
void wf_nondeterminism(tw_wf *wf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* ---- can.c (ABI 1.2) ---- */

/* The closing command when the workflow function returned TW_ECONTINUE_AS_NEW:
 * ContinueAsNewWorkflowExecution from what tw_continue_as_new() prepared; 1 when made (or
 * memory ran out: wf->oom). 0 when nothing was prepared: the main coroutine's failure is then
 * set (unless the code set one) for the workflow to fail with. */
int wf_can_close(tw_wf *wf);
/* tw_wf_info from what the worker knows (|in|: namespace, deployment version), once the
 * workflow id, run id, type and task queue are set. 0, or -1 out of memory. */
int wf_info_init(tw_wf *wf, const wf_input *in);
/* tw_wf_info from WorkflowExecutionStarted |ev| (kept in the run's arena: the info points
 * into it). */
void wf_info_started(tw_wf *wf, const pb_event *ev);
/* tw_wf_info's history length and size and the continue-as-new suggestion from |ev|, the
 * WorkflowTaskStarted of the task whose code runs next (another event: nothing changes). */
void wf_info_task(tw_wf *wf, const pb_event *ev);

/* ---- child.c (ABI 1.2) ---- */

/* Event |ev| (row |k|) resolving |f|, a future with |child| set: a child's start, a start that
 * failed, its end, or the answer to a cancel request made for it. NULL, or what is wrong with
 * the event ("ends a child workflow that never started"): the task fails naming it. */
const char *wf_child_resolve(tw_wf *wf, const ev_kind *k, const pb_event *ev, wf_future *f);
/* Cancels the child |f| is a future of, per its cancellation type (tw_cancel, cancel.c). */
int wf_child_cancel(tw_wf *wf, wf_future *f);
/* props.c's, for a child's start: |n| typed search attributes |sa| as the command carries them
 * (encoded as tw_upsert_search_attributes does), in the run's arena. NULL with *err
 * TW_EINVAL (a bad one, or TW_SA_UNSET) or TW_ENOMEM (wf->oom set). */
Temporal__Api__Common__V1__SearchAttributes *wf_props_encode_search_attributes(
    tw_wf *wf, const tw_search_attribute *sa, size_t n, int *err);

/* ---- local.c (ABI 1.2) ---- */

/* wf.c's: runs the coroutines until they all block (and closes the workflow once its function
 * returned); 0, or -1 with the task failed. */
int wf_run_code(tw_wf *wf, wf_output *out);
/* The code of batch |b| (of |h|): local activities whose backoff timer fired are asked for
 * again, the code runs (wf_run_code), and, on replay, the local activity markers the task
 * recorded (the next batch's) resolve what the code waits for, one at a time, the code running
 * after each. 0, or -1 with the task failed. */
int wf_locals_code(tw_wf *wf, history_iter *h, const history_batch *b, wf_output *out);
/* The task's answer: the local activities the worker is to start, and to cancel (wf.h). */
void wf_locals_collect(tw_wf *wf, wf_output *out);
/* Local activities handed to the worker and not yet resolved (0 once the workflow closed). */
int wf_locals_running(const tw_wf *wf);
/* The worker's outcome of one: resolves it and records its marker (the code runs after). 0, or
 * -1 out of memory. An outcome for one resolved already is dropped. */
int wf_locals_result(tw_wf *wf, const wf_local_result *r, wf_output *out);
/* Cancels local activity |f| (tw_cancel, cancel.c), per its cancellation type. */
int wf_local_cancel(tw_wf *wf, wf_future *f);

/* ---- query.c ---- */

/* Answers |in|'s queries on the workflow's current state, into |out|'s query_results. */
void wf_queries_answer(tw_wf *wf, const wf_input *in, wf_output *out);

#endif
