/*
 * cmd: the command and event tables. See cmd.h.
 *
 * The attribute getters below run only on events whose attributes ev_problem() checked (the
 * history iterator refuses the others), so each reads its own oneof member, never another's.
 */
#include "temporal/engine/cmd.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES
#define CCASE(name) TEMPORAL__API__COMMAND__V1__COMMAND__ATTRIBUTES_##name##_COMMAND_ATTRIBUTES
#define HA(name) const Temporal__Api__History__V1__##name##EventAttributes
#define STR(s) ((s) ? (s) : "?")

/* ---- ScheduleActivityTask ---- */

static int activity_same(const pb_command *c, const pb_event *ev)
{
    const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *ca =
        c->schedule_activity_task_command_attributes;
    HA(ActivityTaskScheduled) *at = ev->activity_task_scheduled_event_attributes;
    return strcmp(ca->activity_id, STR(at->activity_id)) == 0 &&
           strcmp(ca->activity_type->name, STR(at->activity_type->name)) == 0;
}

static void activity_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "ScheduleActivityTask(type %s, id %s)",
             c->schedule_activity_task_command_attributes->activity_type->name,
             c->schedule_activity_task_command_attributes->activity_id);
}

static void activity_describe_event(const pb_event *ev, char *out, size_t n)
{
    HA(ActivityTaskScheduled) *at = ev->activity_task_scheduled_event_attributes;
    snprintf(out, n, "ScheduleActivityTask(type %s, id %s)", STR(at->activity_type->name),
             STR(at->activity_id));
}

static const char *activity_scheduled_check(const pb_event *ev)
{
    return ev->activity_task_scheduled_event_attributes->activity_type ? NULL
                                                                        : "names no activity type";
}

static int64_t completed_scheduled(const pb_event *ev)
{
    return ev->activity_task_completed_event_attributes->scheduled_event_id;
}
static const pb_payloads *completed_result(const pb_event *ev)
{
    return ev->activity_task_completed_event_attributes->result;
}
static int64_t failed_scheduled(const pb_event *ev)
{
    return ev->activity_task_failed_event_attributes->scheduled_event_id;
}
static const pb_failure *failed_failure(const pb_event *ev)
{
    return ev->activity_task_failed_event_attributes->failure;
}
static int64_t timed_out_scheduled(const pb_event *ev)
{
    return ev->activity_task_timed_out_event_attributes->scheduled_event_id;
}
static const pb_failure *timed_out_failure(const pb_event *ev)
{
    return ev->activity_task_timed_out_event_attributes->failure;
}
static int64_t canceled_scheduled(const pb_event *ev)
{
    return ev->activity_task_canceled_event_attributes->scheduled_event_id;
}
static const pb_payloads *canceled_details(const pb_event *ev)
{
    return ev->activity_task_canceled_event_attributes->details;
}
static int failed_retry_state(const pb_event *ev)
{
    return (int)ev->activity_task_failed_event_attributes->retry_state;
}
static int timed_out_retry_state(const pb_event *ev)
{
    return (int)ev->activity_task_timed_out_event_attributes->retry_state;
}

/* ---- StartTimer ---- */

static int timer_same(const pb_command *c, const pb_event *ev)
{
    return strcmp(c->start_timer_command_attributes->timer_id,
                  STR(ev->timer_started_event_attributes->timer_id)) == 0;
}

static void timer_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "StartTimer(id %s)", c->start_timer_command_attributes->timer_id);
}

static void timer_describe_event(const pb_event *ev, char *out, size_t n)
{
    snprintf(out, n, "StartTimer(id %s)", STR(ev->timer_started_event_attributes->timer_id));
}

static const char *fired_timer(const pb_event *ev)
{
    return ev->timer_fired_event_attributes->timer_id;
}

/* ---- CancelTimer ---- */

static int cancel_timer_same(const pb_command *c, const pb_event *ev)
{
    return strcmp(c->cancel_timer_command_attributes->timer_id,
                  STR(ev->timer_canceled_event_attributes->timer_id)) == 0;
}

static void cancel_timer_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "CancelTimer(id %s)", c->cancel_timer_command_attributes->timer_id);
}

static void cancel_timer_describe_event(const pb_event *ev, char *out, size_t n)
{
    snprintf(out, n, "CancelTimer(id %s)", STR(ev->timer_canceled_event_attributes->timer_id));
}

/* ---- RequestCancelActivityTask ---- */

static int cancel_activity_same(const pb_command *c, const pb_event *ev)
{
    return c->request_cancel_activity_task_command_attributes->scheduled_event_id ==
           ev->activity_task_cancel_requested_event_attributes->scheduled_event_id;
}

static void cancel_activity_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "RequestCancelActivityTask(scheduled event %lld)",
             (long long)c->request_cancel_activity_task_command_attributes->scheduled_event_id);
}

static void cancel_activity_describe_event(const pb_event *ev, char *out, size_t n)
{
    snprintf(out, n, "RequestCancelActivityTask(scheduled event %lld)",
             (long long)ev->activity_task_cancel_requested_event_attributes->scheduled_event_id);
}

