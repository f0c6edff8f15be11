/*
 * wf_build: workflow histories built event by event with every id, time and attribute in the
 * test's hands, for the engine's unit tests on tests/fixtures/lib_wf_semantics.c
 * (test_wf_built.c, test_wf_unreadable.c): failed and timed-out task attempts, reset points,
 * holes in the event ids, events the server would never write. (tests/support/wf_hist.h
 * builds server-shaped histories from the engine's own answers instead.) Everything lives in
 * the history's arena, freed with arena_free(h->a); at most 48 events. Failures abort the
 * test (cmocka); the strings returned live in static buffers.
 */
#ifndef TW_WF_BUILD_H
#define TW_WF_BUILD_H

#include <stdint.h>

#include "registry/reg.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes
#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES

typedef struct wb_hist {
    arena *a;          /* everything below lives here */
    pb_event *ev[48];
    size_t n;
    int64_t now_ms;    /* the time of the events added next */
} wb_hist;

void wb_init(wb_hist *h);
/* |n| bytes of the history's arena. */
void *wb_mem(wb_hist *h, size_t n);
/* A raw event of |type| (attributes unset), at h->now_ms, with the next id. */
pb_event *wb_add(wb_hist *h, int type);

/* WorkflowExecutionStarted with |input| (JSON, or NULL) and |original_run_id| (or NULL). */
void wb_started(wb_hist *h, const char *input, const char *original_run_id);
/* A workflow task attempt, scheduled and started at |ms|. */
void wb_task(wb_hist *h, int64_t ms);
void wb_task_completed(wb_hist *h);
void wb_task_timed_out(wb_hist *h);
void wb_task_failed(wb_hist *h, int cause, const char *new_run_id);
/* ActivityTaskScheduled; returns its event id. */
int64_t wb_activity(wb_hist *h, const char *id, const char *type);
/* ActivityTaskStarted and ActivityTaskCompleted with JSON |result|. */
void wb_activity_done(wb_hist *h, int64_t scheduled, const char *result);
/* TimerStarted and TimerFired. */
void wb_timer(wb_hist *h, const char *id);
/* A new history up to the first workflow task: Started, Scheduled, Started at 1000 ms. */
void wb_first_task(wb_hist *h, const char *input, const char *original_run_id);

/* The fixture library with the engine's functions, for built histories (reg_free it). */
tw_registry *wb_semantics_lib(void);
/* Runs |h| as workflow |type| of run |run_id| in |a|. */
void wb_run(tw_registry *reg, arena *a, const wb_hist *h, const char *type, const char *run_id,
            wf_output *out);

/* The one command of |out|, of |type|. */
pb_command *wb_only_command(const wf_output *out, int type);
/* The result of the workflow completion |out| holds (its one command). */
const char *wb_completion_result(const wf_output *out);
/* The first (and only) argument of the activity command in |out| (its one command). */
const char *wb_activity_argument(const wf_output *out);

#endif
