/*
 * Temporal's feature-suite scenarios (tests/features/README.md), end to end: for each enabled
 * scenario AREA/NAME, build/bootstrap runs the library built from
 * tests/features/AREA/NAME/feature.c under the local Lambda emulator against the real Temporal
 * server, and the Go SDK driver runs the scenario's check (`tw-driver feature`): it starts the
 * workflows, invokes the function while the scenario wants a worker, signals, queries, updates
 * and cancels them through the official client, and verifies results and histories.
 *
 * The scenarios run are those `make` wrote to $BUILD/features/enabled (the Makefile's FEATURES),
 * or those named in TW_FEATURES (space-separated, for trying one that is not enabled yet).
 * Each scenario's histories are saved under $BUILD/features/histories/ (replay fixtures).
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

#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define MAX_FEATURES 64

static tserver srv;

static cJSON *driver_json(const char *const *args)
{
    char *why;
    cJSON *o = driver_json_of(&srv, args, &why);
    if (!o)
        fail_msg("%s", why);
    return o;
}

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

typedef struct fn {
    emu_proc emu;
    char queue[96];
    char deployment[96];
} fn;

/* A current deployment version for a fresh task queue, and an emulator running bootstrap with
 * the scenario's library for it. A 2 s idle exit ends each invocation soon after the work, so
 * the check can stop the worker by no longer invoking. */
static void deploy(fn *f, const char *feature)
{
    static int seq;
    snprintf(f->queue, sizeof(f->queue), "feat-%d-%d", (int)getpid(), ++seq);
    snprintf(f->deployment, sizeof(f->deployment), "featdep-%d-%d", (int)getpid(), seq);
    const char *create[] = {"create-deployment", "--deployment", f->deployment, NULL};
    cJSON_Delete(driver_json(create));
    const char *version[] = {"create-version", "--deployment", f->deployment, "--build-id", "b1", NULL};
    cJSON_Delete(driver_json(version));
    const char *current[] = {"set-current", "--deployment", f->deployment, "--build-id", "b1", NULL};
    cJSON_Delete(driver_json(current));

    char rel[160], lib[4096], addr[64], tq[128], dep[128];
    snprintf(rel, sizeof(rel), "features/%s.so", feature);
    if (!realpath(harness_built(rel), lib))
        fail_msg("no %s: is %s in the Makefile's FEATURES?", harness_built(rel), feature);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    snprintf(tq, sizeof(tq), "TEMPORAL_TASK_QUEUE=%s", f->queue);
    snprintf(dep, sizeof(dep), "TEMPORAL_DEPLOYMENT_NAME=%s", f->deployment);
    const char *args[] = {"--handler", lib, "--timeout", "30", "-e", addr, "-e", tq, "-e", dep,
                          "-e", "TEMPORAL_WORKER_BUILD_ID=b1", "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                          "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "-e", "TEMPORAL_IDLE_EXIT=2s",
                          NULL};
    char boot[600];
    snprintf(boot, sizeof(boot), "%s", harness_built("bootstrap"));
    assert_int_equal(emu_start(&f->emu, boot, args), 0);
}

/* The last |max| bytes of what the emulator printed, for a failure's message. */
static void print_emu_tail(const fn *f, size_t max)
{
    char *out = emu_output(&f->emu);
    size_t len = strlen(out);
    fprintf(stderr, "---- emulator output (last %zu bytes) ----\n%s\n----\n", len < max ? len : max,
            out + (len > max ? len - max : 0));
    free(out);
}

static void run_feature(void **st)
{
    const char *feature = *st;
    fn f;
    deploy(&f, feature);
    char url[128], prefix[160], hist[600];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/function/invocations",
             f.emu.port);
    snprintf(prefix, sizeof(prefix), "%s-%d", feature, (int)getpid());
    for (char *c = prefix; *c; c++)
        if (*c == '/')
            *c = '-';
    snprintf(hist, sizeof(hist), "%s", harness_built("features/histories"));
    const char *args[] = {"--timeout", "150s", "feature", "--name", feature, "--task-queue",
                          f.queue, "--invoke", url, "--id-prefix", prefix, "--history-dir", hist,
                          NULL};
    char *why;
    cJSON *o = driver_json_of(&srv, args, &why);
    if (!o) {
        print_emu_tail(&f, 6000);
        emu_stop(&f.emu);
        fail_msg("%s: %s", feature, why ? why : "driver failed");
    }
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "invocations")) >= 1);
    cJSON_Delete(o);
    assert_int_equal(emu_stop(&f.emu), 0); /* no sanitizer report from bootstrap */
}

/* The scenarios to run: TW_FEATURES, else $BUILD/features/enabled; at most MAX_FEATURES. */
static size_t load_features(char *names[], char **text)
{
    const char *env = getenv("TW_FEATURES");
    size_t len;
    *text = env ? strdup(env) : read_all(harness_built("features/enabled"), &len);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(*text, " \t\n", &save); tok && n < MAX_FEATURES;
         tok = strtok_r(NULL, " \t\n", &save))
        names[n++] = tok;
    return n;
}

int main(void)
{
    char *names[MAX_FEATURES], *text;
    size_t n = load_features(names, &text);
    struct CMUnitTest tests[MAX_FEATURES];
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){.name = names[i], .test_func = run_feature,
                                       .initial_state = names[i]};
    int rc = _cmocka_run_group_tests("features", tests, n, n ? group_setup : NULL,
                                     n ? group_teardown : NULL);
    free(text);
    return rc;
}
