/*
 * Child workflows in the engine (temporal/engine/child.c) on histories built task by task the
 * way the server writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_child.c:
 * the command and its options, both futures, every way a child ends (completed, failed, timed
 * out, terminated, cancelled, could not start) as the parent sees it, the four cancellation
 * types, signalling a child, and histories that cannot be this run's. Each history is then
 * replayed whole (no new command), and each run is checked against a kept one (wf_shadow).
 * The histories the child_workflow/ feature scenarios drove on the real server
 * (tests/data/features/, tests/features/record-histories.sh) replay with their libraries.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/wf.h"
#include "tests/support/harness.h"
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_child.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

static void expect(whist *h, const char *type, const char *commands)
{
    wa_expect(h, reg, type, commands);
}

/* The whole history replays without a new command (the code takes the same path). */
static void replays_cleanly(whist *h, const char *type) { expect(h, type, ""); }

/* The result of the last answer contains |part|. */
static void result_has(const whist *h, const char *part)
{
    const char *r = wa_result(h);
    if (!strstr(r, part))
        fail_msg("result %s lacks %s", r, part);
}

/* Parent up to its child's start: "child-1" initiated and, when |started|, started. */
static void parent_started(whist *h, int started)
{
    wh_init(h);
    wh_start(h, "\"test\"");
    expect(h, "Parent", "StartChildWorkflowExecution(type Child, id child-1)");
    wh_answer(h);
    if (started) {
        wh_child_started(h, "child-1", "run-c1");
        wh_task(h, 2000);
        expect(h, "Parent", ""); /* the started future resolved; the result is awaited */
        wh_answer(h);
    }
}

static void child_completes(void **st)
{
    whist h;
    parent_started(&h, 1);
    wh_child_completed(&h, "child-1", "\"test\"");
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h),
                        "{\"started\":0,\"run\":\"run-c1\",\"rc\":0,\"result\":\"test\"}");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);

    /* Where the parent waits, for the __stack_trace query: on the child's started future. */
    parent_started(&h, 0);
    wh_run(&h, reg, "Parent", 1);
    assert_non_null(h.out.stack_trace);
    if (!strstr(h.out.stack_trace, "tw_await StartChildWorkflowExecution child-1"))
        fail_msg("stack trace: %s", h.out.stack_trace);
    wh_free(&h);

    /* Started and completed in one batch: the same answer. */
    parent_started(&h, 0);
    wh_child_started(&h, "child-1", "run-c1");
    wh_child_completed(&h, "child-1", "\"test\"");
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h),
                        "{\"started\":0,\"run\":\"run-c1\",\"rc\":0,\"result\":\"test\"}");
    wh_free(&h);
}

