/*
 * End to end: build/bootstrap runs the example libraries under the local Lambda emulator
 * against the real Temporal server; the official Go SDK (tw-driver) sets up the Worker
 * Deployment Version, starts the workflows and checks their results. The test invokes the
 * function itself here (the Worker Controller flow is another issue's).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

static tserver srv;
static const char *bootstrap_path; /* NULL: build/bootstrap */

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* (Re)starts the emulator for |f|'s deployment version with |library|. */
static void run_function(flow_fn *f, const char *library, int timeout_s,
                         const char *const *extra_env)
{
    flow_run(f, &(flow_opts){.library = library, .timeout_s = timeout_s, .env = extra_env,
                             .bootstrap = bootstrap_path});
}

/* A deployment version for a fresh queue, current, and an emulator running build/bootstrap
 * with |library| (an example) for that version. */
static void deploy(flow_fn *f, const char *library, int timeout_s, const char *const *extra_env)
{
    flow_deploy(f, &srv, "tq");
    run_function(f, library, timeout_s, extra_env);
}

static cJSON *await_result(const char *id)
{
    return flow_await(&srv, id, "20s");
}

static void hello_completes(void **st)
{
    flow_fn f;
    deploy(&f, "examples/libhello.so", 8, NULL);
    char id[64];
    snprintf(id, sizeof(id), "hello-%d", (int)getpid());
    flow_start(&f, "Greet", id, "\"Temporal\"");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "Hello, Temporal!");
    /* One activity, and the workflow tasks around it, all in one invocation. */
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "activities")), 1);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "workflow_tasks")) >= 2);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "workflow_task_failures")), 0);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void unknown_workflow_type_is_reported(void **st)
{
    flow_fn f;
    deploy(&f, "examples/libhello.so", 6, NULL);
    char id[64];
    snprintf(id, sizeof(id), "unknown-%d", (int)getpid());
    flow_start(&f, "NoSuchWorkflow", id, "{}");
    cJSON *summary = flow_invoke(&f);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "workflow_task_failures")) >= 1);
    char *out = emu_output(&f.emu);
    assert_non_null(strstr(out, "workflow type \\\"NoSuchWorkflow\\\" is not registered"));
    assert_non_null(strstr(out, "registered: Greet"));
    char field[160];
    snprintf(field, sizeof(field), "\"taskKind\":\"workflow\",\"workflowId\":\"%s\"", id);
    assert_non_null(strstr(out, field)); /* log lines say which task they are about */
    free(out);
    cJSON_Delete(summary);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static cJSON *result_of(cJSON *done)
{
    return cJSON_GetObjectItem(done, "result");
}