/* ---- RequestCancelExternalWorkflowExecution ---- */

static int cancel_external_same(const pb_command *c, const pb_event *ev)
{
    const Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes *ca =
        c->request_cancel_external_workflow_execution_command_attributes;
    HA(RequestCancelExternalWorkflowExecutionInitiated) *at =
        ev->request_cancel_external_workflow_execution_initiated_event_attributes;
    return at->workflow_execution &&
           strcmp(ca->workflow_id, STR(at->workflow_execution->workflow_id)) == 0;
}

static void cancel_external_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "RequestCancelExternalWorkflowExecution(workflow %s)",
             c->request_cancel_external_workflow_execution_command_attributes->workflow_id);
}

static void cancel_external_describe_event(const pb_event *ev, char *out, size_t n)
{
    HA(RequestCancelExternalWorkflowExecutionInitiated) *at =
        ev->request_cancel_external_workflow_execution_initiated_event_attributes;
    snprintf(out, n, "RequestCancelExternalWorkflowExecution(workflow %s)",
             at->workflow_execution ? STR(at->workflow_execution->workflow_id) : "?");
}

static int64_t external_cancel_requested_initiated(const pb_event *ev)
{
    return ev->external_workflow_execution_cancel_requested_event_attributes->initiated_event_id;
}

static int64_t cancel_external_failed_initiated(const pb_event *ev)
{
    return ev->request_cancel_external_workflow_execution_failed_event_attributes
        ->initiated_event_id;
}

/* The names the Temporal API gives the causes, as failure types. */
static const char *external_cause(int cause)
{
    switch (cause) {
    case 1: return "ExternalWorkflowExecutionNotFound";
    case 2: return "NamespaceNotFound";
    case 3: return "SignalCountLimitExceeded";
    }
    return "ExternalWorkflowExecutionFailed";
}

static const char *cancel_external_failed_cause(const pb_event *ev)
{
    return external_cause(
        (int)ev->request_cancel_external_workflow_execution_failed_event_attributes->cause);
}

/* ---- SignalExternalWorkflowExecution ---- */

static int signal_external_same(const pb_command *c, const pb_event *ev)
{
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *ca =
        c->signal_external_workflow_execution_command_attributes;
    HA(SignalExternalWorkflowExecutionInitiated) *at =
        ev->signal_external_workflow_execution_initiated_event_attributes;
    return at->workflow_execution &&
           strcmp(ca->execution->workflow_id, STR(at->workflow_execution->workflow_id)) == 0 &&
           strcmp(ca->signal_name, STR(at->signal_name)) == 0;
}

static void signal_external_describe(const pb_command *c, char *out, size_t n)
{
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *ca =
        c->signal_external_workflow_execution_command_attributes;
    snprintf(out, n, "SignalExternalWorkflowExecution(workflow %s, signal %s)",
             ca->execution->workflow_id, ca->signal_name);
}

static void signal_external_describe_event(const pb_event *ev, char *out, size_t n)
{
    HA(SignalExternalWorkflowExecutionInitiated) *at =
        ev->signal_external_workflow_execution_initiated_event_attributes;
    snprintf(out, n, "SignalExternalWorkflowExecution(workflow %s, signal %s)",
             at->workflow_execution ? STR(at->workflow_execution->workflow_id) : "?",
             STR(at->signal_name));
}

static int64_t external_signaled_initiated(const pb_event *ev)
{
    return ev->external_workflow_execution_signaled_event_attributes->initiated_event_id;
}

static int64_t signal_external_failed_initiated(const pb_event *ev)
{
    return ev->signal_external_workflow_execution_failed_event_attributes->initiated_event_id;
}

static const char *signal_external_failed_cause(const pb_event *ev)
{
    return external_cause(
        (int)ev->signal_external_workflow_execution_failed_event_attributes->cause);
}

/* ---- StartChildWorkflowExecution (child.c) ---- */

static int child_same(const pb_command *c, const pb_event *ev)
{
    const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *ca =
        c->start_child_workflow_execution_command_attributes;
    HA(StartChildWorkflowExecutionInitiated) *at =
        ev->start_child_workflow_execution_initiated_event_attributes;
    return strcmp(ca->workflow_id, STR(at->workflow_id)) == 0 &&
           strcmp(ca->workflow_type->name, STR(at->workflow_type->name)) == 0;
}

static void child_describe(const pb_command *c, char *out, size_t n)
{
    const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *ca =
        c->start_child_workflow_execution_command_attributes;
    snprintf(out, n, "StartChildWorkflowExecution(type %s, id %s)", ca->workflow_type->name,
             ca->workflow_id);
}

static void child_describe_event(const pb_event *ev, char *out, size_t n)
{
    HA(StartChildWorkflowExecutionInitiated) *at =
        ev->start_child_workflow_execution_initiated_event_attributes;
    snprintf(out, n, "StartChildWorkflowExecution(type %s, id %s)", STR(at->workflow_type->name),
             STR(at->workflow_id));
}

