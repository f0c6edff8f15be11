/*
 * The payload codec on histories recorded from the real server (tests/data/features/, made by
 * tests/features/record-histories.sh from the data_converter scenarios): the worker's path
 * without the network. The recorded history is decoded with the scenario library's codec
 * (codec_decode), its first workflow task replayed by the engine (wf_run), and the completion
 * encoded (codec_encode): the encoded command must be, byte for byte, what the server recorded
 * when the real worker answered that task.
 *
 *   - data_converter/codec: the base64 codec (deterministic): the workflow's result, encoded,
 *     is the recorded WorkflowExecutionCompleted result (which is also the client's argument);
 *   - data_converter/failure: failure attributes: the encoded FailWorkflowExecution failure
 *     ("Encoded failure", json/plain attributes, its cause likewise) is the recorded one.
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
#include "temporal/engine/payload.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"
#include "temporal/worker/codec.h"
#include "tests/support/harness.h"

typedef struct replay {
    arena *a;
    tw_registry *reg;
    Temporal__Api__History__V1__History *h;   /* decoded in place */
    Temporal__Api__History__V1__History *raw; /* as the server stores it */
    const WFS(RespondWorkflowTaskCompletedRequest) *sent; /* the first task's, encoded */
} replay;

/* Loads scenario |name|'s library and recorded history, decodes the history, replays its first
 * workflow task and encodes the completion into r->sent. */
static void run_first_task(replay *r, const char *name)
{
    char path[256], rel[128], lib[4096], err[512];
    snprintf(rel, sizeof(rel), "features/data_converter/%s.so", name);
    assert_non_null(realpath(harness_built(rel), lib));
    if (reg_load(&r->reg, lib, NULL, api_table(), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    const reg_codec *c = reg_get_codec(r->reg);
    assert_non_null(c);
    snprintf(path, sizeof(path), "tests/data/features/data_converter_%s-0.history", name);
    size_t len;
    char *raw = read_all(path, &len);
    if (!raw || !len)
        fail_msg("cannot read %s (tests/features/record-histories.sh records it)", path);
    r->a = arena_new(64 * 1024 * 1024);
    r->h = temporal__api__history__v1__history__unpack(arena_allocator(r->a), len,
                                                       (const uint8_t *)raw);
    r->raw = temporal__api__history__v1__history__unpack(arena_allocator(r->a), len,
                                                         (const uint8_t *)raw);
    free(raw);
    assert_non_null(r->h);
    assert_non_null(r->raw);
    assert_int_equal(codec_decode(c, r->a, &r->h->base, err, sizeof(err)), 0);
    size_t first = 0; /* the events of the first task: up to its WorkflowTaskStarted */
    while (first < r->h->n_events && r->h->events[first]->event_type != EV(WORKFLOW_TASK_STARTED))
        first++;
    assert_true(first < r->h->n_events);
    wf_input in = {.workflow_type = "Workflow", .workflow_id = "wf", .run_id = "run",
                   .task_queue = "q", .events = r->h->events, .nevents = first + 1};
    wf_output out;
    assert_int_equal(wf_run(r->reg, r->a, &in, &out), 0);
    assert_false(out.task_failed);
    assert_int_equal(out.ncommands, 1);
    WFS(RespondWorkflowTaskCompletedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request), &req);
    req.commands = out.commands;
    req.n_commands = out.ncommands;
    const ProtobufCMessage *sent;
    assert_int_equal(codec_encode(c, r->a, &req.base, &sent, err, sizeof(err)), 0);
    assert_ptr_not_equal(sent, &req.base);
    r->sent = (const void *)sent;
}

/* The recorded event of |type|, as the server stores it. */
static const pb_event *recorded(const replay *r, unsigned type)
{
    for (size_t i = 0; i < r->raw->n_events; i++)
        if ((unsigned)r->raw->events[i]->event_type == type)
            return r->raw->events[i];
    fail_msg("no event %d in the recorded history", type);
    return NULL;
}

static void same_bytes(arena *a, const ProtobufCMessage *want, const ProtobufCMessage *got)
{
    size_t wl = protobuf_c_message_get_packed_size(want);
    size_t gl = protobuf_c_message_get_packed_size(got);
    uint8_t *w = arena_alloc(a, wl + 1), *g = arena_alloc(a, gl + 1);
    protobuf_c_message_pack(want, w);
    protobuf_c_message_pack(got, g);
    assert_int_equal(gl, wl);
    assert_memory_equal(g, w, wl);
}

static void done(replay *r)
{
    arena_free(r->a);
    reg_free(r->reg);
}

static void base64_codec_answers_what_was_recorded(void **st)
{
    replay r = {0};
    run_first_task(&r, "codec");
    const pb_command *cmd = r.sent->commands[0];
    assert_int_equal(cmd->command_type, CMD(COMPLETE_WORKFLOW_EXECUTION));
    const pb_event *e = recorded(&r, EV(WORKFLOW_EXECUTION_COMPLETED));
    same_bytes(r.a, &e->workflow_execution_completed_event_attributes->result->base,
               &cmd->complete_workflow_execution_command_attributes->result->base);
    done(&r);
}

static void failure_attributes_answer_what_was_recorded(void **st)
{
    replay r = {0};
    run_first_task(&r, "failure");
    const pb_command *cmd = r.sent->commands[0];
    assert_int_equal(cmd->command_type, CMD(FAIL_WORKFLOW_EXECUTION));
    const pb_failure *f = cmd->fail_workflow_execution_command_attributes->failure;
    assert_string_equal(f->message, "Encoded failure");
    assert_string_equal(f->cause->message, "Encoded failure");
    const pb_event *e = recorded(&r, EV(WORKFLOW_EXECUTION_FAILED));
    same_bytes(r.a, &e->workflow_execution_failed_event_attributes->failure->base, &f->base);
    /* and the decoded history reads the messages back */
    for (size_t i = 0; i < r.h->n_events; i++)
        if (r.h->events[i]->event_type == EV(WORKFLOW_EXECUTION_FAILED)) {
            const pb_failure *d = r.h->events[i]->workflow_execution_failed_event_attributes->failure;
            assert_string_equal(d->message, "main error");
            assert_string_equal(d->cause->message, "cause error");
        }
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_codec_answers_what_was_recorded),
        cmocka_unit_test(failure_attributes_answer_what_was_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