static void timers_and_parallel_activities(void **st)
{
    flow_fn f;
    deploy(&f, "examples/libtimers.so", 10, NULL);
    char id[64];
    snprintf(id, sizeof(id), "fanout-%d", (int)getpid());
    flow_start(&f, "FanOut", id, "[1,2,3]");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(result_of(done), "sum")), 14);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(result_of(done), "first")) < 3);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "activities")), 3);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void failing_activity_is_retried(void **st)
{
    flow_fn f;
    deploy(&f, "examples/libretry.so", 10, NULL);
    char ok[64], fatal[64];
    snprintf(ok, sizeof(ok), "retry-ok-%d", (int)getpid());
    snprintf(fatal, sizeof(fatal), "retry-fatal-%d", (int)getpid());
    flow_start(&f, "Retrying", ok, "\"ok\"");
    flow_start(&f, "Retrying", fatal, "\"fatal\"");
    cJSON *summary = flow_invoke(&f);
    cJSON *d1 = await_result(ok), *d2 = await_result(fatal);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d1, "status")), "COMPLETED");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(result_of(d1), "succeeded_on_attempt")), 3);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d2, "status")), "FAILED");
    cJSON *failure = cJSON_GetObjectItem(d2, "failure");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(failure, "type")), "Fatal");
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "activity_failures")) >= 3);
    cJSON_Delete(summary);
    cJSON_Delete(d1);
    cJSON_Delete(d2);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void deadline_mid_activity_drains_and_next_invocation_finishes(void **st)
{
    flow_fn f;
    /* 5 s timeout - 2 s buffer = 3 s of work: the 6 s activity is still running at the stop. */
    deploy(&f, "examples/libheartbeat.so", 5, NULL);
    char id[64];
    snprintf(id, sizeof(id), "count-%d", (int)getpid());
    flow_start(&f, "LongCount", id, "30");
    cJSON *first = flow_invoke(&f);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(first, "activities_failed_back_at_stop")), 1);
    cJSON_Delete(first);
    assert_int_equal(emu_stop(&f.emu), 0);
    /* A longer invocation picks the retried activity up where the heartbeats left it. */
    run_function(&f, "examples/libheartbeat.so", 12, NULL);
    cJSON *second = flow_invoke(&f);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
    cJSON *r = result_of(done);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "counted")), 30);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "resumed_from")) > 0);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "attempt")) >= 2);
    cJSON_Delete(second);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void changed_workflow_is_non_determinism(void **st)
{
    flow_fn f;
    deploy(&f, "fixtures/lib_changing_v1.so", 5, NULL);
    char id[64];
    snprintf(id, sizeof(id), "changing-%d", (int)getpid());
    flow_start(&f, "Changing", id, "{}");
    cJSON_Delete(flow_invoke(&f)); /* runs StepA, then waits on a one-hour timer */
    assert_int_equal(emu_stop(&f.emu), 0);
    run_function(&f, "fixtures/lib_changing_v2.so", 5, NULL);
    const char *sig[] = {"signal", "--id", id, "--name", "nudge", NULL};
    flow_call_ok(&srv, sig); /* a new workflow task: replayed by the changed code */
    cJSON *summary = flow_invoke(&f);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "workflow_task_failures")) >= 1);
    char *out = emu_output(&f.emu);
    assert_non_null(strstr(out, "ScheduleActivityTask(type StepA, id 1) but the workflow code made "
                                "ScheduleActivityTask(type StepB, id 1)"));
    free(out);
    char *hist = NULL;
    const char *h[] = {"history", "--id", id, NULL};
    assert_int_equal(driver_run(&srv, &hist, h), 0);
    assert_non_null(strstr(hist, "NON_DETERMINISTIC_ERROR"));
    free(hist);
    cJSON_Delete(summary);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void idle_exit_ends_the_invocation_early(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", NULL};
    deploy(&f, "examples/libhello.so", 60, env);
    char id[64];
    snprintf(id, sizeof(id), "idle-%d", (int)getpid());
    flow_start(&f, "Greet", id, "\"idle\"");
    cJSON *summary = flow_invoke(&f); /* would last ~58 s without the idle exit */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(summary, "stopped")), "idle");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "activities")), 1);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "Hello, idle!");
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void unknown_activity_type_fails_with_the_registered_list(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    deploy(&f, "fixtures/lib_missing_activity.so", 15, env);
    char id[64];
    snprintf(id, sizeof(id), "missing-%d", (int)getpid());
    flow_start(&f, "CallsMissing", id, "{}");
    cJSON_Delete(flow_invoke(&f));
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "FAILED");
    cJSON *failure = cJSON_GetObjectItem(done, "failure");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(failure, "type")), "ActivityNotRegistered");
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(failure, "message"));
    assert_non_null(strstr(msg, "activity type \"Missing\" is not registered"));
    assert_non_null(strstr(msg, "registered: Present"));
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void heartbeat_tells_a_timed_out_activity_to_stop(void **st)
{
    flow_fn f;
    deploy(&f, "fixtures/lib_overrun_activity.so", 12, NULL);
    char id[64];
    snprintf(id, sizeof(id), "overrun-%d", (int)getpid());
    flow_start(&f, "RunsOver", id, "{}");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "FAILED");
    cJSON *failure = cJSON_GetObjectItem(done, "failure");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(failure, "type")), "Timeout");
    /* The activity learnt of it from a heartbeat and stopped long before its 8 s of work. */
    char *out = emu_output(&f.emu);
    assert_non_null(strstr(out, "told to stop by its heartbeat"));
    free(out);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void many_workflows_nothing_lost(void **st)
{
    flow_fn f;
    const char *env[] = {"TEMPORAL_IDLE_EXIT=2s", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=4", NULL};
    deploy(&f, "examples/libhello.so", 20, env);
    char ids[20][64];
    for (int i = 0; i < 20; i++) {
        char in[32];
        snprintf(ids[i], sizeof(ids[i]), "many-%d-%d", (int)getpid(), i);
        snprintf(in, sizeof(in), "\"n%d\"", i);
        flow_start(&f, "Greet", ids[i], in);
    }
    /* Invocations until the work is done, as Temporal would invoke again while work remains. */
    int activities = 0;
    for (int round = 0; round < 5 && activities < 20; round++) {
        cJSON *summary = flow_invoke(&f);
        activities += (int)cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "activities"));
        cJSON_Delete(summary);
    }
    for (int i = 0; i < 20; i++) {
        cJSON *done = await_result(ids[i]);
        char want[32];
        snprintf(want, sizeof(want), "Hello, n%d!", i);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), want);
        cJSON_Delete(done);
    }
    assert_int_equal(activities, 20); /* each activity ran once: none lost, none repeated */
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* provided.al2's point: bootstrap built here runs on an older glibc. The function runs inside
 * a Debian bullseye root (glibc 2.31, the oldest the package registry serves), chrooted, against
 * the same emulator and server. */
