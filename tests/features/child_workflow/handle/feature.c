/*
 * child_workflow/handle: what a child's handle has (its workflow id, its first run id, its
 * result, signalling it) is, in C, a child's future: "Workflow" starts "ChildWorkflow" with
 * the id "<parent id>-child", reads the id and run id with tw_child_execution() (the run id
 * NULL before the start, set once started), signals it "finish" with "done" through the
 * future, and returns {"workflow_id","run_id_before","run_id","result"}; the child waits for
 * "finish" and returns "<its input> <signal>". The check compares the ids with the child's
 * own execution. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char id[200];
    snprintf(id, sizeof(id), "%s-child", tw_wf_info_get(wf)->workflow_id);
    tw_child_options o = {.workflow_id = id};
    tw_future *started, *child;
    tw_payload in = tw_json("\"hello\"");
    int rc = tw_start_child(wf, "ChildWorkflow", &o, &in, 1, &started, &child);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "tw_start_child");
    const char *wid, *before, *run;
    tw_child_execution(wf, child, &wid, &before);
    tw_payload sig = tw_json("\"done\"");
    if ((rc = tw_signal_child(wf, child, "finish", &sig, 1, NULL)))
        return ft_wf_fail_rc(wf, rc, "tw_signal_child");
    tw_child_execution(wf, started, NULL, &run);
    tw_payload res;
    if ((rc = tw_await(wf, child, &res)))
        return ft_wf_fail_rc(wf, rc, "awaiting the child");
    *result = ft_wf_json(wf, "{\"workflow_id\":\"%s\",\"run_id_before\":\"%s\",\"run_id\":\"%s\","
                             "\"result\":%.*s}",
                         wid, before ? before : "(null)", run ? run : "(null)", (int)res.len,
                         (const char *)res.data);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "finish", &sig, &nsig, -1);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "waiting for finish");
    *result = ft_wf_json(wf, "\"%s %s\"", nargs ? ft_string(wf, &args[0]) : "",
                         nsig ? ft_string(wf, &sig[0]) : "");
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
