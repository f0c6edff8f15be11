/*
 * worker_int: what the worker's own files share (worker.c: lifecycle and the stop; wfpoll.c:
 * workflow task threads, their polls and the deadlock watchdog; wft.c: one workflow task;
 * wfcache.c: the workflow cache; act.c: activities and heartbeats; api.c: the tw_api table).
 * Nothing outside temporal/worker/ includes this.
 *
 * Ownership: worker_run() makes the worker with one reference; every thread it starts
 * (workflow task threads, activity pollers, the heartbeat sender, activity threads,
 * fail-backs) takes one more and drops it when it ends, and the last one frees the worker, its
 * channel and its workflow cache. A thread stuck in user code therefore keeps the worker
 * alive; the invocation is answered without it.
 *
 * Workflow tasks (wfpoll.c, wft.c): one thread per slot; at most TEMPORAL_WORKFLOW_TASK_POLLERS
 * of them poll at once (the task queue, or this invocation's sticky queue), the others wait
 * their turn; a thread whose poll brings a task runs it (and the next task the server hands
 * back with its answer, return_new_workflow_task) while an idle thread opens the next poll, so
 * polling never waits for a task to run.
 *
 * The workflow cache (wfcache.h) and its threading model: a kept run (the engine's wf_exec:
 * its arena, its coroutines' stacks, handlers, the last event it processed) is resumed by
 * whichever workflow task thread gets its next task: that thread takes the run out of the cache
 * (held: no other thread touches it), runs the task, answers, and gives it back (or drops it:
 * the task failed, the workflow closed, the answer was refused). Nothing of a run is
 * thread-local (coro.h: ucontext stacks, annotated for ASan at every switch; the deadlock
 * watchdog watches the slot running the task, wf_input.code_since). A run in the cache and not
 * held is touched only under the cache's lock (eviction frees it on the evicting thread). The
 * cache is freed with the worker, when no thread holds a run.
 *
 * Time: |hard_ms| (monotonic) is the Lambda deadline minus the answer margin. Every call to
 * Temporal gets worker_call_ms(w, its timeout) = min(timeout, hard - now), so no call runs
 * past it, whatever the network does.
 *
 * Threading: the fields under "under mu" are read and written only with |mu| held; the rest
 * is set before the first thread starts and never changed.
 */
#ifndef TW_WORKER_INT_H
#define TW_WORKER_INT_H

#include <pthread.h>
#include <stdint.h>

#include "temporal/net/grpc.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "registry/reg.h"
#include "temporal/config/settings.h"
#include "temporal/worker/metrics.h"

#define CALL_TIMEOUT_MS 10000
#define POLL_TIMEOUT_MS 70000
/* The server refuses a long poll with less time than this ("Context timeout is too short"). */
#define SERVER_MIN_POLL_MS 2000
#define TASK_ARENA_LIMIT (256u * 1024 * 1024)
#define WORKER_MAX_WF_SLOTS 128
/* How long the next task of a kept run waits for the thread still holding it (answering the
 * last task) before it replays from the first event instead. */
#define CACHE_WAIT_MS 2000

typedef struct worker worker;
typedef WFS(PollWorkflowTaskQueueResponse) wf_task;

enum { SLOT_FREE, SLOT_POLLING, SLOT_RUNNING };

/* One workflow task slot, its thread's: it polls, then runs the task it got, watched for
 * workflow code that does not yield. */
typedef struct wf_slot {
    worker *w;
    int64_t code_since;    /* monotonic ms the code was last resumed, 0 while it is not running
                            * (written by the slot's thread with atomics, read by the
                            * watchdog) */
    int state;             /* under mu: SLOT_* */
    int stuck;             /* under mu: the watchdog found this task's code not yielding */
    int attempt;           /* under mu: the task's attempt (the watchdog reports attempt 1) */
    int query;             /* under mu: a legacy query task (answered as a query, not counted
                            * as a workflow task) */
    char type[128], id[256]; /* under mu: the task's workflow type and id */
    uint8_t *token;        /* under mu: malloc'd copy of the task token */
    size_t token_len;
    /* The slot's thread's alone: a run whose task was completed while its local activities ran
     * (la.h: LA_HEARTBEAT), held with them for the task the server hands back (wft.c). */
    struct wf_exec *la_run;
    struct la_set *la_set;
    char la_run_id[64];
} wf_slot;

