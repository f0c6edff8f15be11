/*
 * Cancellation in the engine (temporal/engine/cancel.c) on histories built task by task the way
 * the server writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_talk.c, as in
 * test_wf_machines.c: a losing timer in select, the three activity cancellation types, a
 * workflow cancel request (cleanup that still runs an activity, or ignored), coroutines and
 * other workflows cancelled, and a cancel the history does not have.
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
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_talk.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* Runs the next task of |h| as |type| and checks its commands. */
static void expect(whist *h, const char *type, const char *commands)
{
    wa_expect(h, reg, type, commands);
}

/* The whole history replays without a new command (the code takes the same path). */
static void replays_cleanly(whist *h, const char *type)
{
    expect(h, type, "");
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
    assert_string_equal(wa_result(&h), "{\"ready\":0,\"cancel\":0}");
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
    assert_string_equal(wa_result(&h), "{\"cancel\":0,\"await\":-5}");
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
    assert_string_equal(wa_result(&h), "{\"cancel\":0,\"await\":-5}");
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
    assert_string_equal(wa_result(&h), "{\"cancel\":0,\"await\":0}");
    wh_free(&h);

    /* ABANDON: no command; the activity's completion, whenever it comes, is dropped. */
    until_cancel(&h, "2", 1);
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "{\"cancel\":0,\"await\":-5}");
    wh_free(&h);
    until_cancel(&h, "2", 2); /* completed in the same batch as the timer: nothing to cancel */
    expect(&h, "CancelActivity", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "{\"cancel\":0,\"await\":0}"); /* done before */
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

    /* WAIT_COMPLETED, and the activity completes anyway: the await returns its result (as
     * sdk-go's Get), so this workflow, which cleans up only after TW_ECANCELED, completes. */
    wh_init(&h);
    wh_start(&h, "1");
    expect(&h, "CancelMe", "ScheduleActivityTask(type Slow, id 1)");
    wh_answer(&h);
    wh_activity_started(&h, "1");
    wh_cancel_requested(&h);
    wh_task(&h, 2000);
    expect(&h, "CancelMe", "RequestCancelActivityTask(scheduled event 5)");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"done anyway\"");
    wh_task(&h, 3000);
    expect(&h, "CancelMe", "CompleteWorkflowExecution");
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
    assert_string_equal(wa_result(&h), "{\"slept\":-5,\"cancel_requested\":1}");
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
    assert_string_equal(wa_result(&h), "{\"slept\":-5,\"cancel_requested\":1}");
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
    assert_string_equal(wa_result(&h), "{\"await\":-5}");
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
        assert_string_equal(wa_result(&h), found ? "{\"rc\":0,\"type\":\"\"}"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_cancels_the_losing_timer),
        cmocka_unit_test(activity_cancellation_types),
        cmocka_unit_test(cancelled_workflow_cleans_up_and_ends_cancelled),
        cmocka_unit_test(cancel_request_can_be_seen_and_ignored),
        cmocka_unit_test(cancelling_a_coroutine),
        cmocka_unit_test(cancelling_another_workflow),
        cmocka_unit_test(unexpected_cancel_is_non_determinism),
    };
    return cmocka_run_group_tests_name("wf_cancel", tests, group_setup, group_teardown);
}
