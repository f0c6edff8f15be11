/*
 * Signals in the engine (temporal/engine/signal.c) on histories built task by task the way the
 * server writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_talk.c, as in
 * test_wf_machines.c: handlers in history order, signals buffered until a handler is set,
 * handlers run before the code they interrupt, channel-style receive, bursts past the
 * coroutine limit, and signalling another workflow.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/payload.h"
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
    assert_string_equal(wa_result(&h), "{\"log\":[\"first\",\"x\",\"other:zzz\",\"y\","
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
    assert_string_equal(wa_result(&h), "{\"sum\":43}");
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
    assert_string_equal(wa_result(&h), "{\"log\":[\"s1\",\"act:0\",\"s2\",\"act:1\"]}");
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
    assert_string_equal(wa_result(&h), "{\"got\":[\"a\",\"b\"],\"end\":-7}");
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
    assert_string_equal(wa_result(&h), "{\"ticks\":2500}");
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
        assert_string_equal(wa_result(&h), found ? "{\"rc\":0,\"type\":\"\"}"
                                                 : "{\"rc\":-4,\"type\":"
                                                   "\"ExternalWorkflowExecutionNotFound\"}");
        wh_answer(&h);
        replays_cleanly(&h, "SignalOther");
        wh_free(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_handlers_in_history_order),
        cmocka_unit_test(buffered_signals_are_handled_when_the_handler_is_set),
        cmocka_unit_test(handlers_run_before_the_code_they_interrupt),
        cmocka_unit_test(signals_received_one_by_one),
        cmocka_unit_test(a_burst_of_signals_waits_for_room),
        cmocka_unit_test(signalling_another_workflow),
    };
    return cmocka_run_group_tests_name("wf_signals", tests, group_setup, group_teardown);
}
