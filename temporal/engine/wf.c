/*
 * wf: the replay driver. Reads the history batch by batch (history.h), applies each event
 * (a command event matches the next pending command through its cmd.h row; a resolution
 * event resolves its operation's future), then runs the code at the end of the batch. See
 * wf_int.h for the model and wf.h for what fails the task.
 *
 * A worked example, Greet = execute activity "Compose", return its result:
 *
 *   1 WorkflowExecutionStarted  2 WorkflowTaskScheduled  3 WorkflowTaskStarted    batch 1
 *       the code runs: ScheduleActivityTask(Compose, id 1) is pending; Greet blocks
 *   4 WorkflowTaskCompleted     the pending command must now be in the history:
 *   5 ActivityTaskScheduled     matches it (the future learns it was recorded at event 5)
 *   6 ActivityTaskStarted  7 ActivityTaskCompleted(scheduled 5)   resolves that future
 *   8 WorkflowTaskScheduled  9 WorkflowTaskStarted                               batch 2
 *       the code runs on: the await returns the result, Greet returns:
 *       CompleteWorkflowExecution is pending, and since no event follows, it is the answer.
 *
 * A history that cannot be this run's fails the task with a message naming the event: when
 * it is read (history.h), or at the event (a resolution of an activity or timer the code
 * never started, or a second one; a command event other than the code's next command).
 * Times are saturated, never overflowed. Nothing in a history can crash the runtime.
 */
#define _GNU_SOURCE
#include "temporal/engine/wf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/history.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes complete_attrs;
typedef Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes fail_attrs;
typedef Temporal__Api__Command__V1__CancelWorkflowExecutionCommandAttributes cancel_attrs;

static const char oom_message[] =
    "out of memory while running the workflow task (the task's memory limit or malloc); "
    "the task fails and the server retries it";

static int64_t event_time_ms(const pb_event *ev)
{
    return ev->event_time ? time_to_ms(ev->event_time->seconds, ev->event_time->nanos) : 0;
}

/* Fails the task with |cause| and a message (the static out-of-memory one when |a| is full). */
static void fail_task(arena *a, wf_output *out, int cause, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_task(arena *a, wf_output *out, int cause, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    out->task_failed = 1;
    out->cause = cause;
    out->message = arena_strdup(a, msg);
    if (!out->message)
        out->message = oom_message;
}

/* The engine state of one run (wf.h). */
struct wf_exec {
    arena *a;                /* the run's */
    int own_arena;           /* made by wf_exec_new (freed with the run), not wf_run's */
    const tw_registry *reg;
    tw_wf *wf;               /* NULL when the workflow type is not registered */
    const char *type;
    int64_t last_event;      /* the id of the last event processed; 0 before the first task */
    int ran_task;            /* the last batch read ran the code at the task's own start */
    int reusable;
};

/* ---- running the code ---- */

static void main_body(tw_wf *wf, wf_co *c)
{
    wf->result = tw_null();
    wf->code = wf->def->fn(wf, wf->args, wf->nargs, &wf->result);
    wf->returned = 1;
}

/* The command that closes the workflow, after its function returned |wf->code|. */
static void close_workflow(tw_wf *wf)
{
    wf->closed = 1;
    if (wf->code == 0 && !payloads_valid(&wf->result, 1)) {
        wf->bad_result = 1; /* no command: the task fails (run_code) */
        return;
    }
    if (wf->code == TW_ECANCELED) { /* as sdk-go: a cancelled workflow ends as cancelled */
        cancel_attrs *at = wf_mem(wf, sizeof(*at));
        if (!at)
            return;
        temporal__api__command__v1__cancel_workflow_execution_command_attributes__init(at);
        wf_push_cmd(wf, CMD(CANCEL_WORKFLOW_EXECUTION),
                    cmd_new(wf->a, CMD(CANCEL_WORKFLOW_EXECUTION), at), NULL);
        return;
    }
    if (wf->code == TW_ECONTINUE_AS_NEW && wf_can_close(wf))
        return; /* ContinueAsNewWorkflowExecution (can.c); else it fails, below */
    if (wf->code == 0) {
        complete_attrs *at = wf_mem(wf, sizeof(*at));
        if (!at)
            return;
        temporal__api__command__v1__complete_workflow_execution_command_attributes__init(at);
        at->result = wf_payloads(wf, &wf->result, 1);
        if (!wf->oom)
            wf_push_cmd(wf, CMD(COMPLETE_WORKFLOW_EXECUTION),
                        cmd_new(wf->a, CMD(COMPLETE_WORKFLOW_EXECUTION), at), NULL);
        return;
    }
    tw_failure generic = {.type = "WorkflowError",
                          .message = "the workflow returned an error without tw_wf_fail()"};
    fail_attrs *at = wf_mem(wf, sizeof(*at));
    if (!at)
        return;
    temporal__api__command__v1__fail_workflow_execution_command_attributes__init(at);
    const tw_failure *f = wf->main->failure ? wf->main->failure : wf->failure;
    at->failure = failure_to_pb(wf->a, f ? f : &generic);
    if (!at->failure) {
        wf->oom = 1;
        return;
    }
    wf_push_cmd(wf, CMD(FAIL_WORKFLOW_EXECUTION),
                cmd_new(wf->a, CMD(FAIL_WORKFLOW_EXECUTION), at), NULL);
}

/* Runs the coroutines until they all block; once the workflow function has returned, makes
 * the closing command, unless memory ran out on the way (then whatever the code returned,
 * TW_ENOMEM most likely, is not the workflow's outcome: the task fails instead). 0, or -1
 * with the task failed. */
static int run_code(tw_wf *wf, wf_output *out)
{
    if (wf->closed)
        return 0;
    wf_dispatch(wf);
    if (wf->nondeterminism && !wf->oom) { /* a call found the history is not this code's */
        fail_task(wf->ta, out, WF_CAUSE_NON_DETERMINISTIC, "%s", wf->nondeterminism);
        return -1;
    }
    wf_updates_settle(wf);
    if (wf->returned && !wf->closed && !wf->oom)
        close_workflow(wf);
    if (wf->bad_result && !wf->oom) {
        fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE,
                  "workflow %s returned a result of %zu bytes with no data (NULL)",
                  wf->info.workflow_type, wf->result.len);
        return -1;
    }
    return 0;
}

