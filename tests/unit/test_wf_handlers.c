/*
 * Queries and updates in the engine, on histories built task by task the way the server
 * writes them (tests/support/wf_hist.h), through tests/fixtures/lib_wf_handlers.c: each test
 * runs a task with the update requests and queries the server would send with it, checks the
 * commands and the protocol messages (accept / reject / complete) or the query answers,
 * records the answer as the server would (UpdateAccepted / UpdateCompleted events; nothing
 * for a rejection), and at the end the whole history replays without a new command or
 * message. Histories recorded from the real server replay cleanly too
 * (tests/data/handlers-*.history).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "tests/support/harness.h"
#include "tests/support/wf_hist.h"

static tw_registry *reg;

static int group_setup(void **st)
{
    char err[512], lib[4096];
    if (!realpath(harness_built("fixtures/lib_wf_handlers.so"), lib))
        return -1;
    if (reg_load(&reg, lib, NULL, api_table(), err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **st)
{
    reg_free(reg);
    return 0;
}

/* Runs the next task of |h| as |type| with update requests |msgs| (|n|) and checks its
 * commands and messages. */
static void expect_with(whist *h, const char *type, pb_message *const *msgs, size_t n,
                        const char *commands, const char *messages)
{
    wf_input more = {.messages = msgs, .nmessages = n};
    wh_run_with(h, reg, type, &more);
    if (strcmp(wh_commands(h), commands) != 0)
        fail_msg("%s: commands\n  got:  %s\n  want: %s", type, wh_commands(h), commands);
    if (strcmp(wh_messages(h), messages) != 0)
        fail_msg("%s: messages\n  got:  %s\n  want: %s", type, wh_messages(h), messages);
}

static void expect(whist *h, const char *type, const char *commands, const char *messages)
{
    expect_with(h, type, NULL, 0, commands, messages);
}

/* One update request in the next task. */
static void expect_update(whist *h, const char *type, const char *id, const char *name,
                          const char *input, const char *commands, const char *messages)
{
    pb_message *m = wh_update_request(h, id, name, input);
    expect_with(h, type, &m, 1, commands, messages);
}

/* The whole history replays without a new command or message. */
static void replays_cleanly(whist *h, const char *type)
{
    expect(h, type, "", "");
}

/* The answer to |query| (|input| JSON or NULL) asked on the history as it is: a legacy query
 * task (|legacy|) or a query that came with the workflow task just added. */
static const char *ask(whist *h, const char *type, const char *query, const char *input,
                       int legacy)
{
    pb_query *q = wh_query(h, query, input);
    wf_input more = {.queries = &q, .nqueries = 1, .query_only = legacy};
    wh_run_with(h, reg, type, &more);
    if (legacy && (h->out.ncommands || h->out.nmessages))
        fail_msg("a legacy query made commands or messages: %s", wh_commands(h));
    return wh_query_result(h, 0);
}

/* A started Account, its first task answered (handlers set, waiting). */
static void account(whist *h)
{
    wh_init(h);
    wh_start(h, NULL);
    expect(h, "Account", "", "");
    wh_answer(h);
}

static int count_events(const whist *h, int type)
{
    int n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += (int)h->ev[i]->event_type == type;
    return n;
}

/* ---- updates ---- */

/* An accepted update: its acceptance and response, each with its ProtocolMessage command, in
 * the task that brought it; on replay the handler runs again (the counter is back) without
 * its validator and without messages. */
static void update_accepted_and_completed(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "u1", "add", "5",
                  "ProtocolMessage(u1/accept) | ProtocolMessage(u1/complete)",
                  "accept u1 | complete u1: 5");
    wh_answer(&h);
    assert_int_equal(count_events(&h, EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED)), 1);
    assert_int_equal(count_events(&h, EV(WORKFLOW_EXECUTION_UPDATE_COMPLETED)), 1);
    wh_task(&h, 3000);
    expect_update(&h, "Account", "u2", "add", "2",
                  "ProtocolMessage(u2/accept) | ProtocolMessage(u2/complete)",
                  "accept u2 | complete u2: 7");
    wh_answer(&h);
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "7");
    replays_cleanly(&h, "Account");
    wh_free(&h);
}

