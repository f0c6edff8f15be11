/*
 * Stop hooks (ABI 1.2) end to end: the emulator serving build/bootstrap with
 * tests/fixtures/lib_misc.so against the real server. Its hooks append a line each to
 * MISC_HOOK_LOG: "<name> <deadline_ms> <now_ms> <Linger activities done>".
 *
 * - Every invocation's stop runs the hooks once, in registration order, whether it ended idle
 *   or at its deadline, each with the invocation's deadline (the Lambda deadline minus the
 *   margin to answer), before it.
 * - At a stop at the deadline, the hooks run after the drain: the Linger activity, still
 *   running when the stop began, finished first (the hook sees it done).
 * - An invocation that fails before polling (an unknown namespace) runs them too.
 * - A hook that never returns does not make the invocation overrun: it is answered in time
 *   (the emulator's REPORT has no timeout status), the log names the hook, and the process
 *   ends (the next invocation is a cold start that runs the hooks again).
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

#include "tests/support/flow.h"

static tserver srv;

static int group_setup(void **st) { return tserver_start(&srv, 0, NULL, NULL); }

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct hook_line {
    char name[16];
    long long deadline, now;
    int lingers;
} hook_line;

/* The lines of hook log |path| (at most |max|); their count. */
static int read_hooks(const char *path, hook_line *out, int max)
{
    size_t len;
    char *text = read_all(path, &len);
    int n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
         l = strtok_r(NULL, "\n", &save)) {
        if (sscanf(l, "%15s %lld %lld %d", out[n].name, &out[n].deadline, &out[n].now,
                   &out[n].lingers) != 4)
            fail_msg("bad hook line: %s", l);
        n++;
    }
    free(text);
    return n;
}

static void hook_log_env(char *entry, size_t n, char *path, size_t pn, const char *tag)
{
    snprintf(path, pn, "/tmp/test_stop_hooks-%d-%s", (int)getpid(), tag);
    unlink(path);
    snprintf(entry, n, "MISC_HOOK_LOG=%s", path);
}

/* Two invocations: one ends idle, one at its deadline with Linger running at the stop. */
static void hooks_run_once_per_stop_after_the_drain(void **st)
{
    flow_fn f;
    char log_env[200], path[160];
    hook_log_env(log_env, sizeof(log_env), path, sizeof(path), "order");
    /* 8 s invocations whose work time is 4 s; the drain may take 3 s, and Linger ends 1 s
     * before the drain's end. */
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", "TEMPORAL_SHUTDOWN_BUFFER=4s",
                         "TEMPORAL_WORKER_STOP_TIMEOUT=3s", log_env, NULL};
    flow_deploy(&f, &srv, "hooks");
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_misc.so", .timeout_s = 8, .env = env});

    int64_t t0 = wall_ms();
    cJSON *s = flow_invoke(&f); /* nothing to do: idle */
    int64_t t1 = wall_ms();
    assert_string_equal(flow_str(s, "stopped"), "idle");
    cJSON_Delete(s);
    hook_line h[8];
    int n = read_hooks(path, h, 8);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].name, "first");
    assert_string_equal(h[1].name, "second");
    for (int i = 0; i < 2; i++) {
        /* The deadline is the invocation's (8 s after it began, minus the answer margin). */
        assert_true(h[i].deadline >= t0 + 8000 - 1000 && h[i].deadline <= t1 + 8000);
        assert_true(h[i].now >= t0 && h[i].now <= t1 && h[i].now < h[i].deadline);
    }
    assert_int_equal(h[0].deadline, h[1].deadline);
    assert_true(h[0].now <= h[1].now);

    char id[64];
    flow_new_id(id, sizeof(id), "linger");
    flow_start(&f, "Linger", id, NULL);
    s = flow_invoke(&f);
    print_message("linger invocation: %s\n", flow_member_json(s, "stopped"));
    assert_string_equal(flow_str(s, "stopped"), "deadline");
    assert_int_equal(flow_int(s, "activities"), 1);
    assert_int_equal(flow_int(s, "activities_failed_back_at_stop"), 0);
    cJSON_Delete(s);
    n = read_hooks(path, h, 8);
    assert_int_equal(n, 4);
    assert_string_equal(h[2].name, "first");
    assert_string_equal(h[3].name, "second");
    assert_int_equal(h[2].lingers, 1); /* the drain waited for Linger, then the hooks ran */
    assert_int_equal(h[3].lingers, 1);
    assert_true(h[2].deadline > h[0].deadline);
    flow_invoke_until_closed(&f, id, 2);
    cJSON *done = flow_await(&srv, id, "10s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
    unlink(path);
}