static void hello_on_an_older_glibc(void **st)
{
    const char *root = getenv("OLDROOT");
    if (!root)
        fail_msg("OLDROOT is not set (make test sets it; see deps/oldroot.sh)");
    char path[1200], cmd[4096];
    snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libc-2.31.so", root);
    assert_int_equal(access(path, R_OK), 0); /* it really is glibc 2.31 in there */
    char boot[600], lib[600]; /* harness_built() answers in one static buffer */
    /* The shipped build: the sanitizer build needs a newer glibc and its runtime libraries. */
    const char *shipped = getenv("SHIPPED_BOOTSTRAP");
    snprintf(boot, sizeof(boot), "%s", shipped ? shipped : harness_built("bootstrap"));
    snprintf(lib, sizeof(lib), "%s", harness_built("examples/libhello.so"));
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/opt' '%s/var/task' && cp '%s' '%s/opt/bootstrap' && "
             "cp '%s' '%s/var/task/libhello.so'", root, root, boot, root, lib, root);
    assert_int_equal(system(cmd), 0);
    char wrapper[] = "/tmp/tw-chroot-XXXXXX";
    int fd = mkstemp(wrapper);
    assert_true(fd >= 0);
    dprintf(fd, "#!/bin/sh\nexec env LAMBDA_TASK_ROOT=/var/task _HANDLER=libhello.so "
                "/usr/sbin/chroot '%s' /opt/bootstrap\n", root);
    close(fd);
    chmod(wrapper, 0755);
    bootstrap_path = wrapper;
    flow_fn f;
    deploy(&f, "examples/libhello.so", 8, NULL);
    char id[64];
    snprintf(id, sizeof(id), "oldglibc-%d", (int)getpid());
    flow_start(&f, "Greet", id, "\"bullseye\"");
    cJSON *summary = flow_invoke(&f);
    cJSON *done = await_result(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "Hello, bullseye!");
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
    bootstrap_path = NULL;
    unlink(wrapper);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_completes),
        cmocka_unit_test(unknown_workflow_type_is_reported),
        cmocka_unit_test(timers_and_parallel_activities),
        cmocka_unit_test(failing_activity_is_retried),
        cmocka_unit_test(deadline_mid_activity_drains_and_next_invocation_finishes),
        cmocka_unit_test(changed_workflow_is_non_determinism),
        cmocka_unit_test(idle_exit_ends_the_invocation_early),
        cmocka_unit_test(unknown_activity_type_fails_with_the_registered_list),
        cmocka_unit_test(heartbeat_tells_a_timed_out_activity_to_stop),
        cmocka_unit_test(many_workflows_nothing_lost),
        cmocka_unit_test(hello_on_an_older_glibc),
    };
    return cmocka_run_group_tests_name("worker", tests, group_setup, group_teardown);
}
