/*
 * Sticky execution end to end: the emulator serving build/bootstrap with lib_wf_talk, the real
 * server, the Go driver. Within one invocation, a workflow's later tasks come back on the
 * invocation's own sticky queue and run on its kept run (the summary counts them: no history
 * is fetched); the stop gives the sticky queue back, so a task for the workflow that comes
 * after the invocation ended goes to the task queue at once and the next invocation runs it
 * without waiting for the sticky schedule-to-start timeout (and without a WorkflowTaskTimedOut
 * in the history); a run the cache had to evict, or a legacy query on the sticky queue, gets
 * its whole history fetched and replayed; with the cache off, every task replays.
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

#include "tests/support/flow.h"

static tserver srv;

static int group_setup(void **st) { return tserver_start(&srv, 0, NULL, NULL); }

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints summary |s| with a label (the test's output shows what each invocation did). */
static void show(const char *label, const cJSON *s)
{
    char *text = cJSON_PrintUnformatted(s);
    print_message("%s: %s\n", label, text ? text : "?");
    free(text);
}

static void signal_done(const flow_fn *f, const char *id)
{
    const char *args[] = {"signal", "--id", id, "--name", "done", NULL};
    flow_call_ok(f->srv, args);
}

/* Interleave runs 20 activities one after the other, then waits for "done": its tasks after
 * the first all come back to this invocation's kept run. */
static void later_tasks_run_on_the_kept_run(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "sticky");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT=8s",
                         NULL};
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_wf_talk.so", .timeout_s = 60, .env = env});
    char id[64];
    flow_new_id(id, sizeof(id), "chain");
    flow_start(&f, "Interleave", id, "20");
    cJSON *s = flow_invoke(&f);
    show("first invocation", s);
    int tasks = flow_int(s, "workflow_tasks"), hits = flow_int(s, "cache_hits");
    assert_int_equal(flow_int(s, "workflow_task_failures"), 0);
    assert_int_equal(flow_int(s, "activities"), 20);
    assert_int_equal(flow_int(s, "histories_fetched"), 0);
    assert_int_equal(flow_int(s, "cache_misses"), 1); /* the first task only */
    assert_int_equal(hits, tasks - 1);
    assert_true(tasks >= 11);
    cJSON_Delete(s);

    /* The invocation ended (idle); the workflow waits for "done". The sticky queue was given
     * back: the signal's task goes to the task queue at once, and the next invocation gets it
     * with the whole history, well before the sticky timeout (8 s here) would have ended. */
    signal_done(&f, id);
    int64_t t0 = now_ms();
    s = flow_invoke(&f);
    show("second invocation", s);
    assert_int_equal(flow_int(s, "workflow_tasks"), 1);
    assert_int_equal(flow_int(s, "cache_misses"), 1);
    assert_int_equal(flow_int(s, "histories_fetched"), 0);
    cJSON_Delete(s);
    cJSON *done = flow_await(&srv, id, "5s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    assert_true(now_ms() - t0 < 8000);
    cJSON *h = flow_history(&srv, id, NULL);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT"), 0);
    assert_int_equal(flow_count_events(h, "EVENT_TYPE_WORKFLOW_TASK_FAILED"), 0);
    cJSON_Delete(h);
    emu_stop(&f.emu);
}

/* A cache of one run for three workflows at once: runs are evicted, their sticky tasks carry
 * only the rest of the history, so the whole history is fetched and replayed; a legacy query
 * on the sticky queue too. Every workflow completes as it would without a cache. */
