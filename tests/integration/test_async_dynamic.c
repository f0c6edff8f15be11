/*
 * Async activity completion and dynamic workflows and activities (ABI 1.2), end to end: the
 * emulator serving build/bootstrap with tests/fixtures/lib_misc.so, the real server, the Go
 * driver as the client.
 *
 * An activity that returns TW_EPENDING sends no answer; the driver, holding its task token,
 * heartbeats it, completes one and fails the other through the Go SDK's
 * client.CompleteActivity, and the workflow sees both outcomes (the history's answers carry
 * the driver's identity, not the worker's). An unregistered workflow type runs the dynamic
 * workflow, which calls an unregistered activity type (the dynamic activity) and a registered
 * one (which wins over the dynamic activity); a registered workflow type wins over the dynamic
 * workflow.
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
#include <unistd.h>

#include "tests/support/flow.h"

static tserver srv;
static char token_dir[128];

static int group_setup(void **st)
{
    snprintf(token_dir, sizeof(token_dir), "/tmp/test_async_dynamic-%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", token_dir, token_dir);
    if (system(cmd) != 0)
        return -1;
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", token_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void run_misc(flow_fn *f, const char *prefix)
{
    static char tokens[160];
    snprintf(tokens, sizeof(tokens), "MISC_TOKEN_DIR=%s", token_dir);
    const char *env[] = {"TEMPORAL_IDLE_EXIT=2s", tokens, NULL};
    flow_deploy(f, &srv, prefix);
    flow_run(f, &(flow_opts){.library = "fixtures/lib_misc.so", .timeout_s = 60, .env = env});
}

/* Waits (up to 30 s) until the token file |path| exists. */
static void wait_for_file(const char *path)
{
    for (int i = 0; i < 300; i++) {
        if (access(path, R_OK) == 0)
            return;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("no task token at %s", path);
}

/* How many ActivityTaskCompleted / Failed events of |history| the driver's client sent (their
 * identity is "tw-driver-<pid>", the worker's is its own). */
static int answers_by_driver(const cJSON *history)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(history, "events"))
    {
        const cJSON *at = cJSON_GetObjectItem(e, "activityTaskCompletedEventAttributes");
        if (!at)
            at = cJSON_GetObjectItem(e, "activityTaskFailedEventAttributes");
        const char *who = cJSON_GetStringValue(cJSON_GetObjectItem(at, "identity"));
        n += who && strncmp(who, "tw-driver-", 10) == 0;
    }
    return n;
}

static void pending_activities_complete_by_token(void **st)
{
    flow_fn f;
    run_misc(&f, "async");
    char id[64], ok_path[256], bad_path[256];
    flow_new_id(id, sizeof(id), "async");
    snprintf(ok_path, sizeof(ok_path), "%s/%s-ok", token_dir, id);
    snprintf(bad_path, sizeof(bad_path), "%s/%s-bad", token_dir, id);
    flow_start(&f, "AsyncPair", id, NULL);
    flow_bg bg;
    flow_bg_start(&bg, &f);
    wait_for_file(ok_path);
    wait_for_file(bad_path);
    /* Heartbeats by token reach the server (the activity is not finished), then the answers. */
    const char *beat[] = {"complete-activity", "--token-file", ok_path, "--heartbeat", "{\"p\":1}",
                          NULL};
    flow_call_ok(&srv, beat);
    const char *acts[] = {"activities", "--id", id, NULL};
    cJSON *pend = flow_call(&srv, acts);
    char *pend_text = cJSON_PrintUnformatted(pend);
    print_message("pending activities: %s\n", pend_text);
    assert_non_null(strstr(pend_text, "\"heartbeat_details\":{\"p\":1}"));
    free(pend_text);
    cJSON_Delete(pend);
    const char *complete[] = {"complete-activity", "--token-file", ok_path, "--result",
                              "\"done-async\"", NULL};
    flow_call_ok(&srv, complete);
    const char *fail[] = {"complete-activity", "--token-file", bad_path, "--fail",
                          "refused by the test", NULL};
    flow_call_ok(&srv, fail);
    flow_bg_join_ok(&bg);
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"),
                        "{\"ok\":\"done-async\",\"ok_rc\":0,\"bad\":{\"rc\":-4,\"type\":"
                        "\"AsyncFailure\",\"message\":\"refused by the test\"}}");
    cJSON_Delete(done);
    /* The answers came from the client: the worker sent none (a second answer to the same
     * token would have failed the driver's with NotFound). */
    cJSON *h = flow_history(&srv, id, NULL);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_FAILED"), 1);
    assert_int_equal(answers_by_driver(h), 2);
    cJSON_Delete(h);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void dynamic_workflow_and_activity(void **st)
{
    flow_fn f;
    run_misc(&f, "dyn");
    char reg_id[64], dyn_id[64];
    flow_new_id(reg_id, sizeof(reg_id), "reg");
    flow_new_id(dyn_id, sizeof(dyn_id), "dyn");
    flow_start(&f, "Registered", reg_id, NULL);
    flow_start(&f, "NobodyRegisteredMe", dyn_id, "{\"k\":[1,\"x\"]}");
    flow_invoke_until_closed(&f, dyn_id, 3);
    flow_invoke_until_closed(&f, reg_id, 2);
    cJSON *done = flow_await(&srv, reg_id, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"), "\"registered\"");
    cJSON_Delete(done);
    done = flow_await(&srv, dyn_id, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"),
                        "{\"type\":\"NobodyRegisteredMe\",\"nargs\":1,\"arg\":{\"k\":[1,\"x\"]},"
                        "\"dyn\":\"Shout:{\\\"k\\\":[1,\\\"x\\\"]}\",\"named\":\"named\","
                        "\"local\":\"Whisper:{\\\"k\\\":[1,\\\"x\\\"]}\"}");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_activities_complete_by_token),
        cmocka_unit_test(dynamic_workflow_and_activity),
    };
    return cmocka_run_group_tests_name("async_dynamic", tests, group_setup, group_teardown);
}
