/*
 * signal/external: "Workflow" receives one signal "external_signal_channel" (channel style,
 * no handler) and returns its argument; the check sends "Signaled!" from the client. Check:
 * local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "external_signal_channel", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "receiving the signal");
    *result = nsig ? sig[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