/* A validator's rejection is a message alone: no command, so no event; the update changed
 * nothing. A failing handler completes the update with its failure; the workflow goes on. */
static void rejected_and_failed_updates(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "neg", "add", "-3", "", "reject neg: negative: -3");
    /* a task carrying only a rejection: the server drops it, no event is written */
    h.n -= 2;
    wh_task(&h, 2500);
    expect_update(&h, "Account", "f", "fail", NULL,
                  "ProtocolMessage(f/accept) | ProtocolMessage(f/complete)",
                  "accept f | fail f: no, thanks");
    wh_answer(&h);
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "0");
    replays_cleanly(&h, "Account");
    wh_free(&h);
}

/* An update named by no handler is rejected naming the known ones, as sdk-go words it. */
static void unknown_update_is_rejected(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "x", "nope", NULL, "",
                  "reject x: unknown update nope. KnownUpdates=[add slow_add fail finish]");
    wh_free(&h);
}

/* An update handler that blocks on an activity; another update completes meanwhile; the
 * activity's completion resumes the first. The histories of both orders replay cleanly,
 * and the workflow waits for the running handler before it completes. */
static void update_handlers_interleave_with_activities(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "slow", "slow_add", "10",
                  "ProtocolMessage(slow/accept) | ScheduleActivityTask(type Hold, id 1)",
                  "accept slow");
    wh_answer(&h);
    wh_task(&h, 3000);
    expect_update(&h, "Account", "fast", "add", "1",
                  "ProtocolMessage(fast/accept) | ProtocolMessage(fast/complete)",
                  "accept fast | complete fast: 1");
    wh_answer(&h);
    /* "finish" while slow still runs: the workflow waits for every handler */
    wh_task(&h, 4000);
    expect_update(&h, "Account", "fin", "finish", NULL,
                  "ProtocolMessage(fin/accept) | ProtocolMessage(fin/complete)",
                  "accept fin | complete fin: null");
    wh_answer(&h);
    wh_activity_completed(&h, "1", "10");
    wh_task(&h, 5000);
    expect(&h, "Account", "ProtocolMessage(slow/complete) | CompleteWorkflowExecution",
           "complete slow: 11");
    wh_answer(&h);
    replays_cleanly(&h, "Account");
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "11");
    wh_free(&h);
}

/* Two updates in one task run in the order the server sent them, each before the code it
 * interrupts. */
static void two_updates_in_one_task(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    pb_message *m[2] = {wh_update_request(&h, "a", "add", "1"),
                        wh_update_request(&h, "b", "finish", NULL)};
    expect_with(&h, "Account", m, 2,
                "ProtocolMessage(a/accept) | ProtocolMessage(a/complete) | "
                "ProtocolMessage(b/accept) | ProtocolMessage(b/complete) | "
                "CompleteWorkflowExecution",
                "accept a | complete a: 1 | accept b | complete b: null");
    wh_answer(&h);
    replays_cleanly(&h, "Account");
    wh_free(&h);
}

/* A signal in the task an update comes with is handled first (the server sequences the
 * update after the task's events), whatever the order they were sent in. */
static void signals_come_before_the_updates_of_their_task(void **st)
{
    whist h;
    account(&h);
    wh_signal(&h, "bump", "100");
    wh_task(&h, 2000);
    expect_update(&h, "Account", "u", "add", "1",
                  "ProtocolMessage(u/accept) | ProtocolMessage(u/complete)",
                  "accept u | complete u: 101");
    wh_answer(&h);
    wh_signal(&h, "bump", "1000");
    wh_task(&h, 3000);
    expect(&h, "Account", "", "");
    wh_answer(&h);
    replays_cleanly(&h, "Account");
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "1101");
    wh_free(&h);
}

/* A second request with an update id already accepted changes nothing. */
static void duplicate_update_id_runs_once(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    pb_message *m[2] = {wh_update_request(&h, "same", "add", "4"),
                        wh_update_request(&h, "same", "add", "4")};
    expect_with(&h, "Account", m, 2,
                "ProtocolMessage(same/accept) | ProtocolMessage(same/complete)",
                "accept same | complete same: 4");
    wh_free(&h);
}

