/*
 * child: child workflows (tw_start_child and its events, ABI 1.2).
 *
 * One StartChildWorkflowExecution command, two futures, one wf_child joining them:
 *   result   the command's own future (row StartChildWorkflowExecution in cmd.c): the history
 *            finds it by the initiated event id, as an activity's;
 *   started  a future with no command of its own, resolved here when the history says the
 *            child runs (ChildWorkflowExecutionStarted) or could not start.
 * Every event about a child reaches wf_child_resolve() (wf.c's resolve() hands over any future
 * with |child| set): its start (the run id, the started future), a start that failed (both
 * futures fail), its end (the result future: the child's result, or the failure the parent
 * sees: kind TW_FAILURE_CHILD_WORKFLOW caused by what ended it), and the answer to a cancel
 * request made for it.
 *
 * Cancelling a child (tw_cancel on either future, or the parent's cancel reaching a wait on
 * one, cancel.c) follows its cancellation type, as sdk-go's: a RequestCancelExternalWorkflow-
 * Execution (child_workflow_only) is sent unless ABANDON, right away once the child started,
 * else as soon as it starts; TRY and ABANDON cancel the result future at once (the events
 * still to come about it are dropped, except its start), WAIT_REQUESTED when the request is
 * delivered, WAIT_COMPLETED leaves it to the child's end. A child whose command was never
 * sent is dropped with its command. Signals to a child (tw_signal_child) are signal.c's
 * SignalExternalWorkflowExecution with child_workflow_only set, once the child started.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__StartChildWorkflowExecutionCommandAttributes start_child_attrs;
typedef Temporal__Api__Command__V1__RequestCancelExternalWorkflowExecutionCommandAttributes
    cancel_external_attrs;

#define ATTRS_DESC(name) temporal__api__command__v1__##name##_command_attributes__descriptor

/* What joins a child's two futures. In the run's arena. */
typedef struct wf_child {
    wf_future *result;         /* the command's: ends when the child closes */
    wf_future *started;        /* resolved when it starts or cannot */
    const char *workflow_id;   /* == result->id */
    const char *run_id;        /* NULL until it started */
    int cancel_type;           /* TW_CHILD_CANCEL_* */
    int cancel_wanted;         /* cancelled before it started: ask once it does */
    wf_future *cancel;         /* the cancel request's (RequestCancelExternal...), or NULL */
} wf_child;

/* ---- failures ---- */

/* The failure the parent sees when the child ended with |cause| (kind
 * TW_FAILURE_CHILD_WORKFLOW; type, message, details from |cause| as an activity's, tw.h).
 * NULL with wf->oom set when memory ran out. */
static tw_failure *child_failure(tw_wf *wf, const wf_child *c, tw_failure *cause,
                                 int retry_state)
{
    tw_failure *f = wf_mem(wf, sizeof(*f));
    if (!f || !cause)
        return wf->oom = 1, NULL;
    *f = (tw_failure){.kind = TW_FAILURE_CHILD_WORKFLOW, .cause = cause,
                      .retry_state = retry_state, .type = cause->type,
                      .message = cause->message, .non_retryable = cause->non_retryable,
                      .details = cause->details, .ndetails = cause->ndetails,
                      .timeout_type = cause->timeout_type, .workflow_id = c->workflow_id,
                      .run_id = c->run_id, .workflow_type = c->result ? c->result->type : NULL};
    if (!f->type || !*f->type)
        f->type = "Error";
    return f;
}

/* A failure of |kind| made here (no Failure message in the event), type |type|. */
static tw_failure *made_failure(tw_wf *wf, int kind, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tw_failure *made_failure(tw_wf *wf, int kind, const char *type, const char *fmt, ...)
{
    tw_failure *f = wf_mem(wf, sizeof(*f));
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!f)
        return NULL;
    *f = (tw_failure){.kind = kind, .type = type, .message = wf_strdup(wf, msg)};
    return f->message ? f : NULL;
}

/* Resolves |f| cancelled now (its later events are dropped): TW_ECANCELED to its waiters with
 * a child failure caused by a cancellation. */
static void cancel_now(tw_wf *wf, wf_child *c, wf_future *f)
{
    f->done = f->canceled = f->resolved_early = 1;
    f->failure = child_failure(
        wf, c, made_failure(wf, TW_FAILURE_CANCELED, "Canceled", "child workflow %s canceled",
                            c->workflow_id), 0);
}

