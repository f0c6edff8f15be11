/*
 * End to end, continue-as-new and the info structs (tests/fixtures/lib_wf_can.c): build/bootstrap
 * runs the library under the local Lambda emulator against the real Temporal server, and the
 * official Go SDK (tw-driver) starts and reads the workflows:
 *
 *   - Counter(0, 2) continues as new twice with new arguments; the last run sees the run it
 *     continues and the chain's first run (the one the client started), and each run's history
 *     ends with WorkflowExecutionContinuedAsNew naming the next;
 *   - tw_wf_info as the server and the worker give it: namespace, timeouts of the start, the
 *     chain, the history length and size at the task (no suggestion, no target change), the
 *     worker's deployment version;
 *   - tw_act_info: namespace, workflow type, scheduled and started times, the three timeouts,
 *     the task token, attempt;
 *   - a pinned workflow on version b1 continues as new after b2 became current: with
 *     TW_CAN_VERSIONING_AUTO_UPGRADE its new run runs on b2 (the function of b2 runs it), with
 *     the default it stays on b1. Two functions, one per version, as the Worker Controller
 *     would invoke. (On a signal; deployment_versioning/upgrade_on_continue_as_new in
 *     test_versioning continues when the server says the target version changed.)
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
#include "tw.h"

#define LIB "fixtures/lib_wf_can.so"

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

static void run_function(flow_fn *f, const char *build_id)
{
    char b[32];
    snprintf(b, sizeof(b), "TEMPORAL_WORKER_BUILD_ID=%s", build_id);
    const char *env[] = {b, NULL};
    flow_run(f, &(flow_opts){.library = LIB, .timeout_s = 30, .env = env});
}

/* Starts |type| as |id| with the driver's start |extra| arguments (NULL-terminated, may be
 * NULL); its run id into |run| (|n| bytes). */
static void start(const flow_fn *f, const char *type, const char *id, const char *const *extra,
                  char *run, size_t n)
{
    const char *args[32] = {"start", "--id", id, "--type", type, "--task-queue", f->queue};
    size_t k = 7;
    for (size_t i = 0; extra && extra[i] && k < 31; i++)
        args[k++] = extra[i];
    args[k] = NULL;
    cJSON *o = flow_call(&srv, args);
    snprintf(run, n, "%s", flow_str(o, "run_id"));
    cJSON_Delete(o);
}

/* The result of workflow |id|'s last run, once closed (the caller deletes *|done|). */
static const cJSON *result_of(const char *id, cJSON **done)
{
    *done = flow_await(&srv, id, "30s");
    const cJSON *r = cJSON_GetObjectItem(*done, "result");
    if (!r)
        fail_msg("%s: no result: %s", id, flow_member_json(*done, "error"));
    return r;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    if (!s)
        fail_msg("no string %s in %s", name, cJSON_PrintUnformatted(o));
    return s;
}

static long long num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("no number %s", name);
    return (long long)cJSON_GetNumberValue(v);
}

static long long num_at(const cJSON *o, const char *name, int i)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(o, name), i);
    if (!cJSON_IsNumber(v))
        fail_msg("no number %s[%d]", name, i);
    return (long long)cJSON_GetNumberValue(v);
}

/* The run that run |run_id| of |id| continued as (its last event names it), into |next|. */
static void continued_as(const char *id, const char *run_id, char *next, size_t n)
{
    cJSON *h = flow_history(&srv, id, run_id);
    const cJSON *evs = cJSON_GetObjectItem(h, "events");
    const cJSON *last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(last, "eventType"));
    if (!type || strcmp(type, "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW") != 0)
        fail_msg("run %s of %s ends with %s, not continued as new", run_id, id,
                 type ? type : "nothing");
    const cJSON *at = cJSON_GetObjectItem(last, "workflowExecutionContinuedAsNewEventAttributes");
    snprintf(next, n, "%s", str_of(at, "newExecutionRunId"));
    cJSON_Delete(h);
}

