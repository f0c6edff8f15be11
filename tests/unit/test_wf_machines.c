/*
 * The engine's coroutines (temporal/engine/dispatch.c) on histories built task by task the way
 * the server writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_talk.c: each
 * test runs a task, checks the commands (their order is the determinism the replay relies on),
 * records them as the server would, adds what the world does, and runs the next task; at the
 * end the whole history replays without a new command. Then lib_wf_talk's histories recorded
 * from the real server (tests/data/talk-*.history, made by tests/data/record-histories.sh,
 * signals and cancellations sent while they ran) replay task by task: each task's code makes
 * exactly the commands the server recorded for it. Cancellation is test_wf_cancel.c, signals
 * test_wf_signals.c, failures test_wf_failures.c.
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
#include "temporal/engine/wf.h"
#include "tests/support/harness.h"
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
    assert_string_equal(wa_activity_input(&h, 0), "\"a\"");
    assert_string_equal(wa_activity_input(&h, 1), "\"b\"");
    wh_answer(&h);
    wh_activity_completed(&h, "2", "\"b\"");
    wh_task(&h, 2000);
    expect(&h, "GoJoin", ""); /* b is in; the workflow now waits for a */
    wh_answer(&h);
    wh_activity_completed(&h, "1", "\"a\"");
    wh_task(&h, 3000);
    expect(&h, "GoJoin", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "[\"a\",\"b\"]");
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
    assert_string_equal(wa_result(&h), "{\"waited\":0}");
    wh_answer(&h);
    replays_cleanly(&h, "Condition");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, "0"); /* the flag is set in the first task: its timer is never sent */
    expect(&h, "Condition", "CompleteWorkflowExecution");
    assert_string_equal(wa_result(&h), "{\"waited\":0}");
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
    assert_string_equal(wa_result(&h), "{\"waited\":-7}");
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
    assert_string_equal(wa_result(&h), "\"early\"");
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
        cmocka_unit_test(recorded_histories_replay_task_by_task),
        cmocka_unit_test(recorded_signals_interleave_with_activities),
    };
    return cmocka_run_group_tests_name("wf_machines", tests, group_setup, group_teardown);
}
