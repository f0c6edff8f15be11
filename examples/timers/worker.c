/*
 * timers: parallel activities with futures, a timer, and select. "FanOut" starts one
 * "Square" activity per number it is given plus a timer, reports which finished first, waits
 * for all, sleeps a little, and returns the sum of the squares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw.h"

/* "7" -> "49" */
static int square(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char num[32] = "0";
    if (nargs && args[0].len < sizeof(num)) {
        memcpy(num, args[0].data, args[0].len);
        num[args[0].len] = '\0';
    }
    long v = strtol(num, NULL, 10);
    char *out = tw_act_alloc(act, 32);
    if (!out)
        return TW_ENOMEM;
    int n = snprintf(out, 32, "%ld", v * v);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
    return 0;
}

/* Input: a JSON array of up to 8 small integers, e.g. [1,2,3]. */
static int fan_out(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *fs[9];
    size_t n = 0;
    const char *p = nargs ? (const char *)args[0].data : "[]";
    const char *end = p + (nargs ? args[0].len : 2);
    tw_activity_options o = {.start_to_close_ms = 10000};
    while (p < end && n < 8) {
        while (p < end && (*p < '0' || *p > '9'))
            p++;
        if (p >= end)
            break;
        const char *q = p;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        char *num = tw_wf_alloc(wf, (size_t)(q - p) + 1);
        memcpy(num, p, (size_t)(q - p));
        num[q - p] = '\0';
        tw_payload arg = tw_json(num);
        int rc = tw_start_activity(wf, "Square", &o, &arg, 1, &fs[n]);
        if (rc)
            return rc;
        n++;
        p = q;
    }
    tw_future *timer;
    if (tw_start_timer(wf, 30000, &timer))
        return TW_EINVAL;
    fs[n] = timer;
    size_t first;
    tw_select(wf, fs, n + 1, &first); /* the activities beat a 30 s timer */
    long sum = 0;
    for (size_t i = 0; i < n; i++) {
        tw_payload r;
        if (tw_await(wf, fs[i], &r) != 0)
            return tw_wf_fail(wf, &(tw_failure){.type = "SquareFailed", .message = "an activity failed"});
        char buf[32] = "0";
        if (r.len < sizeof(buf)) {
            memcpy(buf, r.data, r.len);
            buf[r.len] = '\0';
        }
        sum += strtol(buf, NULL, 10);
    }
    tw_sleep(wf, 1000);
    char *out = tw_wf_alloc(wf, 64);
    int len = snprintf(out, 64, "{\"sum\":%ld,\"first\":%zu}", sum, first);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)len};
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "FanOut", fan_out, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Square", square);
}

TW_LIBRARY(setup)
