/*
 * The engine's coroutines, cancellation and signals on histories built task by task the way
 * the server writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_talk.c:
 * each test runs a task, checks the commands (their order is the determinism the replay
 * relies on), records them as the server would, adds what the world does, and runs the next
 * task; at the end the whole history replays without a new command. Then the same workflows'
 * histories recorded from the real server (tests/data/talk-*.history, made by
 * tests/data/record-histories.sh, signals and cancellations sent while they ran) replay task
 * by task: each task's code makes exactly the commands the server recorded for it.
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
#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st)
{
    char err[512], lib[4096];
    if (!realpath(harness_built("fixtures/lib_wf_talk.so"), lib))
        return -1;
    if (reg_load(&reg, lib, NULL, api_table(), err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* Runs the next task of |h| as |type| and checks its commands. */
static void expect(whist *h, const char *type, const char *commands)
{
    wh_run(h, reg, type, 0);
    if (strcmp(wh_commands(h), commands) != 0)
        fail_msg("%s: commands\n  got:  %s\n  want: %s", type, wh_commands(h), commands);
}

/* The whole history replays without a new command (the code takes the same path). */
static void replays_cleanly(whist *h, const char *type)
{
    expect(h, type, "");
}

/* The JSON result of the completion in the last answer. */
static const char *result_of(whist *h)
{
    static char buf[512];
    const wf_output *out = &h->out;
    for (size_t i = 0; i < out->ncommands; i++)
        if (out->commands[i]->command_type == CMD(COMPLETE_WORKFLOW_EXECUTION)) {
            const pb_payloads *r = out->commands[i]->complete_workflow_execution_command_attributes->result;
            assert_non_null(r);
            snprintf(buf, sizeof(buf), "%.*s", (int)r->payloads[0]->data.len,
                     (const char *)r->payloads[0]->data.data);
            return buf;
        }
    fail_msg("no completion in: %s", wh_commands(h));
    return NULL;
}

/* The JSON argument of the |i|-th command, an activity. */
static const char *activity_input(whist *h, size_t i)
{
    static char buf[256];
    assert_true(i < h->out.ncommands);
    const pb_payloads *in = h->out.commands[i]->schedule_activity_task_command_attributes->input;
    snprintf(buf, sizeof(buf), "%.*s", (int)in->payloads[0]->data.len,
             (const char *)in->payloads[0]->data.data);
    return buf;
}

/* ---- coroutines ---- */

/* Coroutines run in creation order, each until it blocks: the first tw_go's activity is
 * scheduled first whatever order the workflow awaits them in. */
static void coroutines_run_in_creation_order(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "GoJoin", "ScheduleActivityTask(type Echo, id 1) | "
                         "ScheduleActivityTask(type Echo, id 2)");
    assert_string_equal(activity_input(&h, 0), "\"a\"");
    assert_string_equal(activity_input(&h, 1), "\"b\"");
    wh_answer(&h);
    wh_activity_completed(&h, "2", "\"b\"");
    wh_task(&h, 2000);
    expect(&h, "GoJoin", ""); /* b is in; the workflow now waits for a */
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"a\"");
    wh_task(&h, 3000);
    expect(&h, "GoJoin", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "[\"a\",\"b\"]");
    wh_answer(&h);
    replays_cleanly(&h, "GoJoin");
    wh_free(&h);
}

/* The condition's timer is cancelled when the condition wins; dropped (never sent) when it
 * wins in the task that started the timer. */
static void condition_cancels_its_timer(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "1000");
    expect(&h, "Condition", "StartTimer(id 1) | StartTimer(id 2)");
    wh_answer(&h);
    wh_timer_fired(&h, "2");
    wh_task(&h, 2000);
    expect(&h, "Condition", "CancelTimer(id 1) | CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"waited\":0}");
    wh_answer(&h);
    replays_cleanly(&h, "Condition");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, "0"); /* the flag is set in the first task: its timer is never sent */
    expect(&h, "Condition", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"waited\":0}");
    wh_answer(&h);
    replays_cleanly(&h, "Condition");
    wh_free(&h);
}

static void condition_times_out(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "ConditionTimeout", "StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 2000);
    expect(&h, "ConditionTimeout", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"waited\":-7}");
    wh_answer(&h);
    replays_cleanly(&h, "ConditionTimeout");
    wh_free(&h);
}

/* When the workflow function returns, the workflow completes; the coroutines still running
 * are dropped (this one never ran, so its timer was never started). */
static void returning_drops_the_other_coroutines(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "ReturnEarly", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "\"early\"");
    wh_answer(&h);
    replays_cleanly(&h, "ReturnEarly");
    wh_free(&h);
}

