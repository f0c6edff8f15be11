/*
 * wf_shadow: a kept run beside every full replay. See wf_shadow.h.
 */
#define _GNU_SOURCE
#include "tests/support/wf_shadow.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHADOW_ARENA (64u << 20)

/* |a| and |b| pack to the same bytes. */
static int same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    if (!a || !b)
        return a == b;
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    if (na != nb)
        return 0;
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    assert_non_null(pa);
    assert_non_null(pb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    int same = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void same_answer(const wf_output *full, const wf_output *kept, int task)
{
    if (full->task_failed != kept->task_failed)
        fail_msg("task %d: the full replay %s, the kept run %s", task,
                 full->task_failed ? full->message : "completed",
                 kept->task_failed ? kept->message : "completed");
    assert_int_equal(full->versioning, kept->versioning);
    if (full->task_failed) {
        assert_int_equal(full->cause, kept->cause);
        return;
    }
    if (full->ncommands != kept->ncommands)
        fail_msg("task %d: %zu commands on a full replay, %zu on the kept run", task,
                 full->ncommands, kept->ncommands);
    for (size_t i = 0; i < full->ncommands; i++)
        if (!same_message(&full->commands[i]->base, &kept->commands[i]->base))
            fail_msg("task %d: command %zu differs on the kept run", task, i);
    assert_int_equal(full->nmessages, kept->nmessages);
    for (size_t i = 0; i < full->nmessages; i++)
        if (!same_message(&full->messages[i]->base, &kept->messages[i]->base))
            fail_msg("task %d: message %zu differs on the kept run", task, i);
    assert_int_equal(full->nquery_results, kept->nquery_results);
    for (size_t i = 0; i < full->nquery_results; i++)
        if (!same_message(&full->query_results[i]->base, &kept->query_results[i]->base))
            fail_msg("task %d: query answer %zu differs on the kept run", task, i);
    if (full->stack_trace || kept->stack_trace)
        assert_string_equal(full->stack_trace ? full->stack_trace : "(none)",
                            kept->stack_trace ? kept->stack_trace : "(none)");
}

/* Can the kept run take |in|: the same workflow, the events it processed unchanged, and the
 * next one its task's completion? */
static int continues(const wf_shadow *s, const tw_registry *reg, const wf_input *in)
{
    if (!s->x || s->reg != reg || strcmp(s->type, in->workflow_type ? in->workflow_type : ""))
        return 0;
    int64_t next = wf_exec_next_event(s->x);
    if (next < 2 || (size_t)next > in->nevents || in->events[next - 2] != s->last)
        return 0;
    return wf_exec_continues(s->x, in->events[next - 1]);
}

void ws_check(wf_shadow *s, const tw_registry *reg, const wf_input *in, const wf_output *full)
{
    if (s->off || in->query_only || in->next_page)
        return;
    s->tasks++;
    if (continues(s, reg, in)) {
        s->continued++;
    } else {
        ws_free(s);
        s->x = wf_exec_new(reg, in, SHADOW_ARENA);
        assert_non_null(s->x);
        s->reg = reg;
        snprintf(s->type, sizeof(s->type), "%s", in->workflow_type ? in->workflow_type : "");
    }
    size_t from = (size_t)wf_exec_next_event(s->x) - 1;
    wf_input rest = *in;
    rest.events = in->events + from;
    rest.nevents = in->nevents - from;
    arena *task = arena_new(SHADOW_ARENA);
    assert_non_null(task);
    wf_output kept;
    assert_int_equal(wf_exec_task(s->x, task, &rest, &kept), 0);
    same_answer(full, &kept, s->tasks);
    arena_free(task);
    if (wf_exec_reusable(s->x) && in->nevents)
        s->last = in->events[in->nevents - 1];
    else
        ws_free(s);
}

void ws_free(wf_shadow *s)
{
    wf_exec_free(s->x);
    s->x = NULL;
    s->last = NULL;
}
