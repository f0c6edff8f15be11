/*
 * continue_as_new/signals_block_continue_as_new: the first run of "Workflow" collects the
 * numbers of "add" signals, blocks its thread 500 ms (a window for a signal to reach the
 * server while the task runs) and continues as new with the numbers it has, as a JSON array;
 * the next run returns that array. A signal that arrives during the task that continues must
 * not be lost: the server refuses that answer and the next task of the first run handles it
 * before continuing. Check: local/temporal/driver/feature_can.go.
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

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (tw_wf_info_get(wf)->continued_run_id) {
        *result = nargs ? args[0] : tw_null();
        return 0;
    }
    state *s = tw_wf_alloc(wf, sizeof(*s));
    char *out = tw_wf_alloc(wf, 16 + MAX_VALUES * 24);
    if (!s || !out)
        return TW_ENOMEM;
    memset(s, 0, sizeof(*s));
    int rc = tw_set_signal_handler(wf, "add", on_add, s);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "setting the handler");
    ft_sleep_ms(500); /* not workflow time: the window for the signal */
    size_t len = 0;
    out[len++] = '[';
    for (size_t i = 0; i < s->n; i++)
        len += (size_t)sprintf(out + len, "%s%lld", i ? "," : "", s->values[i]);
    out[len++] = ']';
    tw_payload next = {"json/plain", (const uint8_t *)out, len};
    return tw_continue_as_new(wf, NULL, &next, 1);
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
