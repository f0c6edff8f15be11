/*
 * Continue-as-new and the workflow's info in the engine (temporal/engine/can.c) on histories
 * built task by task the way the server writes them (tests/support/wf_hist.h), through
 * tests/fixtures/lib_wf_can.c: the ContinueAsNewWorkflowExecution command and what it carries
 * (arguments, defaults, options, memo and search attributes of the start), replay against
 * WorkflowExecutionContinuedAsNew, the sdk-go semantics of a prepared continuation (only the
 * workflow function's return ends the run), and every tw_wf_info field from the worker, the
 * started event and each task's WorkflowTaskStarted. Every run is also checked against a run
 * kept between tasks (wf_shadow.h). Also the last runs the continue_as_new/ feature scenarios
 * drove on the real server (tests/data/features/, tests/features/record-histories.sh) replay
 * with their libraries.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/engine/wf_api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_answer.h"
#include "tests/support/wf_hist.h"

#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES

typedef Temporal__Api__History__V1__WorkflowExecutionStartedEventAttributes started_attrs;
typedef Temporal__Api__Command__V1__ContinueAsNewWorkflowExecutionCommandAttributes can_attrs;

static tw_registry *reg;

static int group_setup(void **st) { return wa_load("fixtures/lib_wf_can.so", &reg); }

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

static void *mem(whist *h, size_t n)
{
    void *p = arena_alloc(h->a, n);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static char *str(whist *h, const char *s)
{
    char *d = arena_strdup(h->a, s);
    assert_non_null(d);
    return d;
}

static started_attrs *started(whist *h)
{
    return h->ev[0]->workflow_execution_started_event_attributes;
}

/* The start's input: |n| JSON arguments. */
static void set_input(whist *h, const char *const *json, size_t n)
{
    tw_payload p[4];
    for (size_t i = 0; i < n; i++)
        p[i] = tw_json(json[i]);
    started(h)->input = payloads_to_pb(h->a, p, n);
    assert_non_null(started(h)->input);
}

typedef Temporal__Api__Enums__V1__SuggestContinueAsNewReason can_reason;

/* The last WorkflowTaskStarted says the history has |bytes|, whether to continue as new and
 * why (|nreasons| of |reasons|, raw values), and whether the target version changed. */
static void task_says_all(whist *h, int64_t bytes, int suggest, const int *reasons,
                          size_t nreasons, int target_changed)
{
    pb_event *e = h->ev[h->n - 1];
    assert_int_equal(e->event_type, EV(WORKFLOW_TASK_STARTED));
    Temporal__Api__History__V1__WorkflowTaskStartedEventAttributes *at = mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_task_started_event_attributes__init(at);
    at->scheduled_event_id = e->event_id - 1;
    at->history_size_bytes = bytes;
    at->suggest_continue_as_new = suggest;
    at->target_worker_deployment_version_changed = target_changed;
    if (nreasons) {
        at->suggest_continue_as_new_reasons = mem(h, nreasons * sizeof(can_reason));
        for (size_t i = 0; i < nreasons; i++)
            at->suggest_continue_as_new_reasons[i] = (can_reason)reasons[i];
        at->n_suggest_continue_as_new_reasons = nreasons;
    }
    e->attributes_case = HCASE(WORKFLOW_TASK_STARTED);
    e->workflow_task_started_event_attributes = at;
}

/* The last WorkflowTaskStarted says the history has |bytes| and whether to continue as new. */
static void task_says(whist *h, int64_t bytes, int suggest)
{
    task_says_all(h, bytes, suggest, NULL, 0, 0);
}

/* The last answer, a continue-as-new, recorded as the server does: WorkflowTaskCompleted, then
 * WorkflowExecutionContinuedAsNew. */
