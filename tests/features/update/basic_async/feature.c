/*
 * update/basic_async: "my_update" has a validator that rejects the argument "bad-update-arg"
 * ("Invalid Update argument"); its handler stores the argument and returns "update-result".
 * "Workflow" waits until an argument is stored and returns it. The check sends both updates
 * waiting only for the accepted stage. Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int validate(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    if (nargs && ft_is(&args[0], "\"bad-update-arg\""))
        return tw_wf_fail(wf, &(tw_failure){.type = "ValueError", .message = "Invalid Update argument"});
    return 0;
}

static int my_update(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *(const char **)arg = nargs ? ft_string(wf, &args[0]) : "";
    *result = tw_json("\"update-result\"");
    return 0;
}

static int stored(tw_wf *wf, void *arg) { return *(const char **)arg != NULL; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char **state = tw_wf_alloc(wf, sizeof(*state));
    if (!state)
        return TW_ENOMEM;
    *state = NULL;
    int rc = tw_set_update_handler(wf, "my_update", my_update, validate, state);
    if (rc == 0)
        rc = tw_await_condition(wf, stored, state, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for the update");
    *result = ft_wf_json(wf, "\"%s\"", *state);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
