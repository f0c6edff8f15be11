/*
 * End to end: user code that crashes the runtime (tests/fixtures/lib_crash.c) under the local
 * Lambda emulator against the real Temporal server. What a user relies on: the process still
 * dies of the signal, so the invocation fails with Runtime.ExitError naming it, and the last
 * thing it logged is one FATAL JSON line (runtime/crash.h) that says which task crashed.
 *
 * In the sanitizer build AddressSanitizer has its own SIGSEGV handler, which the runtime keeps
 * and runs after its line. The first tests turn it off for the function (ASAN_OPTIONS), so they
 * check the same thing in both builds; one more test, in that build only, keeps it on and checks
 * that its report still follows the line.
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

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_BUILD 1
#else
#define SAN_BUILD 0
#endif

/* AddressSanitizer's handlers off: the runtime's handler is the only one, as when shipped. */
#define NO_ASAN_HANDLERS "ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0"

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

/* A current deployment version for a fresh queue, and an emulator running bootstrap with
 * fixtures/lib_crash.so for it; |extra_env| is one more variable or NULL. */
static void deploy(flow_fn *f, const char *extra_env)
{
    const char *env[] = {extra_env, NULL};
    flow_deploy(f, &srv, "crash-tq");
    flow_run(f, &(flow_opts){.library = "fixtures/lib_crash.so", .timeout_s = 10, .env = env});
}

static void start(const flow_fn *f, const char *type, const char *id)
{
    flow_start(f, type, id, "{}");
}

/* The crashed workflows would wait for a worker forever. */
static void terminate(const char *id)
{
    const char *args[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, args);
}

/* Invokes |f|, which must crash: the answer is Lambda's Runtime.ExitError saying how the
 * process ended (|how|: "signal: " and strsignal's text, or "exit status N"). Returns the
 * request id (malloc'd). */
static char *invoke_crash(flow_fn *f, const char *how)
{
    http_answer a;
    assert_int_equal(emu_invoke(&f->emu, NULL, NULL, "{}", NULL, &a), 0);
    char *fe = http_answer_header(&a, "X-Amz-Function-Error");
    if (!fe) {
        char *out = emu_output(&f->emu);
        fail_msg("the invocation did not fail: %s\n%s", a.body, out);
    }
    assert_string_equal(fe, "Unhandled");
    free(fe);
    cJSON *err = cJSON_Parse(a.body);
    assert_non_null(err);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(err, "errorType")),
                        "Runtime.ExitError");
    char want[128];
    snprintf(want, sizeof(want), "Runtime exited with error: %s", how);
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(err, "errorMessage")), want));
    cJSON_Delete(err);
    char *request_id = http_answer_header(&a, "x-amzn-RequestId");
    assert_non_null(request_id);
    http_answer_free(&a);
    return request_id;
}

/* The one FATAL line in |out|, parsed (it must be valid JSON), and where it starts. */
static cJSON *crash_line(const char *out, const char **at)
{
    const char *hit = strstr(out, "\"level\":\"FATAL\"");
    if (!hit)
        fail_msg("no FATAL line in the output:\n%s", out);
    assert_int_equal(count_substr(out, "\"level\":\"FATAL\""), 1);
    const char *begin = hit;
    while (begin > out && begin[-1] != '\n')
        begin--;
    const char *end = strchr(hit, '\n');
    assert_non_null(end);
    char *text = strndup(begin, (size_t)(end - begin));
    cJSON *o = cJSON_Parse(text);
    if (!o)
        fail_msg("the crash line is not JSON: %s", text);
    free(text);
    *at = begin;
    return o;
}

/* The line's timestamp is this moment's UTC time, in the form the other lines use. */
static void assert_recent_timestamp(const cJSON *line)
{
    const char *ts = flow_str(line, "timestamp");
    assert_non_null(ts);
    struct tm tm = {0};
    const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    assert_int_equal(strlen(rest), 5); /* .mmmZ */
    assert_true(rest[0] == '.' && rest[4] == 'Z');
    long skew = (long)(timegm(&tm) - time(NULL));
    assert_true(skew > -120 && skew < 5);
}

/* Checks what the line says beyond the task: level, request id, signal and time. */
static void assert_crash_fields(const cJSON *line, const char *request_id, const char *signal)
{
    assert_string_equal(flow_str(line, "level"), "FATAL");
    assert_string_equal(flow_str(line, "requestId"), request_id);
    assert_string_equal(flow_str(line, "signal"), signal);
    assert_recent_timestamp(line);
}

