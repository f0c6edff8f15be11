/*
 * signal/signal_with_start: "Workflow" (argument: a number, default 0) sets a handler that adds
 * the number of each "add" signal to its value, adds its argument, waits until the value is
 * positive and returns it. Signal-with-start of a new workflow (argument 1, signal 42) must
 * deliver the signal when the handler is set, before the wait: 43. Of a workflow already
 * running with -2: the signal goes to it: 40. Check: local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

static void on_add(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    if (nargs)
        *(long long *)arg += ft_number(&args[0], NULL);
}

static int positive(tw_wf *wf, void *arg) { return *(long long *)arg > 0; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *value = tw_wf_alloc(wf, sizeof(*value));
    if (!value)
        return TW_ENOMEM;
    *value = 0;
    int rc = tw_set_signal_handler(wf, "add", on_add, value);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "setting the handler");
    *value += nargs ? ft_number(&args[0], NULL) : 0;
    rc = tw_await_condition(wf, positive, value, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for a positive value");
    *result = ft_wf_json(wf, "%lld", *value);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