/* The REPORT line of the |k|-th invocation (1-based) in |out|, into |line|. */
static void report_line(const char *out, int k, char *line, size_t n)
{
    const char *p = out;
    for (int i = 0; i < k; i++) {
        p = strstr(p, "REPORT RequestId:");
        if (!p)
            fail_msg("no REPORT %d in:\n%s", k, out);
        if (i + 1 < k)
            p++;
    }
    size_t len = strcspn(p, "\n");
    snprintf(line, n, "%.*s", (int)(len < n ? len : n - 1), p);
}

static void a_hanging_hook_does_not_overrun(void **st)
{
    flow_fn f;
    char log_env[200], path[160];
    hook_log_env(log_env, sizeof(log_env), path, sizeof(path), "hang");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", "MISC_HOOK_HANG=1", log_env, NULL};
    flow_deploy(&f, &srv, "hang");
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_misc.so", .timeout_s = 6, .env = env});
    cJSON *s = flow_invoke(&f); /* a function error (a timeout) fails the test here */
    assert_string_equal(flow_str(s, "stopped"), "idle");
    cJSON_Delete(s);
    char *out = emu_output(&f.emu);
    char line[512];
    report_line(out, 1, line, sizeof(line));
    print_message("%s\n", line);
    assert_null(strstr(line, "Status:")); /* no timeout, no error */
    double ms = 0;
    const char *d = strstr(line, "Duration: ");
    assert_non_null(d);
    ms = strtod(d + strlen("Duration: "), NULL);
    assert_true(ms < 6000.0);
    assert_non_null(strstr(out, "stop hook 3 of 3 (hook_hang in lib_misc.so) was still running at "
                                "the deadline"));
    free(out);
    hook_line h[8];
    assert_int_equal(read_hooks(path, h, 8), 3);
    assert_string_equal(h[2].name, "hang");

    /* The process ends after answering: the next invocation, sent at once (it may reach the
     * emulator while that process is still ending), starts cold and runs the hooks again. */
    s = flow_invoke(&f);
    cJSON_Delete(s);
    out = emu_output(&f.emu);
    report_line(out, 2, line, sizeof(line));
    assert_non_null(strstr(line, "Init Duration"));
    assert_null(strstr(line, "Status:"));
    free(out);
    assert_int_equal(read_hooks(path, h, 8), 6);
    assert_string_equal(h[3].name, "first");
    assert_int_equal(emu_stop(&f.emu), 0);
    unlink(path);
}

/* An invocation that fails before polling (a namespace the server does not have) stops too:
 * its hooks run. */
static void hooks_run_when_the_invocation_fails(void **st)
{
    flow_fn f;
    char log_env[200], path[160];
    hook_log_env(log_env, sizeof(log_env), path, sizeof(path), "fail");
    const char *env[] = {"TEMPORAL_NAMESPACE=no-such-namespace", log_env, NULL};
    flow_deploy(&f, &srv, "hookfail");
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_misc.so", .timeout_s = 10, .env = env});
    char *error = NULL, *body = flow_invoke_raw(&f, &error);
    assert_non_null(error); /* the invocation failed */
    assert_non_null(strstr(body, "no-such-namespace"));
    free(body);
    free(error);
    hook_line h[8];
    assert_int_equal(read_hooks(path, h, 8), 2);
    assert_string_equal(h[0].name, "first");
    assert_string_equal(h[1].name, "second");
    assert_int_equal(emu_stop(&f.emu), 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hooks_run_once_per_stop_after_the_drain),
        cmocka_unit_test(a_hanging_hook_does_not_overrun),
        cmocka_unit_test(hooks_run_when_the_invocation_fails),
    };
    return cmocka_run_group_tests_name("stop_hooks", tests, group_setup, group_teardown);
}