/* The stack trace names each coroutine and what it waits on, in run order. */
static void stack_trace_says_where_each_coroutine_waits(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Blocked", "StartTimer(id 1) | ScheduleActivityTask(type Echo, id 1) | "
                          "StartTimer(id 2)");
    wh_answer(&h);
    wh_task(&h, 2000);
    wh_run(&h, reg, "Blocked", 1);
    assert_string_equal(wh_commands(&h), "");
    assert_non_null(h.out.stack_trace);
    assert_string_equal(h.out.stack_trace,
                        "coroutine 1 (main): tw_await_condition (timeout: timer 1)\n"
                        "coroutine 2 (tw_go): tw_execute_activity activity 1 \"Echo\"\n"
                        "coroutine 3 (tw_go): tw_sleep timer 2\n"
                        "coroutine 4 (tw_go): tw_await_condition\n");
    /* The activity done: its coroutine ends and leaves the trace. */
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"x\"");
    wh_task(&h, 3000);
    wh_run(&h, reg, "Blocked", 1);
    assert_string_equal(wh_commands(&h), "");
    assert_string_equal(h.out.stack_trace,
                        "coroutine 1 (main): tw_await_condition (timeout: timer 1)\n"
                        "coroutine 3 (tw_go): tw_sleep timer 2\n"
                        "coroutine 4 (tw_go): tw_await_condition\n");
    wh_free(&h);
}

/* Changed code is still caught with several coroutines: a history from GoJoin replayed as
 * ReturnEarly (another workflow, same history) makes other commands. */
static void other_code_on_a_coroutine_history_is_non_determinism(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "GoJoin", "ScheduleActivityTask(type Echo, id 1) | "
                         "ScheduleActivityTask(type Echo, id 2)");
    wh_answer(&h);
    wh_task(&h, 2000);
    wh_run(&h, reg, "ReturnEarly", 0);
    assert_true(h.out.task_failed);
    assert_int_equal(h.out.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(h.out.message, "history event 5 has ScheduleActivityTask(type Echo, "
                                          "id 1) but the workflow code made "
                                          "CompleteWorkflowExecution"));
    wh_free(&h);
}

/* ---- cancellation ---- */

/* The losing timer of a select is cancelled, not left to fire (and cost an invocation). */
static void select_cancels_the_losing_timer(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "SelectCancels", "ScheduleActivityTask(type Echo, id 1) | StartTimer(id 1)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"x\"");
    wh_task(&h, 2000);
    expect(&h, "SelectCancels", "CancelTimer(id 1) | CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"ready\":0,\"cancel\":0}");
    wh_answer(&h);
    replays_cleanly(&h, "SelectCancels");
    wh_free(&h);
}

/* CancelActivity up to its tw_cancel: Slow scheduled (and started when |started|; completed
 * too when |started| is 2), the 1 s timer fired. */
static void until_cancel(whist *h, const char *type, int started)
{
    wh_init(h);
    wh_start(h, type);
    expect(h, "CancelActivity", "ScheduleActivityTask(type Slow, id 1) | StartTimer(id 1)");
    wh_answer(h);
    if (started)
        wh_activity_started(h, "1");
    wh_timer_fired(h, "1");
    if (started == 2)
        wh_activity_completed(h, "1", "60000");
    wh_task(h, 2000);
}

static void activity_cancellation_types(void **st)
{
    /* TRY: the request goes out and the code goes on at once; the server, the activity not
     * started, answers Canceled right away: that late news is dropped on replay. */
    whist h;
    until_cancel(&h, "0", 0);
    expect(&h, "CancelActivity", "RequestCancelActivityTask(scheduled event 5) | "
                                 "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"cancel\":0,\"await\":-5}");
    wh_answer(&h);
    assert_int_equal(h.ev[h.n - 2]->event_type, EV(ACTIVITY_TASK_CANCELED));
    replays_cleanly(&h, "CancelActivity");
    wh_free(&h);

    /* WAIT_COMPLETED: the await waits for the activity's answer. */
    until_cancel(&h, "1", 1);
    expect(&h, "CancelActivity", "RequestCancelActivityTask(scheduled event 5)");
    wh_answer(&h);
    wh_activity_canceled(&h, "1");
    wh_task(&h, 3000);
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"cancel\":0,\"await\":-5}");
    wh_answer(&h);
    replays_cleanly(&h, "CancelActivity");
    wh_free(&h);

    /* ...and when the activity completes after all, the await has its result. */
    until_cancel(&h, "1", 1);
    expect(&h, "CancelActivity", "RequestCancelActivityTask(scheduled event 5)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "60000");
    wh_task(&h, 3000);
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"cancel\":0,\"await\":0}");
    wh_free(&h);

    /* ABANDON: no command; the activity's completion, whenever it comes, is dropped. */
    until_cancel(&h, "2", 1);
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"cancel\":0,\"await\":-5}");
    wh_free(&h);
    until_cancel(&h, "2", 2); /* completed in the same batch as the timer: nothing to cancel */
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"cancel\":0,\"await\":0}"); /* done before */
    wh_free(&h);

    /* A type out of range is refused. */
    wh_init(&h);
    wh_start(&h, "7");
    wh_run(&h, reg, "CancelActivity", 0);
    assert_string_equal(wh_commands(&h), "FailWorkflowExecution");
    wh_free(&h);
}