static void evicted_runs_fetch_their_whole_history(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "evict");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=2s", "TEMPORAL_WORKFLOW_CACHE_SIZE=1", NULL};
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_wf_talk.so", .timeout_s = 60, .env = env});
    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        flow_new_id(ids[i], sizeof(ids[i]), "evict");
        flow_start(&f, "Interleave", ids[i], "5");
    }
    flow_bg bg;
    flow_bg_start(&bg, &f);
    for (int i = 0; i < 3; i++) { /* each waits for "done" (a condition) after its activities */
        const char *args[] = {"--timeout", "30s", "query", "--id", ids[i], "--name",
                              "__stack_trace", NULL};
        cJSON *q = NULL;
        for (int tries = 0; tries < 100; tries++) {
            cJSON_Delete(q);
            q = flow_call(&srv, args);
            if (strstr(flow_member_json(q, "result"), "tw_await_condition"))
                break;
            struct timespec pause = {0, 100 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        assert_non_null(strstr(flow_member_json(q, "result"), "tw_await_condition"));
        cJSON_Delete(q);
        signal_done(&f, ids[i]);
    }
    flow_bg_join(&bg);
    cJSON *s = cJSON_Parse(bg.body ? bg.body : "");
    assert_non_null(s);
    show("invocation", s);
    assert_null(bg.error);
    assert_int_equal(flow_int(s, "workflow_task_failures"), 0);
    assert_true(flow_int(s, "histories_fetched") >= 1); /* evicted runs, sticky queries */
    assert_true(flow_int(s, "cache_misses") >= 3);
    assert_true(flow_int(s, "queries") >= 3);
    cJSON_Delete(s);
    free(bg.body);
    free(bg.error);
    for (int i = 0; i < 3; i++) {
        cJSON *done = flow_await(&srv, ids[i], "10s");
        assert_string_equal(flow_str(done, "status"), "COMPLETED");
        assert_non_null(strstr(flow_member_json(done, "result"), "act:4"));
        cJSON_Delete(done);
    }
    emu_stop(&f.emu);
}

/* The idle exit knows what the kept runs wait on: a timer that fires just after the idle
 * window keeps the invocation until its task came (one invocation completes the workflow); a
 * timer well past it does not (the invocation ends idle, the next one completes it). */
static void idle_exit_waits_for_a_timer_due_soon(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "timer");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", NULL};
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_wf_talk.so", .timeout_s = 60, .env = env});
    char id[64];
    flow_new_id(id, sizeof(id), "soon");
    flow_start(&f, "Condition", id, "1600"); /* sleeps 1.6 s, then completes */
    cJSON *s = flow_invoke(&f);
    show("timer in 1.6 s", s);
    assert_int_equal(flow_int(s, "workflow_tasks"), 2);
    assert_int_equal(flow_int(s, "cache_hits"), 1);
    assert_string_equal(flow_str(s, "stopped"), "idle");
    cJSON_Delete(s);
    const char *describe[] = {"describe", "--id", id, NULL};
    cJSON *d = flow_call(&srv, describe);
    assert_string_equal(flow_str(d, "status"), "COMPLETED");
    cJSON_Delete(d);

    flow_new_id(id, sizeof(id), "later");
    flow_start(&f, "Condition", id, "6000");
    int64_t t0 = now_ms();
    s = flow_invoke(&f);
    show("timer in 6 s", s);
    assert_true(now_ms() - t0 < 4000);
    assert_int_equal(flow_int(s, "workflow_tasks"), 1);
    cJSON_Delete(s);
    flow_invoke_until_closed(&f, id, 5);
    cJSON *done = flow_await(&srv, id, "5s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    emu_stop(&f.emu);
}

/* TEMPORAL_WORKFLOW_CACHE_SIZE=0: no sticky queue, every task replays from the first event. */
static void cache_off_replays_every_task(void **st)
{
    flow_fn f;
    flow_deploy(&f, &srv, "nocache");
    const char *env[] = {"TEMPORAL_IDLE_EXIT=1s", "TEMPORAL_WORKFLOW_CACHE_SIZE=0", NULL};
    flow_run(&f, &(flow_opts){.library = "fixtures/lib_wf_talk.so", .timeout_s = 60, .env = env});
    char id[64];
    flow_new_id(id, sizeof(id), "nocache");
    flow_start(&f, "Interleave", id, "3");
    cJSON *s = flow_invoke(&f);
    assert_true(flow_int(s, "workflow_tasks") >= 2);
    assert_int_equal(flow_int(s, "cache_hits"), 0);
    assert_int_equal(flow_int(s, "cache_misses"), 0);
    assert_int_equal(flow_int(s, "activities"), 3);
    cJSON_Delete(s);
    signal_done(&f, id);
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "5s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    cJSON_Delete(done);
    emu_stop(&f.emu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(later_tasks_run_on_the_kept_run),
        cmocka_unit_test(evicted_runs_fetch_their_whole_history),
        cmocka_unit_test(idle_exit_waits_for_a_timer_due_soon),
        cmocka_unit_test(cache_off_replays_every_task),
    };
    return cmocka_run_group_tests_name("sticky", tests, group_setup, group_teardown);
}