static void record_continued(whist *h)
{
    assert_false(h->out.task_failed);
    int64_t started_id = h->ev[h->n - 1]->event_id;
    pb_event *done = wh_add(h, EV(WORKFLOW_TASK_COMPLETED));
    Temporal__Api__History__V1__WorkflowTaskCompletedEventAttributes *d = mem(h, sizeof(*d));
    temporal__api__history__v1__workflow_task_completed_event_attributes__init(d);
    d->scheduled_event_id = started_id - 1;
    d->started_event_id = started_id;
    done->attributes_case = HCASE(WORKFLOW_TASK_COMPLETED);
    done->workflow_task_completed_event_attributes = d;
    pb_event *e = wh_add(h, EV(WORKFLOW_EXECUTION_CONTINUED_AS_NEW));
    Temporal__Api__History__V1__WorkflowExecutionContinuedAsNewEventAttributes *at =
        mem(h, sizeof(*at));
    temporal__api__history__v1__workflow_execution_continued_as_new_event_attributes__init(at);
    at->new_execution_run_id = str(h, "run-2");
    at->workflow_task_completed_event_id = done->event_id;
    e->attributes_case = HCASE(WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    e->workflow_execution_continued_as_new_event_attributes = at;
}

/* The continue-as-new command of the last answer (it must be its only command). */
static const can_attrs *continued(const whist *h)
{
    if (strcmp(wh_commands(h), "ContinueAsNewWorkflowExecution") != 0)
        fail_msg("want ContinueAsNewWorkflowExecution, got: %s", wh_commands(h));
    return h->out.commands[0]->continue_as_new_workflow_execution_command_attributes;
}

/* |p|'s payloads' JSON, joined with ",". Static buffer. */
static const char *json_of(const pb_payloads *p)
{
    static char buf[1024];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; p && i < p->n_payloads && used < sizeof(buf); i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%.*s", i ? "," : "",
                                 (int)p->payloads[i]->data.len,
                                 (const char *)p->payloads[i]->data.data);
    return buf;
}

static const char *result(const whist *h)
{
    if (strcmp(wh_commands(h), "CompleteWorkflowExecution") != 0)
        fail_msg("want CompleteWorkflowExecution, got: %s", wh_commands(h));
    return json_of(h->out.commands[0]->complete_workflow_execution_command_attributes->result);
}

/* ---- continue-as-new ---- */

/* Counter(0, 2) continues as new with (1, 2): the same type, task queue and no timeouts (the
 * server keeps the run's), the argument copied although the code's buffer is gone; the
 * closed history replays (its ContinuedAsNew matches the command); a history that has it
 * where the code completes is non-determinism. */
static void continues_with_new_arguments(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    const char *args[] = {"0", "2"};
    set_input(&h, args, 2);
    wh_run(&h, reg, "Counter", 0);
    const can_attrs *at = continued(&h);
    assert_string_equal(at->workflow_type->name, "Counter");
    assert_string_equal(at->task_queue->name, "tq");
    assert_int_equal(at->task_queue->kind, TQ_KIND_NORMAL);
    assert_string_equal(json_of(at->input), "1,2");
    assert_null(at->workflow_run_timeout);
    assert_null(at->workflow_task_timeout);
    assert_int_equal(at->initial_versioning_behavior, 0);
    record_continued(&h);
    wa_expect(&h, reg, "Counter", ""); /* the closed history replays, nothing new */
    wa_expect(&h, reg, "Changed", "task failed: history event 5 has "
              "ContinueAsNewWorkflowExecution but the workflow code made "
              "CompleteWorkflowExecution: the code changed since this run started "
              "(non-deterministic)");
    wh_free(&h);
}

/* The last run of the chain sees which run it continues and the chain's first run. */
static void the_new_run_knows_its_chain(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    const char *args[] = {"2", "2"};
    set_input(&h, args, 2);
    started(&h)->continued_execution_run_id = str(&h, "run-1");
    started(&h)->first_execution_run_id = str(&h, "run-0");
    wh_run(&h, reg, "Counter", 0);
    assert_string_equal(result(&h), "{\"n\":2,\"continued\":\"run-1\",\"first\":\"run-0\"}");
    wh_free(&h);
}

/* Options: another type and task queue, timeouts, auto-upgrade; the memo and search
 * attributes go on as they are now: the start's and the code's upserts. */