/* The workflow's cancel reaches the blocked code; its cleanup activity runs; returning
 * TW_ECANCELED ends the workflow as cancelled. */
static void cancelled_workflow_cleans_up_and_ends_cancelled(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "0");
    expect(&h, "CancelMe", "ScheduleActivityTask(type Slow, id 1)");
    wh_answer(&h);
    wh_activity_started(&h, "1");
    wh_cancel_requested(&h);
    wh_task(&h, 2000);
    expect(&h, "CancelMe", "RequestCancelActivityTask(scheduled event 5) | "
                           "ScheduleActivityTask(type Echo, id 2)");
    wh_answer(&h);
    wh_activity_canceled(&h, "1"); /* the late answer to TRY */
    wh_activity_completed(&h, "2", "\"cleanup\"");
    wh_task(&h, 3000);
    expect(&h, "CancelMe", "CancelWorkflowExecution");
    wh_answer(&h);
    replays_cleanly(&h, "CancelMe");
    wh_free(&h);

    /* WAIT_COMPLETED: the cleanup waits for the activity to confirm. */
    wh_init(&h);
    wh_start(&h, "1");
    expect(&h, "CancelMe", "ScheduleActivityTask(type Slow, id 1)");
    wh_answer(&h);
    wh_activity_started(&h, "1");
    wh_cancel_requested(&h);
    wh_task(&h, 2000);
    expect(&h, "CancelMe", "RequestCancelActivityTask(scheduled event 5)");
    wh_answer(&h);
    wh_activity_canceled(&h, "1");
    wh_task(&h, 3000);
    expect(&h, "CancelMe", "ScheduleActivityTask(type Echo, id 2)");
    wh_answer(&h);
    wh_activity_completed(&h, "2", "\"cleanup\"");
    wh_task(&h, 4000);
    expect(&h, "CancelMe", "CancelWorkflowExecution");
    wh_answer(&h);
    replays_cleanly(&h, "CancelMe");
    wh_free(&h);
}

static void cancel_request_can_be_seen_and_ignored(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "CancelCompletes", "StartTimer(id 1)");
    wh_answer(&h);
    wh_cancel_requested(&h);
    wh_task(&h, 2000);
    expect(&h, "CancelCompletes", "CancelTimer(id 1) | CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"slept\":-5,\"cancel_requested\":1}");
    wh_answer(&h);
    replays_cleanly(&h, "CancelCompletes");
    wh_free(&h);

    /* Cancelled before its first task ran: the timer is never sent. */
    wh_init(&h);
    wh_start(&h, NULL);
    h.n -= 2; /* the first task after the cancel request */
    wh_cancel_requested(&h);
    wh_task(&h, 0);
    expect(&h, "CancelCompletes", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"slept\":-5,\"cancel_requested\":1}");
    wh_free(&h);
}

static void cancelling_a_coroutine(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "CancelCoroutine", "StartTimer(id 1) | StartTimer(id 2)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 2000);
    expect(&h, "CancelCoroutine", "CancelTimer(id 2) | CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"await\":-5}");
    wh_answer(&h);
    replays_cleanly(&h, "CancelCoroutine");
    wh_free(&h);
}

static void cancelling_another_workflow(void **st)
{
    for (int found = 0; found <= 1; found++) {
        whist h;
        wh_init(&h);
        wh_start(&h, "\"other\"");
        expect(&h, "CancelOther", "RequestCancelExternalWorkflowExecution(workflow other)");
        wh_answer(&h);
        if (found)
            wh_external_cancel_requested(&h, "other");
        else
            wh_external_cancel_failed(&h, "other", 1);
        wh_task(&h, 2000);
        expect(&h, "CancelOther", "CompleteWorkflowExecution");
        assert_string_equal(result_of(&h), found ? "{\"rc\":0,\"type\":\"\"}"
                                                 : "{\"rc\":-4,\"type\":"
                                                   "\"ExternalWorkflowExecutionNotFound\"}");
        wh_answer(&h);
        replays_cleanly(&h, "CancelOther");
        wh_free(&h);
    }
}

