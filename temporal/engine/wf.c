/*
 * wf: history replay and command matching for one workflow task. See wf.h.
 *
 * The walk over the history: at every WorkflowTaskStarted the coroutine runs until it blocks
 * (deterministic time = that event's time); the commands it makes wait in `pending`. After a
 * WorkflowTaskCompleted, the command events that follow must match `pending` in order; a
 * resolution event (ActivityTaskCompleted, TimerFired, ...) resolves the matching future,
 * which the code sees the next time it runs. Commands still pending at the end are new.
 * A WorkflowTaskStarted followed by WorkflowTaskFailed or TimedOut was an attempt whose
 * answer the server refused or never got: the code does not run there (sdk-go's
 * isNextWorkflowTaskFailed), so it sees what the attempt that completed saw.
 *
 * Out of memory: every allocation failure sets wf->oom. The API call returns TW_ENOMEM, no
 * closing command is made whatever the code returns next, and the task fails (retried).
 *
 * A history that cannot be this run's fails the task with a message naming the event, before
 * any code runs when one look tells (ids not 1, 2, 3, ...; an event the engine reads without
 * its own attributes: a oneof read through another member's type would read garbage), or at
 * the event (a resolution of an activity or timer the code never started, or a second one).
 * Times are saturated, never overflowed. Nothing in a history can crash the runtime.
 */
#define _GNU_SOURCE
#include "temporal/engine/wf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/coro.h"
#include "temporal/engine/payload.h"
#include "runtime/log.h"

enum { FUT_ACTIVITY = 1, FUT_TIMER = 2 };

typedef struct future {
    int kind;
    int done;
    int failed;
    const char *id;            /* activity id or timer id */
    const char *type;          /* activity type */
    int64_t scheduled_event_id;
    tw_payload *result;
    size_t nresult;
    tw_failure *failure;
    struct future *next;
} future;

typedef struct cmd {
    pb_command *pb;
    future *f;
    int must_match;            /* made during a task the history says completed */
    struct cmd *next;
} cmd;

struct tw_wf {
    int64_t *code_since;       /* see wf_input */
    arena *a;
    const reg_workflow *def;
    tw_wf_info info;
    tw_payload *args;
    size_t nargs;
    coro *co;
    int64_t now_ms;
    uint64_t rng;
    int replaying;
    int act_seq, timer_seq;
    cmd *pending, **pending_tail;
    size_t npending_new;
    future *futures;
    int returned;              /* the workflow function has returned */
    int code;
    tw_payload result;
    tw_failure *failure;       /* set by tw_wf_fail */
    const tw_failure *last_failure;
    int closed;                /* completion command made */
    int oom;                   /* an allocation failed: the task fails, whatever the code does */
    int bad_result;            /* the code returned a payload with len > 0 and data NULL */
};

static const char oom_message[] =
    "out of memory while running the workflow task (the task's memory limit or malloc); "
    "the task fails and the server retries it";

/* ---- helpers ---- */

static int64_t event_time_ms(const pb_event *ev)
{
    return ev->event_time ? time_to_ms(ev->event_time->seconds, ev->event_time->nanos) : 0;
}

#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES
/* |ev|'s attributes |member| when the oneof holds them (|name|'s), else NULL: never another
 * member's message read as this one. check_attributes() fails a history where the events the
 * engine reads lack their own. */
#define ATTRS(ev, name, member) ((ev)->attributes_case == HCASE(name) ? (ev)->member : NULL)

/* The events the engine reads, each with the attributes it must carry. */
static const struct {
    int type, attributes;
    const char *name;
} READ_EVENTS[] = {
    {EV(WORKFLOW_EXECUTION_STARTED), HCASE(WORKFLOW_EXECUTION_STARTED), "WorkflowExecutionStarted"},
    {EV(WORKFLOW_TASK_FAILED), HCASE(WORKFLOW_TASK_FAILED), "WorkflowTaskFailed"},
    {EV(ACTIVITY_TASK_SCHEDULED), HCASE(ACTIVITY_TASK_SCHEDULED), "ActivityTaskScheduled"},
    {EV(ACTIVITY_TASK_COMPLETED), HCASE(ACTIVITY_TASK_COMPLETED), "ActivityTaskCompleted"},
    {EV(ACTIVITY_TASK_FAILED), HCASE(ACTIVITY_TASK_FAILED), "ActivityTaskFailed"},
    {EV(ACTIVITY_TASK_TIMED_OUT), HCASE(ACTIVITY_TASK_TIMED_OUT), "ActivityTaskTimedOut"},
    {EV(ACTIVITY_TASK_CANCELED), HCASE(ACTIVITY_TASK_CANCELED), "ActivityTaskCanceled"},
    {EV(TIMER_STARTED), HCASE(TIMER_STARTED), "TimerStarted"},
    {EV(TIMER_FIRED), HCASE(TIMER_FIRED), "TimerFired"},
};

