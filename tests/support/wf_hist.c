/*
 * wf_hist: histories built the way the server writes them. See wf_hist.h.
 */
#define _GNU_SOURCE
#include "tests/support/wf_hist.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes
#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES
#define SET(e, member, CASE, at) ((e)->attributes_case = HCASE(CASE), (e)->member = (at))

static void *mem(whist *h, size_t n)
{
    void *p = arena_alloc(h->a, n);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static char *dup(whist *h, const char *s)
{
    char *d = arena_strdup(h->a, s ? s : "");
    assert_non_null(d);
    return d;
}

static pb_payloads *json(whist *h, const char *text)
{
    if (!text)
        return NULL;
    tw_payload p = tw_json(dup(h, text));
    pb_payloads *ps = payloads_to_pb(h->a, &p, 1);
    assert_non_null(ps);
    return ps;
}

void wh_init(whist *h)
{
    memset(h, 0, sizeof(*h));
    h->a = arena_new(16u << 20);
    assert_non_null(h->a);
    h->now_ms = 1000;
}

void wh_free(whist *h)
{
    ws_free(&h->shadow);
    arena_free(h->run);
    arena_free(h->a);
    memset(h, 0, sizeof(*h));
}

pb_event *wh_add(whist *h, int type)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        pb_event **bigger = mem(h, cap * sizeof(*bigger));
        if (h->n)
            memcpy(bigger, h->ev, h->n * sizeof(*bigger));
        h->ev = bigger;
        h->cap = cap;
    }
    pb_event *e = mem(h, sizeof(*e));
    temporal__api__history__v1__history_event__init(e);
    Google__Protobuf__Timestamp *t = mem(h, sizeof(*t));
    google__protobuf__timestamp__init(t);
    t->seconds = h->now_ms / 1000;
    t->nanos = (int32_t)(h->now_ms % 1000) * 1000000;
    e->event_time = t;
    e->event_id = (int64_t)h->n + 1;
    e->event_type = type;
    h->ev[h->n++] = e;
    return e;
}

void wh_start(whist *h, const char *input)
{
    pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_STARTED));
    HA(WorkflowExecutionStarted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_started_event_attributes__init(at);
    at->input = json(h, input);
    at->attempt = 1;
    SET(e, workflow_execution_started_event_attributes, WORKFLOW_EXECUTION_STARTED, at);
    wh_task(h, 0);
}

void wh_task(whist *h, int64_t ms)
{
    if (ms)
        h->now_ms = ms;
    wh_add(h, EV(WORKFLOW_TASK_SCHEDULED));
    wh_add(h, EV(WORKFLOW_TASK_STARTED));
}

const wf_output *wh_run(whist *h, const tw_registry *reg, const char *type, int stack_trace)
{
    arena_free(h->run);
    h->run = arena_new(64u << 20);
    assert_non_null(h->run);
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h->ev, .nevents = h->n,
                   .stack_trace = stack_trace};
    assert_int_equal(wf_run(reg, h->run, &in, &h->out), 0);
    ws_check(&h->shadow, reg, &in, &h->out);
    return &h->out;
}

const char *wh_commands(const whist *h)
{
    static char buf[4096];
    if (h->out.task_failed) {
        snprintf(buf, sizeof(buf), "task failed: %s", h->out.message);
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < h->out.ncommands && used < sizeof(buf); i++) {
        char one[512];
        cmd_describe(h->out.commands[i], one, sizeof(one));
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " | " : "", one);
    }
    return buf;
}

int64_t wh_scheduled(const whist *h, const char *activity_id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ev[i]->event_type == EV(ACTIVITY_TASK_SCHEDULED) &&
            strcmp(h->ev[i]->activity_task_scheduled_event_attributes->activity_id,
                   activity_id) == 0)
            return h->ev[i]->event_id;
    fail_msg("no activity \"%s\" in the history", activity_id);
    return 0;
}

static int64_t timer_started(const whist *h, const char *timer_id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ev[i]->event_type == EV(TIMER_STARTED) &&
            strcmp(h->ev[i]->timer_started_event_attributes->timer_id, timer_id) == 0)
            return h->ev[i]->event_id;
    fail_msg("no timer \"%s\" in the history", timer_id);
    return 0;
}

/* Has the activity scheduled at |scheduled| started (an ActivityTaskStarted names it)? */
static int activity_started(const whist *h, int64_t scheduled)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ev[i]->event_type == EV(ACTIVITY_TASK_STARTED) &&
            h->ev[i]->activity_task_started_event_attributes->scheduled_event_id == scheduled)
            return 1;
    return 0;
}