/* A cancel in the history the code did not make is non-determinism, named. */
static void unexpected_cancel_is_non_determinism(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "CancelCompletes", "StartTimer(id 1)");
    wh_answer(&h);
    wh_timer_fired(&h, "1");
    wh_task(&h, 2000);
    expect(&h, "CancelCompletes", "CompleteWorkflowExecution");
    /* Pretend the answer had been a CancelTimer. */
    h.out.commands[0]->command_type = CMD(CANCEL_TIMER);
    Temporal__Api__Command__V1__CancelTimerCommandAttributes ct =
        TEMPORAL__API__COMMAND__V1__CANCEL_TIMER_COMMAND_ATTRIBUTES__INIT;
    ct.timer_id = "1";
    h.out.commands[0]->cancel_timer_command_attributes = &ct;
    wh_answer(&h);
    wh_task(&h, 3000);
    wh_run(&h, reg, "CancelCompletes", 0);
    assert_true(h.out.task_failed);
    assert_int_equal(h.out.cause, WF_CAUSE_NON_DETERMINISTIC);
    assert_non_null(strstr(h.out.message, "has CancelTimer(id 1) but the workflow code made "
                                          "CompleteWorkflowExecution"));
    wh_free(&h);
}

/* ---- signals ---- */

/* A started workflow whose first task comes after |k| signals (signal-with-start is one). */
static void start_with_signals(whist *h, const char *input, const char *const *signals, size_t k)
{
    wh_init(h);
    wh_start(h, input);
    h->n -= 2; /* the first task comes after the signals */
    for (size_t i = 0; i < k; i++)
        wh_signal(h, signals[2 * i], signals[2 * i + 1]);
    wh_task(h, 0);
}

/* Handlers get their signals in history order; the one that came with the start waited in
 * the buffer until its handler was set; "work" blocks on an activity; an unknown name goes to
 * the default handler; the workflow waits for every handler before it completes. */
static void signal_handlers_in_history_order(void **st)
{
    whist h;
    const char *first[] = {"add", "\"first\""};
    start_with_signals(&h, NULL, first, 1);
    expect(&h, "Collect", "");
    wh_answer(&h);
    wh_signal(&h, "add", "\"x\"");
    wh_signal(&h, "work", "\"w\"");
    wh_signal(&h, "zzz", "1");
    wh_signal(&h, "add", "\"y\"");
    wh_task(&h, 2000);
    wh_run(&h, reg, "Collect", 1);
    assert_string_equal(wh_commands(&h), "ScheduleActivityTask(type Echo, id 1)");
    assert_string_equal(h.out.stack_trace,
                        "coroutine 1 (main): tw_await_condition\n"
                        "coroutine 4 (signal \"work\"): tw_execute_activity activity 1 \"Echo\"\n");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"w\"");
    wh_signal(&h, "done", NULL);
    wh_task(&h, 3000);
    expect(&h, "Collect", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"log\":[\"first\",\"x\",\"other:zzz\",\"y\","
                                       "\"work:w\"]}");
    wh_answer(&h);
    replays_cleanly(&h, "Collect");
    wh_free(&h);
}

/* Setting a handler hands it the signals buffered so far before the call returns (as the
 * feature suite's signal_with_start wants: 42 + 1, not 1). */
static void buffered_signals_are_handled_when_the_handler_is_set(void **st)
{
    whist h;
    const char *sig[] = {"sum", "42"};
    start_with_signals(&h, "1", sig, 1);
    expect(&h, "SetThenRead", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"sum\":43}");
    wh_answer(&h);
    replays_cleanly(&h, "SetThenRead");
    wh_free(&h);
}

/* A signal in the same task as an activity's completion: its handler runs before the code
 * resumes, whichever event came first. */
static void handlers_run_before_the_code_they_interrupt(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "2");
    expect(&h, "Interleave", "ScheduleActivityTask(type Echo, id 1)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "0");
    wh_signal(&h, "add", "\"s1\""); /* after the completion */
    wh_task(&h, 2000);
    expect(&h, "Interleave", "ScheduleActivityTask(type Echo, id 2)");
    wh_answer(&h);
    wh_signal(&h, "add", "\"s2\""); /* before it */
    wh_activity_completed(&h, "2", "1");
    wh_task(&h, 3000);
    expect(&h, "Interleave", "");
    wh_answer(&h);
    wh_signal(&h, "done", NULL);
    wh_task(&h, 4000);
    expect(&h, "Interleave", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"log\":[\"s1\",\"act:0\",\"s2\",\"act:1\"]}");
    wh_answer(&h);
    replays_cleanly(&h, "Interleave");
    wh_free(&h);
}

/* Channel style: buffered signals are taken one by one; a wait for the next one has a timer
 * that is cancelled when the signal wins. */
