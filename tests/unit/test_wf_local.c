/*
 * Local activities in the engine (temporal/engine/local.c) on histories built event by event
 * (tests/support/wf_hist.h), through tests/fixtures/lib_wf_local.c. The test plays the worker:
 * a run kept between tasks (wf_exec) asks for local activities in its answer, the test gives
 * their outcomes back (wf_exec_local_done) and records the final answer as the server does;
 * then a new run replays the same history from its first event, as another worker would, and
 * must make the same commands from the markers without asking for the activities again. Also
 * the marker's shape (sdk-go's), non-determinism, failures, durable backoff, cancellation,
 * and the histories the local_activity/ feature scenarios recorded on the real server.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/reg.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_local.so", &reg); }
static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* A workflow played live on a kept run, as the worker does. */
typedef struct live {
    whist h;
    const char *type;
    wf_exec *x;
    arena *task;   /* the current task's */
    wf_output out; /* its latest answer */
} live;

static void live_init(live *l, const char *type, const char *input)
{
    memset(l, 0, sizeof(*l));
    wh_init(&l->h);
    l->type = type;
    wh_start(&l->h, input);
}

static void live_free(live *l)
{
    wf_exec_free(l->x);
    arena_free(l->task);
    wh_free(&l->h);
}

static wf_input input_of(live *l, int64_t from)
{
    size_t i = 0;
    while (i < l->h.n && l->h.ev[i]->event_id < from)
        i++;
    return (wf_input){.workflow_type = l->type, .workflow_id = "wf", .run_id = "run",
                      .task_queue = "tq", .events = l->h.ev + i, .nevents = l->h.n - i};
}

/* The next task (its events added already) on the kept run. */
static const wf_output *live_task(live *l)
{
    if (!l->x) {
        wf_input in = input_of(l, 1);
        assert_non_null(l->x = wf_exec_new(reg, &in, 64u << 20));
    }
    arena_free(l->task);
    assert_non_null(l->task = arena_new(64u << 20));
    wf_input in = input_of(l, wf_exec_next_event(l->x));
    assert_int_equal(wf_exec_task(l->x, l->task, &in, &l->out), 0);
    return &l->out;
}

/* Gives local activity |seq| its outcome. */
static const wf_output *live_done(live *l, const wf_local_result *r)
{
    assert_int_equal(wf_exec_local_done(l->x, l->task, NULL, r, &l->out), 0);
    return &l->out;
}

static const wf_output *completed(live *l, uint32_t seq, const char *json, int64_t at_ms)
{
    wf_local_result r = {.seq = seq, .outcome = WF_LOCAL_COMPLETED, .result = tw_json(json),
                         .attempt = 1, .completed_ms = at_ms};
    return live_done(l, &r);
}

/* The answer recorded as the server does (WorkflowTaskCompleted, an event per command). */
static void live_answer(live *l)
{
    l->h.out = l->out;
    wh_answer(&l->h);
    memset(&l->h.out, 0, sizeof(l->h.out));
}

static const char *describe(const wf_output *out)
{
    whist tmp = {.out = *out};
    return wh_commands(&tmp);
}

/* A new run replaying the whole history from its first event: its answer, in |a|. */
static wf_output replay(live *l, arena *a)
{
    wf_input in = input_of(l, 1);
    wf_output out;
    assert_int_equal(wf_run(reg, a, &in, &out), 0);
    return out;
}

/* What the marker command |c| says in its "data" (a JSON object), as text. */
static const char *marker_data(const pb_command *c)
{
    static char buf[512];
    const pb_payloads *d = cmd_marker_detail(c, "data");
    assert_non_null(d);
    assert_int_equal(d->n_payloads, 1);
    snprintf(buf, sizeof(buf), "%.*s", (int)d->payloads[0]->data.len,
             (const char *)d->payloads[0]->data.data);
    return buf;
}

static const char *completion_result(const wf_output *out)
{
    static char buf[512];
    const pb_command *c = out->ncommands ? out->commands[out->ncommands - 1] : NULL;
    assert_non_null(c);
    assert_int_equal(c->command_type, CMD(COMPLETE_WORKFLOW_EXECUTION));
    const pb_payloads *p = c->complete_workflow_execution_command_attributes->result;
    snprintf(buf, sizeof(buf), "%.*s", (int)p->payloads[0]->data.len,
             (const char *)p->payloads[0]->data.data);
    return buf;
}