static void record_schedule(whist *h, const pb_command *c)
{
    const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *ca =
        c->schedule_activity_task_command_attributes;
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_SCHEDULED));
    HA(ActivityTaskScheduled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_scheduled_event_attributes__init(at);
    Temporal__Api__Common__V1__ActivityType *t = mem(h, sizeof(*t));
    temporal__api__common__v1__activity_type__init(t);
    t->name = dup(h, ca->activity_type->name);
    at->activity_id = dup(h, ca->activity_id);
    at->activity_type = t;
    SET(e, activity_task_scheduled_event_attributes, ACTIVITY_TASK_SCHEDULED, at);
}

static void record_timer(whist *h, const pb_command *c)
{
    pb_event *e = wh_add(h, EV(TIMER_STARTED));
    HA(TimerStarted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__timer_started_event_attributes__init(at);
    at->timer_id = dup(h, c->start_timer_command_attributes->timer_id);
    SET(e, timer_started_event_attributes, TIMER_STARTED, at);
}

static void record_cancel_timer(whist *h, const pb_command *c)
{
    const char *id = c->cancel_timer_command_attributes->timer_id;
    int64_t started = timer_started(h, id);
    pb_event *e = wh_add(h, EV(TIMER_CANCELED));
    HA(TimerCanceled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__timer_canceled_event_attributes__init(at);
    at->timer_id = dup(h, id);
    at->started_event_id = started;
    SET(e, timer_canceled_event_attributes, TIMER_CANCELED, at);
}

/* The server cancels an activity that has not started at once (CancelRequested, Canceled). */
static void record_cancel_activity(whist *h, const pb_command *c)
{
    int64_t scheduled = c->request_cancel_activity_task_command_attributes->scheduled_event_id;
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_CANCEL_REQUESTED));
    HA(ActivityTaskCancelRequested) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_cancel_requested_event_attributes__init(at);
    at->scheduled_event_id = scheduled;
    SET(e, activity_task_cancel_requested_event_attributes, ACTIVITY_TASK_CANCEL_REQUESTED, at);
    if (activity_started(h, scheduled))
        return;
    e = wh_add(h, EV(ACTIVITY_TASK_CANCELED));
    HA(ActivityTaskCanceled) *done = mem(h, sizeof(*done));
    temporal__api__history__v1__activity_task_canceled_event_attributes__init(done);
    done->scheduled_event_id = scheduled;
    SET(e, activity_task_canceled_event_attributes, ACTIVITY_TASK_CANCELED, done);
}

static void record_cancel_external(whist *h, const pb_command *c)
{
    const Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes *ca =
        c->request_cancel_external_workflow_execution_command_attributes;
    pb_event *e = wh_add(h, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    HA(RequestCancelExternalWorkflowExecutionInitiated) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__request_cancel_external_workflow_execution_initiated_event_attributes__init(at);
    pb_execution *x = mem(h, sizeof(*x));
    temporal__api__common__v1__workflow_execution__init(x);
    x->workflow_id = dup(h, ca->workflow_id);
    x->run_id = dup(h, ca->run_id);
    at->workflow_execution = x;
    SET(e, request_cancel_external_workflow_execution_initiated_event_attributes,
        REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, at);
}

static void record_start_child(whist *h, const pb_command *c)
{
    const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *ca =
        c->start_child_workflow_execution_command_attributes;
    pb_event *e = wh_add(h, EV(START_CHILD_WORKFLOW_EXECUTION_INITIATED));
    HA(StartChildWorkflowExecutionInitiated) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__start_child_workflow_execution_initiated_event_attributes__init(at);
    Temporal__Api__Common__V1__WorkflowType *t = mem(h, sizeof(*t));
    temporal__api__common__v1__workflow_type__init(t);
    t->name = dup(h, ca->workflow_type->name);
    at->workflow_id = dup(h, ca->workflow_id);
    at->workflow_type = t;
    at->parent_close_policy = ca->parent_close_policy;
    SET(e, start_child_workflow_execution_initiated_event_attributes,
        START_CHILD_WORKFLOW_EXECUTION_INITIATED, at);
}

/* The last event of |type| whose workflow execution is |workflow_id|. */
static int64_t initiated_for(const whist *h, int type, const char *workflow_id)
{
    for (size_t i = h->n; i-- > 0;) {
        const pb_event *e = h->ev[i];
        const pb_execution *x = NULL;
        if ((int)e->event_type != type)
            continue;
        if (type == EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))
            x = e->request_cancel_external_workflow_execution_initiated_event_attributes->workflow_execution;
        else if (type == EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))
            x = e->signal_external_workflow_execution_initiated_event_attributes->workflow_execution;
        if (x && strcmp(x->workflow_id, workflow_id) == 0)
            return e->event_id;
    }
    fail_msg("no external operation on \"%s\" in the history", workflow_id);
    return 0;
}

