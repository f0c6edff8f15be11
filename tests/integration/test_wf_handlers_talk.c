/*
 * End to end, queries and updates: build/bootstrap runs tests/fixtures/lib_wf_handlers.c under
 * the local Lambda emulator against the real Temporal server, and the official Go SDK
 * (tw-driver) sends the updates and queries and reads the histories:
 *
 *   - updates and a signal while an update handler waits on its activity: accepted ones
 *     answer (the async accepted stage returns before the handler ends; update-result reads
 *     the outcome later),
 *     a validator's rejection and an unknown name fail with their messages and leave no event,
 *     a failing handler fails its update; the workflow waits for its handlers, then completes;
 *   - queries while it runs (queries that come with a workflow task) and after it completed
 *     (a legacy query task replaying the whole history): the state, __stack_trace, an unknown
 *     type naming the known ones, a failing handler;
 *   - an update sent before the first workflow task runs, to a workflow that sets its handler
 *     and returns at once: it runs before the workflow completes.
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

#define LIB "fixtures/lib_wf_handlers.so"

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

/* Runs the driver expecting it to fail; what it said on stderr (malloc'd). */
static char *driver_error(const char *const *args)
{
    char *out = NULL, path[] = "/tmp/tw-handlers-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    int rc = driver_run(&srv, &out, args);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *why = read_all(path, NULL);
    unlink(path);
    if (rc == 0)
        fail_msg("driver %s %s succeeded: %s", args[0], args[4], out);
    free(out);
    return why;
}

/* The driver fails saying |want|. */
static void driver_fails_with(const char *const *args, const char *want)
{
    char *why = driver_error(args);
    if (!strstr(why, want))
        fail_msg("driver %s: want an error with \"%s\", got: %s", args[0], want, why);
    free(why);
}

typedef struct fn {
    emu_proc emu;
    char queue[64];
    char deployment[64];
} fn;

/* A current deployment version for a fresh task queue, and an emulator running
 * build/bootstrap with the fixture library (|idle_s| idle exit). */
static void deploy(fn *f, int idle_s)
{
    static int seq;
    snprintf(f->queue, sizeof(f->queue), "handlers-%d-%d", (int)getpid(), ++seq);
    snprintf(f->deployment, sizeof(f->deployment), "handlersdep-%d-%d", (int)getpid(), seq);
    const char *create[] = {"create-deployment", "--deployment", f->deployment, NULL};
    flow_call_ok(&srv, create);
    const char *version[] = {"create-version", "--deployment", f->deployment, "--build-id", "b1", NULL};
    flow_call_ok(&srv, version);
    const char *current[] = {"set-current", "--deployment", f->deployment, "--build-id", "b1", NULL};
    flow_call_ok(&srv, current);

    char lib[4096], addr[64], tq[96], dep[96], idle[40];
    if (!realpath(harness_built(LIB), lib))
        fail_msg("no %s", LIB);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    snprintf(tq, sizeof(tq), "TEMPORAL_TASK_QUEUE=%s", f->queue);
    snprintf(dep, sizeof(dep), "TEMPORAL_DEPLOYMENT_NAME=%s", f->deployment);
    snprintf(idle, sizeof(idle), "TEMPORAL_IDLE_EXIT=%ds", idle_s);
    const char *args[] = {"--handler", lib, "--timeout", "30", "-e", addr, "-e", tq, "-e", dep,
                          "-e", "TEMPORAL_WORKER_BUILD_ID=b1", "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                          "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "-e", idle, NULL};
    char boot[600];
    snprintf(boot, sizeof(boot), "%s", harness_built("bootstrap"));
    assert_int_equal(emu_start(&f->emu, boot, args), 0);
}

/* An invocation running in the background while the test talks to the workflow. */
typedef struct bg_invoke {
    fn *f;
    pthread_t th;
    http_answer a;
    int rc;
} bg_invoke;

static void *bg_run(void *arg)
{
    bg_invoke *b = arg;
    b->rc = emu_invoke(&b->f->emu, NULL, NULL, "{}", NULL, &b->a);
    return NULL;
}

static void bg_start(bg_invoke *b, fn *f)
{
    *b = (bg_invoke){.f = f};
    assert_int_equal(pthread_create(&b->th, NULL, bg_run, b), 0);
}

/* Waits for the invocation; its summary (no workflow task may have failed). */
static cJSON *bg_join(bg_invoke *b)
{
    pthread_join(b->th, NULL);
    assert_int_equal(b->rc, 0);
    if (http_answer_header(&b->a, "X-Amz-Function-Error"))
        fail_msg("invocation failed: %s\n%s", b->a.body, emu_output(&b->f->emu));
    cJSON *s = cJSON_Parse(b->a.body);
    assert_non_null(s);
    int failures = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "workflow_task_failures"));
    if (failures)
        fail_msg("%d workflow task failures:\n%s", failures, emu_output(&b->f->emu));
    http_answer_free(&b->a);
    return s;
}

/* Update |name| of workflow |id| (|input| JSON or NULL, |update_id| or NULL), waiting for
 * |stage|: the driver's answer. */
static cJSON *update(const char *id, const char *name, const char *input, const char *update_id,
                     const char *stage)
{
    const char *args[12] = {"update", "--id", id, "--name", name, "--wait", stage};
    int n = 7;
    if (input) {
        args[n++] = "--input";
        args[n++] = input;
    }
    if (update_id) {
        args[n++] = "--update-id";
        args[n++] = update_id;
    }
    return flow_call(&srv, args);
}