/* ---- the tests ---- */

static void serial_in_one_task_with_sdk_go_markers(void **st)
{
    live l;
    live_init(&l, "Serial", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    assert_int_equal(out->ncommands, 0);
    assert_int_equal(out->nlocals, 1);
    assert_string_equal(out->locals[0].activity_type, "Echo");
    assert_string_equal(out->locals[0].activity_id, "1");
    assert_int_equal(out->locals[0].attempt, 1);
    assert_int_equal(out->locals[0].nargs, 1);
    assert_memory_equal(out->locals[0].args[0].data, "\"a\"", 3);
    assert_int_equal(out->locals[0].retry.initial_interval_ms, 1000); /* sdk-go's defaults */
    assert_int_equal(out->locals[0].retry.maximum_interval_ms, 100000);
    assert_int_equal(out->locals[0].retry_threshold_ms, 60000);
    assert_int_equal(wf_exec_locals_running(l.x), 1);

    out = completed(&l, out->locals[0].seq, "\"a\"", 1700000000123);
    assert_string_equal(describe(out), "RecordMarker(LocalActivity)");
    assert_int_equal(out->nlocals, 1); /* the second, in the same task */
    assert_string_equal(out->locals[0].activity_id, "2");
    const pb_command *m = out->commands[0];
    cJSON *d = cJSON_Parse(marker_data(m));
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItem(d, "ActivityID")->valuestring, "1");
    assert_string_equal(cJSON_GetObjectItem(d, "ActivityType")->valuestring, "Echo");
    assert_string_equal(cJSON_GetObjectItem(d, "ReplayTime")->valuestring,
                        "2023-11-14T22:13:20.123Z");
    assert_int_equal(cJSON_GetObjectItem(d, "Attempt")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(d, "Backoff")->valueint, 0);
    cJSON_Delete(d);
    const pb_payloads *res = cmd_marker_detail(m, "result");
    assert_non_null(res);
    assert_memory_equal(res->payloads[0]->data.data, "\"a\"", 3);
    assert_null(m->record_marker_command_attributes->failure);

    out = completed(&l, out->locals[0].seq, "\"b\"", 1700000000200);
    assert_string_equal(describe(out), "RecordMarker(LocalActivity) | "
                                       "RecordMarker(LocalActivity) | CompleteWorkflowExecution");
    assert_string_equal(completion_result(out), "\"b\"");
    assert_int_equal(out->nlocals, 0);
    assert_int_equal(wf_exec_locals_running(l.x), 0);
    live_answer(&l);

    /* Replayed: nothing asked of the worker, the commands the history has. */
    arena *a = arena_new(64u << 20);
    wf_output r = replay(&l, a);
    assert_false(r.task_failed);
    assert_int_equal(r.ncommands, 0);
    assert_int_equal(r.nlocals, 0);
    arena_free(a);
    live_free(&l);
}

/* The second task replays the first from its marker (a new run, as another invocation) and
 * asks for what the kept run asks for; the code's time after the marker is the marker's. */
