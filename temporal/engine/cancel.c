/*
 * cancel: cancellation, both ways. The workflow's own (a WorkflowExecutionCancelRequested
 * event reaches every coroutine's blocking call as TW_ECANCELED; the workflow function
 * returning TW_ECANCELED ends the workflow as cancelled, wf.c), and the code cancelling what it
 * started (tw_cancel) or another workflow (tw_cancel_external).
 *
 * An operation whose command was never sent (made during this run of the code) is simply
 * dropped with its command, whatever it is. Otherwise:
 *   timer     CancelTimer; the future is cancelled at once;
 *   activity  by its cancellation type: TW_CANCEL_TRY sends RequestCancelActivityTask and
 *             cancels the future at once; TW_CANCEL_WAIT_COMPLETED sends it and leaves the
 *             future to the activity's answer (ActivityTaskCanceled: cancelled; completed or
 *             failed: that); TW_CANCEL_ABANDON sends nothing and cancels the future at once;
 *   tw_go     the coroutine's next blocking call returns TW_ECANCELED;
 *   external  too late once the server has it (TW_ESTATE).
 * A future cancelled at once drops the events that still come about it (resolved_early).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__RequestCancelActivityTaskCommandAttributes
    cancel_activity_attrs;
typedef Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes
    cancel_external_attrs;

#define ATTRS_DESC(name) temporal__api__command__v1__##name##_command_attributes__descriptor

static tw_failure canceled_failure = {.type = "Canceled", .message = "canceled",
                                      .kind = TW_FAILURE_CANCELED};

static void cancel_now(wf_future *f)
{
    f->done = f->canceled = f->resolved_early = 1;
    if (!f->failure)
        f->failure = &canceled_failure;
}

void wf_on_cancel_requested(tw_wf *wf)
{
    wf->cancel_requested = 1;
    wf_co *lists[2] = {wf->cos, wf->eager};
    for (int l = 0; l < 2; l++)
        for (wf_co *c = lists[l]; c; c = c->next)
            if (!c->finished)
                c->cancel_pending = 1;
}

static void request_activity_cancel(tw_wf *wf, wf_future *f)
{
    cancel_activity_attrs *at = wf_mem(wf, sizeof(*at));
    if (!at)
        return;
    temporal__api__command__v1__request_cancel_activity_task_command_attributes__init(at);
    at->scheduled_event_id = f->initiated;
    wf_push_cmd(wf, CMD(REQUEST_CANCEL_ACTIVITY_TASK),
                cmd_new(wf->a, CMD(REQUEST_CANCEL_ACTIVITY_TASK), at), f);
    f->cancel_requested = 1;
}

int wf_cancel_future(tw_wf *wf, wf_future *f)
{
    if (f->child) /* a child workflow: by its cancellation type (child.c) */
        return wf_child_cancel(wf, f);
    if (f->done)
        return TW_OK;
    if (f->co) { /* a tw_go coroutine */
        if (!f->co->finished)
            f->co->cancel_pending = 1;
        return TW_OK;
    }
    if (f->local) /* a local activity: local.c */
        return wf_local_cancel(wf, f);
    if (f->cmd) { /* never sent: as if it never was */
        wf_drop_cmd(wf, f->cmd);
        f->cmd = NULL;
        cancel_now(f);
        return TW_OK;
    }
    int type = f->kind ? f->kind->type : 0;
    if (type == CMD(START_TIMER)) {
        wf_cancel_timer(wf, f);
        return TW_OK;
    }
    if (type != CMD(SCHEDULE_ACTIVITY_TASK))
        return TW_ESTATE; /* an external operation the server has already */
    if (f->cancel_requested)
        return TW_OK; /* waiting for the activity's answer already */
    if (f->cancel_type != TW_CANCEL_ABANDON)
        request_activity_cancel(wf, f);
    if (f->cancel_type != TW_CANCEL_WAIT_COMPLETED)
        cancel_now(f);
    return wf->oom ? TW_ENOMEM : TW_OK;
}

typedef struct futures {
    wf_future *const *fs;
    size_t n;
} futures;

/* Have the activities cancelled with TW_CANCEL_WAIT_COMPLETED among |ctx| answered? */
static int confirmed(tw_wf *wf, void *ctx)
{
    const futures *w = ctx;
    for (size_t i = 0; i < w->n; i++)
        if (w->fs[i] && !w->fs[i]->done && w->fs[i]->cancel_requested)
            return 0;
    return 1;
}

int wf_interrupted(tw_wf *wf, wf_future *const *fs, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (fs[i] && !fs[i]->co)
            wf_cancel_future(wf, fs[i]);
    futures w = {fs, n};
    if (!confirmed(wf, &w)) {
        char why[240];
        snprintf(why, sizeof(why), "%s (cancelled, waiting for the activity to confirm)", what);
        while (wf_block(wf, confirmed, &w, why) != 0)
            ; /* a second cancel changes nothing: it is being cancelled already */
    }
    return TW_ECANCELED;
}

/* ---- the calls ---- */

int wf_cancel_requested(tw_wf *wf)
{
    if (!wf)
        return 0;
    if (wf->cancel_requested && wf_current(wf))
        wf->running->cancel_pending = 0; /* the code saw it: its next call runs normally */
    return wf->cancel_requested;
}

int wf_cancel(tw_wf *wf, tw_future *tf)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!tf)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    return wf_cancel_future(wf, (wf_future *)tf);
}

int wf_cancel_external(tw_wf *wf, const char *workflow_id, const char *run_id, tw_future **out)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!workflow_id || !*workflow_id)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    const cmd_kind *kind = cmd_kind_of(CMD(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION));
    cancel_external_attrs *at = wf_mem(wf, sizeof(*at));
    wf_future *f = wf_new_future(wf, kind, workflow_id, NULL);
    if (wf->oom)
        return TW_ENOMEM;
    PB_INIT(ATTRS_DESC(request_cancel_external_workflow_execution), at);
    at->workflow_id = (char *)f->id;
    at->run_id = wf_strdup(wf, run_id ? run_id : "");
    f->cmd = wf_push_cmd(wf, kind->type, cmd_new(wf->a, kind->type, at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}
