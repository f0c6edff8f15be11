/*
 * child_workflow/cancel_abandon, the parent's side (the child's part waits for child
 * workflows). Upstream the parent waits on its abandoned child and a 5 s timer and is cancelled;
 * here it waits on the timer alone:
 *   - "MainScope" waits on a 5 s timer; when the workflow is cancelled the wait returns
 *     TW_ECANCELED, and the cleanup still runs a 1 s timer before the workflow returns
 *     "cancelled" (a normal completion);
 *   - "InnerScope" waits in a coroutine (tw_go) on a 5 s timer; a workflow cancel wakes the
 *     coroutine and the main function alike, and the handler of the signal "close" cancels the
 *     coroutine's timer (tw_cancel): either way the main function's await of the coroutine
 *     returns TW_ECANCELED, the cleanup runs, the result is "cancelled".
 * Check: local/temporal/driver/feature_cancel.go.
 */
#include "feature.h"

static int finish(tw_wf *wf, int rc, tw_payload *result)
{
    int cleanup = tw_sleep(wf, 1000); /* runs after the cancel too */
    if (cleanup != 0)
        return ft_wf_fail(wf, "the cleanup timer returned %d", cleanup);
    if (rc == 0)
        *result = tw_json("\"timer\"");
    else if (rc == TW_ECANCELED)
        *result = tw_json("\"cancelled\"");
    else
        return ft_wf_fail(wf, "the wait returned %d", rc);
    return 0;
}

static int main_scope(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    return finish(wf, tw_sleep(wf, 5000), result);
}

typedef struct inner {
    tw_future *timer;
} inner;

static int inner_scope_fn(tw_wf *wf, void *arg, tw_payload *result)
{
    inner *in = arg;
    int rc = tw_start_timer(wf, 5000, &in->timer);
    if (rc == 0)
        rc = tw_await(wf, in->timer, NULL);
    *result = tw_null();
    return rc;
}

static void on_close(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    inner *in = arg;
    if (in->timer)
        tw_cancel(wf, in->timer);
}

static int inner_scope(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    inner *in = tw_wf_alloc(wf, sizeof(*in));
    if (!in)
        return TW_ENOMEM;
    in->timer = NULL;
    tw_future *scope;
    int rc = tw_set_signal_handler(wf, "close", on_close, in);
    if (rc == 0)
        rc = tw_go(wf, inner_scope_fn, in, &scope);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the inner scope");
    return finish(wf, tw_await(wf, scope, NULL), result);
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "MainScope", main_scope, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "InnerScope", inner_scope, TW_PINNED);
}

TW_LIBRARY(setup)
