/*
 * Sticky execution in the engine (wf.h's wf_exec): a run kept between its tasks, given only
 * the events after the ones it processed, answers every task exactly as a full replay of the
 * history up to that task does, for every history recorded from the real server in tests/data
 * (tests/support/wf_shadow.c compares them byte for byte). Then what may continue a kept run
 * and what may not (the next task must start with the completion of the task it ran last), a
 * kept run's tasks on different threads, and freeing a run whose coroutines are suspended.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_hist.h"
#include "tests/support/wf_shadow.h"

typedef Temporal__Api__History__V1__History pb_history;
typedef Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes accepted_attrs;

#define ARENA (64u << 20)

static tw_registry *load_lib(const char *built)
{
    char lib[4096], err[512];
    if (!realpath(harness_built(built), lib))
        fail_msg("no %s", harness_built(built));
    tw_registry *r;
    if (reg_load(&r, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return r;
}

static pb_history *load_history(const char *file)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof(path), "tests/data/%s", file);
    char *raw = read_all(path, &len);
    if (!len)
        fail_msg("%s: missing", path);
    pb_history *h = temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(h);
    return h;
}

/* The update requests the task ending at event index |end| (exclusive) was polled with, as
 * the server sent them: the UpdateAccepted events its answer left (up to the next task). */
static size_t task_messages(arena *a, const pb_history *h, size_t end, pb_message ***out)
{
    size_t n = 0;
    *out = arena_alloc(a, 64 * sizeof(**out));
    assert_non_null(*out);
    for (size_t j = end; j < h->n_events && n < 64; j++) {
        const pb_event *e = h->events[j];
        if (e->event_type == EV(WORKFLOW_TASK_STARTED))
            break;
        if (e->event_type != EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED))
            continue;
        const accepted_attrs *at = e->workflow_execution_update_accepted_event_attributes;
        if (!at->accepted_request)
            continue; /* an admitted update: the history carries it */
        pb_message *m = arena_alloc(a, sizeof(*m));
        Google__Protobuf__Any *any = arena_alloc(a, sizeof(*any));
        size_t len = protobuf_c_message_get_packed_size(&at->accepted_request->base);
        uint8_t *buf = arena_alloc(a, len + 1);
        assert_true(m && any && buf);
        protobuf_c_message_pack(&at->accepted_request->base, buf);
        google__protobuf__any__init(any);
        any->type_url = "type.googleapis.com/temporal.api.update.v1.Request";
        any->value.data = buf;
        any->value.len = len;
        temporal__api__protocol__v1__message__init(m);
        m->id = at->accepted_request_message_id;
        m->protocol_instance_id = at->protocol_instance_id;
        m->sequencing_id_case = TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID;
        m->event_id = at->accepted_request_sequencing_event_id;
        m->body = any;
        (*out)[n++] = m;
    }
    return n;
}

/* Each task of |file| (each WorkflowTaskStarted the history completed) replayed in full and
 * on a kept run; *|tasks| of them, of which the return value continued a kept run. */
static int kept_and_replayed(const tw_registry *reg, const char *file, const char *type,
                             int *tasks)
{
    pb_history *h = load_history(file);
    wf_shadow s = {0};
    for (size_t i = 0; i < h->n_events; i++) {
        if (h->events[i]->event_type != EV(WORKFLOW_TASK_STARTED) ||
            (i + 1 < h->n_events && h->events[i + 1]->event_type != EV(WORKFLOW_TASK_COMPLETED)))
            continue;
        arena *a = arena_new(ARENA);
        assert_non_null(a);
        pb_message **msgs;
        size_t nmsgs = task_messages(a, h, i + 1, &msgs);
        wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run",
                       .task_queue = "tq", .events = h->events, .nevents = i + 1,
                       .messages = msgs, .nmessages = nmsgs};
        wf_output full;
        assert_int_equal(wf_run(reg, a, &in, &full), 0);
        if (full.task_failed)
            fail_msg("%s, task at event %zu: %s", file, i + 1, full.message);
        ws_check(&s, reg, &in, &full);
        arena_free(a);
    }
    ws_free(&s);
    temporal__api__history__v1__history__free_unpacked(h, NULL);
    *tasks = s.tasks;
    return s.continued;
}