/* Command attributes: the id, type, queue, options and input the server gets. */
static void the_command_carries_the_options(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Options", "StartChildWorkflowExecution(type Child, id child-o)");
    const Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
        h.out.commands[0]->start_child_workflow_execution_command_attributes;
    assert_string_equal(a->task_queue->name, "elsewhere");
    assert_int_equal(a->workflow_execution_timeout->seconds, 600);
    assert_int_equal(a->workflow_run_timeout->seconds, 300);
    assert_int_equal(a->workflow_task_timeout->seconds, 20);
    assert_int_equal(a->parent_close_policy, TW_PARENT_CLOSE_ABANDON);
    assert_int_equal(a->workflow_id_reuse_policy, TW_ID_REUSE_REJECT_DUPLICATE);
    assert_int_equal(a->retry_policy->initial_interval->seconds, 2);
    assert_true(a->retry_policy->backoff_coefficient == 3.0);
    assert_int_equal(a->retry_policy->maximum_attempts, 4);
    assert_int_equal(a->retry_policy->n_non_retryable_error_types, 1);
    assert_string_equal(a->retry_policy->non_retryable_error_types[0], "Fatal");
    assert_string_equal(a->cron_schedule, "@every 1h");
    assert_int_equal(a->memo->n_fields, 1);
    assert_string_equal(a->memo->fields[0]->key, "owner");
    assert_int_equal(a->search_attributes->n_indexed_fields, 2);
    assert_string_equal(a->search_attributes->indexed_fields[0]->key, "CustomKeywordField");
    const Temporal__Api__Common__V1__Payload *v = a->search_attributes->indexed_fields[1]->value;
    assert_memory_equal(v->data.data, "7", v->data.len);
    int typed = 0;
    for (size_t i = 0; i < v->n_metadata; i++)
        typed |= strcmp(v->metadata[i]->key, "type") == 0 &&
                 v->metadata[i]->value.len == 3 && memcmp(v->metadata[i]->value.data, "Int", 3) == 0;
    assert_true(typed);
    assert_int_equal(a->input->n_payloads, 1);
    assert_memory_equal(a->input->payloads[0]->data.data, "1", 1);
    assert_non_null(a->header); /* what tw_set_header() set goes with the child */
    assert_int_equal(a->header->n_fields, 1);
    assert_string_equal(a->header->fields[0]->key, "trace-id");
    wh_free(&h);

    /* Defaults: ids from the parent's run id and a sequence, its task queue, TERMINATE. */
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Defaults", "StartChildWorkflowExecution(type Child, id run_1)");
    a = h.out.commands[0]->start_child_workflow_execution_command_attributes;
    assert_string_equal(a->task_queue->name, "tq");
    assert_int_equal(a->parent_close_policy, TW_PARENT_CLOSE_TERMINATE);
    assert_null(a->workflow_execution_timeout);
    assert_null(a->retry_policy);
    wh_answer(&h);
    wh_child_started(&h, "run_1", "r1");
    wh_child_completed(&h, "run_1", "\"a\"");
    wh_task(&h, 2000);
    expect(&h, "Defaults", "StartChildWorkflowExecution(type Child, id run_2)");
    wh_answer(&h);
    wh_child_started(&h, "run_2", "r2");
    wh_child_completed(&h, "run_2", "\"b\"");
    wh_task(&h, 3000);
    expect(&h, "Defaults", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[\"a\",\"b\"]");
    wh_answer(&h);
    replays_cleanly(&h, "Defaults");
    wh_free(&h);
}

/* Bad options are TW_EINVAL and make no command. */
static void bad_options_are_refused(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "BadOptions", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[-1,-1,-1,-1,-1,-1]");
    wh_free(&h);
}

/* Every end but completion reaches the parent as a ChildWorkflow failure with its cause. */
static void child_failures_have_their_cause(void **st)
{
    whist h;
    /* Failed: its application failure (details too) is the cause; type and message on top. */
    parent_started(&h, 1);
    tw_payload d = tw_json("{\"foo\":\"bar\"}");
    tw_failure app = {.type = "TestError", .message = "Test message", .non_retryable = 1,
                      .details = &d, .ndetails = 1};
    wh_child_failed(&h, "child-1", &app, 2);
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "\"rc\":-4,\"failure\":{\"kind\":6,\"type\":\"TestError\",\"message\":"
                   "\"Test message\",\"retry_state\":2,\"timeout_type\":0,\"details\":"
                   "{\"foo\":\"bar\"},\"cause\":{\"kind\":0,\"type\":\"TestError\"");
    result_has(&h, "\"child\":\"Child|child-1|");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);

    /* Timed out: a timeout (start-to-close, as sdk-go) caused it. */
    parent_started(&h, 1);
    wh_child_timed_out(&h, "child-1", 3);
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "\"rc\":-4,\"failure\":{\"kind\":6,\"type\":\"Timeout\"");
    result_has(&h, "\"retry_state\":3,\"timeout_type\":1");
    result_has(&h, "\"cause\":{\"kind\":3,\"type\":\"Timeout\"");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);

    /* Terminated. */
    parent_started(&h, 1);
    wh_child_terminated(&h, "child-1");
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "\"rc\":-4,\"failure\":{\"kind\":6,\"type\":\"Terminated\"");
    result_has(&h, "\"cause\":{\"kind\":4,\"type\":\"Terminated\"");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);

    /* Cancelled (by someone else): TW_ECANCELED, the cause a cancellation with its details. */
    parent_started(&h, 1);
    wh_child_canceled(&h, "child-1", "\"why\"");
    wh_task(&h, 3000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "\"rc\":-5,\"failure\":{\"kind\":6,\"type\":\"Canceled\"");
    result_has(&h, "\"cause\":{\"kind\":2,\"type\":\"Canceled\"");
    result_has(&h, "\"details\":\"why\"");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);
}