/* READ_EVENTS' entry for |type|, or -1 for an event the engine does not read. */
static int read_event_index(int type)
{
    for (size_t i = 0; i < sizeof(READ_EVENTS) / sizeof(READ_EVENTS[0]); i++)
        if (READ_EVENTS[i].type == type)
            return (int)i;
    return -1;
}

/* FNV-1a of a run id: the seed of tw_random(). */
static uint64_t seed_of(const char *run_id)
{
    uint64_t seed = 1469598103934665603ULL;
    for (const char *p = run_id ? run_id : ""; *p; p++)
        seed = (seed ^ (unsigned char)*p) * 1099511628211ULL;
    return seed;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static tw_wf *current_wf(tw_wf *wf)
{
    return wf && coro_current() == wf->co ? wf : NULL;
}

/* Allocations for the workflow: a failure sets wf->oom. */
static void *wf_mem(tw_wf *wf, size_t n)
{
    void *p = arena_alloc(wf->a, n);
    if (!p)
        wf->oom = 1;
    return p;
}

static char *wf_strdup(tw_wf *wf, const char *s)
{
    char *d = arena_strdup(wf->a, s);
    if (s && !d)
        wf->oom = 1;
    return d;
}

static pb_duration *wf_duration(tw_wf *wf, int64_t ms)
{
    pb_duration *d = duration_ms(wf->a, ms);
    if (ms > 0 && !d)
        wf->oom = 1;
    return d; /* NULL for 0: unset */
}

static pb_payloads *wf_payloads(tw_wf *wf, const tw_payload *p, size_t n)
{
    pb_payloads *ps = payloads_to_pb(wf->a, p, n);
    if (n && !ps)
        wf->oom = 1;
    return ps;
}

static void push_cmd(tw_wf *wf, pb_command *pb, future *f)
{
    cmd *c = wf_mem(wf, sizeof(*c));
    if (!c || !pb) {
        wf->oom = 1;
        return;
    }
    *c = (cmd){.pb = pb, .f = f};
    *wf->pending_tail = c;
    wf->pending_tail = &c->next;
}

static pb_command *new_command(tw_wf *wf, int type)
{
    pb_command *c = wf_mem(wf, sizeof(*c));
    if (!c)
        return NULL;
    PB_INIT(temporal__api__command__v1__command__descriptor, c);
    c->command_type = type;
    return c;
}

static future *new_future(tw_wf *wf, int kind, const char *id, const char *type)
{
    future *f = wf_mem(wf, sizeof(*f));
    if (!f)
        return NULL;
    *f = (future){.kind = kind, .id = wf_strdup(wf, id), .type = wf_strdup(wf, type)};
    if (wf->oom)
        return NULL;
    f->next = wf->futures;
    wf->futures = f;
    return f;
}

/* ---- the API workflow code calls ---- */

static int start_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                          const tw_payload *args, size_t nargs, tw_future **out)
{
    if (!current_wf(wf))
        return TW_ESTATE;
    if (!type || !*type || !o || (o->start_to_close_ms <= 0 && o->schedule_to_close_ms <= 0) ||
        !payloads_valid(args, nargs))
        return TW_EINVAL; /* the server refuses an activity without either timeout */
    if (wf->oom)
        return TW_ENOMEM;
    char idbuf[24];
    const char *id = o->activity_id;
    if (!id) {
        snprintf(idbuf, sizeof(idbuf), "%d", ++wf->act_seq);
        id = idbuf;
    }
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *at = wf_mem(wf, sizeof(*at));
    Temporal__Api__Common__V1__ActivityType *atype = wf_mem(wf, sizeof(*atype));
    pb_task_queue *tq = wf_mem(wf, sizeof(*tq));
    pb_command *c = new_command(wf, CMD(SCHEDULE_ACTIVITY_TASK));
    future *f = new_future(wf, FUT_ACTIVITY, id, type);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__schedule_activity_task_command_attributes__init(at);
    temporal__api__common__v1__activity_type__init(atype);
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    atype->name = (char *)f->type;
    tq->name = wf_strdup(wf, o->task_queue ? o->task_queue : wf->info.task_queue);
    tq->kind = TQ_KIND_NORMAL;
    at->activity_id = (char *)f->id;
    at->activity_type = atype;
    at->task_queue = tq;
    at->input = wf_payloads(wf, args, nargs);
    at->schedule_to_close_timeout = wf_duration(wf, o->schedule_to_close_ms);
    at->schedule_to_start_timeout = wf_duration(wf, o->schedule_to_start_ms);
    at->start_to_close_timeout = wf_duration(wf, o->start_to_close_ms);
    at->heartbeat_timeout = wf_duration(wf, o->heartbeat_ms);
    if (o->retry) {
        Temporal__Api__Common__V1__RetryPolicy *rp = wf_mem(wf, sizeof(*rp));
        if (!rp)
            return TW_ENOMEM;
        temporal__api__common__v1__retry_policy__init(rp);
        rp->initial_interval = wf_duration(wf, o->retry->initial_interval_ms);
        rp->backoff_coefficient = o->retry->backoff_coefficient;
        rp->maximum_interval = wf_duration(wf, o->retry->maximum_interval_ms);
        rp->maximum_attempts = o->retry->maximum_attempts;
        size_t n = 0;
        while (o->retry->non_retryable_types && o->retry->non_retryable_types[n])
            n++;
        if (n) {
            rp->non_retryable_error_types = wf_mem(wf, n * sizeof(char *));
            if (!rp->non_retryable_error_types)
                return TW_ENOMEM;
            for (size_t i = 0; i < n; i++)
                rp->non_retryable_error_types[i] = wf_strdup(wf, o->retry->non_retryable_types[i]);
            rp->n_non_retryable_error_types = n;
        }
        at->retry_policy = rp;
    }
    if (wf->oom)
        return TW_ENOMEM;
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_SCHEDULE_ACTIVITY_TASK_COMMAND_ATTRIBUTES;
    c->schedule_activity_task_command_attributes = at;
    push_cmd(wf, c, f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

static int await_future(tw_wf *wf, tw_future *tf, tw_payload *result)
{
    future *f = (future *)tf;
    if (!current_wf(wf) || !f)
        return TW_ESTATE;
    while (!f->done)
        coro_yield();
    if (f->failed) {
        wf->last_failure = f->failure;
        return TW_EFAILED;
    }
    if (result)
        *result = f->nresult ? f->result[0] : tw_null();
    return TW_OK;
}

static int execute_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *f;
    int rc = start_activity(wf, type, o, args, nargs, &f);
    return rc ? rc : await_future(wf, f, result);
}

static int start_timer(tw_wf *wf, int64_t ms, tw_future **out)
{
    if (!current_wf(wf))
        return TW_ESTATE;
    if (ms < 0)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    if (ms == 0) { /* as in sdk-go: no command, a future that is already ready */
        future *f = wf_mem(wf, sizeof(*f));
        if (!f)
            return TW_ENOMEM;
        *f = (future){.kind = FUT_TIMER, .done = 1};
        if (out)
            *out = (tw_future *)f;
        return TW_OK;
    }
    char id[24];
    snprintf(id, sizeof(id), "%d", ++wf->timer_seq);
    Temporal__Api__Command__V1__StartTimerCommandAttributes *at = wf_mem(wf, sizeof(*at));
    pb_command *c = new_command(wf, CMD(START_TIMER));
    future *f = new_future(wf, FUT_TIMER, id, NULL);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__start_timer_command_attributes__init(at);
    at->timer_id = (char *)f->id;
    at->start_to_fire_timeout = wf_duration(wf, ms);
    c->attributes_case = TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_START_TIMER_COMMAND_ATTRIBUTES;
    c->start_timer_command_attributes = at;
    push_cmd(wf, c, f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

static int wf_sleep(tw_wf *wf, int64_t ms)
{
    tw_future *f;
    int rc = start_timer(wf, ms, &f);
    return rc ? rc : await_future(wf, f, NULL);
}

static int wf_select(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready)
{
    if (!current_wf(wf) || !fs || !n)
        return TW_EINVAL;
    for (;;) {
        for (size_t i = 0; i < n; i++)
            if (fs[i] && ((future *)fs[i])->done) {
                if (ready)
                    *ready = i;
                return TW_OK;
            }
        coro_yield();
    }
}

static int64_t wf_now(tw_wf *wf) { return wf ? wf->now_ms : 0; }
static uint64_t wf_random(tw_wf *wf) { return wf ? splitmix(&wf->rng) : 0; }
static const tw_wf_info *wf_info(tw_wf *wf) { return wf ? &wf->info : NULL; }
static void *wf_alloc(tw_wf *wf, size_t n)
{
    if (!wf)
        return NULL;
    if (n > SIZE_MAX / 2) { /* no arena holds it (and the arena's rounding would wrap) */
        wf->oom = 1;
        return NULL;
    }
    return wf_mem(wf, n);
}

static void wf_log(tw_wf *wf, int level, const char *msg)
{
    if (!wf || wf->replaying)
        return; /* replayed code already logged this the first time */
    int l = level >= TW_LOG_ERROR ? LOG_ERROR : level == TW_LOG_WARN ? LOG_WARN
          : level == TW_LOG_INFO ? LOG_INFO : LOG_DEBUG;
    log_write(l, "%s: %s", wf->info.workflow_type, msg);
}

/* Keeps a deep copy: user code builds |f| (details too) in a frame that is gone by the time
 * the closing command is made. */
static int wf_fail(tw_wf *wf, const tw_failure *f)
{
    if (!wf || !f)
        return TW_EINVAL;
    tw_failure *copy;
    int rc = failure_copy(wf->a, f, &copy);
    if (rc == TW_ENOMEM)
        wf->oom = 1;
    if (rc)
        return rc;
    wf->failure = copy;
    return TW_EFAILED;
}

static const tw_failure *wf_last_failure(tw_wf *wf) { return wf ? wf->last_failure : NULL; }

void wf_fill_api(tw_api *api)
{
    api->wf_execute_activity = execute_activity;
    api->wf_start_activity = start_activity;
    api->wf_sleep = wf_sleep;
    api->wf_start_timer = start_timer;
    api->wf_await = await_future;
    api->wf_select = wf_select;
    api->wf_now_ms = wf_now;
    api->wf_random = wf_random;
    api->wf_info = wf_info;
    api->wf_alloc = wf_alloc;
    api->wf_log = wf_log;
    api->wf_fail = wf_fail;
    api->wf_last_failure = wf_last_failure;
}

/* ---- the engine ---- */

static void coro_main(void *arg)
{
    tw_wf *wf = arg;
    wf->result = tw_null();
    wf->code = wf->def->fn(wf, wf->args, wf->nargs, &wf->result);
    wf->returned = 1;
}

/* Runs the code until it blocks; once it has returned, makes the closing command, unless
 * memory ran out on the way (then whatever the code returned, TW_ENOMEM most likely, is not
 * the workflow's outcome: the task fails instead). */
static void run_code(tw_wf *wf)
{
    if (wf->closed)
        return;
    if (wf->code_since)
        __atomic_store_n(wf->code_since, clock_mono_ms(), __ATOMIC_RELEASE);
    coro_resume(wf->co);
    if (wf->code_since)
        __atomic_store_n(wf->code_since, 0, __ATOMIC_RELEASE);
    if (!wf->returned || wf->closed || wf->oom)
        return;
    wf->closed = 1;
    if (wf->code == 0 && !payloads_valid(&wf->result, 1)) {
        wf->bad_result = 1; /* no command: the task fails (apply_event) */
        return;
    }
    if (wf->code == 0) {
        Temporal__Api__Command__V1__CompleteWorkflowExecutionCommandAttributes *at =
            wf_mem(wf, sizeof(*at));
        pb_command *c = new_command(wf, CMD(COMPLETE_WORKFLOW_EXECUTION));
        if (wf->oom)
            return;
        temporal__api__command__v1__complete_workflow_execution_command_attributes__init(at);
        at->result = wf_payloads(wf, &wf->result, 1);
        c->attributes_case =
            TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_COMPLETE_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
        c->complete_workflow_execution_command_attributes = at;
        if (!wf->oom)
            push_cmd(wf, c, NULL);
        return;
    }
    tw_failure generic = {.type = "WorkflowError",
                          .message = "the workflow returned an error without tw_wf_fail()"};
    Temporal__Api__Command__V1__FailWorkflowExecutionCommandAttributes *at = wf_mem(wf, sizeof(*at));
    pb_command *c = new_command(wf, CMD(FAIL_WORKFLOW_EXECUTION));
    if (wf->oom)
        return;
    temporal__api__command__v1__fail_workflow_execution_command_attributes__init(at);
    at->failure = failure_to_pb(wf->a, wf->failure ? wf->failure : &generic);
    if (!at->failure) {
        wf->oom = 1;
        return;
    }
    c->attributes_case =
        TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_FAIL_WORKFLOW_EXECUTION_COMMAND_ATTRIBUTES;
    c->fail_workflow_execution_command_attributes = at;
    push_cmd(wf, c, NULL);
}

static const char *command_name(int t)
{
    switch (t) {
    case CMD(SCHEDULE_ACTIVITY_TASK): return "ScheduleActivityTask";
    case CMD(START_TIMER): return "StartTimer";
    case CMD(COMPLETE_WORKFLOW_EXECUTION): return "CompleteWorkflowExecution";
    case CMD(FAIL_WORKFLOW_EXECUTION): return "FailWorkflowExecution";
    }
    return "a command";
}

static void describe_cmd(const cmd *c, char *out, size_t n)
{
    if (!c) {
        snprintf(out, n, "no command");
        return;
    }
    if (c->pb->command_type == CMD(SCHEDULE_ACTIVITY_TASK))
        snprintf(out, n, "ScheduleActivityTask(type %s, id %s)",
                 c->pb->schedule_activity_task_command_attributes->activity_type->name,
                 c->pb->schedule_activity_task_command_attributes->activity_id);
    else if (c->pb->command_type == CMD(START_TIMER))
        snprintf(out, n, "StartTimer(id %s)", c->pb->start_timer_command_attributes->timer_id);
    else
        snprintf(out, n, "%s", command_name(c->pb->command_type));
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

/* The command event |ev| against the next pending command. 0 matched, -1 mismatch. */
static int match(tw_wf *wf, const pb_event *ev, wf_output *out)
{
    cmd *c = wf->pending;
    char want[200], have[200];
    describe_cmd(c, have, sizeof(have));
    int ok = 0;
    switch (ev->event_type) {
    case EV(ACTIVITY_TASK_SCHEDULED): {
        const Temporal__Api__History__V1__ActivityTaskScheduledEventAttributes *at =
            ATTRS(ev, ACTIVITY_TASK_SCHEDULED, activity_task_scheduled_event_attributes);
        snprintf(want, sizeof(want), "ScheduleActivityTask(type %s, id %s)",
                 at && at->activity_type ? at->activity_type->name : "?",
                 at ? at->activity_id : "?");
        ok = c && at && c->pb->command_type == CMD(SCHEDULE_ACTIVITY_TASK) &&
             strcmp(c->pb->schedule_activity_task_command_attributes->activity_id, at->activity_id) == 0 &&
             at->activity_type &&
             strcmp(c->pb->schedule_activity_task_command_attributes->activity_type->name,
                    at->activity_type->name) == 0;
        break;
    }
    case EV(TIMER_STARTED): {
        const Temporal__Api__History__V1__TimerStartedEventAttributes *at =
            ATTRS(ev, TIMER_STARTED, timer_started_event_attributes);
        const char *id = at ? at->timer_id : "?";
        snprintf(want, sizeof(want), "StartTimer(id %s)", id);
        ok = c && c->pb->command_type == CMD(START_TIMER) &&
             strcmp(c->pb->start_timer_command_attributes->timer_id, id) == 0;
        break;
    }
    case EV(WORKFLOW_EXECUTION_COMPLETED):
        snprintf(want, sizeof(want), "CompleteWorkflowExecution");
        ok = c && c->pb->command_type == CMD(COMPLETE_WORKFLOW_EXECUTION);
        break;
    case EV(WORKFLOW_EXECUTION_FAILED):
        snprintf(want, sizeof(want), "FailWorkflowExecution");
        ok = c && c->pb->command_type == CMD(FAIL_WORKFLOW_EXECUTION);
        break;
    default:
        return 0; /* not a command event */
    }
    if (!ok) {
        fail_task(wf->a, out, WF_CAUSE_NON_DETERMINISTIC,
                  "history event %lld has %s but the workflow code made %s: the code "
                  "changed since this run started (non-deterministic)",
                  (long long)ev->event_id, want, have);
        return -1;
    }
    if (c->f)
        c->f->scheduled_event_id = ev->event_id;
    wf->pending = c->next;
    if (!wf->pending)
        wf->pending_tail = &wf->pending;
    return 0;
}

/* Only futures whose command event the history holds already (matched: a scheduled event id)
 * can be resolved; one the code just made has none yet. */
static future *find_activity(tw_wf *wf, int64_t scheduled)
{
    for (future *f = wf->futures; f; f = f->next)
        if (f->kind == FUT_ACTIVITY && f->scheduled_event_id > 0 &&
            f->scheduled_event_id == scheduled)
            return f;
    return NULL;
}

static future *find_timer(tw_wf *wf, const char *id)
{
    for (future *f = wf->futures; f; f = f->next)
        if (f->kind == FUT_TIMER && f->scheduled_event_id > 0 && id && strcmp(f->id, id) == 0)
            return f;
    return NULL;
}

static void resolve_failed(tw_wf *wf, future *f, const pb_failure *failure, const char *fallback)
{
    if (!f)
        return;
    f->done = f->failed = 1;
    f->failure = failure ? failure_from_pb(wf->a, failure) : wf_mem(wf, sizeof(*f->failure));
    if (!f->failure)
        wf->oom = 1;
    else if (!failure)
        *f->failure = (tw_failure){.type = "Error", .message = fallback};
}

/* Did the workflow task attempt started at |i| fail or time out? Only the next event says
 * (the server writes nothing between an attempt's start and its end). */
static int attempt_failed(const wf_input *in, size_t i)
{
    if (i + 1 >= in->nevents)
        return 0; /* the current task */
    int t = in->events[i + 1]->event_type;
    return t == EV(WORKFLOW_TASK_FAILED) || t == EV(WORKFLOW_TASK_TIMED_OUT);
}

/* Event ids run 1, 2, 3, ... in a whole history; a hole means a page went missing, and
 * replaying what is left would decide on a different history. 0, or -1 with |out| failed. */
static int check_event_ids(arena *a, const wf_input *in, wf_output *out)
{
    for (size_t i = 0; i < in->nevents; i++)
        if (in->events[i]->event_id != (int64_t)i + 1) {
            fail_task(a, out, WF_CAUSE_UNHANDLED_FAILURE,
                      "missing history events: expected event id %lld but got %lld "
                      "(%zu events read)", (long long)i + 1,
                      (long long)in->events[i]->event_id, in->nevents);
            return -1;
        }
    return 0;
}

/* Every event the engine reads carries its own attributes (a server always sends them; a
 * history that does not is not one to replay), and an ActivityTaskScheduled names its type.
 * 0, or -1 with |out| failed naming the event. */
static int check_attributes(arena *a, const wf_input *in, wf_output *out)
{
    for (size_t i = 0; i < in->nevents; i++) {
        const pb_event *ev = in->events[i];
        int r = read_event_index(ev->event_type);
        if (r < 0)
            continue;
        const char *wrong = NULL;
        char other[64];
        if (ev->attributes_case == 0) {
            wrong = "has no attributes";
        } else if ((int)ev->attributes_case != READ_EVENTS[r].attributes) {
            snprintf(other, sizeof(other), "carries another event type's attributes (field %d)",
                     (int)ev->attributes_case);
            wrong = other;
        } else if (ev->event_type == EV(ACTIVITY_TASK_SCHEDULED) &&
                   !ev->activity_task_scheduled_event_attributes->activity_type) {
            wrong = "names no activity type";
        }
        if (wrong) {
            fail_task(a, out, WF_CAUSE_UNHANDLED_FAILURE,
                      "history event %lld (%s) %s: the history cannot be replayed",
                      (long long)ev->event_id, READ_EVENTS[r].name, wrong);
            return -1;
        }
    }
    return 0;
}

/* A resolution event |ev| (a completion, failure, time-out, cancellation or fire) for |what|,
 * which the code never started (|f| NULL) or which was resolved already: the history is not
 * this run's. Fails the task naming the event; returns -1. */
static int stray_resolution(tw_wf *wf, const pb_event *ev, const future *f, const char *what,
                            wf_output *out)
{
    fail_task(wf->a, out, WF_CAUSE_UNHANDLED_FAILURE,
              "history event %lld (%s) resolves %s, %s: the history cannot be replayed",
              (long long)ev->event_id, READ_EVENTS[read_event_index(ev->event_type)].name, what,
              f ? "resolved already" : "which the workflow did not start");
    return -1;
}

/* The activity future event |ev| resolves (its attributes' |scheduled| event id), or NULL
 * with the task failed. */
static future *activity_to_resolve(tw_wf *wf, const pb_event *ev, int64_t scheduled,
                                   wf_output *out)
{
    future *f = find_activity(wf, scheduled);
    if (f && !f->done)
        return f;
    char what[64];
    snprintf(what, sizeof(what), "the activity scheduled at event %lld", (long long)scheduled);
    stray_resolution(wf, ev, f, what, out);
    return NULL;
}

/* A command the code made that the history, up to event |before| (0: the end), lacks. */
static int unmatched_command(tw_wf *wf, wf_output *out, int64_t before)
{
    for (cmd *c = wf->pending; c; c = c->next)
        if (c->must_match) {
            char have[200], where[48] = "";
            describe_cmd(c, have, sizeof(have));
            if (before)
                snprintf(where, sizeof(where), " before event %lld", (long long)before);
            fail_task(wf->a, out, WF_CAUSE_NON_DETERMINISTIC,
                      "the workflow code made %s, which the history does not have%s "
                      "(non-deterministic)", have, where);
            return -1;
        }
    return 0;
}

/* Applies one event. 0, or -1 when the task has failed (|out|) or memory ran out. */
static int apply_event(tw_wf *wf, const wf_input *in, size_t i, wf_output *out)
{
    const pb_event *ev = in->events[i];
    switch (ev->event_type) {
    case EV(WORKFLOW_EXECUTION_STARTED): {
        const Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes *at =
            ATTRS(ev, WORKFLOW_EXECUTION_STARTED, workflow_execution_started_event_attributes);
        if (!at)
            break;
        if (payloads_from_pb(wf->a, at->input, &wf->args, &wf->nargs))
            wf->oom = 1;
        wf->info.attempt = at->attempt ? at->attempt : 1;
        /* The original run's id, which a reset run keeps: its replay draws the same values. */
        if (at->original_execution_run_id && *at->original_execution_run_id)
            wf->rng = seed_of(at->original_execution_run_id);
        break;
    }
    case EV(WORKFLOW_TASK_STARTED):
        if (attempt_failed(in, i))
            break; /* the code runs at the attempt that completed, with its time */
        if (unmatched_command(wf, out, ev->event_id))
            return -1;
        wf->now_ms = event_time_ms(ev);
        wf->replaying = i + 1 < in->nevents;
        run_code(wf);
        if (wf->bad_result && !wf->oom) {
            fail_task(wf->a, out, WF_CAUSE_UNHANDLED_FAILURE,
                      "workflow %s returned a result of %zu bytes with no data (NULL)",
                      wf->info.workflow_type, wf->result.len);
            return -1;
        }
        break;
    case EV(WORKFLOW_TASK_FAILED): {
        const Temporal__Api__History__V1__WorkflowTaskFailedEventAttributes *at =
            ATTRS(ev, WORKFLOW_TASK_FAILED, workflow_task_failed_event_attributes);
        /* A reset point: from here on the run draws from its own id, as sdk-go does. */
        if (at && at->cause == WF_CAUSE(RESET_WORKFLOW) && at->new_run_id && *at->new_run_id)
            wf->rng = seed_of(at->new_run_id);
        break;
    }
    case EV(WORKFLOW_TASK_COMPLETED):
        for (cmd *c = wf->pending; c; c = c->next)
            c->must_match = 1;
        break;
    case EV(ACTIVITY_TASK_SCHEDULED):
    case EV(TIMER_STARTED):
    case EV(WORKFLOW_EXECUTION_COMPLETED):
    case EV(WORKFLOW_EXECUTION_FAILED):
        if (match(wf, ev, out))
            return -1;
        break;
    case EV(ACTIVITY_TASK_COMPLETED): {
        const Temporal__Api__History__V1__ActivityTaskCompletedEventAttributes *at =
            ATTRS(ev, ACTIVITY_TASK_COMPLETED, activity_task_completed_event_attributes);
        if (!at)
            break; /* not after check_attributes() */
        future *f = activity_to_resolve(wf, ev, at->scheduled_event_id, out);
        if (!f)
            return -1;
        f->done = 1;
        if (payloads_from_pb(wf->a, at->result, &f->result, &f->nresult))
            wf->oom = 1;
        break;
    }
    case EV(ACTIVITY_TASK_FAILED): {
        const Temporal__Api__History__V1__ActivityTaskFailedEventAttributes *at =
            ATTRS(ev, ACTIVITY_TASK_FAILED, activity_task_failed_event_attributes);
        if (!at)
            break; /* not after check_attributes() */
        future *f = activity_to_resolve(wf, ev, at->scheduled_event_id, out);
        if (!f)
            return -1;
        resolve_failed(wf, f, at->failure, "activity failed");
        break;
    }
    case EV(ACTIVITY_TASK_TIMED_OUT): {
        const Temporal__Api__History__V1__ActivityTaskTimedOutEventAttributes *at =
            ATTRS(ev, ACTIVITY_TASK_TIMED_OUT, activity_task_timed_out_event_attributes);
        if (!at)
            break; /* not after check_attributes() */
        future *f = activity_to_resolve(wf, ev, at->scheduled_event_id, out);
        if (!f)
            return -1;
        resolve_failed(wf, f, at->failure, "activity timed out");
        break;
    }
    case EV(ACTIVITY_TASK_CANCELED): {
        const Temporal__Api__History__V1__ActivityTaskCanceledEventAttributes *at =
            ATTRS(ev, ACTIVITY_TASK_CANCELED, activity_task_canceled_event_attributes);
        if (!at)
            break; /* not after check_attributes() */
        future *f = activity_to_resolve(wf, ev, at->scheduled_event_id, out);
        if (!f)
            return -1;
        resolve_failed(wf, f, NULL, "activity canceled");
        break;
    }
    case EV(TIMER_FIRED): {
        const Temporal__Api__History__V1__TimerFiredEventAttributes *at =
            ATTRS(ev, TIMER_FIRED, timer_fired_event_attributes);
        if (!at)
            break;
        future *f = find_timer(wf, at->timer_id);
        if (!f || f->done) {
            char what[96];
            snprintf(what, sizeof(what), "timer \"%.40s\"", at->timer_id);
            return stray_resolution(wf, ev, f, what, out);
        }
        f->done = 1;
        break;
    }
    default:
        break; /* signals, markers, ...: nothing the supported API waits on */
    }
    return wf->oom ? -1 : 0;
}

/* The commands still pending after the last event: the task's answer. */
static void collect_commands(tw_wf *wf, wf_output *out)
{
    if (unmatched_command(wf, out, 0))
        return;
    size_t n = 0;
    for (cmd *c = wf->pending; c; c = c->next)
        n++;
    out->commands = n ? wf_mem(wf, n * sizeof(pb_command *)) : NULL;
    if (wf->oom)
        return;
    for (cmd *c = wf->pending; c; c = c->next)
        out->commands[out->ncommands++] = c->pb;
}

static void fail_out_of_memory(wf_output *out)
{
    *out = (wf_output){.task_failed = 1, .cause = WF_CAUSE_UNHANDLED_FAILURE,
                       .message = oom_message, .versioning = out->versioning};
}

int wf_run(const tw_registry *reg, arena *a, const wf_input *in, wf_output *out)
{
    memset(out, 0, sizeof(*out));
    const reg_workflow *def = reg_find_workflow(reg, in->workflow_type);
    if (!def) {
        char names[512];
        reg_workflow_names(reg, names, sizeof(names));
        fail_task(a, out, WF_CAUSE_UNHANDLED_FAILURE,
                  "workflow type \"%s\" is not registered with this worker; registered: %s",
                  in->workflow_type ? in->workflow_type : "", names);
        return 0;
    }
    out->versioning = def->versioning;
    if (check_event_ids(a, in, out) || check_attributes(a, in, out))
        return 0;
    tw_wf *wf = arena_alloc(a, sizeof(*wf));
    if (!wf) {
        fail_out_of_memory(out);
        return 0;
    }
    memset(wf, 0, sizeof(*wf));
    wf->a = a;
    wf->def = def;
    wf->code_since = in->code_since;
    wf->pending_tail = &wf->pending;
    wf->info = (tw_wf_info){.workflow_id = in->workflow_id, .run_id = in->run_id,
                            .workflow_type = in->workflow_type, .task_queue = in->task_queue,
                            .attempt = 1};
    wf->rng = seed_of(in->run_id); /* until the started event names the original run */
    if (coro_new(&wf->co, 0, coro_main, wf) != 0) {
        fail_out_of_memory(out);
        return 0;
    }
    for (size_t i = 0; i < in->nevents; i++)
        if (apply_event(wf, in, i, out))
            break;
    if (!out->task_failed && !wf->oom)
        collect_commands(wf, out);
    if (wf->oom)
        fail_out_of_memory(out);
    coro_free(wf->co);
    return 0;
}
