/*
 * signal/prevent_close: "Workflow" collects the numbers of "add" signals; once it has one, it
 * blocks its thread for 300 ms (so a signal can arrive while the workflow task that completes
 * it runs) and returns the numbers it has, as a JSON array. A signal that arrives during that
 * task must not be lost: the server refuses the completion and the next task runs the workflow
 * with both. Check: local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

#define MAX_VALUES 16

typedef struct state {
    long long values[MAX_VALUES];
    size_t n;
} state;

static void on_add(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    state *s = arg;
    if (nargs && s->n < MAX_VALUES)
        s->values[s->n++] = ft_number(&args[0], NULL);
}

static int has_values(tw_wf *wf, void *arg) { return ((state *)arg)->n > 0; }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    state *s = tw_wf_alloc(wf, sizeof(*s));
    if (!s)
        return TW_ENOMEM;
    memset(s, 0, sizeof(*s));
    int rc = tw_set_signal_handler(wf, "add", on_add, s);
    if (rc == 0)
        rc = tw_await_condition(wf, has_values, s, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for add");
    ft_sleep_ms(300); /* not workflow time: a window for the second signal */
    char *out = tw_wf_alloc(wf, 16 + MAX_VALUES * 24);
    if (!out)
        return TW_ENOMEM;
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < s->n; i++)
        len += (size_t)sprintf(out + len, "%s%lld", i ? "," : "", s->values[i]);
    out[len++] = ']';
    *result = (tw_payload){"json/plain", (const uint8_t *)out, len};
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
