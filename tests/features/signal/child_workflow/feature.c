/*
 * signal/child_workflow: "Workflow" starts "ChildWorkflow" with "child-wf-arg", signals it
 * "my_signal" with "signal-arg" through its handle (tw_signal_child) and returns its result;
 * the child's handler sets its state, the child waits for it and returns
 * "<input> <state>": "child-wf-arg signal-arg". Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *child;
    tw_payload in = tw_json("\"child-wf-arg\"");
    int rc = tw_start_child(wf, "ChildWorkflow", NULL, &in, 1, NULL, &child);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "tw_start_child");
    tw_payload arg = tw_json("\"signal-arg\"");
    if ((rc = tw_signal_child(wf, child, "my_signal", &arg, 1, NULL)))
        return ft_wf_fail_rc(wf, rc, "tw_signal_child");
    rc = tw_await(wf, child, result);
    return rc ? ft_wf_fail_rc(wf, rc, "awaiting the child") : 0;
}

typedef struct state {
    const char *value; /* "" until the signal came */
} state;

static void on_signal(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    ((state *)arg)->value = nargs ? ft_string(wf, &args[0]) : "";
}

static int signalled(tw_wf *wf, void *arg) { return *((state *)arg)->value != '\0'; }

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    state *s = tw_wf_alloc(wf, sizeof(*s));
    if (!s)
        return TW_ENOMEM;
    s->value = "";
    int rc = tw_set_signal_handler(wf, "my_signal", on_signal, s);
    if (rc == 0)
        rc = tw_await_condition(wf, signalled, s, -1);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "waiting for my_signal");
    *result = ft_wf_json(wf, "\"%s %s\"", nargs ? ft_string(wf, &args[0]) : "", s->value);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