/* ---- cancellation ---- */

/* Queues RequestCancelExternalWorkflowExecution for the started child |c|. */
static void request_cancel(tw_wf *wf, wf_child *c)
{
    const cmd_kind *kind = cmd_kind_of(CMD(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION));
    cancel_external_attrs *at = wf_mem(wf, sizeof(*at));
    wf_future *f = wf_new_future(wf, kind, c->workflow_id, NULL);
    if (wf->oom)
        return;
    PB_INIT(ATTRS_DESC(request_cancel_external_workflow_execution), at);
    at->workflow_id = (char *)f->id;
    at->run_id = (char *)c->run_id;
    at->child_workflow_only = 1;
    f->child = c;
    c->cancel = f;
    f->cmd = wf_push_cmd(wf, kind->type, cmd_new(wf->a, kind->type, at), f);
}

int wf_child_cancel(tw_wf *wf, wf_future *f)
{
    wf_child *c = f->child;
    wf_future *r = c->result;
    if (f == c->cancel)
        return TW_ESTATE;
    if (r->done || r->cancel_requested || c->cancel_wanted)
        return TW_OK; /* ended, or being cancelled already */
    if (r->cmd) { /* never sent: as if it never was */
        wf_drop_cmd(wf, r->cmd);
        r->cmd = NULL;
        cancel_now(wf, c, r);
        if (!c->started->done)
            cancel_now(wf, c, c->started);
        return wf->oom ? TW_ENOMEM : TW_OK;
    }
    if (c->cancel_type != TW_CHILD_CANCEL_ABANDON) {
        if (c->run_id)
            request_cancel(wf, c);
        else
            c->cancel_wanted = 1;
    }
    if (c->cancel_type == TW_CHILD_CANCEL_TRY || c->cancel_type == TW_CHILD_CANCEL_ABANDON)
        cancel_now(wf, c, r);
    else
        r->cancel_requested = 1; /* its waiters wait for the answer (cancel.c's confirmed) */
    return wf->oom ? TW_ENOMEM : TW_OK;
}

/* ---- events ---- */

/* The answer to the cancel request made for |c|. */
static const char *cancel_answered(tw_wf *wf, wf_child *c, const ev_kind *k, const pb_event *ev)
{
    wf_future *f = c->cancel;
    if (f->done)
        return "answers a cancel request answered already";
    f->done = 1;
    if (k->outcome == RES_FAILED) {
        const char *type = k->failed_cause ? k->failed_cause(ev) : "Error";
        f->failed = 1;
        f->failure = made_failure(wf, TW_FAILURE_APPLICATION, type,
                                  "cancelling child workflow %s failed", c->workflow_id);
        return NULL; /* the result future waits for the child's end, whatever that is */
    }
    if (c->cancel_type == TW_CHILD_CANCEL_WAIT_REQUESTED && !c->result->done)
        cancel_now(wf, c, c->result);
    return NULL;
}

static const char *child_started(tw_wf *wf, wf_child *c, const pb_event *ev)
{
    const Temporal__Api__History__V1__ChildWorkflowExecutionStartedEventAttributes *at =
        ev->child_workflow_execution_started_event_attributes;
    if (c->run_id)
        return "starts a child workflow started already";
    if (!at->workflow_execution || !at->workflow_execution->run_id ||
        !*at->workflow_execution->run_id)
        return "names no run of the child";
    if (!(c->run_id = wf_strdup(wf, at->workflow_execution->run_id)))
        return NULL;
    if (!c->started->done)
        c->started->done = 1;
    if (c->cancel_wanted) {
        c->cancel_wanted = 0;
        request_cancel(wf, c);
    }
    return NULL;
}

static const char *start_failed(tw_wf *wf, wf_child *c, const ev_kind *k, const pb_event *ev)
{
    int cause = (int)ev->start_child_workflow_execution_failed_event_attributes->cause;
    /* StartChildWorkflowExecutionFailedCause: 1 the id is taken, 2 no such namespace. */
    const char *type = cause == 1   ? "ChildWorkflowExecutionAlreadyStarted"
                       : cause == 2 ? "NamespaceNotFound"
                                    : "StartChildWorkflowExecutionFailed";
    tw_failure *why = made_failure(wf, TW_FAILURE_APPLICATION, type,
                                   cause == 1 ? "child workflow execution already started: "
                                                "workflow id %s"
                                              : "child workflow %s could not start",
                                   c->workflow_id);
    if (!why)
        return NULL;
    why->non_retryable = 1;
    wf_future *fs[2] = {c->started, c->result};
    for (int i = 0; i < 2; i++)
        if (!fs[i]->done)
            fs[i]->done = fs[i]->failed = 1, fs[i]->failure = why;
    return NULL;
}