static void continues_as_new_with_new_arguments(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "can");
    run_function(&f, "b1");
    char id[64], run0[64], run1[64], run2[64];
    flow_new_id(id, sizeof(id), "counter");
    const char *args[] = {"--input", "0", "--input", "2", NULL};
    start(&f, "Counter", id, args, run0, sizeof(run0));
    flow_invoke_until_closed(&f, id, 5);
    cJSON *done;
    const cJSON *r = result_of(id, &done);
    continued_as(id, run0, run1, sizeof(run1));
    continued_as(id, run1, run2, sizeof(run2));
    assert_int_equal(num_of(r, "n"), 2);
    assert_string_equal(str_of(r, "continued"), run1);
    assert_string_equal(str_of(r, "first"), run0);
    assert_string_equal(str_of(done, "run_id"), run2);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void workflow_info_from_the_server(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "can");
    run_function(&f, "b1");
    char id[64], run[64], want[300];
    flow_new_id(id, sizeof(id), "info");
    const char *args[] = {"--input", "\"x\"", "--execution-timeout", "1h", "--run-timeout", "10m",
                          "--task-timeout", "7s", NULL};
    start(&f, "Info", id, args, run, sizeof(run));
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done;
    const cJSON *r = result_of(id, &done);
    assert_int_equal(num_of(r, "size"), (long long)sizeof(tw_wf_info));
    assert_string_equal(str_of(r, "namespace"), "default");
    assert_string_equal(str_of(r, "id"), id);
    assert_string_equal(str_of(r, "run"), run);
    assert_string_equal(str_of(r, "type"), "Info");
    assert_string_equal(str_of(r, "queue"), f.queue);
    assert_int_equal(num_of(r, "attempt"), 1);
    assert_string_equal(str_of(r, "parent"), "//");
    snprintf(want, sizeof(want), "%s/%s", id, run);
    assert_string_equal(str_of(r, "root"), want);
    assert_string_equal(str_of(r, "first"), run);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "continued")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "cron")));
    assert_true(num_of(r, "start") > 1700000000000LL);
    assert_int_equal(num_at(r, "timeouts", 0), 3600000);
    assert_int_equal(num_at(r, "timeouts", 1), 600000);
    assert_int_equal(num_at(r, "timeouts", 2), 7000);
    assert_int_equal(num_at(r, "history", 0), 3); /* the first task's WorkflowTaskStarted */
    assert_true(num_at(r, "history", 1) > 0);     /* the server counts the bytes */
    assert_int_equal(num_at(r, "history", 2), 0);
    assert_int_equal(num_at(r, "history", 3), 0); /* no reasons */
    assert_int_equal(num_at(r, "history", 4), 0); /* b1 is current: no other target */
    snprintf(want, sizeof(want), "%s/b1", f.deployment);
    assert_string_equal(str_of(r, "deployment"), want);
    assert_string_equal(str_of(r, "arg"), "x");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void activity_info_from_the_task(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "can");
    run_function(&f, "b1");
    char id[64], run[64];
    flow_new_id(id, sizeof(id), "actinfo");
    start(&f, "ActInfo", id, NULL, run, sizeof(run));
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done;
    const cJSON *r = result_of(id, &done);
    assert_int_equal(num_of(r, "size"), (long long)sizeof(tw_act_info));
    assert_string_equal(str_of(r, "namespace"), "default");
    assert_string_equal(str_of(r, "workflow_type"), "ActInfo");
    long long scheduled = num_of(r, "scheduled"), started = num_of(r, "started");
    assert_true(scheduled > 1700000000000LL);
    assert_true(num_of(r, "current_scheduled") >= scheduled);
    assert_true(started >= scheduled);
    assert_int_equal(num_at(r, "timeouts", 0), 5000);
    assert_int_equal(num_at(r, "timeouts", 1), 20000);
    assert_int_equal(num_at(r, "timeouts", 2), 10000);
    assert_true(num_of(r, "token_len") > 0);
    assert_int_equal(num_of(r, "is_local"), 0);
    assert_int_equal(num_of(r, "attempt"), 1);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* Waits until |f|'s deployment has made |build| current on its task queues (the routing
 * config reaches them a moment after the change). */