void wh_external_cancel_requested(whist *h, const char *workflow_id)
{
    int64_t initiated = initiated_for(h, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                      workflow_id);
    pb_event *e = wh_add(h, EV(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    HA(ExternalWorkflowExecutionCancelRequested) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__external_workflow_execution_cancel_requested_event_attributes__init(at);
    at->initiated_event_id = initiated;
    SET(e, external_workflow_execution_cancel_requested_event_attributes,
        EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, at);
}

void wh_external_cancel_failed(whist *h, const char *workflow_id, int cause)
{
    int64_t initiated = initiated_for(h, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                      workflow_id);
    pb_event *e = wh_add(h, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED));
    HA(RequestCancelExternalWorkflowExecutionFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__request_cancel_external_workflow_execution_failed_event_attributes__init(at);
    at->initiated_event_id = initiated;
    at->cause = cause;
    SET(e, request_cancel_external_workflow_execution_failed_event_attributes,
        REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, at);
}

static void record_signal_external(whist *h, const pb_command *c)
{
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *ca =
        c->signal_external_workflow_execution_command_attributes;
    pb_event *e = wh_add(h, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    HA(SignalExternalWorkflowExecutionInitiated) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__signal_external_workflow_execution_initiated_event_attributes__init(at);
    pb_execution *x = mem(h, sizeof(*x));
    temporal__api__common__v1__workflow_execution__init(x);
    x->workflow_id = dup(h, ca->execution->workflow_id);
    x->run_id = dup(h, ca->execution->run_id);
    at->workflow_execution = x;
    at->signal_name = dup(h, ca->signal_name);
    SET(e, signal_external_workflow_execution_initiated_event_attributes,
        SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, at);
}

void wh_external_signaled(whist *h, const char *workflow_id)
{
    int64_t initiated = initiated_for(h, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                      workflow_id);
    pb_event *e = wh_add(h, EV(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED));
    HA(ExternalWorkflowExecutionSignaled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__external_workflow_execution_signaled_event_attributes__init(at);
    at->initiated_event_id = initiated;
    SET(e, external_workflow_execution_signaled_event_attributes,
        EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, at);
}

void wh_external_signal_failed(whist *h, const char *workflow_id, int cause)
{
    int64_t initiated = initiated_for(h, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
                                      workflow_id);
    pb_event *e = wh_add(h, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED));
    HA(SignalExternalWorkflowExecutionFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__signal_external_workflow_execution_failed_event_attributes__init(at);
    at->initiated_event_id = initiated;
    at->cause = cause;
    SET(e, signal_external_workflow_execution_failed_event_attributes,
        SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, at);
}

static void record_message(whist *h, const pb_command *c);

/* A deep copy of |m| in the history's arena (the run's commands go with its arena). */
static void *copy_message(whist *h, const ProtobufCMessage *m)
{
    if (!m)
        return NULL;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = mem(h, n ? n : 1);
    protobuf_c_message_pack(m, buf);
    void *c = protobuf_c_message_unpack(m->descriptor, arena_allocator(h->a), n, buf);
    assert_non_null(c);
    return c;
}

/* MarkerRecorded with the command's name, details and failure (side effects, patches, local
 * activities). */
static void record_marker(whist *h, const pb_command *c)
{
    const Temporal__Api__Command__V1__RecordMarkerCommandAttributes *ca =
        c->record_marker_command_attributes;
    pb_event *e = wh_add(h, EV(MARKER_RECORDED));
    HA(MarkerRecorded) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__marker_recorded_event_attributes__init(at);
    at->marker_name = dup(h, ca->marker_name);
    at->n_details = ca->n_details;
    at->details = mem(h, (ca->n_details ? ca->n_details : 1) * sizeof(*at->details));
    for (size_t i = 0; i < ca->n_details; i++) {
        at->details[i] = mem(h, sizeof(*at->details[i]));
        temporal__api__history__v1__marker_recorded_event_attributes__details_entry__init(
            at->details[i]);
        at->details[i]->key = dup(h, ca->details[i]->key);
        at->details[i]->value = copy_message(h, &ca->details[i]->value->base);
    }
    at->failure = ca->failure ? copy_message(h, &ca->failure->base) : NULL;
    SET(e, marker_recorded_event_attributes, MARKER_RECORDED, at);
}

static void record_upsert(whist *h, const pb_command *c)
{
    pb_event *e = wh_add(h, EV(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES));
    HA(UpsertWorkflowSearchAttributes) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__upsert_workflow_search_attributes_event_attributes__init(at);
    const Temporal__Api__Common__V1__SearchAttributes *sa =
        c->upsert_workflow_search_attributes_command_attributes->search_attributes;
    at->search_attributes = sa ? copy_message(h, &sa->base) : NULL;
    SET(e, upsert_workflow_search_attributes_event_attributes, UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        at);
}

static void record_modify(whist *h, const pb_command *c)
{
    pb_event *e = wh_add(h, EV(WORKFLOW_PROPERTIES_MODIFIED));
    HA(WorkflowPropertiesModified) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_properties_modified_event_attributes__init(at);
    const Temporal__Api__Common__V1__Memo *m =
        c->modify_workflow_properties_command_attributes->upserted_memo;
    at->upserted_memo = m ? copy_message(h, &m->base) : NULL;
    SET(e, workflow_properties_modified_event_attributes, WORKFLOW_PROPERTIES_MODIFIED, at);
}

void wh_answer(whist *h)
{
    if (h->out.task_failed)
        fail_msg("the task failed: %s", h->out.message);
    int64_t started = 0; /* the task being answered: the last WorkflowTaskStarted */
    for (size_t i = h->n; i-- > 0 && !started;)
        if (h->ev[i]->event_type == EV(WORKFLOW_TASK_STARTED))
            started = h->ev[i]->event_id;
    pb_event *done = wh_add(h, EV(WORKFLOW_TASK_COMPLETED));
    HA(WorkflowTaskCompleted) *dat = mem(h, sizeof(*dat));
    temporal__api__history__v1__workflow_task_completed_event_attributes__init(dat);
    dat->scheduled_event_id = started - 1;
    dat->started_event_id = started;
    SET(done, workflow_task_completed_event_attributes, WORKFLOW_TASK_COMPLETED, dat);
    for (size_t i = 0; i < h->out.ncommands; i++) {
        const pb_command *c = h->out.commands[i];
        switch (c->command_type) {
        case CMD(SCHEDULE_ACTIVITY_TASK): record_schedule(h, c); break;
        case CMD(START_TIMER): record_timer(h, c); break;
        case CMD(CANCEL_TIMER): record_cancel_timer(h, c); break;
        case CMD(REQUEST_CANCEL_ACTIVITY_TASK): record_cancel_activity(h, c); break;
        case CMD(COMPLETE_WORKFLOW_EXECUTION): wh_add(h, EV(WORKFLOW_EXECUTION_COMPLETED)); break;
        case CMD(FAIL_WORKFLOW_EXECUTION): wh_add(h, EV(WORKFLOW_EXECUTION_FAILED)); break;
        case CMD(CANCEL_WORKFLOW_EXECUTION): wh_add(h, EV(WORKFLOW_EXECUTION_CANCELED)); break;
        case CMD(PROTOCOL_MESSAGE): record_message(h, c); break;
        case CMD(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION): record_cancel_external(h, c); break;
        case CMD(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION): record_signal_external(h, c); break;
        case CMD(START_CHILD_WORKFLOW_EXECUTION): record_start_child(h, c); break;
        case CMD(RECORD_MARKER): record_marker(h, c); break;
        case CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES): record_upsert(h, c); break;
        case CMD(MODIFY_WORKFLOW_PROPERTIES): record_modify(h, c); break;
        default: fail_msg("wh_answer: command type %d not recorded", (int)c->command_type);
        }
    }
}

static pb_event *activity_started_event(whist *h, int64_t scheduled)
{
    if (activity_started(h, scheduled))
        return NULL;
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_STARTED));
    HA(ActivityTaskStarted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_started_event_attributes__init(at);
    at->scheduled_event_id = scheduled;
    SET(e, activity_task_started_event_attributes, ACTIVITY_TASK_STARTED, at);
    return e;
}

void wh_activity_started(whist *h, const char *activity_id)
{
    activity_started_event(h, wh_scheduled(h, activity_id));
}

void wh_activity_completed(whist *h, const char *activity_id, const char *result)
{
    int64_t scheduled = wh_scheduled(h, activity_id);
    activity_started_event(h, scheduled);
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_COMPLETED));
    HA(ActivityTaskCompleted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_completed_event_attributes__init(at);
    at->result = json(h, result);
    at->scheduled_event_id = scheduled;
    SET(e, activity_task_completed_event_attributes, ACTIVITY_TASK_COMPLETED, at);
}

void wh_activity_failed(whist *h, const char *activity_id, const char *type, const char *message)
{
    int64_t scheduled = wh_scheduled(h, activity_id);
    activity_started_event(h, scheduled);
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_FAILED));
    HA(ActivityTaskFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_failed_event_attributes__init(at);
    tw_failure f = {.type = dup(h, type), .message = dup(h, message)};
    at->failure = failure_to_pb(h->a, &f);
    at->scheduled_event_id = scheduled;
    SET(e, activity_task_failed_event_attributes, ACTIVITY_TASK_FAILED, at);
}

