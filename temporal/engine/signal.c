/*
 * signal: signals in, in history order, and signals out (tw_signal_external).
 *
 * Every WorkflowExecutionSignaled becomes a wf_signal on one list, in history order. A signal
 * with a handler for its name (or, failing that, a default handler) is given to it: the
 * handler runs as a coroutine of its own, eager (before the code it interrupts, which then
 * sees what it did), and may block. A signal with no handler stays buffered: a handler set
 * later gets the buffered ones of its name, in order, and tw_signal_receive() takes them one by
 * one. A signal that came with the workflow's start (signal-with-start) is simply the first
 * one buffered. Handler coroutines are made while fewer than WF_MAX_COROUTINES run; a burst of
 * signals beyond that waits, in order, for room.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__SignalExternalWorkflowExecutionCommandAttributes
    signal_external_attrs;

typedef struct wf_handler {
    wf_named n;                /* first: the list's link and name (NULL: the default handler) */
    tw_signal_fn fn;
    void *arg;
} wf_handler;

typedef struct wf_signal {
    const char *name;
    tw_payload *args;
    size_t nargs;
    tw_signal_fn fn;           /* the handler it was given to (and its argument); NULL: buffered */
    void *arg;
    int spawned;               /* its handler coroutine is made */
    int received;              /* taken by tw_signal_receive */
    struct wf_signal *next;
} wf_signal;

static wf_handler *handler_for(tw_wf *wf, const char *name)
{
    wf_named *h = wf_named_find(wf->handlers, name);
    return (wf_handler *)(h ? h : wf_named_find(wf->handlers, NULL));
}

static void handler_body(tw_wf *wf, wf_co *c)
{
    wf_signal *s = c->data;
    s->fn(wf, s->arg, s->args, s->nargs);
}

int wf_signals_spawn(tw_wf *wf)
{
    int n = 0;
    for (wf_signal *s = wf->signals; s && wf->co_live < WF_MAX_COROUTINES && !wf->oom;
         s = s->next) {
        if (!s->fn || s->spawned)
            continue;
        char *name = wf_mem(wf, strlen(s->name) + 12);
        if (!name)
            return n;
        sprintf(name, "signal \"%s\"", s->name);
        wf_co *c = wf_spawn(wf, name, handler_body, 1);
        if (!c)
            return n;
        c->data = s;
        c->handler = 1;
        c->handles = s->name;
        s->spawned = 1;
        n++;
    }
    return n;
}

/* Gives the buffered signals |h| handles to it, in order. Returns how many. */
static int give_buffered(tw_wf *wf, const wf_handler *h)
{
    int n = 0;
    for (wf_signal *s = wf->signals; s; s = s->next)
        if (!s->fn && !s->received && handler_for(wf, s->name) == h) {
            s->fn = h->fn;
            s->arg = h->arg;
            n++;
        }
    wf_signals_spawn(wf);
    return n;
}

void wf_on_signal(tw_wf *wf, const pb_event *ev)
{
    const Temporal__Api__History__V1__WorkflowExecutionSignaledEventAttributes *at =
        ev->workflow_execution_signaled_event_attributes;
    wf_signal *s = wf_mem(wf, sizeof(*s));
    if (!s)
        return;
    /* The run keeps the signal: its own copies when the event goes with the task's arena. */
    const char *name = at->signal_name ? at->signal_name : "";
    *s = (wf_signal){.name = wf->a == wf->ta ? name : wf_strdup(wf, name)};
    if (!s->name || wf_kept_payloads(wf, at->input, &s->args, &s->nargs)) {
        wf->oom = 1;
        return;
    }
    *wf->signals_tail = s;
    wf->signals_tail = &s->next;
    wf_handler *h = handler_for(wf, s->name);
    if (h) {
        s->fn = h->fn;
        s->arg = h->arg;
        wf_signals_spawn(wf);
    }
}

/* ---- the calls ---- */

