/*
 * Metrics and traces end to end: the emulator serving build/bootstrap with the hello example
 * (one workflow, one activity) against the real server.
 *
 * - With TEMPORAL_METRICS=emf, an invocation that runs a workflow to its end prints one EMF
 *   line on stdout whose values are what happened: as many workflow tasks as the history has
 *   completed ones (one latency sample each), one activity completed, none failed, the polls
 *   that brought the tasks sampled, stopped idle after at least the idle window, under the
 *   task queue, deployment and build id of the function, with the invocation's request id
 *   and the trace id given to the invoke (X-Amzn-Trace-Id, passed on by the emulator as
 *   Lambda-Runtime-Trace-Id).
 * - Every log line of the invocation (between the emulator's START and END) carries that
 *   trace id's Root and the request id.
 * - Off by default: no EMF line, and the lines still carry the trace id the emulator made.
 * - Without the workflow cache, each task after a workflow's first is a replay (one
 *   ReplayLatency sample each); without the idle exit, the stop is at the deadline.
 * - An invocation that fails (an unknown namespace) says so: stopReason "error".
 * - A wrong TEMPORAL_METRICS is an init error naming it.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/flow.h"

static tserver srv;

static int group_setup(void **st) { return tserver_start(&srv, 0, NULL, NULL); }

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

#define ROOT "1-6560a1b2-0123456789abcdef01234567"
#define TRACE_HEADER "X-Amzn-Trace-Id: Root=" ROOT ";Parent=53995c3f42cd8ad8;Sampled=0"

/* One invocation with |extra| headers: its request id (malloc'd); *|body| its answer
 * (malloc'd), *|error| its X-Amz-Function-Error (malloc'd) or NULL. */
static char *invoke(flow_fn *f, const char *const *extra, char **body, char **error)
{
    http_answer a;
    assert_int_equal(emu_invoke(&f->emu, NULL, NULL, "{}", extra, &a), 0);
    char *id = http_answer_header(&a, "x-amzn-RequestId");
    assert_non_null(id);
    *error = http_answer_header(&a, "X-Amz-Function-Error");
    *body = strdup(a.body ? a.body : "");
    http_answer_free(&a);
    return id;
}

/* The emulator's output from invocation |id|'s START line to its END line (malloc'd). */
static char *invocation_output(flow_fn *f, const char *id)
{
    char *out = emu_output(&f->emu);
    char start[160], end[160];
    snprintf(start, sizeof(start), "START RequestId: %s", id);
    snprintf(end, sizeof(end), "END RequestId: %s", id);
    char *s = strstr(out, start), *e = s ? strstr(s, end) : NULL;
    if (!s || !e)
        fail_msg("no START and END of %s in:\n%s", id, out);
    char *seg = strndup(s, (size_t)(e - s));
    free(out);
    return seg;
}

/* Checks every runtime log line of |seg| carries |request_id| and trace id |root| (NULL: the
 * same one, whatever it is; then returned, malloc'd). Counts the lines into *|lines|. */
static char *every_line_has_the_ids(const char *seg, const char *request_id, const char *root,
                                    int *lines)
{
    char *copy = strdup(seg), *save = NULL, *seen = root ? strdup(root) : NULL;
    *lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "{\"timestamp\"", 12) != 0)
            continue; /* the emulator's own lines, the EMF line */
        cJSON *o = cJSON_Parse(l);
        if (!o)
            fail_msg("a log line that is not JSON: %s", l);
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "requestId"));
        const char *tid = cJSON_GetStringValue(cJSON_GetObjectItem(o, "traceId"));
        if (!rid || strcmp(rid, request_id) != 0 || !tid || (seen && strcmp(tid, seen) != 0))
            fail_msg("a line of invocation %s without its ids (trace %s): %s", request_id,
                     seen ? seen : "?", l);
        if (!seen)
            seen = strdup(tid);
        (*lines)++;
        cJSON_Delete(o);
    }
    free(copy);
    return seen;
}