int wf_run_code(tw_wf *wf, wf_output *out) { return run_code(wf, out); }

/* ---- matching commands ---- */

/* A command the code made that the history, up to event |before| (0: the end), lacks. */
static int unmatched_command(tw_wf *wf, wf_output *out, int64_t before)
{
    for (wf_cmd *c = wf->pending; c; c = c->next)
        if (c->must_match) {
            char have[200], where[48] = "";
            cmd_describe(c->pb, have, sizeof(have));
            if (before)
                snprintf(where, sizeof(where), " before event %lld", (long long)before);
            fail_task(wf->ta, out, WF_CAUSE_NON_DETERMINISTIC,
                      "the workflow code made %s, which the history does not have%s "
                      "(non-deterministic)", have, where);
            return -1;
        }
    return 0;
}

/* Command event |ev| (recorded |kind|'s command) against the next pending command: 0 when it
 * matches (the command leaves the queue), -1 with the task failed. */
static int match(tw_wf *wf, const cmd_kind *kind, const pb_event *ev, wf_output *out)
{
    wf_cmd *c = wf->pending;
    int same = c && (int)c->pb->command_type == kind->type && kind->same(c->pb, ev);
    if (!same && wf_marker_passed_over(wf, ev))
        return 0; /* a deprecated patch the code no longer asks for (marker.c) */
    if (!same) {
        char want[200], have[200];
        kind->describe_event(ev, want, sizeof(want));
        cmd_describe(c ? c->pb : NULL, have, sizeof(have));
        fail_task(wf->ta, out, WF_CAUSE_NON_DETERMINISTIC,
                  "history event %lld has %s but the workflow code made %s: the code "
                  "changed since this run started (non-deterministic)",
                  (long long)ev->event_id, want, have);
        return -1;
    }
    if (c->f && c->f->cmd == c) { /* the command that started it (not one cancelling it) */
        c->f->initiated = ev->event_id;
        c->f->cmd = NULL;
    }
    wf->pending = c->next;
    if (!wf->pending)
        wf->pending_tail = &wf->pending;
    return 0;
}

/* ---- resolutions ---- */

/* The future resolution |ev| (row |k|) names: only futures whose command the history has
 * already recorded can be; one the code just made has no event yet. */