static const char *child_initiated_check(const pb_event *ev)
{
    return ev->start_child_workflow_execution_initiated_event_attributes->workflow_type
               ? NULL
               : "names no workflow type";
}

static int64_t child_start_failed_initiated(const pb_event *ev)
{
    return ev->start_child_workflow_execution_failed_event_attributes->initiated_event_id;
}
static int64_t child_started_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_started_event_attributes->initiated_event_id;
}
static int64_t child_completed_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_completed_event_attributes->initiated_event_id;
}
static const pb_payloads *child_completed_result(const pb_event *ev)
{
    return ev->child_workflow_execution_completed_event_attributes->result;
}
static int64_t child_failed_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_failed_event_attributes->initiated_event_id;
}
static const pb_failure *child_failed_failure(const pb_event *ev)
{
    return ev->child_workflow_execution_failed_event_attributes->failure;
}
static int child_failed_retry_state(const pb_event *ev)
{
    return (int)ev->child_workflow_execution_failed_event_attributes->retry_state;
}
static int64_t child_canceled_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_canceled_event_attributes->initiated_event_id;
}
static const pb_payloads *child_canceled_details(const pb_event *ev)
{
    return ev->child_workflow_execution_canceled_event_attributes->details;
}
static int64_t child_timed_out_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_timed_out_event_attributes->initiated_event_id;
}
static int child_timed_out_retry_state(const pb_event *ev)
{
    return (int)ev->child_workflow_execution_timed_out_event_attributes->retry_state;
}
static int64_t child_terminated_initiated(const pb_event *ev)
{
    return ev->child_workflow_execution_terminated_event_attributes->initiated_event_id;
}

/* ---- ProtocolMessage (updates: update.c) ----
 * One command type, two rows: the message "<update id>/accept" is recorded as
 * WorkflowExecutionUpdateAccepted, "<update id>/complete" as WorkflowExecutionUpdateCompleted
 * (a rejection has no command and leaves no event). */

static const char *message_id(const pb_command *c)
{
    return STR(c->protocol_message_command_attributes->message_id);
}

/* Is |c|'s message "<|update|>/<|suffix|>"? */
static int message_is(const pb_command *c, const char *update, const char *suffix)
{
    const char *id = message_id(c);
    size_t n = strlen(update);
    return strncmp(id, update, n) == 0 && id[n] == '/' && strcmp(id + n + 1, suffix) == 0;
}

static const char *accepted_update(const pb_event *ev)
{
    return STR(ev->workflow_execution_update_accepted_event_attributes->protocol_instance_id);
}

static const char *completed_update(const pb_event *ev)
{
    const Temporal__Api__Update__V1__Meta *m =
        ev->workflow_execution_update_completed_event_attributes->meta;
    return m ? STR(m->update_id) : "?";
}

static int accepted_same(const pb_command *c, const pb_event *ev)
{
    return message_is(c, accepted_update(ev), "accept");
}

static int completed_same(const pb_command *c, const pb_event *ev)
{
    return message_is(c, completed_update(ev), "complete");
}

static void message_describe(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "ProtocolMessage(%s)", message_id(c));
}

static void accepted_describe_event(const pb_event *ev, char *out, size_t n)
{
    snprintf(out, n, "ProtocolMessage(%s/accept)", accepted_update(ev));
}

static void completed_describe_event(const pb_event *ev, char *out, size_t n)
{
    snprintf(out, n, "ProtocolMessage(%s/complete)", completed_update(ev));
}

static const char *accepted_check(const pb_event *ev)
{
    const char *id = ev->workflow_execution_update_accepted_event_attributes->protocol_instance_id;
    return id && *id ? NULL : "names no update";
}

static const char *completed_check(const pb_event *ev)
{
    const Temporal__Api__Update__V1__Meta *m =
        ev->workflow_execution_update_completed_event_attributes->meta;
    return m && m->update_id && *m->update_id ? NULL : "names no update";
}

/* ---- RecordMarker (marker.c, local.c) ---- */

typedef Temporal__Api__Command__V1__RecordMarkerCommandAttributes marker_attrs;

/* The kinds of marker and what identifies one (cmd.h): sdk-go's names for side effects, the
 * core SDK's (TypeScript, Python, .NET) for patches. */
static const marker_kind MARKER_KINDS[] = {
    {.name = "SideEffect", .id_key = "side-effect-id"},
    {.name = "MutableSideEffect", .id_key = "side-effect-id"},
    {.name = "core_patch", .id_key = "patch_id"},
    {.name = "LocalActivity", .same = local_marker_same}, /* sdk-go's; local.c */
};

const marker_kind *marker_kind_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof(MARKER_KINDS) / sizeof(MARKER_KINDS[0]); i++)
        if (strcmp(MARKER_KINDS[i].name, name) == 0)
            return &MARKER_KINDS[i];
    return NULL;
}

