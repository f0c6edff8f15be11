/*
 * wf_answer: checks on the engine's answers. See wf_answer.h.
 */
#define _GNU_SOURCE
#include "tests/support/wf_answer.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/worker/api.h"
#include "tests/support/harness.h"

int wa_load(const char *rel, tw_registry **reg)
{
    char err[512], lib[4096];
    if (!realpath(harness_built(rel), lib)) {
        fprintf(stderr, "%s: not built\n", harness_built(rel));
        return -1;
    }
    if (reg_load(reg, lib, NULL, api_table(), err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

void wa_expect(whist *h, const tw_registry *reg, const char *type, const char *commands)
{
    wh_run(h, reg, type, 0);
    if (strcmp(wh_commands(h), commands) != 0)
        fail_msg("%s: commands\n  got:  %s\n  want: %s", type, wh_commands(h), commands);
}

/* |p|'s first payload's data, NUL-terminated in |buf|. */
static const char *first_data(const pb_payloads *p, char *buf, size_t n)
{
    assert_non_null(p);
    assert_true(p->n_payloads > 0);
    snprintf(buf, n, "%.*s", (int)p->payloads[0]->data.len,
             (const char *)p->payloads[0]->data.data);
    return buf;
}

const char *wa_result(const whist *h)
{
    static char buf[512];
    const wf_output *out = &h->out;
    for (size_t i = 0; i < out->ncommands; i++)
        if (out->commands[i]->command_type == CMD(COMPLETE_WORKFLOW_EXECUTION))
            return first_data(
                out->commands[i]->complete_workflow_execution_command_attributes->result, buf,
                sizeof(buf));
    fail_msg("no completion in: %s", wh_commands(h));
    return NULL;
}

const char *wa_activity_input(const whist *h, size_t i)
{
    static char buf[256];
    assert_true(i < h->out.ncommands);
    return first_data(h->out.commands[i]->schedule_activity_task_command_attributes->input, buf,
                      sizeof(buf));
}
