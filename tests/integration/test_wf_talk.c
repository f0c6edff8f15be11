/*
 * End to end, workflows people talk to: build/bootstrap runs tests/fixtures/lib_wf_talk.c
 * under the local Lambda emulator against the real Temporal server, and the official Go SDK
 * (tw-driver) starts, signals and cancels the workflows and reads their histories:
 *
 *   - several coroutines (tw_go) run activities and are joined; a condition wait wins over its
 *     timeout timer, which is cancelled (TimerCanceled in the history), or times out;
 *   - cancellation: the losing timer of a select is cancelled; an activity cancelled with each
 *     cancellation type; a workflow cancelled from the client cleans up with an activity and
 *     ends CANCELED; another workflow cancelled from a workflow, or not found;
 *   - signals: signal-with-start and handlers (one blocking on an activity, the default one),
 *     signals while activities complete (handled, and the history replays: no task failure),
 *     channel-style receive with a timeout, 600 signals (a history of several pages, read by
 *     the worker page by page), signalling another workflow and one that does not exist;
 *   - failures keep their shape: an activity's error (with its own cause) reaches the workflow
 *     as an activity failure with its cause chain, a heartbeat timeout with its type and last
 *     details, and a workflow re-raising it fails as an ActivityFailure the Go client reads.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define LIB "fixtures/lib_wf_talk.so"

static tserver srv;

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* A current deployment version for a fresh task queue, and an emulator running
 * build/bootstrap with the fixture library for it (2 s idle exit, so invocations end soon
 * after the work). */
