/*
 * The worker keeps its promises under stress: build/bootstrap under the emulator against the
 * real Temporal server (directly, or through a proxy that stalls or vanishes), with the
 * workflows of tests/fixtures/lib_contract.c, checked through the Go SDK driver and the
 * emulator's START/END/REPORT lines.
 *   - never past the deadline: stalls and a vanished server during the stop; workflow code
 *     that never yields (failed as a potential deadlock, invocation answered, process ended);
 *   - activities: heartbeats every 0.6 x the heartbeat timeout keep the activity alive; no more
 *     activities run than slots with more pollers than slots; failure details given from the
 *     stack arrive intact; activities running at the stop are failed back with their latest
 *     heartbeat details;
 *   - mistakes are errors: a wrong namespace, an API key the server rejects, a closed port, TLS
 *     against plaintext, too little time; results over the request limit fail visibly; a legacy
 *     query gets an answer.
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
#include "tests/support/stallproxy.h"
#include "tests/support/tserver.h"

#define LIB "fixtures/lib_contract.so"

static tserver srv;

static int group_setup(void **st) { return tserver_start(&srv, 0, NULL, NULL); }

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* A current deployment version for a fresh queue on the server. */
static void deploy(flow_fn *f) { flow_deploy(f, &srv, "ctq"); }

/* Starts the emulator with build/bootstrap and the contract library for |f|'s version,
 * talking to 127.0.0.1:|port| (0: |f|'s server), with |env| ("K=V", NULL-terminated) after the
 * defaults (a later value of a variable wins). */
static void run(flow_fn *f, int timeout_s, int port, const char *const *env)
{
    flow_run(f, &(flow_opts){.library = LIB, .timeout_s = timeout_s, .env = env, .port = port});
}

static void start(const flow_fn *f, const char *type, const char *id)
{
    flow_start(f, type, id, "null");
}

static cJSON *await_result(const char *id)
{
    return flow_await(&srv, id, "30s");
}

static char *history_of(const char *id)
{
    char *out = NULL;
    const char *h[] = {"history", "--id", id, NULL};
    assert_int_equal(driver_run(&srv, &out, h), 0);
    return out;
}

static const char *status_of(const cJSON *o)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, "status"));
}

/* No invocation in the emulator's output ran into the function timeout. */
static void assert_no_timeout(const flow_fn *f)
{
    char *out = emu_output(&f->emu);
    if (strstr(out, "timed out after") || strstr(out, "Status: timeout"))
        fail_msg("an invocation reached the function timeout:\n%s", out);
    free(out);
}

/* ---- never past the deadline ---- */

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Connections to Temporal stall for 2-6 s at random while activities run into the stop: every
 * invocation still answers before the function timeout. */
static void random_stalls_never_reach_the_timeout(void **st)
{
    stallproxy *px;
    stallproxy_options o = {.target_port = srv.port, .seed = 7, .mode = STALLPROXY_PASS};
    assert_int_equal(stallproxy_start(&px, &o), 0);
    flow_fn f;
    deploy(&f);
    /* Default buffer and stop timeout (7 s and 5 s) in a 10 s function, as users run it. */
    const char *env[] = {"TEMPORAL_SHUTDOWN_BUFFER=7s", "TEMPORAL_WORKER_STOP_TIMEOUT=5s", NULL};
    run(&f, 10, stallproxy_port(px), env);
    char id[64];
    flow_new_id(id, sizeof(id), "stalls");
    start(&f, "SlowWork", id);
    stallproxy_set_mode(px, STALLPROXY_RANDOM_STALL);
    for (int i = 0; i < 4; i++) {
        char *err;
        free(flow_invoke_raw(&f, &err)); /* an error is allowed (the network is bad); a timeout not */
        free(err);
    }
    stallproxy_set_mode(px, STALLPROXY_PASS);
    assert_int_equal(emu_wait_output(&f.emu, "REPORT RequestId", 4, 5000), 0);
    assert_no_timeout(&f);
    const char *term[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, term);
    assert_int_equal(emu_stop(&f.emu), 0);
    stallproxy_stop(px);
}