/* The update that comes with the first task waits for its handler, which the workflow sets
 * and then returns: the update runs before the workflow completes (as sdk-go). */
static void update_in_the_task_the_workflow_completes(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, NULL);
    expect_update(&h, "Hasty", "h1", "u", NULL,
                  "ProtocolMessage(h1/accept) | ProtocolMessage(h1/complete) | "
                  "CompleteWorkflowExecution",
                  "accept h1 | complete h1: \"ran\"");
    wh_answer(&h);
    replays_cleanly(&h, "Hasty");
    wh_free(&h);
}

/* An update that comes before its handler is set, while the code is blocked elsewhere, is
 * rejected (every coroutine blocked, nobody handles it); a later one is accepted. */
static void update_before_its_handler_is_set(void **st)
{
    whist h;
    wh_init(&h);
    wh_start(&h, "1000");
    expect(&h, "Late", "StartTimer(id 1)", "");
    wh_answer(&h);
    wh_task(&h, 1500);
    expect_update(&h, "Late", "early", "u", NULL, "", "reject early: unknown update u. KnownUpdates=[]");
    h.n -= 2; /* dropped by the server */
    wh_timer_fired(&h, "1");
    wh_task(&h, 2500);
    expect_update(&h, "Late", "ok", "u", NULL,
                  "ProtocolMessage(ok/accept) | ProtocolMessage(ok/complete) | "
                  "CompleteWorkflowExecution",
                  "accept ok | complete ok: \"ran\"");
    wh_answer(&h);
    replays_cleanly(&h, "Late");
    wh_free(&h);
}

/* An UpdateAdmitted event (an update made durable before any worker saw it) is a request
 * like a message. */
static void admitted_update_runs(void **st)
{
    whist h;
    account(&h);
    wh_update_admitted(&h, "adm", "add", "3");
    wh_task(&h, 2000);
    expect(&h, "Account", "ProtocolMessage(adm/accept) | ProtocolMessage(adm/complete)",
           "accept adm | complete adm: 3");
    wh_answer(&h);
    replays_cleanly(&h, "Account");
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "3");
    wh_free(&h);
}

/* Validators run only for new requests: replaying an accepted update neither calls the
 * validator nor lets a validator's tw_random() shift the handler's draws. */
static void validators_do_not_run_on_replay(void **st)
{
    whist h;
    wh_init(&h);
    h.shadow.off = 1; /* the fixture counts validator calls in a global: run each task once */
    wh_start(&h, NULL);
    expect(&h, "Validates", "", "");
    wh_answer(&h);
    wh_task(&h, 2000);
    pb_message *m = wh_update_request(&h, "v1", "v", NULL);
    wf_input more = {.messages = &m, .nmessages = 1};
    wh_run_with(&h, reg, "Validates", &more);
    char first[512];
    snprintf(first, sizeof(first), "%s", wh_messages(&h));
    assert_non_null(strstr(first, "\"validations\":1}"));
    wh_answer(&h);
    wh_task(&h, 3000);
    m = wh_update_request(&h, "v2", "v", NULL);
    wh_run_with(&h, reg, "Validates", &more);
    assert_non_null(strstr(wh_messages(&h), "complete v2: {\"random\":"));
    assert_non_null(strstr(wh_messages(&h), "\"validations\":2}")); /* not 3: v1 was not validated again */
    wh_answer(&h);
    replays_cleanly(&h, "Validates");
    wh_free(&h);
}

/* The code no longer handles an update the history accepted: non-determinism, naming it. */
static void replay_without_the_handler_is_nondeterministic(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "u1", "add", "5",
                  "ProtocolMessage(u1/accept) | ProtocolMessage(u1/complete)",
                  "accept u1 | complete u1: 5");
    wh_answer(&h);
    wh_task(&h, 3000);
    wh_run(&h, reg, "NoHandlers", 0);
    assert_true(h.out.task_failed);
    assert_non_null(strstr(h.out.message, "ProtocolMessage(u1/accept)"));
    assert_non_null(strstr(h.out.message, "non-deterministic"));
    wh_free(&h);
}

