/*
 * wf_hist: workflow histories built event by event for the engine's unit tests, the way the
 * server writes them. wh_answer() records a task's answer as the server does (its
 * WorkflowTaskCompleted, then one event per command: ActivityTaskScheduled,
 * TimerStarted, ...), so a test drives a workflow task after task and only adds what the world
 * does (an activity completes, a timer fires, a signal arrives), then checks the commands of
 * the next task. Everything lives in the history's arena; wh_free() releases it. Failures
 * abort the test (cmocka).
 */
#ifndef TW_WF_HIST_H
#define TW_WF_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "tests/support/wf_shadow.h"

typedef struct whist {
    arena *a;
    pb_event **ev;
    size_t n, cap;
    int64_t now_ms;      /* the time of the events added next */
    arena *run;          /* the arena of the last wh_run() */
    wf_output out;       /* its answer */
    wf_shadow shadow;    /* every run is checked against a run kept between tasks */
} whist;

void wh_init(whist *h);
void wh_free(whist *h);
/* A raw event of |type| (attributes unset), at h->now_ms, with the next id. */
pb_event *wh_add(whist *h, int type);

/* WorkflowExecutionStarted with JSON |input| (NULL: none) and a first workflow task. */
void wh_start(whist *h, const char *input);
/* WorkflowTaskScheduled + WorkflowTaskStarted at |ms| (0: now). */
void wh_task(whist *h, int64_t ms);
/* Runs the history as workflow |type| (the registry's) and keeps the answer in h->out; the
 * previous run's arena is freed. Returns h->out. |stack_trace| asks for it. Each run is also
 * given to a run kept between tasks (wf_shadow.h), which must answer the same. */
const wf_output *wh_run(whist *h, const tw_registry *reg, const char *type, int stack_trace);
/* The answer of the last run recorded as the server does: WorkflowTaskCompleted and an event
 * per command. The last run must have completed its task. */
void wh_answer(whist *h);
/* The last run's commands, described (cmd_describe) and joined with " | ", or the failure
 * ("task failed: <message>"). Static buffer. */
const char *wh_commands(const whist *h);

/* What the world does, by the ids the code chose. */
void wh_activity_completed(whist *h, const char *activity_id, const char *result);
void wh_activity_failed(whist *h, const char *activity_id, const char *type, const char *message);
void wh_activity_canceled(whist *h, const char *activity_id);
/* ActivityTaskFailed with failure |f| (its chain too) and the server's |retry_state|. */
void wh_activity_failed_with(whist *h, const char *activity_id, const tw_failure *f,
                             int retry_state);
/* ActivityTaskTimedOut: a TimeoutFailure of |timeout_type| with |details| (JSON, or NULL) as
 * the last heartbeat details. */
void wh_activity_timed_out(whist *h, const char *activity_id, int timeout_type,
                           const char *details);
void wh_activity_started(whist *h, const char *activity_id);
void wh_timer_fired(whist *h, const char *timer_id);
/* The answer to the last RequestCancelExternalWorkflowExecution / SignalExternal... for
 * workflow |workflow_id|: delivered, or failed with |cause| (1: not found). */
void wh_external_cancel_requested(whist *h, const char *workflow_id);
void wh_external_cancel_failed(whist *h, const char *workflow_id, int cause);
void wh_external_signaled(whist *h, const char *workflow_id);
void wh_external_signal_failed(whist *h, const char *workflow_id, int cause);
void wh_signal(whist *h, const char *name, const char *input);
void wh_cancel_requested(whist *h);
/* ---- updates and queries ----
 * wh_answer() records an update's acceptance and response (its ProtocolMessage commands and
 * the messages they name) as UpdateAccepted / UpdateCompleted events, as the server does. */

/* An update request message for the task just added (sequenced at the event before its
 * WorkflowTaskStarted, as the server does), |input| JSON or NULL. */
pb_message *wh_update_request(whist *h, const char *id, const char *name, const char *input);
/* An UpdateAdmitted event carrying the request. */
void wh_update_admitted(whist *h, const char *id, const char *name, const char *input);
pb_query *wh_query(whist *h, const char *type, const char *input);
/* wh_run() with |more|'s messages, queries and query_only (its history fields are ignored). */
const wf_output *wh_run_with(whist *h, const tw_registry *reg, const char *type,
                             const wf_input *more);
/* The last run's messages: "accept u1 | complete u1: 5 | reject u2: <message> |
 * fail u3: <message>". Static buffer. */
const char *wh_messages(whist *h);
/* The last run's answer to its |i|-th query: the JSON, or "failed: <message> (<type>)", or
 * the task's failure. Static buffer. */
const char *wh_query_result(const whist *h, size_t i);
/* ---- child workflows ----
 * wh_answer() records StartChildWorkflowExecution as StartChildWorkflowExecutionInitiated; what
 * the server says of child |workflow_id| next: */
void wh_child_started(whist *h, const char *workflow_id, const char *run_id);
/* StartChildWorkflowExecutionFailed with |cause| (1: the workflow id is taken). */
void wh_child_start_failed(whist *h, const char *workflow_id, int cause);
void wh_child_completed(whist *h, const char *workflow_id, const char *result);
void wh_child_failed(whist *h, const char *workflow_id, const tw_failure *f, int retry_state);
void wh_child_canceled(whist *h, const char *workflow_id, const char *details);
void wh_child_timed_out(whist *h, const char *workflow_id, int retry_state);
void wh_child_terminated(whist *h, const char *workflow_id);
/* The event id of child |workflow_id|'s StartChildWorkflowExecutionInitiated. */
int64_t wh_child_initiated(const whist *h, const char *workflow_id);
/* The event id of the ActivityTaskScheduled / TimerStarted of |id|. */
int64_t wh_scheduled(const whist *h, const char *activity_id);

#endif