static wf_future *find_future(tw_wf *wf, const ev_kind *k, const pb_event *ev)
{
    int64_t initiated = k->initiated_id ? k->initiated_id(ev) : 0;
    const char *id = k->initiated_id ? NULL : k->op_id(ev);
    for (wf_future *f = wf->futures; f; f = f->next) {
        if (!f->kind || f->kind->type != k->resolves || f->initiated <= 0)
            continue;
        if (k->initiated_id ? f->initiated == initiated : id && strcmp(f->id, id) == 0)
            return f;
    }
    return NULL;
}

/* A resolution of something the code never started (|f| NULL), or resolved already: the
 * history is not this run's. Fails the task naming the event; returns -1. */
static int stray_resolution(tw_wf *wf, const ev_kind *k, const pb_event *ev, const wf_future *f,
                            wf_output *out)
{
    char what[96];
    if (k->initiated_id)
        snprintf(what, sizeof(what), "the %s at event %lld",
                 k->resolves == CMD(SCHEDULE_ACTIVITY_TASK) ? "activity scheduled" : "operation started",
                 (long long)k->initiated_id(ev));
    else
        snprintf(what, sizeof(what), "timer \"%.40s\"", k->op_id(ev) ? k->op_id(ev) : "");
    fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE,
              "history event %lld (%s) resolves %s, %s: the history cannot be replayed",
              (long long)ev->event_id, k->name, what,
              f ? "resolved already" : "which the workflow did not start");
    return -1;
}

/* What |ev| (row |k|) says about why |f| failed or was cancelled: the event's failure, or,
 * when it carries none, one of type |type| (an external operation's cause) or a cancellation.
 * An activity's is wrapped as the activity's failure (kind TW_FAILURE_ACTIVITY, tw.h). */
static tw_failure *failure_of(tw_wf *wf, const ev_kind *k, const pb_event *ev, wf_future *f)
{
    tw_failure *why = NULL;
    const pb_failure *pf = k->failure ? k->failure(ev) : NULL;
    if (pf) {
        why = failure_from_pb(wf->a, pf);
    } else if ((why = wf_mem(wf, sizeof(*why)))) {
        const char *type = k->failed_cause ? k->failed_cause(ev) : NULL;
        char msg[300];
        if (k->outcome == RES_CANCELED)
            snprintf(msg, sizeof(msg), "%s canceled", f->type ? f->type : "operation");
        else
            snprintf(msg, sizeof(msg), "%s %s failed: %s", f->kind ? f->kind->name : "operation",
                     f->id ? f->id : "", type ? type : "no reason given");
        int canceled = k->outcome == RES_CANCELED;
        *why = (tw_failure){.type = canceled ? "Canceled" : type ? type : "Error",
                            .message = wf_strdup(wf, msg),
                            .kind = canceled ? TW_FAILURE_CANCELED : TW_FAILURE_APPLICATION};
        tw_payload *d;
        size_t n;
        if (k->details && payloads_from_pb(wf->a, k->details(ev), &d, &n) == 0)
            why->details = d, why->ndetails = n;
    }
    if (why && k->resolves == CMD(SCHEDULE_ACTIVITY_TASK))
        why = failure_of_activity(wf->a, why, f->type, f->id,
                                  k->retry_state ? k->retry_state(ev) : 0);
    if (!why)
        wf->oom = 1;
    return why;
}

static int resolve(tw_wf *wf, const ev_kind *k, const pb_event *ev, wf_output *out)
{
    wf_future *f = find_future(wf, k, ev);
    if (f && f->child) { /* a child workflow's: two futures, its own failures (child.c) */
        const char *problem = wf_child_resolve(wf, k, ev, f);
        if (problem)
            fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE,
                      "history event %lld (%s) %s: the history cannot be replayed",
                      (long long)ev->event_id, k->name, problem);
        return problem ? -1 : 0;
    }
    if (f && f->done && f->resolved_early)
        return 0; /* the code was told at the cancel: the news comes late */
    if (!f || f->done)
        return stray_resolution(wf, k, ev, f, out);
    f->done = 1;
    switch (k->outcome) {
    case RES_COMPLETED:
        if (k->result && wf_kept_payloads(wf, k->result(ev), &f->result, &f->nresult))
            wf->oom = 1;
        break;
    case RES_FAILED:
        f->failed = 1;
        f->failure = failure_of(wf, k, ev, f);
        break;
    case RES_CANCELED:
        f->canceled = 1;
        f->failure = failure_of(wf, k, ev, f);
        break;
    }
    return 0;
}

/* ---- events ---- */

