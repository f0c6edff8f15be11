/*
 * child_workflow/throws_on_start: "Workflow" starts "ChildWorkflow" as "<parent id>-child" and
 * waits until it runs, then starts a second child with the same id and the REJECT_DUPLICATE id
 * reuse policy: that start fails (the started future, and the result's too) with
 * "ChildWorkflowExecutionAlreadyStarted". It then signals the first child "exit", awaits it,
 * and returns {"second":"<failure type>","second_result":"<its type>","first":<result>}.
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char id[200];
    snprintf(id, sizeof(id), "%s-child", tw_wf_info_get(wf)->workflow_id);
    tw_child_options o = {.workflow_id = id};
    tw_future *s1, *r1, *s2, *r2;
    int rc = tw_start_child(wf, "ChildWorkflow", &o, NULL, 0, &s1, &r1);
    if (rc == 0)
        rc = tw_await(wf, s1, NULL);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting the first child");
    o.id_reuse_policy = TW_ID_REUSE_REJECT_DUPLICATE;
    if ((rc = tw_start_child(wf, "ChildWorkflow", &o, NULL, 0, &s2, &r2)))
        return ft_wf_fail_rc(wf, rc, "tw_start_child");
    rc = tw_await(wf, s2, NULL);
    const char *second = rc == TW_EFAILED ? ft_failure_type(wf) : "started";
    rc = tw_await(wf, r2, NULL);
    const char *second_result = rc == TW_EFAILED ? ft_failure_type(wf) : "completed";
    if ((rc = tw_signal_child(wf, r1, "exit", NULL, 0, NULL)))
        return ft_wf_fail_rc(wf, rc, "tw_signal_child");
    tw_payload first;
    if ((rc = tw_await(wf, r1, &first)))
        return ft_wf_fail_rc(wf, rc, "awaiting the first child");
    *result = ft_wf_json(wf, "{\"second\":\"%s\",\"second_result\":\"%s\",\"first\":%.*s}", second,
                         second_result, (int)first.len, (const char *)first.data);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "exit", NULL, NULL, -1);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "waiting for exit");
    *result = tw_json("\"exited\"");
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