struct worker {
    const settings *s;
    const tw_registry *reg;
    const char *ns;
    const char *address;
    char identity[512];
    char instance_key[40];   /* this invocation's worker: polls and ShutdownWorker carry it */
    grpc_channel *ch;
    pb_deployment_options dep;
    int64_t hard_ms;         /* monotonic: nothing of this invocation runs past it */
    int64_t stop_at;         /* monotonic: polling stops then at the latest */
    char sticky_queue[300];  /* this invocation's own workflow task queue; "" without a cache */
    struct wfcache *cache;   /* kept runs (sticky execution); NULL when off */
    int64_t lambda_deadline; /* Unix ms */
    int64_t drain_deadline;  /* Unix ms: the end of the drain, the activities' deadline */
    int poll_complete_on_shutdown; /* the server answers open polls when told we stop */

    pthread_mutex_t mu;
    pthread_cond_t cv;       /* broadcast on every change below */
    /* under mu */
    int refs;
    int stopping;
    int pollers_running;
    int free_slots;          /* activity slots: taken before a poll, given back after */
    struct tw_act *acts;     /* running activities */
    int answers_running;     /* fail-backs and watchdog reports being sent */
    int hb_stop;             /* the heartbeat sender is to end */
    int hb_threads;          /* the heartbeat sender and the sends it started, running */
    int stuck_pollers;       /* workflow task threads inside code the watchdog found not
                              * yielding */
    int polls_open, max_polls; /* workflow polls open; at most max_polls (set at the start) */
    int nslots;
    wf_slot slots[WORKER_MAX_WF_SLOTS];
    int wf_running;          /* workflow tasks being run (not counting stuck ones) */
    int pending_sticky, pending_normal; /* workflow polls open on each queue */
    int64_t sticky_backlog;  /* the last sticky poll's backlog hint */
    int cache_hits;          /* tasks run on a kept run (only their new events) */
    int cache_misses;        /* tasks replayed from the first event with a cache on */
    int histories_fetched;   /* of those, sticky tasks whose whole history was fetched */
    int64_t last_busy;       /* monotonic ms when a task last arrived or ended */
    int wf_tasks, wf_failed, wf_stuck, acts_done, acts_failed, acts_abandoned, oversized,
        queries;             /* queries answered: legacy query tasks and queries in tasks */
    int polls_ok, poll_errors;
    char poll_error[300];    /* the last poll error, for the invocation's error */
    emf_samples wft_latency, replay, poll_wait; /* the metrics' samples (metrics.h) */
};

/* min(|want|, time left before the hard deadline), at least 1 (a call then fails at once with
 * DEADLINE_EXCEEDED; grpc takes 0 as its default). */
int worker_call_ms(worker *w, int64_t want);
/* With mu held, before opening a long poll: its timeout (POLL_TIMEOUT_MS cut to the time left
 * before the hard deadline), or 0 when less than SERVER_MIN_POLL_MS (and a little slack) is
 * left: no poll can be made any more, and the caller has waited (mu released meanwhile) until
 * the stop began or the time ran out, so it stops polling. */
int worker_poll_ms_locked(worker *w);
/* A unary call whose answer is only checked for success, bounded by worker_call_ms(). With a
 * payload codec the request goes out encoded (codec.h; its answer is not decoded); when the
 * codec fails on it nothing is sent: GRPC_INVALID_ARGUMENT (GRPC_RESOURCE_EXHAUSTED when,
 * encoded, it is over the request limit), as codec_refused() tells. */
int worker_call(worker *w, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *desc, int flags, int timeout_ms,
                grpc_status *st);
/* The same, its answer unpacked into |a| (*|resp|, for the caller to read). */
int worker_call_into(worker *w, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *desc, int timeout_ms, arena *a,
                     ProtobufCMessage **resp, grpc_status *st);
int worker_stopping(worker *w);
/* Adds the milliseconds since |since_us| (metrics_clock_us) to |samples|, one of |w|'s. Takes
 * mu. */
