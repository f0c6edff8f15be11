/*
 * Replay tests of the workflow engine (temporal/engine/wf.c) on histories recorded from the real
 * server (tests/data/NAME.history, made by tests/data/record-histories.sh) and the example
 * libraries: whole histories replay without new commands, cut histories produce exactly the
 * next command, and a changed workflow is caught as non-determinism. Then histories built
 * here, event by event, for what recorded ones rarely hold (failed and timed-out task attempts,
 * a reset point, a hole in the event ids), run through tests/fixtures/lib_wf_semantics.c:
 * failure details outliving the caller's frame, running out of memory, 0 ms timers,
 * deterministic time and randomness.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"

typedef struct replay {
    Temporal__Api__History__V1__History *h;
    tw_registry *reg;
    arena *a;
    wf_output out;
} replay;

static void load(replay *r, const char *history, const char *library)
{
    char path[256], err[512];
    size_t len;
    snprintf(path, sizeof(path), "tests/data/%s", history);
    char *raw = read_all(path, &len);
    assert_true(len > 0);
    r->h = temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(r->h);
    char lib[4096];
    assert_non_null(realpath(harness_built(library), lib));
    if (reg_load(&r->reg, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    r->a = arena_new(64 * 1024 * 1024);
}

/* Replays the first |n| events (0: all) as workflow |type|. */
static void run(replay *r, const char *type, size_t n)
{
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run", .task_queue = "rec",
                   .events = r->h->events, .nevents = n ? n : r->h->n_events};
    assert_int_equal(wf_run(r->reg, r->a, &in, &r->out), 0);
}

static void done(replay *r)
{
    arena_free(r->a);
    reg_free(r->reg);
    temporal__api__history__v1__history__free_unpacked(r->h, NULL);
}

/* Index + 1 of the |k|-th (1-based) WorkflowTaskStarted: the history as that task saw it. */
static size_t upto_task(const replay *r, int k)
{
    for (size_t i = 0; i < r->h->n_events; i++)
        if (r->h->events[i]->event_type == EV(WORKFLOW_TASK_STARTED) && --k == 0)
            return i + 1;
    fail_msg("history has fewer workflow tasks");
    return 0;
}

static void whole_histories_replay_cleanly(void **st)
{
    const char *cases[][3] = {{"hello.history", "examples/libhello.so", "Greet"},
                              {"fanout.history", "examples/libtimers.so", "FanOut"},
                              {"changing.history", "fixtures/lib_changing_v1.so", "Changing"}};
    for (size_t i = 0; i < 3; i++) {
        replay r;
        load(&r, cases[i][0], cases[i][1]);
        run(&r, cases[i][2], 0);
        if (r.out.task_failed)
            fail_msg("%s: %s", cases[i][0], r.out.message);
        if (r.out.ncommands)
            fail_msg("%s: %zu new commands, first type %d", cases[i][0], r.out.ncommands,
                     (int)r.out.commands[0]->command_type);
        assert_int_equal(r.out.versioning, TW_PINNED);
        done(&r);
    }
}

/* ---- pages ---- */

/* A history handed over in pages of |size| events, as the worker's GetWorkflowExecutionHistory
 * pages come; |fail_at| > 0: the page holding that event cannot be loaded. */
typedef struct paged {
    pb_event *const *events;
    size_t n, next, size;
    size_t fail_at;
    int loads;
} paged;

static int next_page(void *ctx, arena *a, pb_event *const **events, size_t *n, char *err,
                     size_t errlen)
{
    paged *p = ctx;
    *n = 0;
    if (p->next == p->n)
        return 0;
    p->loads++;
    if (p->fail_at && p->fail_at <= p->next + p->size) {
        snprintf(err, errlen, "UNAVAILABLE: the server went away");
        return -1;
    }
    *events = p->events + p->next;
    *n = p->n - p->next < p->size ? p->n - p->next : p->size;
    p->next += *n;
    return 0;
}

/* Replays |r|'s first |n| events as |type|, given in pages of |size|. */
static void run_paged(replay *r, const char *type, size_t n, paged *p)
{
    *p = (paged){.events = r->h->events, .n = n, .size = p->size, .fail_at = p->fail_at};
    size_t first = p->size < n ? p->size : n;
    p->next = first;
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run", .task_queue = "rec",
                   .events = r->h->events, .nevents = first, .next_page = next_page,
                   .page_ctx = p};
    assert_int_equal(wf_run(r->reg, r->a, &in, &r->out), 0);
}

/* The worker hands the engine the poll's first page and a callback for the rest: whatever the
 * page size, the replay sees the same history, and loads a page only when it gets there. */
