/*
 * child_workflow/start: "Workflow" starts "ChildWorkflow" ("child-input"; parent close policy
 * ABANDON, so the child outlives the parent) and, once it started, returns its workflow id and
 * first run id {"workflow_id":..,"run_id":..}; the check then gets the child's result through
 * the client with those ids. Extra: the child starts with the memo {"note":"from-parent"} and
 * the search attribute CustomKeywordField "from-parent", which the check reads back.
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char *keys[] = {"note"};
    tw_payload values[] = {tw_json("\"from-parent\"")};
    tw_search_attribute sa = {.name = "CustomKeywordField", .type = TW_SA_KEYWORD,
                              .str = "from-parent"};
    tw_child_options o = {.parent_close_policy = TW_PARENT_CLOSE_ABANDON, .memo_keys = keys,
                          .memo_values = values, .nmemo = 1, .search_attributes = &sa,
                          .nsearch_attributes = 1};
    tw_future *started;
    tw_payload in = tw_json("\"child-input\"");
    int rc = tw_start_child(wf, "ChildWorkflow", &o, &in, 1, &started, NULL);
    if (rc == 0)
        rc = tw_await(wf, started, NULL);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting the child");
    const char *id, *run;
    tw_child_execution(wf, started, &id, &run);
    *result = ft_wf_json(wf, "{\"workflow_id\":\"%s\",\"run_id\":\"%s\"}", id, run);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