void worker_sample(worker *w, emf_samples *samples, int64_t since_us);
/* Starts |fn|(|arg|) on a detached thread that holds a reference to |w| (it must end with
 * worker_unref) and counts in *|counter| (may be NULL). Called with mu held. 0, or -1 when no
 * thread could be made (nothing changed). */
int worker_spawn_locked(worker *w, void *(*fn)(void *), void *arg, int *counter);
/* The end of such a thread: counts it out of *|counter|, wakes the waiters, drops its
 * reference (the last one frees |w|). Called without mu. */
void worker_thread_done(worker *w, int *counter);
void worker_unref(worker *w);
/* Records a poll's outcome; after an error, waits (backing off, up to 5 s) unless the worker
 * stops meanwhile. |backoff| is the caller's state, 0 at first. */
void worker_poll_outcome(worker *w, const char *what, int code, const grpc_status *st,
                         int64_t *backoff);
pb_task_queue *worker_task_queue(arena *a, const char *name);
/* This invocation's sticky queue (kind STICKY, the task queue as its normal name), in |a|. */
pb_task_queue *worker_sticky_task_queue(worker *w, arena *a);

/* wfpoll.c: a workflow task thread (|arg| is its slot): polls in turn, runs what it got. */
void *wft_poller(void *arg);
/* wfpoll.c: fails the tasks of workflow code that has not yielded for the deadlock timeout.
 * Called by the worker's main thread. */
void wft_watchdog(worker *w);
/* wft.c: runs workflow task |t| (in |a|, which it frees) on |slot|'s thread, and
 * answers it; *|failed| says whether it failed. Returns the next task of the same run when the
 * server handed one back with the answer (in *|next_arena|, the caller's to free), else NULL. */
wf_task *wft_run(worker *w, wf_slot *slot, arena *a, wf_task *t, arena **next_arena,
                 int *failed);
/* wft.c: did the watchdog fail this slot's task already (its code did not yield)? */
int wft_slot_stuck(worker *w, wf_slot *slot);
/* wft.c: RespondWorkflowTaskFailed / RespondQueryTaskCompleted, for the watchdog's reports. */
int wft_respond_task_failed(worker *w, arena *a, ProtobufCBinaryData token, int cause,
                            const char *type, const char *message);
int wft_respond_query(worker *w, arena *a, ProtobufCBinaryData token,
                      const pb_query_result *r, const char *message);

/* act.c */
void *act_poller(void *arg);
void *act_heartbeat_sender(void *arg);
/* Fails back every activity still running (retryable, with its latest heartbeat details), all
 * at once; returns how many. Their answers are dropped when they end. */
int act_abandon_running(worker *w);
/* Is an activity that finished still sending its own answer? Called with mu held. */
int act_answering(const worker *w);
/* act.c: the activity calls of tw_api (tw.h documents them; api.c puts them in the table).
 * Each runs on the activity's own thread. */
const tw_act_info *act_info(tw_act *act);
const tw_payload *act_header(tw_act *act, const char *key); /* ABI 1.2 */
int act_heartbeat(tw_act *act, const tw_payload *details, size_t n);
int act_cancelled(tw_act *act);
int act_worker_stopping(tw_act *act); /* ABI 1.2 */
void *act_alloc(tw_act *act, size_t n);
void act_log(tw_act *act, int level, const char *msg);
int act_fail(tw_act *act, const tw_failure *f);
/* act.c: a local activity's attempt (la.c), run by the user's registered activity function on
 * the calling thread: tw_act_info's is_local is 1, tw_heartbeat records nothing (TW_ECANCELED
 * once cancelled), tw_act_cancelled says whether act_local_cancel() was called. It is never on
 * the worker's list (no heartbeat, no fail-back). act_local_new takes |a| (freed by
 * act_local_free) and borrows |info|'s strings and |args|, which must live as long; NULL when
 * out of memory (|a| is then still the caller's). act_local_run: 0 with *result (its bytes in
 * |a| or static), or negative with *failure (a deep copy in |a|; NULL when out of memory).
 * act_local_cancel may be called from any thread while it runs. */
tw_act *act_local_new(worker *w, arena *a, const tw_act_info *info, const tw_payload *args,
                      size_t nargs);
int act_local_run(tw_act *act, tw_payload *result, tw_failure **failure);
void act_local_cancel(tw_act *act);
void act_local_free(tw_act *act);

#endif
