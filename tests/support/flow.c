/*
 * flow: the end-to-end flow the integration tests share. See flow.h.
 */
#define _GNU_SOURCE
#include "tests/support/flow.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the driver ---- */

cJSON *flow_call(const tserver *s, const char *const *args)
{
    char *why;
    cJSON *o = driver_json_of(s, args, &why);
    if (!o)
        fail_msg("%s", why);
    return o;
}

void flow_call_ok(const tserver *s, const char *const *args)
{
    cJSON_Delete(flow_call(s, args));
}

cJSON *flow_await(const tserver *s, const char *id, const char *timeout)
{
    const char *args[] = {"--timeout", timeout, "await", "--id", id, NULL};
    return flow_call(s, args);
}

cJSON *flow_history(const tserver *s, const char *id, const char *run_id)
{
    char *out = NULL;
    const char *args[] = {"history", "--id", id, run_id ? "--run-id" : NULL, run_id, NULL};
    assert_int_equal(driver_run(s, &out, args), 0);
    cJSON *h = cJSON_Parse(out);
    if (!h)
        fail_msg("history is not JSON: %.300s", out);
    free(out);
    return h;
}

int flow_count_events(const cJSON *history, const char *type)
{
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(history, "events")) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "eventType"));
        n += t && strcmp(t, type) == 0;
    }
    return n;
}

/* ---- reading JSON ---- */

const char *flow_str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    if (!s)
        fail_msg("no string \"%s\" in %s", name, cJSON_PrintUnformatted(o));
    return s;
}

int flow_int(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItem(o, name);
    return cJSON_IsNumber(n) ? (int)cJSON_GetNumberValue(n) : 0;
}

const char *flow_member_json(const cJSON *o, const char *name)
{
    static char buf[2048];
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, name));
    snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
    free(s);
    return buf;
}

const char *flow_new_id(char *buf, size_t n, const char *prefix)
{
    static int seq;
    snprintf(buf, n, "%s-%d-%d", prefix, (int)getpid(), ++seq);
    return buf;
}

/* ---- a function ---- */

void flow_deploy(flow_fn *f, const tserver *s, const char *prefix)
{
    static int seq;
    f->srv = s;
    snprintf(f->queue, sizeof(f->queue), "%s-%d-%d", prefix, (int)getpid(), ++seq);
    snprintf(f->deployment, sizeof(f->deployment), "%sdep-%d-%d", prefix, (int)getpid(), seq);
    const char *create[] = {"create-deployment", "--deployment", f->deployment, NULL};
    flow_call_ok(s, create);
    const char *version[] = {"create-version", "--deployment", f->deployment, "--build-id", "b1",
                             NULL};
    flow_call_ok(s, version);
    const char *current[] = {"set-current", "--deployment", f->deployment, "--build-id", "b1",
                             NULL};
    flow_call_ok(s, current);
}

/* Does one of |env| set the variable of "NAME=value" |entry|? */
static int overridden(const char *const *env, const char *entry)
{
    size_t n = strcspn(entry, "=") + 1;
    for (; env && *env; env++)
        if (strncmp(*env, entry, n) == 0)
            return 1;
    return 0;
}

void flow_run(flow_fn *f, const flow_opts *o)
{
    char lib[4096], addr[64], tq[96], dep[96], timeout[16], boot[600];
    if (!realpath(harness_built(o->library), lib))
        fail_msg("no %s", o->library);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", o->port ? o->port : f->srv->port);
    snprintf(tq, sizeof(tq), "TEMPORAL_TASK_QUEUE=%s", f->queue);
    snprintf(dep, sizeof(dep), "TEMPORAL_DEPLOYMENT_NAME=%s", f->deployment);
    snprintf(timeout, sizeof(timeout), "%d", o->timeout_s);
    snprintf(boot, sizeof(boot), "%s", o->bootstrap ? o->bootstrap : harness_built("bootstrap"));
    const char *defaults[] = {addr, tq, dep, "TEMPORAL_WORKER_BUILD_ID=b1",
                              "TEMPORAL_SHUTDOWN_BUFFER=2s", "TEMPORAL_WORKER_STOP_TIMEOUT=1s",
                              NULL};
    const char *args[64] = {"--handler", lib, "--timeout", timeout};
    size_t n = 4;
    for (size_t i = 0; defaults[i]; i++)
        if (!overridden(o->env, defaults[i])) {
            args[n++] = "-e";
            args[n++] = defaults[i];
        }
    for (size_t i = 0; o->env && o->env[i]; i++) {
        assert_true(n + 3 < sizeof(args) / sizeof(args[0]));
        args[n++] = "-e";
        args[n++] = o->env[i];
    }
    args[n] = NULL;
    assert_int_equal(emu_start(&f->emu, boot, args), 0);
}