int wf_set_signal_handler(tw_wf *wf, const char *name, tw_signal_fn fn, void *arg)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (name && !*name)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    if (!fn) { /* removed: its signals are buffered from now on */
        wf_named_remove(&wf->handlers, name);
        return TW_OK;
    }
    wf_handler *h = (wf_handler *)wf_named_put(wf, &wf->handlers, name, sizeof(*h));
    if (!h)
        return TW_ENOMEM;
    h->fn = fn;
    h->arg = arg;
    if (give_buffered(wf, h) && !wf->oom)
        wf_yield(wf); /* the buffered signals are handled before the code goes on */
    return wf->oom ? TW_ENOMEM : TW_OK;
}

typedef struct receive {
    const char *name;
    wf_signal *got;
    wf_future *timer;
} receive;

static int signal_ready(tw_wf *wf, void *ctx)
{
    receive *r = ctx;
    for (wf_signal *s = wf->signals; s; s = s->next)
        if (!s->fn && !s->received && strcmp(s->name, r->name) == 0) {
            r->got = s;
            return 1;
        }
    return r->timer && r->timer->done;
}

int wf_signal_receive(tw_wf *wf, const char *name, tw_payload **args, size_t *nargs,
                      int64_t timeout_ms)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!name || !*name)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    receive r = {.name = name};
    char what[200];
    snprintf(what, sizeof(what), "tw_signal_receive \"%.100s\"", name);
    int rc = TW_OK;
    if (!signal_ready(wf, &r)) {
        if (timeout_ms == 0)
            return TW_ETIMEDOUT;
        if (timeout_ms > 0) {
            tw_future *t;
            if ((rc = wf_start_timer(wf, timeout_ms, &t)))
                return rc;
            r.timer = (wf_future *)t;
            size_t used = strlen(what);
            snprintf(what + used, sizeof(what) - used, " (timeout: timer %s)", r.timer->id);
        }
        rc = wf_block(wf, signal_ready, &r, what);
        if (r.timer && !r.timer->done)
            wf_cancel_timer(wf, r.timer); /* the signal won (or the workflow's cancel came) */
    }
    if (rc)
        return rc;
    if (!r.got)
        return TW_ETIMEDOUT;
    r.got->received = 1;
    if (args)
        *args = r.got->args;
    if (nargs)
        *nargs = r.got->nargs;
    return wf->oom ? TW_ENOMEM : TW_OK;
}

const char *wf_handler_name(tw_wf *wf)
{
    return wf_current(wf) ? wf->running->handles : NULL;
}

int wf_all_handlers_finished(tw_wf *wf)
{
    if (!wf)
        return 0;
    for (wf_signal *s = wf->signals; s; s = s->next)
        if (s->fn && !s->spawned)
            return 0; /* given to a handler that has not even started */
    wf_co *lists[2] = {wf->cos, wf->eager};
    for (int l = 0; l < 2; l++)
        for (wf_co *c = lists[l]; c; c = c->next)
            if (c->handler && !c->finished)
                return 0;
    return 1;
}

int wf_signal_external(tw_wf *wf, const char *workflow_id, const char *run_id,
                       const char *signal, const tw_payload *args, size_t nargs,
                       tw_future **out)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!workflow_id || !*workflow_id || !signal || !*signal || !payloads_valid(args, nargs))
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    const cmd_kind *kind = cmd_kind_of(CMD(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION));
    signal_external_attrs *at = wf_mem(wf, sizeof(*at));
    pb_execution *x = wf_mem(wf, sizeof(*x));
    wf_future *f = wf_new_future(wf, kind, workflow_id, signal);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__signal_external_workflow_execution_command_attributes__init(at);
    temporal__api__common__v1__workflow_execution__init(x);
    x->workflow_id = (char *)f->id;
    x->run_id = wf_strdup(wf, run_id ? run_id : "");
    at->execution = x;
    at->signal_name = (char *)f->type;
    at->input = wf_payloads(wf, args, nargs);
    at->header = wf_outgoing_header(wf); /* tw_set_header() (props.c) */
    f->cmd = wf_push_cmd(wf, kind->type, cmd_new(wf->a, kind->type, at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}
