/*
 * The serverless flow for real: Temporal's Worker Controller invokes the function. The server
 * runs with its AWS SDK pointed at the local Lambda emulator (AWS_ENDPOINT_URL_LAMBDA, dummy
 * credentials); the Worker Deployment Version carries an aws-lambda compute config naming the
 * emulator's function; the Go driver starts workflows. The test never invokes the function:
 * Temporal does (GetFunction to validate, then Event invokes when tasks wait).
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

#define ARN "arn:aws:lambda:us-east-1:000000000000:function:function"

static tserver srv;
static emu_proc emu;

/* The emulator first (its port goes to the server's AWS SDK), then the server. */
static int group_setup(void **st)
{
    int port = free_port();
    char lib[4096], addr[64];
    if (!realpath(harness_built("examples/libhello.so"), lib))
        return -1;
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", port);
    /* TW_IDLE_EXIT overrides the window (e.g. 0s to measure the official helpers' behaviour). */
    static char idle[64];
    snprintf(idle, sizeof(idle), "TEMPORAL_IDLE_EXIT=%s", getenv("TW_IDLE_EXIT") ? getenv("TW_IDLE_EXIT") : "3s");
    const char *args[] = {"--handler", lib, "--timeout", "30", "--concurrency", "4",
                          "-e", addr, "-e", "TEMPORAL_TASK_QUEUE=serverless",
                          "-e", "TEMPORAL_DEPLOYMENT_NAME=shop", "-e", "TEMPORAL_WORKER_BUILD_ID=v1",
                          "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s", "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s",
                          "-e", idle, NULL};
    if (emu_start(&emu, harness_built("bootstrap"), args) != 0)
        return -1;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", emu.port);
    setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint, 1); /* inherited by the server process */
    setenv("AWS_ACCESS_KEY_ID", "local", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "local", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    return tserver_start(&srv, port, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return emu_stop(&emu);
}

static void hundred_workflows_temporal_invokes_the_function(void **st)
{
    const char *create[] = {"create-deployment", "--deployment", "shop", NULL};
    cJSON_Delete(flow_call(&srv, create));
    const char *version[] = {"create-version", "--deployment", "shop", "--build-id", "v1",
                             "--lambda-arn", ARN, NULL};
    cJSON_Delete(flow_call(&srv, version)); /* the server validates it with GetFunction */
    const char *current[] = {"set-current", "--deployment", "shop", "--build-id", "v1", NULL};
    cJSON_Delete(flow_call(&srv, current));

    char ids[100][64];
    for (int i = 0; i < 100; i++) {
        char in[32];
        snprintf(ids[i], sizeof(ids[i]), "sls-%d-%d", (int)getpid(), i);
        snprintf(in, sizeof(in), "\"s%d\"", i);
        const char *start[] = {"start", "--id", ids[i], "--type", "Greet", "--task-queue",
                               "serverless", "--input", in, NULL};
        cJSON_Delete(flow_call(&srv, start));
    }
    for (int i = 0; i < 100; i++) {
        const char *await[] = {"--timeout", "90s", "await", "--id", ids[i], NULL};
        cJSON *done = flow_call(&srv, await);
        char want[32];
        snprintf(want, sizeof(want), "Hello, s%d!", i);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "status")), "COMPLETED");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), want);
        cJSON_Delete(done);
    }
    /* Temporal did it: the emulator served invocations nobody in this test asked for. */
    assert_int_equal(emu_wait_output(&emu, "REPORT RequestId:", 1, 60000), 0);
    char *out = emu_output(&emu);
    assert_true(count_substr(out, "START RequestId:") >= 1);
    assert_int_equal(count_substr(out, "Status: timeout"), 0); /* the idle exit ended them */
    long billed = 0;
    for (const char *b = out; (b = strstr(b, "Billed Duration: ")); b += 17)
        billed += atol(b + 17);
    printf("serverless: 100 workflows, %d invocations, %d environments, %ld ms billed\n",
           count_substr(out, "START RequestId:"), count_substr(out, "Init Duration:"), billed);
    free(out);
}

/* After every invocation ended on its idle exit, new work makes Temporal invoke again. */
static void later_work_invokes_again(void **st)
{
    char *out = emu_output(&emu);
    int before = count_substr(out, "START RequestId:");
    free(out);
    /* Wait until every invocation has ended (no START without its END). */
    for (int i = 0; i < 600; i++) {
        out = emu_output(&emu);
        int s = count_substr(out, "START RequestId:"), e = count_substr(out, "END RequestId:");
        free(out);
        if (s == e)
            break;
        usleep(100 * 1000);
    }
    out = emu_output(&emu);
    before = count_substr(out, "START RequestId:");
    assert_int_equal(before, count_substr(out, "END RequestId:"));
    free(out);
    char id[64];
    snprintf(id, sizeof(id), "later-%d", (int)getpid());
    const char *start[] = {"start", "--id", id, "--type", "Greet", "--task-queue", "serverless",
                           "--input", "\"later\"", NULL};
    cJSON_Delete(flow_call(&srv, start));
    const char *await[] = {"--timeout", "90s", "await", "--id", id, NULL};
    cJSON *done = flow_call(&srv, await);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "Hello, later!");
    cJSON_Delete(done);
    out = emu_output(&emu);
    assert_true(count_substr(out, "START RequestId:") > before); /* a new invocation did it */
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hundred_workflows_temporal_invokes_the_function),
        cmocka_unit_test(later_work_invokes_again),
    };
    return cmocka_run_group_tests_name("serverless", tests, group_setup, group_teardown);
}