/* ---- queries ---- */

/* A legacy query replays the history and answers from the state; an in-task query answers
 * after the task's own events and updates. */
static void queries_read_the_current_state(void **st)
{
    whist h;
    account(&h);
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "0");
    wh_task(&h, 2000);
    pb_message *m = wh_update_request(&h, "u1", "add", "9");
    pb_query *q = wh_query(&h, "count", NULL);
    wf_input more = {.messages = &m, .nmessages = 1, .queries = &q, .nqueries = 1};
    wh_run_with(&h, reg, "Account", &more);
    assert_string_equal(wh_commands(&h), "ProtocolMessage(u1/accept) | ProtocolMessage(u1/complete)");
    assert_string_equal(wh_query_result(&h, 0), "9");
    wh_answer(&h);
    assert_string_equal(ask(&h, "Account", "echo", "[1,\"two\"]", 1), "[[1,\"two\"]]");
    wh_free(&h);
}

/* Unknown types fail naming the known ones (sdk-go's words); a failing handler fails its
 * query alone; a handler cannot block or make commands. */
static void query_failures(void **st)
{
    whist h;
    account(&h);
    assert_string_equal(ask(&h, "Account", "nope", NULL, 1),
                        "failed: unknown queryType nope. KnownQueryTypes=[__stack_trace count "
                        "fail try_block echo] (QueryNotRegistered)");
    assert_string_equal(ask(&h, "Account", "fail", NULL, 1), "failed: not today (Nope)");
    assert_string_equal(ask(&h, "Account", "try_block", NULL, 0),
                        "{\"sleep\":-6,\"activity\":-6,\"update_handler\":-6}");
    assert_string_equal(wh_commands(&h), ""); /* the query made no command */
    wh_free(&h);
}

/* __stack_trace: where each coroutine waits, as a JSON string. */
static void stack_trace_query(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "slow", "slow_add", "1",
                  "ProtocolMessage(slow/accept) | ScheduleActivityTask(type Hold, id 1)",
                  "accept slow");
    wh_answer(&h);
    const char *trace = ask(&h, "Account", "__stack_trace", NULL, 1);
    assert_string_equal(trace, "\"coroutine 1 (main): tw_await_condition\\n"
                               "coroutine 2 (update \\\"slow_add\\\"): tw_execute_activity "
                               "activity 1 \\\"Hold\\\"\\n\"");
    wh_free(&h);
}

/* A query on a completed workflow replays its whole history. */
static void query_on_a_completed_workflow(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    pb_message *m[2] = {wh_update_request(&h, "a", "add", "6"),
                        wh_update_request(&h, "b", "finish", NULL)};
    expect_with(&h, "Account", m, 2,
                "ProtocolMessage(a/accept) | ProtocolMessage(a/complete) | "
                "ProtocolMessage(b/accept) | ProtocolMessage(b/complete) | "
                "CompleteWorkflowExecution",
                "accept a | complete a: 6 | accept b | complete b: null");
    wh_answer(&h);
    assert_string_equal(ask(&h, "Account", "count", NULL, 1), "6");
    assert_string_equal(ask(&h, "Account", "__stack_trace", NULL, 1), "\"\"");
    wh_free(&h);
}

/* A legacy query on a history the code no longer replays fails with the reason (not the
 * workflow). */
static void query_on_a_history_that_does_not_replay(void **st)
{
    whist h;
    account(&h);
    wh_task(&h, 2000);
    expect_update(&h, "Account", "u1", "add", "5",
                  "ProtocolMessage(u1/accept) | ProtocolMessage(u1/complete)",
                  "accept u1 | complete u1: 5");
    wh_answer(&h);
    assert_non_null(strstr(ask(&h, "NoHandlers", "count", NULL, 1), "task failed: "));
    wh_free(&h);
}

/* ---- histories recorded from the real server ---- */