static void replay_takes_the_result_from_the_marker(void **st)
{
    live l;
    live_init(&l, "Mixed", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    assert_int_equal(out->nlocals, 1);
    out = completed(&l, out->locals[0].seq, "\"a\"", 1700000005000);
    assert_string_equal(describe(out), "RecordMarker(LocalActivity) | StartTimer(id 1)");
    live_answer(&l);
    wh_timer_fired(&l.h, "1");
    wh_task(&l.h, 0);
    out = live_task(&l);
    assert_int_equal(out->ncommands, 0);
    assert_int_equal(out->nlocals, 1);
    assert_string_equal(out->locals[0].activity_id, "2");
    assert_memory_equal(out->locals[0].args[0].data, "\"a\"", 3);

    arena *a = arena_new(64u << 20);
    wf_output r = replay(&l, a);
    assert_false(r.task_failed);
    assert_int_equal(r.ncommands, 0);
    assert_int_equal(r.nlocals, 1); /* the first from its marker; the second asked for */
    assert_string_equal(r.locals[0].activity_id, "2");
    arena_free(a);

    out = completed(&l, out->locals[0].seq, "\"c\"", 1700000006000);
    assert_string_equal(completion_result(out), "{\"second\":\"c\",\"time\":1700000005000}");
    live_answer(&l);
    a = arena_new(64u << 20);
    r = replay(&l, a);
    assert_false(r.task_failed);
    assert_int_equal(r.ncommands, 0);
    assert_int_equal(r.nlocals, 0);
    arena_free(a);
    live_free(&l);
}

/* Two at once: the order their outcomes came in is the order replay sees them. */
static void outcomes_replay_in_their_order(void **st)
{
    for (int second_first = 0; second_first < 2; second_first++) {
        live l;
        live_init(&l, "Race", NULL);
        wh_task(&l.h, 0);
        const wf_output *out = live_task(&l);
        assert_int_equal(out->nlocals, 2);
        uint32_t s0 = out->locals[0].seq, s1 = out->locals[1].seq;
        completed(&l, second_first ? s1 : s0, "1", 0);
        out = completed(&l, second_first ? s0 : s1, "2", 0);
        char want[64];
        snprintf(want, sizeof(want), "{\"first\":%d}", second_first);
        assert_string_equal(completion_result(out), want);
        live_answer(&l);
        /* A history whose markers were reordered is replayed in their order: a check that the
         * replay follows them, not the code's order. */
        arena *a = arena_new(64u << 20);
        wf_output r = replay(&l, a);
        assert_false(r.task_failed);
        assert_int_equal(r.ncommands, 0);
        arena_free(a);
        live_free(&l);
    }
}

/* A marker for another activity type than the code asks for is non-determinism. */
static void another_type_is_nondeterministic(void **st)
{
    live l;
    live_init(&l, "Mixed", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    completed(&l, out->locals[0].seq, "\"a\"", 0);
    live_answer(&l);
    /* The history says the first local activity was "Other". */
    for (size_t i = 0; i < l.h.n; i++) {
        pb_event *e = l.h.ev[i];
        if (e->event_type != EV(MARKER_RECORDED))
            continue;
        Temporal__Api__Common__V1__Payload *p =
            e->marker_recorded_event_attributes->details[0]->value->payloads[0];
        static char other[] = "{\"ActivityID\":\"1\",\"ActivityType\":\"Other\",\"Attempt\":1}";
        p->data.data = (uint8_t *)other;
        p->data.len = strlen(other);
    }
    wh_timer_fired(&l.h, "1");
    wh_task(&l.h, 0);
    arena *a = arena_new(64u << 20);
    wf_output r = replay(&l, a);
    assert_true(r.task_failed);
    assert_int_equal(r.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(r.message, "records local activity Other (id 1)"));
    assert_non_null(strstr(r.message, "asked for local activity Echo"));
    arena_free(a);
    live_free(&l);
}

/* A marker for a local activity the code never asked for fails the match. */
static void unknown_marker_is_nondeterministic(void **st)
{
    live l;
    live_init(&l, "Serial", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    out = completed(&l, out->locals[0].seq, "\"a\"", 0);
    live_answer(&l); /* one marker; the code then asked for a second */
    for (size_t i = 0; i < l.h.n; i++) {
        pb_event *e = l.h.ev[i];
        if (e->event_type != EV(MARKER_RECORDED))
            continue;
        Temporal__Api__Common__V1__Payload *p =
            e->marker_recorded_event_attributes->details[0]->value->payloads[0];
        static char other[] = "{\"ActivityID\":\"7\",\"ActivityType\":\"Echo\",\"Attempt\":1}";
        p->data.data = (uint8_t *)other;
        p->data.len = strlen(other);
    }
    wh_task(&l.h, 0);
    arena *a = arena_new(64u << 20);
    wf_output r = replay(&l, a);
    assert_true(r.task_failed);
    assert_int_equal(r.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(r.message, "RecordMarker(LocalActivity)"));
    arena_free(a);
    live_free(&l);
}

/* A failure reaches the code as an activity's, and replays the same from the marker. */
static void failure_is_an_activity_failure(void **st)
{
    live l;
    live_init(&l, "Fails", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    assert_int_equal(out->locals[0].retry.maximum_attempts, 1);
    tw_failure f = {.type = "Boom", .message = "it broke", .kind = TW_FAILURE_APPLICATION};
    wf_local_result r = {.seq = out->locals[0].seq, .outcome = WF_LOCAL_FAILED, .failure = &f,
                         .attempt = 1};
    out = live_done(&l, &r);
    const char *want = "{\"kind\":1,\"type\":\"Boom\",\"activity\":\"Echo\",\"cause\":0}";
    assert_string_equal(completion_result(out), want);
    const pb_failure *pf = out->commands[0]->record_marker_command_attributes->failure;
    assert_non_null(pf);
    assert_string_equal(pf->message, "it broke");
    assert_null(cmd_marker_detail(out->commands[0], "result"));
    live_answer(&l);
    arena *a = arena_new(64u << 20);
    wf_output rp = replay(&l, a);
    assert_false(rp.task_failed);
    assert_int_equal(rp.ncommands, 0);
    arena_free(a);
    live_free(&l);
}

/* A backoff over the threshold: a marker saying so, a durable timer, then attempt 2 under a
 * new id once it fired; a new run replaying that history asks for the same. */
static void durable_backoff(void **st)
{
    live l;
    live_init(&l, "Backoff", NULL);
    wh_task(&l.h, 0);
    const wf_output *out = live_task(&l);
    assert_int_equal(out->locals[0].retry_threshold_ms, 1000);
    tw_failure f = {.type = "Flaky", .message = "not yet"};
    wf_local_result r = {.seq = out->locals[0].seq, .outcome = WF_LOCAL_FAILED, .failure = &f,
                         .attempt = 1, .backoff_ms = 5000};
    out = live_done(&l, &r);
    assert_string_equal(describe(out), "RecordMarker(LocalActivity) | StartTimer(id 1)");
    assert_int_equal(out->nlocals, 0);
    assert_int_equal(out->commands[1]->start_timer_command_attributes->start_to_fire_timeout->seconds, 5);
    cJSON *d = cJSON_Parse(marker_data(out->commands[0]));
    assert_true(cJSON_GetObjectItem(d, "Backoff")->valuedouble == 5e9);
    cJSON_Delete(d);
    live_answer(&l);
    wh_timer_fired(&l.h, "1");
    wh_task(&l.h, 0);
    out = live_task(&l);
    assert_int_equal(out->nlocals, 1);
    assert_int_equal(out->locals[0].attempt, 2);
    assert_string_equal(out->locals[0].activity_id, "2");
    arena *a = arena_new(64u << 20);
    wf_output rp = replay(&l, a);
    assert_false(rp.task_failed);
    assert_int_equal(rp.nlocals, 1);
    assert_int_equal(rp.locals[0].attempt, 2);
    assert_string_equal(rp.locals[0].activity_id, "2");
    arena_free(a);
    out = completed(&l, out->locals[0].seq, "\"ok\"", 0);
    assert_string_equal(completion_result(out), "\"ok\"");
    live_answer(&l);
    live_free(&l);
}

/* Cancelled while running (its task completed early, as the worker's heartbeat does): TRY and
 * ABANDON resolve at once with a cancel marker (TRY tells the worker), WAIT_COMPLETED waits
 * for the worker's answer. Each history replays. */
static void cancellation_types(void **st)
{
    for (int type = 0; type <= 2; type++) {
        live l;
        char in[4];
        snprintf(in, sizeof(in), "%d", type);
        live_init(&l, "Cancel", in);
        wh_task(&l.h, 0);
        const wf_output *out = live_task(&l);
        assert_int_equal(out->nlocals, 1);
        uint32_t seq = out->locals[0].seq;
        assert_string_equal(describe(out), "StartTimer(id 1)");
        live_answer(&l); /* heartbeat: completed while it runs */
        wh_timer_fired(&l.h, "1");
        wh_task(&l.h, 0);
        out = live_task(&l);
        if (type == TW_CANCEL_WAIT_COMPLETED) {
            assert_int_equal(out->ncommands, 0);
            assert_int_equal(out->nlocal_cancels, 1);
            assert_int_equal(wf_exec_locals_running(l.x), 1);
            out = completed(&l, seq, "\"stopped\"", 0);
            assert_string_equal(completion_result(out), "{\"result\":\"stopped\",\"rc\":0}");
        } else {
            assert_int_equal(out->nlocal_cancels, type == TW_CANCEL_TRY ? 1 : 0);
            assert_string_equal(describe(out),
                                "RecordMarker(LocalActivity) | CompleteWorkflowExecution");
            assert_string_equal(completion_result(out), "{\"result\":null,\"rc\":-5}");
            const pb_failure *pf = out->commands[0]->record_marker_command_attributes->failure;
            assert_non_null(pf);
            assert_non_null(pf->canceled_failure_info);
            assert_int_equal(wf_exec_locals_running(l.x), 0); /* nothing waits for it */
        }
        live_answer(&l);
        arena *a = arena_new(64u << 20);
        wf_output r = replay(&l, a);
        assert_false(r.task_failed);
        assert_int_equal(r.ncommands, 0);
        assert_int_equal(r.nlocals, 0);
        arena_free(a);
        live_free(&l);
    }
}

/* Bad calls. */
static void bad_options(void **st)
{
    /* Outside a workflow: TW_ESTATE (the option checks come after). */
    tw_local_activity_options o = {.start_to_close_ms = 1};
    assert_int_equal(api_table()->wf_start_local_activity(NULL, "Echo", &o, NULL, 0, NULL),
                     TW_ESTATE);
}

/* The __stack_trace query names the local activity a coroutine waits on. */
static void stack_trace_names_the_local_activity(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wh_task(&h, 0);
    arena *a = arena_new(64u << 20);
    wf_input in = {.workflow_type = "Serial", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h.ev, .nevents = h.n, .stack_trace = 1};
    wf_output out;
    assert_int_equal(wf_run(reg, a, &in, &out), 0);
    assert_int_equal(out.nlocals, 1);
    assert_non_null(out.stack_trace);
    if (!strstr(out.stack_trace, "local activity 1 \"Echo\""))
        fail_msg("stack trace: %s", out.stack_trace);
    arena_free(a);
    wh_free(&h);
}

/* ---- histories recorded from the real server ---- */

static void feature_histories_replay(void **st)
{
    static const char *const features[] = {
        "local_activity/serial", "local_activity/concurrent", "local_activity/retry_on_error",
        "local_activity/one_success_one_fail", "local_activity/backoff_with_persistent_timer",
        "local_activity/complete_eventually", "local_activity/cancel_try_cancel",
        "local_activity/cancel_failing", "local_activity/cancel_wait_completed",
        "local_activity/cancel_abandon", "local_activity/complete_immediately",
        "local_activity/non_retryable_error_from_activity",
        "local_activity/non_retryable_error_in_options"};
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        char lib[PATH_MAX], rel[128], file[160], err[512];
        snprintf(rel, sizeof(rel), "features/%s.so", features[i]);
        if (!realpath(harness_built(rel), lib))
            fail_msg("no %s", harness_built(rel));
        tw_registry *r;
        if (reg_load(&r, lib, NULL, api_table(), err, sizeof(err)) != 0)
            fail_msg("%s", err);
        snprintf(file, sizeof(file), "tests/data/features/%s-0.history", features[i]);
        *strchr(file + strlen("tests/data/features/"), '/') = '_';
        size_t len;
        char *raw = read_all(file, &len);
        if (!len)
            fail_msg("cannot read %s (tests/features/record-histories.sh records it)", file);
        pb_history *hist = temporal__api__history__v1__history__unpack(NULL, len,
                                                                      (const uint8_t *)raw);
        free(raw);
        assert_non_null(hist);
        arena *a = arena_new(64u << 20);
        wf_input in = {.workflow_type = "Workflow", .workflow_id = "wf", .run_id = "run",
                       .task_queue = "tq", .events = hist->events, .nevents = hist->n_events};
        wf_output out;
        assert_int_equal(wf_run(r, a, &in, &out), 0);
        if (out.task_failed)
            fail_msg("%s: %s", file, out.message);
        assert_int_equal(out.ncommands, 0);
        assert_int_equal(out.nlocals, 0); /* nothing runs again: the markers have it */
        arena_free(a);
        temporal__api__history__v1__history__free_unpacked(hist, NULL);
        reg_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serial_in_one_task_with_sdk_go_markers),
        cmocka_unit_test(replay_takes_the_result_from_the_marker),
        cmocka_unit_test(outcomes_replay_in_their_order),
        cmocka_unit_test(another_type_is_nondeterministic),
        cmocka_unit_test(unknown_marker_is_nondeterministic),
        cmocka_unit_test(failure_is_an_activity_failure),
        cmocka_unit_test(durable_backoff),
        cmocka_unit_test(cancellation_types),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(stack_trace_names_the_local_activity),
        cmocka_unit_test(feature_histories_replay),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