/* Histories whose every task completed: all but the first continue the kept run. */
static void expect_all_kept(const char *lib, const char *file, const char *type)
{
    tw_registry *reg = load_lib(lib);
    int tasks, kept = kept_and_replayed(reg, file, type, &tasks);
    if (tasks < 1 || kept != tasks - 1)
        fail_msg("%s: %d tasks, %d on the kept run", file, tasks, kept);
    reg_free(reg);
}

static void recorded_histories_kept_and_replayed_alike(void **st)
{
    expect_all_kept("examples/libhello.so", "hello.history", "Greet");
    expect_all_kept("examples/libtimers.so", "fanout.history", "FanOut");
    expect_all_kept("fixtures/lib_changing_v1.so", "changing.history", "Changing");
    const char *talk[][2] = {
        {"talk-gojoin.history", "GoJoin"},       {"talk-condition.history", "Condition"},
        {"talk-select.history", "SelectCancels"}, {"talk-cancel-wait.history", "CancelActivity"},
        {"talk-collect.history", "Collect"},     {"talk-interleave.history", "Interleave"},
        {"talk-cancel.history", "CancelMe"},     {"talk-receive.history", "Receive"},
        {"talk-count.history", "Count"},
    };
    for (size_t i = 0; i < sizeof(talk) / sizeof(talk[0]); i++)
        expect_all_kept("fixtures/lib_wf_talk.so", talk[i][0], talk[i][1]);
    expect_all_kept("fixtures/lib_wf_handlers.so", "handlers-interleave.history", "Account");
    expect_all_kept("fixtures/lib_wf_handlers.so", "handlers-hasty.history", "Hasty");
}

/* The feature suite's query/ and update/ histories: updates accepted, rejected, completed
 * over several tasks, a failed task (whose next task starts the run over). Not
 * update/validation_replay: its validator accepts once per process, so a second run of its
 * first task would see another validator. */
static void feature_histories_kept_and_replayed_alike(void **st)
{
    static const char *const features[] = {
        "query/successful_query", "query/unexpected_arguments", "update/activities",
        "update/async_accepted", "update/basic", "update/basic_async", "update/deduplication",
        "update/non_durable_reject", "update/self", "update/task_failure",
        "update/worker_restart"};
    int all = 0, kept = 0;
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        char rel[128], file[128];
        snprintf(rel, sizeof(rel), "features/%s.so", features[i]);
        snprintf(file, sizeof(file), "features/%s-0.history", features[i]);
        *strchr(file + strlen("features/"), '/') = '_';
        tw_registry *reg = load_lib(rel);
        int tasks;
        kept += kept_and_replayed(reg, file, "Workflow", &tasks);
        all += tasks;
        reg_free(reg);
    }
    print_message("feature histories: %d tasks, %d on a kept run\n", all, kept);
    if (kept < all / 2)
        fail_msg("%d tasks, only %d on a kept run", all, kept);
}

/* ---- what continues a kept run ---- */

static tw_registry *talk;

static int group_setup(void **st)
{
    talk = load_lib("fixtures/lib_wf_talk.so");
    return 0;
}

static int group_teardown(void **st)
{
    reg_free(talk);
    return 0;
}

/* A kept run of |h| (its whole history so far, one task), and the id its next task starts at. */
static wf_exec *kept_run(whist *h, const char *type)
{
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h->ev, .nevents = h->n};
    wf_exec *x = wf_exec_new(talk, &in, ARENA);
    assert_non_null(x);
    assert_int_equal(wf_exec_next_event(x), 1);
    arena *a = arena_new(ARENA);
    wf_output out;
    assert_int_equal(wf_exec_task(x, a, &in, &out), 0);
    assert_false(out.task_failed);
    arena_free(a);
    return x;
}

/* Runs the events of |h| from the kept run's next one as its next task: the answer's commands
 * (cmd_describe, " | "), or "failed: <message>". */