/* The one EMF line of |seg|, parsed; fails when there is none or more than one. */
static cJSON *emf_line(const char *seg)
{
    if (count_substr(seg, "{\"_aws\":") != 1)
        fail_msg("not one EMF line in:\n%s", seg);
    const char *s = strstr(seg, "{\"_aws\":");
    assert_true(s == seg || s[-1] == '\n'); /* a line of its own */
    const char *e = strchr(s, '\n');
    assert_non_null(e);
    char *line = strndup(s, (size_t)(e - s));
    cJSON *o = cJSON_Parse(line);
    if (!o)
        fail_msg("the EMF line is not JSON: %s", line);
    free(line);
    return o;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("no number %s in the EMF line", name);
    return v->valuedouble;
}

static int samples(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
}

static void the_line_says_what_the_invocation_did(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_METRICS=emf", "TEMPORAL_METRICS_NAMESPACE=TwTest",
                         "TEMPORAL_IDLE_EXIT=1s", NULL};
    flow_deploy(&f, &srv, "emf");
    flow_run(&f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 30, .env = env});
    char wid[64];
    flow_new_id(wid, sizeof(wid), "emf");
    flow_start(&f, "Greet", wid, "\"metrics\"");
    const char *extra[] = {TRACE_HEADER, NULL};
    char *body, *error;
    char *rid = invoke(&f, extra, &body, &error);
    if (error)
        fail_msg("the invocation failed: %s", body);
    cJSON *sum = cJSON_Parse(body);
    assert_non_null(sum);
    cJSON *done = flow_await(&srv, wid, "10s"); /* the one invocation ran it to its end */
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    cJSON *hist = flow_history(&srv, wid, NULL);
    int completed_tasks = flow_count_events(hist, "EVENT_TYPE_WORKFLOW_TASK_COMPLETED");
    cJSON_Delete(hist);

    char *seg = invocation_output(&f, rid);
    int lines;
    free(every_line_has_the_ids(seg, rid, ROOT, &lines));
    assert_true(lines >= 2); /* at least "polling" and "invocation done" */
    cJSON *m = emf_line(seg);
    char *text = cJSON_PrintUnformatted(m);
    print_message("the EMF line: %s\n", text);
    free(text);
    const cJSON *dir = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(m, "_aws"), "CloudWatchMetrics"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(dir, "Namespace")), "TwTest");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "TaskQueue")), f.queue);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "DeploymentName")),
                        f.deployment);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "BuildId")), "b1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "requestId")), rid);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "traceId")), ROOT);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "stopReason")), "idle");
    assert_true(completed_tasks >= 2); /* start -> activity, its result -> the end */
    assert_true(num(m, "WorkflowTasks") == completed_tasks);
    assert_true(num(m, "WorkflowTasks") == flow_int(sum, "workflow_tasks"));
    assert_int_equal(samples(m, "WorkflowTaskLatency"), completed_tasks);
    assert_true(num(m, "WorkflowTaskFailures") == 0);
    assert_true(num(m, "ActivitiesCompleted") == 1);
    assert_true(num(m, "ActivitiesFailed") == 0);
    assert_true(num(m, "ActivitiesFailedBack") == 0);
    assert_true(num(m, "PollErrors") == 0);
    /* Polls brought the first task and the activity; later tasks may come back with answers. */
    assert_true(samples(m, "PollWait") >= 2);
    assert_int_equal(samples(m, "ReplayLatency"), 0); /* the cache kept the run */
    assert_true(num(m, "IdleBeforeExit") >= 1000); /* the idle window, at least */
    assert_true(num(m, "StoppedIdle") == 1);
    assert_true(num(m, "StoppedAtDeadline") == 0);
    assert_true(num(m, "StoppedOnError") == 0);
    cJSON_Delete(m);
    cJSON_Delete(sum);
    free(seg);
    free(rid);
    free(body);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void off_by_default_and_lines_still_carry_the_trace(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", NULL};
    flow_deploy(&f, &srv, "noemf");
    flow_run(&f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 30, .env = env});
    char *body, *error;
    char *rid = invoke(&f, NULL, &body, &error); /* the emulator makes the trace id */
    assert_null(error);
    char *seg = invocation_output(&f, rid);
    assert_null(strstr(seg, "\"_aws\""));
    int lines;
    char *root = every_line_has_the_ids(seg, rid, NULL, &lines);
    assert_true(lines >= 2);
    assert_non_null(root);
    assert_true(strncmp(root, "1-", 2) == 0 && !strchr(root, ';')); /* the Root alone */
    free(root);
    free(seg);
    free(rid);
    free(body);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* Without the workflow cache every task after a workflow's first replays it; without the idle
 * exit the invocation works to its deadline. */
