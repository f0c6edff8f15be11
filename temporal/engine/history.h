/*
 * history: a workflow's history as the replay consumes it, one batch per workflow task whose
 * code runs (as sdk-go's history iterator and nextTask()). A batch is every event after the
 * previous batch up to and including the WorkflowTaskStarted of a task attempt that completed,
 * or of the current task; the attempts that failed or timed out on the way (a
 * WorkflowTaskStarted followed by WorkflowTaskFailed / TimedOut) stay inside the batch, so
 * their events are still seen (a reset point is a WorkflowTaskFailed), but the code never runs
 * there. Events after the last such WorkflowTaskStarted make a last batch that runs no code.
 *
 * Pages are loaded only when the batch needs the next event, through the caller's callback
 * (the worker fetches GetWorkflowExecutionHistory pages), so a history is never held twice.
 * Every event is checked as it is read: ids must run 1, 2, 3, ... (a hole means a page went
 * missing: "missing history events"), and an event the engine reads must carry its own
 * attributes (cmd.h's ev_problem). A history failing a check ends the iteration with a message
 * naming the event; the task then fails (UNHANDLED_FAILURE) and the server retries it.
 *
 * Memory: batches and pages live in the caller's arena. Not thread-safe (one task, one thread).
 */
#ifndef TW_HISTORY_H
#define TW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/proto.h"

/* Loads the next page of the history into |a|: *|events| and *|n| (*|n| = 0: there is no more).
 * Returns 0, or -1 with |err| saying why (the task fails with it). */
typedef int (*history_page_fn)(void *ctx, arena *a, pb_event *const **events, size_t *n,
                               char *err, size_t errlen);

typedef struct history_iter history_iter;

typedef struct history_batch {
    pb_event *const *events;
    size_t n;
    int runs_code;   /* the last event is a WorkflowTaskStarted whose code runs */
    int last;        /* no event follows: this is the task being answered */
} history_batch;

/* An iterator over |first| (|nfirst| events) and the pages |more| (may be NULL: |first| is the
 * whole history) loads; |ctx| is |more|'s. |first_id| is the id the first event must have: 1
 * for a whole history, the event after the last one processed for the rest of a history a
 * cached run continues (a sticky task's partial history). NULL when |a| is full. */
history_iter *history_open(arena *a, int64_t first_id, pb_event *const *first, size_t nfirst,
                           history_page_fn more, void *ctx);
/* The next batch: 1, 0 at the end, -1 when the history is unreadable or a page could not be
 * loaded (history_error() says why, naming the event). */
int history_next(history_iter *h, history_batch *b);
/* The batch history_next() returns next, without taking it (the current batch stays valid):
 * what history_next() will return. The update protocol needs it: a task's UpdateAccepted
 * events come after it, yet the update ran in it (sdk-go's nextTask() reads ahead too). */
int history_peek(history_iter *h, history_batch *b);
const char *history_error(const history_iter *h);
/* The id of the last event read so far (first_id - 1 before any). */
int64_t history_last_id(const history_iter *h);

#endif
