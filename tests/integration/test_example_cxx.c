/*
 * End to end, the C++ example (examples/cxx/worker.cpp) as its users meet it: build/bootstrap
 * runs it under the local Lambda emulator against the real Temporal server, and the official
 * Go SDK (tw-driver) starts and reads it:
 *
 *   - Summarize counts each line's words with one activity per line and answers the totals;
 *     its deadline timer, an RAII future, is cancelled when the workflow returns (the history
 *     has the cancel, no firing);
 *   - a line without words fails its activity for good (a twpp::Failure thrown in C++), and the
 *     workflow fails with "LineFailed" caused by it; the timer is cancelled while the exception
 *     unwinds;
 *   - a std::invalid_argument thrown in the activity fails it with that type, which the retry
 *     policy names as non-retryable (one attempt);
 *   - a std::length_error thrown in the workflow fails the workflow with that type, before it
 *     started anything; no invocation failed (no exception reached the runtime);
 *   - the shipped bootstrap and the library run from a Debian bullseye root (glibc 2.31): the
 *     static C++ runtime needs nothing newer (layer/sdk/cxx_compat.c).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define LIB "examples/libcxx.so"

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

/* Runs Summarize on |input| to its end with the function |f| serves: the end (the caller
 * deletes it), and the run's history in *history. */
static cJSON *summarize(flow_fn *f, const char *input, cJSON **history)
{
    char id[64];
    flow_new_id(id, sizeof(id), "cxx");
    flow_start(f, "Summarize", id, input);
    flow_invoke_until_closed(f, id, 4);
    cJSON *done = flow_await(&srv, id, "60s");
    *history = flow_history(&srv, id, NULL);
    return done;
}

/* Fails unless |haystack| has each of the NULL-terminated |needles|. */
static void has_all(const char *haystack, const char *const *needles)
{
    for (; *needles; needles++)
        if (!strstr(haystack, *needles))
            fail_msg("want \"%s\" in %s", *needles, haystack);
}

static void run_local(flow_fn *f)
{
    static const char *const env[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    flow_deploy(f, &srv, "cxx");
    flow_run(f, &(flow_opts){.library = LIB, .timeout_s = 30, .env = env});
}

static void counts_the_words_of_each_line(void **st)
{
    flow_fn f;
    run_local(&f);
    cJSON *h;
    cJSON *done = summarize(&f, "[\"the quick brown fox\", \"jumps over\", \"the lazy dog and cat\"]", &h);
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_member_json(done, "result"), "{\"lines\":3,\"words\":11,\"longest\":3}");
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"), 3);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_STARTED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_CANCELED"), 1); /* ~Future */
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_FIRED"), 0);
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_line_without_words_fails_the_workflow(void **st)
{
    flow_fn f;
    run_local(&f);
    cJSON *h;
    cJSON *done = summarize(&f, "[\"one two\", \" \\t \"]", &h);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    const char *want[] = {"LineFailed", "line 2: the line has no words", "EmptyLine", NULL};
    has_all(flow_member_json(done, "failure"), want);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_FAILED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_CANCELED"), 1); /* while unwinding */
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_cxx_exception_names_the_activity_failure(void **st)
{
    flow_fn f;
    run_local(&f);
    cJSON *h;
    cJSON *done = summarize(&f, "[\"caf\\u00e9 au lait\"]", &h);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    const char *want[] = {"LineFailed", "std::invalid_argument", "no decoder for the escape \\\\u",
                          NULL};
    has_all(flow_member_json(done, "failure"), want);
    /* Not retried: the workflow's retry policy lists the type the exception gave. */
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_STARTED"), 1);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_FAILED"), 1);
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_cxx_exception_in_the_workflow_fails_it(void **st)
{
    flow_fn f;
    run_local(&f);
    char input[512] = "[";
    for (int i = 0; i < 17; i++)
        strcat(input, i ? ", \"a line\"" : "\"a line\"");
    strcat(input, "]");
    cJSON *h;
    cJSON *done = summarize(&f, input, &h);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    const char *want[] = {"std::length_error", "at most 16 lines", NULL};
    has_all(flow_member_json(done, "failure"), want);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"), 0);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_TIMER_STARTED"), 0);
    cJSON_Delete(h);
    cJSON_Delete(done);

    /* Not an array: the twpp::Failure it throws says so. */
    done = summarize(&f, "42", &h);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    const char *bad[] = {"BadInput", "expected a JSON array of strings", NULL};
    has_all(flow_member_json(done, "failure"), bad);
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- from glibc 2.31 ---- */