static pb_history *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "tests/data/%s", name);
    char *raw = read_all(path, len);
    if (!*len) {
        free(raw);
        fail_msg("cannot read %s (tests/data/record-handlers.sh records it)", path);
    }
    pb_history *hist = temporal__api__history__v1__history__unpack(NULL, *len, (const uint8_t *)raw);
    free(raw);
    assert_non_null(hist);
    return hist;
}

/* Replays |name| (as |type|, of |with|) to its end: no new command, no message, no failure;
 * then |query| (may be NULL) answers |want|. */
static void replays_with(const tw_registry *with, const char *name, const char *type,
                         const char *query, const char *want)
{
    const tw_registry *saved = reg;
    reg = (tw_registry *)with;
    size_t len;
    pb_history *hist = load(name, &len);
    whist h;
    wh_init(&h);
    for (size_t i = 0; i < hist->n_events; i++) { /* the recorded events, as they are */
        pb_event *e = wh_add(&h, (int)hist->events[i]->event_type);
        *e = *hist->events[i];
    }
    replays_cleanly(&h, type);
    if (query)
        assert_string_equal(ask(&h, type, query, NULL, 1), want);
    wh_free(&h);
    temporal__api__history__v1__history__free_unpacked(hist, NULL);
    reg = (tw_registry *)saved;
}

static void replays(const char *name, const char *type, const char *query, const char *want)
{
    replays_with(reg, name, type, query, want);
}

static void recorded_histories_replay(void **st)
{
    /* updates and signals while update handlers' activities run, a rejected update, a failed
     * one, then finish (tests/data/record-handlers.sh) */
    replays("handlers-interleave.history", "Account", "count", "231");
    /* an update in the first task, the workflow completing in it */
    replays("handlers-hasty.history", "Hasty", NULL, NULL);
}

/* The histories the feature suite's query/ and update/ checks drove on the real server
 * (tests/features/record-histories.sh), replayed with their scenario's library: updates
 * running activities and timers, rejected and failing ones, one resumed by a new invocation
 * (worker_restart), queries between signals. */
static void feature_histories_replay(void **st)
{
    static const char *const features[] = {
        "query/successful_query", "query/unexpected_arguments", "update/activities",
        "update/async_accepted", "update/basic", "update/basic_async", "update/deduplication",
        "update/non_durable_reject", "update/self", "update/task_failure",
        "update/validation_replay", "update/worker_restart"};
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        char lib[4096], rel[128], file[128], err[512];
        snprintf(rel, sizeof(rel), "features/%s.so", features[i]);
        if (!realpath(harness_built(rel), lib))
            fail_msg("no %s", harness_built(rel));
        tw_registry *r;
        if (reg_load(&r, lib, NULL, api_table(), err, sizeof(err)) != 0)
            fail_msg("%s", err);
        snprintf(file, sizeof(file), "features/%s-0.history", features[i]);
        *strchr(file + strlen("features/"), '/') = '_';
        replays_with(r, file, "Workflow", NULL, NULL);
        reg_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(update_accepted_and_completed),
        cmocka_unit_test(rejected_and_failed_updates),
        cmocka_unit_test(unknown_update_is_rejected),
        cmocka_unit_test(update_handlers_interleave_with_activities),
        cmocka_unit_test(two_updates_in_one_task),
        cmocka_unit_test(signals_come_before_the_updates_of_their_task),
        cmocka_unit_test(duplicate_update_id_runs_once),
        cmocka_unit_test(update_in_the_task_the_workflow_completes),
        cmocka_unit_test(update_before_its_handler_is_set),
        cmocka_unit_test(admitted_update_runs),
        cmocka_unit_test(validators_do_not_run_on_replay),
        cmocka_unit_test(replay_without_the_handler_is_nondeterministic),
        cmocka_unit_test(queries_read_the_current_state),
        cmocka_unit_test(query_failures),
        cmocka_unit_test(stack_trace_query),
        cmocka_unit_test(query_on_a_completed_workflow),
        cmocka_unit_test(query_on_a_history_that_does_not_replay),
        cmocka_unit_test(recorded_histories_replay),
        cmocka_unit_test(feature_histories_replay),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
