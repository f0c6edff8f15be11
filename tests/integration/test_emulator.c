/*
 * Integration: build/test-bootstrap (the runtime loop with a test handler) and build/bootstrap
 * run under the local Lambda emulator, invoked through Lambda's Invoke API as clients do.
 * Covers cold and warm starts, deadlines passed and enforced, init errors, crashes, two
 * environments at once, freeze and thaw, the concurrency limit, async invokes, GetFunction
 * and ARN forms. How clients put those requests on the wire is test_emulator_http.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/emu_fixture.h"
#include "tests/support/harness.h"

static cJSON *invoke_json(emu_proc *p, const char *payload, http_answer *a)
{
    assert_int_equal(emu_invoke(p, NULL, NULL, payload, NULL, a), 0);
    cJSON *o = cJSON_Parse(a->body);
    if (!o)
        fail_msg("not JSON: %s", a->body);
    return o;
}

static double num(cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static const char *str(cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static char proc_state(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

static void cold_then_warm(void **st)
{
    emu_proc *p = *st;
    http_answer a, b;
    cJSON *first = invoke_json(p, "{\"op\":\"info\"}", &a);
    cJSON *second = invoke_json(p, "{\"op\":\"info\"}", &b);
    assert_int_equal(a.status, 200);
    assert_null(http_answer_header(&a, "X-Amz-Function-Error"));
    assert_int_equal((int)num(first, "count"), 1);
    assert_int_equal((int)num(second, "count"), 2);                 /* same process, warm */
    assert_int_equal((int)num(first, "pid"), (int)num(second, "pid"));
    assert_string_not_equal(str(first, "request_id"), str(second, "request_id"));
    char *rid = http_answer_header(&a, "x-amzn-RequestId");
    assert_string_equal(rid, str(first, "request_id"));

    /* What Lambda promises the runtime's environment. */
    cJSON *env = cJSON_GetObjectItem(first, "env");
    assert_string_equal(str(env, "AWS_LAMBDA_FUNCTION_NAME"), "function");
    assert_string_equal(str(env, "_HANDLER"), "handler.so");
    assert_string_equal(str(env, "LAMBDA_TASK_ROOT"), p->dir);
    assert_string_equal(str(env, "TEST_VALUE"), "hi");
    assert_string_equal(str(env, "TZ"), ":UTC");
    assert_string_equal(str(first, "function_arn"),
                        "arn:aws:lambda:us-east-1:000000000000:function:function");
    /* The trace header reaches the handler and _X_AMZN_TRACE_ID, fresh per invocation. */
    assert_non_null(str(first, "trace_id"));
    assert_string_equal(str(env, "_X_AMZN_TRACE_ID"), str(first, "trace_id"));
    assert_string_not_equal(str(first, "trace_id"), str(second, "trace_id"));

    /* One cold start: Init Duration on the first REPORT only. */
    assert_int_equal(emu_wait_output(p, "REPORT RequestId:", 2, 2000), 0);
    char *out = emu_output(p);
    assert_int_equal(count_substr(out, "Init Duration:"), 1);
    char *rep = strstr(out, "REPORT RequestId: ");
    assert_non_null(rep);
    assert_int_equal(strncmp(rep + 18, rid, strlen(rid)), 0);
    assert_non_null(strstr(rep, "Billed Duration: "));
    assert_non_null(strstr(rep, "Memory Size: 128 MB"));
    assert_non_null(strstr(rep, "Max Memory Used: "));
    free(out);
    free(rid);
    cJSON_Delete(first);
    cJSON_Delete(second);
    http_answer_free(&a);
    http_answer_free(&b);
}

static void deadline_passed_through(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    cJSON *o = invoke_json(p, "{\"op\":\"info\"}", &a);
    double remaining = num(o, "remaining_ms");
    assert_true(remaining > 1500 && remaining <= 2000); /* --timeout 2 */
    cJSON_Delete(o);
    http_answer_free(&a);
}

