/*
 * activity/heartbeating: "HeartbeatingActivity" has a 2 s heartbeat timeout. Its first attempt
 * heartbeats its progress 20000 times in a tight loop (the runtime throttles: the calls are not
 * RPCs, and the server ends up with the latest details), then goes silent for 5 s, so the
 * server times the attempt out (heartbeat timeout) and retries. The second attempt starts from
 * the details the server kept and returns {"attempt":2,"resumed_from":20000}, which "Workflow"
 * returns. Check: local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

#define STEPS 20000

static int heartbeating(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_act_info *info = tw_act_info_get(act);
    long long from = info->nheartbeat_details ? ft_number(&info->heartbeat_details[0], NULL) : 0;
    if (info->attempt == 1) {
        for (int i = 1; i <= STEPS; i++) {
            char progress[16];
            snprintf(progress, sizeof(progress), "%d", i);
            tw_payload d = tw_json(progress);
            if (tw_heartbeat(act, &d, 1) == TW_ECANCELED)
                break;
        }
        ft_sleep_ms(5000); /* silent past the heartbeat timeout */
        return tw_act_fail(act, &(tw_failure){.message = "attempt 1 should have timed out"});
    }
    *result = ft_act_json(act, "{\"attempt\":%d,\"resumed_from\":%lld}", (int)info->attempt, from);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy rp = {.initial_interval_ms = 100, .backoff_coefficient = 1.0, .maximum_attempts = 3};
    tw_activity_options o = {.start_to_close_ms = 30000, .heartbeat_ms = 2000, .retry = &rp};
    int rc = tw_execute_activity(wf, "HeartbeatingActivity", &o, NULL, 0, result);
    return rc == 0 ? 0 : ft_wf_fail_rc(wf, rc, "HeartbeatingActivity");
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "HeartbeatingActivity", heartbeating);
}

TW_LIBRARY(setup)
