/*
 * Many invocations in one process, as a warm Lambda environment lives: worker_run() is called
 * again and again in this process against the real server, each time running a hello
 * workflow to completion. Under `make test SAN=1` LeakSanitizer checks at exit that nothing
 * an invocation allocated outlives it.
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

#include <cjson/cJSON.h>

#include "registry/reg.h"
#include "temporal/config/envconfig.h"
#include "temporal/config/settings.h"
#include "temporal/worker/api.h"
#include "temporal/worker/worker.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

static tserver srv;

static void driver_ok(const char *const *args, const char *want)
{
    char *out = NULL;
    int rc = driver_run(&srv, &out, args);
    if (rc != 0 || (want && !strstr(out, want)))
        fail_msg("driver %s: %d: %s", args[0], rc, out ? out : "");
    free(out);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void twenty_invocations_in_one_process(void **st)
{
    assert_int_equal(tserver_start(&srv, 0, NULL, NULL), 0);
    const char *dep[] = {"create-deployment", "--deployment", "warm", NULL};
    driver_ok(dep, NULL);
    const char *ver[] = {"create-version", "--deployment", "warm", "--build-id", "b1", NULL};
    driver_ok(ver, NULL);
    const char *cur[] = {"set-current", "--deployment", "warm", "--build-id", "b1", NULL};
    driver_ok(cur, NULL);

    char addr[64], err[512], lib[4096];
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    const char *env[] = {addr, "TEMPORAL_TASK_QUEUE=warm", "TEMPORAL_DEPLOYMENT_NAME=warm",
                         "TEMPORAL_WORKER_BUILD_ID=b1", "TEMPORAL_SHUTDOWN_BUFFER=1200ms",
                         "TEMPORAL_WORKER_STOP_TIMEOUT=200ms", "TEMPORAL_IDLE_EXIT=500ms", NULL};
    settings ws;
    conn_config conn;
    assert_int_equal(settings_load(&ws, env, err, sizeof(err)), 0);
    assert_int_equal(cfg_load(&conn, env, err, sizeof(err)), 0);
    tw_registry *reg;
    assert_non_null(realpath(harness_built("examples/libhello.so"), lib));
    assert_int_equal(reg_load(&reg, lib, NULL, api_table(), err, sizeof(err)), 0);

    for (int i = 0; i < 20; i++) {
        char id[64], input[32], request[64];
        snprintf(id, sizeof(id), "warm-%d-%d", (int)getpid(), i);
        snprintf(input, sizeof(input), "\"w%d\"", i);
        snprintf(request, sizeof(request), "request-%d", i);
        const char *start[] = {"start", "--id", id, "--type", "Greet", "--task-queue", "warm",
                               "--input", input, NULL};
        driver_ok(start, NULL);
        worker_params p = {.settings = &ws, .conn = &conn, .reg = reg,
                           .request_id = request,
                           .function_arn = "arn:aws:lambda:us-east-1:000000000000:function:warm",
                           .deadline_ms = wall_ms() + 10000};
        worker_result res;
        if (worker_run(&p, &res, err, sizeof(err)) != 0)
            fail_msg("invocation %d: %s", i, err);
        assert_int_equal(res.restart, 0);
        char *summary = res.summary;
        cJSON *o = cJSON_Parse(summary);
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "activities")), 1);
        cJSON_Delete(o);
        free(summary);
        char want[48];
        snprintf(want, sizeof(want), "Hello, w%d!", i);
        const char *await[] = {"await", "--id", id, NULL};
        driver_ok(await, want);
    }
    reg_free(reg);
    cfg_free(&conn);
    settings_free(&ws);
    tserver_stop(&srv, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(twenty_invocations_in_one_process)};
    return cmocka_run_group_tests_name("invocations", tests, NULL, NULL);
}