static void paged_histories_replay_like_whole_ones(void **st)
{
    replay r;
    load(&r, "fanout.history", "examples/libtimers.so");
    size_t n = r.h->n_events;
    for (size_t size = 1; size <= n + 1; size++) {
        paged p = {.size = size};
        run_paged(&r, "FanOut", n, &p);
        if (r.out.task_failed)
            fail_msg("pages of %zu: %s", size, r.out.message);
        assert_int_equal(r.out.ncommands, 0);
        assert_int_equal(p.next, n);
        /* The first task, cut as its poll saw it: the same three commands. */
        p = (paged){.size = size};
        run_paged(&r, "FanOut", upto_task(&r, 1), &p);
        assert_int_equal(r.out.ncommands, 3);
    }
    done(&r);
    /* Changed code is caught at event 5, in the batch of events 4-9 (the second task): the
     * page of event 11 is never loaded. */
    load(&r, "changing.history", "fixtures/lib_changing_v2.so");
    paged p = {.size = 2};
    run_paged(&r, "Changing", r.h->n_events, &p);
    assert_true(r.out.task_failed);
    assert_int_equal(r.out.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_int_equal(r.h->n_events, 11);
    assert_int_equal(p.loads, 4); /* events 3-4, 5-6, 7-8, 9-10 */
    done(&r);
}

/* A page that cannot be loaded fails the task (retried), naming where the replay stopped; a
 * page whose ids do not follow the last one's is a lost page. */
static void unloadable_or_missing_pages_fail_the_task(void **st)
{
    replay r;
    load(&r, "hello.history", "examples/libhello.so");
    size_t n = r.h->n_events;
    paged p = {.size = 4, .fail_at = 6};
    run_paged(&r, "Greet", n, &p);
    assert_true(r.out.task_failed);
    assert_int_equal(r.out.cause, WF_CAUSE_UNHANDLED_FAILURE);
    assert_int_equal(r.out.ncommands, 0);
    assert_non_null(strstr(r.out.message, "could not read the history after event 4: "
                                          "UNAVAILABLE: the server went away"));
    /* Page 2 handed twice: event 5 follows event 8. */
    p = (paged){.size = 4};
    p.events = r.h->events;
    wf_input in = {.workflow_type = "Greet", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "rec", .events = r.h->events, .nevents = 8,
                   .next_page = next_page, .page_ctx = &p};
    p.n = n;
    p.next = 4; /* the next page starts at event 5 again */
    assert_int_equal(wf_run(r.reg, r.a, &in, &r.out), 0);
    assert_true(r.out.task_failed);
    assert_non_null(strstr(r.out.message, "missing history events: expected event id 9 but "
                                          "got 5"));
    done(&r);
}

static void first_task_schedules_the_activity(void **st)
{
    replay r;
    load(&r, "hello.history", "examples/libhello.so");
    run(&r, "Greet", upto_task(&r, 1));
    assert_false(r.out.task_failed);
    assert_int_equal(r.out.ncommands, 1);
    pb_command *c = r.out.commands[0];
    assert_int_equal(c->command_type, CMD(SCHEDULE_ACTIVITY_TASK));
    Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *at =
        c->schedule_activity_task_command_attributes;
    assert_string_equal(at->activity_type->name, "ComposeGreeting");
    assert_string_equal(at->activity_id, "1");
    assert_string_equal(at->task_queue->name, "rec");
    assert_true(at->start_to_close_timeout->seconds == 10);
    assert_int_equal(at->input->n_payloads, 1);
    assert_memory_equal(at->input->payloads[0]->data.data, "\"Replay\"", 8);
    done(&r);
}

static void second_task_completes_with_the_result(void **st)
{
    replay r;
    load(&r, "hello.history", "examples/libhello.so");
    run(&r, "Greet", upto_task(&r, 2));
    assert_false(r.out.task_failed);
    assert_int_equal(r.out.ncommands, 1);
    pb_command *c = r.out.commands[0];
    assert_int_equal(c->command_type, CMD(COMPLETE_WORKFLOW_EXECUTION));
    Temporal__Api__Common__V1__Payload *p =
        c->complete_workflow_execution_command_attributes->result->payloads[0];
    assert_int_equal(p->data.len, strlen("\"Hello, Replay!\""));
    assert_memory_equal(p->data.data, "\"Hello, Replay!\"", p->data.len);
    done(&r);
}

static void fan_out_starts_activities_and_timer_together(void **st)
{
    replay r;
    load(&r, "fanout.history", "examples/libtimers.so");
    run(&r, "FanOut", upto_task(&r, 1));
    assert_false(r.out.task_failed);
    assert_int_equal(r.out.ncommands, 3); /* two activities and the timer, in code order */
    assert_int_equal(r.out.commands[0]->command_type, CMD(SCHEDULE_ACTIVITY_TASK));
    assert_int_equal(r.out.commands[1]->command_type, CMD(SCHEDULE_ACTIVITY_TASK));
    assert_int_equal(r.out.commands[2]->command_type, CMD(START_TIMER));
    assert_string_equal(r.out.commands[2]->start_timer_command_attributes->timer_id, "1");
    done(&r);
}

static void changed_code_is_non_determinism(void **st)
{
    replay r;
    load(&r, "changing.history", "fixtures/lib_changing_v2.so");
    run(&r, "Changing", 0);
    assert_true(r.out.task_failed);
    assert_int_equal(r.out.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(r.out.message, "ScheduleActivityTask(type StepA, id 1)"));
    assert_non_null(strstr(r.out.message, "ScheduleActivityTask(type StepB, id 1)"));
    done(&r);
}

static void unknown_type_lists_the_registered(void **st)
{
    replay r;
    load(&r, "hello.history", "examples/libhello.so");
    run(&r, "Nope", 0);
    assert_true(r.out.task_failed);
    assert_int_equal(r.out.cause, WF_CAUSE_UNHANDLED_FAILURE);
    assert_non_null(strstr(r.out.message, "\"Nope\" is not registered"));
    assert_non_null(strstr(r.out.message, "registered: Greet"));
    done(&r);
}

/* ---- histories built event by event ---- */

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes
#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES

typedef struct hist {
    arena *a;          /* everything below lives here */
    pb_event *ev[48];
    size_t n;
    int64_t now_ms;    /* the time of the events added next */
} hist;

static void hist_init(hist *h)
{
    memset(h, 0, sizeof(*h));
    h->a = arena_new(1 << 20);
    h->now_ms = 1000;
    assert_non_null(h->a);
}

static void *hmem(hist *h, size_t n)
{
    void *p = arena_alloc(h->a, n);
    assert_non_null(p);
    return p;
}

static pb_event *add(hist *h, int type)
{
    assert_true(h->n < sizeof(h->ev) / sizeof(h->ev[0]));
    pb_event *e = hmem(h, sizeof(*e));
    temporal__api__history__v1__history_event__init(e);
    Google__Protobuf__Timestamp *t = hmem(h, sizeof(*t));
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
static void h_started(hist *h, const char *input, const char *original_run_id)
{
    pb_event *e = add(h, EV(WORKFLOW_EXECUTION_STARTED));
    HA(WorkflowExecutionStarted) *at = hmem(h, sizeof(*at));
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
static void h_task(hist *h, int64_t ms)
{
    h->now_ms = ms;
    add(h, EV(WORKFLOW_TASK_SCHEDULED));
    add(h, EV(WORKFLOW_TASK_STARTED));
}

static void h_task_completed(hist *h) { add(h, EV(WORKFLOW_TASK_COMPLETED)); }
static void h_task_timed_out(hist *h) { add(h, EV(WORKFLOW_TASK_TIMED_OUT)); }

static void h_task_failed(hist *h, int cause, const char *new_run_id)
{
    pb_event *e = add(h, EV(WORKFLOW_TASK_FAILED));
    HA(WorkflowTaskFailed) *at = hmem(h, sizeof(*at));
    temporal__api__history__v1__workflow_task_failed_event_attributes__init(at);
    at->cause = cause;
    if (new_run_id)
        at->new_run_id = (char *)new_run_id;
    e->attributes_case = HCASE(WORKFLOW_TASK_FAILED);
    e->workflow_task_failed_event_attributes = at;
}

/* ActivityTaskScheduled; returns its event id. */
static int64_t h_activity(hist *h, const char *id, const char *type)
{
    pb_event *e = add(h, EV(ACTIVITY_TASK_SCHEDULED));
    HA(ActivityTaskScheduled) *at = hmem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_scheduled_event_attributes__init(at);
    Temporal__Api__Common__V1__ActivityType *t = hmem(h, sizeof(*t));
    temporal__api__common__v1__activity_type__init(t);
    t->name = (char *)type;
    at->activity_id = (char *)id;
    at->activity_type = t;
    e->attributes_case = HCASE(ACTIVITY_TASK_SCHEDULED);
    e->activity_task_scheduled_event_attributes = at;
    return e->event_id;
}

static void h_activity_done(hist *h, int64_t scheduled, const char *result)
{
    add(h, EV(ACTIVITY_TASK_STARTED));
    pb_event *e = add(h, EV(ACTIVITY_TASK_COMPLETED));
    HA(ActivityTaskCompleted) *at = hmem(h, sizeof(*at));
    temporal__api__history__v1__activity_task_completed_event_attributes__init(at);
    tw_payload p = tw_json(result);
    at->result = payloads_to_pb(h->a, &p, 1);
    at->scheduled_event_id = scheduled;
    e->attributes_case = HCASE(ACTIVITY_TASK_COMPLETED);
    e->activity_task_completed_event_attributes = at;
}

static void h_timer(hist *h, const char *id)
{
    pb_event *e = add(h, EV(TIMER_STARTED));
    HA(TimerStarted) *at = hmem(h, sizeof(*at));
    temporal__api__history__v1__timer_started_event_attributes__init(at);
    at->timer_id = (char *)id;
    e->attributes_case = HCASE(TIMER_STARTED);
    e->timer_started_event_attributes = at;
    int64_t started = e->event_id;
    e = add(h, EV(TIMER_FIRED));
    HA(TimerFired) *fired = hmem(h, sizeof(*fired));
    temporal__api__history__v1__timer_fired_event_attributes__init(fired);
    fired->timer_id = (char *)id;
    fired->started_event_id = started;
    e->attributes_case = HCASE(TIMER_FIRED);
    e->timer_fired_event_attributes = fired;
}

/* The fixture library with the engine's functions, for built histories. */
static tw_registry *semantics_lib(void)
{
    char err[512], lib[4096];
    assert_non_null(realpath(harness_built("fixtures/lib_wf_semantics.so"), lib));
    tw_registry *reg;
    if (reg_load(&reg, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return reg;
}

/* Runs |h| as workflow |type| of run |run_id| in |a|. */
static void run_hist(tw_registry *reg, arena *a, const hist *h, const char *type,
                     const char *run_id, wf_output *out)
{
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = run_id,
                   .task_queue = "tq", .events = h->ev, .nevents = h->n};
    assert_int_equal(wf_run(reg, a, &in, out), 0);
}

/* The one command of |out|, of |type|. */
static pb_command *only_command(const wf_output *out, int type)
{
    if (out->task_failed)
        fail_msg("the task failed: %s", out->message);
    assert_int_equal(out->ncommands, 1);
    assert_int_equal(out->commands[0]->command_type, type);
    return out->commands[0];
}

/* The result of the workflow completion |out| holds, NUL-terminated in a static buffer. */
static const char *completion_result(const wf_output *out)
{
    static char buf[512];
    pb_command *c = only_command(out, CMD(COMPLETE_WORKFLOW_EXECUTION));
    const Temporal__Api__Common__V1__Payloads *r = c->complete_workflow_execution_command_attributes->result;
    assert_non_null(r);
    assert_int_equal(r->n_payloads, 1);
    assert_true(r->payloads[0]->data.len < sizeof(buf));
    memcpy(buf, r->payloads[0]->data.data, r->payloads[0]->data.len);
    buf[r->payloads[0]->data.len] = '\0';
    return buf;
}

/* The first (and only) argument of the activity command in |out|. */
static const char *activity_argument(const wf_output *out)
{
    static char buf[256];
    pb_command *c = only_command(out, CMD(SCHEDULE_ACTIVITY_TASK));
    const Temporal__Api__Common__V1__Payloads *in = c->schedule_activity_task_command_attributes->input;
    assert_non_null(in);
    assert_true(in->payloads[0]->data.len < sizeof(buf));
    memcpy(buf, in->payloads[0]->data.data, in->payloads[0]->data.len);
    buf[in->payloads[0]->data.len] = '\0';
    return buf;
}

/* A history up to the first workflow task: Started, Scheduled, Started. */
static void first_task(hist *h, const char *input, const char *original_run_id)
{
    hist_init(h);
    h_started(h, input, original_run_id);
    h_task(h, 1000);
}

/* ---- failures keep their details ---- */

static void failure_copy_is_deep(void **st)
{
    arena *a = arena_new(1 << 20);
    char *type = strdup("Bad"), *msg = strdup("broken"), *bytes = strdup("{\"k\":1}");
    char *enc = strdup("json/plain");
    tw_payload *d = calloc(2, sizeof(*d));
    d[0] = (tw_payload){enc, (const uint8_t *)bytes, strlen(bytes)};
    d[1] = tw_null();
    tw_failure f = {.type = type, .message = msg, .non_retryable = 1, .details = d, .ndetails = 2};
    tw_failure *c;
    assert_int_equal(failure_copy(a, &f, &c), TW_OK);
    memset(type, 'X', 3), memset(msg, 'X', 6), memset(bytes, 'X', 7), memset(enc, 'X', 10);
    free(type), free(msg), free(bytes), free(enc), free(d); /* nothing of |f| is read again */
    assert_string_equal(c->type, "Bad");
    assert_string_equal(c->message, "broken");
    assert_int_equal(c->non_retryable, 1);
    assert_int_equal(c->ndetails, 2);
    assert_string_equal(c->details[0].encoding, "json/plain");
    assert_int_equal(c->details[0].len, 7);
    assert_memory_equal(c->details[0].data, "{\"k\":1}", 7);
    assert_string_equal(c->details[1].encoding, "binary/null");
    assert_int_equal(c->details[1].len, 0);

    tw_failure bare = {0};
    assert_int_equal(failure_copy(a, &bare, &c), TW_OK);
    assert_null(c->type);
    assert_null(c->details);
    tw_failure lying = {.ndetails = 1};
    assert_int_equal(failure_copy(a, &lying, &c), TW_EINVAL);
    assert_null(c);
    tw_payload hollow = {"json/plain", NULL, 3};
    tw_failure bad_detail = {.details = &hollow, .ndetails = 1};
    assert_int_equal(failure_copy(a, &bad_detail, &c), TW_EINVAL);
    assert_int_equal(failure_copy(a, NULL, &c), TW_EINVAL);
    arena_free(a);

    arena *full = arena_new(0);
    assert_int_equal(failure_copy(full, &bare, &c), TW_ENOMEM);
    assert_null(c);
    arena_free(full);
}

static void fail_details_outlive_the_callers_frame(void **st)
{
    tw_registry *reg = semantics_lib();
    hist h;
    first_task(&h, NULL, NULL);
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, &h, "FailWithDetails", "run", &out);
    pb_command *c = only_command(&out, CMD(FAIL_WORKFLOW_EXECUTION));
    const pb_failure *f = c->fail_workflow_execution_command_attributes->failure;
    assert_string_equal(f->message, "failed with 2 details");
    assert_int_equal(f->failure_info_case,
                     TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO);
    const Temporal__Api__Failure__V1__ApplicationFailureInfo *info = f->application_failure_info;
    assert_string_equal(info->type, "Detailed");
    assert_true(info->non_retryable);
    assert_non_null(info->details);
    assert_int_equal(info->details->n_payloads, 2);
    tw_payload d0 = payload_from_pb(a, info->details->payloads[0]);
    tw_payload d1 = payload_from_pb(a, info->details->payloads[1]);
    assert_string_equal(d0.encoding, "json/plain");
    assert_int_equal(d0.len, strlen("{\"code\":42}"));
    assert_memory_equal(d0.data, "{\"code\":42}", d0.len);
    assert_string_equal(d1.encoding, "binary/plain");
    assert_int_equal(d1.len, 3);
    assert_memory_equal(d1.data, "\x01\x02\x03", 3);
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

/* ---- out of memory fails the task, never the workflow ---- */

static void check_hungry_commands(const wf_output *out)
{
    assert_int_equal(out->ncommands, 2);
    pb_command *c = out->commands[0];
    assert_int_equal(c->command_type, CMD(SCHEDULE_ACTIVITY_TASK));
    const Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes *at =
        c->schedule_activity_task_command_attributes;
    assert_string_equal(at->activity_id, "1");
    assert_string_equal(at->activity_type->name, "Echo");
    assert_string_equal(at->task_queue->name, "elsewhere");
    assert_non_null(at->input);
    assert_int_equal(at->input->payloads[0]->data.len, 200);
    assert_int_equal(duration_to_ms(at->schedule_to_close_timeout), 60000);
    assert_int_equal(duration_to_ms(at->start_to_close_timeout), 10000);
    assert_int_equal(duration_to_ms(at->schedule_to_start_timeout), 30000);
    assert_int_equal(duration_to_ms(at->heartbeat_timeout), 2000);
    assert_non_null(at->retry_policy);
    assert_int_equal(duration_to_ms(at->retry_policy->initial_interval), 500);
    assert_int_equal(duration_to_ms(at->retry_policy->maximum_interval), 5000);
    assert_int_equal(at->retry_policy->n_non_retryable_error_types, 2);
    assert_string_equal(at->retry_policy->non_retryable_error_types[0], "Fatal");
    assert_string_equal(at->retry_policy->non_retryable_error_types[1], "Invalid");
    c = out->commands[1];
    assert_int_equal(c->command_type, CMD(START_TIMER));
    assert_string_equal(c->start_timer_command_attributes->timer_id, "1");
    assert_int_equal(duration_to_ms(c->start_timer_command_attributes->start_to_fire_timeout), 1000);
}

/* The workflow first takes |taken| bytes of a 64 KiB task arena, so that every allocation of
 * tw_wf_alloc, tw_start_activity and tw_start_timer is, at some |taken|, the one that finds
 * the arena full. The workflow gives TW_ENOMEM back (`return rc`, as user code does); the
 * answer must be a failed task, or complete commands: never FailWorkflowExecution. */
static void out_of_memory_fails_the_task_not_the_workflow(void **st)
{
    tw_registry *reg = semantics_lib();
    int ok = 0, failed = 0;
    for (int taken = 0; taken <= 64 * 1024; taken += 16) {
        char input[16];
        snprintf(input, sizeof(input), "%d", taken);
        hist h;
        first_task(&h, input, NULL);
        arena *a = arena_new(64 * 1024);
        wf_output out;
        wf_input in = {.workflow_type = "Hungry", .workflow_id = "wf", .run_id = "run",
                       .task_queue = "tq", .events = h.ev, .nevents = h.n};
        if (wf_run(reg, a, &in, &out) != 0) /* the worker fails the task: allowed */
            out = (wf_output){.task_failed = 1, .cause = WF_CAUSE_UNHANDLED_FAILURE,
                              .message = "out of memory (wf_run returned -1)"};
        for (size_t i = 0; i < out.ncommands; i++)
            if (out.commands[i]->command_type == CMD(FAIL_WORKFLOW_EXECUTION))
                fail_msg("taken %d: the workflow was failed for running out of memory", taken);
        if (out.task_failed) {
            assert_int_equal(out.cause, WF_CAUSE_UNHANDLED_FAILURE);
            assert_non_null(strstr(out.message, "out of memory"));
            assert_int_equal(out.ncommands, 0);
            failed++;
        } else {
            check_hungry_commands(&out);
            ok++;
        }
        arena_free(a);
        arena_free(h.a);
    }
    assert_true(ok > 0 && failed > 0); /* the sweep crossed the limit */

    /* No memory at all: not even the engine's own state fits. */
    hist h;
    first_task(&h, "0", NULL);
    arena *none = arena_new(0);
    wf_output out;
    run_hist(reg, none, &h, "Hungry", "run", &out);
    assert_true(out.task_failed);
    assert_int_equal(out.cause, WF_CAUSE_UNHANDLED_FAILURE);
    assert_non_null(strstr(out.message, "out of memory"));
    arena_free(none);
    arena_free(h.a);
    reg_free(reg);
}

/* ---- 0 ms timers ---- */

static void zero_sleep_and_timer_resolve_at_once(void **st)
{
    tw_registry *reg = semantics_lib();
    hist h;
    first_task(&h, NULL, NULL);
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, &h, "SleepZero", "run", &out);
    /* No StartTimer: the workflow completes in its first task. */
    assert_string_equal(completion_result(&out),
                        "{\"sleep\":0,\"timer\":0,\"await\":0,\"negative\":-1,"
                        "\"negative_timer\":-1,\"same_time\":true}");
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

/* ---- failed and timed-out task attempts ---- */

/* The code runs only at the attempt that answers: with its time, not a failed one's. */
static void failed_attempts_do_not_run_the_code(void **st)
{
    tw_registry *reg = semantics_lib();
    for (int timed_out = 0; timed_out <= 1; timed_out++) {
        hist h;
        first_task(&h, NULL, NULL); /* attempt 1 starts at 1000 ms... */
        if (timed_out)
            h_task_timed_out(&h);
        else
            h_task_failed(&h, WF_CAUSE_UNHANDLED_FAILURE, NULL);
        h_task(&h, 2000); /* ...attempt 2 at 2000 ms, the current task */
        arena *a = arena_new(1 << 24);
        wf_output out;
        run_hist(reg, a, &h, "Clock", "run", &out);
        assert_string_equal(activity_argument(&out), "2000");
        arena_free(a);
        arena_free(h.a);
    }
    /* Replayed: a failed attempt before the activity, a timed-out one after it. */
    hist h;
    first_task(&h, NULL, NULL);
    h_task_failed(&h, WF_CAUSE_UNHANDLED_FAILURE, NULL);
    h_task(&h, 2000);
    h_task_completed(&h);
    int64_t act = h_activity(&h, "1", "Echo");
    h.now_ms = 2400;
    h_activity_done(&h, act, "2000");
    h_task(&h, 2500);
    h_task_timed_out(&h);
    h_task(&h, 3000);
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, &h, "Clock", "run", &out);
    assert_string_equal(completion_result(&out), "{\"scheduled_at\":2000,\"finished_at\":3000}");
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

static void missing_events_fail_the_task(void **st)
{
    tw_registry *reg = semantics_lib();
    for (int first = 0; first <= 1; first++) {
        hist h;
        first_task(&h, NULL, NULL);
        h_task_completed(&h);
        int64_t act = h_activity(&h, "1", "Echo");
        h_activity_done(&h, act, "1");
        h_task(&h, 2000);
        /* A lost page: ids jump from 4 to 6 (or the history starts at 2). */
        for (size_t i = first ? 0 : 4; i < h.n; i++)
            h.ev[i]->event_id++;
        arena *a = arena_new(1 << 24);
        wf_output out;
        run_hist(reg, a, &h, "Clock", "run", &out);
        assert_true(out.task_failed);
        assert_int_equal(out.cause, WF_CAUSE_UNHANDLED_FAILURE);
        assert_int_equal(out.ncommands, 0);
        assert_non_null(strstr(out.message, "missing history events"));
        assert_non_null(strstr(out.message, first ? "expected event id 1 but got 2"
                                                  : "expected event id 5 but got 6"));
        arena_free(a);
        arena_free(h.a);
    }
    reg_free(reg);
}

/* ---- deterministic randomness ---- */

/* The first tw_random() of a run whose started event names |original| (or NULL). */
static char *first_draw(tw_registry *reg, const char *run_id, const char *original)
{
    hist h;
    first_task(&h, NULL, original);
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, &h, "Draw", run_id, &out);
    char *r = strdup(completion_result(&out));
    arena_free(a);
    arena_free(h.a);
    return r;
}

static void random_is_seeded_by_the_original_run(void **st)
{
    tw_registry *reg = semantics_lib();
    char *orig = first_draw(reg, "run-A", NULL);         /* no original id: its own */
    char *same = first_draw(reg, "run-A", "run-A");
    char *reset = first_draw(reg, "run-B", "run-A");     /* a run reset from run-A */
    char *other = first_draw(reg, "run-B", NULL);
    assert_string_equal(orig, same);
    assert_string_equal(orig, reset);
    assert_string_not_equal(orig, other);
    free(orig), free(same), free(reset), free(other);
    reg_free(reg);
}

static void random_is_reseeded_at_a_reset_point(void **st)
{
    tw_registry *reg = semantics_lib();
    /* Run "run-B" was reset from "run-A" at the task after the timer. */
    hist h;
    first_task(&h, NULL, "run-A");
    h_task_completed(&h);
    h_timer(&h, "1");
    h_task(&h, 2000);
    h_task_failed(&h, WF_CAUSE(RESET_WORKFLOW), "run-B");
    h_task(&h, 3000);
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, &h, "DrawAcrossTimer", "run-B", &out);
    char *a1 = first_draw(reg, "run-A", NULL), *b1 = first_draw(reg, "run-B", NULL);
    char want[256];
    snprintf(want, sizeof(want), "{\"r1\":%s,\"r2\":%s}", a1, b1);
    /* Before the reset point run-A's values; after it, run-B's own, as sdk-go does. */
    assert_string_equal(completion_result(&out), want);
    free(a1), free(b1);
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

/* ---- histories the engine cannot make sense of fail the task, naming the event ---- */

/* Runs |h| as "Clock" and checks the task failed (UNHANDLED_FAILURE) with |want| in its
 * message; frees |h|. */
static void expect_unreadable(tw_registry *reg, hist *h, const char *want)
{
    arena *a = arena_new(1 << 24);
    wf_output out;
    run_hist(reg, a, h, "Clock", "run", &out);
    if (!out.task_failed)
        fail_msg("the task did not fail (expected \"%s\")", want);
    assert_int_equal(out.cause, WF_CAUSE_UNHANDLED_FAILURE);
    assert_int_equal(out.ncommands, 0);
    if (!strstr(out.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", out.message, want);
    arena_free(a);
    arena_free(h->a);
}

/* Clock's history up to its activity, scheduled at event 5 (the task completed at 4). */
static int64_t clock_until_activity(hist *h)
{
    first_task(h, NULL, NULL);
    h_task_completed(h);
    return h_activity(h, "1", "Echo");
}

/* The oneof of attributes is a union: an event whose type says one thing while its attributes
 * are another's was read through the wrong member (a Payloads read as a Failure, a string as
 * a Payloads). Found by tests/fuzz/fuzz_engine. */
static void attributes_of_another_type_fail_the_task(void **st)
{
    tw_registry *reg = semantics_lib();
    hist h;
    int64_t act = clock_until_activity(&h);
    h_activity_done(&h, act, "1"); /* events 6 (started) and 7 (completed) */
    pb_event *e = h.ev[h.n - 1];
    e->event_type = EV(ACTIVITY_TASK_FAILED); /* with ActivityTaskCompleted's attributes */
    h_task(&h, 2000);
    expect_unreadable(reg, &h,
                      "history event 7 (ActivityTaskFailed) carries another event type's "
                      "attributes (field 17): the history cannot be replayed");

    act = clock_until_activity(&h);
    h_activity_done(&h, act, "1");
    h.ev[h.n - 1]->attributes_case = TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES__NOT_SET;
    h.ev[h.n - 1]->activity_task_completed_event_attributes = NULL;
    expect_unreadable(reg, &h, "history event 7 (ActivityTaskCompleted) has no attributes");

    clock_until_activity(&h);
    h.ev[h.n - 1]->activity_task_scheduled_event_attributes->activity_type = NULL;
    expect_unreadable(reg, &h, "history event 5 (ActivityTaskScheduled) names no activity type");

    /* A timer's start carrying a fire's attributes (a string read as a Duration). */
    first_task(&h, NULL, NULL);
    h_task_completed(&h);
    h_timer(&h, "1");
    h.ev[4]->event_type = EV(TIMER_FIRED);
    h.ev[5]->event_type = EV(TIMER_STARTED);
    expect_unreadable(reg, &h, "history event 5 (TimerFired) carries another event type's "
                               "attributes (field 20)");
    reg_free(reg);
}

/* A completion, failure or fire of something the code never started (or resolved already)
 * is not this run's history: the engine used to pass over it (and the code waited forever). */
static void stray_resolutions_fail_the_task(void **st)
{
    tw_registry *reg = semantics_lib();
    hist h;
    int64_t act = clock_until_activity(&h);
    h_activity_done(&h, act + 1, "1"); /* names the ActivityTaskStarted event (6) */
    expect_unreadable(reg, &h, "history event 7 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 6, which the workflow did not start");

    act = clock_until_activity(&h);
    h_activity_done(&h, act, "1");
    h_activity_done(&h, act, "2");
    expect_unreadable(reg, &h, "history event 9 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 5, resolved already");

    /* Scheduled id 0: the activity the code makes at this very task has no event yet. */
    first_task(&h, NULL, NULL);
    h_activity_done(&h, 0, "1");
    expect_unreadable(reg, &h, "history event 5 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 0, which the workflow did not start");

    act = clock_until_activity(&h);
    h_activity_done(&h, act, "1");
    h_task(&h, 2000);
    h_task_completed(&h);
    pb_event *fired = add(&h, EV(TIMER_FIRED));
    HA(TimerFired) *at = hmem(&h, sizeof(*at));
    temporal__api__history__v1__timer_fired_event_attributes__init(at);
    at->timer_id = "1";
    fired->attributes_case = HCASE(TIMER_FIRED);
    fired->timer_fired_event_attributes = at;
    expect_unreadable(reg, &h, "history event 11 (TimerFired) resolves timer \"1\", which the "
                               "workflow did not start");
    reg_free(reg);
}

/* Event times saturate: seconds * 1000 overflowed for a time far in the future (found by
 * tests/fuzz/fuzz_engine). The code sees the saturated time. */
static void far_event_times_saturate(void **st)
{
    tw_registry *reg = semantics_lib();
    const struct {
        int64_t seconds;
        int32_t nanos;
        const char *now;
    } cases[] = {
        {INT64_MAX, 999999999, "9223372036854775807"},
        {INT64_MIN, 0, "-9223372036854775808"},
        {INT64_MAX / 1000 - 3, INT32_MAX, "9223372036854774147"}, /* the last one computed */
        {INT64_MAX / 1000 - 2, 0, "9223372036854775807"},
        {1700000000, 123456789, "1700000000123"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hist h;
        first_task(&h, NULL, NULL);
        h.ev[h.n - 1]->event_time->seconds = cases[i].seconds;
        h.ev[h.n - 1]->event_time->nanos = cases[i].nanos;
        arena *a = arena_new(1 << 24);
        wf_output out;
        run_hist(reg, a, &h, "Clock", "run", &out);
        assert_string_equal(activity_argument(&out), cases[i].now);
        arena_free(a);
        arena_free(h.a);
    }
    assert_true(time_to_ms(INT64_MAX, INT32_MAX) == INT64_MAX);
    assert_true(time_to_ms(-(INT64_MAX / 1000 - 3), -INT32_MAX) == -9223372036854774147LL);
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = INT64_MAX;
    assert_true(duration_to_ms(&d) == INT64_MAX);
    d.seconds = 10;
    d.nanos = 500000000;
    assert_int_equal(duration_to_ms(&d), 10500);
    reg_free(reg);
}

/* An empty bytes field unpacks as len 0 and data NULL: an "encoding" entry with an empty value
 * reached memcpy(e, NULL, 0) (found by tests/fuzz/fuzz_engine); and a tw_payload with a
 * length but no bytes is refused, never copied from NULL. */
static void payloads_without_bytes(void **st)
{
    arena *a = arena_new(1 << 20);
    pb_metadata_entry enc = TEMPORAL__API__COMMON__V1__PAYLOAD__METADATA_ENTRY__INIT;
    enc.key = "encoding"; /* value: len 0, data NULL */
    pb_metadata_entry *meta[] = {&enc};
    pb_payload pb = TEMPORAL__API__COMMON__V1__PAYLOAD__INIT;
    pb.metadata = meta;
    pb.n_metadata = 1;
    tw_payload p = payload_from_pb(a, &pb);
    assert_string_equal(p.encoding, "");
    assert_null(p.data);
    assert_int_equal(p.len, 0);

    /* The same through the engine: the workflow's input. */
    tw_registry *reg = semantics_lib();
    hist h;
    first_task(&h, "\"x\"", NULL);
    h.ev[0]->workflow_execution_started_event_attributes->input->payloads[0]->metadata[0]->value =
        (ProtobufCBinaryData){0, NULL};
    wf_output out;
    run_hist(reg, a, &h, "Clock", "run", &out);
    assert_false(out.task_failed);
    arena_free(h.a);
    reg_free(reg);

    tw_payload hollow = {"json/plain", NULL, 3}, fine = tw_json("1"), empty = {NULL, NULL, 0};
    assert_null(payload_to_pb(a, &hollow));
    tw_payload two[] = {fine, hollow};
    assert_null(payloads_to_pb(a, two, 2));
    assert_false(payloads_valid(two, 2));
    assert_false(payloads_valid(NULL, 1));
    assert_true(payloads_valid(NULL, 0));
    assert_true(payloads_valid(&empty, 1));
    assert_non_null(payload_to_pb(a, &empty));
    arena_free(a);
}

/* A size near SIZE_MAX must not wrap around to a small allocation (tw_wf_alloc/tw_act_alloc
 * pass user sizes straight through). */
static void arena_refuses_sizes_past_its_limit(void **st)
{
    arena *a = arena_new(1024 * 1024);
    assert_non_null(a);
    assert_null(arena_alloc(a, (size_t)-1));
    assert_null(arena_alloc(a, (size_t)-8));
    assert_null(arena_alloc(a, 2 * 1024 * 1024));
    assert_non_null(arena_alloc(a, 100));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_histories_replay_cleanly),
        cmocka_unit_test(first_task_schedules_the_activity),
        cmocka_unit_test(second_task_completes_with_the_result),
        cmocka_unit_test(fan_out_starts_activities_and_timer_together),
        cmocka_unit_test(changed_code_is_non_determinism),
        cmocka_unit_test(unknown_type_lists_the_registered),
        cmocka_unit_test(paged_histories_replay_like_whole_ones),
        cmocka_unit_test(unloadable_or_missing_pages_fail_the_task),
        cmocka_unit_test(failure_copy_is_deep),
        cmocka_unit_test(fail_details_outlive_the_callers_frame),
        cmocka_unit_test(out_of_memory_fails_the_task_not_the_workflow),
        cmocka_unit_test(zero_sleep_and_timer_resolve_at_once),
        cmocka_unit_test(failed_attempts_do_not_run_the_code),
        cmocka_unit_test(missing_events_fail_the_task),
        cmocka_unit_test(random_is_seeded_by_the_original_run),
        cmocka_unit_test(random_is_reseeded_at_a_reset_point),
        cmocka_unit_test(arena_refuses_sizes_past_its_limit),
        cmocka_unit_test(attributes_of_another_type_fail_the_task),
        cmocka_unit_test(stray_resolutions_fail_the_task),
        cmocka_unit_test(far_event_times_saturate),
        cmocka_unit_test(payloads_without_bytes),
    };
    return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