static char unpacked[1024];
static char wrapper[64];

static int cleanup(void **st)
{
    char cmd[1200];
    if (unpacked[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unpacked);
        if (system(cmd) != 0)
            return -1;
    }
    if (wrapper[0])
        unlink(wrapper);
    unpacked[0] = wrapper[0] = '\0';
    return 0;
}

/* The shipped bootstrap ($SHIPPED_BOOTSTRAP: unsanitized in the sanitizer run too) and the
 * library copied into a fresh folder of the bullseye root ($OLDROOT), run chrooted. */
static void runs_from_glibc_2_31(void **st)
{
    const char *root = getenv("OLDROOT");
    const char *boot = getenv("SHIPPED_BOOTSTRAP");
    if (!root || !boot)
        fail_msg("OLDROOT or SHIPPED_BOOTSTRAP is not set (make test sets them)");
    char path[1200], cmd[8192], dir[1024];
    snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libc-2.31.so", root);
    assert_int_equal(access(path, R_OK), 0); /* it really is glibc 2.31 in there */
    snprintf(dir, sizeof(dir), "%s/tmp/tw-cxx-XXXXXX", root);
    assert_non_null(mkdtemp(dir));
    snprintf(unpacked, sizeof(unpacked), "%s", dir);
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/opt' '%s/task' && cp '%s' '%s/opt/bootstrap' && "
             "cp '%s' '%s/task/libcxx.so'", dir, dir, boot, dir, harness_built(LIB), dir);
    assert_int_equal(system(cmd), 0);

    snprintf(wrapper, sizeof(wrapper), "/tmp/tw-cxx-run-XXXXXX");
    int fd = mkstemp(wrapper);
    assert_true(fd >= 0);
    const char *in_root = dir + strlen(root);
    dprintf(fd, "#!/bin/sh\nexec env LAMBDA_TASK_ROOT=%s/task _HANDLER=libcxx.so "
                "/usr/sbin/chroot '%s' %s/opt/bootstrap\n", in_root, root, in_root);
    close(fd);
    chmod(wrapper, 0755);

    flow_fn f;
    static const char *const env[] = {"TEMPORAL_IDLE_EXIT=2s", NULL};
    flow_deploy(&f, &srv, "cxxold");
    flow_run(&f, &(flow_opts){.library = LIB, .timeout_s = 30, .env = env, .bootstrap = wrapper});
    cJSON *h;
    /* An exception thrown and caught there too (the unwinder finds its tables without glibc
     * 2.35's _dl_find_object). */
    cJSON *done = summarize(&f, "[\"a b c\", \"\"]", &h);
    assert_string_equal(flow_str(done, "status"), "FAILED");
    const char *want[] = {"LineFailed", "EmptyLine", NULL};
    has_all(flow_member_json(done, "failure"), want);
    cJSON_Delete(h);
    cJSON_Delete(done);
    done = summarize(&f, "[\"a b c\", \"d\"]", &h);
    assert_string_equal(flow_member_json(done, "result"), "{\"lines\":2,\"words\":4,\"longest\":1}");
    cJSON_Delete(h);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_the_words_of_each_line),
        cmocka_unit_test(a_line_without_words_fails_the_workflow),
        cmocka_unit_test(a_cxx_exception_names_the_activity_failure),
        cmocka_unit_test(a_cxx_exception_in_the_workflow_fails_it),
        cmocka_unit_test_teardown(runs_from_glibc_2_31, cleanup),
    };
    return cmocka_run_group_tests_name("example_cxx", tests, group_setup, group_teardown);
}