static void wait_current(const flow_fn *f, const char *build)
{
    for (int i = 0; i < 200; i++) {
        const char *args[] = {"describe-deployment", "--name", f->deployment, NULL};
        cJSON *o = flow_call(&srv, args);
        const cJSON *info = cJSON_GetObjectItem(o, "workerDeploymentInfo");
        const cJSON *cur = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "routingConfig"),
                                               "currentDeploymentVersion");
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(cur, "buildId"));
        const char *state =
            cJSON_GetStringValue(cJSON_GetObjectItem(info, "routingConfigUpdateState"));
        int ok = b && strcmp(b, build) == 0 && state &&
                 strcmp(state, "ROUTING_CONFIG_UPDATE_STATE_COMPLETED") == 0;
        cJSON_Delete(o);
        if (ok)
            return;
        usleep(100 * 1000);
    }
    fail_msg("deployment %s: current version %s not propagated", f->deployment, build);
}

/* A pinned "Upgrade" started on b1 (the current version), b2 made current, then the "go"
 * signal with |versioning|: the first run continues as new on b1; the new run runs on
 * |want_build|. f1 serves b1, f2 b2, each invoked while it should have work. */
static void upgrade_on_continue_as_new(int versioning, const char *want_build)
{
    flow_fn f1, f2;
    flow_deploy(&f1, &srv, "canv");
    f2 = f1;
    const char *version[] = {"create-version", "--deployment", f1.deployment, "--build-id", "b2",
                             NULL};
    flow_call_ok(&srv, version);
    run_function(&f1, "b1");
    char id[64], run[64], go[16];
    flow_new_id(id, sizeof(id), "upgrade");
    start(&f1, "Upgrade", id, NULL, run, sizeof(run));
    flow_invoke_ok(&f1); /* the first task: the workflow waits for "go", pinned to b1 */
    const char *current[] = {"set-current", "--deployment", f1.deployment, "--build-id", "b2",
                             NULL};
    flow_call_ok(&srv, current);
    wait_current(&f1, "b2"); /* so staying on b1 is the pinned run's doing */
    run_function(&f2, "b2");
    snprintf(go, sizeof(go), "%d", versioning);
    const char *signal[] = {"signal", "--id", id, "--name", "go", "--input", go, NULL};
    flow_call_ok(&srv, signal);
    flow_invoke_ok(&f1); /* pinned: b1 runs the task that continues as new */
    char next[64];
    continued_as(id, run, next, sizeof(next));
    flow_invoke_until_closed(strcmp(want_build, "b2") == 0 ? &f2 : &f1, id, 3);
    cJSON *done;
    const cJSON *r = result_of(id, &done);
    assert_string_equal(str_of(r, "build_id"), want_build);
    assert_string_equal(str_of(done, "run_id"), next);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f1.emu), 0);
    assert_int_equal(emu_stop(&f2.emu), 0);
}

static void pinned_workflow_upgrades_on_continue_as_new(void **st)
{
    upgrade_on_continue_as_new(TW_CAN_VERSIONING_AUTO_UPGRADE, "b2");
}

static void pinned_workflow_stays_on_its_version_by_default(void **st)
{
    upgrade_on_continue_as_new(TW_CAN_VERSIONING_INHERIT, "b1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(continues_as_new_with_new_arguments),
        cmocka_unit_test(workflow_info_from_the_server),
        cmocka_unit_test(activity_info_from_the_task),
        cmocka_unit_test(pinned_workflow_upgrades_on_continue_as_new),
        cmocka_unit_test(pinned_workflow_stays_on_its_version_by_default),
    };
    return cmocka_run_group_tests_name("can_talk", tests, group_setup, group_teardown);
}
