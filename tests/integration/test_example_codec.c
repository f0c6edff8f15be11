/*
 * End to end, the codec example (examples/codec/worker.c): build/bootstrap runs it under the
 * local Lambda emulator against the real Temporal server with an AES-256 key in its
 * environment, and the official Go SDK (tw-driver, with the same key in TW_DRIVER_CODEC_KEY:
 * sdk-go's codec and failure interceptors around an AES-GCM PayloadCodec) talks to it:
 *
 *   - a transfer: its input, a signal's argument, the "status" query's answer, an update's
 *     argument and answer, the memo the update writes, the activity's input, the heartbeat details the retry resumes from,
 *     the first attempt's failure (message and details) and the result all reach the other
 *     side readable, while the server's history holds only binary/encrypted payloads (read
 *     without the key) and "Encoded failure" for messages;
 *   - a transfer over the limit fails with details the client reads;
 *   - a history longer than the poll's first page: the pages fetched later are decoded too;
 *   - a payload sealed under another key id fails the workflow task with a message naming both
 *     ids (the worker never crashes, nothing is decoded wrongly).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static tserver srv;

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    unsetenv("TW_DRIVER_CODEC_KEY");
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* The driver reads and writes payloads with the key (or, |with| 0, sees them as stored). */
static void driver_key(int with)
{
    if (with)
        setenv("TW_DRIVER_CODEC_KEY", KEY, 1);
    else
        unsetenv("TW_DRIVER_CODEC_KEY");
    unsetenv("TW_DRIVER_CODEC_KEY_ID");
}

static void start_function(flow_fn *f)
{
    static const char *const env[] = {"CODEC_KEY=" KEY, "TEMPORAL_IDLE_EXIT=4s", NULL};
    flow_deploy(f, &srv, "codec");
    flow_opts o = {.library = "examples/libcodec.so", .timeout_s = 60, .env = env};
    flow_run(f, &o);
}

/* Every payload of |id|'s history, read without the key, is sealed; returns how many. */
static int all_sealed(const char *id)
{
    driver_key(0);
    const char *args[] = {"payload-encodings", "--workflow-id", id, NULL};
    cJSON *counts = flow_call(&srv, args);
    int sealed = 0;
    for (const cJSON *c = counts->child; c; c = c->next) {
        if (strcmp(c->string, "binary/encrypted") != 0)
            fail_msg("%s: %d payload(s) stored as %s", id, (int)cJSON_GetNumberValue(c),
                     c->string);
        sealed = (int)cJSON_GetNumberValue(c);
    }
    cJSON_Delete(counts);
    driver_key(1);
    return sealed;
}

/* The first event of |type| in |history| (protojson), or NULL. */
static const cJSON *event_of(const cJSON *history, const char *type)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(history, "events"))
        if (!strcmp(flow_str(e, "eventType"), type))
            return e;
    return NULL;
}

static const cJSON *path(const cJSON *o, const char *const *names)
{
    for (; o && *names; names++)
        o = cJSON_GetObjectItem(o, *names);
    if (!o)
        fail_msg("no %s in the history", names[0] ? names[0] : "member");
    return o;
}