static const char *next_task(wf_exec *x, whist *h, const char *type)
{
    static char buf[1024];
    int64_t from = wf_exec_next_event(x) - 1;
    wf_input in = {.workflow_type = type, .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h->ev + from, .nevents = h->n - (size_t)from};
    arena *a = arena_new(ARENA);
    wf_output out;
    assert_int_equal(wf_exec_task(x, a, &in, &out), 0);
    size_t used = 0;
    buf[0] = '\0';
    if (out.task_failed)
        snprintf(buf, sizeof(buf), "failed: %s", out.message);
    for (size_t i = 0; !out.task_failed && i < out.ncommands; i++) {
        char one[256];
        cmd_describe(out.commands[i], one, sizeof(one));
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " | " : "", one);
    }
    arena_free(a);
    return buf;
}

/* A sticky task's history: the completion of the task the run ran last, what happened since,
 * the new task; only that is processed, and the answer is the next command. */
static void partial_history_continues_after_its_completion(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "3");
    wh_run(&h, talk, "Count", 0); /* Count n: waits for n "tick" signals */
    wh_answer(&h);
    wh_signal(&h, "tick", NULL);
    wh_task(&h, 2000);
    wh_run(&h, talk, "Count", 0);
    wh_answer(&h);

    whist k;          /* the same history, replayed on a kept run task by task */
    wh_init(&k);
    wh_start(&k, "3");
    wf_exec *x = kept_run(&k, "Count");
    assert_int_equal(wf_exec_next_event(x), 4);
    wh_answer(&k);
    wh_signal(&k, "tick", NULL);
    wh_task(&k, 2000);
    assert_true(wf_exec_continues(x, k.ev[3]));
    assert_string_equal(next_task(x, &k, "Count"), "");
    assert_int_equal(wf_exec_next_event(x), (int64_t)k.n + 1);
    assert_true(wf_exec_reusable(x));
    wf_exec_free(x);
    wh_free(&k);
    wh_free(&h);
}

/* Only the completion of the task the run ran last continues it: not another event at that
 * id (the task timed out or failed), not a completion of another task, not a later event. */
static void only_its_own_completion_continues_a_run(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "2");
    wf_exec *x = kept_run(&h, "Count");
    int64_t next = wf_exec_next_event(x);
    pb_event *timed_out = wh_add(&h, EV(WORKFLOW_TASK_TIMED_OUT));
    assert_false(wf_exec_continues(x, timed_out));
    assert_false(wf_exec_continues(x, NULL));
    h.n--; /* take it back: the task completed after all */
    h.now_ms += 10;
    wh_run(&h, talk, "Count", 0);
    wh_answer(&h);
    pb_event *done = h.ev[next - 1];
    assert_int_equal(done->event_type, EV(WORKFLOW_TASK_COMPLETED));
    assert_true(wf_exec_continues(x, done));
    done->workflow_task_completed_event_attributes->started_event_id--;
    assert_false(wf_exec_continues(x, done)); /* another task's completion */
    done->workflow_task_completed_event_attributes->started_event_id++;
    done->event_id++;
    assert_false(wf_exec_continues(x, done)); /* events are missing before it */
    done->event_id--;
    wf_exec_free(x);
    wh_free(&h);
}

/* Given the whole history again, a kept run refuses it (its events are processed already):
 * the task fails and the run is not used again. Then a run whose workflow completed, or whose
 * task failed, is not kept. */
static void what_a_kept_run_refuses(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "1");
    wf_exec *x = kept_run(&h, "Count");
    wh_answer(&h);
    wh_signal(&h, "tick", NULL);
    wh_task(&h, 2000);
    wf_input all = {.workflow_type = "Count", .workflow_id = "wf", .run_id = "run",
                    .task_queue = "tq", .events = h.ev, .nevents = h.n};
    arena *a = arena_new(ARENA);
    wf_output out;
    assert_int_equal(wf_exec_task(x, a, &all, &out), 0);
    assert_true(out.task_failed);
    assert_non_null(strstr(out.message, "missing history events"));
    assert_false(wf_exec_reusable(x));
    arena_free(a);
    wf_exec_free(x);

    x = kept_run(&h, "Count"); /* the same history from the start: the code completes */
    assert_false(wf_exec_reusable(x));
    wf_exec_free(x);

    wf_input unknown = {.workflow_type = "Nobody", .events = h.ev, .nevents = 3};
    x = wf_exec_new(talk, &unknown, ARENA);
    a = arena_new(ARENA);
    assert_int_equal(wf_exec_task(x, a, &unknown, &out), 0);
    assert_true(out.task_failed);
    assert_non_null(strstr(out.message, "not registered"));
    assert_false(wf_exec_reusable(x));
    arena_free(a);
    wf_exec_free(x);
    wh_free(&h);
}