/* The result of a completed update, compact JSON (static buffer). */
static const char *update_result(const char *id, const char *name, const char *input)
{
    cJSON *o = update(id, name, input, NULL, "completed");
    const char *r = flow_member_json(o, "result");
    cJSON_Delete(o);
    return r;
}

static const char *query(const char *id, const char *name)
{
    const char *args[] = {"query", "--id", id, "--name", name, NULL};
    cJSON *o = flow_call(&srv, args);
    const char *r = flow_member_json(o, "result");
    cJSON_Delete(o);
    return r;
}

static void updates_and_queries_while_it_runs(void **st)
{
    fn f;
    deploy(&f, 4);
    char id[64];
    const char *start[] = {"start", "--id", flow_new_id(id, sizeof(id), "account"), "--type",
                           "Account", "--task-queue", f.queue, NULL};
    flow_call_ok(&srv, start);
    bg_invoke b;
    bg_start(&b, &f);

    /* the async stage: accepted while its handler may still wait on its activity */
    cJSON *slow = update(id, "slow_add", "10", "slow-1", "accepted");
    const char *stage = flow_member_json(slow, "stage");
    assert_true(strstr(stage, "ACCEPTED") || strstr(stage, "COMPLETED"));
    cJSON_Delete(slow);
    const char *fast = update_result(id, "add", "5");
    assert_true(strcmp(fast, "5") == 0 || strcmp(fast, "15") == 0); /* before or after slow's */
    const char *res[] = {"update-result", "--id", id, "--update-id", "slow-1", NULL};
    cJSON *r = flow_call(&srv, res);
    assert_true(strcmp(flow_member_json(r, "result"), "10") == 0 || strcmp(flow_member_json(r, "result"), "15") == 0);
    cJSON_Delete(r);
    const char *bump[] = {"signal", "--id", id, "--name", "bump", "--input", "100", NULL};
    flow_call_ok(&srv, bump); /* a signal among the updates */

    const char *neg[] = {"update", "--id", id, "--name", "add", "--input", "-1", NULL};
    driver_fails_with(neg, "negative: -1");
    const char *refused[] = {"update", "--id", id, "--name", "fail", NULL};
    driver_fails_with(refused, "no, thanks");
    const char *unknown[] = {"update", "--id", id, "--name", "nope", NULL};
    driver_fails_with(unknown, "unknown update nope. KnownUpdates=[add slow_add fail finish]");

    assert_string_equal(query(id, "count"), "115");
    assert_non_null(strstr(query(id, "__stack_trace"), "coroutine 1 (main): tw_await_condition"));
    const char *q_unknown[] = {"query", "--id", id, "--name", "nope", NULL};
    driver_fails_with(q_unknown, "unknown queryType nope. KnownQueryTypes=[__stack_trace count "
                                 "fail try_block echo]");
    const char *q_fail[] = {"query", "--id", id, "--name", "fail", NULL};
    driver_fails_with(q_fail, "not today");

    assert_string_equal(update_result(id, "finish", NULL), "null");
    cJSON_Delete(bg_join(&b));
    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "status"), "\"COMPLETED\"");
    assert_string_equal(flow_member_json(done, "result"), "{\"count\":115}");
    cJSON_Delete(done);

    /* accepted: slow, add 5, fail, finish; the rejections left nothing */
    cJSON *h = flow_history(&srv, id, NULL);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"), 4);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"), 4);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED"), 0);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_FAILED"), 0);
    cJSON_Delete(h);

    /* a query on the completed workflow: a legacy query task replays the whole history */
    bg_start(&b, &f);
    usleep(300 * 1000);
    assert_string_equal(query(id, "count"), "115");
    cJSON *s = bg_join(&b);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "queries")), 1);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "workflow_tasks")), 0);
    cJSON_Delete(s);
    assert_int_equal(emu_stop(&f.emu), 0);
}

typedef struct bg_update {
    const char *id;
    pthread_t th;
    cJSON *answer;
} bg_update;

static void *bg_update_run(void *arg)
{
    bg_update *u = arg;
    const char *args[] = {"update", "--id", u->id, "--name", "u", "--update-id", "first", NULL};
    char *why;
    u->answer = driver_json_of(&srv, args, &why);
    free(why);
    return NULL;
}

static void update_with_the_first_task(void **st)
{
    fn f;
    deploy(&f, 2);
    char id[64];
    const char *start[] = {"start", "--id", flow_new_id(id, sizeof(id), "hasty"), "--type", "Hasty",
                           "--task-queue", f.queue, NULL};
    flow_call_ok(&srv, start);
    bg_update u = {.id = id};
    assert_int_equal(pthread_create(&u.th, NULL, bg_update_run, &u), 0);
    usleep(500 * 1000); /* the update waits for the first workflow task */
    bg_invoke b;
    bg_start(&b, &f);
    cJSON_Delete(bg_join(&b));
    pthread_join(u.th, NULL);
    assert_non_null(u.answer);
    assert_string_equal(flow_member_json(u.answer, "result"), "\"ran\"");
    cJSON_Delete(u.answer);
    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "result"), "\"hasty\"");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(updates_and_queries_while_it_runs),
        cmocka_unit_test(update_with_the_first_task),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
