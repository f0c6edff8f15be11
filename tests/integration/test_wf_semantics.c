/*
 * End to end, what workflow code can rely on: build/bootstrap runs
 * tests/fixtures/lib_wf_semantics.c under the local Lambda emulator against the real Temporal
 * server, and the official Go SDK (tw-driver) starts, resets and reads the workflows.
 *
 *   - a workflow failure's details, built in a stack frame that is gone when the workflow
 *     function returns, reach the client intact;
 *   - tw_sleep(0) and a 0 ms timer resolve at once, with no timer in the history;
 *   - after a reset, the new run replays the tw_random() values drawn before the reset point
 *     (no non-determinism) and draws new ones after it.
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

#define LIB "fixtures/lib_wf_semantics.so"

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
    flow_deploy(f, &srv, "sem");
    flow_run(f, &(flow_opts){.library = LIB, .timeout_s = timeout_s, .env = idle});
}

/* The end of run |run_id| (NULL: the latest) of workflow |id|. */
static cJSON *await_run(const char *id, const char *run_id)
{
    const char *args[] = {"--timeout", "20s", "await", "--id", id, "--no-follow",
                          run_id ? "--run-id" : NULL, run_id, NULL};
    return flow_call(&srv, args);
}

static const char *event_type(const cJSON *ev)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventType"));
}

static void failure_details_from_the_stack_reach_the_client(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    snprintf(id, sizeof(id), "details-%d", (int)getpid());
    flow_start(&f, "FailWithDetails", id, "{}");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_run(id, NULL);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    cJSON *failure = cJSON_GetObjectItem(done, "failure");
    assert_string_equal(flow_str(failure, "type"), "Detailed");
    assert_string_equal(flow_str(failure, "message"), "failed with 2 details");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(failure, "non_retryable")));
    /* Two payloads: the JSON one decoded, the binary one as base64 of 01 02 03. */
    cJSON *details = cJSON_GetObjectItem(failure, "details");
    assert_int_equal(cJSON_GetArraySize(details), 2);
    char *json = cJSON_PrintUnformatted(cJSON_GetArrayItem(details, 0));
    assert_string_equal(json, "{\"code\":42}");
    free(json);
    cJSON *binary = cJSON_GetArrayItem(details, 1);
    assert_string_equal(flow_str(binary, "encoding"), "binary/plain");
    assert_string_equal(flow_str(binary, "data_base64"), "AQID");
    assert_int_equal(flow_int(summary, "workflow_task_failures"), 0);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void zero_sleep_completes_without_a_timer(void **st)
{
    flow_fn f;
    deploy(&f, 10);
    char id[64];
    snprintf(id, sizeof(id), "sleep0-%d", (int)getpid());
    flow_start(&f, "SleepZero", id, "{}");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_run(id, NULL);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    char *result = cJSON_PrintUnformatted(cJSON_GetObjectItem(done, "result"));
    assert_string_equal(result, "{\"sleep\":0,\"timer\":0,\"await\":0,\"negative\":-1,"
                                "\"negative_timer\":-1,\"same_time\":true}");
    free(result);
    cJSON *h = flow_history(&srv, id, flow_str(done, "run_id"));
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_STARTED"), 0);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"), 1); /* one task */
    cJSON_Delete(h);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The WorkflowTaskCompleted event just before the first event of |type|: 0 if none. */
static long long completed_task_before(const cJSON *h, const char *type)
{
    long long last = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events")) {
        if (strcmp(event_type(ev), type) == 0)
            return last;
        if (strcmp(event_type(ev), "EVENT_TYPE_WORKFLOW_TASK_COMPLETED") == 0)
            last = atoll(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventId")));
    }
    return 0;
}

/* The activity id of the first ActivityTaskScheduled of |h|. */
static const char *scheduled_activity_id(const cJSON *h)
{
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events"))
        if (strcmp(event_type(ev), "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED") == 0)
            return flow_str(cJSON_GetObjectItem(ev, "activityTaskScheduledEventAttributes"), "activityId");
    fail_msg("no ActivityTaskScheduled in the history");
    return NULL;
}

