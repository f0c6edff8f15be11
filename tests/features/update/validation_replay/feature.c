/*
 * update/validation_replay: the validator of "doSomeStuff" accepts only its first call in this
 * process (a process-wide counter: never do this in real code); its handler runs "TheActivity".
 * Every later workflow task replays the accepted update: if replay ran the validator again, it
 * would reject the update and the replay would no longer match the history. "Workflow" waits
 * for "shutdown_signal". Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int validation_count;

static int validate(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    if (++validation_count > 1)
        return tw_wf_fail(wf, &(tw_failure){.message = "failing validation"});
    return 0;
}

static int the_activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("1");
    return 0;
}

static int do_some_stuff(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload ignored;
    tw_activity_options o = {.start_to_close_ms = 5000};
    int rc = tw_execute_activity(wf, "TheActivity", &o, NULL, 0, &ignored);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "TheActivity");
    *result = tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "doSomeStuff", do_some_stuff, validate, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "TheActivity", the_activity);
}

TW_LIBRARY(setup)
