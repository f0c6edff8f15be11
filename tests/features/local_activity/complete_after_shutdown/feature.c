/*
 * local_activity/complete_after_shutdown: local activity "Outlast" runs until shortly before
 * its deadline (tw_act_info's deadline_ms: here the end of the invocation's drain), ignoring
 * the cancel the stop sends, and completes during the stop (30 s invocations). The worker
 * waits for it within the drain and completes the task with its marker; the workflow returns
 * its result. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int outlast(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int64_t until = tw_act_info_get(act)->deadline_ms - 300;
    struct timespec now;
    for (;;) {
        clock_gettime(CLOCK_REALTIME, &now);
        if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= until)
            break;
        ft_sleep_ms(20);
    }
    *result = tw_act_cancelled(act) ? tw_json("\"completed after the stop began\"")
                                    : tw_json("\"completed before the stop\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 300000};
    int rc = tw_execute_local_activity(wf, "Outlast", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Outlast", outlast);
}

TW_LIBRARY(setup)