/* RandomThenWait draws r1 (the activity's id and argument), runs the activity, draws r2,
 * sleeps. Reset to the task that drew r2: the new run must replay r1 exactly (else its
 * activity no longer matches the history: non-determinism), and draw r2 afresh from its own
 * run id, as the official SDKs do. */
static void reset_replays_random_values_before_the_reset_point(void **st)
{
    flow_fn f;
    deploy(&f, 12);
    char id[64];
    snprintf(id, sizeof(id), "reset-%d", (int)getpid());
    flow_start(&f, "RandomThenWait", id, "300");
    cJSON *s1 = flow_invoke(&f);
    cJSON *first = await_run(id, NULL);
    assert_string_equal(flow_str(first, "status"), "COMPLETED");
    cJSON *r = cJSON_GetObjectItem(first, "result");
    char r1[32], r2[32], first_run[64], want_id[48];
    snprintf(r1, sizeof(r1), "%s", flow_str(r, "r1"));
    snprintf(r2, sizeof(r2), "%s", flow_str(r, "r2"));
    snprintf(first_run, sizeof(first_run), "%s", flow_str(first, "run_id"));
    assert_string_equal(flow_str(r, "echo"), r1);
    cJSON *h1 = flow_history(&srv, id, first_run);
    snprintf(want_id, sizeof(want_id), "echo-%s", r1);
    assert_string_equal(scheduled_activity_id(h1), want_id);
    long long point = completed_task_before(h1, "EVENT_TYPE_TIMER_STARTED");
    assert_true(point > 0);

    char event[24];
    snprintf(event, sizeof(event), "%lld", point);
    const char *reset[] = {"reset", "--id", id, "--run-id", first_run, "--event-id", event, NULL};
    cJSON *rs = flow_call(&srv, reset);
    char new_run[64];
    snprintf(new_run, sizeof(new_run), "%s", flow_str(rs, "run_id"));
    assert_string_not_equal(new_run, first_run);
    cJSON_Delete(rs);

    cJSON *s2 = flow_invoke(&f); /* replays the copied history, then runs on */
    cJSON *second = await_run(id, new_run);
    assert_string_equal(flow_str(second, "status"), "COMPLETED");
    r = cJSON_GetObjectItem(second, "result");
    assert_string_equal(flow_str(r, "r1"), r1);     /* replayed: the same value */
    assert_string_equal(flow_str(r, "echo"), r1);
    assert_string_not_equal(flow_str(r, "r2"), r2); /* after the reset point: the new run's own */
    cJSON *h2 = flow_history(&srv, id, new_run);
    assert_string_equal(scheduled_activity_id(h2), want_id);
    /* The reset's own failed task, and no other (no non-determinism, nothing retried). */
    assert_int_equal(flow_count_events(h2, "EVENT_TYPE_WORKFLOW_TASK_FAILED"), 1);
    char *text = cJSON_PrintUnformatted(h2);
    assert_non_null(strstr(text, "WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW"));
    assert_null(strstr(text, "NON_DETERMINISTIC"));
    free(text);
    assert_int_equal(flow_int(s1, "workflow_task_failures"), 0);
    assert_int_equal(flow_int(s2, "workflow_task_failures"), 0);
    cJSON_Delete(h1);
    cJSON_Delete(h2);
    cJSON_Delete(s1);
    cJSON_Delete(s2);
    cJSON_Delete(first);
    cJSON_Delete(second);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failure_details_from_the_stack_reach_the_client),
        cmocka_unit_test(zero_sleep_completes_without_a_timer),
        cmocka_unit_test(reset_replays_random_values_before_the_reset_point),
    };
    return cmocka_run_group_tests_name("wf_semantics", tests, group_setup, group_teardown);
}