static void signals_received_one_by_one(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Receive", "StartTimer(id 1)");
    wh_answer(&h);
    wh_signal(&h, "msg", "\"a\"");
    wh_signal(&h, "other", "\"ignored\"");
    wh_signal(&h, "msg", "\"b\"");
    wh_task(&h, 2000);
    expect(&h, "Receive", "CancelTimer(id 1) | StartTimer(id 2)");
    wh_answer(&h);
    wh_timer_fired(&h, "2");
    wh_task(&h, 4000);
    expect(&h, "Receive", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"got\":[\"a\",\"b\"],\"end\":-7}");
    wh_answer(&h);
    replays_cleanly(&h, "Receive");
    wh_free(&h);
}

/* More signals in one task than coroutines may live at once: they wait their turn, in order. */
static void a_burst_of_signals_waits_for_room(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "2500");
    h.n -= 2;
    for (int i = 0; i < 2500; i++)
        wh_signal(&h, "tick", NULL);
    wh_task(&h, 0);
    expect(&h, "Count", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h), "{\"ticks\":2500}");
    wh_free(&h);
}

static void signalling_another_workflow(void **st)
{
    for (int found = 0; found <= 1; found++) {
        whist h;
        wh_init(&h);
        wh_start(&h, NULL);
        h.n--; /* the started event's input: two arguments */
        h.n--;
        h.ev[0]->workflow_execution_started_event_attributes->input = NULL;
        {
            tw_payload two[2] = {tw_json("\"other\""), tw_json("\"ping\"")};
            h.ev[0]->workflow_execution_started_event_attributes->input =
                payloads_to_pb(h.a, two, 2);
        }
        wh_task(&h, 0);
        expect(&h, "SignalOther", "SignalExternalWorkflowExecution(workflow other, signal ping)");
        wh_answer(&h);
        if (found)
            wh_external_signaled(&h, "other");
        else
            wh_external_signal_failed(&h, "other", 1);
        wh_task(&h, 2000);
        expect(&h, "SignalOther", "CompleteWorkflowExecution");
        assert_string_equal(result_of(&h), found ? "{\"rc\":0,\"type\":\"\"}"
                                                 : "{\"rc\":-4,\"type\":"
                                                   "\"ExternalWorkflowExecutionNotFound\"}");
        wh_answer(&h);
        replays_cleanly(&h, "SignalOther");
        wh_free(&h);
    }
}

/* ---- failures keep their shape ---- */

#define FCASE(name) TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_##name##_FAILURE_INFO