static void workflow_started(tw_wf *wf, const pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *at =
        ev->workflow_execution_started_event_attributes;
    if (payloads_from_pb(wf->a, at->input, &wf->args, &wf->nargs))
        wf->oom = 1;
    wf->info.attempt = at->attempt ? at->attempt : 1;
    wf_info_started(wf, ev); /* the rest of tw_wf_info (can.c) */
    wf_props_started(wf, ev); /* search attributes, memo, header (props.c) */
    /* The original run's id, which a reset run keeps: its replay draws the same values. */
    if (at->original_execution_run_id && *at->original_execution_run_id)
        wf->rng = wf_seed_of(at->original_execution_run_id);
}

/* Does the state keep something of |ev| (row |k|) that must be copied with the whole event:
 * its input, a failure, details? (A result and a signal are copied alone: wf_kept_payloads.) */
static int kept_event(const pb_event *ev, const ev_kind *k)
{
    if (k && k->resolves)
        return k->failure || k->details;
    return ev->event_type == EV(WORKFLOW_EXECUTION_STARTED);
}

/* Applies one event (its attributes checked by the history). 0, or -1 when the task has
 * failed (|out|) or memory ran out. */
static int apply_event(tw_wf *wf, const pb_event *ev, wf_output *out)
{
    const cmd_kind *recorded = cmd_recorded_by(ev->event_type);
    const ev_kind *k = ev_kind_of(ev->event_type);
    if (!recorded && kept_event(ev, k) && !(ev = wf_keep(wf, &ev->base)))
        return -1; /* out of memory: wf->oom is set */
    if (recorded) {
        if (match(wf, recorded, ev, out))
            return -1;
        wf_props_event(wf, ev); /* an upsert's values, as the server holds them (props.c) */
    } else if (k && k->resolves) {
        if (resolve(wf, k, ev, out))
            return -1;
    } else if (ev->event_type == EV(WORKFLOW_EXECUTION_STARTED)) {
        workflow_started(wf, ev);
    } else if (ev->event_type == EV(WORKFLOW_TASK_FAILED)) {
        const Temporal__Api__History__V1__WorkflowTaskFailedEventAttributes *at =
            ev->workflow_task_failed_event_attributes;
        /* A reset point: from here on the run draws from its own id, as sdk-go does. */
        if (at->cause == WF_CAUSE(RESET_WORKFLOW) && at->new_run_id && *at->new_run_id)
            wf->rng = wf_seed_of(at->new_run_id);
    } else if (ev->event_type == EV(WORKFLOW_EXECUTION_SIGNALED)) {
        wf_on_signal(wf, ev);
    } else if (ev->event_type == EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED)) {
        wf_on_cancel_requested(wf);
    } else if (ev->event_type == EV(WORKFLOW_TASK_COMPLETED)) {
        for (wf_cmd *c = wf->pending; c; c = c->next)
            c->must_match = 1;
    }
    return wf->oom ? -1 : 0;
}

/* One batch: its events, then the code (when the batch ends with a task that runs it). */
static int apply_batch(wf_exec *x, history_iter *h, const history_batch *b, const wf_input *in,
                       wf_output *out)
{
    tw_wf *wf = x->wf;
    for (size_t i = 0; i < b->n; i++)
        if (apply_event(wf, b->events[i], out))
            return -1;
    /* A legacy query sees the events after the last task too, as sdk-go runs the code at the
     * history's last event. */
    if (!b->runs_code && !(b->last && wf->query_only))
        return 0;
    const pb_event *started = b->events[b->n - 1];
    if (unmatched_command(wf, out, started->event_id))
        return -1;
    if (wf_updates_batch(wf, h, b, in) < 0) { /* the update requests the task got */
        fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE, "%s", history_error(h));
        return -1;
    }
    if (wf_markers_batch(wf, h, b) < 0) { /* the markers its commands recorded (marker.c) */
        fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE, "%s", history_error(h));
        return -1;
    }
    wf->now_ms = event_time_ms(started);
    wf_info_task(wf, started); /* history length and size, continue-as-new suggested */
    wf->replaying = !b->last || wf->query_only;
    x->ran_task = b->last && b->runs_code;
    return wf_locals_code(wf, h, b, out); /* run_code, and the task's local activity markers */
}

