/*
 * wf_build: workflow histories built event by event. See wf_build.h.
 */
#define _GNU_SOURCE
#include "tests/support/wf_build.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"

void wb_init(wb_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->a = arena_new(1 << 20);
    h->now_ms = 1000;
    assert_non_null(h->a);
}

void *wb_mem(wb_hist *h, size_t n)
{
    void *p = arena_alloc(h->a, n);
    assert_non_null(p);
    return p;
}

pb_event *wb_add(wb_hist *h, int type)
{
    assert_true(h->n < sizeof(h->ev) / sizeof(h->ev[0]));
    pb_event *e = wb_mem(h, sizeof(*e));
    temporal__api__history__v1__history_event__init(e);
    Google__Protobuf__Timestamp *t = wb_mem(h, sizeof(*t));
    google__protobuf__timestamp__init(t);
    t->seconds = h->now_ms / 1000;
    t->nanos = (int32_t)(h->now_ms % 1000) * 1000000;
    e->event_time = t;
    e->event_id = (int64_t)h->n + 1;
    e->event_type = type;
    h->ev[h->n++] = e;
    return e;
}

/* WorkflowExecutionStarted with |input| (JSON, or NULL) and |original_run_id| (or NULL). */
void wb_started(wb_hist *h, const char *input, const char *original_run_id)
{
    pb_event *e = wb_add(h, EV(WORKFLOW_EXECUTION_STARTED));
    HA(WorkflowExecutionStarted) *at = wb_mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_started_event_attributes__init(at);
    if (input) {
        tw_payload p = tw_json(input);
        at->input = payloads_to_pb(h->a, &p, 1);
    }
    if (original_run_id)
        at->original_execution_run_id = (char *)original_run_id;
    at->attempt = 1;
    e->attributes_case = HCASE(WORKFLOW_EXECUTION_STARTED);
    e->workflow_execution_started_event_attributes = at;
}

/* A workflow task attempt, scheduled and started at |ms|. */
void wb_task(wb_hist *h, int64_t ms)
{
    h->now_ms = ms;
    wb_add(h, EV(WORKFLOW_TASK_SCHEDULED));
    wb_add(h, EV(WORKFLOW_TASK_STARTED));
}

void wb_task_completed(wb_hist *h) { wb_add(h, EV(WORKFLOW_TASK_COMPLETED)); }
void wb_task_timed_out(wb_hist *h) { wb_add(h, EV(WORKFLOW_TASK_TIMED_OUT)); }

void wb_task_failed(wb_hist *h, int cause, const char *new_run_id)
{
    pb_event *e = wb_add(h, EV(WORKFLOW_TASK_FAILED));
    HA(WorkflowTaskFailed) *at = wb_mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_task_failed_event_attributes__init(at);
    at->cause = cause;
    if (new_run_id)
        at->new_run_id = (char *)new_run_id;
    e->attributes_case = HCASE(WORKFLOW_TASK_FAILED);
    e->workflow_task_failed_event_attributes = at;
}

/* ActivityTaskScheduled; returns its event id. */
int64_t wb_activity(wb_hist *h, const char *id, const char *type)
{
    pb_event *e = wb_add(h, EV(ACTIVITY_TASK_SCHEDULED));
    HA(ActivityTaskScheduled) *at = wb_mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_scheduled_event_attributes__init(at);
    Temporal__Api__Common__V1__ActivityType *t = wb_mem(h, sizeof(*t));
    temporal__api__common__v1__activity_type__init(t);
    t->name = (char *)type;
    at->activity_id = (char *)id;
    at->activity_type = t;
    e->attributes_case = HCASE(ACTIVITY_TASK_SCHEDULED);
    e->activity_task_scheduled_event_attributes = at;
    return e->event_id;
}