const pb_payloads *cmd_marker_detail(const pb_command *c, const char *key)
{
    if (c->command_type != CMD(RECORD_MARKER) ||
        c->attributes_case != CCASE(RECORD_MARKER))
        return NULL;
    const marker_attrs *ca = c->record_marker_command_attributes;
    for (size_t i = 0; i < ca->n_details; i++)
        if (ca->details[i]->key && strcmp(ca->details[i]->key, key) == 0)
            return ca->details[i]->value;
    return NULL;
}

const pb_payloads *ev_marker_detail(const pb_event *ev, const char *key)
{
    if (ev->event_type != EV(MARKER_RECORDED) || ev->attributes_case != HCASE(MARKER_RECORDED))
        return NULL;
    HA(MarkerRecorded) *at = ev->marker_recorded_event_attributes;
    for (size_t i = 0; i < at->n_details; i++)
        if (at->details[i]->key && strcmp(at->details[i]->key, key) == 0)
            return at->details[i]->value;
    return NULL;
}

/* Both absent, or the same number of payloads with the same bytes. */
static int same_payloads(const pb_payloads *a, const pb_payloads *b)
{
    if (!a || !b)
        return a == b;
    if (a->n_payloads != b->n_payloads)
        return 0;
    for (size_t i = 0; i < a->n_payloads; i++) {
        const ProtobufCBinaryData *x = &a->payloads[i]->data, *y = &b->payloads[i]->data;
        if (x->len != y->len || (x->len && memcmp(x->data, y->data, x->len) != 0))
            return 0;
    }
    return 1;
}

static int marker_same(const pb_command *c, const pb_event *ev)
{
    const char *name = c->record_marker_command_attributes->marker_name;
    if (strcmp(STR(name), STR(ev->marker_recorded_event_attributes->marker_name)) != 0)
        return 0;
    const marker_kind *k = marker_kind_of(name);
    if (!k)
        return 1;
    if (k->id_key &&
        !same_payloads(cmd_marker_detail(c, k->id_key), ev_marker_detail(ev, k->id_key)))
        return 0;
    return k->same ? k->same(c, ev) : 1;
}

/* "RecordMarker(SideEffect, side-effect-id 3)": the name and, when its kind has one, the
 * identifying detail's first payload (at most 60 bytes, unprintable ones as '?'). */
static void marker_describe_as(const char *name, const pb_payloads *id, const char *key,
                               char *out, size_t n)
{
    char v[64] = "";
    if (id && id->n_payloads && id->payloads[0]) {
        const ProtobufCBinaryData *d = &id->payloads[0]->data;
        size_t len = d->len < 60 ? d->len : 60;
        for (size_t i = 0; i < len; i++)
            v[i] = d->data[i] >= 0x20 && d->data[i] < 0x7f ? (char)d->data[i] : '?';
        v[len] = '\0';
    }
    if (key && id)
        snprintf(out, n, "RecordMarker(%s, %s %s)", STR(name), key, v);
    else
        snprintf(out, n, "RecordMarker(%s)", STR(name));
}

static void marker_describe(const pb_command *c, char *out, size_t n)
{
    const char *name = c->record_marker_command_attributes->marker_name;
    const marker_kind *k = marker_kind_of(name);
    const char *key = k ? k->id_key : NULL;
    marker_describe_as(name, key ? cmd_marker_detail(c, key) : NULL, key, out, n);
}

static void marker_describe_event(const pb_event *ev, char *out, size_t n)
{
    const char *name = ev->marker_recorded_event_attributes->marker_name;
    const marker_kind *k = marker_kind_of(name);
    const char *key = k ? k->id_key : NULL;
    marker_describe_as(name, key ? ev_marker_detail(ev, key) : NULL, key, out, n);
}

static const char *marker_check(const pb_event *ev)
{
    const char *name = ev->marker_recorded_event_attributes->marker_name;
    return name && *name ? NULL : "names no marker";
}

/* ---- UpsertWorkflowSearchAttributes, ModifyWorkflowProperties (props.c) ----
 * Nothing identifies them but their type (as the official SDKs: the values may differ). */

static void describe_upsert(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "UpsertWorkflowSearchAttributes");
}
static void describe_upsert_event(const pb_event *ev, char *out, size_t n)
{
    describe_upsert(NULL, out, n);
}
static void describe_modify(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "ModifyWorkflowProperties");
}
static void describe_modify_event(const pb_event *ev, char *out, size_t n)
{
    describe_modify(NULL, out, n);
}

/* ---- commands that close the workflow: nothing identifies them but their type ---- */

static int same_type(const pb_command *c, const pb_event *ev) { return 1; }

static void describe_complete(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "CompleteWorkflowExecution");
}
static void describe_complete_event(const pb_event *ev, char *out, size_t n)
{
    describe_complete(NULL, out, n);
}
static void describe_fail(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "FailWorkflowExecution");
}
static void describe_fail_event(const pb_event *ev, char *out, size_t n)
{
    describe_fail(NULL, out, n);
}
static void describe_cancel(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "CancelWorkflowExecution");
}
static void describe_cancel_event(const pb_event *ev, char *out, size_t n)
{
    describe_cancel(NULL, out, n);
}
static void describe_can(const pb_command *c, char *out, size_t n)
{
    snprintf(out, n, "ContinueAsNewWorkflowExecution");
}
static void describe_can_event(const pb_event *ev, char *out, size_t n)
{
    describe_can(NULL, out, n);
}