/* Both ways through the proto, kind by kind, with the cause chain. */
static void failures_keep_their_shape(void **st)
{
    arena *a = arena_new(1 << 20);
    tw_payload seven = tw_json("7"), n1 = tw_json("{\"n\":1}");
    tw_failure timeout = {.kind = TW_FAILURE_TIMEOUT, .message = "hb", .details = &seven,
                          .ndetails = 1, .timeout_type = TW_TIMEOUT_HEARTBEAT};
    tw_failure app = {.type = "Bad", .message = "m", .non_retryable = 1, .details = &n1,
                      .ndetails = 1, .cause = &timeout};
    tw_failure act = {.kind = TW_FAILURE_ACTIVITY, .activity_type = "T", .activity_id = "7",
                      .retry_state = 3, .stack_trace = "at x", .cause = &app};
    tw_failure *copy;
    assert_int_equal(failure_copy_abi(a, &act, 1, &copy), TW_OK);
    pb_failure *pf = failure_to_pb(a, copy);
    assert_non_null(pf);
    assert_int_equal(pf->failure_info_case, FCASE(ACTIVITY));
    assert_string_equal(pf->message, "activity error");
    assert_string_equal(pf->stack_trace, "at x");
    assert_string_equal(pf->activity_failure_info->activity_type->name, "T");
    assert_string_equal(pf->activity_failure_info->activity_id, "7");
    assert_int_equal(pf->activity_failure_info->retry_state, 3);
    assert_int_equal(pf->cause->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(pf->cause->application_failure_info->type, "Bad");
    assert_true(pf->cause->application_failure_info->non_retryable);
    assert_int_equal(pf->cause->cause->failure_info_case, FCASE(TIMEOUT));
    assert_int_equal(pf->cause->cause->timeout_failure_info->timeout_type, TW_TIMEOUT_HEARTBEAT);
    assert_int_equal(pf->cause->cause->timeout_failure_info->last_heartbeat_details->n_payloads, 1);

    tw_failure *back = failure_from_pb(a, pf);
    assert_int_equal(back->kind, TW_FAILURE_ACTIVITY);
    assert_string_equal(back->type, "Bad"); /* an activity's failure shows its cause's */
    assert_string_equal(back->message, "m");
    assert_string_equal(back->activity_type, "T");
    assert_string_equal(back->activity_id, "7");
    assert_int_equal(back->retry_state, 3);
    assert_string_equal(back->stack_trace, "at x");
    assert_int_equal(back->cause->kind, TW_FAILURE_APPLICATION);
    assert_int_equal(back->cause->ndetails, 1);
    assert_memory_equal(back->cause->details[0].data, "{\"n\":1}", 7);
    assert_int_equal(back->cause->cause->kind, TW_FAILURE_TIMEOUT);
    assert_string_equal(back->cause->cause->type, "Timeout");
    assert_int_equal(back->cause->cause->timeout_type, TW_TIMEOUT_HEARTBEAT);
    assert_memory_equal(back->cause->cause->details[0].data, "7", 1);

    /* Every other kind survives the trip. */
    const int kinds[] = {TW_FAILURE_CANCELED, TW_FAILURE_TERMINATED, TW_FAILURE_SERVER,
                         TW_FAILURE_CHILD_WORKFLOW};
    for (size_t i = 0; i < 4; i++) {
        tw_failure k = {.kind = kinds[i], .message = "x", .retry_state = 5};
        back = failure_from_pb(a, failure_to_pb(a, &k));
        assert_int_equal(back->kind, kinds[i]);
    }

    /* Chains are cut at FAILURE_MAX_DEPTH, a loop included. */
    tw_failure loop = {.type = "Loop", .message = "again", .kind = TW_FAILURE_APPLICATION};
    loop.cause = &loop;
    assert_int_equal(failure_copy_abi(a, &loop, 1, &copy), TW_OK);
    int depth = 0;
    for (const tw_failure *c = copy; c; c = c->cause)
        depth++;
    assert_int_equal(depth, FAILURE_MAX_DEPTH);
    pf = failure_to_pb(a, &loop);
    depth = 0;
    for (const pb_failure *c = pf; c; c = c->cause)
        depth++;
    assert_int_equal(depth, FAILURE_MAX_DEPTH);

    /* A kind out of range is refused. */
    tw_failure odd = {.message = "?", .kind = 42};
    assert_int_equal(failure_copy_abi(a, &odd, 1, &copy), TW_EINVAL);
    arena_free(a);
}

/* A library built against ABI 1.0 passes a tw_failure that ends where 1.0's did: nothing past
 * it is read (AddressSanitizer watches the end of this allocation in the SAN=1 build). */
static void a_1_0_failure_is_read_to_its_end_only(void **st)
{
    arena *a = arena_new(1 << 20);
    size_t old = offsetof(tw_failure, kind);
    tw_failure *small = malloc(old);
    assert_non_null(small);
    memcpy(small, &(tw_failure){.type = "Old", .message = "from 1.0", .non_retryable = 1}, old);
    tw_failure *copy;
    assert_int_equal(failure_copy_abi(a, small, 0, &copy), TW_OK);
    assert_string_equal(copy->type, "Old");
    assert_int_equal(copy->kind, TW_FAILURE_APPLICATION);
    assert_null(copy->cause);
    assert_int_equal(failure_copy(a, small, &copy), TW_OK);
    free(small);
    pb_failure *pf = failure_to_pb(a, copy);
    assert_int_equal(pf->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(pf->application_failure_info->type, "Old");
    arena_free(a);
}

/* What workflow code sees of an activity's failure: the activity, why it is not retried, the
 * error it failed with (and that error's cause); a heartbeat timeout with its last details. */
static void activity_failures_reach_the_code_with_their_shape(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "\"fail\"");
    expect(&h, "FailShape", "ScheduleActivityTask(type FailWith, id 1)");
    wh_answer(&h);
    tw_payload n1 = tw_json("{\"n\":1}");
    tw_failure root = {.type = "Root", .message = "root cause"};
    tw_failure bad = {.type = "Bad", .message = "bad input", .non_retryable = 1, .details = &n1,
                      .ndetails = 1, .cause = &root};
    wh_activity_failed_with(&h, "1", &bad, 2); /* RETRY_STATE_NON_RETRYABLE_FAILURE */
    wh_task(&h, 2000);
    expect(&h, "FailShape", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h),
                        "{\"kind\":1,\"type\":\"Bad\",\"message\":\"bad input\","
                        "\"activity\":\"FailWith/1\",\"retry_state\":2,\"timeout_type\":0,"
                        "\"details\":{\"n\":1},\"cause\":{\"kind\":0,\"type\":\"Bad\","
                        "\"message\":\"bad input\",\"cause\":\"Root\"}}");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, "\"timeout\"");
    expect(&h, "FailShape", "ScheduleActivityTask(type Beat, id 1)");
    wh_answer(&h);
    wh_activity_timed_out(&h, "1", TW_TIMEOUT_HEARTBEAT, "7");
    wh_task(&h, 2000);
    expect(&h, "FailShape", "CompleteWorkflowExecution");
    assert_string_equal(result_of(&h),
                        "{\"kind\":1,\"type\":\"Timeout\",\"message\":\"activity timeout\","
                        "\"activity\":\"Beat/1\",\"retry_state\":3,\"timeout_type\":4,"
                        "\"details\":7,\"cause\":{\"kind\":3,\"type\":\"Timeout\","
                        "\"message\":\"activity timeout\",\"cause\":\"\"}}");
    wh_free(&h);
}

