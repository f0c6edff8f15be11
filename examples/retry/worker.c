/*
 * retry: an activity that fails its first two attempts and succeeds on the third; the
 * workflow's retry policy lets the server retry it. "Flaky" also shows a non-retryable
 * failure reaching the workflow when the input asks for it.
 */
#include <stdio.h>
#include <string.h>

#include "tw.h"

static int flaky(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_act_info *info = tw_act_info_get(act);
    if (nargs && args[0].len == 7 && memcmp(args[0].data, "\"fatal\"", 7) == 0) {
        tw_failure f = {.type = "Fatal", .message = "asked to fail for good", .non_retryable = 1};
        return tw_act_fail(act, &f);
    }
    if (info->attempt < 3) {
        char msg[64];
        snprintf(msg, sizeof(msg), "attempt %d fails on purpose", (int)info->attempt);
        tw_failure f = {.type = "Transient", .message = msg};
        return tw_act_fail(act, &f);
    }
    char *out = tw_act_alloc(act, 48);
    int n = snprintf(out, 48, "{\"succeeded_on_attempt\":%d}", (int)info->attempt);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
    return 0;
}

static int retrying(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy rp = {.initial_interval_ms = 200, .backoff_coefficient = 1.0,
                          .maximum_attempts = 5};
    tw_activity_options o = {.start_to_close_ms = 5000, .retry = &rp};
    tw_payload in = nargs ? args[0] : tw_json("\"ok\"");
    int rc = tw_execute_activity(wf, "Flaky", &o, &in, 1, result);
    if (rc == TW_EFAILED) {
        const tw_failure *why = tw_wf_last_failure(wf);
        tw_failure f = {.type = why && why->type ? why->type : "Error",
                        .message = why ? why->message : "failed"};
        return tw_wf_fail(wf, &f);
    }
    return rc;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Retrying", retrying, TW_AUTO_UPGRADE);
    return rc ? rc : tw_register_activity(r, "Flaky", flaky);
}

TW_LIBRARY(setup)