void flow_start(const flow_fn *f, const char *type, const char *id, const char *input)
{
    const char *args[] = {"start", "--id", id, "--type", type, "--task-queue", f->queue,
                          input ? "--input" : NULL, input, NULL};
    flow_call_ok(f->srv, args);
}

char *flow_invoke_raw(flow_fn *f, char **error)
{
    http_answer a;
    assert_int_equal(emu_invoke(&f->emu, NULL, NULL, "{}", NULL, &a), 0);
    *error = http_answer_header(&a, "X-Amz-Function-Error");
    char *body = strdup(a.body ? a.body : "");
    http_answer_free(&a);
    assert_non_null(body);
    return body;
}

/* The summary in |body| (a successful invocation's; |error| its function error header). */
static cJSON *summary_of(flow_fn *f, const char *body, const char *error)
{
    if (error)
        fail_msg("invocation failed: %s\n%s", body, emu_output(&f->emu));
    cJSON *o = cJSON_Parse(body);
    if (!o)
        fail_msg("summary is not JSON: %s", body);
    return o;
}

cJSON *flow_invoke(flow_fn *f)
{
    char *error, *body = flow_invoke_raw(f, &error);
    cJSON *o = summary_of(f, body, error);
    free(body);
    return o;
}

/* Fails the test when summary |s| counts failed workflow tasks; deletes it. */
static void no_task_failures(flow_fn *f, cJSON *s)
{
    int failures = flow_int(s, "workflow_task_failures");
    if (failures)
        fail_msg("%d workflow task failures:\n%s", failures, emu_output(&f->emu));
    cJSON_Delete(s);
}

void flow_invoke_ok(flow_fn *f)
{
    no_task_failures(f, flow_invoke(f));
}

void flow_invoke_until_closed(flow_fn *f, const char *id, int max)
{
    for (int i = 0; i < max; i++) {
        flow_invoke_ok(f);
        const char *args[] = {"describe", "--id", id, NULL};
        cJSON *d = flow_call(f->srv, args);
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(d, "status"));
        int open = status && strcmp(status, "RUNNING") == 0;
        cJSON_Delete(d);
        if (!open)
            return;
    }
    fail_msg("%s still running after %d invocations", id, max);
}

static void *bg_run(void *arg)
{
    flow_bg *b = arg;
    http_answer a;
    b->rc = emu_invoke(&b->f->emu, NULL, NULL, "{}", NULL, &a);
    if (b->rc == 0) {
        b->error = http_answer_header(&a, "X-Amz-Function-Error");
        b->body = strdup(a.body ? a.body : "");
        http_answer_free(&a);
    }
    return NULL;
}

void flow_bg_start(flow_bg *b, flow_fn *f)
{
    *b = (flow_bg){.f = f};
    assert_int_equal(pthread_create(&b->th, NULL, bg_run, b), 0);
}

void flow_bg_join(flow_bg *b)
{
    pthread_join(b->th, NULL);
}

void flow_bg_join_ok(flow_bg *b)
{
    flow_bg_join(b);
    assert_int_equal(b->rc, 0);
    assert_non_null(b->body);
    no_task_failures(b->f, summary_of(b->f, b->body, b->error));
    free(b->body);
    free(b->error);
    b->body = b->error = NULL;
}