static void activity_crash_names_the_activity(void **st)
{
    flow_fn f;
    deploy(&f, SAN_BUILD ? NO_ASAN_HANDLERS : NULL);
    char id[96], msg[256];
    /* Quotes and a backslash: the line escapes them as JSON. */
    snprintf(id, sizeof(id), "crash \"act\" \\ %d", (int)getpid());
    start(&f, "CrashInActivity", id);
    char *request_id = invoke_crash(&f, "signal: Segmentation fault");
    char *out = emu_output(&f.emu);
    const char *at;
    cJSON *line = crash_line(out, &at);
    assert_crash_fields(line, request_id, "SIGSEGV");
    assert_string_equal(flow_str(line, "taskKind"), "activity");
    assert_string_equal(flow_str(line, "taskType"), "Dereference");
    assert_string_equal(flow_str(line, "workflowId"), id);
    assert_string_equal(flow_str(line, "activityId"), "deref \"1\"");
    assert_string_equal(flow_str(line, "faultAddress"), "0x0");
    snprintf(msg, sizeof(msg), "crash: SIGSEGV in activity Dereference (workflow id %s, "
                               "activity id deref \"1\")", id);
    assert_string_equal(flow_str(line, "message"), msg);
    /* Written before the process died, not reconstructed after. */
    assert_true(at < strstr(out, "Runtime exited with error: signal: Segmentation fault"));
    cJSON_Delete(line);
    free(out);
    free(request_id);
    terminate(id);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void workflow_abort_names_the_workflow(void **st)
{
    flow_fn f;
    deploy(&f, SAN_BUILD ? NO_ASAN_HANDLERS : NULL);
    char id[64], msg[160];
    snprintf(id, sizeof(id), "crash-abort-%d", (int)getpid());
    start(&f, "Aborts", id);
    char *request_id = invoke_crash(&f, "signal: Aborted");
    char *out = emu_output(&f.emu);
    const char *at;
    cJSON *line = crash_line(out, &at);
    assert_crash_fields(line, request_id, "SIGABRT");
    assert_string_equal(flow_str(line, "taskKind"), "workflow");
    assert_string_equal(flow_str(line, "taskType"), "Aborts");
    assert_string_equal(flow_str(line, "workflowId"), id);
    assert_null(cJSON_GetObjectItem(line, "activityId"));
    assert_null(cJSON_GetObjectItem(line, "faultAddress")); /* sent by abort, not a fault */
    snprintf(msg, sizeof(msg), "crash: SIGABRT in workflow Aborts (workflow id %s)", id);
    assert_string_equal(flow_str(line, "message"), msg);
    cJSON_Delete(line);
    free(out);
    free(request_id);
    terminate(id);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The coroutine's stack is gone when it hits its guard: the line needs the thread's alternate
 * signal stack. */
static void workflow_stack_overflow_is_reported(void **st)
{
    flow_fn f;
    deploy(&f, SAN_BUILD ? NO_ASAN_HANDLERS : NULL);
    char id[64], msg[160];
    snprintf(id, sizeof(id), "crash-overflow-%d", (int)getpid());
    start(&f, "Overflows", id);
    char *request_id = invoke_crash(&f, "signal: Segmentation fault");
    char *out = emu_output(&f.emu);
    const char *at;
    cJSON *line = crash_line(out, &at);
    assert_crash_fields(line, request_id, "SIGSEGV");
    assert_string_equal(flow_str(line, "taskKind"), "workflow");
    assert_string_equal(flow_str(line, "taskType"), "Overflows");
    snprintf(msg, sizeof(msg), "crash: SIGSEGV in workflow Overflows (workflow id %s)", id);
    assert_string_equal(flow_str(line, "message"), msg);
    cJSON_Delete(line);
    free(out);
    free(request_id);
    terminate(id);
    assert_int_equal(emu_stop(&f.emu), 0);
}

#if SAN_BUILD
/* With AddressSanitizer's handler on, as the sanitizer build runs by default: the line comes
 * first, then the fault runs into ASan's handler, whose report (with the stack) follows, and
 * the process ends as ASan ends it (exit status 1). */
static void sanitizer_report_follows_the_line(void **st)
{
    flow_fn f;
    deploy(&f, NULL);
    char id[64];
    snprintf(id, sizeof(id), "crash-asan-%d", (int)getpid());
    start(&f, "CrashInActivity", id);
    char *request_id = invoke_crash(&f, "exit status 1");
    char *out = emu_output(&f.emu);
    const char *at;
    cJSON *line = crash_line(out, &at);
    assert_string_equal(flow_str(line, "taskType"), "Dereference");
    const char *report = strstr(out, "ERROR: AddressSanitizer: SEGV on unknown address");
    assert_non_null(report);
    assert_true(at < report);
    cJSON_Delete(line);
    free(out);
    free(request_id);
    terminate(id);
    fprintf(stderr, "(the AddressSanitizer report below is this test's expected output)\n");
    assert_int_equal(emu_stop(&f.emu), -1); /* -1: it saw that report */
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(activity_crash_names_the_activity),
        cmocka_unit_test(workflow_abort_names_the_workflow),
        cmocka_unit_test(workflow_stack_overflow_is_reported),
#if SAN_BUILD
        cmocka_unit_test(sanitizer_report_follows_the_line),
#endif
    };
    return cmocka_run_group_tests_name("crash", tests, group_setup, group_teardown);
}
