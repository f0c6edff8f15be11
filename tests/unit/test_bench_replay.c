/*
 * The replay benchmark (bench/replay.c) still runs and still checks what it measures, so it
 * cannot rot between `make bench` runs: one repetition of every measure (--check, nothing
 * timed matters here) over its recorded histories, every task's answer on a kept run the
 * same as on a full replay and the same as the commands the history recorded; and a history
 * the library cannot replay (changing.history against the changed workflow) ends it with
 * status 1, naming the task and both commands.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/harness.h"

/* Runs the benchmark with |args| (stderr too); its output (malloc'd) and exit status. */
static char *run_bench(const char *args, int *status)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --check %s 2>&1", harness_built("bench/replay"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, k;
    char *out = malloc(cap);
    assert_non_null(out);
    while ((k = fread(out + n, 1, cap - 1 - n, p)) > 0) {
        n += k;
        if (n == cap - 1) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[n] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static void every_history_checked_and_measured(void **st)
{
    int status;
    char *out = run_bench("", &status);
    if (status != 0)
        fail_msg("the benchmark ended with status %d:\n%s", status, out);
    static const char *const lines[] = {
        "replay: hello checked (2 tasks)", "replay: fanout checked (4 tasks)",
        "replay: steps-500 checked (502 tasks)", "replay: talk-count checked",
        "replay: talk-interleave checked", "| steps-500 (500 sequential activities, a timer) | 3010 |"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!strstr(out, lines[i]))
            fail_msg("no \"%s\" in:\n%s", lines[i], out);
    free(out);
}

static void a_history_the_code_does_not_replay_fails_it(void **st)
{
    int status;
    char *out = run_bench("--history tests/data/changing.history fixtures/lib_changing_v2.so "
                          "Changing", &status);
    assert_int_equal(status, 1);
    if (!strstr(out, "replay: tests/data/changing.history, task 1: the history recorded "
                     "ScheduleActivityTask(type StepA, id 1) at event 5, the replay made "
                     "ScheduleActivityTask(type StepB, id 1)"))
        fail_msg("unexpected output:\n%s", out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_history_checked_and_measured),
        cmocka_unit_test(a_history_the_code_does_not_replay_fails_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
