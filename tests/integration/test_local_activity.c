/*
 * Local activities end to end where the feature scenarios (tests/features/local_activity/) do
 * not go: the Lambda deadline. The emulator serves build/bootstrap with
 * tests/fixtures/lib_wf_local.so against the real server, in 6 s invocations.
 *
 * - A local activity that ignores the stop's cancel and outlasts the invocation is given up at
 *   the drain's end: the invocation is answered within its deadline, no result is invented (no
 *   marker), the workflow task is completed with a new one forced, and the next invocation runs
 *   the activity again from attempt 1, whose result is the one recorded.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/flow.h"

static tserver srv;

static int group_setup(void **st) { return tserver_start(&srv, 0, NULL, NULL); }

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The events of |history| of |type|, in order (at most |max|): their ids and, for a marker,
 * the task that recorded it. */
static int events_of(const cJSON *history, const char *type, long long *id, long long *task,
                     int max)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(history, "events"))
    {
        const cJSON *t = cJSON_GetObjectItem(e, "eventType");
        if (n >= max || !cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
            continue;
        id[n] = atoll(cJSON_GetStringValue(cJSON_GetObjectItem(e, "eventId")));
        const cJSON *m = cJSON_GetObjectItem(e, "markerRecordedEventAttributes");
        const cJSON *w = m ? cJSON_GetObjectItem(m, "workflowTaskCompletedEventId") : NULL;
        task[n] = w ? atoll(cJSON_GetStringValue(w)) : 0;
        n++;
    }
    return n;
}

static void given_up_at_the_deadline_and_run_again(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", NULL};
    flow_deploy(&f, &srv, "lastop");
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_wf_local.so", .timeout_s = 6, .env = env});
    char id[64];
    flow_new_id(id, sizeof(id), "stubborn");
    flow_start(&f, "Stubborn", id, NULL);

    int64_t t0 = wall_ms();
    cJSON *s = flow_invoke(&f); /* the activity outlasts it */
    int64_t took = wall_ms() - t0;
    print_message("first invocation: %lld ms, %s\n", (long long)took,
                  flow_member_json(s, "stopped"));
    assert_string_equal(flow_str(s, "stopped"), "deadline");
    assert_int_equal(flow_int(s, "workflow_task_failures"), 0);
    assert_true(took < 6000);
    cJSON_Delete(s);
    cJSON *h = flow_history(&srv, id, NULL);
    long long ids[8], tasks[8];
    assert_int_equal(events_of(h, "EVENT_TYPE_MARKER_RECORDED", ids, tasks, 8), 0);
    assert_int_equal(events_of(h, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED", ids, tasks, 8), 1);
    /* a new task forced, for the next invocation */
    assert_int_equal(events_of(h, "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", ids, tasks, 8), 2);
    cJSON_Delete(h);

    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"), "\"run 2, attempt 1\"");
    cJSON_Delete(done);
    h = flow_history(&srv, id, NULL);
    int n = events_of(h, "EVENT_TYPE_MARKER_RECORDED", ids, tasks, 8);
    assert_int_equal(n, 1);
    long long wft[8], none[8];
    assert_true(events_of(h, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED", wft, none, 8) >= 2);
    assert_true(tasks[0] > wft[0]); /* recorded by a later task than the given-up one */
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_FAILED"), 0);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT"), 0);
    cJSON_Delete(h);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(given_up_at_the_deadline_and_run_again),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