/* The commands still pending after the last event: the task's answer. */
static void collect_commands(tw_wf *wf, wf_output *out)
{
    if (unmatched_command(wf, out, 0))
        return;
    size_t n = 0;
    for (wf_cmd *c = wf->pending; c; c = c->next)
        n++;
    out->commands = n ? wf_tmem(wf, n * sizeof(pb_command *)) : NULL;
    if (wf->oom)
        return;
    for (wf_cmd *c = wf->pending; c; c = c->next)
        out->commands[out->ncommands++] = c->pb;
}

static const char *stack_trace(tw_wf *wf)
{
    size_t n = wf_stack_trace(wf, NULL, 0) + 1;
    char *s = wf_tmem(wf, n);
    if (s)
        wf_stack_trace(wf, s, n);
    return s;
}

static void fail_out_of_memory(wf_output *out)
{
    *out = (wf_output){.task_failed = 1, .cause = WF_CAUSE_UNHANDLED_FAILURE,
                       .message = oom_message, .versioning = out->versioning};
}

static tw_wf *new_wf(arena *a, const tw_registry *reg, const reg_workflow *def,
                     const wf_input *in)
{
    tw_wf *wf = arena_alloc(a, sizeof(*wf));
    if (!wf)
        return NULL;
    memset(wf, 0, sizeof(*wf));
    wf->a = wf->ta = a;
    wf->def = def;
    wf->abi_minor = reg_abi_minor(reg);
    wf->pending_tail = &wf->pending;
    wf->eager_tail = &wf->eager;
    wf->signals_tail = &wf->signals;
    /* Copies: the task's strings go with its arena, a kept run outlives it. */
    wf->info = (tw_wf_info){.workflow_id = arena_strdup(a, in->workflow_id),
                            .run_id = arena_strdup(a, in->run_id),
                            .workflow_type = arena_strdup(a, in->workflow_type),
                            .task_queue = arena_strdup(a, in->task_queue),
                            .attempt = 1};
    if ((in->workflow_id && !wf->info.workflow_id) || (in->run_id && !wf->info.run_id) ||
        (in->workflow_type && !wf->info.workflow_type) || (in->task_queue && !wf->info.task_queue))
        return NULL;
    if (wf_info_init(wf, in)) /* the ABI 1.2 fields (can.c) */
        return NULL;
    wf->rng = wf_seed_of(in->run_id); /* until the started event names the original run */
    if (!(wf->main = wf_spawn(wf, "main", main_body, 0)))
        return NULL;
    return wf;
}

/* A run whose state lives in |a|. NULL when |a| is full (nothing to free but |a|). */
static wf_exec *exec_in(const tw_registry *reg, arena *a, const wf_input *in)
{
    wf_exec *x = arena_alloc(a, sizeof(*x));
    if (!x)
        return NULL;
    memset(x, 0, sizeof(*x));
    x->a = a;
    x->reg = reg;
    x->type = arena_strdup(a, in->workflow_type ? in->workflow_type : "");
    const reg_workflow *def = reg_lookup_workflow(reg, in->workflow_type);
    if (!x->type || (def && !(x->wf = new_wf(a, reg, def, in))))
        return NULL;
    return x;
}

wf_exec *wf_exec_new(const tw_registry *reg, const wf_input *in, size_t limit)
{
    arena *a = arena_new(limit);
    wf_exec *x = a ? exec_in(reg, a, in) : NULL;
    if (!x) {
        arena_free(a);
        return NULL;
    }
    x->own_arena = 1;
    return x;
}

int64_t wf_exec_next_event(const wf_exec *x) { return x->last_event + 1; }
int wf_exec_reusable(const wf_exec *x) { return x && x->reusable; }

int wf_exec_continues(const wf_exec *x, const pb_event *first)
{
    return x && x->reusable && first && first->event_id == x->last_event + 1 &&
           first->event_type == EV(WORKFLOW_TASK_COMPLETED) &&
           first->attributes_case ==
               TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_WORKFLOW_TASK_COMPLETED_EVENT_ATTRIBUTES &&
           first->workflow_task_completed_event_attributes->started_event_id == x->last_event;
}

void wf_exec_waits(const wf_exec *x, wf_waits *out)
{
    memset(out, 0, sizeof(*out));
    for (const wf_future *f = x && x->wf ? x->wf->futures : NULL; f; f = f->next) {
        if (f->done || !f->kind)
            continue;
        if (f->kind->type == CMD(SCHEDULE_ACTIVITY_TASK))
            out->activities++;
        else if (f->kind->type == CMD(START_TIMER) &&
                 (!out->next_timer_ms || f->fire_at_ms < out->next_timer_ms))
            out->next_timer_ms = f->fire_at_ms;
    }
}