/* ---- the tables ---- */

#define COMMAND(T, N, E) .type = CMD(T), .name = N, .initiated = EV(E)
static const cmd_kind CMD_KINDS[] = {
    {COMMAND(SCHEDULE_ACTIVITY_TASK, "ScheduleActivityTask", ACTIVITY_TASK_SCHEDULED),
     .resolved_by = {EV(ACTIVITY_TASK_COMPLETED), EV(ACTIVITY_TASK_FAILED),
                     EV(ACTIVITY_TASK_TIMED_OUT), EV(ACTIVITY_TASK_CANCELED)},
     .canceled_by = CMD(REQUEST_CANCEL_ACTIVITY_TASK), .same = activity_same,
     .describe = activity_describe, .describe_event = activity_describe_event},
    {COMMAND(REQUEST_CANCEL_ACTIVITY_TASK, "RequestCancelActivityTask",
             ACTIVITY_TASK_CANCEL_REQUESTED),
     .same = cancel_activity_same, .describe = cancel_activity_describe,
     .describe_event = cancel_activity_describe_event},
    {COMMAND(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, "RequestCancelExternalWorkflowExecution",
             REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
     .resolved_by = {EV(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED),
                     EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)},
     .same = cancel_external_same, .describe = cancel_external_describe,
     .describe_event = cancel_external_describe_event},
    {COMMAND(START_TIMER, "StartTimer", TIMER_STARTED), .resolved_by = {EV(TIMER_FIRED)},
     .canceled_by = CMD(CANCEL_TIMER), .same = timer_same, .describe = timer_describe,
     .describe_event = timer_describe_event},
    {COMMAND(CANCEL_TIMER, "CancelTimer", TIMER_CANCELED), .same = cancel_timer_same,
     .describe = cancel_timer_describe, .describe_event = cancel_timer_describe_event},
    {COMMAND(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, "SignalExternalWorkflowExecution",
             SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
     .resolved_by = {EV(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
                     EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)},
     .same = signal_external_same, .describe = signal_external_describe,
     .describe_event = signal_external_describe_event},
    {COMMAND(START_CHILD_WORKFLOW_EXECUTION, "StartChildWorkflowExecution",
             START_CHILD_WORKFLOW_EXECUTION_INITIATED),
     .resolved_by = {EV(START_CHILD_WORKFLOW_EXECUTION_FAILED),
                     EV(CHILD_WORKFLOW_EXECUTION_STARTED), EV(CHILD_WORKFLOW_EXECUTION_COMPLETED),
                     EV(CHILD_WORKFLOW_EXECUTION_FAILED), EV(CHILD_WORKFLOW_EXECUTION_CANCELED),
                     EV(CHILD_WORKFLOW_EXECUTION_TIMED_OUT),
                     EV(CHILD_WORKFLOW_EXECUTION_TERMINATED)},
     .same = child_same, .describe = child_describe, .describe_event = child_describe_event},
    {COMMAND(COMPLETE_WORKFLOW_EXECUTION, "CompleteWorkflowExecution",
             WORKFLOW_EXECUTION_COMPLETED),
     .same = same_type, .describe = describe_complete, .describe_event = describe_complete_event},
    {COMMAND(FAIL_WORKFLOW_EXECUTION, "FailWorkflowExecution", WORKFLOW_EXECUTION_FAILED),
     .same = same_type, .describe = describe_fail, .describe_event = describe_fail_event},
    {COMMAND(CANCEL_WORKFLOW_EXECUTION, "CancelWorkflowExecution", WORKFLOW_EXECUTION_CANCELED),
     .same = same_type, .describe = describe_cancel, .describe_event = describe_cancel_event},
    {COMMAND(CONTINUE_AS_NEW_WORKFLOW_EXECUTION, "ContinueAsNewWorkflowExecution",
             WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
     .same = same_type, .describe = describe_can, .describe_event = describe_can_event},
    {COMMAND(RECORD_MARKER, "RecordMarker", MARKER_RECORDED), .same = marker_same,
     .describe = marker_describe, .describe_event = marker_describe_event},
    {COMMAND(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, "UpsertWorkflowSearchAttributes",
             UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
     .same = same_type, .describe = describe_upsert, .describe_event = describe_upsert_event},
    {COMMAND(MODIFY_WORKFLOW_PROPERTIES, "ModifyWorkflowProperties",
             WORKFLOW_PROPERTIES_MODIFIED),
     .same = same_type, .describe = describe_modify, .describe_event = describe_modify_event},
    {COMMAND(PROTOCOL_MESSAGE, "ProtocolMessage", WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
     .same = accepted_same, .describe = message_describe,
     .describe_event = accepted_describe_event},
    {COMMAND(PROTOCOL_MESSAGE, "ProtocolMessage", WORKFLOW_EXECUTION_UPDATE_COMPLETED),
     .same = completed_same, .describe = message_describe,
     .describe_event = completed_describe_event},
};

/* Events whose attributes the engine never reads have 0 for them (no check). */
#define EVENT(T, N, ATTRS) .type = EV(T), .name = N, .attributes = ATTRS
#define RESOLVES(C, O) .resolves = CMD(C), .outcome = O
static const ev_kind EV_KINDS[] = {
    {EVENT(WORKFLOW_EXECUTION_STARTED, "WorkflowExecutionStarted",
           HCASE(WORKFLOW_EXECUTION_STARTED))},
    {EVENT(WORKFLOW_TASK_FAILED, "WorkflowTaskFailed", HCASE(WORKFLOW_TASK_FAILED))},
    {EVENT(WORKFLOW_EXECUTION_COMPLETED, "WorkflowExecutionCompleted", 0)},
    {EVENT(WORKFLOW_EXECUTION_FAILED, "WorkflowExecutionFailed", 0)},
    {EVENT(WORKFLOW_EXECUTION_CANCELED, "WorkflowExecutionCanceled", 0)},
    {EVENT(WORKFLOW_EXECUTION_CONTINUED_AS_NEW, "WorkflowExecutionContinuedAsNew", 0)},
    {EVENT(WORKFLOW_EXECUTION_CANCEL_REQUESTED, "WorkflowExecutionCancelRequested",
           HCASE(WORKFLOW_EXECUTION_CANCEL_REQUESTED))},
    {EVENT(ACTIVITY_TASK_SCHEDULED, "ActivityTaskScheduled", HCASE(ACTIVITY_TASK_SCHEDULED)),
     .check = activity_scheduled_check},
    {EVENT(ACTIVITY_TASK_COMPLETED, "ActivityTaskCompleted", HCASE(ACTIVITY_TASK_COMPLETED)),
     RESOLVES(SCHEDULE_ACTIVITY_TASK, RES_COMPLETED), .initiated_id = completed_scheduled,
     .result = completed_result},
    {EVENT(ACTIVITY_TASK_FAILED, "ActivityTaskFailed", HCASE(ACTIVITY_TASK_FAILED)),
     RESOLVES(SCHEDULE_ACTIVITY_TASK, RES_FAILED), .initiated_id = failed_scheduled,
     .failure = failed_failure, .retry_state = failed_retry_state},
    {EVENT(ACTIVITY_TASK_TIMED_OUT, "ActivityTaskTimedOut", HCASE(ACTIVITY_TASK_TIMED_OUT)),
     RESOLVES(SCHEDULE_ACTIVITY_TASK, RES_FAILED), .initiated_id = timed_out_scheduled,
     .failure = timed_out_failure, .retry_state = timed_out_retry_state},
    {EVENT(ACTIVITY_TASK_CANCELED, "ActivityTaskCanceled", HCASE(ACTIVITY_TASK_CANCELED)),
     RESOLVES(SCHEDULE_ACTIVITY_TASK, RES_CANCELED), .initiated_id = canceled_scheduled,
     .details = canceled_details},
    {EVENT(ACTIVITY_TASK_CANCEL_REQUESTED, "ActivityTaskCancelRequested",
           HCASE(ACTIVITY_TASK_CANCEL_REQUESTED))},
    {EVENT(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
           "RequestCancelExternalWorkflowExecutionInitiated",
           HCASE(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))},
    {EVENT(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, "ExternalWorkflowExecutionCancelRequested",
           HCASE(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)),
     RESOLVES(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, RES_COMPLETED),
     .initiated_id = external_cancel_requested_initiated},
    {EVENT(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
           "RequestCancelExternalWorkflowExecutionFailed",
           HCASE(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)),
     RESOLVES(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION, RES_FAILED),
     .initiated_id = cancel_external_failed_initiated,
     .failed_cause = cancel_external_failed_cause},
    {EVENT(WORKFLOW_EXECUTION_SIGNALED, "WorkflowExecutionSignaled",
           HCASE(WORKFLOW_EXECUTION_SIGNALED))},
    {EVENT(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
           "SignalExternalWorkflowExecutionInitiated",
           HCASE(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))},
    {EVENT(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, "ExternalWorkflowExecutionSignaled",
           HCASE(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)),
     RESOLVES(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, RES_COMPLETED),
     .initiated_id = external_signaled_initiated},
    {EVENT(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, "SignalExternalWorkflowExecutionFailed",
           HCASE(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)),
     RESOLVES(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION, RES_FAILED),
     .initiated_id = signal_external_failed_initiated,
     .failed_cause = signal_external_failed_cause},
    /* A child's events all go to child.c (the future's |child|): ChildWorkflowExecutionStarted
     * (outcome 0) does not end the operation, it resolves the child's other future. */
    {EVENT(START_CHILD_WORKFLOW_EXECUTION_INITIATED, "StartChildWorkflowExecutionInitiated",
           HCASE(START_CHILD_WORKFLOW_EXECUTION_INITIATED)), .check = child_initiated_check},
    {EVENT(START_CHILD_WORKFLOW_EXECUTION_FAILED, "StartChildWorkflowExecutionFailed",
           HCASE(START_CHILD_WORKFLOW_EXECUTION_FAILED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_FAILED),
     .initiated_id = child_start_failed_initiated},
    {EVENT(CHILD_WORKFLOW_EXECUTION_STARTED, "ChildWorkflowExecutionStarted",
           HCASE(CHILD_WORKFLOW_EXECUTION_STARTED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, 0), .initiated_id = child_started_initiated},
    {EVENT(CHILD_WORKFLOW_EXECUTION_COMPLETED, "ChildWorkflowExecutionCompleted",
           HCASE(CHILD_WORKFLOW_EXECUTION_COMPLETED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_COMPLETED),
     .initiated_id = child_completed_initiated, .result = child_completed_result},
    {EVENT(CHILD_WORKFLOW_EXECUTION_FAILED, "ChildWorkflowExecutionFailed",
           HCASE(CHILD_WORKFLOW_EXECUTION_FAILED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_FAILED), .initiated_id = child_failed_initiated,
     .failure = child_failed_failure, .retry_state = child_failed_retry_state},
    {EVENT(CHILD_WORKFLOW_EXECUTION_CANCELED, "ChildWorkflowExecutionCanceled",
           HCASE(CHILD_WORKFLOW_EXECUTION_CANCELED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_CANCELED),
     .initiated_id = child_canceled_initiated, .details = child_canceled_details},
    {EVENT(CHILD_WORKFLOW_EXECUTION_TIMED_OUT, "ChildWorkflowExecutionTimedOut",
           HCASE(CHILD_WORKFLOW_EXECUTION_TIMED_OUT)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_FAILED),
     .initiated_id = child_timed_out_initiated, .retry_state = child_timed_out_retry_state},
    {EVENT(CHILD_WORKFLOW_EXECUTION_TERMINATED, "ChildWorkflowExecutionTerminated",
           HCASE(CHILD_WORKFLOW_EXECUTION_TERMINATED)),
     RESOLVES(START_CHILD_WORKFLOW_EXECUTION, RES_FAILED),
     .initiated_id = child_terminated_initiated},
    {EVENT(TIMER_STARTED, "TimerStarted", HCASE(TIMER_STARTED))},
    {EVENT(TIMER_FIRED, "TimerFired", HCASE(TIMER_FIRED)), RESOLVES(START_TIMER, RES_COMPLETED),
     .op_id = fired_timer},
    {EVENT(TIMER_CANCELED, "TimerCanceled", HCASE(TIMER_CANCELED))},
    {EVENT(MARKER_RECORDED, "MarkerRecorded", HCASE(MARKER_RECORDED)), .check = marker_check},
    {EVENT(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, "UpsertWorkflowSearchAttributes",
           HCASE(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES))},
    {EVENT(WORKFLOW_PROPERTIES_MODIFIED, "WorkflowPropertiesModified",
           HCASE(WORKFLOW_PROPERTIES_MODIFIED))},
    {EVENT(WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "WorkflowExecutionUpdateAccepted",
           HCASE(WORKFLOW_EXECUTION_UPDATE_ACCEPTED)), .check = accepted_check},
    {EVENT(WORKFLOW_EXECUTION_UPDATE_COMPLETED, "WorkflowExecutionUpdateCompleted",
           HCASE(WORKFLOW_EXECUTION_UPDATE_COMPLETED)), .check = completed_check},
    {EVENT(WORKFLOW_EXECUTION_UPDATE_ADMITTED, "WorkflowExecutionUpdateAdmitted",
           HCASE(WORKFLOW_EXECUTION_UPDATE_ADMITTED))},
};

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ---- the rows by type ----
 * Every event is looked up a few times (its checks, whether it records a command, what it
 * resolves): by index, not by a walk of the tables, which was a tenth of a kept run's replay.
 * Types past TYPES (none today) are found by the walk. */

enum { TYPES = 128 };
static unsigned char cmd_row[TYPES], recorded_row[TYPES], ev_row[TYPES]; /* row + 1; 0: none */
static pthread_once_t rows_once = PTHREAD_ONCE_INIT;

static void index_rows(void)
{
    for (size_t i = COUNT(CMD_KINDS); i-- > 0;) { /* the first row of a type wins */
        if (CMD_KINDS[i].type > 0 && CMD_KINDS[i].type < TYPES)
            cmd_row[CMD_KINDS[i].type] = (unsigned char)(i + 1);
        if (CMD_KINDS[i].initiated > 0 && CMD_KINDS[i].initiated < TYPES)
            recorded_row[CMD_KINDS[i].initiated] = (unsigned char)(i + 1);
    }
    for (size_t i = COUNT(EV_KINDS); i-- > 0;)
        if (EV_KINDS[i].type > 0 && EV_KINDS[i].type < TYPES)
            ev_row[EV_KINDS[i].type] = (unsigned char)(i + 1);
}

const cmd_kind *cmd_kind_of(int type)
{
    pthread_once(&rows_once, index_rows);
    if (type > 0 && type < TYPES)
        return cmd_row[type] ? &CMD_KINDS[cmd_row[type] - 1] : NULL;
    for (size_t i = 0; i < COUNT(CMD_KINDS); i++)
        if (CMD_KINDS[i].type == type)
            return &CMD_KINDS[i];
    return NULL;
}

const cmd_kind *cmd_recorded_by(int event_type)
{
    pthread_once(&rows_once, index_rows);
    if (event_type > 0 && event_type < TYPES)
        return recorded_row[event_type] ? &CMD_KINDS[recorded_row[event_type] - 1] : NULL;
    for (size_t i = 0; i < COUNT(CMD_KINDS); i++)
        if (CMD_KINDS[i].initiated == event_type)
            return &CMD_KINDS[i];
    return NULL;
}

const ev_kind *ev_kind_of(int type)
{
    pthread_once(&rows_once, index_rows);
    if (type > 0 && type < TYPES)
        return ev_row[type] ? &EV_KINDS[ev_row[type] - 1] : NULL;
    for (size_t i = 0; i < COUNT(EV_KINDS); i++)
        if (EV_KINDS[i].type == type)
            return &EV_KINDS[i];
    return NULL;
}

const char *ev_problem(const pb_event *ev, char *buf, size_t n)
{
    const ev_kind *k = ev_kind_of(ev->event_type);
    if (!k || !k->attributes)
        return NULL;
    if (ev->attributes_case == 0)
        return "has no attributes";
    if ((int)ev->attributes_case != k->attributes) {
        snprintf(buf, n, "carries another event type's attributes (field %d)",
                 (int)ev->attributes_case);
        return buf;
    }
    return k->check ? k->check(ev) : NULL;
}

void cmd_describe(const pb_command *c, char *out, size_t n)
{
    const cmd_kind *k = c ? cmd_kind_of(c->command_type) : NULL;
    if (k)
        k->describe(c, out, n);
    else
        snprintf(out, n, c ? "a command" : "no command");
}

pb_command *cmd_new(arena *a, int type, void *attributes)
{
    if (!cmd_kind_of(type) || !attributes)
        return NULL;
    pb_command *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return NULL;
    PB_INIT(temporal__api__command__v1__command__descriptor, c);
    c->command_type = type;
    switch (type) {
    case CMD(SCHEDULE_ACTIVITY_TASK):
        c->attributes_case = CCASE(SCHEDULE_ACTIVITY_TASK);
        c->schedule_activity_task_command_attributes = attributes;
        break;
    case CMD(START_TIMER):
        c->attributes_case = CCASE(START_TIMER);
        c->start_timer_command_attributes = attributes;
        break;
    case CMD(CANCEL_TIMER):
        c->attributes_case = CCASE(CANCEL_TIMER);
        c->cancel_timer_command_attributes = attributes;
        break;
    case CMD(REQUEST_CANCEL_ACTIVITY_TASK):
        c->attributes_case = CCASE(REQUEST_CANCEL_ACTIVITY_TASK);
        c->request_cancel_activity_task_command_attributes = attributes;
        break;
    case CMD(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION);
        c->request_cancel_external_workflow_execution_command_attributes = attributes;
        break;
    case CMD(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION);
        c->signal_external_workflow_execution_command_attributes = attributes;
        break;
    case CMD(START_CHILD_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(START_CHILD_WORKFLOW_EXECUTION);
        c->start_child_workflow_execution_command_attributes = attributes;
        break;
    case CMD(CANCEL_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(CANCEL_WORKFLOW_EXECUTION);
        c->cancel_workflow_execution_command_attributes = attributes;
        break;
    case CMD(COMPLETE_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(COMPLETE_WORKFLOW_EXECUTION);
        c->complete_workflow_execution_command_attributes = attributes;
        break;
    case CMD(FAIL_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(FAIL_WORKFLOW_EXECUTION);
        c->fail_workflow_execution_command_attributes = attributes;
        break;
    case CMD(CONTINUE_AS_NEW_WORKFLOW_EXECUTION):
        c->attributes_case = CCASE(CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
        c->continue_as_new_workflow_execution_command_attributes = attributes;
        break;
    case CMD(RECORD_MARKER):
        c->attributes_case = CCASE(RECORD_MARKER);
        c->record_marker_command_attributes = attributes;
        break;
    case CMD(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES):
        c->attributes_case = CCASE(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
        c->upsert_workflow_search_attributes_command_attributes = attributes;
        break;
    case CMD(MODIFY_WORKFLOW_PROPERTIES):
        c->attributes_case = CCASE(MODIFY_WORKFLOW_PROPERTIES);
        c->modify_workflow_properties_command_attributes = attributes;
        break;
    case CMD(PROTOCOL_MESSAGE):
        c->attributes_case = CCASE(PROTOCOL_MESSAGE);
        c->protocol_message_command_attributes = attributes;
        break;
    }
    return c;
}