static void continues_with_options(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    Temporal__Api__Common__V1__Memo *memo = mem(&h, sizeof(*memo));
    temporal__api__common__v1__memo__init(memo);
    Temporal__Api__Common__V1__Memo__FieldsEntry *me = mem(&h, sizeof(*me));
    temporal__api__common__v1__memo__fields_entry__init(me);
    tw_payload v = tw_json("\"from the start\"");
    me->key = str(&h, "started");
    me->value = payload_to_pb(h.a, &v);
    memo->n_fields = 1;
    memo->fields = mem(&h, sizeof(*memo->fields));
    memo->fields[0] = me;
    Temporal__Api__Common__V1__SearchAttributes *sa = mem(&h, sizeof(*sa));
    temporal__api__common__v1__search_attributes__init(sa);
    Temporal__Api__Common__V1__SearchAttributes__IndexedFieldsEntry *se = mem(&h, sizeof(*se));
    temporal__api__common__v1__search_attributes__indexed_fields_entry__init(se);
    tw_payload kw = tw_json("\"blue\"");
    se->key = str(&h, "CustomKeywordField");
    se->value = payload_to_pb(h.a, &kw);
    sa->n_indexed_fields = 1;
    sa->indexed_fields = mem(&h, sizeof(*sa->indexed_fields));
    sa->indexed_fields[0] = se;
    started(&h)->memo = memo;
    started(&h)->search_attributes = sa;
    wh_run(&h, reg, "Moved", 0);
    assert_string_equal(wh_commands(&h),
                        "ModifyWorkflowProperties | ContinueAsNewWorkflowExecution");
    const can_attrs *at = h.out.commands[1]->continue_as_new_workflow_execution_command_attributes;
    assert_string_equal(at->workflow_type->name, "Info");
    assert_string_equal(at->task_queue->name, "other-queue");
    assert_int_equal(duration_to_ms(at->workflow_run_timeout), 60000);
    assert_int_equal(duration_to_ms(at->workflow_task_timeout), 5000);
    assert_int_equal(at->initial_versioning_behavior,
                     TEMPORAL__API__ENUMS__V1__CONTINUE_AS_NEW_VERSIONING_BEHAVIOR__CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE);
    assert_string_equal(json_of(at->input), "\"moved\"");
    char memo_text[256] = "";
    assert_non_null(at->memo);
    for (size_t i = 0; i < at->memo->n_fields; i++) {
        Temporal__Api__Common__V1__Payloads one = {.n_payloads = 1,
                                                   .payloads = &at->memo->fields[i]->value};
        size_t used = strlen(memo_text);
        snprintf(memo_text + used, sizeof(memo_text) - used, "%s%s=%s", i ? " " : "",
                 at->memo->fields[i]->key, json_of(&one));
    }
    assert_string_equal(memo_text, "added=1 started=\"from the start\"");
    assert_non_null(at->search_attributes);
    assert_int_equal(at->search_attributes->n_indexed_fields, 1);
    assert_string_equal(at->search_attributes->indexed_fields[0]->key, "CustomKeywordField");
    wh_free(&h);
}

/* As sdk-go's ContinueAsNewError, preparing is not continuing: the function's return decides.
 * Returning 0 completes; returning the code with nothing prepared fails the workflow; the
 * last preparation wins. */
static void only_the_return_ends_the_run(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wh_run(&h, reg, "Changed", 0);
    assert_string_equal(result(&h), "\"changed\"");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "Unprepared", "FailWorkflowExecution");
    const pb_failure *f = h.out.commands[0]->fail_workflow_execution_command_attributes->failure;
    assert_string_equal(f->message,
                        "the workflow returned TW_ECONTINUE_AS_NEW without tw_continue_as_new()");
    assert_string_equal(f->application_failure_info->type, "WorkflowError");
    wh_free(&h);

    wh_init(&h);
    wh_start(&h, NULL);
    wh_run(&h, reg, "Twice", 0);
    assert_string_equal(json_of(continued(&h)->input), "\"b\"");
    wh_free(&h);
}

/* A signal handler prepares it with the signal's argument; the workflow function returns the
 * code: the continuation comes in the task of the signal. */
static void prepared_in_a_signal_handler(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wa_expect(&h, reg, "FromHandler", "");
    wh_answer(&h);
    wh_signal(&h, "go", "\"from the signal\"");
    wh_task(&h, 0);
    wh_run(&h, reg, "FromHandler", 0);
    assert_string_equal(json_of(continued(&h)->input), "\"from the signal\"");
    record_continued(&h);
    wa_expect(&h, reg, "FromHandler", "");
    wh_free(&h);
}

/* Bad options are refused before anything is prepared. */
static void bad_options(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wh_run(&h, reg, "BadOptions", 0);
    assert_string_equal(result(&h), "{\"negative\":-1,\"versioning\":-1}");
    wh_free(&h);
    /* Outside workflow code. */
    tw_payload p = tw_json("1");
    assert_int_equal(wf_continue_as_new(NULL, NULL, &p, 1), TW_ESTATE);
}

/* The server's suggestion is read at each task from its WorkflowTaskStarted: the replay of the
 * earlier tasks sees their own (false), so the code loops as it did, and the task that says
 * true continues as new. */
