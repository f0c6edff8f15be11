/*
 * The function handler of the shipped bootstrap. The Temporal worker (pollers, replay,
 * activities, drain) is not written yet; until it is, every invocation is answered with an
 * error that says so rather than pretending to have done work.
 */
#include "runtime/loop.h"

static int fn_init(void **state, rt_error *err)
{
    (void)err;
    *state = NULL;
    return 0;
}

static int fn_invoke(void *state, const rt_invocation *inv, rt_result *res)
{
    (void)state;
    (void)inv;
    rt_error_set(&res->err, "Runtime.WorkerUnavailable",
                 "this bootstrap has no Temporal worker yet");
    return -1;
}

const rt_handler tw_function_handler = {fn_init, fn_invoke, NULL};