static void a_transfer_round_trips_sealed(void **st)
{
    flow_fn f;
    start_function(&f);
    driver_key(1);
    char id[64];
    flow_new_id(id, sizeof(id), "transfer");
    flow_start(&f, "Transfer", id, "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":120}");
    flow_bg bg;
    flow_bg_start(&bg, &f);
    const char *note[] = {"signal", "--id", id, "--name", "note", "--input",
                          "{\"text\":\"rent\"}", NULL};
    flow_call_ok(&srv, note);
    const char *query[] = {"query", "--id", id, "--name", "status", NULL};
    cJSON *q = flow_call(&srv, query);
    assert_string_equal(flow_member_json(q, "result"),
                        "{\"state\":\"waiting for approval\",\"note\":{\"text\":\"rent\"}}");
    cJSON_Delete(q);
    const char *update[] = {"update", "--id", id, "--name", "approve", "--input", "\"carol\"", NULL};
    cJSON *u = flow_call(&srv, update);
    assert_string_equal(flow_member_json(u, "result"), "{\"approved_by\":\"carol\"}");
    cJSON_Delete(u);
    flow_bg_join_ok(&bg);
    flow_invoke_until_closed(&f, id, 4);

    cJSON *end = flow_await(&srv, id, "30s");
    assert_string_equal(flow_str(end, "status"), "COMPLETED");
    /* the retry read the first attempt's heartbeat details */
    assert_string_equal(flow_member_json(end, "result"),
                        "{\"receipt\":\"R-120\",\"attempt\":2,\"resumed_from\":{\"step\":\"reserved\"}}");
    cJSON_Delete(end);

    /* the first attempt's failure, as the client reads it: message and details */
    cJSON *h = flow_history(&srv, id, NULL);
    const cJSON *started = event_of(h, "EVENT_TYPE_ACTIVITY_TASK_STARTED");
    assert_non_null(started);
    const char *failure_at[] = {"activityTaskStartedEventAttributes", "lastFailure", NULL};
    const cJSON *lf = path(started, failure_at);
    assert_string_equal(flow_str(lf, "message"), "card declined, retrying");
    const char *details_at[] = {"applicationFailureInfo", "details", "payloads", NULL};
    const cJSON *d = cJSON_GetArrayItem(path(lf, details_at), 0);
    assert_non_null(d);
    assert_string_equal(flow_str(d, "data"), "eyJjb2RlIjo1MX0="); /* {"code":51} */
    /* the memo the update wrote */
    const cJSON *props = event_of(h, "EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED");
    assert_non_null(props);
    const char *memo_at[] = {"workflowPropertiesModifiedEventAttributes", "upsertedMemo", "fields",
                             "approved_by", NULL};
    assert_string_equal(flow_str(path(props, memo_at), "data"), "ImNhcm9sIg=="); /* "carol" */
    cJSON_Delete(h);

    /* what the server stored: ciphertext only, and no readable failure message */
    assert_true(all_sealed(id) >= 8);
    driver_key(0);
    h = flow_history(&srv, id, NULL);
    lf = path(event_of(h, "EVENT_TYPE_ACTIVITY_TASK_STARTED"), failure_at);
    assert_string_equal(flow_str(lf, "message"), "Encoded failure");
    char *text = cJSON_PrintUnformatted(h); /* (payload data is base64 there anyway) */
    assert_null(strstr(text, "card declined"));
    free(text);
    cJSON_Delete(h);
    driver_key(1);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void over_the_limit_fails_with_sealed_details(void **st)
{
    flow_fn f;
    start_function(&f);
    driver_key(1);
    char id[64];
    flow_new_id(id, sizeof(id), "transfer");
    flow_start(&f, "Transfer", id, "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":5000}");
    flow_invoke_until_closed(&f, id, 3);
    cJSON *end = flow_await(&srv, id, "30s");
    assert_string_equal(flow_str(end, "status"), "FAILED");
    const cJSON *failure = cJSON_GetObjectItem(end, "failure");
    assert_string_equal(flow_str(failure, "type"), "OverLimit");
    assert_string_equal(flow_str(failure, "message"), "amount over the limit");
    assert_string_equal(flow_member_json(failure, "details"), "{\"limit\":1000}");
    cJSON_Delete(end);
    assert_true(all_sealed(id) >= 3); /* input, the details, the failure's attributes */
    assert_int_equal(emu_stop(&f.emu), 0);
}

/* 600 sealed notes and a last one before the first task: the history is longer than the poll's
 * first page, and the pages the worker fetches as the replay reaches them are decoded too (the
 * last note, on a later page, reads back). */
static void notes_across_history_pages(void **st)
{
    flow_fn f;
    start_function(&f);
    driver_key(1);
    char id[64];
    flow_new_id(id, sizeof(id), "transfer");
    flow_start(&f, "Transfer", id, "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":7}");
    const char *many[] = {"--timeout", "120s", "signal-many", "--id", id, "--name", "note",
                          "--count", "600", "--input", "{\"text\":\"n\"}", NULL};
    flow_call_ok(&srv, many);
    const char *last[] = {"signal", "--id", id, "--name", "note", "--input",
                          "{\"text\":\"last\"}", NULL};
    flow_call_ok(&srv, last);
    flow_bg bg;
    flow_bg_start(&bg, &f);
    const char *query[] = {"--timeout", "60s", "query", "--id", id, "--name", "status", NULL};
    cJSON *q = flow_call(&srv, query);
    assert_string_equal(flow_member_json(q, "result"),
                        "{\"state\":\"waiting for approval\",\"note\":{\"text\":\"last\"}}");
    cJSON_Delete(q);
    const char *term[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, term);
    flow_bg_join_ok(&bg);
    assert_true(all_sealed(id) >= 602);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void a_foreign_key_fails_the_task_naming_it(void **st)
{
    flow_fn f;
    start_function(&f);
    driver_key(1);
    setenv("TW_DRIVER_CODEC_KEY_ID", "other", 1); /* sealed under a key the worker lacks */
    char id[64];
    flow_new_id(id, sizeof(id), "transfer");
    flow_start(&f, "Transfer", id, "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":10}");
    unsetenv("TW_DRIVER_CODEC_KEY_ID");
    char *error = NULL;
    char *body = flow_invoke_raw(&f, &error);
    assert_null(error); /* the invocation itself is fine */
    free(body);
    /* The history holds a payload this driver cannot open either: read it as stored. The
     * task's failure is there, its message sealed; the function's log says it. */
    driver_key(0);
    cJSON *h = flow_history(&srv, id, NULL);
    const cJSON *failed = event_of(h, "EVENT_TYPE_WORKFLOW_TASK_FAILED");
    assert_non_null(failed);
    const char *message_at[] = {"workflowTaskFailedEventAttributes", "failure", "message", NULL};
    assert_string_equal(cJSON_GetStringValue(path(failed, message_at)), "Encoded failure");
    cJSON_Delete(h);
    char *log = emu_output(&f.emu);
    if (!strstr(log, "payload codec: decode of WorkflowExecutionStartedEventAttributes.input "
                     "failed: payload sealed with key \\\"other\\\", this worker has "
                     "\\\"default\\\"")) /* as the JSON log line escapes it */
        fail_msg("no codec error in the function's log:\n%s", log);
    free(log);
    const char *term[] = {"terminate", "--id", id, NULL};
    flow_call_ok(&srv, term);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_transfer_round_trips_sealed),
        cmocka_unit_test(over_the_limit_fails_with_sealed_details),
        cmocka_unit_test(notes_across_history_pages),
        cmocka_unit_test(a_foreign_key_fails_the_task_naming_it),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