/* The server stalls for good, or vanishes, right when the stop begins (activities running,
 * ShutdownWorker and the fail-backs outstanding): the invocation still answers in time. */
static void stop_against_a_stalled_or_vanished_server(void **st)
{
    stallproxy_mode modes[] = {STALLPROXY_STALL, STALLPROXY_VANISH};
    for (int m = 0; m < 2; m++) {
        stallproxy *px;
        stallproxy_options o = {.target_port = srv.port, .mode = STALLPROXY_PASS};
        assert_int_equal(stallproxy_start(&px, &o), 0);
        flow_fn f;
        deploy(&f);
        /* 6 s timeout, 3 s buffer, 2 s stop timeout: 3 s of work, then the stop. */
        const char *env[] = {"TEMPORAL_SHUTDOWN_BUFFER=3s", "TEMPORAL_WORKER_STOP_TIMEOUT=2s",
                             "TEMPORAL_IDLE_EXIT=0s", NULL};
        run(&f, 6, stallproxy_port(px), env);
        char id[64];
        flow_new_id(id, sizeof(id), "vanish");
        start(&f, "SlowWork", id);
        flow_bg b;
        flow_bg_start(&b, &f);
        sleep_ms(2500); /* both activities are running */
        stallproxy_set_mode(px, modes[m]);
        flow_bg_join(&b);
        assert_non_null(b.body);
        assert_no_timeout(&f);
        free(b.body);
        free(b.error);
        stallproxy_set_mode(px, STALLPROXY_PASS);
        const char *term[] = {"terminate", "--id", id, NULL};
        flow_call_ok(&srv, term);
        assert_int_equal(emu_stop(&f.emu), 0);
        stallproxy_stop(px);
    }
}

/* Workflow code that never yields: its task is failed naming the workflow, the invocation is
 * answered before the deadline, and the process ends so Lambda starts a fresh one. */
static void code_that_never_yields_is_a_deadlock(void **st)
{
    flow_fn f;
    deploy(&f);
    /* Idle exit off: nothing else wakes the main thread, the task's start must. */
    const char *env[] = {"TEMPORAL_IDLE_EXIT=0s", NULL};
    run(&f, 6, 0, env);
    char id[64];
    flow_new_id(id, sizeof(id), "spin");
    start(&f, "Spin", id);
    cJSON *summary = flow_invoke(&f);
    /* each attempt of the task is failed the same way (the retry lands on another poller) */
    assert_true(flow_int(summary, "workflow_tasks_deadlocked") >= 1);
    cJSON_Delete(summary);
    assert_int_equal(emu_wait_output(&f.emu, "ending the runtime after a stuck task", 1, 5000), 0);
    assert_no_timeout(&f);
    char *hist = history_of(id);
    assert_non_null(strstr(hist, "potential deadlock: the code of workflow Spin (id "));
    assert_non_null(strstr(hist, id));
    free(hist);
    const char *term[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, term);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The shortest shutdown buffer (stop timeout 0, buffer 1 s): the server refuses long polls of
 * less than 2 s, so in the last seconds before the stop the pollers stop polling rather than
 * have every poll refused (and retried, and logged) until the stop. */
static void no_poll_shorter_than_the_server_takes(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_SHUTDOWN_BUFFER=1s", "TEMPORAL_WORKER_STOP_TIMEOUT=0s",
                         "TEMPORAL_IDLE_EXIT=0s", NULL};
    run(&f, 6, 0, env);
    cJSON *summary = flow_invoke(&f);
    assert_non_null(summary);
    assert_true(flow_int(summary, "poll_errors") == 0);
    cJSON_Delete(summary);
    char *out = emu_output(&f.emu);
    assert_non_null(out);
    assert_int_equal(count_substr(out, "Context timeout is too short"), 0);
    free(out);
    assert_no_timeout(&f);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- activities ---- */

/* Heartbeats every 1.2 s against a 2 s heartbeat timeout reach the server in time: the
 * activity is not timed out (the throttle defers, it does not drop). */
static void heartbeats_at_six_tenths_of_the_timeout(void **st)
{
    flow_fn f;
    deploy(&f);
    run(&f, 20, 0, NULL);
    char id[64];
    flow_new_id(id, sizeof(id), "cadence");
    start(&f, "HeartbeatCadence", id);
    cJSON_Delete(flow_invoke(&f));
    cJSON *done = await_result(id);
    if (strcmp(status_of(done), "COMPLETED") != 0)
        fail_msg("%s", cJSON_PrintUnformatted(done));
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* Four activity pollers, one slot: one activity at a time. */
static void more_pollers_than_slots(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_ACTIVITY_TASK_POLLERS=4", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=1",
                         NULL};
    run(&f, 15, 0, env);
    char id[64];
    flow_new_id(id, sizeof(id), "slots");
    start(&f, "FanOut", id);
    cJSON_Delete(flow_invoke(&f));
    cJSON *done = await_result(id);
    assert_string_equal(status_of(done), "COMPLETED");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(done, "result")), 1);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* tw_act_fail with details in a stack array the activity then overwrites: the workflow gets
 * them intact. */