/* The id is taken: both futures fail with ChildWorkflowExecutionAlreadyStarted. */
static void start_failure_fails_both_futures(void **st)
{
    whist h;
    parent_started(&h, 0);
    wh_child_start_failed(&h, "child-1", 1);
    wh_task(&h, 2000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "{\"started\":-4,\"run\":\"\",\"rc\":-4,\"failure\":{\"kind\":0,"
                   "\"type\":\"ChildWorkflowExecutionAlreadyStarted\"");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);

    /* The second of two children with one id (REJECT_DUPLICATE): the upstream scenario. */
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "TwoSameId", "StartChildWorkflowExecution(type Child, id child-x)");
    wh_answer(&h);
    wh_child_started(&h, "child-x", "rx");
    wh_task(&h, 2000);
    expect(&h, "TwoSameId", "StartChildWorkflowExecution(type Child, id child-x)");
    wh_answer(&h);
    wh_child_start_failed(&h, "child-x", 1); /* the last initiated: the second */
    wh_task(&h, 3000);
    expect(&h, "TwoSameId", "CompleteWorkflowExecution");
    result_has(&h, "{\"rc\":-4,\"result_rc\":-4,\"failure\":{\"kind\":0,"
                   "\"type\":\"ChildWorkflowExecutionAlreadyStarted\"");
    wh_answer(&h);
    replays_cleanly(&h, "TwoSameId");
    wh_free(&h);
}

/* Cancel up to the tw_cancel: |code| = 10 * type + when (see the fixture). */
static void cancel_until(whist *h, int code)
{
    char arg[8];
    snprintf(arg, sizeof(arg), "%d", code);
    wh_init(h);
    wh_start(h, arg);
}

static void cancellation_types(void **st)
{
    whist h;
    /* Cancelled before the command went out: no command at all, TW_ECANCELED. */
    cancel_until(&h, 0);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,\"failure\":{\"kind\":6,\"type\":\"Canceled\"");
    wh_free(&h);

    /* WAIT_COMPLETED (the default), started: the request goes out, the await waits for the
     * child's end. */
    cancel_until(&h, 2);
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c)");
    wh_answer(&h);
    wh_child_started(&h, "child-c", "rc1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "RequestCancelExternalWorkflowExecution(workflow child-c)");
    const Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes *ca =
        h.out.commands[0]->request_cancel_external_workflow_execution_command_attributes;
    assert_true(ca->child_workflow_only);
    assert_string_equal(ca->run_id, "rc1");
    wh_answer(&h);
    wh_external_cancel_requested(&h, "child-c");
    wh_task(&h, 3000);
    expect(&h, "Cancel", ""); /* still waiting for the child to end */
    wh_answer(&h);
    wh_child_canceled(&h, "child-c", NULL);
    wh_task(&h, 4000);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,\"failure\":{\"kind\":6,\"type\":\"Canceled\"");
    wh_answer(&h);
    replays_cleanly(&h, "Cancel");
    wh_free(&h);

    /* WAIT_REQUESTED: the await returns once the request is delivered. */
    cancel_until(&h, 12);
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c)");
    wh_answer(&h);
    wh_child_started(&h, "child-c", "rc1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "RequestCancelExternalWorkflowExecution(workflow child-c)");
    wh_answer(&h);
    wh_external_cancel_requested(&h, "child-c");
    wh_task(&h, 3000);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,");
    wh_answer(&h);
    replays_cleanly(&h, "Cancel");
    wh_free(&h);

    /* TRY: the request goes out with the completion; the child's later end is dropped. */
    cancel_until(&h, 22);
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c)");
    wh_answer(&h);
    wh_child_started(&h, "child-c", "rc1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "RequestCancelExternalWorkflowExecution(workflow child-c) | "
                         "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,");
    wh_answer(&h);
    replays_cleanly(&h, "Cancel");
    wh_free(&h);

    /* ABANDON: no request at all. */
    cancel_until(&h, 32);
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c)");
    wh_answer(&h);
    wh_child_started(&h, "child-c", "rc1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,");
    wh_free(&h);

    /* TRY before the child started: the request goes out once it starts. */
    cancel_until(&h, 21);
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c) | StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":-5,");
    wh_answer(&h);
    wh_free(&h);

    cancel_until(&h, 1); /* WAIT_COMPLETED before it started: waits, asks once started */
    expect(&h, "Cancel", "StartChildWorkflowExecution(type Child, id child-c) | StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 2000);
    expect(&h, "Cancel", "");
    wh_answer(&h);
    wh_child_started(&h, "child-c", "rc1");
    wh_task(&h, 3000);
    expect(&h, "Cancel", "RequestCancelExternalWorkflowExecution(workflow child-c)");
    wh_answer(&h);
    wh_external_cancel_requested(&h, "child-c");
    wh_child_completed(&h, "child-c", "\"c\""); /* it completed anyway: that is the result */
    wh_task(&h, 4000);
    expect(&h, "Cancel", "CompleteWorkflowExecution");
    result_has(&h, "{\"cancel\":0,\"rc\":0,");
    wh_answer(&h);
    replays_cleanly(&h, "Cancel");
    wh_free(&h);
}

