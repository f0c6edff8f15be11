/*
 * signal/basic: "Workflow" sets a handler for "mySignal" that stores its argument, waits until
 * one is stored, and returns it. The check signals "signal-data" and expects it back. Check:
 * local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

typedef struct state {
    tw_payload value;
    int set;
} state;

static void on_signal(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    state *s = arg;
    s->value = nargs ? args[0] : tw_null();
    s->set = 1;
}

static int is_set(tw_wf *wf, void *arg) { return ((state *)arg)->set; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    state *s = tw_wf_alloc(wf, sizeof(*s));
    if (!s)
        return TW_ENOMEM;
    memset(s, 0, sizeof(*s));
    int rc = tw_set_signal_handler(wf, "mySignal", on_signal, s);
    if (rc == 0)
        rc = tw_await_condition(wf, is_set, s, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for mySignal");
    *result = s->value;
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
