/*
 * Unit tests of temporal/config/settings.c: the worker's variables, defaults and mistakes.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "temporal/config/settings.h"

#define REQUIRED "TEMPORAL_TASK_QUEUE=q", "TEMPORAL_DEPLOYMENT_NAME=d", "TEMPORAL_WORKER_BUILD_ID=b"

static void defaults_follow_the_official_helpers(void **st)
{
    const char *env[] = {REQUIRED, NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    assert_string_equal(s.task_queue, "q");
    assert_string_equal(s.deployment_name, "d");
    assert_string_equal(s.build_id, "b");
    assert_true(s.stop_timeout_ms == 5000);
    assert_true(s.shutdown_buffer_ms == 7000);
    assert_int_equal(s.workflow_pollers, 2);
    assert_int_equal(s.activity_pollers, 1);
    assert_int_equal(s.max_workflow_tasks, 10);
    assert_int_equal(s.max_activities, 2);
    assert_int_equal(s.default_versioning, 0);
    assert_true(s.idle_exit_ms == 2000);
    assert_int_equal(s.workflow_cache_size, 100); /* the Go helper's sticky cache */
    assert_true(s.sticky_timeout_ms == 5000);
    settings_free(&s);
    const char *off[] = {REQUIRED, "TEMPORAL_IDLE_EXIT=0s", NULL};
    assert_int_equal(settings_load(&s, off, err, sizeof(err)), 0);
    assert_true(s.idle_exit_ms == 0);
    settings_free(&s);
}

static void overrides(void **st)
{
    const char *env[] = {REQUIRED, "TEMPORAL_WORKER_STOP_TIMEOUT=3s",
                         "TEMPORAL_ACTIVITY_TASK_POLLERS=4", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=8",
                         "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR=AUTO_UPGRADE",
                         "TEMPORAL_WORKFLOW_CACHE_SIZE=0",
                         "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT=2s", NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    assert_int_equal(s.workflow_cache_size, 0); /* off: every task replays its history */
    assert_true(s.sticky_timeout_ms == 2000);
    assert_true(s.stop_timeout_ms == 3000);
    assert_true(s.shutdown_buffer_ms == 5000); /* follows the stop timeout */
    assert_int_equal(s.activity_pollers, 4);
    assert_int_equal(s.max_activities, 8);
    assert_int_equal(s.default_versioning, 2);
    assert_true(s.deadlock_timeout_ms == 1000); /* as the official SDKs' deadlock detector */
    settings_free(&s);
    const char *tight[] = {REQUIRED, "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                           "TEMPORAL_DEADLOCK_DETECTION_TIMEOUT=0s", NULL};
    assert_int_equal(settings_load(&s, tight, err, sizeof(err)), 0); /* exactly stop + 1 s */
    assert_true(s.deadlock_timeout_ms == 0);
    settings_free(&s);
}

static void mistakes_name_the_variable(void **st)
{
    struct { const char *extra; const char *needle; } cases[] = {
        {"TEMPORAL_WORKFLOW_TASK_POLLERS=0", "TEMPORAL_WORKFLOW_TASK_POLLERS: expected a whole number from 1"},
        {"TEMPORAL_MAX_CONCURRENT_ACTIVITIES=two", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES"},
        {"TEMPORAL_SHUTDOWN_BUFFER=7", "TEMPORAL_SHUTDOWN_BUFFER: expected a duration"},
        {"TEMPORAL_SHUTDOWN_BUFFER=2s", "TEMPORAL_SHUTDOWN_BUFFER (2000 ms) must be at least "
                                        "TEMPORAL_WORKER_STOP_TIMEOUT (5000 ms) plus 1000 ms"},
        /* the buffer must also hold the fail-backs and the answer, not just the drain */
        {"TEMPORAL_SHUTDOWN_BUFFER=5500ms", "TEMPORAL_WORKER_STOP_TIMEOUT (5000 ms) plus 1000 ms"},
        {"TEMPORAL_DEADLOCK_DETECTION_TIMEOUT=soon", "TEMPORAL_DEADLOCK_DETECTION_TIMEOUT"},
        {"TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR=sometimes", "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR"},
        {"TEMPORAL_WORKFLOW_CACHE_SIZE=-1", "TEMPORAL_WORKFLOW_CACHE_SIZE: expected a whole number from 0"},
        {"TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT=500ms",
         "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT: at least 1s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *env[] = {REQUIRED, cases[i].extra, NULL};
        settings s;
        char err[256] = "";
        assert_int_equal(settings_load(&s, env, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].needle))
            fail_msg("%s: got \"%s\"", cases[i].extra, err);
    }
    const char *none[] = {"TEMPORAL_TASK_QUEUE=q", NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, none, err, sizeof(err)), -1);
    assert_string_equal(err, "TEMPORAL_DEPLOYMENT_NAME is not set");
    settings_free(&s);
}

static void durations(void **st)
{
    int64_t ms;
    assert_int_equal(settings_parse_duration("7s", &ms), 0);
    assert_true(ms == 7000);
    assert_int_equal(settings_parse_duration("250ms", &ms), 0);
    assert_true(ms == 250);
    assert_int_equal(settings_parse_duration("2m", &ms), 0);
    assert_true(ms == 120000);
    assert_int_equal(settings_parse_duration("7", &ms), -1);
    assert_int_equal(settings_parse_duration("-1s", &ms), -1);
    assert_int_equal(settings_parse_duration("1h", &ms), -1);
    assert_int_equal(settings_parse_duration("", &ms), -1);
    assert_int_equal(settings_parse_duration("99999999999999999999s", &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_follow_the_official_helpers),
        cmocka_unit_test(overrides),
        cmocka_unit_test(mistakes_name_the_variable),
        cmocka_unit_test(durations),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