/* The parent's own cancel reaches its wait on the child: the child is asked to cancel. */
static void parent_cancel_cancels_the_child(void **st)
{
    whist h;
    parent_started(&h, 1);
    wh_cancel_requested(&h);
    wh_task(&h, 3000);
    expect(&h, "Parent", "RequestCancelExternalWorkflowExecution(workflow child-1)");
    wh_answer(&h);
    wh_external_cancel_requested(&h, "child-1");
    wh_child_canceled(&h, "child-1", NULL);
    wh_task(&h, 4000);
    expect(&h, "Parent", "CompleteWorkflowExecution");
    result_has(&h, "\"rc\":-5,");
    wh_answer(&h);
    replays_cleanly(&h, "Parent");
    wh_free(&h);
}

static void signalling_a_child(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Signal", "StartChildWorkflowExecution(type Child, id child-s)");
    wh_answer(&h);
    wh_child_started(&h, "child-s", "rs");
    wh_task(&h, 2000);
    expect(&h, "Signal", "SignalExternalWorkflowExecution(workflow child-s, signal unblock)");
    const Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes *sa =
        h.out.commands[0]->signal_external_workflow_execution_command_attributes;
    assert_true(sa->child_workflow_only);
    assert_string_equal(sa->execution->run_id, "rs");
    wh_answer(&h);
    wh_external_signaled(&h, "child-s");
    wh_child_completed(&h, "child-s", "\"go\"");
    wh_task(&h, 3000);
    expect(&h, "Signal", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "{\"signal\":0,\"rc\":0,\"result\":\"go\"}");
    wh_answer(&h);
    replays_cleanly(&h, "Signal");
    wh_free(&h);
}

/* Histories that cannot be this run's fail the task naming the event. */
static void bad_histories_fail_the_task(void **st)
{
    whist h;
    /* An end before the start. */
    parent_started(&h, 0);
    wh_child_completed(&h, "child-1", "\"x\"");
    wh_task(&h, 2000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "ends a child workflow that never started"));
    wh_free(&h);

    /* Two starts. */
    parent_started(&h, 1);
    wh_child_started(&h, "child-1", "again");
    wh_task(&h, 3000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "ChildWorkflowExecutionStarted) starts a child"));
    wh_free(&h);

    /* Two ends. */
    parent_started(&h, 1);
    wh_child_completed(&h, "child-1", "\"x\"");
    wh_child_terminated(&h, "child-1");
    wh_task(&h, 3000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "ends a child workflow that ended already"));
    wh_free(&h);

    /* A start that fails twice. */
    parent_started(&h, 0);
    wh_child_start_failed(&h, "child-1", 1);
    wh_child_start_failed(&h, "child-1", 1);
    wh_task(&h, 2000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "fails the start of a child workflow a second time"));
    wh_free(&h);

    /* A start event naming no run. */
    parent_started(&h, 0);
    wh_child_started(&h, "child-1", "");
    wh_task(&h, 2000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "names no run"));
    wh_free(&h);

    /* A child of another id where the code started child-1: non-determinism. */
    wh_init(&h);
    wh_start(&h, "\"test\"");
    expect(&h, "Parent", "StartChildWorkflowExecution(type Child, id child-1)");
    Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes *a =
        h.out.commands[0]->start_child_workflow_execution_command_attributes;
    a->workflow_id = "other";
    wh_answer(&h);
    wh_task(&h, 2000);
    wh_run(&h, reg, "Parent", 0);
    assert_true(h.out.task_failed);
    assert_int_equal(h.out.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(h.out.message, "StartChildWorkflowExecution(type Child, id other)"));
    wh_free(&h);
}

/* ---- histories recorded from the real server ---- */

/* Does |hist| have an event of |type|? */
static int has_event(const pb_history *hist, int type)
{
    for (size_t i = 0; i < hist->n_events; i++)
        if ((int)hist->events[i]->event_type == type)
            return 1;
    return 0;
}

/* Replays the |k|-th history feature |name| (AREA/NAME) recorded with its library, as workflow
 * |wf_type|, to its end: no new command, no failure. It must hold an event of |type|. */
