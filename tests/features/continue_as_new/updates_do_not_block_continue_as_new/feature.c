/*
 * continue_as_new/updates_do_not_block_continue_as_new: the first run of "Workflow" blocks its
 * thread 700 ms in its first task (a window for an update to be admitted while the task runs)
 * and continues as new; the next run sets the "update" handler, which answers the run id it
 * runs on, waits until it ran, and returns its run id. An update admitted during the task that
 * continues does not block it: it is handled on the new run. Check:
 * local/temporal/driver/feature_can.go.
 */
#include "feature.h"

static int update(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *(int *)arg = 1;
    *result = ft_wf_json(wf, "\"%s\"", tw_wf_info_get(wf)->run_id);
    return 0;
}

static int received(tw_wf *wf, void *arg) { return *(int *)arg; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_wf_info *info = tw_wf_info_get(wf);
    if (!info->continued_run_id) {
        if (info->history_length <= 3)
            ft_sleep_ms(700); /* not workflow time: the window for the update */
        return tw_continue_as_new(wf, NULL, NULL, 0);
    }
    int *got = tw_wf_alloc(wf, sizeof(*got));
    if (!got)
        return TW_ENOMEM;
    *got = 0;
    int rc = tw_set_update_handler(wf, "update", update, NULL, got);
    if (rc == 0)
        rc = tw_await_condition(wf, received, got, -1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for the update");
    *result = ft_wf_json(wf, "\"%s\"", info->run_id);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
