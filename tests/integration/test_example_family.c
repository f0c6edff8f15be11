/*
 * End to end, the family example (examples/family/worker.c) as its users meet it:
 * build/bootstrap runs it under the local Lambda emulator against the real Temporal server, and
 * the official Go SDK (tw-driver) starts and reads it:
 *
 *   - Family(3 rounds, 2 children, 2 rounds per run): each round's two Chore children run (each
 *     its Square activity) and their results add up; after two rounds the first run continues
 *     as new with its state, the second run does the last round and returns the total, the
 *     number of runs and the chain's first run (the one the client started); each child's
 *     history names its parent run;
 *   - a Chore started on its own (no parent) fails, as the example says.
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

#define LIB "examples/libfamily.so"

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

/* The events of |history| of |type|, in order, up to |max|, into |out|; how many. */
static int events_of(const cJSON *history, const char *type, const cJSON **out, int max)
{
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(history, "events")) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventType"));
        if (t && strcmp(t, type) == 0 && n < max)
            out[n++] = ev;
    }
    return n;
}

/* A string at |path| (member names, NULL-terminated) under |o|, or "". */
static const char *str_at(const cJSON *o, const char *const *path)
{
    for (; *path && o; path++)
        o = cJSON_GetObjectItem(o, *path);
    const char *s = cJSON_GetStringValue(o);
    return s ? s : "";
}

/* The run |run| of |id| continued as, from its last event, into |next|. */
static void continued_as(const char *id, const char *run, char *next, size_t n)
{
    cJSON *h = flow_history(&srv, id, run);
    const cJSON *last[1];
    if (events_of(h, "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW", last, 1) != 1)
        fail_msg("run %s of %s did not continue as new", run, id);
    const char *path[] = {"workflowExecutionContinuedAsNewEventAttributes", "newExecutionRunId",
                          NULL};
    snprintf(next, n, "%s", str_at(last[0], path));
    cJSON_Delete(h);
}

/* Run |run| of |id| started |want| children, each on its own id; each child's started event
 * names that run as its parent. */
static void children_of(const char *id, const char *run, int want)
{
    cJSON *h = flow_history(&srv, id, run);
    const cJSON *started[8];
    int n = events_of(h, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED", started, 8);
    assert_int_equal(n, want);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED"), want);
    for (int i = 0; i < n; i++) {
        const char *wid[] = {"childWorkflowExecutionStartedEventAttributes", "workflowExecution",
                             "workflowId", NULL};
        char child[200];
        snprintf(child, sizeof(child), "%s", str_at(started[i], wid));
        cJSON *ch = flow_history(&srv, child, NULL);
        const cJSON *first[1];
        assert_int_equal(events_of(ch, "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", first, 1), 1);
        const char *pid[] = {"workflowExecutionStartedEventAttributes", "parentWorkflowExecution",
                             "workflowId", NULL};
        const char *prun[] = {"workflowExecutionStartedEventAttributes", "parentWorkflowExecution",
                              "runId", NULL};
        assert_string_equal(str_at(first[0], pid), id);
        assert_string_equal(str_at(first[0], prun), run);
        assert_int_equal(flow_count_events(ch, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"), 1);
        cJSON_Delete(ch);
    }
    cJSON_Delete(h);
}

static void rounds_of_children_across_runs(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "family");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    flow_run(&f, &(flow_opts){.library = LIB, .timeout_s = 30, .env = env});
    char id[64], run0[64], run1[64];
    flow_new_id(id, sizeof(id), "family");
    const char *start[] = {"start", "--id", id, "--type", "Family", "--task-queue", f.queue,
                           "--input", "3", "--input", "2", "--input", "2", NULL};
    cJSON *o = flow_call(&srv, start);
    snprintf(run0, sizeof(run0), "%s", flow_str(o, "run_id"));
    cJSON_Delete(o);
    flow_invoke_until_closed(&f, id, 6);
    cJSON *done = flow_await(&srv, id, "30s");
    /* Squares of 100, 101 (round 1), 200, 201, 300, 301: 281203. */
    char want[200];
    snprintf(want, sizeof(want), "{\"rounds\":3,\"total\":281203,\"runs\":2,\"first_run\":\"%s\"}",
             run0);
    assert_string_equal(flow_member_json(done, "result"), want);
    continued_as(id, run0, run1, sizeof(run1));
    assert_string_equal(flow_str(done, "run_id"), run1);
    cJSON_Delete(done);
    children_of(id, run0, 4); /* rounds 1 and 2 */
    children_of(id, run1, 2); /* round 3 */
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_chore_needs_a_parent(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "family");
    flow_run(&f, &(flow_opts){.library = LIB, .timeout_s = 30});
    char id[64];
    flow_new_id(id, sizeof(id), "orphan");
    flow_start(&f, "Chore", id, "7");
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"FAILED\"");
    assert_non_null(strstr(flow_member_json(done, "failure"), "NoParent"));
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rounds_of_children_across_runs),
        cmocka_unit_test(a_chore_needs_a_parent),
    };
    return cmocka_run_group_tests_name("example_family", tests, group_setup, group_teardown);
}
