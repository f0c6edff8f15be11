/*
 * steps: the benchmark's long workflow. "Steps" runs n "Step" activities one after the other
 * (n is its input, a JSON number; 500 in make bench), then sleeps one second, and returns the
 * sum of their results. "Step" returns its input. A workflow of n steps has about 2n + 2
 * workflow tasks and 6n + 10 events, so what each task costs as the history grows shows up
 * here (bench/compare.sh sums the tasks' times). The Go peer registers the same
 * (bench/peer/workflows.go).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw.h"

/* A JSON number in, at most 31 characters; anything else reads as 0. */
static long read_number(const tw_payload *p)
{
    char buf[32] = "0";
    if (p->len < sizeof(buf)) {
        memcpy(buf, p->data, p->len);
        buf[p->len] = '\0';
    }
    return strtol(buf, NULL, 10);
}

static int step(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char *out = tw_act_alloc(act, 32);
    if (!out)
        return TW_ENOMEM;
    int len = snprintf(out, 32, "%ld", nargs ? read_number(&args[0]) : 0L);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)len};
    return 0;
}

static int steps(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long n = nargs ? read_number(&args[0]) : 0, sum = 0;
    tw_activity_options o = {.start_to_close_ms = 10000};
    for (long i = 0; i < n; i++) {
        char num[32]; /* arguments are borrowed for the call only */
        snprintf(num, sizeof(num), "%ld", i);
        tw_payload arg = tw_json(num), r;
        int rc = tw_execute_activity(wf, "Step", &o, &arg, 1, &r);
        if (rc)
            return rc;
        sum += read_number(&r);
    }
    int rc = tw_sleep(wf, 1000);
    if (rc)
        return rc;
    char *out = tw_wf_alloc(wf, 32);
    if (!out)
        return TW_ENOMEM;
    int len = snprintf(out, 32, "%ld", sum);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)len};
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Steps", steps, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Step", step);
}

TW_LIBRARY(setup)