/* A workflow that fails with the activity's failure as it got it: an ActivityFailure caused by
 * the activity's error, caused by its own cause. */
static void reraised_failure_keeps_its_chain(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect(&h, "Reraise", "ScheduleActivityTask(type FailWith, id 1)");
    wh_answer(&h);
    tw_failure root = {.type = "Root", .message = "root cause"};
    tw_failure bad = {.type = "Bad", .message = "bad input", .cause = &root};
    wh_activity_failed_with(&h, "1", &bad, 4); /* RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED */
    wh_task(&h, 2000);
    expect(&h, "Reraise", "FailWorkflowExecution");
    const pb_failure *f =
        h.out.commands[0]->fail_workflow_execution_command_attributes->failure;
    assert_int_equal(f->failure_info_case, FCASE(ACTIVITY));
    assert_string_equal(f->message, "activity error");
    assert_string_equal(f->activity_failure_info->activity_type->name, "FailWith");
    assert_string_equal(f->activity_failure_info->activity_id, "1");
    assert_int_equal(f->activity_failure_info->retry_state, 4);
    assert_int_equal(f->cause->failure_info_case, FCASE(APPLICATION));
    assert_string_equal(f->cause->application_failure_info->type, "Bad");
    assert_string_equal(f->cause->message, "bad input");
    assert_string_equal(f->cause->cause->application_failure_info->type, "Root");
    assert_null(f->cause->cause->cause);
    wh_free(&h);
}

/* ---- histories recorded from the real server ---- */

/* Runs the first |n| events of |h| as |type|; its answer in *out (|a| holds it). */
static void replay_prefix(const Temporal__Api__History__V1__History *h, size_t n,
                          const char *type, arena *a, wf_output *out)
{
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run",
                   .task_queue = "rec", .events = h->events, .nevents = n};
    assert_int_equal(wf_run(reg, a, &in, out), 0);
}

/* The code at every task that completed makes exactly the commands the history recorded
 * right after it (the command events up to the next task), in order; the whole history makes
 * none. Returns how many tasks were checked. */
static int replay_task_by_task(const char *file, const char *type)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof(path), "tests/data/%s", file);
    char *raw = read_all(path, &len);
    if (!len)
        fail_msg("%s: missing (tests/data/record-histories.sh records it)", path);
    Temporal__Api__History__V1__History *h =
        temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(h);
    int tasks = 0;
    for (size_t i = 0; i + 1 < h->n_events; i++) {
        if (h->events[i]->event_type != EV(WORKFLOW_TASK_STARTED) ||
            h->events[i + 1]->event_type != EV(WORKFLOW_TASK_COMPLETED))
            continue;
        arena *a = arena_new(64u << 20);
        wf_output out;
        replay_prefix(h, i + 1, type, a, &out);
        if (out.task_failed)
            fail_msg("%s, task at event %zu: %s", file, i + 1, out.message);
        size_t k = 0;
        for (size_t j = i + 2; j < h->n_events &&
                               h->events[j]->event_type != EV(WORKFLOW_TASK_STARTED); j++) {
            const cmd_kind *kind = cmd_recorded_by(h->events[j]->event_type);
            if (!kind)
                continue;
            char want[200], got[200];
            kind->describe_event(h->events[j], want, sizeof(want));
            if (k == out.ncommands)
                fail_msg("%s, task at event %zu: the history has %s (event %lld), the code "
                         "made no more", file, i + 1, want, (long long)h->events[j]->event_id);
            cmd_describe(out.commands[k], got, sizeof(got));
            if ((int)out.commands[k]->command_type != kind->type ||
                !kind->same(out.commands[k], h->events[j]))
                fail_msg("%s, task at event %zu: the history has %s, the code made %s", file,
                         i + 1, want, got);
            k++;
        }
        if (k != out.ncommands) {
            char got[200];
            cmd_describe(out.commands[k], got, sizeof(got));
            fail_msg("%s, task at event %zu: the code made %s, not in the history", file,
                     i + 1, got);
        }
        arena_free(a);
        tasks++;
    }
    arena *a = arena_new(64u << 20);
    wf_output out;
    replay_prefix(h, h->n_events, type, a, &out);
    if (out.task_failed || out.ncommands)
        fail_msg("%s: the whole history: %s", file,
                 out.task_failed ? out.message : "new commands");
    arena_free(a);
    temporal__api__history__v1__history__free_unpacked(h, NULL);
    return tasks;
}

