/*
 * update/self: "Workflow" sets the handler of "update!" (it sets the state to "called"), runs
 * "SelfUpdateActivity" (3 s) and, once the activity's future returned, requires the state
 * "called" and returns it. In the Go scenario the activity sends the update with its own client;
 * a C activity has none, so the check sends it while the activity runs. Check:
 * local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int self_update_activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(3000);
    *result = tw_null();
    return 0;
}

static int update(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *(const char **)arg = "called";
    *result = tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const char **state = tw_wf_alloc(wf, sizeof(*state));
    if (!state)
        return TW_ENOMEM;
    *state = "not called";
    int rc = tw_set_update_handler(wf, "update!", update, NULL, state);
    tw_payload ignored;
    tw_activity_options o = {.start_to_close_ms = 10000};
    if (rc == 0)
        rc = tw_execute_activity(wf, "SelfUpdateActivity", &o, NULL, 0, &ignored);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "SelfUpdateActivity");
    if (strcmp(*state, "called") != 0)
        return ft_wf_fail(wf, "expected state == \"called\" but found \"%s\"", *state);
    *result = tw_json("\"called\"");
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "SelfUpdateActivity", self_update_activity);
}

TW_LIBRARY(setup)