void wb_activity_done(wb_hist *h, int64_t scheduled, const char *result)
{
    wb_add(h, EV(ACTIVITY_TASK_STARTED));
    pb_event *e = wb_add(h, EV(ACTIVITY_TASK_COMPLETED));
    HA(ActivityTaskCompleted) *at = wb_mem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_completed_event_attributes__init(at);
    tw_payload p = tw_json(result);
    at->result = payloads_to_pb(h->a, &p, 1);
    at->scheduled_event_id = scheduled;
    e->attributes_case = HCASE(ACTIVITY_TASK_COMPLETED);
    e->activity_task_completed_event_attributes = at;
}

void wb_timer(wb_hist *h, const char *id)
{
    pb_event *e = wb_add(h, EV(TIMER_STARTED));
    HA(TimerStarted) *at = wb_mem(h, sizeof(*at));
    temporal__api__history__v1__timer_started_event_attributes__init(at);
    at->timer_id = (char *)id;
    e->attributes_case = HCASE(TIMER_STARTED);
    e->timer_started_event_attributes = at;
    int64_t started = e->event_id;
    e = wb_add(h, EV(TIMER_FIRED));
    HA(TimerFired) *fired = wb_mem(h, sizeof(*fired));
    temporal__api__history__v1__timer_fired_event_attributes__init(fired);
    fired->timer_id = (char *)id;
    fired->started_event_id = started;
    e->attributes_case = HCASE(TIMER_FIRED);
    e->timer_fired_event_attributes = fired;
}

/* The fixture library with the engine's functions, for built histories. */
tw_registry *wb_semantics_lib(void)
{
    char err[512], lib[4096];
    assert_non_null(realpath(harness_built("fixtures/lib_wf_semantics.so"), lib));
    tw_registry *reg;
    if (reg_load(&reg, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return reg;
}

/* Runs |h| as workflow |type| of run |run_id| in |a|. */
void wb_run(tw_registry *reg, arena *a, const wb_hist *h, const char *type, const char *run_id,
            wf_output *out)
{
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = run_id,
                   .task_queue = "tq", .events = h->ev, .nevents = h->n};
    assert_int_equal(wf_run(reg, a, &in, out), 0);
}

/* The one command of |out|, of |type|. */
pb_command *wb_only_command(const wf_output *out, int type)
{
    if (out->task_failed)
        fail_msg("the task failed: %s", out->message);
    assert_int_equal(out->ncommands, 1);
    assert_int_equal(out->commands[0]->command_type, type);
    return out->commands[0];
}

/* The result of the workflow completion |out| holds, NUL-terminated in a static buffer. */
const char *wb_completion_result(const wf_output *out)
{
    static char buf[512];
    pb_command *c = wb_only_command(out, CMD(COMPLETE_WORKFLOW_EXECUTION));
    const Temporal__Api__Common__V1__Payloads *r = c->complete_workflow_execution_command_attributes->result;
    assert_non_null(r);
    assert_int_equal(r->n_payloads, 1);
    assert_true(r->payloads[0]->data.len < sizeof(buf));
    memcpy(buf, r->payloads[0]->data.data, r->payloads[0]->data.len);
    buf[r->payloads[0]->data.len] = '\0';
    return buf;
}

/* The first (and only) argument of the activity command in |out|. */
const char *wb_activity_argument(const wf_output *out)
{
    static char buf[256];
    pb_command *c = wb_only_command(out, CMD(SCHEDULE_ACTIVITY_TASK));
    const Temporal__Api__Common__V1__Payloads *in = c->schedule_activity_task_command_attributes->input;
    assert_non_null(in);
    assert_true(in->payloads[0]->data.len < sizeof(buf));
    memcpy(buf, in->payloads[0]->data.data, in->payloads[0]->data.len);
    buf[in->payloads[0]->data.len] = '\0';
    return buf;
}

/* A history up to the first workflow task: Started, Scheduled, Started. */
void wb_first_task(wb_hist *h, const char *input, const char *original_run_id)
{
    wb_init(h);
    wb_started(h, input, original_run_id);
    wb_task(h, 1000);
}