/* The child ended: |ev| (row |k|) says how. */
static const char *child_closed(tw_wf *wf, wf_child *c, const ev_kind *k, const pb_event *ev)
{
    wf_future *f = c->result;
    int retry_state = k->retry_state ? k->retry_state(ev) : 0;
    tw_failure *cause = NULL;
    switch ((int)ev->event_type) {
    case EV(CHILD_WORKFLOW_EXECUTION_COMPLETED):
        f->done = 1;
        if (wf_kept_payloads(wf, k->result(ev), &f->result, &f->nresult))
            wf->oom = 1;
        return NULL;
    case EV(CHILD_WORKFLOW_EXECUTION_FAILED):
        cause = failure_from_pb(wf->a, k->failure(ev));
        break;
    case EV(CHILD_WORKFLOW_EXECUTION_TIMED_OUT):
        if ((cause = made_failure(wf, TW_FAILURE_TIMEOUT, "Timeout",
                                  "child workflow %s timed out", c->workflow_id)))
            cause->timeout_type = TW_TIMEOUT_START_TO_CLOSE; /* as sdk-go reports it */
        break;
    case EV(CHILD_WORKFLOW_EXECUTION_TERMINATED):
        cause = made_failure(wf, TW_FAILURE_TERMINATED, "Terminated",
                             "child workflow %s terminated", c->workflow_id);
        break;
    case EV(CHILD_WORKFLOW_EXECUTION_CANCELED):
        if ((cause = made_failure(wf, TW_FAILURE_CANCELED, "Canceled",
                                  "child workflow %s canceled", c->workflow_id))) {
            tw_payload *d;
            size_t n;
            if (payloads_from_pb(wf->a, k->details(ev), &d, &n) == 0)
                cause->details = d, cause->ndetails = n;
        }
        f->canceled = 1;
        break;
    default: /* a row of cmd.c that child.c does not know */
        return "is no end of a child workflow this runtime knows";
    }
    f->done = 1;
    f->failed = !f->canceled;
    f->failure = child_failure(wf, c, cause, retry_state);
    return NULL;
}

const char *wf_child_resolve(tw_wf *wf, const ev_kind *k, const pb_event *ev, wf_future *f)
{
    wf_child *c = f->child;
    if (f == c->cancel)
        return cancel_answered(wf, c, k, ev);
    if (ev->event_type == EV(CHILD_WORKFLOW_EXECUTION_STARTED))
        return child_started(wf, c, ev);
    if (ev->event_type == EV(START_CHILD_WORKFLOW_EXECUTION_FAILED)) {
        /* Even when the result was cancelled early: the started future learns it too. */
        if (c->run_id)
            return "fails the start of a child workflow that started";
        if (c->started->failed)
            return "fails the start of a child workflow a second time";
        return start_failed(wf, c, k, ev);
    }
    if (f->done && f->resolved_early)
        return NULL; /* cancelled already: the news comes late */
    if (f->done)
        return "ends a child workflow that ended already";
    if (!c->run_id)
        return "ends a child workflow that never started";
    return child_closed(wf, c, k, ev);
}

/* ---- the calls ---- */

static wf_child *child_of(tw_wf *wf, tw_future *tf)
{
    wf_future *f = (wf_future *)tf;
    return f && f->child && f != f->child->cancel ? f->child : NULL;
}

/* The options, checked: 0 or TW_EINVAL. */
static int options_valid(const tw_child_options *o)
{
    if (o->execution_timeout_ms < 0 || o->run_timeout_ms < 0 || o->task_timeout_ms < 0)
        return 0;
    if (o->parent_close_policy < 0 || o->parent_close_policy > TW_PARENT_CLOSE_REQUEST_CANCEL)
        return 0;
    if (o->id_reuse_policy < 0 || o->id_reuse_policy > TW_ID_REUSE_TERMINATE_IF_RUNNING)
        return 0;
    if (o->cancellation_type < TW_CHILD_CANCEL_WAIT_COMPLETED ||
        o->cancellation_type > TW_CHILD_CANCEL_ABANDON)
        return 0;
    if (o->nmemo && (!o->memo_keys || !o->memo_values || !payloads_valid(o->memo_values, o->nmemo)))
        return 0;
    if (o->nsearch_attributes && !o->search_attributes)
        return 0;
    for (size_t i = 0; i < o->nmemo; i++)
        if (!o->memo_keys[i] || !*o->memo_keys[i])
            return 0;
    return 1;
}