/* Which event types a recorded history holds, to be sure it tests what it is meant to. */
static int has_event(const char *file, int type)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof(path), "tests/data/%s", file);
    char *raw = read_all(path, &len);
    Temporal__Api__History__V1__History *h =
        temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(h);
    int n = 0;
    for (size_t i = 0; i < h->n_events; i++)
        n += (int)h->events[i]->event_type == type;
    temporal__api__history__v1__history__free_unpacked(h, NULL);
    return n;
}

static void recorded_histories_replay_task_by_task(void **st)
{
    const char *cases[][2] = {
        {"talk-gojoin.history", "GoJoin"},       {"talk-condition.history", "Condition"},
        {"talk-select.history", "SelectCancels"}, {"talk-cancel-wait.history", "CancelActivity"},
        {"talk-collect.history", "Collect"},     {"talk-interleave.history", "Interleave"},
        {"talk-cancel.history", "CancelMe"},     {"talk-receive.history", "Receive"},
        {"talk-count.history", "Count"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_true(replay_task_by_task(cases[i][0], cases[i][1]) >= 1);
    /* What each one is for is in it. */
    assert_int_equal(has_event("talk-condition.history", EV(TIMER_CANCELED)), 1);
    assert_int_equal(has_event("talk-cancel-wait.history", EV(ACTIVITY_TASK_CANCELED)), 1);
    assert_int_equal(has_event("talk-cancel.history", EV(WORKFLOW_EXECUTION_CANCELED)), 1);
    assert_true(has_event("talk-interleave.history", EV(WORKFLOW_EXECUTION_SIGNALED)) == 7);
    assert_true(has_event("talk-count.history", EV(WORKFLOW_EXECUTION_SIGNALED)) == 600);
}

/* The recorded run had signals arrive while activities were running: signal tasks replayed
 * while the workflow function waits on an activity, then its completion. */
static void recorded_signals_interleave_with_activities(void **st)
{
    size_t len;
    char *raw = read_all("tests/data/talk-interleave.history", &len);
    Temporal__Api__History__V1__History *h =
        temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(h);
    int running = 0, during = 0;
    for (size_t i = 0; i < h->n_events; i++) {
        int t = h->events[i]->event_type;
        if (t == EV(ACTIVITY_TASK_SCHEDULED))
            running = 1;
        else if (t == EV(ACTIVITY_TASK_COMPLETED))
            running = 0;
        else if (t == EV(WORKFLOW_EXECUTION_SIGNALED))
            during += running;
    }
    temporal__api__history__v1__history__free_unpacked(h, NULL);
    if (during < 2)
        fail_msg("only %d signals came while an activity ran; record again", during);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coroutines_run_in_creation_order),
        cmocka_unit_test(condition_cancels_its_timer),
        cmocka_unit_test(condition_times_out),
        cmocka_unit_test(returning_drops_the_other_coroutines),
        cmocka_unit_test(stack_trace_says_where_each_coroutine_waits),
        cmocka_unit_test(other_code_on_a_coroutine_history_is_non_determinism),
        cmocka_unit_test(select_cancels_the_losing_timer),
        cmocka_unit_test(activity_cancellation_types),
        cmocka_unit_test(cancelled_workflow_cleans_up_and_ends_cancelled),
        cmocka_unit_test(cancel_request_can_be_seen_and_ignored),
        cmocka_unit_test(cancelling_a_coroutine),
        cmocka_unit_test(cancelling_another_workflow),
        cmocka_unit_test(unexpected_cancel_is_non_determinism),
        cmocka_unit_test(signal_handlers_in_history_order),
        cmocka_unit_test(buffered_signals_are_handled_when_the_handler_is_set),
        cmocka_unit_test(handlers_run_before_the_code_they_interrupt),
        cmocka_unit_test(signals_received_one_by_one),
        cmocka_unit_test(a_burst_of_signals_waits_for_room),
        cmocka_unit_test(signalling_another_workflow),
        cmocka_unit_test(failures_keep_their_shape),
        cmocka_unit_test(a_1_0_failure_is_read_to_its_end_only),
        cmocka_unit_test(activity_failures_reach_the_code_with_their_shape),
        cmocka_unit_test(reraised_failure_keeps_its_chain),
        cmocka_unit_test(recorded_histories_replay_task_by_task),
        cmocka_unit_test(recorded_signals_interleave_with_activities),
    };
    return cmocka_run_group_tests_name("wf_machines", tests, group_setup, group_teardown);
}