static void deadline_enforced_and_environment_reset(void **st)
{
    emu_proc *p = *st;
    http_answer a, b;
    cJSON *before = invoke_json(p, "{\"op\":\"info\"}", &b);
    http_answer_free(&b);
    assert_int_equal(emu_invoke(p, NULL, NULL, "{\"op\":\"sleep\",\"ms\":5000}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_non_null(fe);
    assert_non_null(strstr(a.body, "Task timed out after 2.00 seconds"));
    assert_int_equal(emu_wait_output(p, "Status: timeout", 1, 2000), 0);
    /* The timed-out environment is gone: the next invoke starts a new process. */
    cJSON *after = invoke_json(p, "{\"op\":\"info\"}", &b);
    assert_int_not_equal((int)num(before, "pid"), (int)num(after, "pid"));
    assert_int_equal((int)num(after, "count"), 1);
    assert_int_equal(kill((int)num(before, "pid"), 0), -1);
    free(fe);
    cJSON_Delete(before);
    cJSON_Delete(after);
    http_answer_free(&a);
    http_answer_free(&b);
}

static void crash_reported_then_recovered(void **st)
{
    emu_proc *p = *st;
    http_answer a, b;
    assert_int_equal(emu_invoke(p, NULL, NULL, "{\"op\":\"crash\"}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_string_equal(fe, "Unhandled");
    cJSON *o = cJSON_Parse(a.body);
    assert_string_equal(str(o, "errorType"), "Runtime.ExitError");
    assert_non_null(strstr(str(o, "errorMessage"), "exit status 3"));
    /* The crashed process's peak memory still reaches its REPORT line. */
    assert_int_equal(emu_wait_output(p, "Error Type: Runtime.ExitError", 1, 2000), 0);
    char *out = emu_output(p);
    const char *rep = strstr(out, "Error Type: Runtime.ExitError");
    while (rep > out && strncmp(rep, "REPORT", 6) != 0)
        rep--;
    const char *mem = strstr(rep, "Max Memory Used: ");
    assert_non_null(mem);
    assert_true(atoi(mem + 17) > 0);
    free(out);
    cJSON *next = invoke_json(p, "{\"op\":\"echo\",\"x\":1}", &b);
    assert_int_equal((int)num(next, "x"), 1);
    free(fe);
    cJSON_Delete(o);
    cJSON_Delete(next);
    http_answer_free(&a);
    http_answer_free(&b);
}

static void function_error_shape(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    cJSON *o = invoke_json(p, "{\"op\":\"fail\",\"type\":\"Function.Boom\",\"message\":\"it \\\"broke\\\"\"}", &a);
    assert_int_equal(a.status, 200);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_string_equal(fe, "Unhandled");
    assert_string_equal(str(o, "errorType"), "Function.Boom");
    assert_string_equal(str(o, "errorMessage"), "it \"broke\"");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(o, "stackTrace")));
    free(fe);
    cJSON_Delete(o);
    http_answer_free(&a);
}

static void frozen_between_invocations(void **st)
{
    emu_proc *p = *st;
    http_answer a, b;
    cJSON *o = invoke_json(p, "{\"op\":\"info\"}", &a);
    int pid = (int)num(o, "pid");
    char s = '?';
    for (int i = 0; i < 100 && (s = proc_state(pid)) != 'T'; i++)
        usleep(10000);
    assert_int_equal(s, 'T'); /* stopped while it waits in `next` */
    cJSON *again = invoke_json(p, "{\"op\":\"info\"}", &b); /* thawed to serve it */
    assert_int_equal((int)num(again, "pid"), pid);
    cJSON_Delete(o);
    cJSON_Delete(again);
    http_answer_free(&a);
    http_answer_free(&b);
}

typedef struct call {
    emu_proc *p;
    http_answer a;
} call;

static void *invoke_sleep(void *arg)
{
    call *c = arg;
    emu_invoke(c->p, NULL, NULL, "{\"op\":\"sleep\",\"ms\":600}", NULL, &c->a);
    return NULL;
}

static void two_at_once_use_two_environments(void **st)
{
    emu_proc *p = *st;
    call c1 = {p, {0}}, c2 = {p, {0}};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, invoke_sleep, &c1);
    pthread_create(&t2, NULL, invoke_sleep, &c2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cJSON *o1 = cJSON_Parse(c1.a.body), *o2 = cJSON_Parse(c2.a.body);
    assert_non_null(o1);
    assert_non_null(o2);
    assert_int_equal((int)num(o1, "slept"), 600);
    assert_int_equal((int)num(o2, "slept"), 600);
    assert_int_not_equal((int)num(o1, "pid"), (int)num(o2, "pid"));
    cJSON_Delete(o1);
    cJSON_Delete(o2);
    http_answer_free(&c1.a);
    http_answer_free(&c2.a);
}

static void concurrency_limit_throttles_sync_and_queues_async(void **st)
{
    emu_proc p;
    const char *args[] = {"--concurrency", "1", "--timeout", "5", NULL};
    assert_int_equal(emu_start(&p, emu_test_bootstrap(), args), 0);
    call c1 = {&p, {0}};
    pthread_t t1;
    pthread_create(&t1, NULL, invoke_sleep, &c1);
    assert_int_equal(emu_wait_output(&p, "START RequestId:", 1, 3000), 0);
    http_answer a, ev;
    assert_int_equal(emu_invoke(&p, NULL, NULL, "{\"op\":\"info\"}", NULL, &a), 0);
    assert_int_equal(a.status, 429);
    char *et = http_answer_header(&a, "x-amzn-ErrorType");
    assert_string_equal(et, "TooManyRequestsException");
    /* An async invoke is accepted and runs once the environment is free. */
    assert_int_equal(emu_invoke(&p, NULL, "Event", "{\"op\":\"log\",\"lines\":1}", NULL, &ev), 0);
    assert_int_equal(ev.status, 202);
    pthread_join(t1, NULL);
    assert_int_equal(c1.a.status, 200);
    assert_int_equal(emu_wait_output(&p, "test handler: log line 0", 1, 3000), 0);
    assert_int_equal(emu_wait_output(&p, "REPORT RequestId:", 2, 3000), 0);
    free(et);
    http_answer_free(&a);
    http_answer_free(&ev);
    http_answer_free(&c1.a);
    assert_int_equal(emu_stop(&p), 0);
}

static void async_invoke_runs(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    assert_int_equal(emu_invoke(p, NULL, "Event", "{\"op\":\"log\",\"lines\":2}", NULL, &a), 0);
    assert_int_equal(a.status, 202);
    assert_int_equal(a.body_len, 0);
    char *rid = http_answer_header(&a, "x-amzn-RequestId");
    assert_non_null(rid);
    char report[128];
    snprintf(report, sizeof(report), "REPORT RequestId: %s", rid);
    assert_int_equal(emu_wait_output(p, report, 1, 3000), 0);
    assert_int_equal(emu_wait_output(p, "test handler: log line 1", 1, 100), 0);
    free(rid);
    http_answer_free(&a);
}

static void async_failure_is_retried(void **st)
{
    emu_proc *p = *st; /* --async-retry-delay 0: the two retries follow at once */
    http_answer a;
    assert_int_equal(emu_invoke(p, NULL, "Event", "{\"op\":\"fail\"}", NULL, &a), 0);
    assert_int_equal(a.status, 202);
    char *rid = http_answer_header(&a, "x-amzn-RequestId");
    char start[128];
    snprintf(start, sizeof(start), "START RequestId: %s", rid);
    assert_int_equal(emu_wait_output(p, start, 3, 3000), 0);
    assert_int_equal(emu_wait_output(p, "failed after 3 attempt(s); dropped", 1, 3000), 0);
    free(rid);
    http_answer_free(&a);
}

static void dry_run_and_names(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    assert_int_equal(emu_invoke(p, NULL, "DryRun", "{}", NULL, &a), 0);
    assert_int_equal(a.status, 204);
    http_answer_free(&a);

    struct { const char *name; long status; const char *version; } cases[] = {
        {"function", 200, "$LATEST"},
        {"function:1", 200, "1"},
        {"function:%24LATEST", 200, "$LATEST"},
        {"000000000000:function:function", 200, "$LATEST"},
        {"arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afunction", 200, "$LATEST"},
        {"arn:aws:lambda:us-east-1:000000000000:function:function:1", 200, "1"},
        {"function:2", 404, NULL},
        {"other", 404, NULL},
        {"arn:aws:lambda:eu-west-1:000000000000:function:function", 404, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(emu_invoke(p, cases[i].name, NULL, "{\"op\":\"echo\"}", NULL, &a), 0);
        if (a.status != cases[i].status)
            fail_msg("%s: status %ld, want %ld: %s", cases[i].name, a.status, cases[i].status, a.body);
        char *v = http_answer_header(&a, cases[i].version ? "X-Amz-Executed-Version" : "x-amzn-ErrorType");
        assert_string_equal(v, cases[i].version ? cases[i].version : "ResourceNotFoundException");
        free(v);
        http_answer_free(&a);
    }
    assert_int_equal(emu_invoke(p, NULL, "Sideways", "{}", NULL, &a), 0);
    assert_int_equal(a.status, 400);
    http_answer_free(&a);
    assert_int_equal(emu_invoke(p, NULL, NULL, "not json", NULL, &a), 0);
    assert_int_equal(a.status, 400);
    assert_non_null(strstr(a.body, "InvalidRequestContentException"));
    http_answer_free(&a);
}

static void get_function(void **st)
{
    emu_proc *p = *st;
    char url[256];
    http_answer a;
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/2015-03-31/functions/"
             "arn%%3Aaws%%3Alambda%%3Aus-east-1%%3A000000000000%%3Afunction%%3Afunction%%3A1",
             p->port);
    assert_int_equal(http_get(url, &a), 0);
    assert_int_equal(a.status, 200);
    cJSON *o = cJSON_Parse(a.body), *conf = cJSON_GetObjectItem(o, "Configuration");
    assert_non_null(conf);
    assert_string_equal(str(conf, "FunctionName"), "function");
    assert_string_equal(str(conf, "FunctionArn"),
                        "arn:aws:lambda:us-east-1:000000000000:function:function:1");
    assert_string_equal(str(conf, "Version"), "1");
    assert_int_equal((int)num(conf, "Timeout"), 2);
    assert_string_equal(str(conf, "Handler"), "handler.so");
    assert_string_equal(str(conf, "State"), "Active");
    assert_non_null(cJSON_GetObjectItem(o, "Code"));
    cJSON_Delete(o);
    http_answer_free(&a);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/missing", p->port);
    assert_int_equal(http_get(url, &a), 0);
    assert_int_equal(a.status, 404);
    assert_non_null(strstr(a.body, "ResourceNotFoundException"));
    http_answer_free(&a);
}

static void tail_logs_and_client_context(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    /* {"custom":{"k":"v"}} in base64 */
    const char *extra[] = {"X-Amz-Log-Type: Tail", "X-Amz-Client-Context: eyJjdXN0b20iOnsiayI6InYifX0=", NULL};
    assert_int_equal(emu_invoke(p, NULL, NULL, "{\"op\":\"info\"}", extra, &a), 0);
    cJSON *o = cJSON_Parse(a.body);
    assert_string_equal(str(o, "client_context"), "{\"custom\":{\"k\":\"v\"}}");
    char *tail = http_answer_header(&a, "X-Amz-Log-Result");
    assert_non_null(tail);
    free(tail);
    cJSON_Delete(o);
    http_answer_free(&a);
}

static void oversized_response_is_an_error(void **st)
{
    emu_proc *p = *st;
    http_answer a;
    assert_int_equal(emu_invoke(p, NULL, NULL, "{\"op\":\"big\",\"bytes\":6400000}", NULL, &a), 0);
    assert_non_null(strstr(a.body, "Function.ResponseSizeTooLarge"));
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_non_null(fe);
    free(fe);
    http_answer_free(&a);
    /* The runtime logged the refusal and went on: the environment still serves. */
    assert_int_equal(emu_invoke(p, NULL, NULL, "{\"op\":\"big\",\"bytes\":1000}", NULL, &a), 0);
    assert_int_equal(a.body_len, 1002);
    http_answer_free(&a);
}

/* A runtime that answers and then ends instead of asking for the next invocation (bootstrap
 * does after a stuck task): an invocation arriving in between is not its to fail. As Lambda
 * (which hands invocations only to a runtime waiting in `next`), it starts a fresh environment. */
static void an_ending_runtime_does_not_take_the_next_invocation(void **st)
{
    char dir[] = "/tmp/emu-ending-XXXXXX", script[64];
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/bootstrap", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n"
          "api=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation\"\n"
          "id=$(curl -sS -D - -o /dev/null \"$api/next\" | tr -d '\\r' |\n"
          "     awk -F': ' 'tolower($1)==\"lambda-runtime-aws-request-id\" {print $2}')\n"
          "curl -sS -o /dev/null -X POST -d \"{\\\"pid\\\":$$}\" \"$api/$id/response\"\n"
          "sleep 1\n"
          "exit 0\n", f);
    fclose(f);
    assert_int_equal(chmod(script, 0755), 0);
    emu_proc p;
    assert_int_equal(emu_start(&p, script, NULL), 0);
    http_answer a, b;
    cJSON *first = invoke_json(&p, "{}", &a);
    cJSON *second = invoke_json(&p, "{}", &b); /* while the first runtime sleeps before exiting */
    if (!cJSON_GetObjectItem(second, "pid"))
        fail_msg("the second invocation failed: %s", b.body);
    assert_true(num(second, "pid") != num(first, "pid"));
    assert_int_equal(emu_wait_output(&p, "Init Duration", 2, 5000), 0);
    cJSON_Delete(first);
    cJSON_Delete(second);
    http_answer_free(&a);
    http_answer_free(&b);
    assert_int_equal(emu_stop(&p), 0);
    unlink(script);
    rmdir(dir);
}

static void init_error_reaches_the_invoker(void **st)
{
    emu_proc p;
    const char *args[] = {"-e", "TEST_INIT_FAIL=not a valid value", NULL};
    assert_int_equal(emu_start(&p, emu_test_bootstrap(), args), 0);
    http_answer a;
    assert_int_equal(emu_invoke(&p, NULL, NULL, "{\"op\":\"info\"}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_string_equal(fe, "Unhandled");
    cJSON *o = cJSON_Parse(a.body);
    assert_string_equal(str(o, "errorType"), "Runtime.ConfigError");
    assert_non_null(strstr(str(o, "errorMessage"), "TEST_INIT_FAIL"));
    free(fe);
    cJSON_Delete(o);
    http_answer_free(&a);
    assert_int_equal(emu_stop(&p), 0);
}

/* Starts build/bootstrap with |env| (KEY=VALUE, NULL-terminated) and |handler|, invokes it
 * once and returns the error body's errorType and errorMessage (malloc'd), NULL when none. */
static void bootstrap_init_outcome(const char *handler, const char *const *env, char **type,
                                   char **message)
{
    emu_proc p;
    const char *args[40];
    int n = 0;
    args[n++] = "--handler";
    args[n++] = handler;
    for (int i = 0; env && env[i]; i++) {
        args[n++] = "-e";
        args[n++] = env[i];
    }
    args[n] = NULL;
    assert_int_equal(emu_start(&p, harness_built("bootstrap"), args), 0);
    http_answer a;
    assert_int_equal(emu_invoke(&p, NULL, NULL, "{}", NULL, &a), 0);
    cJSON *o = cJSON_Parse(a.body);
    assert_non_null(o);
    *type = str(o, "errorType") ? strdup(str(o, "errorType")) : NULL;
    *message = str(o, "errorMessage") ? strdup(str(o, "errorMessage")) : NULL;
    cJSON_Delete(o);
    http_answer_free(&a);
    assert_int_equal(emu_stop(&p), 0);
}

#define WORKER_ENV "TEMPORAL_TASK_QUEUE=orders", "TEMPORAL_DEPLOYMENT_NAME=shop", \
                   "TEMPORAL_WORKER_BUILD_ID=b1"

static void bootstrap_init_errors_name_the_problem(void **st)
{
    char abs_good[4096];
    assert_non_null(realpath(harness_built("fixtures/lib_good.so"), abs_good));
    char abs_noversioning[4096];
    assert_non_null(realpath(harness_built("fixtures/lib_noversioning.so"), abs_noversioning));
    struct {
        const char *handler;
        const char *env[8];
        const char *type;
        const char *needle[3];
    } cases[] = {
        {abs_good, {"TEMPORAL_DEPLOYMENT_NAME=shop", "TEMPORAL_WORKER_BUILD_ID=b1"},
         "Runtime.ConfigError", {"TEMPORAL_TASK_QUEUE is not set"}},
        {abs_good, {WORKER_ENV, "TEMPORAL_TLS=maybe"}, "Runtime.ConfigError", {"TEMPORAL_TLS", "maybe"}},
        {abs_good, {WORKER_ENV, "TEMPORAL_ADDRESS=nohost"}, "Runtime.ConfigError", {"TEMPORAL_ADDRESS"}},
        {abs_good, {WORKER_ENV, "TEMPORAL_WORKER_STOP_TIMEOUT=5"}, "Runtime.ConfigError",
         {"TEMPORAL_WORKER_STOP_TIMEOUT", "7s or 500ms"}},
        {abs_good, {WORKER_ENV, "TEMPORAL_API_KEY=sk-very-secret", "TEMPORAL_TLS_SERVER_CA_CERT_PATH=/nope.pem"},
         "Runtime.ConfigError", {"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "/nope.pem"}},
        {abs_good, {WORKER_ENV, "TEMPORAL_WORKER_STOP_TIMEOUT=5s", "TEMPORAL_SHUTDOWN_BUFFER=5500ms"},
         "Runtime.ConfigError", {"TEMPORAL_SHUTDOWN_BUFFER (5500 ms)", "TEMPORAL_WORKER_STOP_TIMEOUT (5000 ms)"}},
        {abs_noversioning, {WORKER_ENV}, "Runtime.InvalidHandler",
         {"TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR"}},
        {"libmissing.so", {WORKER_ENV}, "Runtime.NoSuchHandler", {"_HANDLER", "libmissing.so"}},
        {"handler.so", {WORKER_ENV}, "Runtime.InvalidHandler", {"not an ELF file"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *type, *msg;
        bootstrap_init_outcome(cases[i].handler, cases[i].env, &type, &msg);
        if (!type || strcmp(type, cases[i].type) != 0)
            fail_msg("case %zu: errorType %s, want %s (%s)", i, type, cases[i].type, msg);
        for (int k = 0; k < 3 && cases[i].needle[k]; k++)
            if (!strstr(msg, cases[i].needle[k]))
                fail_msg("case %zu: \"%s\" not in \"%s\"", i, cases[i].needle[k], msg);
        assert_null(strstr(msg, "sk-very-secret")); /* secrets never reach a message */
        free(type);
        free(msg);
    }
}

static void bootstrap_without_time_to_poll_is_an_error(void **st)
{
    /* A good library and a 3 s function timeout: less than the 7 s shutdown buffer, so there is
     * no time to poll. That is a mistake the user must see (as in Temporal's own Lambda
     * helper): the invocation fails naming the buffer's variable, instead of succeeding idle. */
    char abs_good[4096];
    assert_non_null(realpath(harness_built("fixtures/lib_good.so"), abs_good));
    emu_proc p;
    const char *args[] = {"--handler", abs_good, "-e", "TEMPORAL_TASK_QUEUE=orders",
                          "-e", "TEMPORAL_DEPLOYMENT_NAME=shop", "-e", "TEMPORAL_WORKER_BUILD_ID=b1",
                          NULL};
    assert_int_equal(emu_start(&p, harness_built("bootstrap"), args), 0);
    http_answer a;
    assert_int_equal(emu_invoke(&p, NULL, NULL, "{}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_non_null(fe);
    cJSON *o = cJSON_Parse(a.body);
    assert_non_null(o);
    assert_string_equal(str(o, "errorType"), "Runtime.WorkerError");
    assert_non_null(strstr(str(o, "errorMessage"), "TEMPORAL_SHUTDOWN_BUFFER"));
    assert_non_null(strstr(str(o, "errorMessage"), "too little to poll"));
    free(fe);
    cJSON_Delete(o);
    http_answer_free(&a);
    assert_int_equal(emu_stop(&p), 0);
}

static void missing_bootstrap_is_reported(void **st)
{
    emu_proc p;
    assert_int_equal(emu_start(&p, "/nonexistent/bootstrap", NULL), 0);
    http_answer a;
    assert_int_equal(emu_invoke(&p, NULL, NULL, "{}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    assert_non_null(fe);
    assert_non_null(strstr(a.body, "Runtime.InvalidEntrypoint"));
    assert_non_null(strstr(a.body, "/nonexistent/bootstrap"));
    free(fe);
    http_answer_free(&a);
    assert_int_equal(emu_stop(&p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cold_then_warm, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(deadline_passed_through, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(deadline_enforced_and_environment_reset, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(crash_reported_then_recovered, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(function_error_shape, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(frozen_between_invocations, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(two_at_once_use_two_environments, emu_setup, emu_teardown),
        cmocka_unit_test(concurrency_limit_throttles_sync_and_queues_async),
        cmocka_unit_test_setup_teardown(async_invoke_runs, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(async_failure_is_retried, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(dry_run_and_names, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(get_function, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(tail_logs_and_client_context, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(oversized_response_is_an_error, emu_setup, emu_teardown),
        cmocka_unit_test(init_error_reaches_the_invoker),
        cmocka_unit_test(an_ending_runtime_does_not_take_the_next_invocation),
        cmocka_unit_test(bootstrap_init_errors_name_the_problem),
        cmocka_unit_test(bootstrap_without_time_to_poll_is_an_error),
        cmocka_unit_test(missing_bootstrap_is_reported),
    };
    return cmocka_run_group_tests_name("emulator", tests, NULL, NULL);
}