static void suggested_by_the_server(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    task_says(&h, 1000, 0);
    wa_expect(&h, reg, "Suggested", "StartTimer(id 1)");
    for (int round = 1; round <= 3; round++) {
        wh_answer(&h);
        char id[8];
        snprintf(id, sizeof(id), "%d", round);
        wh_timer_fired(&h, id);
        wh_task(&h, 0);
        task_says(&h, 1000 + round * 500, round == 3);
        if (round < 3) {
            char want[32];
            snprintf(want, sizeof(want), "StartTimer(id %d)", round + 1);
            wa_expect(&h, reg, "Suggested", want);
        }
    }
    wh_run(&h, reg, "Suggested", 0);
    assert_string_equal(json_of(continued(&h)->input), "3");
    wh_free(&h);
}

/* upgrade_on_continue_as_new's pattern (FollowsTarget): a pinned workflow polls its info with
 * a timer until the server says its deployment has another target version, then continues as
 * new with AUTO_UPGRADE. Earlier tasks replay with their own values (a suggestion for another
 * reason, the target reason without a suggestion: neither counts), so the code sleeps as it
 * did; the task that says it continues. Servers of today say it with the flag, those of early
 * 2026 with the suggestion's reason 4: both work. */
static void follows_the_target_version(void **st)
{
    static const int events[] = {2}, older[] = {4};
    for (int variant = 0; variant < 2; variant++) {
        whist h;
        wh_init(&h);
        wh_start(&h, NULL);
        task_says(&h, 1000, 0);
        wa_expect(&h, reg, "FollowsTarget", "StartTimer(id 1)");
        for (int round = 1; round <= 3; round++) {
            wh_answer(&h);
            char id[8];
            snprintf(id, sizeof(id), "%d", round);
            wh_timer_fired(&h, id);
            wh_task(&h, 0);
            if (round == 1)
                task_says_all(&h, 2000, 1, events, 1, 0);      /* too many events */
            else if (round == 2)
                task_says_all(&h, 2500, 0, older, 1, 0);       /* a reason, no suggestion */
            else if (variant == 0)
                task_says_all(&h, 3000, 0, NULL, 0, 1);        /* the flag */
            else
                task_says_all(&h, 3000, 1, older, 1, 0);       /* the older reason */
            if (round < 3) {
                char want[32];
                snprintf(want, sizeof(want), "StartTimer(id %d)", round + 1);
                wa_expect(&h, reg, "FollowsTarget", want);
            }
        }
        wh_run(&h, reg, "FollowsTarget", 0);
        const can_attrs *at = continued(&h);
        assert_string_equal(json_of(at->input), "3");
        assert_int_equal(at->initial_versioning_behavior,
                         TEMPORAL__API__ENUMS__V1__CONTINUE_AS_NEW_VERSIONING_BEHAVIOR__CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE);
        wh_free(&h);
    }
}

/* ---- info ---- */

/* Every field: the worker's (namespace, deployment), the started event's (parent, root, chain,
 * cron, start time, timeouts, attempt), the task's (history length and size, suggestion and its
 * reasons as TW_CAN_REASON_* bits, target version changed). */