void wh_activity_failed_with(whist *h, const char *activity_id, const tw_failure *f,
                             int retry_state)
{
    int64_t scheduled = wh_scheduled(h, activity_id);
    activity_started_event(h, scheduled);
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_FAILED));
    HA(ActivityTaskFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_failed_event_attributes__init(at);
    at->failure = failure_to_pb(h->a, f);
    assert_non_null(at->failure);
    at->scheduled_event_id = scheduled;
    at->retry_state = retry_state;
    SET(e, activity_task_failed_event_attributes, ACTIVITY_TASK_FAILED, at);
}

void wh_activity_timed_out(whist *h, const char *activity_id, int timeout_type,
                           const char *details)
{
    int64_t scheduled = wh_scheduled(h, activity_id);
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_TIMED_OUT));
    HA(ActivityTaskTimedOut) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_timed_out_event_attributes__init(at);
    tw_payload d = tw_json(details ? dup(h, details) : "");
    tw_failure f = {.kind = TW_FAILURE_TIMEOUT, .message = "activity timeout",
                    .timeout_type = timeout_type, .details = details ? &d : NULL,
                    .ndetails = details ? 1 : 0};
    at->failure = failure_to_pb(h->a, &f);
    assert_non_null(at->failure);
    at->scheduled_event_id = scheduled;
    at->retry_state = 3; /* RETRY_STATE_TIMEOUT */
    SET(e, activity_task_timed_out_event_attributes, ACTIVITY_TASK_TIMED_OUT, at);
}

