/*
 * log and crash: what a line says about the thread's task, and the crash line. Lines are read
 * back from a pipe put in place of stderr; crashes happen in forked children, whose death is
 * checked too. tests/integration/test_crash.c does the same through the real worker.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/crash.h"
#include "runtime/log.h"

static const int CRASH_SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction ours[5]; /* the crash handlers, as crash_install left them */

/* Runs |fn| with stderr going to a pipe; returns what it wrote (malloc'd). In a child when
 * |in_child|: then *status is how the child ended. */
static char *capture(void (*fn)(void), int in_child, int *status)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = 0;
    int saved = -1;
    if (in_child) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* cmocka puts handlers of its own in place while a test runs: ours again. */
            for (int i = 0; i < 5; i++)
                sigaction(CRASH_SIGNALS[i], &ours[i], NULL);
            dup2(p[1], STDERR_FILENO);
            close(p[0]);
            fn();
            _exit(0);
        }
    } else {
        saved = dup(STDERR_FILENO);
        dup2(p[1], STDERR_FILENO);
        fn();
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    close(p[1]);
    size_t len = 0, cap = 65536;
    char *out = malloc(cap);
    ssize_t n;
    while ((n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    if (in_child)
        assert_int_equal(waitpid(pid, status, 0), pid);
    return out;
}

/* The one line of |out| that holds |needle|, parsed. */
static cJSON *line_with(const char *out, const char *needle)
{
    const char *hit = strstr(out, needle);
    if (!hit)
        fail_msg("no line with %s in:\n%s", needle, out);
    const char *begin = hit;
    while (begin > out && begin[-1] != '\n')
        begin--;
    const char *end = strchr(hit, '\n');
    assert_non_null(end);
    char *text = strndup(begin, (size_t)(end - begin));
    cJSON *o = cJSON_Parse(text);
    if (!o)
        fail_msg("not JSON: %s", text);
    free(text);
    return o;
}

static const char *str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
}

/* ---- the task on ordinary lines ---- */

static void log_with_a_task_from_freed_strings(void)
{
    char *type = strdup("Greet"), *id = strdup("wf-1");
    log_set_task("activity", type, id, "7");
    free(type); /* copied: the task may end before its lines are written */
    free(id);
    log_info("working");
    log_set_task(NULL, NULL, NULL, NULL);
    log_info("idle");
}

static void lines_name_the_task_from_copies(void **st)
{
    char *out = capture(log_with_a_task_from_freed_strings, 0, NULL);
    cJSON *working = line_with(out, "working");
    assert_string_equal(str(working, "taskKind"), "activity");
    assert_string_equal(str(working, "taskType"), "Greet");
    assert_string_equal(str(working, "workflowId"), "wf-1");
    assert_string_equal(str(working, "activityId"), "7");
    /* The order earlier readers rely on: the kind, then the workflow id. */
    assert_non_null(strstr(out, "\"taskKind\":\"activity\",\"workflowId\":\"wf-1\""));
    cJSON *idle = line_with(out, "idle");
    assert_null(cJSON_GetObjectItem(idle, "taskKind"));
    assert_null(cJSON_GetObjectItem(idle, "workflowId"));
    cJSON_Delete(working);
    cJSON_Delete(idle);
    free(out);
}

static char long_id[600]; /* 300 two-byte characters */

static void log_with_a_long_id(void)
{
    log_set_task("workflow", "T", long_id, NULL);
    log_info("long");
    log_set_task(NULL, NULL, NULL, NULL);
}

static void a_long_id_is_cut_between_characters(void **st)
{
    for (int i = 0; i < 300; i++)
        memcpy(long_id + 2 * i, "\xc3\xa9", 2); /* é */
    char *out = capture(log_with_a_long_id, 0, NULL);
    cJSON *o = line_with(out, "long");
    const char *id = str(o, "workflowId");
    assert_int_equal(strlen(id), 254); /* 255 bytes would end inside a character */
    assert_memory_equal(id, long_id, 254);
    cJSON_Delete(o);
    free(out);
}

/* ---- alternate signal stacks ---- */

typedef struct stacks {
    stack_t before, first, second;
} stacks;

static void *task_thread(void *arg)
{
    stacks *s = arg;
    sigaltstack(NULL, &s->before);
    log_set_task("activity", "T", "wf", "1");
    sigaltstack(NULL, &s->first);
    log_set_task(NULL, NULL, NULL, NULL);
    log_set_task("activity", "T", "wf", "2");
    sigaltstack(NULL, &s->second);
    log_set_task(NULL, NULL, NULL, NULL);
    return NULL;
}

/* Activity threads come and go with their activities: each stack goes with its thread. */
static void a_thread_gets_one_stack_freed_when_it_exits(void **st)
{
    stacks s;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, task_thread, &s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_false(s.first.ss_flags & SS_DISABLE);
    assert_ptr_equal(s.second.ss_sp, s.first.ss_sp); /* one per thread, not per task */
    if (!(s.before.ss_flags & SS_DISABLE)) {
        /* The sanitizer runtime gave the thread one: kept, and its to free. */
        assert_ptr_equal(s.first.ss_sp, s.before.ss_sp);
        return;
    }
    assert_true(s.first.ss_size >= 16384);
    unsigned char vec[64];
    errno = 0;
    assert_int_equal(mincore(s.first.ss_sp, s.first.ss_size, vec), -1);
    assert_int_equal(errno, ENOMEM); /* unmapped */
}

/* ---- the crash line ---- */

static void abort_in_a_task(void)
{
    log_set_request_id("req-1");
    log_set_task("workflow", "Odd\tType\x01", "wf \"q\"", NULL);
    abort();
}

static void an_abort_in_a_task_is_named_and_still_kills(void **st)
{
    int status;
    char *out = capture(abort_in_a_task, 1, &status);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    cJSON *o = line_with(out, "\"level\":\"FATAL\"");
    assert_string_equal(str(o, "requestId"), "req-1");
    assert_string_equal(str(o, "taskKind"), "workflow");
    assert_string_equal(str(o, "taskType"), "Odd\tType\x01");
    assert_string_equal(str(o, "workflowId"), "wf \"q\"");
    assert_null(cJSON_GetObjectItem(o, "activityId"));
    assert_string_equal(str(o, "signal"), "SIGABRT");
    assert_string_equal(str(o, "message"),
                        "crash: SIGABRT in workflow Odd\tType\x01 (workflow id wf \"q\")");
    assert_non_null(strstr(out, "Odd\\u0009Type\\u0001")); /* escaped as log.c escapes */
    cJSON_Delete(o);
    free(out);
}

static void abort_with_every_field_full_of_control_characters(void)
{
    char kind[LOG_KIND_MAX + 1], name[LOG_NAME_MAX + 1], act[LOG_ACTIVITY_ID_MAX + 1];
    char req[LOG_REQUEST_ID_MAX + 1];
    memset(kind, 1, sizeof(kind) - 1);
    memset(name, 1, sizeof(name) - 1);
    memset(act, 1, sizeof(act) - 1);
    memset(req, 1, sizeof(req) - 1);
    kind[LOG_KIND_MAX] = name[LOG_NAME_MAX] = act[LOG_ACTIVITY_ID_MAX] = '\0';
    req[LOG_REQUEST_ID_MAX] = '\0';
    log_set_request_id(req);
    log_set_task(kind, name, name, act);
    abort();
}

/* Every field at its longest and six bytes a character: still one whole JSON line. */
static void the_longest_crash_line_is_whole(void **st)
{
    int status;
    char *out = capture(abort_with_every_field_full_of_control_characters, 1, &status);
    assert_true(WIFSIGNALED(status));
    cJSON *o = line_with(out, "\"level\":\"FATAL\"");
    assert_int_equal(strlen(str(o, "workflowId")), LOG_NAME_MAX);
    assert_int_equal(strlen(str(o, "activityId")), LOG_ACTIVITY_ID_MAX);
    assert_int_equal(strlen(str(o, "requestId")), LOG_REQUEST_ID_MAX);
    assert_true(strlen(str(o, "message")) > 2 * LOG_NAME_MAX + LOG_ACTIVITY_ID_MAX);
    assert_string_equal(str(o, "signal"), "SIGABRT");
    cJSON_Delete(o);
    free(out);
}

static void sigill_outside_a_task(void)
{
    raise(SIGILL);
}

static void a_crash_outside_a_task_says_so(void **st)
{
    int status;
    char *out = capture(sigill_outside_a_task, 1, &status);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGILL);
    cJSON *o = line_with(out, "\"level\":\"FATAL\"");
    assert_null(cJSON_GetObjectItem(o, "taskKind"));
    assert_string_equal(str(o, "message"), "crash: SIGILL outside any workflow or activity task");
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line, nothing else */
    cJSON_Delete(o);
    free(out);
}

int main(void)
{
    /* Before cmocka runs anything: it has handlers of its own around fixtures too, and the
     * crash handler would hand the signal on to them. */
    if (crash_install() != 0)
        return 1;
    for (int i = 0; i < 5; i++)
        sigaction(CRASH_SIGNALS[i], NULL, &ours[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_name_the_task_from_copies),
        cmocka_unit_test(a_long_id_is_cut_between_characters),
        cmocka_unit_test(a_thread_gets_one_stack_freed_when_it_exits),
        cmocka_unit_test(an_abort_in_a_task_is_named_and_still_kills),
        cmocka_unit_test(a_crash_outside_a_task_says_so),
        cmocka_unit_test(the_longest_crash_line_is_whole),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