static pb_duration *duration(tw_wf *wf, int64_t ms)
{
    pb_duration *d = duration_ms(wf->a, ms);
    if (ms > 0 && !d)
        wf->oom = 1;
    return d;
}

/* |r| as the command carries it (as wf_api.c does for an activity). */
static Temporal__Api__Common__V1__RetryPolicy *retry_policy(tw_wf *wf, const tw_retry_policy *r)
{
    Temporal__Api__Common__V1__RetryPolicy *rp = wf_mem(wf, sizeof(*rp));
    size_t n = 0;
    while (r->non_retryable_types && r->non_retryable_types[n])
        n++;
    char **types = n ? wf_mem(wf, n * sizeof(char *)) : NULL;
    if (!rp || (n && !types))
        return NULL;
    temporal__api__common__v1__retry_policy__init(rp);
    rp->initial_interval = duration(wf, r->initial_interval_ms);
    rp->backoff_coefficient = r->backoff_coefficient;
    rp->maximum_interval = duration(wf, r->maximum_interval_ms);
    rp->maximum_attempts = r->maximum_attempts;
    for (size_t i = 0; i < n; i++)
        types[i] = wf_strdup(wf, r->non_retryable_types[i]);
    rp->non_retryable_error_types = types;
    rp->n_non_retryable_error_types = n;
    return wf->oom ? NULL : rp;
}

static Temporal__Api__Common__V1__Memo *memo(tw_wf *wf, const tw_child_options *o)
{
    if (!o->nmemo)
        return NULL;
    Temporal__Api__Common__V1__Memo *m = wf_mem(wf, sizeof(*m));
    Temporal__Api__Common__V1__Memo__FieldsEntry **e = wf_mem(wf, o->nmemo * sizeof(*e));
    if (!m || !e)
        return NULL;
    temporal__api__common__v1__memo__init(m);
    for (size_t i = 0; i < o->nmemo; i++) {
        if (!(e[i] = wf_mem(wf, sizeof(*e[i]))))
            return NULL;
        temporal__api__common__v1__memo__fields_entry__init(e[i]);
        e[i]->key = wf_strdup(wf, o->memo_keys[i]);
        if (!(e[i]->value = payload_to_pb(wf->a, &o->memo_values[i])))
            return wf->oom = 1, NULL;
    }
    m->fields = e;
    m->n_fields = o->nmemo;
    return m;
}

/* The command's attributes for child |type| with |o| (defaults filled in) and |args|; NULL
 * with *err TW_ENOMEM (wf->oom set) or TW_EINVAL (a bad search attribute). */
static start_child_attrs *start_attrs(tw_wf *wf, wf_future *f, const tw_child_options *o,
                                      const tw_payload *args, size_t nargs, int *err)
{
    *err = TW_ENOMEM;
    start_child_attrs *at = wf_mem(wf, sizeof(*at));
    Temporal__Api__Common__V1__WorkflowType *wt = wf_mem(wf, sizeof(*wt));
    pb_task_queue *tq = wf_mem(wf, sizeof(*tq));
    if (wf->oom)
        return NULL;
    PB_INIT(ATTRS_DESC(start_child_workflow_execution), at);
    temporal__api__common__v1__workflow_type__init(wt);
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    wt->name = (char *)f->type;
    tq->name = wf_strdup(wf, o->task_queue ? o->task_queue : wf->info.task_queue);
    tq->kind = TQ_KIND_NORMAL;
    at->workflow_id = (char *)f->id;
    at->workflow_type = wt;
    at->task_queue = tq;
    at->input = wf_payloads(wf, args, nargs);
    at->workflow_execution_timeout = duration(wf, o->execution_timeout_ms);
    at->workflow_run_timeout = duration(wf, o->run_timeout_ms);
    at->workflow_task_timeout = duration(wf, o->task_timeout_ms);
    at->parent_close_policy =
        o->parent_close_policy ? o->parent_close_policy : TW_PARENT_CLOSE_TERMINATE;
    at->workflow_id_reuse_policy = o->id_reuse_policy;
    if (o->retry && !(at->retry_policy = retry_policy(wf, o->retry)))
        wf->oom = 1;
    at->cron_schedule = wf_strdup(wf, o->cron_schedule ? o->cron_schedule : "");
    at->memo = memo(wf, o);
    at->header = wf_outgoing_header(wf);
    if (o->nsearch_attributes) {
        at->search_attributes = wf_props_encode_search_attributes(
            wf, o->search_attributes, o->nsearch_attributes, err);
        if (!at->search_attributes)
            return NULL;
    }
    *err = TW_ENOMEM;
    return wf->oom ? NULL : at;
}

