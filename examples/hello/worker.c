/*
 * hello: the smallest serverless worker library. The workflow "Greet" runs one activity,
 * "ComposeGreeting", which turns a name (a JSON string) into a greeting.
 *
 * Build: cc -shared -fPIC -fstack-clash-protection -I<sdk>/include -o libhello.so worker.c
 */
#include <stdio.h>
#include <string.h>

#include "tw.h"

/* "\"Temporal\"" -> "\"Hello, Temporal!\"" (a JSON string in, a JSON string out). */
static int compose_greeting(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs < 1 || args[0].len < 2 || args[0].data[0] != '"') {
        tw_failure f = {.type = "BadInput", .message = "expected a name as a JSON string",
                        .non_retryable = 1};
        return tw_act_fail(act, &f);
    }
    size_t n = args[0].len - 2;
    char *out = tw_act_alloc(act, n + 16);
    if (!out)
        return TW_ENOMEM;
    int len = snprintf(out, n + 16, "\"Hello, %.*s!\"", (int)n, (const char *)args[0].data + 1);
    *result = (tw_payload){"json/plain", (const uint8_t *)out, (size_t)len};
    return 0;
}

static int greet(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options o = {.start_to_close_ms = 10000};
    tw_payload name = nargs ? args[0] : tw_json("\"World\"");
    int rc = tw_execute_activity(wf, "ComposeGreeting", &o, &name, 1, result);
    if (rc == TW_EFAILED) {
        const tw_failure *why = tw_wf_last_failure(wf);
        tw_failure f = {.type = "GreetingFailed", .message = why ? why->message : "activity failed"};
        return tw_wf_fail(wf, &f);
    }
    return rc;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Greet", greet, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "ComposeGreeting", compose_greeting);
}

TW_LIBRARY(setup)
