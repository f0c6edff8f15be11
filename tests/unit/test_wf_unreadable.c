/*
 * Histories the engine cannot make sense of fail the task, naming the event (built event by
 * event with tests/support/wf_build.h, run through tests/fixtures/lib_wf_semantics.c):
 * attributes of another event type, resolutions of what the code never started, event times
 * far off either way (saturated), payloads without bytes; and the arena refuses sizes past
 * its limit.
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

/* ---- histories the engine cannot make sense of fail the task, naming the event ---- */

/* Runs |h| as "Clock" and checks the task failed (UNHANDLED_FAILURE) with |want| in its
 * message; frees |h|. */
static void expect_unreadable(tw_registry *reg, wb_hist *h, const char *want)
{
    arena *a = arena_new(1 << 24);
    wf_output out;
    wb_run(reg, a, h, "Clock", "run", &out);
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
static int64_t clock_until_activity(wb_hist *h)
{
    wb_first_task(h, NULL, NULL);
    wb_task_completed(h);
    return wb_activity(h, "1", "Echo");
}

/* The oneof of attributes is a union: an event whose type says one thing while its attributes
 * are another's was read through the wrong member (a Payloads read as a Failure, a string as
 * a Payloads). Found by tests/fuzz/fuzz_engine. */
static void attributes_of_another_type_fail_the_task(void **st)
{
    tw_registry *reg = wb_semantics_lib();
    wb_hist h;
    int64_t act = clock_until_activity(&h);
    wb_activity_done(&h, act, "1"); /* events 6 (started) and 7 (completed) */
    pb_event *e = h.ev[h.n - 1];
    e->event_type = EV(ACTIVITY_TASK_FAILED); /* with ActivityTaskCompleted's attributes */
    wb_task(&h, 2000);
    expect_unreadable(reg, &h,
                      "history event 7 (ActivityTaskFailed) carries another event type's "
                      "attributes (field 17): the history cannot be replayed");

    act = clock_until_activity(&h);
    wb_activity_done(&h, act, "1");
    h.ev[h.n - 1]->attributes_case = TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES__NOT_SET;
    h.ev[h.n - 1]->activity_task_completed_event_attributes = NULL;
    expect_unreadable(reg, &h, "history event 7 (ActivityTaskCompleted) has no attributes");

    clock_until_activity(&h);
    h.ev[h.n - 1]->activity_task_scheduled_event_attributes->activity_type = NULL;
    expect_unreadable(reg, &h, "history event 5 (ActivityTaskScheduled) names no activity type");

    /* A timer's start carrying a fire's attributes (a string read as a Duration). */
    wb_first_task(&h, NULL, NULL);
    wb_task_completed(&h);
    wb_timer(&h, "1");
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
    tw_registry *reg = wb_semantics_lib();
    wb_hist h;
    int64_t act = clock_until_activity(&h);
    wb_activity_done(&h, act + 1, "1"); /* names the ActivityTaskStarted event (6) */
    expect_unreadable(reg, &h, "history event 7 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 6, which the workflow did not start");

    act = clock_until_activity(&h);
    wb_activity_done(&h, act, "1");
    wb_activity_done(&h, act, "2");
    expect_unreadable(reg, &h, "history event 9 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 5, resolved already");

    /* Scheduled id 0: the activity the code makes at this very task has no event yet. */
    wb_first_task(&h, NULL, NULL);
    wb_activity_done(&h, 0, "1");
    expect_unreadable(reg, &h, "history event 5 (ActivityTaskCompleted) resolves the activity "
                               "scheduled at event 0, which the workflow did not start");

    act = clock_until_activity(&h);
    wb_activity_done(&h, act, "1");
    wb_task(&h, 2000);
    wb_task_completed(&h);
    pb_event *fired = wb_add(&h, EV(TIMER_FIRED));
    HA(TimerFired) *at = wb_mem(&h, sizeof(*at));
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
    tw_registry *reg = wb_semantics_lib();
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
        wb_hist h;
        wb_first_task(&h, NULL, NULL);
        h.ev[h.n - 1]->event_time->seconds = cases[i].seconds;
        h.ev[h.n - 1]->event_time->nanos = cases[i].nanos;
        arena *a = arena_new(1 << 24);
        wf_output out;
        wb_run(reg, a, &h, "Clock", "run", &out);
        assert_string_equal(wb_activity_argument(&out), cases[i].now);
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
    tw_registry *reg = wb_semantics_lib();
    wb_hist h;
    wb_first_task(&h, "\"x\"", NULL);
    h.ev[0]->workflow_execution_started_event_attributes->input->payloads[0]->metadata[0]->value =
        (ProtobufCBinaryData){0, NULL};
    wf_output out;
    wb_run(reg, a, &h, "Clock", "run", &out);
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
        cmocka_unit_test(attributes_of_another_type_fail_the_task),
        cmocka_unit_test(stray_resolutions_fail_the_task),
        cmocka_unit_test(far_event_times_saturate),
        cmocka_unit_test(payloads_without_bytes),
        cmocka_unit_test(arena_refuses_sizes_past_its_limit),
    };
    return cmocka_run_group_tests_name("unreadable", tests, NULL, NULL);
}
