/*
 * End to end, workflows people talk to: build/bootstrap runs tests/fixtures/lib_wf_talk.c
 * under the local Lambda emulator against the real Temporal server, and the official Go SDK
 * (tw-driver) starts, signals and cancels the workflows and reads their histories:
 *
 *   - several coroutines (tw_go) run activities and are joined; a condition wait wins over its
 *     timeout timer, which is cancelled (TimerCanceled in the history), or times out;
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

#define LIB "fixtures/lib_wf_talk.so"

static tserver srv;

static cJSON *driver_json(const char *const *args)
{
    char *why;
    cJSON *o = driver_json_of(&srv, args, &why);
    if (!o)
        fail_msg("%s", why);
    return o;
}

static void driver_ok(const char *const *args)
{
    cJSON_Delete(driver_json(args));
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
    char queue[64];
    char deployment[64];
} fn;

/* A current deployment version for a fresh task queue, and an emulator running
 * build/bootstrap with the fixture library for it (2 s idle exit, so invocations end soon
 * after the work). */
static void deploy(fn *f, int timeout_s)
{
    static int seq;
    snprintf(f->queue, sizeof(f->queue), "talk-%d-%d", (int)getpid(), ++seq);
    snprintf(f->deployment, sizeof(f->deployment), "talkdep-%d-%d", (int)getpid(), seq);
    const char *create[] = {"create-deployment", "--deployment", f->deployment, NULL};
    driver_ok(create);
    const char *version[] = {"create-version", "--deployment", f->deployment, "--build-id", "b1", NULL};
    driver_ok(version);
    const char *current[] = {"set-current", "--deployment", f->deployment, "--build-id", "b1", NULL};
    driver_ok(current);

    char lib[4096], addr[64], tq[96], dep[96], timeout[16];
    if (!realpath(harness_built(LIB), lib))
        fail_msg("no %s", LIB);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    snprintf(tq, sizeof(tq), "TEMPORAL_TASK_QUEUE=%s", f->queue);
    snprintf(dep, sizeof(dep), "TEMPORAL_DEPLOYMENT_NAME=%s", f->deployment);
    snprintf(timeout, sizeof(timeout), "%d", timeout_s);
    const char *args[] = {"--handler", lib, "--timeout", timeout, "-e", addr, "-e", tq, "-e", dep,
                          "-e", "TEMPORAL_WORKER_BUILD_ID=b1", "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                          "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "-e", "TEMPORAL_IDLE_EXIT=2s",
                          NULL};
    char boot[600];
    snprintf(boot, sizeof(boot), "%s", harness_built("bootstrap"));
    assert_int_equal(emu_start(&f->emu, boot, args), 0);
}

/* One invocation; its summary. */
static cJSON *invoke(fn *f)
{
    http_answer a;
    assert_int_equal(emu_invoke(&f->emu, NULL, NULL, "{}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    if (fe) {
        char *out = emu_output(&f->emu);
        fail_msg("invocation failed: %s\n%s", a.body, out);
    }
    cJSON *o = cJSON_Parse(a.body);
    if (!o)
        fail_msg("summary is not JSON: %s", a.body);
    http_answer_free(&a);
    return o;
}

static void invoke_ok(fn *f)
{
    cJSON *s = invoke(f);
    int failures = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "workflow_task_failures"));
    if (failures) {
        char *out = emu_output(&f->emu);
        fail_msg("%d workflow task failures:\n%s", failures, out);
    }
    cJSON_Delete(s);
}

static void start(const fn *f, const char *type, const char *id, const char *input)
{
    const char *args[] = {"start", "--id", id, "--type", type, "--task-queue", f->queue,
                          input ? "--input" : NULL, input, NULL};
    driver_ok(args);
}

/* The end of the latest run of workflow |id|. */
static cJSON *await_end(const char *id)
{
    const char *args[] = {"--timeout", "30s", "await", "--id", id, NULL};
    return driver_json(args);
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    if (!s)
        fail_msg("no string \"%s\" in %s", name, cJSON_PrintUnformatted(o));
    return s;
}

/* The JSON of |o|'s member |name|, compact, into a static buffer. */
static const char *json_of(const cJSON *o, const char *name)
{
    static char buf[1024];
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, name));
    snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
    free(s);
    return buf;
}

static cJSON *history(const char *id)
{
    char *out = NULL;
    const char *args[] = {"history", "--id", id, NULL};
    assert_int_equal(driver_run(&srv, &out, args), 0);
    cJSON *h = cJSON_Parse(out);
    if (!h)
        fail_msg("history is not JSON: %.300s", out);
    free(out);
    return h;
}

static int count_events(const cJSON *h, const char *type)
{
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events"))
        n += strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventType")), type) == 0;
    return n;
}

/* A fresh workflow id with |prefix|. */
static const char *new_id(char *buf, size_t n, const char *prefix)
{
    static int seq;
    snprintf(buf, n, "%s-%d-%d", prefix, (int)getpid(), ++seq);
    return buf;
}

/* ---- coroutines ---- */

static void coroutines_join_their_activities(void **st)
{
    fn f;
    deploy(&f, 10);
    char id[64];
    start(&f, "GoJoin", new_id(id, sizeof(id), "gojoin"), NULL);
    invoke_ok(&f);
    cJSON *done = await_end(id);
    assert_string_equal(str(done, "status"), "COMPLETED");
    assert_string_equal(json_of(done, "result"), "[\"a\",\"b\"]");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The condition holds after the coroutine's 1 s timer: the 60 s timeout timer is cancelled,
 * so it never fires (nor costs an invocation); ConditionTimeout's 1 s timer fires instead. */
static void condition_wait_cancels_or_times_out(void **st)
{
    fn f;
    deploy(&f, 12);
    char won[64], timed[64];
    start(&f, "Condition", new_id(won, sizeof(won), "cond"), "1000");
    start(&f, "ConditionTimeout", new_id(timed, sizeof(timed), "condto"), NULL);
    invoke_ok(&f);
    cJSON *a = await_end(won), *b = await_end(timed);
    assert_string_equal(str(a, "status"), "COMPLETED");
    assert_string_equal(json_of(a, "result"), "{\"waited\":0}");
    assert_string_equal(str(b, "status"), "COMPLETED");
    assert_string_equal(json_of(b, "result"), "{\"waited\":-7}");
    cJSON *h = history(won);
    assert_int_equal(count_events(h, "EVENT_TYPE_TIMER_STARTED"), 2);
    assert_int_equal(count_events(h, "EVENT_TYPE_TIMER_FIRED"), 1);
    assert_int_equal(count_events(h, "EVENT_TYPE_TIMER_CANCELED"), 1);
    cJSON_Delete(h);
    cJSON_Delete(a);
    cJSON_Delete(b);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coroutines_join_their_activities),
        cmocka_unit_test(condition_wait_cancels_or_times_out),
    };
    return cmocka_run_group_tests_name("wf_talk", tests, group_setup, group_teardown);
}
