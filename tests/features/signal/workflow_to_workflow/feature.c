/*
 * signal/workflow_to_workflow: "Receiver" receives the signal "greet" and returns its argument.
 * "Sender" (arguments: the receiver's id, the id of a workflow that does not exist) signals the
 * receiver with "hello from the sender", then the missing workflow, and returns
 * {"signalled":"ok","missing":TYPE}: the first signal's future resolved, the second failed with
 * a failure of type TYPE ("ExternalWorkflowExecutionNotFound"). Check:
 * local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

static int receiver(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "greet", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "receiving greet");
    *result = nsig ? sig[0] : tw_null();
    return 0;
}

/* Signals |target| and waits: "ok", or the failure's type. */
static const char *signal_and_wait(tw_wf *wf, const char *target)
{
    tw_payload hello = tw_json("\"hello from the sender\"");
    tw_future *f;
    int rc = tw_signal_external(wf, target, "", "greet", &hello, 1, &f);
    if (rc == 0)
        rc = tw_await(wf, f, NULL);
    if (rc == 0)
        return "ok";
    return rc == TW_EFAILED ? ft_failure_type(wf) : "error";
}

static int sender(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 2)
        return ft_wf_fail(wf, "want 2 arguments (the receiver's id, a missing id), got %zu", nargs);
    const char *sent = signal_and_wait(wf, ft_string(wf, &args[0]));
    const char *missing = signal_and_wait(wf, ft_string(wf, &args[1]));
    *result = ft_wf_json(wf, "{\"signalled\":\"%s\",\"missing\":\"%s\"}", sent, missing);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Receiver", receiver, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "Sender", sender, TW_PINNED);
}

TW_LIBRARY(setup)