int wf_start_child(tw_wf *wf, const char *type, const tw_child_options *o,
                   const tw_payload *args, size_t nargs, tw_future **started, tw_future **result)
{
    static const tw_child_options defaults;
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!o)
        o = &defaults;
    if (!type || !*type || !options_valid(o) || !payloads_valid(args, nargs) ||
        (o->workflow_id && !*o->workflow_id))
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    char idbuf[160];
    const char *id = o->workflow_id;
    if (!id) { /* as sdk-go: the parent's run id and a sequence, the same on replay */
        snprintf(idbuf, sizeof(idbuf), "%s_%d", wf->info.run_id ? wf->info.run_id : "",
                 ++wf->child_seq);
        id = idbuf;
    }
    const cmd_kind *kind = cmd_kind_of(CMD(START_CHILD_WORKFLOW_EXECUTION));
    wf_child *c = wf_mem(wf, sizeof(*c));
    wf_future *r = wf_new_future(wf, kind, id, type);
    /* The started future has the command's row too (what a stack trace names), but no
     * initiated event of its own: no event finds it but through |c|. */
    wf_future *s = r ? wf_new_future(wf, kind, id, type) : NULL;
    if (wf->oom || !c || !r || !s)
        return TW_ENOMEM;
    *c = (wf_child){.result = r, .started = s, .workflow_id = r->id,
                    .cancel_type = o->cancellation_type};
    r->child = s->child = c;
    int err;
    start_child_attrs *at = start_attrs(wf, r, o, args, nargs, &err);
    if (!at) {
        if (wf->futures == s && s->next == r)
            wf->futures = r->next; /* no child: its futures go (made last, first on the list) */
        return err;
    }
    r->cmd = wf_push_cmd(wf, kind->type, cmd_new(wf->a, kind->type, at), r);
    if (wf->oom)
        return TW_ENOMEM;
    if (started)
        *started = (tw_future *)s;
    if (result)
        *result = (tw_future *)r;
    return TW_OK;
}

int wf_execute_child(tw_wf *wf, const char *type, const tw_child_options *o,
                     const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *r;
    int rc = wf_start_child(wf, type, o, args, nargs, NULL, &r);
    return rc ? rc : wf_await(wf, r, result);
}

int wf_child_execution(tw_wf *wf, tw_future *child, const char **workflow_id, const char **run_id)
{
    if (!wf_current(wf))
        return TW_ESTATE;
    wf_child *c = child_of(wf, child);
    if (!c)
        return TW_EINVAL;
    if (workflow_id)
        *workflow_id = c->workflow_id;
    if (run_id)
        *run_id = c->run_id;
    return TW_OK;
}

int wf_signal_child(tw_wf *wf, tw_future *child, const char *signal, const tw_payload *args,
                    size_t nargs, tw_future **out)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    wf_child *c = child_of(wf, child);
    if (!c || !signal || !*signal || !payloads_valid(args, nargs))
        return TW_EINVAL;
    if (!c->run_id) { /* as sdk-go: a child is signalled once it runs */
        int rc = wf_await(wf, (tw_future *)c->started, NULL);
        if (rc)
            return rc;
    }
    tw_future *f;
    int rc = wf_signal_external(wf, c->workflow_id, c->run_id, signal, args, nargs, &f);
    if (rc)
        return rc;
    wf_future *sf = (wf_future *)f;
    if (sf->cmd)
        sf->cmd->pb->signal_external_workflow_execution_command_attributes->child_workflow_only = 1;
    if (out)
        *out = f;
    return TW_OK;
}
