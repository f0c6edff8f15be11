/*
 * search_attributes/memo_header (ours, not upstream): the memo and headers end to end.
 * "Workflow" reads memo "note" and header "trace-id" of its start, upserts memo "status" =
 * "done" and removes "note" (ModifyWorkflowProperties), sets "trace-id" (the start's) and
 * "hop" = "workflow" on its next commands, and runs activity "Traced", which returns its own
 * header's "trace-id" and "hop". The workflow returns {"note":<memo note>,"trace":<header>,
 * "status":<memo status read back>,"activity":<Traced's result>}. Check:
 * local/temporal/driver/feature_sa.go.
 */
#include "feature.h"

static const char *text(const tw_payload *p, int *len)
{
    *len = p ? (int)p->len : 4;
    return p ? (const char *)p->data : "null";
}

static int traced(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int lt, lh;
    const char *t = text(tw_act_header(act, "trace-id"), &lt);
    const char *h = text(tw_act_header(act, "hop"), &lh);
    *result = ft_act_json(act, "{\"trace\":%.*s,\"hop\":%.*s}", lt, t, lh, h);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_payload *note = tw_wf_memo(wf, "note");
    const tw_payload *trace = tw_wf_header(wf, "trace-id");
    tw_payload done = tw_json("\"done\"");
    int rc = tw_upsert_memo(wf, "status", &done);
    if (rc == 0)
        rc = tw_upsert_memo(wf, "note", NULL);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "memo upsert");
    tw_payload hop = tw_json("\"workflow\"");
    if ((trace && (rc = tw_set_header(wf, "trace-id", trace))) ||
        (rc = tw_set_header(wf, "hop", &hop)))
        return ft_wf_fail_rc(wf, rc, "tw_set_header");
    tw_activity_options o = {.start_to_close_ms = 10000};
    tw_payload got;
    if ((rc = tw_execute_activity(wf, "Traced", &o, NULL, 0, &got)))
        return rc;
    int ln, lt, ls;
    const char *n = text(note, &ln), *t = text(trace, &lt);
    const char *s = text(tw_wf_memo(wf, "status"), &ls);
    *result = ft_wf_json(wf, "{\"note\":%.*s,\"trace\":%.*s,\"status\":%.*s,\"activity\":%.*s}",
                         ln, n, lt, t, ls, s, (int)got.len, (const char *)got.data);
    return 0;
}

static int setup(tw_registry *r)
{
    if (tw_register_workflow(r, "Workflow", workflow, TW_PINNED))
        return -1;
    return tw_register_activity(r, "Traced", traced);
}

TW_LIBRARY(setup)
