/*
 * data_converter/failure: "Workflow" fails with "main error" (type "customType") caused by
 * "cause error". The library registers a codec that only asks for encoded failure attributes
 * (as sdk-go's failure converter with EncodeCommonAttributes): the history's failure and its
 * cause say "Encoded failure" with an empty stack trace, their message in json/plain encoded
 * attributes; the client, with the same converter, reads "main error". Check:
 * local/temporal/driver/feature_dc.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_failure cause = {.type = "", .message = "cause error"};
    tw_failure f = {.type = "customType", .message = "main error", .cause = &cause};
    return tw_wf_fail(wf, &f);
}

static int setup(tw_registry *r)
{
    static const tw_codec attributes = {.encode_failure_attributes = 1};
    int rc = tw_register_codec(r, &attributes, NULL);
    return rc ? rc : tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
}

TW_LIBRARY(setup)
