/*
 * update/basic: the handler of "my-update-name" stores its string argument and returns
 * "update-result:ARG"; "Workflow" waits until an argument is stored and returns
 * "workflow-result:ARG". Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int my_update(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char **stored = arg;
    *stored = nargs ? ft_string(wf, &args[0]) : "";
    *result = ft_wf_json(wf, "\"update-result:%s\"", *stored);
    return 0;
}

static int stored(tw_wf *wf, void *arg) { return *(const char **)arg != NULL; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char **arg = tw_wf_alloc(wf, sizeof(*arg));
    if (!arg)
        return TW_ENOMEM;
    *arg = NULL;
    int rc = tw_set_update_handler(wf, "my-update-name", my_update, NULL, arg);
    if (rc == 0)
        rc = tw_await_condition(wf, stored, arg, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for the update");
    *result = ft_wf_json(wf, "\"workflow-result:%s\"", *arg);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