static void feature_replays_as(const char *name, int k, const char *wf_type, int type)
{
    char rel[128], path[256];
    snprintf(rel, sizeof(rel), "features/%s.so", name);
    tw_registry *r;
    assert_int_equal(wa_load(rel, &r), 0);
    snprintf(path, sizeof(path), "tests/data/features/%s-%d.history", name, k);
    *strchr(path + strlen("tests/data/features/"), '/') = '_';
    size_t len;
    char *raw = read_all(path, &len);
    if (!raw || !len)
        fail_msg("cannot read %s (tests/features/record-histories.sh records it)", path);
    pb_history *hist = temporal__api__history__v1__history__unpack(NULL, len, (uint8_t *)raw);
    free(raw);
    assert_non_null(hist);
    if (!has_event(hist, type))
        fail_msg("%s has no event of type %d", path, type);
    /* The parent's run id, which its children's default ids are made of: the started event
     * names it (original_execution_run_id, a first run's own). */
    const char *run = hist->events[0]->workflow_execution_started_event_attributes
                          ->original_execution_run_id;
    /* Its workflow id, which handle/ and throws_on_start/ name their child after
     * ("<parent id>-child"). */
    char id[256] = "wf";
    for (size_t i = 0; i < hist->n_events; i++)
        if (hist->events[i]->event_type == EV(START_CHILD_WORKFLOW_EXECUTION_INITIATED)) {
            const char *child = hist->events[i]
                                    ->start_child_workflow_execution_initiated_event_attributes
                                    ->workflow_id;
            size_t n = strlen(child);
            if (n > 6 && n < sizeof(id) && strcmp(child + n - 6, "-child") == 0)
                snprintf(id, sizeof(id), "%.*s", (int)(n - 6), child);
            break;
        }
    wf_input in = {.workflow_type = wf_type, .workflow_id = id, .run_id = run,
                   .task_queue = "tq", .events = hist->events, .nevents = hist->n_events};
    wf_output out;
    arena *a = arena_new(64u << 20);
    assert_non_null(a);
    assert_int_equal(wf_run(r, a, &in, &out), 0);
    if (out.task_failed)
        fail_msg("%s: the task failed: %s", name, out.message);
    if (out.ncommands)
        fail_msg("%s: %zu new commands", name, out.ncommands);
    arena_free(a);
    temporal__api__history__v1__history__free_unpacked(hist, NULL);
    reg_free(r);
}

static void feature_replays(const char *name, int type)
{
    feature_replays_as(name, 0, "Workflow", type);
}

/* Every child event, as the server writes it. */
static void feature_histories_replay(void **st)
{
    feature_replays("child_workflow/result", EV(CHILD_WORKFLOW_EXECUTION_COMPLETED));
    feature_replays("child_workflow/signal", EV(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED));
    feature_replays("signal/child_workflow", EV(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED));
    feature_replays("child_workflow/start", EV(CHILD_WORKFLOW_EXECUTION_STARTED));
    feature_replays("child_workflow/handle", EV(CHILD_WORKFLOW_EXECUTION_COMPLETED));
    feature_replays("child_workflow/retry", EV(CHILD_WORKFLOW_EXECUTION_FAILED));
    feature_replays("child_workflow/throws_on_execute", EV(CHILD_WORKFLOW_EXECUTION_FAILED));
    feature_replays("child_workflow/throws_on_start", EV(START_CHILD_WORKFLOW_EXECUTION_FAILED));
    feature_replays("child_workflow/throws_on_termination",
                    EV(CHILD_WORKFLOW_EXECUTION_TERMINATED));
    feature_replays("child_workflow/throws_on_timeout", EV(CHILD_WORKFLOW_EXECUTION_TIMED_OUT));
    feature_replays("child_workflow/cancel_try_cancel",
                    EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    feature_replays("child_workflow/cancel_wait_requested",
                    EV(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    feature_replays("child_workflow/cancel_wait_completed", EV(CHILD_WORKFLOW_EXECUTION_CANCELED));
    feature_replays_as("child_workflow/cancel_abandon", 0, "MainScope",
                       EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    feature_replays_as("child_workflow/cancel_abandon", 1, "InnerScope",
                       EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    feature_replays_as("child_workflow/cancel_abandon", 2, "InnerScope",
                       EV(WORKFLOW_EXECUTION_SIGNALED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(child_completes),
        cmocka_unit_test(the_command_carries_the_options),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(child_failures_have_their_cause),
        cmocka_unit_test(start_failure_fails_both_futures),
        cmocka_unit_test(cancellation_types),
        cmocka_unit_test(parent_cancel_cancels_the_child),
        cmocka_unit_test(signalling_a_child),
        cmocka_unit_test(bad_histories_fail_the_task),
        cmocka_unit_test(feature_histories_replay),
    };
    return cmocka_run_group_tests_name("wf_child", tests, group_setup, group_teardown);
}