static void info_fields(void **st)
{
    whist h;
    wh_init(&h);
    h.now_ms = 1700000000123;
    wh_start(&h, "\"x\"");
    started_attrs *at = started(&h);
    at->parent_workflow_namespace = str(&h, "parent-ns");
    pb_execution *parent = mem(&h, sizeof(*parent)), *root = mem(&h, sizeof(*root));
    temporal__api__common__v1__workflow_execution__init(parent);
    temporal__api__common__v1__workflow_execution__init(root);
    parent->workflow_id = str(&h, "pwf");
    parent->run_id = str(&h, "prun");
    root->workflow_id = str(&h, "rwf");
    root->run_id = str(&h, "rrun");
    at->parent_workflow_execution = parent;
    at->root_workflow_execution = root;
    at->first_execution_run_id = str(&h, "first");
    at->continued_execution_run_id = str(&h, "prev");
    at->cron_schedule = str(&h, "*/5 * * * *");
    at->workflow_execution_timeout = duration_ms(h.a, 3600000);
    at->workflow_run_timeout = duration_ms(h.a, 600000);
    at->workflow_task_timeout = duration_ms(h.a, 10000);
    at->attempt = 3;
    static const int reasons[] = {1, 2, 3, 4, 9}; /* 9: unknown, left out */
    task_says_all(&h, 4321, 1, reasons, 5, 1);
    wf_input in = {.workflow_type = "Info", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "tq", .events = h.ev, .nevents = h.n,
                   .namespace_name = "ns", .deployment_name = "dep", .build_id = "b7"};
    arena *a = arena_new(64u << 20);
    assert_non_null(a);
    wf_output out;
    assert_int_equal(wf_run(reg, a, &in, &out), 0);
    assert_false(out.task_failed);
    assert_int_equal(out.ncommands, 1);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"size\":%zu,\"namespace\":\"ns\",\"id\":\"wf\",\"run\":\"run\",\"type\":\"Info\","
             "\"queue\":\"tq\",\"attempt\":3,\"parent\":\"parent-ns/pwf/prun\","
             "\"root\":\"rwf/rrun\",\"first\":\"first\",\"continued\":\"prev\","
             "\"cron\":\"*/5 * * * *\",\"start\":1700000000123,"
             "\"timeouts\":[3600000,600000,10000],\"history\":[3,4321,1,15,1],"
             "\"deployment\":\"dep/b7\",\"arg\":\"x\"}",
             sizeof(tw_wf_info));
    assert_string_equal(
        json_of(out.commands[0]->complete_workflow_execution_command_attributes->result), want);
    arena_free(a);
    wh_free(&h);
}

/* A workflow of its own, with nothing from the worker: its own root and first run, the rest
 * absent; the history length is its task's started event even with no attributes. */
static void info_defaults(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    wh_run(&h, reg, "Info", 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"size\":%zu,\"namespace\":null,\"id\":\"wf\",\"run\":\"run\",\"type\":\"Info\","
             "\"queue\":\"tq\",\"attempt\":1,\"parent\":\"//\",\"root\":\"wf/run\","
             "\"first\":\"run\",\"continued\":null,\"cron\":null,\"start\":1000,"
             "\"timeouts\":[0,0,0],\"history\":[3,0,0,0,0],\"deployment\":\"/\",\"arg\":null}",
             sizeof(tw_wf_info));
    assert_string_equal(result(&h), want);
    wh_free(&h);
}

/* ---- histories recorded from the real server ---- */

/* The last run of each continue_as_new/ scenario (the one the first continued as: its started
 * event names the run it continues), replayed to its end with the scenario's library: no new
 * command, no failure. */
static void recorded_last_runs_replay(void **st)
{
    static const char *const features[] = {"continue_as_same", "signals_block_continue_as_new",
                                           "updates_do_not_block_continue_as_new"};
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        char rel[128], path[256];
        snprintf(rel, sizeof(rel), "features/continue_as_new/%s.so", features[i]);
        tw_registry *r;
        assert_int_equal(wa_load(rel, &r), 0);
        snprintf(path, sizeof(path), "tests/data/features/continue_as_new_%s-0.history",
                 features[i]);
        size_t len;
        char *raw = read_all(path, &len);
        if (!raw || !len)
            fail_msg("cannot read %s (tests/features/record-histories.sh records it)", path);
        pb_history *hist =
            temporal__api__history__v1__history__unpack(NULL, len, (const uint8_t *)raw);
        free(raw);
        assert_non_null(hist);
        whist h;
        wh_init(&h);
        for (size_t k = 0; k < hist->n_events; k++) {
            pb_event *e = wh_add(&h, (int)hist->events[k]->event_type);
            *e = *hist->events[k];
        }
        assert_non_null(started(&h)->continued_execution_run_id);
        assert_true(*started(&h)->continued_execution_run_id);
        wa_expect(&h, r, "Workflow", "");
        wh_free(&h);
        temporal__api__history__v1__history__free_unpacked(hist, NULL);
        reg_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(continues_with_new_arguments),
        cmocka_unit_test(the_new_run_knows_its_chain),
        cmocka_unit_test(continues_with_options),
        cmocka_unit_test(only_the_return_ends_the_run),
        cmocka_unit_test(prepared_in_a_signal_handler),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(suggested_by_the_server),
        cmocka_unit_test(follows_the_target_version),
        cmocka_unit_test(info_fields),
        cmocka_unit_test(info_defaults),
        cmocka_unit_test(recorded_last_runs_replay),
    };
    return cmocka_run_group_tests_name("wf_can", tests, group_setup, group_teardown);
}
