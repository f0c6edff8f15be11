/*
 * The workflow engine on histories built event by event (tests/support/wf_build.h) for what
 * recorded ones rarely hold, run through tests/fixtures/lib_wf_semantics.c: failure details
 * outliving the caller's frame, running out of memory (the task fails, never the workflow),
 * 0 ms timers, failed and timed-out task attempts (the code never runs at them), a hole in the
 * event ids, and deterministic randomness (seeded by the original run, reseeded at a reset
 * point).
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
#include "tests/support/wf_build.h"

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
    tw_registry *reg = wb_semantics_lib();
    wb_hist h;
    wb_first_task(&h, NULL, NULL);
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, &h, "FailWithDetails", "run", &out);
    pb_command *c = wb_only_command(&out, CMD(FAIL_WORKFLOW_EXECUTION));
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
    tw_registry *reg = wb_semantics_lib();
    int ok = 0, failed = 0;
    for (int taken = 0; taken <= 64 * 1024; taken += 16) {
        char input[16];
        snprintf(input, sizeof(input), "%d", taken);
        wb_hist h;
        wb_first_task(&h, input, NULL);
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
    wb_hist h;
    wb_first_task(&h, "0", NULL);
    arena *none = arena_new(0);
    wf_output out;
    wb_run(reg, none, &h, "Hungry", "run", &out);
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
    tw_registry *reg = wb_semantics_lib();
    wb_hist h;
    wb_first_task(&h, NULL, NULL);
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, &h, "SleepZero", "run", &out);
    /* No StartTimer: the workflow completes in its first task. */
    assert_string_equal(wb_completion_result(&out),
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
    tw_registry *reg = wb_semantics_lib();
    for (int timed_out = 0; timed_out <= 1; timed_out++) {
        wb_hist h;
        wb_first_task(&h, NULL, NULL); /* attempt 1 starts at 1000 ms... */
        if (timed_out)
            wb_task_timed_out(&h);
        else
            wb_task_failed(&h, WF_CAUSE_UNHANDLED_FAILURE, NULL);
        wb_task(&h, 2000); /* ...attempt 2 at 2000 ms, the current task */
        arena *a = arena_new(1 << 24);
        wf_output out;
        wb_run(reg, a, &h, "Clock", "run", &out);
        assert_string_equal(wb_activity_argument(&out), "2000");
        arena_free(a);
        arena_free(h.a);
    }
    /* Replayed: a failed attempt before the activity, a timed-out one after it. */
    wb_hist h;
    wb_first_task(&h, NULL, NULL);
    wb_task_failed(&h, WF_CAUSE_UNHANDLED_FAILURE, NULL);
    wb_task(&h, 2000);
    wb_task_completed(&h);
    int64_t act = wb_activity(&h, "1", "Echo");
    h.now_ms = 2400;
    wb_activity_done(&h, act, "2000");
    wb_task(&h, 2500);
    wb_task_timed_out(&h);
    wb_task(&h, 3000);
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, &h, "Clock", "run", &out);
    assert_string_equal(wb_completion_result(&out), "{\"scheduled_at\":2000,\"finished_at\":3000}");
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

static void missing_events_fail_the_task(void **st)
{
    tw_registry *reg = wb_semantics_lib();
    for (int first = 0; first <= 1; first++) {
        wb_hist h;
        wb_first_task(&h, NULL, NULL);
        wb_task_completed(&h);
        int64_t act = wb_activity(&h, "1", "Echo");
        wb_activity_done(&h, act, "1");
        wb_task(&h, 2000);
        /* A lost page: ids jump from 4 to 6 (or the history starts at 2). */
        for (size_t i = first ? 0 : 4; i < h.n; i++)
            h.ev[i]->event_id++;
        arena *a = arena_new(1 << 24);
        wf_output out;
        wb_run(reg, a, &h, "Clock", "run", &out);
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
    wb_hist h;
    wb_first_task(&h, NULL, original);
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, &h, "Draw", run_id, &out);
    char *r = strdup(wb_completion_result(&out));
    arena_free(a);
    arena_free(h.a);
    return r;
}

static void random_is_seeded_by_the_original_run(void **st)
{
    tw_registry *reg = wb_semantics_lib();
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
    tw_registry *reg = wb_semantics_lib();
    /* Run "run-B" was reset from "run-A" at the task after the timer. */
    wb_hist h;
    wb_first_task(&h, NULL, "run-A");
    wb_task_completed(&h);
    wb_timer(&h, "1");
    wb_task(&h, 2000);
    wb_task_failed(&h, WF_CAUSE(RESET_WORKFLOW), "run-B");
    wb_task(&h, 3000);
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, &h, "DrawAcrossTimer", "run-B", &out);
    char *a1 = first_draw(reg, "run-A", NULL), *b1 = first_draw(reg, "run-B", NULL);
    char want[256];
    snprintf(want, sizeof(want), "{\"r1\":%s,\"r2\":%s}", a1, b1);
    /* Before the reset point run-A's values; after it, run-B's own, as sdk-go does. */
    assert_string_equal(wb_completion_result(&out), want);
    free(a1), free(b1);
    arena_free(a);
    arena_free(h.a);
    reg_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failure_copy_is_deep),
        cmocka_unit_test(fail_details_outlive_the_callers_frame),
        cmocka_unit_test(out_of_memory_fails_the_task_not_the_workflow),
        cmocka_unit_test(zero_sleep_and_timer_resolve_at_once),
        cmocka_unit_test(failed_attempts_do_not_run_the_code),
        cmocka_unit_test(missing_events_fail_the_task),
        cmocka_unit_test(random_is_seeded_by_the_original_run),
        cmocka_unit_test(random_is_reseeded_at_a_reset_point),
    };
    return cmocka_run_group_tests_name("built", tests, NULL, NULL);
}