static void failure_details_from_the_stack(void **st)
{
    flow_fn f;
    deploy(&f);
    run(&f, 8, 0, NULL);
    char id[64];
    flow_new_id(id, sizeof(id), "details");
    start(&f, "DetailsBack", id);
    cJSON_Delete(flow_invoke(&f));
    cJSON *done = await_result(id);
    assert_string_equal(status_of(done), "COMPLETED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "detail-42");
    cJSON_Delete(done);
    char *hist = history_of(id); /* every completed task says who completed it */
    assert_non_null(strstr(hist, "\"sdkName\":\"temporal-lambda-c\""));
    free(hist);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* ---- mistakes are errors ---- */

static void expect_worker_error(flow_fn *f, const char *const *needles)
{
    char *err;
    char *body = flow_invoke_raw(f, &err);
    if (!err || !strstr(body, "Runtime.WorkerError"))
        fail_msg("expected Runtime.WorkerError, got %s", body);
    for (int i = 0; needles[i]; i++)
        if (!strstr(body, needles[i]))
            fail_msg("\"%s\" not in %s", needles[i], body);
    free(body);
    free(err);
    assert_no_timeout(f);
}

static void wrong_namespace_fails_the_invocation(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_NAMESPACE=no-such-namespace", NULL};
    run(&f, 8, 0, env);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv.port);
    const char *needles[] = {"no-such-namespace", addr, "NOT_FOUND", NULL};
    expect_worker_error(&f, needles);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* The emulator's output (bootstrap's log and answers) and |log| never show |secret|. */
static void assert_not_shown(const flow_fn *f, const char *log, const char *secret)
{
    char *out = emu_output(&f->emu);
    if (strstr(out, secret))
        fail_msg("the API key appears in the emulator's output:\n%s", out);
    free(out);
    char *text = read_all(log, NULL);
    if (strstr(text, secret))
        fail_msg("the API key appears in %s", log);
    free(text);
}

/* A server that checks API keys (--api-key) refuses the worker's DescribeNamespace: the
 * invocation fails naming the code, the namespace, the address and TEMPORAL_API_KEY, and the
 * key is never printed. With the right key the same server runs a workflow to completion. */
static void rejected_api_key_fails_the_invocation(void **st)
{
    static const char right[] = "tw-right-key-5d1c";
    tserver ks = {0};
    const char *flags[] = {"--api-key", right, NULL};
    assert_int_equal(tserver_start(&ks, 0, NULL, flags), 0);
    char addr[64], ns[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ks.port);
    snprintf(ns, sizeof(ns), "namespace \\\"default\\\""); /* as in the JSON body */

    flow_fn f;
    flow_deploy(&f, &ks, "ctq"); /* the driver sends no authorization header: let through */
    const char *wrong[] = {"TEMPORAL_API_KEY=tw-wrong-key-9e7a", "TEMPORAL_TLS=false", NULL};
    run(&f, 8, ks.port, wrong);
    const char *needles[] = {"PERMISSION_DENIED", "Request unauthorized", ns, addr,
                             "TEMPORAL_API_KEY", NULL};
    expect_worker_error(&f, needles);
    assert_not_shown(&f, ks.log, "tw-wrong-key-9e7a");
    assert_int_equal(emu_stop(&f.emu), 0);

    flow_fn g;
    flow_deploy(&g, &ks, "ctq");
    char key_env[64];
    snprintf(key_env, sizeof(key_env), "TEMPORAL_API_KEY=%s", right);
    const char *good[] = {key_env, "TEMPORAL_TLS=false", NULL};
    run(&g, 8, ks.port, good);
    char id[64];
    flow_new_id(id, sizeof(id), "apikey");
    const char *start_args[] = {"start", "--id", id, "--type", "DetailsBack", "--task-queue",
                                g.queue, "--input", "null", NULL};
    flow_call_ok(&ks, start_args);
    cJSON_Delete(flow_invoke(&g));
    const char *await_args[] = {"--timeout", "30s", "await", "--id", id, NULL};
    cJSON *done = flow_call(&ks, await_args);
    assert_string_equal(status_of(done), "COMPLETED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(done, "result")), "detail-42");
    cJSON_Delete(done);
    assert_not_shown(&g, ks.log, right);
    assert_int_equal(emu_stop(&g.emu), 0);
    tserver_stop(&ks, 0, 0);
}

static void closed_port_fails_the_invocation(void **st)
{
    flow_fn f;
    deploy(&f);
    int port = free_port();
    run(&f, 5, port, NULL);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    const char *needles[] = {addr, "UNAVAILABLE", "TEMPORAL_ADDRESS", NULL};
    expect_worker_error(&f, needles);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void unresolvable_host_fails_the_invocation(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_ADDRESS=no-such-host.invalid:7233", NULL};
    run(&f, 5, 0, env);
    const char *needles[] = {"no-such-host.invalid:7233", "TEMPORAL_ADDRESS", NULL};
    expect_worker_error(&f, needles);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void tls_against_plaintext_fails_the_invocation(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_TLS=true", NULL};
    run(&f, 5, 0, env);
    const char *needles[] = {"default", "TLS", NULL};
    expect_worker_error(&f, needles);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void too_little_time_is_an_error(void **st)
{
    flow_fn f;
    deploy(&f);
    run(&f, 3, 0, NULL); /* 3 s - 2 s buffer: 1 s, too little to poll */
    const char *needles[] = {"too little to poll", "TEMPORAL_SHUTDOWN_BUFFER", NULL};
    expect_worker_error(&f, needles);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* An activity result over 4 MiB fails the activity for good, naming the size and the limit;
 * a workflow completion over it makes the server end the workflow, saying why. */
static void results_over_the_request_limit_fail_visibly(void **st)
{
    flow_fn f;
    deploy(&f);
    run(&f, 10, 0, NULL);
    char act[64], wf[64];
    flow_new_id(act, sizeof(act), "bigact");
    flow_new_id(wf, sizeof(wf), "bigwf");
    start(&f, "BigActivity", act);
    start(&f, "BigCompletion", wf);
    cJSON *summary = flow_invoke(&f);
    assert_int_equal(flow_int(summary, "too_large"), 2);
    cJSON_Delete(summary);
    cJSON *d1 = await_result(act);
    assert_string_equal(status_of(d1), "FAILED");
    cJSON *failure = cJSON_GetObjectItem(d1, "failure");
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(failure, "message"));
    const char *is = msg ? strstr(msg, " is ") : NULL;
    long size = is ? strtol(is + 4, NULL, 10) : 0;
    if (size <= 5L * 1024 * 1024 || !strstr(msg, "bytes") || !strstr(msg, "(4 MiB) limit"))
        fail_msg("the failure should name the size and the limit: %s", cJSON_PrintUnformatted(d1));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(failure, "type")), "ResultTooLarge");
    cJSON_Delete(d1);
    /* As with the official SDKs, the server ends the workflow on the task failure's cause; the
     * function's log names the size and the limit. */
    cJSON *d2 = await_result(wf);
    assert_string_equal(status_of(d2), "TERMINATED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d2, "reason")), "GrpcMessageTooLarge");
    cJSON_Delete(d2);
    char *out = emu_output(&f.emu);
    assert_non_null(strstr(out, "the workflow task's completion (1 commands) is 524"));
    assert_non_null(strstr(out, "bytes, over the 4194304-byte (4 MiB) limit"));
    free(out);
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* A query on a workflow with no task in flight comes as a legacy query task: the worker replays
 * the history and answers it (here with the failure naming the query types the workflow
 * handles: it handles none), within the invocation, counted in its summary. */
static void legacy_query_is_answered(void **st)
{
    flow_fn f;
    deploy(&f);
    const char *env[] = {"TEMPORAL_IDLE_EXIT=0s", NULL};
    run(&f, 8, 0, env);
    char id[64];
    flow_new_id(id, sizeof(id), "query");
    start(&f, "WaitAWhile", id);
    flow_bg b;
    flow_bg_start(&b, &f);
    sleep_ms(1500); /* the first task ran; the workflow waits on its timer */
    char *out = NULL, errpath[] = "/tmp/tw-query-XXXXXX";
    int efd = mkstemp(errpath), saved = dup(2);
    dup2(efd, 2); /* the driver says why a query failed on its stderr */
    const char *q[] = {"--timeout", "4s", "query", "--id", id, "--name", "state", NULL};
    int rc = driver_run(&srv, &out, q);
    dup2(saved, 2);
    close(saved);
    close(efd);
    char *why = read_all(errpath, NULL);
    unlink(errpath);
    if (rc == 0)
        fail_msg("the query succeeded: %s", out);
    if (!strstr(why, "unknown queryType state. KnownQueryTypes=[__stack_trace]"))
        fail_msg("query answer: %s", why);
    free(why);
    free(out);
    flow_bg_join(&b);
    assert_null(b.error);
    cJSON *summary = cJSON_Parse(b.body);
    assert_int_equal(flow_int(summary, "queries"), 1);
    cJSON_Delete(summary);
    free(b.body);
    const char *term[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, term);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(code_that_never_yields_is_a_deadlock),
        cmocka_unit_test(no_poll_shorter_than_the_server_takes),
        cmocka_unit_test(heartbeats_at_six_tenths_of_the_timeout),
        cmocka_unit_test(more_pollers_than_slots),
        cmocka_unit_test(failure_details_from_the_stack),
        cmocka_unit_test(wrong_namespace_fails_the_invocation),
        cmocka_unit_test(rejected_api_key_fails_the_invocation),
        cmocka_unit_test(closed_port_fails_the_invocation),
        cmocka_unit_test(unresolvable_host_fails_the_invocation),
        cmocka_unit_test(tls_against_plaintext_fails_the_invocation),
        cmocka_unit_test(too_little_time_is_an_error),
        cmocka_unit_test(results_over_the_request_limit_fail_visibly),
        cmocka_unit_test(legacy_query_is_answered),
        cmocka_unit_test(stop_against_a_stalled_or_vanished_server),
        cmocka_unit_test(random_stalls_never_reach_the_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
