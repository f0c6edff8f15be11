/*
 * child_workflow/cancel_abandon: a child started with the cancellation type ABANDON and the
 * parent close policy ABANDON (run timeout 20 s) is not touched when its parent is cancelled:
 *   - "MainScope" (argument: the child's input) starts "Child" and waits on its result and a
 *     5 s timer (tw_select); the check cancels the parent: the select returns TW_ECANCELED,
 *     the timer is cancelled, no cancel request goes to the child, and the cleanup still runs
 *     a 1 s timer before the parent returns "cancelled";
 *   - "InnerScope" does the same with the child started and awaited in a coroutine (tw_go);
 *     a workflow cancel wakes the coroutine and the main function alike, and the handler of
 *     the signal "close" cancels the coroutine (tw_cancel): either way the await of the
 *     coroutine returns TW_ECANCELED and the parent returns "cancelled".
 * The check then signals the child "exit": it completes with its input.
 * "Child" waits for "exit" and returns its input. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static const tw_child_options abandoned = {.run_timeout_ms = 20000,
                                           .parent_close_policy = TW_PARENT_CLOSE_ABANDON,
                                           .cancellation_type = TW_CHILD_CANCEL_ABANDON};

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
    tw_future *fs[2];
    int rc = tw_start_child(wf, "Child", &abandoned, args, nargs, NULL, &fs[0]);
    if (rc == 0)
        rc = tw_start_timer(wf, 5000, &fs[1]);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting the child and the timer");
    size_t ready = 1;
    rc = tw_select(wf, fs, 2, &ready);
    if (rc == 0 && ready == 0) {
        rc = tw_await(wf, fs[0], NULL); /* the child ended first: its outcome */
        tw_cancel(wf, fs[1]);
    }
    return finish(wf, rc, result);
}

typedef struct inner {
    const tw_payload *args;
    size_t nargs;
    tw_future *scope;
} inner;

static int inner_scope_fn(tw_wf *wf, void *arg, tw_payload *result)
{
    inner *in = arg;
    tw_future *child;
    int rc = tw_start_child(wf, "Child", &abandoned, in->args, in->nargs, NULL, &child);
    if (rc == 0)
        rc = tw_await(wf, child, result);
    return rc;
}

static void on_close(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    inner *in = arg;
    if (in->scope)
        tw_cancel(wf, in->scope);
}

static int inner_scope(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    inner *in = tw_wf_alloc(wf, sizeof(*in));
    if (!in)
        return TW_ENOMEM;
    *in = (inner){.args = args, .nargs = nargs};
    tw_future *fs[2];
    int rc = tw_set_signal_handler(wf, "close", on_close, in);
    if (rc == 0)
        rc = tw_go(wf, inner_scope_fn, in, &fs[0]);
    if (rc == 0)
        rc = tw_start_timer(wf, 5000, &fs[1]);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the inner scope");
    in->scope = fs[0];
    size_t ready = 1;
    rc = tw_select(wf, fs, 2, &ready);
    if (rc == 0 && ready == 0) {
        rc = tw_await(wf, fs[0], NULL); /* the scope ended first (its cancel): its outcome */
        tw_cancel(wf, fs[1]);
    }
    return finish(wf, rc, result);
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "exit", NULL, NULL, -1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for exit");
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "MainScope", main_scope, TW_PINNED);
    rc = rc ? rc : tw_register_workflow(r, "InnerScope", inner_scope, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "Child", child, TW_PINNED);
}

TW_LIBRARY(setup)
