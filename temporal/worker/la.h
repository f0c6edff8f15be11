/*
 * la: the local activities of one workflow task, run by the worker (the engine asks for them
 * in a task's answer, wf.h's wf_local_request, and takes their outcomes back with
 * wf_exec_local_done). Each attempt runs on a thread of its own (act.c's act_local_run); the
 * retries within the local retry threshold, the backoff between them, and the timeouts
 * (start-to-close per attempt, schedule-to-close over all of them) are decided here, by the
 * workflow task's thread waiting in la_wait(). A backoff over the threshold is handed back
 * to the engine (a durable timer). An attempt that overruns its timeout is told to cancel and
 * left behind: its result is dropped (threads cannot be stopped), as the official SDKs drop
 * a timed-out local activity's result.
 *
 * Ownership and threading: an la_set belongs to the workflow task thread that made it; only it
 * calls la_*. Attempt threads share the set's state under its own mutex and hold a reference to
 * it, so la_set_free() may return while attempts still run: they end on their own (told to
 * cancel), free themselves and drop their reference (the worker's reference they hold keeps
 * the worker alive until then, as for activities).
 */
#ifndef TW_LA_H
#define TW_LA_H

#include <stdint.h>

#include "temporal/engine/arena.h"
#include "temporal/engine/wf.h"

typedef struct worker worker;
typedef struct la_set la_set;

/* The local activities of workflow |workflow_id| / |run_id| / |workflow_type| (copied), their
 * attempts' deadlines bounded by Unix ms |deadline_ms| (the end of the invocation's drain).
 * NULL when out of memory. */
la_set *la_set_new(worker *w, const char *workflow_id, const char *run_id,
                   const char *workflow_type, int64_t deadline_ms);
/* Starts |r| (copied): its first attempt now, or, when it was cancelled before it started,
 * an outcome "cancelled" for the next la_wait(). 0, or -1 (out of memory, no thread: the
 * outcome is then a failure for la_wait() to report, so the workflow sees it). */
int la_start(la_set *s, const wf_local_request *r);
/* The engine cancelled |seq|: its running attempt is told (tw_act_cancelled), a backoff in
 * between ends at once with the outcome "cancelled". Unknown |seq|: nothing. */
void la_cancel(la_set *s, uint32_t seq);
/* The stop: every attempt is told to cancel, and none is retried any more. */
void la_cancel_all(la_set *s);
/* Waits until a local activity has an outcome, or the monotonic time |until_ms|: 1 with *r
 * set (its result and failure copied into |a|), 0 at |until_ms|. */
int la_wait(la_set *s, int64_t until_ms, arena *a, wf_local_result *r);
/* Local activities started and without an outcome reported yet. */
int la_pending(la_set *s);
/* Frees |s|; attempts still running are told to cancel (not those of ABANDON) and their
 * outcomes dropped. NULL: no-op. */
void la_set_free(la_set *s);

/* How la_drive() ended. */
enum {
    LA_DONE = 0,      /* every local activity the run waits for has its outcome in |out| */
    LA_HEARTBEAT,     /* |beat_at| came first: complete the task as it is (|out|), asking for a
                       * new one (force_create_new_workflow_task) to carry on with them */
    LA_GIVE_UP,       /* the invocation stops: complete the task with what ended for good (the
                       * rest runs again in the workflow's next task, from its first attempt)
                       * and a new task forced, not handed back; the run is not kept */
    LA_FAILED = -1,   /* the task fails: |out| says why */
};
/* The answer a task waits for at most this long (ms) after the local activities are given up. */
#define LA_ANSWER_MS 400
/* How often (ms) a waiting task looks whether the invocation stops. */
#define LA_STOP_CHECK_MS 100
/* Runs the local activities |out| (the answer wf_exec_task() or wf_exec_local_done() gave for
 * run |x|, in the task's arena |a|) asks for, on |s|, feeding each outcome back to |x|
 * (wf_exec_local_done, |code_since| the slot's), which may ask for more, until one of the ends
 * above; |out| is then the answer to send, with the first answer's query results. |beat_at|
 * (monotonic ms) is when the task must be completed to stay within its timeout. At the stop
 * (worker_stopping) the attempts are told to cancel and the task is given up once they all
 * ended or at the drain's end. */
int la_drive(worker *w, la_set *s, wf_exec *x, arena *a, int64_t *code_since, wf_output *out,
             int64_t beat_at);

#endif