void wh_activity_canceled(whist *h, const char *activity_id)
{
    int64_t scheduled = wh_scheduled(h, activity_id);
    pb_event *e = wh_add(h, EV(ACTIVITY_TASK_CANCELED));
    HA(ActivityTaskCanceled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_canceled_event_attributes__init(at);
    at->scheduled_event_id = scheduled;
    SET(e, activity_task_canceled_event_attributes, ACTIVITY_TASK_CANCELED, at);
}

void wh_timer_fired(whist *h, const char *timer_id)
{
    int64_t started = timer_started(h, timer_id);
    pb_event *e = wh_add(h, EV(TIMER_FIRED));
    HA(TimerFired) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__timer_fired_event_attributes__init(at);
    at->timer_id = dup(h, timer_id);
    at->started_event_id = started;
    SET(e, timer_fired_event_attributes, TIMER_FIRED, at);
}

void wh_signal(whist *h, const char *name, const char *input)
{
    pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_SIGNALED));
    HA(WorkflowExecutionSignaled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_signaled_event_attributes__init(at);
    at->signal_name = dup(h, name);
    at->input = json(h, input);
    SET(e, workflow_execution_signaled_event_attributes, WORKFLOW_EXECUTION_SIGNALED, at);
}

void wh_cancel_requested(whist *h)
{
    pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    HA(WorkflowExecutionCancelRequested) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_cancel_requested_event_attributes__init(at);
    SET(e, workflow_execution_cancel_requested_event_attributes,
        WORKFLOW_EXECUTION_CANCEL_REQUESTED, at);
}

/* ---- updates and queries ---- */

typedef Temporal__Api__Update__V1__Request upd_request;

static upd_request *request(whist *h, const char *id, const char *name, const char *input)
{
    upd_request *r = mem(h, sizeof(*r));
    Temporal__Api__Update__V1__Meta *m = mem(h, sizeof(*m));
    Temporal__Api__Update__V1__Input *in = mem(h, sizeof(*in));
    temporal__api__update__v1__request__init(r);
    temporal__api__update__v1__meta__init(m);
    temporal__api__update__v1__input__init(in);
    m->update_id = dup(h, id);
    m->identity = dup(h, "test");
    in->name = dup(h, name);
    in->args = json(h, input);
    r->meta = m;
    r->input = in;
    return r;
}

