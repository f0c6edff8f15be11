/*
 * Temporal's deployment versioning scenarios (tests/features/deployment_versioning/), which need
 * two versions of the worker at once: for each, a deployment with versions b1 (current) and b2
 * of a fresh task queue, and two functions under the local Lambda emulator running
 * build/bootstrap with the scenario's library, one per version. A thread invokes b2's function
 * one invocation after another (each ends at the 2 s idle exit), and the Go SDK driver's check
 * (`tw-driver feature`, local/temporal/driver/feature_versioning.go) invokes b1's the same way
 * while it starts the workflow, moves the current or ramping version, signals it (or lets a
 * pinned workflow continue as new onto the new version) and reads which version answered, as
 * the Worker Controller would invoke the function of the version that has work.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

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

/* A function invoked again and again on a thread of its own until |stop|. */
typedef struct looper {
    flow_fn *f;
    pthread_t th;
    volatile int stop;
    int invocations, failures;
} looper;

static void *loop(void *arg)
{
    looper *l = arg;
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        http_answer a;
        if (emu_invoke(&l->f->emu, NULL, NULL, "{}", NULL, &a) != 0) {
            l->failures++;
            break;
        }
        l->failures += http_answer_header(&a, "X-Amz-Function-Error") != NULL;
        l->invocations++;
        http_answer_free(&a);
    }
    return NULL;
}

static void run_scenario(void **st)
{
    const char *feature = *st;
    char lib[160];
    snprintf(lib, sizeof(lib), "features/%s.so", feature);
    flow_fn f1, f2;
    flow_deploy(&f1, &srv, "ver");
    f2 = f1;
    const char *version[] = {"create-version", "--deployment", f1.deployment, "--build-id", "b2",
                             NULL};
    flow_call_ok(&srv, version);
    const char *idle[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    const char *idle2[] = {"TEMPORAL_IDLE_EXIT=2s", "TEMPORAL_WORKER_BUILD_ID=b2", NULL};
    flow_run(&f1, &(flow_opts){.library = lib, .timeout_s = 30, .env = idle});
    flow_run(&f2, &(flow_opts){.library = lib, .timeout_s = 30, .env = idle2});
    flow_invoke_ok(&f1); /* b1 polled: the task queue knows its current version */
    looper l = {.f = &f2};
    assert_int_equal(pthread_create(&l.th, NULL, loop, &l), 0);

    char url[128], prefix[160], hist[600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/function/invocations",
             f1.emu.port);
    snprintf(prefix, sizeof(prefix), "%s-%d", feature, (int)getpid());
    for (char *c = prefix; *c; c++)
        if (*c == '/')
            *c = '-';
    snprintf(hist, sizeof(hist), "%s", harness_built("features/histories"));
    const char *args[] = {"--timeout", "120s", "feature", "--name", feature, "--task-queue",
                          f1.queue, "--invoke", url, "--id-prefix", prefix, "--history-dir", hist,
                          NULL};
    char *why = NULL;
    cJSON *o = driver_json_of(&srv, args, &why);
    __atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
    pthread_join(l.th, NULL);
    if (!o) {
        char *out1 = emu_output(&f1.emu), *out2 = emu_output(&f2.emu);
        size_t n1 = strlen(out1), n2 = strlen(out2);
        fprintf(stderr, "---- b1 (last 3000 bytes) ----\n%s\n---- b2 (last 3000 bytes) ----\n%s\n",
                out1 + (n1 > 3000 ? n1 - 3000 : 0), out2 + (n2 > 3000 ? n2 - 3000 : 0));
        free(out1);
        free(out2);
        emu_stop(&f1.emu);
        emu_stop(&f2.emu);
        fail_msg("%s: %s", feature, why ? why : "driver failed");
    }
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
    cJSON_Delete(o);
    assert_int_equal(l.failures, 0);
    assert_true(l.invocations >= 1);
    assert_int_equal(emu_stop(&f1.emu), 0); /* no sanitizer report from either bootstrap */
    assert_int_equal(emu_stop(&f2.emu), 0);
}

int main(void)
{
    static const char *const features[] = {
        "deployment_versioning/routing_pinned", "deployment_versioning/routing_auto_upgrade",
        "deployment_versioning/routing_with_override", "deployment_versioning/routing_with_ramp",
        "deployment_versioning/upgrade_on_continue_as_new"};
    enum { N = sizeof(features) / sizeof(features[0]) };
    struct CMUnitTest tests[N];
    for (size_t i = 0; i < N; i++)
        tests[i] = (struct CMUnitTest){.name = features[i], .test_func = run_scenario,
                                       .initial_state = (void *)features[i]};
    return _cmocka_run_group_tests("versioning", tests, N, group_setup, group_teardown);
}
