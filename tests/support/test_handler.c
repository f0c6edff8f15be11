/*
 * A function handler for tests, linked into build/test-bootstrap in place of the Temporal
 * worker. What it does is chosen by the event: {"op": "..."}:
 *   echo    answers the event itself
 *   info    answers what the runtime saw: request id, deadline, ARN, trace id, env, pid, count
 *   sleep   {"ms": N}: sleeps, then answers {"slept": N}
 *   fail    {"type": T, "message": M}: reports a function error
 *   crash   exits with status 3 in the middle of the invocation
 *   abort   raises SIGABRT
 *   big     {"bytes": N}: answers a JSON string of N bytes
 *   log     {"lines": N}: prints N lines to stdout, then answers {"logged": N}
 * TEST_INIT_FAIL (when set) makes init fail with that message, as a bad configuration does.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/loop.h"

typedef struct state {
    int count;
} state;

static int th_init(void **out, rt_error *err)
{
    const char *fail = getenv("TEST_INIT_FAIL");
    if (fail && *fail) {
        rt_error_set(err, "Runtime.ConfigError", "TEST_INIT_FAIL: %s", fail);
        return -1;
    }
    state *s = calloc(1, sizeof(*s));
    if (!s) {
        rt_error_set(err, "Runtime.OutOfMemory", "out of memory");
        return -1;
    }
    *out = s;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int answer(rt_result *res, cJSON *o)
{
    res->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!res->body) {
        rt_error_set(&res->err, "Runtime.OutOfMemory", "out of memory");
        return -1;
    }
    res->len = strlen(res->body);
    return 0;
}

static void add_env(cJSON *o, const char *name)
{
    const char *v = getenv(name);
    if (v)
        cJSON_AddStringToObject(o, name, v);
}

static int th_invoke(void *st, const rt_invocation *inv, rt_result *res)
{
    state *s = st;
    s->count++;
    cJSON *ev = cJSON_ParseWithLength(inv->payload, inv->payload_len);
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "op"));
    int rc = 0;
    if (!op) {
        rt_error_set(&res->err, "Function.BadEvent", "event has no \"op\"");
        rc = -1;
    } else if (strcmp(op, "echo") == 0) {
        res->body = strndup(inv->payload, inv->payload_len);
        res->len = inv->payload_len;
    } else if (strcmp(op, "info") == 0) {
        cJSON *o = cJSON_CreateObject(), *env = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "request_id", inv->request_id);
        cJSON_AddNumberToObject(o, "deadline_ms", (double)inv->deadline_ms);
        cJSON_AddNumberToObject(o, "remaining_ms", (double)(inv->deadline_ms - now_ms()));
        cJSON_AddStringToObject(o, "function_arn", inv->function_arn);
        if (inv->trace_id)
            cJSON_AddStringToObject(o, "trace_id", inv->trace_id);
        if (inv->client_context)
            cJSON_AddStringToObject(o, "client_context", inv->client_context);
        cJSON_AddNumberToObject(o, "pid", getpid());
        cJSON_AddNumberToObject(o, "count", s->count);
        const char *names[] = {"_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME",
                               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                               "AWS_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "TZ",
                               "AWS_LAMBDA_RUNTIME_API", "TEST_VALUE"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            add_env(env, names[i]);
        cJSON_AddItemToObject(o, "env", env);
        rc = answer(res, o);
    } else if (strcmp(op, "sleep") == 0) {
        int ms = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "ms"));
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "slept", ms);
        cJSON_AddNumberToObject(o, "pid", getpid());
        rc = answer(res, o);
    } else if (strcmp(op, "fail") == 0) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "message"));
        rt_error_set(&res->err, type ? type : "Function.Failed", "%s", msg ? msg : "failed");
        rc = -1;
    } else if (strcmp(op, "crash") == 0) {
        fprintf(stderr, "test handler: crashing on purpose\n");
        exit(3);
    } else if (strcmp(op, "abort") == 0) {
        raise(SIGABRT);
    } else if (strcmp(op, "big") == 0) {
        size_t n = (size_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "bytes"));
        res->body = malloc(n + 2);
        if (res->body) {
            res->body[0] = '"';
            memset(res->body + 1, 'x', n);
            res->body[n + 1] = '"';
            res->len = n + 2;
        }
    } else if (strcmp(op, "log") == 0) {
        int n = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "lines"));
        for (int i = 0; i < n; i++)
            printf("test handler: log line %d\n", i);
        fflush(stdout);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "logged", n);
        rc = answer(res, o);
    } else {
        rt_error_set(&res->err, "Function.BadEvent", "unknown op \"%s\"", op);
        rc = -1;
    }
    cJSON_Delete(ev);
    return rc;
}

static void th_destroy(void *st)
{
    free(st);
}

const rt_handler function_handler = {th_init, th_invoke, th_destroy, NULL};