pb_message *wh_update_request(whist *h, const char *id, const char *name, const char *input)
{
    upd_request *r = request(h, id, name, input);
    size_t len = protobuf_c_message_get_packed_size(&r->base);
    uint8_t *buf = mem(h, len + 1);
    protobuf_c_message_pack(&r->base, buf);
    Google__Protobuf__Any *any = mem(h, sizeof(*any));
    google__protobuf__any__init(any);
    any->type_url = dup(h, "type.googleapis.com/temporal.api.update.v1.Request");
    any->value.data = buf;
    any->value.len = len;
    pb_message *m = mem(h, sizeof(*m));
    temporal__api__protocol__v1__message__init(m);
    char msg_id[300];
    snprintf(msg_id, sizeof(msg_id), "%s/request", id);
    m->id = dup(h, msg_id);
    m->protocol_instance_id = dup(h, id);
    m->sequencing_id_case = TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID;
    m->event_id = (int64_t)h->n - 1; /* the event before WorkflowTaskStarted, as the server */
    m->body = any;
    return m;
}

void wh_update_admitted(whist *h, const char *id, const char *name, const char *input)
{
    pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_UPDATE_ADMITTED));
    HA(WorkflowExecutionUpdateAdmitted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_update_admitted_event_attributes__init(at);
    at->request = request(h, id, name, input);
    SET(e, workflow_execution_update_admitted_event_attributes, WORKFLOW_EXECUTION_UPDATE_ADMITTED, at);
}

pb_query *wh_query(whist *h, const char *type, const char *input)
{
    pb_query *q = mem(h, sizeof(*q));
    temporal__api__query__v1__workflow_query__init(q);
    q->query_type = dup(h, type);
    q->query_args = json(h, input);
    return q;
}

const wf_output *wh_run_with(whist *h, const tw_registry *reg, const char *type,
                             const wf_input *more)
{
    arena_free(h->run);
    h->run = arena_new(64u << 20);
    assert_non_null(h->run);
    wf_input in = *more;
    in.workflow_type = type;
    in.workflow_id = "wf";
    in.run_id = "run";
    in.task_queue = "tq";
    in.events = h->ev;
    in.nevents = h->n;
    assert_int_equal(wf_run(reg, h->run, &in, &h->out), 0);
    ws_check(&h->shadow, reg, &in, &h->out);
    return &h->out;
}

/* The last run's message |id| unpacked as |desc| (its body), or NULL. */
static ProtobufCMessage *message_body(whist *h, const char *id, const ProtobufCMessageDescriptor *desc)
{
    for (size_t i = 0; i < h->out.nmessages; i++) {
        const pb_message *m = h->out.messages[i];
        if (strcmp(m->id, id) == 0)
            return protobuf_c_message_unpack(desc, arena_allocator(h->a), m->body->value.len,
                                             m->body->value.data);
    }
    return NULL;
}

static int64_t update_accepted(const whist *h, const char *update_id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->ev[i]->event_type == EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED) &&
            strcmp(h->ev[i]->workflow_execution_update_accepted_event_attributes->protocol_instance_id,
                   update_id) == 0)
            return h->ev[i]->event_id;
    fail_msg("no UpdateAccepted of \"%s\" in the history", update_id);
    return 0;
}

/* A ProtocolMessage command: the event its message leaves (the server: the acceptance as
 * UpdateAccepted, the response as UpdateCompleted). */
static void record_message(whist *h, const pb_command *c)
{
    const char *id = c->protocol_message_command_attributes->message_id;
    const char *slash = strrchr(id, '/');
    assert_non_null(slash);
    if (strcmp(slash, "/accept") == 0) {
        Temporal__Api__Update__V1__Acceptance *acc = (void *)message_body(
            h, id, &temporal__api__update__v1__acceptance__descriptor);
        if (!acc)
            fail_msg("no acceptance message %s for its command", id);
        pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED));
        HA(WorkflowExecutionUpdateAccepted) *at = mem(h, sizeof(*at));
        temporal__api__history__v1__workflow_execution_update_accepted_event_attributes__init(at);
        at->protocol_instance_id = arena_memdup(h->a, id, (size_t)(slash - id) + 1);
        at->protocol_instance_id[slash - id] = '\0';
        at->accepted_request_message_id = acc->accepted_request_message_id;
        at->accepted_request_sequencing_event_id = acc->accepted_request_sequencing_event_id;
        at->accepted_request = acc->accepted_request;
        SET(e, workflow_execution_update_accepted_event_attributes,
            WORKFLOW_EXECUTION_UPDATE_ACCEPTED, at);
    } else if (strcmp(slash, "/complete") == 0) {
        Temporal__Api__Update__V1__Response *r = (void *)message_body(
            h, id, &temporal__api__update__v1__response__descriptor);
        if (!r)
            fail_msg("no response message %s for its command", id);
        pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_UPDATE_COMPLETED));
        HA(WorkflowExecutionUpdateCompleted) *at = mem(h, sizeof(*at));
        temporal__api__history__v1__workflow_execution_update_completed_event_attributes__init(at);
        at->meta = r->meta;
        at->outcome = r->outcome;
        at->accepted_event_id = update_accepted(h, r->meta->update_id);
        SET(e, workflow_execution_update_completed_event_attributes,
            WORKFLOW_EXECUTION_UPDATE_COMPLETED, at);
    } else {
        fail_msg("ProtocolMessage command for message %s", id);
    }
}

