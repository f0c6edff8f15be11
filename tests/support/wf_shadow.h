/*
 * wf_shadow: sticky execution checked against full replay, on every task a test replays. Each
 * task is run a second time on a run kept between tasks (wf_exec, as the worker's cache keeps
 * it), given only the events after the ones that run processed, and its answer must be exactly
 * the full replay's: the same failure or the same commands, messages, query answers and stack
 * trace, byte for byte. When the kept run cannot continue the history (the test cut or changed
 * it, or the last task closed the workflow or failed), a new run starts from the first event,
 * as the worker falls back. Failures abort the test (cmocka).
 */
#ifndef TW_WF_SHADOW_H
#define TW_WF_SHADOW_H

#include <stdint.h>

#include "temporal/engine/wf.h"

typedef struct wf_shadow {
    wf_exec *x;               /* the kept run, or NULL */
    const tw_registry *reg;   /* what it runs */
    char type[128];
    const pb_event *last;     /* the last event it processed, to tell the history is the same */
    int tasks, continued;     /* tasks checked; of them, run on a kept run */
    int off;                  /* set by a test whose code counts its own runs in a global */
} wf_shadow;

/* Runs |in| (a whole history, no pages) on the kept run and checks the answer against |full|,
 * the answer of a full replay of the same |in|. Legacy queries (|in|->query_only) and paged
 * histories are not checked. */
void ws_check(wf_shadow *s, const tw_registry *reg, const wf_input *in, const wf_output *full);
/* Frees the kept run. */
void ws_free(wf_shadow *s);

#endif
