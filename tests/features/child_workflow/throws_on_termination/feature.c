/*
 * child_workflow/throws_on_termination: "Workflow" starts "ChildWorkflow", which blocks for
 * good; its query "child" answers the child's {"workflow_id","run_id"} once it started. The
 * check queries it, terminates the child, and the parent, which awaits the child's result,
 * fails with the failure it got (a child workflow failure caused by the termination).
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

typedef struct ids {
    tw_future *child;
} ids;

static int answer(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char *id = NULL, *run = NULL;
    tw_child_execution(wf, ((ids *)arg)->child, &id, &run);
    if (!run) {
        tw_failure f = {.type = "NotStarted", .message = "the child has not started yet"};
        return tw_wf_fail(wf, &f);
    }
    *result = ft_wf_json(wf, "{\"workflow_id\":\"%s\",\"run_id\":\"%s\"}", id, run);
    return 0;
}

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ids *s = tw_wf_alloc(wf, sizeof(*s));
    if (!s)
        return TW_ENOMEM;
    int rc = tw_start_child(wf, "ChildWorkflow", NULL, NULL, 0, NULL, &s->child);
    if (rc == 0)
        rc = tw_set_query_handler(wf, "child", answer, s);
    if (rc == 0)
        rc = tw_await(wf, s->child, result);
    return rc ? ft_wf_fail_rc(wf, rc, "awaiting the child") : 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "never", NULL, NULL, -1);
    return rc ? ft_wf_fail_rc(wf, rc, "blocking") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
