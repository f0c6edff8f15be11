/*
 * Replay tests of the workflow engine (temporal/engine/wf.c) on histories recorded from the real
 * server (tests/data/NAME.history, made by tests/data/record-histories.sh) and the example
 * libraries: whole histories replay without new commands, cut histories produce exactly the
 * next command, a changed workflow is caught as non-determinism, and histories handed over
 * in pages replay like whole ones. Histories built event by event for what recorded ones
 * rarely hold are test_wf_built.c and test_wf_unreadable.c.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_histories_replay_cleanly),
        cmocka_unit_test(paged_histories_replay_like_whole_ones),
        cmocka_unit_test(unloadable_or_missing_pages_fail_the_task),
        cmocka_unit_test(first_task_schedules_the_activity),
        cmocka_unit_test(second_task_completes_with_the_result),
        cmocka_unit_test(fan_out_starts_activities_and_timer_together),
        cmocka_unit_test(changed_code_is_non_determinism),
        cmocka_unit_test(unknown_type_lists_the_registered),
    };
    return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