static void deploy(flow_fn *f, int timeout_s)
{
    static const char *const idle[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    flow_deploy(f, &srv, "talk");
    flow_run(f, &(flow_opts){.library = LIB, .timeout_s = timeout_s, .env = idle});
}

/* The end of the latest run of workflow |id|. */
static cJSON *await_end(const char *id)
{
    return flow_await(&srv, id, "30s");
}

static cJSON *history(const char *id)
{
    return flow_history(&srv, id, NULL);
}

/* ---- coroutines ---- */

static void coroutines_join_their_activities(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    flow_start(&f, "GoJoin", flow_new_id(id, sizeof(id), "gojoin"), NULL);
    flow_invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"), "[\"a\",\"b\"]");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The condition holds after the coroutine's 1 s timer: the 60 s timeout timer is cancelled,
 * so it never fires (nor costs an invocation); ConditionTimeout's 1 s timer fires instead. */
static void condition_wait_cancels_or_times_out(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char won[64], timed[64];
    flow_start(&f, "Condition", flow_new_id(won, sizeof(won), "cond"), "1000");
    flow_start(&f, "ConditionTimeout", flow_new_id(timed, sizeof(timed), "condto"), NULL);
    flow_invoke_ok(&f);
    cJSON *a = await_end(won), *b = await_end(timed);
    assert_string_equal(flow_str(a, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(a, "result"), "{\"waited\":0}");
    assert_string_equal(flow_str(b, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(b, "result"), "{\"waited\":-7}");
    cJSON *h = history(won);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_STARTED"), 2);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_FIRED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_CANCELED"), 1);
    cJSON_Delete(h);
    cJSON_Delete(a);
    cJSON_Delete(b);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- cancellation ---- */

/* Waits (up to 15 s) until |id|'s history has an event of |type|. */
static void wait_for_event(const char *id, const char *type)
{
    for (int i = 0; i < 150; i++) {
        cJSON *h = history(id);
        int n = flow_count_events(h, type);
        cJSON_Delete(h);
        if (n)
            return;
        usleep(100 * 1000);
    }
    fail_msg("%s: no %s after 15 s", id, type);
}

static void select_cancels_the_losing_timer(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    flow_start(&f, "SelectCancels", flow_new_id(id, sizeof(id), "select"), NULL);
    flow_invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(flow_member_json(done, "result"), "{\"ready\":0,\"cancel\":0}");
    cJSON *h = history(id);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_CANCELED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_FIRED"), 0);
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* Slow (heartbeating) cancelled a second after it started, with each cancellation type. */
static void activity_cancellation_types(void **st)
{
    flow_fn f;
    deploy(&f, 14);
    char try_id[64], wait_id[64], abandon_id[64];
    const char *try_args[] = {"start", "--id", flow_new_id(try_id, sizeof(try_id), "try"), "--type",
                              "CancelActivity", "--task-queue", f.queue, "--input", "0", NULL};
    const char *wait_args[] = {"start", "--id", flow_new_id(wait_id, sizeof(wait_id), "wait"),
                               "--type", "CancelActivity", "--task-queue", f.queue, "--input",
                               "1", NULL};
    const char *abandon_args[] = {"start", "--id", flow_new_id(abandon_id, sizeof(abandon_id), "aban"),
                                  "--type", "CancelActivity", "--task-queue", f.queue, "--input",
                                  "2", "--input", "3000", NULL};
    flow_call_ok(&srv, try_args);
    flow_call_ok(&srv, wait_args);
    flow_call_ok(&srv, abandon_args);
    flow_invoke_ok(&f);
    const char *ids[] = {try_id, wait_id, abandon_id};
    for (int i = 0; i < 3; i++) {
        cJSON *done = await_end(ids[i]);
        assert_string_equal(flow_str(done, "status"), "COMPLETED");
        assert_string_equal(flow_member_json(done, "result"), "{\"cancel\":0,\"await\":-5}");
        cJSON *h = history(ids[i]);
        /* TRY and WAIT ask the server; only WAIT waits for the activity's answer. */
        assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED"), i < 2);
        assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_CANCELED"), i == 1);
        cJSON_Delete(h);
        cJSON_Delete(done);
    }
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* `cancel` from the Go client while the workflow waits on Slow: the activity is cancelled, the
 * cleanup activity runs, the workflow ends CANCELED. */
static void cancelled_workflow_cleans_up(void **st)
{
    flow_fn f;
    deploy(&f, 14);
    char id[64];
    flow_start(&f, "CancelMe", flow_new_id(id, sizeof(id), "cancelme"), "1");
    flow_bg b;
    flow_bg_start(&b, &f);
    /* The server writes ActivityTaskStarted only when the activity ends: give it a moment to
     * start once scheduled. */
    wait_for_event(id, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED");
    usleep(1500 * 1000);
    const char *cancel[] = {"cancel", "--id", id, NULL};
    flow_call_ok(&srv, cancel);
    flow_bg_join_ok(&b);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "CANCELED");
    cJSON *h = history(id);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_CANCELED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"), 1); /* cleanup */
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED"), 1);
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* A workflow cancels another one (CancelCompletes, which completes when cancelled), and one
 * that does not exist. */
static void cancelling_another_workflow(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char target[64], canceller[64], lost[64], arg[96];
    flow_start(&f, "CancelCompletes", flow_new_id(target, sizeof(target), "target"), NULL);
    snprintf(arg, sizeof(arg), "\"%s\"", target);
    flow_start(&f, "CancelOther", flow_new_id(canceller, sizeof(canceller), "canceller"), arg);
    flow_start(&f, "CancelOther", flow_new_id(lost, sizeof(lost), "lost"), "\"no-such-workflow\"");
    flow_invoke_ok(&f);
    cJSON *a = await_end(canceller), *b = await_end(target), *c = await_end(lost);
    assert_string_equal(flow_member_json(a, "result"), "{\"rc\":0,\"type\":\"\"}");
    assert_string_equal(flow_member_json(b, "result"), "{\"slept\":-5,\"cancel_requested\":1}");
    assert_string_equal(flow_member_json(c, "result"),
                        "{\"rc\":-4,\"type\":\"ExternalWorkflowExecutionNotFound\"}");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- signals ---- */

static void signal(const char *id, const char *name, const char *input)
{
    const char *args[] = {"signal", "--id", id, "--name", name, input ? "--input" : NULL, input,
                          NULL};
    flow_call_ok(&srv, args);
}

/* Signal-with-start, then signals of every kind sent before the worker runs: the handlers are
 * set in the workflow's first task and get the buffered signals, each name's in order. */
static void signal_with_start_and_handlers(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char id[64];
    const char *sws[] = {"signal-with-start", "--id", flow_new_id(id, sizeof(id), "collect"),
                         "--type", "Collect", "--task-queue", f.queue, "--name", "add",
                         "--signal-input", "\"first\"", NULL};
    flow_call_ok(&srv, sws);
    signal(id, "add", "\"x\"");
    signal(id, "work", "\"w\"");
    signal(id, "zzz", "1");
    signal(id, "add", "\"y\"");
    signal(id, "done", NULL);
    flow_invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"),
                        "{\"log\":[\"first\",\"x\",\"y\",\"other:zzz\",\"work:w\"]}");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* Signals sent while the workflow runs its activities: all handled, each activity's result
 * after it, and no task failed (the replays of tasks that saw signals match). */
static void signals_while_activities_complete(void **st)
{
    flow_fn f;
    deploy(&f, 14);
    char id[64];
    const char *args[] = {"start", "--id", flow_new_id(id, sizeof(id), "inter"), "--type",
                          "Interleave", "--task-queue", f.queue, "--input", "6", "--input", "200",
                          NULL};
    flow_call_ok(&srv, args);
    flow_bg b;
    flow_bg_start(&b, &f);
    wait_for_event(id, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED");
    char arg[16];
    for (int i = 0; i < 4; i++) {
        snprintf(arg, sizeof(arg), "\"s%d\"", i);
        signal(id, "add", arg);
        usleep(150 * 1000);
    }
    signal(id, "done", NULL);
    flow_bg_join_ok(&b);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    const char *log = flow_member_json(done, "result");
    const char *want[] = {"\"s0\"", "\"s1\"", "\"s2\"", "\"s3\"", "\"act:0\"",
                          "\"act:5\""};
    for (size_t i = 0; i < 6; i++)
        if (!strstr(log, want[i]))
            fail_msg("%s lacks %s", log, want[i]);
    assert_true(strstr(log, "\"s0\"") < strstr(log, "\"s3\""));
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void signals_received_with_a_timeout(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    flow_start(&f, "Receive", flow_new_id(id, sizeof(id), "recv"), NULL);
    signal(id, "msg", "\"a\"");
    signal(id, "msg", "\"b\"");
    flow_invoke_until_closed(&f, id, 3); /* its 2 s timeout may outlive the 2 s idle exit */
    cJSON *done = await_end(id);
    assert_string_equal(flow_member_json(done, "result"), "{\"got\":[\"a\",\"b\"],\"end\":-7}");
    cJSON *h = history(id);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_FIRED"), 1); /* the one that ended it */
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* 600 signals before the first task: its history is longer than the poll's first page, and
 * the worker reads the rest page by page as the replay gets there. */
static void many_signals_span_history_pages(void **st)
{
    flow_fn f;
    deploy(&f, 20);
    char id[64];
    flow_start(&f, "Count", flow_new_id(id, sizeof(id), "count"), "600");
    const char *many[] = {"--timeout", "120s", "signal-many", "--id", id, "--name", "tick",
                          "--count", "600", NULL};
    flow_call_ok(&srv, many);
    flow_invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"), "{\"ticks\":600}");
    cJSON_Delete(done);
    char *out = emu_output(&f.emu);
    assert_null(strstr(out, "could not read the history"));
    free(out);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* SignalOther signals a Collect workflow "done" (it completes with an empty log), and a
 * workflow that does not exist (ExternalWorkflowExecutionNotFound). */
static void signalling_another_workflow(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char target[64], sender[64], lost[64];
    flow_start(&f, "Collect", flow_new_id(target, sizeof(target), "target"), NULL);
    const char *send[] = {"start", "--id", flow_new_id(sender, sizeof(sender), "sender"), "--type",
                          "SignalOther", "--task-queue", f.queue, "--input", NULL, "--input",
                          "\"done\"", NULL};
    char arg[96];
    snprintf(arg, sizeof(arg), "\"%s\"", target);
    send[8] = arg;
    flow_call_ok(&srv, send);
    const char *nowhere[] = {"start", "--id", flow_new_id(lost, sizeof(lost), "lost"), "--type",
                             "SignalOther", "--task-queue", f.queue, "--input",
                             "\"no-such-workflow\"", "--input", "\"done\"", NULL};
    flow_call_ok(&srv, nowhere);
    flow_invoke_ok(&f);
    cJSON *a = await_end(sender), *b = await_end(target), *c = await_end(lost);
    assert_string_equal(flow_member_json(a, "result"), "{\"rc\":0,\"type\":\"\"}");
    assert_string_equal(flow_member_json(b, "result"), "{\"log\":[]}");
    assert_string_equal(flow_member_json(c, "result"),
                        "{\"rc\":-4,\"type\":\"ExternalWorkflowExecutionNotFound\"}");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- failures ---- */

static int number(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(n))
        fail_msg("no number \"%s\" in %s", name, cJSON_PrintUnformatted(o));
    return (int)cJSON_GetNumberValue(n);
}

static void activity_failures_keep_their_shape(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char failed[64], timed[64];
    flow_start(&f, "FailShape", flow_new_id(failed, sizeof(failed), "shape"), "\"fail\"");
    flow_start(&f, "FailShape", flow_new_id(timed, sizeof(timed), "shapeto"), "\"timeout\"");
    flow_invoke_ok(&f);
    cJSON *a = await_end(failed), *b = await_end(timed);
    cJSON *r = cJSON_GetObjectItem(a, "result");
    assert_int_equal(number(r, "kind"), 1); /* TW_FAILURE_ACTIVITY */
    assert_string_equal(flow_str(r, "type"), "Bad");
    assert_string_equal(flow_str(r, "message"), "bad input");
    assert_string_equal(flow_str(r, "activity"), "FailWith/1");
    assert_int_equal(number(r, "retry_state"), 2); /* RETRY_STATE_NON_RETRYABLE_FAILURE */
    assert_string_equal(flow_member_json(r, "details"), "{\"n\":1}");
    cJSON *c = cJSON_GetObjectItem(r, "cause");
    assert_int_equal(number(c, "kind"), 0);
    assert_string_equal(flow_str(c, "type"), "Bad");
    assert_string_equal(flow_str(c, "cause"), "Root"); /* the activity's own cause came through */
    r = cJSON_GetObjectItem(b, "result");
    assert_int_equal(number(r, "kind"), 1);
    assert_string_equal(flow_str(r, "type"), "Timeout");
    assert_string_equal(flow_str(r, "activity"), "Beat/1");
    assert_int_equal(number(r, "timeout_type"), 4); /* TW_TIMEOUT_HEARTBEAT */
    assert_string_equal(flow_member_json(r, "details"), "7"); /* the last heartbeat's */
    assert_int_equal(number(cJSON_GetObjectItem(r, "cause"), "kind"), 3);
    cJSON_Delete(a);
    cJSON_Delete(b);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void reraised_failure_reaches_the_client_as_an_activity_failure(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    flow_start(&f, "Reraise", flow_new_id(id, sizeof(id), "reraise"), NULL);
    flow_invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    cJSON *fl = cJSON_GetObjectItem(done, "failure");
    assert_string_equal(flow_str(fl, "kind"), "activity");
    assert_string_equal(flow_str(fl, "activity_type"), "FailWith");
    assert_string_equal(flow_str(fl, "activity_id"), "1");
    assert_string_equal(flow_str(fl, "message"), "activity error");
    cJSON *c = cJSON_GetObjectItem(fl, "cause");
    assert_string_equal(flow_str(c, "kind"), "application");
    assert_string_equal(flow_str(c, "type"), "Bad");
    assert_string_equal(flow_str(c, "message"), "bad input");
    assert_string_equal(flow_str(cJSON_GetObjectItem(c, "cause"), "type"), "Root");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coroutines_join_their_activities),
        cmocka_unit_test(condition_wait_cancels_or_times_out),
        cmocka_unit_test(select_cancels_the_losing_timer),
        cmocka_unit_test(activity_cancellation_types),
        cmocka_unit_test(cancelled_workflow_cleans_up),
        cmocka_unit_test(cancelling_another_workflow),
        cmocka_unit_test(signal_with_start_and_handlers),
        cmocka_unit_test(signals_while_activities_complete),
        cmocka_unit_test(signals_received_with_a_timeout),
        cmocka_unit_test(many_signals_span_history_pages),
        cmocka_unit_test(signalling_another_workflow),
        cmocka_unit_test(activity_failures_keep_their_shape),
        cmocka_unit_test(reraised_failure_reaches_the_client_as_an_activity_failure),
    };
    return cmocka_run_group_tests_name("wf_talk", tests, group_setup, group_teardown);
}