static void describe_failure(char *out, size_t n, const pb_failure *f)
{
    snprintf(out, n, "%s", f && f->message ? f->message : "(no failure)");
}

static void describe_payloads(char *out, size_t n, const pb_payloads *p)
{
    if (!p || !p->n_payloads)
        snprintf(out, n, "(none)");
    else if (!p->payloads[0]->data.len)
        snprintf(out, n, "null");
    else
        snprintf(out, n, "%.*s", (int)p->payloads[0]->data.len, (const char *)p->payloads[0]->data.data);
}

const char *wh_messages(whist *h)
{
    static char buf[4096];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < h->out.nmessages && used < sizeof(buf); i++) {
        const pb_message *m = h->out.messages[i];
        char one[600] = "", what[512];
        const char *slash = strrchr(m->id, '/');
        if (slash && strcmp(slash, "/accept") == 0) {
            snprintf(one, sizeof(one), "accept %s", m->protocol_instance_id);
        } else if (slash && strcmp(slash, "/reject") == 0) {
            Temporal__Api__Update__V1__Rejection *r = (void *)message_body(
                h, m->id, &temporal__api__update__v1__rejection__descriptor);
            describe_failure(what, sizeof(what), r ? r->failure : NULL);
            snprintf(one, sizeof(one), "reject %s: %s", m->protocol_instance_id, what);
        } else if (slash && strcmp(slash, "/complete") == 0) {
            Temporal__Api__Update__V1__Response *r = (void *)message_body(
                h, m->id, &temporal__api__update__v1__response__descriptor);
            if (r && r->outcome && r->outcome->value_case == TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_FAILURE) {
                describe_failure(what, sizeof(what), r->outcome->failure);
                snprintf(one, sizeof(one), "fail %s: %s", m->protocol_instance_id, what);
            } else {
                describe_payloads(what, sizeof(what), r && r->outcome ? r->outcome->success : NULL);
                snprintf(one, sizeof(one), "complete %s: %s", m->protocol_instance_id, what);
            }
        } else {
            snprintf(one, sizeof(one), "message %s", m->id);
        }
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " | " : "", one);
    }
    return buf;
}

const char *wh_query_result(const whist *h, size_t i)
{
    static char buf[4096];
    if (h->out.task_failed) {
        snprintf(buf, sizeof(buf), "task failed: %s", h->out.message);
        return buf;
    }
    if (i >= h->out.nquery_results)
        return "(no answer)";
    const pb_query_result *r = h->out.query_results[i];
    if (r->result_type == TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED) {
        describe_payloads(buf, sizeof(buf), r->answer);
        return buf;
    }
    snprintf(buf, sizeof(buf), "failed: %s (%s)", r->error_message ? r->error_message : "",
             r->failure && r->failure->application_failure_info
                 ? r->failure->application_failure_info->type : "no type");
    return buf;
}

/* ---- child workflows ---- */

int64_t wh_child_initiated(const whist *h, const char *workflow_id)
{
    for (size_t i = h->n; i-- > 0;) {
        const pb_event *e = h->ev[i];
        if (e->event_type == EV(START_CHILD_WORKFLOW_EXECUTION_INITIATED) &&
            strcmp(e->start_child_workflow_execution_initiated_event_attributes->workflow_id,
                   workflow_id) == 0)
            return e->event_id;
    }
    fail_msg("no child \"%s\" in the history", workflow_id);
    return 0;
}

static pb_execution *child_execution(whist *h, const char *workflow_id, const char *run_id)
{
    pb_execution *x = mem(h, sizeof(*x));
    temporal__api__common__v1__workflow_execution__init(x);
    x->workflow_id = dup(h, workflow_id);
    x->run_id = dup(h, run_id);
    return x;
}

static Temporal__Api__Common__V1__WorkflowType *child_type(whist *h, const char *workflow_id)
{
    const pb_event *e = h->ev[wh_child_initiated(h, workflow_id) - 1];
    return e->start_child_workflow_execution_initiated_event_attributes->workflow_type;
}

/* The run id the child's ChildWorkflowExecutionStarted named, or "". */
static const char *child_run(const whist *h, int64_t initiated)
{
    for (size_t i = 0; i < h->n; i++) {
        const pb_event *e = h->ev[i];
        if (e->event_type == EV(CHILD_WORKFLOW_EXECUTION_STARTED) &&
            e->child_workflow_execution_started_event_attributes->initiated_event_id == initiated)
            return e->child_workflow_execution_started_event_attributes->workflow_execution->run_id;
    }
    return "";
}