static void replays_and_a_stop_at_the_deadline(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_METRICS=emf", "TEMPORAL_WORKFLOW_CACHE_SIZE=0",
                         "TEMPORAL_IDLE_EXIT=0s", NULL};
    flow_deploy(&f, &srv, "emfreplay");
    flow_run(&f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 5, .env = env});
    char wid[64];
    flow_new_id(wid, sizeof(wid), "emfreplay");
    flow_start(&f, "Greet", wid, "\"replay\"");
    const char *extra[] = {TRACE_HEADER, NULL};
    char *body, *error;
    char *rid = invoke(&f, extra, &body, &error);
    if (error)
        fail_msg("the invocation failed: %s", body);
    cJSON *done = flow_await(&srv, wid, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    char *seg = invocation_output(&f, rid);
    cJSON *m = emf_line(seg);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "stopReason")), "deadline");
    assert_true(num(m, "StoppedAtDeadline") == 1);
    assert_true(num(m, "StoppedIdle") == 0);
    int tasks = (int)num(m, "WorkflowTasks");
    assert_true(tasks >= 2);
    assert_int_equal(samples(m, "ReplayLatency"), tasks - 1);
    assert_true(num(m, "ActivitiesCompleted") == 1);
    cJSON_Delete(m);
    free(seg);
    free(rid);
    free(body);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_failed_invocation_says_error(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_METRICS=emf", "TEMPORAL_NAMESPACE=no-such-namespace", NULL};
    flow_deploy(&f, &srv, "emferr");
    flow_run(&f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 10, .env = env});
    const char *extra[] = {TRACE_HEADER, NULL};
    char *body, *error;
    char *rid = invoke(&f, extra, &body, &error);
    assert_non_null(error);
    char *seg = invocation_output(&f, rid);
    int lines;
    free(every_line_has_the_ids(seg, rid, ROOT, &lines));
    assert_true(lines >= 1); /* "invocation failed: ..." */
    cJSON *m = emf_line(seg);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "stopReason")), "error");
    assert_true(num(m, "StoppedOnError") == 1);
    assert_true(num(m, "WorkflowTasks") == 0);
    assert_null(cJSON_GetObjectItem(m, "IdleBeforeExit")); /* it never polled */
    cJSON_Delete(m);
    free(seg);
    free(rid);
    free(body);
    free(error);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_wrong_value_is_an_init_error_naming_it(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_METRICS=yes", NULL};
    flow_deploy(&f, &srv, "emfbad");
    flow_run(&f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 10, .env = env});
    char *body, *error;
    free(invoke(&f, NULL, &body, &error));
    assert_non_null(error);
    assert_non_null(strstr(body, "TEMPORAL_METRICS"));
    free(body);
    free(error);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_line_says_what_the_invocation_did),
        cmocka_unit_test(off_by_default_and_lines_still_carry_the_trace),
        cmocka_unit_test(replays_and_a_stop_at_the_deadline),
        cmocka_unit_test(a_failed_invocation_says_error),
        cmocka_unit_test(a_wrong_value_is_an_init_error_naming_it),
    };
    return cmocka_run_group_tests_name("metrics", tests, group_setup, group_teardown);
}