void wf_exec_free(wf_exec *x)
{
    if (!x)
        return;
    if (x->wf)
        wf_free_coroutines(x->wf);
    if (x->own_arena)
        arena_free(x->a);
}

/* The task's events, batch by batch, then its answer. */
static void run_task(wf_exec *x, const wf_input *in, wf_output *out)
{
    tw_wf *wf = x->wf;
    history_iter *h = history_open(wf->ta, x->last_event + 1, in->events, in->nevents,
                                   in->next_page, in->page_ctx);
    if (!h) {
        fail_out_of_memory(out);
        return;
    }
    history_batch b;
    int rc;
    x->ran_task = 0;
    while ((rc = history_next(h, &b)) == 1)
        if (apply_batch(x, h, &b, in, out))
            break;
    x->last_event = history_last_id(h);
    if (rc < 0)
        fail_task(wf->ta, out, WF_CAUSE_UNHANDLED_FAILURE, "%s", history_error(h));
    if (!out->task_failed && !wf->oom)
        collect_commands(wf, out);
    if (!out->task_failed && !wf->oom)
        wf_updates_collect(wf, out);
    if (!out->task_failed && !wf->oom)
        wf_locals_collect(wf, out);
    if (!out->task_failed && !wf->oom && in->stack_trace)
        out->stack_trace = stack_trace(wf);
    if (!out->task_failed && !wf->oom)
        wf_queries_answer(wf, in, out);
    if (wf->oom)
        fail_out_of_memory(out);
}

int wf_exec_task(wf_exec *x, arena *task, const wf_input *in, wf_output *out)
{
    memset(out, 0, sizeof(*out));
    x->reusable = 0;
    tw_wf *wf = x->wf;
    if (!wf) {
        char names[512];
        reg_workflow_names(x->reg, names, sizeof(names));
        fail_task(task, out, WF_CAUSE_UNHANDLED_FAILURE,
                  "workflow type \"%s\" is not registered with this worker; registered: %s",
                  x->type, names);
        return 0;
    }
    out->versioning = wf->def->versioning;
    wf->ta = task;
    wf->code_since = in->code_since;
    wf->query_only = in->query_only;
    wf_updates_begin(wf);
    run_task(x, in, out);
    x->reusable = !out->task_failed && !wf->oom && !wf->closed && !in->query_only && x->ran_task;
    if (out->task_failed || in->query_only)
        out->commands = NULL, out->ncommands = 0, out->messages = NULL, out->nmessages = 0;
    wf->code_since = NULL; /* the caller's slot may go: the next task sets its own */
    return 0;
}

int wf_exec_local_done(wf_exec *x, arena *task, int64_t *code_since, const wf_local_result *r,
                       wf_output *out)
{
    tw_wf *wf = x->wf;
    memset(out, 0, sizeof(*out));
    if (!wf || !x->reusable) { /* no run to go on with (the last answer failed it) */
        fail_task(task, out, WF_CAUSE_UNHANDLED_FAILURE, "a local activity's outcome came for "
                  "a run that cannot go on");
        return 0;
    }
    out->versioning = wf->def->versioning;
    x->reusable = 0;
    wf->ta = task;
    wf->code_since = code_since;
    if (wf_locals_result(wf, r, out) == 0 && run_code(wf, out) == 0 && !wf->oom) {
        collect_commands(wf, out);
        if (!out->task_failed && !wf->oom)
            wf_updates_collect(wf, out);
        if (!out->task_failed && !wf->oom)
            wf_locals_collect(wf, out);
    }
    if (wf->oom)
        fail_out_of_memory(out);
    x->reusable = !out->task_failed && !wf->oom && !wf->closed;
    if (out->task_failed)
        out->commands = NULL, out->ncommands = 0, out->messages = NULL, out->nmessages = 0;
    wf->code_since = NULL;
    return 0;
}

int wf_exec_locals_running(const wf_exec *x) { return x && x->wf ? wf_locals_running(x->wf) : 0; }

int wf_run(const tw_registry *reg, arena *a, const wf_input *in, wf_output *out)
{
    wf_exec *x = exec_in(reg, a, in);
    if (!x) {
        memset(out, 0, sizeof(*out));
        fail_out_of_memory(out);
        return 0;
    }
    wf_exec_task(x, a, in, out);
    wf_exec_free(x);
    return 0;
}