/* What a kept run waits on, for the worker's idle rule: the activities it scheduled, its
 * earliest timer (as the code that started it saw the time). */
static void what_a_kept_run_waits_on(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "2"); /* Interleave: Echo twice, then waits for "done" */
    wf_exec *x = kept_run(&h, "Interleave");
    wf_waits waits;
    wf_exec_waits(x, &waits);
    assert_int_equal(waits.activities, 1);
    assert_true(waits.next_timer_ms == 0);
    wf_exec_free(x);
    wh_free(&h);

    wh_init(&h);
    h.now_ms = 50000;
    wh_start(&h, "1500"); /* Condition: a coroutine sleeps 1.5 s, the wait has a 60 s timeout */
    x = kept_run(&h, "Condition");
    wf_exec_waits(x, &waits);
    assert_int_equal(waits.activities, 0);
    assert_true(waits.next_timer_ms == 50000 + 1500);
    wf_exec_free(x);
    wf_exec_waits(NULL, &waits);
    assert_true(waits.activities == 0 && waits.next_timer_ms == 0);
    wh_free(&h);
}

/* ---- threads ---- */

typedef struct on_thread {
    wf_exec *x;
    whist *h;
    const char *type;
    char answer[256];
} on_thread;

static void *task_thread(void *arg)
{
    on_thread *t = arg;
    snprintf(t->answer, sizeof(t->answer), "%s", next_task(t->x, t->h, t->type));
    return NULL;
}

/* A kept run's coroutines are resumed by whichever thread runs its next task: each task on a
 * thread of its own (under ASan, the fiber annotations follow the switches). */
static void tasks_of_a_kept_run_on_different_threads(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "3");
    wf_exec *x = kept_run(&h, "Count");
    for (int i = 0; i < 3; i++) {
        wh_answer(&h); /* the kept run's answer was no command: the code waits */
        wh_signal(&h, "tick", NULL);
        wh_task(&h, 2000 + i * 1000);
        on_thread t = {.x = x, .h = &h, .type = "Count"};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, task_thread, &t), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        if (i < 2) {
            assert_string_equal(t.answer, "");
            assert_true(wf_exec_reusable(x));
        } else {
            assert_string_equal(t.answer, "CompleteWorkflowExecution");
            assert_false(wf_exec_reusable(x)); /* closed: nothing more to keep */
        }
    }
    wf_exec_free(x);
    wh_free(&h);
}

/* A run dropped while its coroutines wait (evicted from the cache): everything is freed
 * (LeakSanitizer checks under SAN=1). */
static void freeing_a_run_with_waiting_coroutines(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "5");
    wf_exec *x = kept_run(&h, "Count");
    assert_true(wf_exec_reusable(x));
    wf_exec_free(x);
    wf_exec_free(NULL);
    wh_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_histories_kept_and_replayed_alike),
        cmocka_unit_test(feature_histories_kept_and_replayed_alike),
        cmocka_unit_test(partial_history_continues_after_its_completion),
        cmocka_unit_test(only_its_own_completion_continues_a_run),
        cmocka_unit_test(what_a_kept_run_refuses),
        cmocka_unit_test(what_a_kept_run_waits_on),
        cmocka_unit_test(tasks_of_a_kept_run_on_different_threads),
        cmocka_unit_test(freeing_a_run_with_waiting_coroutines),
    };
    return cmocka_run_group_tests_name("wf_exec", tests, group_setup, group_teardown);
}
