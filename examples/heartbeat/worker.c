/*
 * heartbeat: a long activity that reports progress with heartbeats and resumes from the last
 * reported step when it is retried (for example after a Lambda invocation ended under it).
 * "CountTo" counts to the given number, one step every 200 ms.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw.h"

static long number(const tw_payload *p)
{
    char buf[32] = "0";
    if (p && p->len < sizeof(buf)) {
        memcpy(buf, p->data, p->len);
        buf[p->len] = '\0';
    }
    return strtol(buf, NULL, 10);
}

static int count_to(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_act_info *info = tw_act_info_get(act);
    long goal = nargs ? number(&args[0]) : 10;
    long start = info->nheartbeat_details ? number(&info->heartbeat_details[0]) : 0;
    for (long i = start; i < goal; i++) {
        struct timespec step = {0, 200 * 1000000L};
        nanosleep(&step, NULL);
        char progress[32];
        snprintf(progress, sizeof(progress), "%ld", i + 1);
        tw_payload d = tw_json(progress);
        if (tw_heartbeat(act, &d, 1) == TW_ECANCELED)
            return tw_act_fail(act, &(tw_failure){.type = "Cancelled", .message = "stopped"});
    }
    char *out = tw_act_alloc(act, 64);
    int n = snprintf(out, 64, "{\"counted\":%ld,\"resumed_from\":%ld,\"attempt\":%d}", goal, start,
                     (int)info->attempt);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
    return 0;
}

static int long_count(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy rp = {.initial_interval_ms = 200, .backoff_coefficient = 1.0};
    tw_activity_options o = {.start_to_close_ms = 60000, .heartbeat_ms = 2000, .retry = &rp};
    tw_payload goal = nargs ? args[0] : tw_json("10");
    return tw_execute_activity(wf, "CountTo", &o, &goal, 1, result);
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "LongCount", long_count, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "CountTo", count_to);
}

TW_LIBRARY(setup)