static int64_t child_started_id(const whist *h, int64_t initiated)
{
    for (size_t i = 0; i < h->n; i++) {
        const pb_event *e = h->ev[i];
        if (e->event_type == EV(CHILD_WORKFLOW_EXECUTION_STARTED) &&
            e->child_workflow_execution_started_event_attributes->initiated_event_id == initiated)
            return e->event_id;
    }
    return 0;
}

void wh_child_started(whist *h, const char *workflow_id, const char *run_id)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_STARTED));
    HA(ChildWorkflowExecutionStarted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_started_event_attributes__init(at);
    at->initiated_event_id = initiated;
    at->workflow_execution = child_execution(h, workflow_id, run_id);
    at->workflow_type = child_type(h, workflow_id);
    SET(e, child_workflow_execution_started_event_attributes, CHILD_WORKFLOW_EXECUTION_STARTED, at);
}

void wh_child_start_failed(whist *h, const char *workflow_id, int cause)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(START_CHILD_WORKFLOW_EXECUTION_FAILED));
    HA(StartChildWorkflowExecutionFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__start_child_workflow_execution_failed_event_attributes__init(at);
    at->initiated_event_id = initiated;
    at->workflow_id = dup(h, workflow_id);
    at->workflow_type = child_type(h, workflow_id);
    at->cause = cause;
    SET(e, start_child_workflow_execution_failed_event_attributes,
        START_CHILD_WORKFLOW_EXECUTION_FAILED, at);
}

/* The attributes every end of a child shares, set by |what|'s macro below. */
#define CHILD_END(at, initiated, workflow_id)                                          \
    do {                                                                               \
        (at)->initiated_event_id = (initiated);                                        \
        (at)->started_event_id = child_started_id(h, (initiated));                     \
        (at)->workflow_execution =                                                     \
            child_execution(h, (workflow_id), child_run(h, (initiated)));              \
        (at)->workflow_type = child_type(h, (workflow_id));                            \
    } while (0)

void wh_child_completed(whist *h, const char *workflow_id, const char *result)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_COMPLETED));
    HA(ChildWorkflowExecutionCompleted) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_completed_event_attributes__init(at);
    CHILD_END(at, initiated, workflow_id);
    at->result = json(h, result);
    SET(e, child_workflow_execution_completed_event_attributes,
        CHILD_WORKFLOW_EXECUTION_COMPLETED, at);
}

void wh_child_failed(whist *h, const char *workflow_id, const tw_failure *f, int retry_state)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_FAILED));
    HA(ChildWorkflowExecutionFailed) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_failed_event_attributes__init(at);
    CHILD_END(at, initiated, workflow_id);
    at->failure = failure_to_pb(h->a, f);
    assert_non_null(at->failure);
    at->retry_state = retry_state;
    SET(e, child_workflow_execution_failed_event_attributes, CHILD_WORKFLOW_EXECUTION_FAILED, at);
}

void wh_child_canceled(whist *h, const char *workflow_id, const char *details)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_CANCELED));
    HA(ChildWorkflowExecutionCanceled) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_canceled_event_attributes__init(at);
    CHILD_END(at, initiated, workflow_id);
    at->details = json(h, details);
    SET(e, child_workflow_execution_canceled_event_attributes,
        CHILD_WORKFLOW_EXECUTION_CANCELED, at);
}

void wh_child_timed_out(whist *h, const char *workflow_id, int retry_state)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_TIMED_OUT));
    HA(ChildWorkflowExecutionTimedOut) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_timed_out_event_attributes__init(at);
    CHILD_END(at, initiated, workflow_id);
    at->retry_state = retry_state;
    SET(e, child_workflow_execution_timed_out_event_attributes,
        CHILD_WORKFLOW_EXECUTION_TIMED_OUT, at);
}

void wh_child_terminated(whist *h, const char *workflow_id)
{
    int64_t initiated = wh_child_initiated(h, workflow_id);
    pb_event *e = wh_add(h, EV(CHILD_WORKFLOW_EXECUTION_TERMINATED));
    HA(ChildWorkflowExecutionTerminated) *at = mem(h, sizeof(*at));
    temporal__api__history__v1__child_workflow_execution_terminated_event_attributes__init(at);
    CHILD_END(at, initiated, workflow_id);
    SET(e, child_workflow_execution_terminated_event_attributes,
        CHILD_WORKFLOW_EXECUTION_TERMINATED, at);
}
