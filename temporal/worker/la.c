/*
 * la: local activities run by the worker, retried with backoff, timed out, cancelled. See la.h.
 *
 * One local activity (an la_item) goes: RUNNING (an attempt thread runs the function) ->
 * its outcome: completed, or failed: retried after a backoff (BACKOFF, then RUNNING again) while
 * the retry policy allows and the backoff is within the local retry threshold; a longer backoff,
 * a failure that may not be retried, or one past the schedule-to-close timeout is the outcome
 * la_wait() reports (DONE), and the item goes. The backoff is sdk-go's: initial interval x
 * coefficient^(attempt - 1), at most the maximum interval; no retry when the next attempt would
 * start after the schedule-to-close deadline, when the attempts are used up, or when the error is
 * non-retryable (its flag, or its type in the policy's list). A cancelled one is never retried.
 *
 * Locking: the set's |mu| guards the items and the attempts' shared fields; it may be held while
 * taking the worker's mu (to start a thread, to cancel an act), never the other way round.
 */
#define _GNU_SOURCE
#include "temporal/worker/la.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/payload.h"
#include "runtime/log.h"
#include "temporal/worker/worker_int.h"

#define ATTEMPT_ARENA_LIMIT (64u * 1024 * 1024)

enum { IT_RUNNING = 1, IT_BACKOFF, IT_DONE };

typedef struct la_attempt {
    la_set *s;
    tw_act *act;               /* its arena holds the copies below and the function's memory */
    tw_act_info info;
    tw_payload *args;
    size_t nargs;
    /* under s->mu */
    int finished;              /* the function returned: rc, result, failure are set */
    int dropped;               /* nobody waits for it: the thread frees it */
    int rc;
    tw_payload result;
    tw_failure *failure;
} la_attempt;

typedef struct la_item {
    wf_local_request req;      /* copied into |a| */
    arena *a;
    int state;                 /* LA_* */
    int cancelled;
    int32_t attempt;           /* the current (or last) attempt */
    int64_t attempt_deadline;  /* monotonic: start-to-close of the running attempt, 0: none */
    int timeout_type;          /* which timeout |attempt_deadline| is (TW_TIMEOUT_*) */
    int64_t close_deadline;    /* monotonic: schedule-to-close, 0: none */
    int64_t retry_at;          /* monotonic: IT_BACKOFF's end */
    la_attempt *cur;           /* IT_RUNNING's attempt */
    /* IT_DONE: the outcome to report */
    int outcome;
    tw_failure *failure;       /* in |a| */
    int64_t backoff_ms;
    struct la_item *next;
} la_item;

struct la_set {
    worker *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* an attempt finished */
    int refs;                  /* under mu: the owner's and one per attempt thread */
    int stopping;              /* under mu: la_cancel_all was called: no more retries */
    la_item *items;
    char *workflow_id, *run_id, *workflow_type;
    int64_t deadline_ms;       /* Unix ms: attempts end by then (the drain's end) */
};

static void set_unref_locked(la_set *s, int *freed)
{
    *freed = --s->refs == 0;
}

static void set_destroy(la_set *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->workflow_id);
    free(s->run_id);
    free(s->workflow_type);
    free(s);
}

la_set *la_set_new(worker *w, const char *workflow_id, const char *run_id,
                   const char *workflow_type, int64_t deadline_ms)
{
    la_set *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->w = w;
    s->refs = 1;
    s->deadline_ms = deadline_ms;
    s->workflow_id = strdup(workflow_id ? workflow_id : "");
    s->run_id = strdup(run_id ? run_id : "");
    s->workflow_type = strdup(workflow_type ? workflow_type : "");
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->workflow_id || !s->run_id || !s->workflow_type) {
        set_destroy(s);
        return NULL;
    }
    return s;
}

/* ---- attempts ---- */

static void *attempt_thread(void *arg)
{
    la_attempt *t = arg;
    la_set *s = t->s;
    worker *w = s->w;
    tw_payload result;
    tw_failure *failure;
    int rc = act_local_run(t->act, &result, &failure);
    pthread_mutex_lock(&s->mu);
    int dropped = t->dropped, freed;
    if (!dropped) {
        t->finished = 1;
        t->rc = rc;
        t->result = result;
        t->failure = failure;
        pthread_cond_broadcast(&s->cv);
    }
    set_unref_locked(s, &freed);
    pthread_mutex_unlock(&s->mu);
    if (dropped) {
        act_local_free(t->act);
        free(t);
    }
    if (freed)
        set_destroy(s);
    pthread_mutex_lock(&w->mu); /* worker_thread_done() without a counter */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    worker_unref(w);
    return NULL;
}

/* Leaves |t| to its thread (told to cancel unless |abandon|): it frees itself when the function
 * returns. Called with s->mu held. */
static void drop_attempt(la_attempt *t, int abandon)
{
    if (!t)
        return;
    if (t->finished) {
        act_local_free(t->act);
        free(t);
        return;
    }
    t->dropped = 1;
    if (!abandon)
        act_local_cancel(t->act);
}

/* Copies |p| (|n|) into |a|; 0 or -1. */
static int copy_payloads(arena *a, const tw_payload *p, size_t n, tw_payload **out)
{
    *out = n ? arena_alloc(a, n * sizeof(**out)) : NULL;
    if (n && !*out)
        return -1;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].encoding = arena_strdup(a, p[i].encoding ? p[i].encoding : "binary/plain");
        (*out)[i].len = p[i].len;
        (*out)[i].data = p[i].len ? arena_memdup(a, p[i].data, p[i].len) : NULL;
        if (!(*out)[i].encoding || (p[i].len && !(*out)[i].data))
            return -1;
    }
    return 0;
}

/* A failure of |type| / |message| (kind |kind|), in |it|'s arena, as its outcome. */
static void done_with(la_item *it, int kind, int timeout_type, const char *type,
                      const char *message, int non_retryable)
{
    tw_failure f = {.type = type, .message = message, .non_retryable = non_retryable,
                    .kind = kind, .timeout_type = timeout_type};
    it->state = IT_DONE;
    it->outcome = WF_LOCAL_FAILED;
    if (failure_copy_abi(it->a, &f, TW_ABI_MINOR, &it->failure) != 0)
        it->failure = NULL; /* reported as the engine's generic cancellation: out of memory */
}

/* Starts |it|'s attempt |it->attempt| on a thread of its own. Called with s->mu held. 0, or -1
 * with |it| done (a failure saying why). */
static int start_attempt(la_set *s, la_item *it)
{
    worker *w = s->w;
    arena *a = arena_new(ATTEMPT_ARENA_LIMIT);
    la_attempt *t = calloc(1, sizeof(*t));
    int64_t now = clock_mono_ms(), wall = clock_wall_ms();
    if (!a || !t)
        goto oom;
    t->s = s;
    t->info = (tw_act_info){
        .activity_id = arena_strdup(a, it->req.activity_id),
        .activity_type = arena_strdup(a, it->req.activity_type),
        .workflow_id = arena_strdup(a, s->workflow_id),
        .run_id = arena_strdup(a, s->run_id),
        .task_queue = w->s->task_queue,
        .attempt = it->attempt,
        .namespace_name = w->ns,
        .workflow_type = arena_strdup(a, s->workflow_type),
        .scheduled_time_ms = it->req.scheduled_ms,
        .current_attempt_scheduled_time_ms = wall,
        .started_time_ms = wall,
        .schedule_to_close_ms = it->req.schedule_to_close_ms,
        .start_to_close_ms = it->req.start_to_close_ms};
    if (!t->info.activity_id || !t->info.activity_type || !t->info.workflow_id ||
        !t->info.run_id || !t->info.workflow_type ||
        copy_payloads(a, it->req.args, it->req.nargs, &t->args))
        goto oom;
    t->nargs = it->req.nargs;
    /* Its deadline: the earliest of start-to-close, schedule-to-close and the drain's end. */
    int64_t deadline = s->deadline_ms;
    it->attempt_deadline = 0;
    if (it->req.start_to_close_ms > 0) {
        it->attempt_deadline = now + it->req.start_to_close_ms;
        it->timeout_type = TW_TIMEOUT_START_TO_CLOSE;
        if (wall + it->req.start_to_close_ms < deadline)
            deadline = wall + it->req.start_to_close_ms;
    }
    if (it->close_deadline && (!it->attempt_deadline || it->close_deadline < it->attempt_deadline)) {
        it->attempt_deadline = it->close_deadline;
        it->timeout_type = TW_TIMEOUT_SCHEDULE_TO_CLOSE;
        if (wall + (it->close_deadline - now) < deadline)
            deadline = wall + (it->close_deadline - now);
    }
    t->info.deadline_ms = deadline;
    if (!(t->act = act_local_new(w, a, &t->info, t->args, t->nargs)))
        goto oom;
    a = NULL; /* the act's now */
    pthread_mutex_lock(&w->mu);
    int failed = worker_spawn_locked(w, attempt_thread, t, NULL);
    pthread_mutex_unlock(&w->mu);
    if (failed) {
        act_local_free(t->act);
        free(t);
        done_with(it, TW_FAILURE_APPLICATION, 0, "WorkerError",
                  "the worker could not start a thread for the local activity", 0);
        return -1;
    }
    s->refs++;
    it->cur = t;
    it->state = IT_RUNNING;
    return 0;
oom:
    if (t && t->act)
        act_local_free(t->act);
    else
        arena_free(a);
    free(t);
    done_with(it, TW_FAILURE_APPLICATION, 0, "WorkerError",
              "the worker ran out of memory for the local activity", 0);
    return -1;
}

/* ---- retries ---- */

static int non_retryable(const wf_local_request *r, const tw_failure *f)
{
    if (!f || f->non_retryable)
        return 1;
    for (const char *const *t = r->retry.non_retryable_types; t && *t; t++)
        if (f->type && strcmp(*t, f->type) == 0)
            return 1;
    return 0;
}

/* How long before the next attempt after attempt |it->attempt| failed with |f|: -1 for none. */
static int64_t backoff_of(la_set *s, const la_item *it, const tw_failure *f, int64_t now)
{
    const tw_retry_policy *p = &it->req.retry;
    if (it->cancelled || s->stopping || non_retryable(&it->req, f))
        return -1;
    if (p->maximum_attempts > 0 && it->attempt >= p->maximum_attempts)
        return -1;
    double ms = (double)p->initial_interval_ms; /* x coefficient^(attempt - 1), capped */
    for (int32_t i = 1; i < it->attempt && ms < (double)p->maximum_interval_ms; i++)
        ms *= p->backoff_coefficient;
    if (!(ms <= (double)p->maximum_interval_ms)) /* NaN too */
        ms = (double)p->maximum_interval_ms;
    int64_t b = (int64_t)ms;
    if (b <= 0)
        return -1;
    if (it->close_deadline && now + b > it->close_deadline)
        return -1; /* the next attempt would start after schedule-to-close */
    return b;
}

/* Attempt |it->attempt| ended with |rc| (|result| / |f|, in the attempt's arena): its outcome,
 * a local retry, or a durable one. Called with s->mu held. */
static void attempt_ended(la_set *s, la_item *it, int rc, const tw_payload *result,
                          const tw_failure *f)
{
    int64_t now = clock_mono_ms();
    if (rc == 0) {
        it->state = IT_DONE;
        it->outcome = WF_LOCAL_COMPLETED;
        tw_payload *copy = NULL;
        if (copy_payloads(it->a, result, 1, &copy) == 0) {
            it->req.args = copy; /* the request's arguments are not needed any more */
            it->req.nargs = 1;
        } else {
            done_with(it, TW_FAILURE_APPLICATION, 0, "WorkerError",
                      "the worker ran out of memory for the local activity's result", 0);
        }
        return;
    }
    if (it->cancelled) {
        it->state = IT_DONE;
        it->outcome = WF_LOCAL_CANCELED;
        return;
    }
    int64_t b = backoff_of(s, it, f, now);
    if (b >= 0 && b <= it->req.retry_threshold_ms) {
        it->state = IT_BACKOFF;
        it->retry_at = now + b;
        return;
    }
    it->state = IT_DONE;
    it->outcome = s->stopping ? WF_LOCAL_CANCELED : WF_LOCAL_FAILED;
    it->backoff_ms = b > 0 ? b : 0;
    if (!f || failure_copy_abi(it->a, f, TW_ABI_MINOR, &it->failure) != 0)
        it->failure = NULL;
}

/* Moves |it| on as far as the time allows: a finished attempt's outcome, an attempt past its
 * timeout, a backoff that ended. Called with s->mu held. */
static void step(la_set *s, la_item *it)
{
    int64_t now = clock_mono_ms();
    if (it->state == IT_RUNNING && it->cur->finished) {
        la_attempt *t = it->cur;
        it->cur = NULL;
        attempt_ended(s, it, t->rc, &t->result, t->failure);
        act_local_free(t->act);
        free(t);
    } else if (it->state == IT_RUNNING && it->attempt_deadline && now >= it->attempt_deadline) {
        /* Past its timeout: left to end on its own, its result dropped. */
        drop_attempt(it->cur, 0);
        it->cur = NULL;
        int type = it->timeout_type;
        char msg[200];
        snprintf(msg, sizeof(msg), "local activity %s timed out (%s)", it->req.activity_type,
                 type == TW_TIMEOUT_SCHEDULE_TO_CLOSE ? "schedule-to-close" : "start-to-close");
        tw_failure f = {.type = "Timeout", .message = msg, .kind = TW_FAILURE_TIMEOUT,
                        .timeout_type = type,
                        .non_retryable = type == TW_TIMEOUT_SCHEDULE_TO_CLOSE};
        attempt_ended(s, it, -1, NULL, &f);
    }
    if (it->state == IT_BACKOFF && (it->cancelled || s->stopping)) {
        it->state = IT_DONE;
        it->outcome = WF_LOCAL_CANCELED;
    } else if (it->state == IT_BACKOFF && now >= it->retry_at) {
        it->attempt++;
        start_attempt(s, it);
    }
}

/* ---- the calls ---- */

int la_start(la_set *s, const wf_local_request *r)
{
    la_item *it = calloc(1, sizeof(*it));
    arena *a = it ? arena_new(ATTEMPT_ARENA_LIMIT) : NULL;
    if (!a) {
        free(it);
        return -1;
    }
    it->a = a;
    it->req = *r;
    it->req.activity_id = arena_strdup(a, r->activity_id ? r->activity_id : "");
    it->req.activity_type = arena_strdup(a, r->activity_type ? r->activity_type : "");
    tw_payload *args = NULL;
    int bad = !it->req.activity_id || !it->req.activity_type ||
              copy_payloads(a, r->args, r->nargs, &args);
    it->req.args = args;
    size_t n = 0;
    while (r->retry.non_retryable_types && r->retry.non_retryable_types[n])
        n++;
    const char **types = arena_alloc(a, (n + 1) * sizeof(*types));
    for (size_t i = 0; types && i < n; i++)
        if (!(types[i] = arena_strdup(a, r->retry.non_retryable_types[i])))
            bad = 1;
    if (types)
        types[n] = NULL;
    it->req.retry.non_retryable_types = types;
    it->attempt = r->attempt > 0 ? r->attempt : 1;
    pthread_mutex_lock(&s->mu);
    if (bad || !types) {
        arena_free(a);
        free(it);
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (r->schedule_to_close_ms > 0) { /* counted from the first attempt's schedule */
        int64_t left = r->scheduled_ms + r->schedule_to_close_ms - clock_wall_ms();
        it->close_deadline = clock_mono_ms() + (left > 0 ? left : 0);
    }
    it->next = s->items;
    s->items = it;
    int rc = 0;
    if (r->cancelled || s->stopping) {
        it->state = IT_DONE;
        it->outcome = WF_LOCAL_CANCELED;
    } else {
        rc = start_attempt(s, it);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void la_cancel(la_set *s, uint32_t seq)
{
    pthread_mutex_lock(&s->mu);
    for (la_item *it = s->items; it; it = it->next)
        if (it->req.seq == seq && !it->cancelled) {
            it->cancelled = 1;
            if (it->state == IT_RUNNING)
                act_local_cancel(it->cur->act);
        }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void la_cancel_all(la_set *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (la_item *it = s->items; it; it = it->next)
        if (it->state == IT_RUNNING && it->req.cancel_type != TW_CANCEL_ABANDON)
            act_local_cancel(it->cur->act);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int la_pending(la_set *s)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (la_item *it = s->items; it; it = it->next)
        n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Takes |it| (IT_DONE) off the list into *r, its bytes copied into |a|. */
static void report(la_set *s, la_item *it, arena *a, wf_local_result *r)
{
    for (la_item **p = &s->items; *p; p = &(*p)->next)
        if (*p == it) {
            *p = it->next;
            break;
        }
    *r = (wf_local_result){.seq = it->req.seq, .outcome = it->outcome, .attempt = it->attempt,
                           .backoff_ms = it->backoff_ms, .completed_ms = clock_wall_ms(),
                           .result = tw_null()};
    tw_payload *copy;
    if (it->outcome == WF_LOCAL_COMPLETED && copy_payloads(a, it->req.args, 1, &copy) == 0)
        r->result = copy[0];
    else if (it->outcome == WF_LOCAL_COMPLETED)
        r->outcome = WF_LOCAL_CANCELED; /* out of memory: not recorded; the task fails later */
    tw_failure *f;
    if (it->outcome == WF_LOCAL_FAILED && it->failure &&
        failure_copy_abi(a, it->failure, TW_ABI_MINOR, &f) == 0)
        r->failure = f;
    arena_free(it->a);
    free(it);
}

int la_wait(la_set *s, int64_t until_ms, arena *a, wf_local_result *r)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int64_t now = clock_mono_ms(), wake = until_ms;
        for (la_item *it = s->items; it; it = it->next) {
            step(s, it);
            if (it->state == IT_DONE) {
                report(s, it, a, r);
                pthread_mutex_unlock(&s->mu);
                return 1;
            }
            if (it->state == IT_RUNNING && it->attempt_deadline && it->attempt_deadline < wake)
                wake = it->attempt_deadline;
            if (it->state == IT_BACKOFF && it->retry_at < wake)
                wake = it->retry_at;
        }
        if (now >= until_ms)
            break;
        if (wake > now) {
            struct timespec t = clock_mono_after(wake - now);
            pthread_cond_timedwait(&s->cv, &s->mu, &t);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void la_set_free(la_set *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    while (s->items) {
        la_item *it = s->items;
        s->items = it->next;
        drop_attempt(it->cur, it->req.cancel_type == TW_CANCEL_ABANDON);
        arena_free(it->a);
        free(it);
    }
    int freed;
    set_unref_locked(s, &freed);
    pthread_mutex_unlock(&s->mu);
    if (freed)
        set_destroy(s);
}

/* ---- a workflow task's local activities ---- */

/* Unix ms |wall| as monotonic. */
static int64_t mono_of(int64_t wall)
{
    return clock_mono_ms() + (wall - clock_wall_ms());
}

int la_drive(worker *w, la_set *s, wf_exec *x, arena *a, int64_t *code_since, wf_output *out,
             int64_t beat_at)
{
    pb_query_result **queries = out->query_results; /* the first answer's stand */
    size_t nqueries = out->nquery_results;
    int64_t give_up = mono_of(w->drain_deadline);
    if (give_up > w->hard_ms - LA_ANSWER_MS)
        give_up = w->hard_ms - LA_ANSWER_MS;
    int stopping = 0;
    for (;;) {
        for (size_t i = 0; i < out->nlocal_cancels; i++)
            la_cancel(s, out->local_cancels[i]);
        uint32_t *lost = out->nlocals ? arena_alloc(a, out->nlocals * sizeof(*lost)) : NULL;
        size_t nlost = 0;
        if (out->nlocals && !lost) {
            *out = (wf_output){.task_failed = 1, .cause = WF_CAUSE_UNHANDLED_FAILURE,
                               .message = "out of memory in the worker"};
            return LA_FAILED;
        }
        for (size_t i = 0; i < out->nlocals; i++)
            if (la_start(s, &out->locals[i]) != 0)
                lost[nlost++] = out->locals[i].seq; /* no memory even to keep its outcome */
        out->nlocals = out->nlocal_cancels = 0;
        for (size_t i = 0; i < nlost && !out->task_failed; i++) {
            static const tw_failure oom = {.type = "WorkerError",
                                           .message = "the worker ran out of memory for the "
                                                      "local activity"};
            wf_local_result r = {.seq = lost[i], .outcome = WF_LOCAL_FAILED, .failure = &oom,
                                 .completed_ms = clock_wall_ms()};
            wf_exec_local_done(x, a, code_since, &r, out);
            out->query_results = queries;
            out->nquery_results = nqueries;
        }
        if (out->task_failed)
            return LA_FAILED;
        if (nlost)
            continue; /* what the code did next (more to start or cancel) */
        if (!stopping && worker_stopping(w)) { /* the stop: they are told (as the SDKs do) */
            la_cancel_all(s);
            stopping = 1;
        }
        if (wf_exec_locals_running(x) == 0)
            return LA_DONE; /* (what still runs was cancelled or abandoned: dropped) */
        if (stopping && la_pending(s) == 0)
            return LA_GIVE_UP; /* what was cancelled is not recorded */
        int64_t now = clock_mono_ms();
        if (now >= give_up)
            return LA_GIVE_UP;
        if (now >= beat_at && !stopping)
            return LA_HEARTBEAT;
        int64_t until = stopping ? give_up : beat_at < give_up ? beat_at : give_up;
        if (!stopping && until > now + LA_STOP_CHECK_MS)
            until = now + LA_STOP_CHECK_MS; /* notice the stop */
        wf_local_result r;
        if (!la_wait(s, until, a, &r))
            continue;
        /* At the stop, only what ended for good is recorded; the rest runs again later. */
        if (stopping && (r.outcome == WF_LOCAL_CANCELED || r.backoff_ms > 0))
            continue;
        wf_exec_local_done(x, a, code_since, &r, out);
        out->query_results = queries;
        out->nquery_results = nqueries;
        if (out->task_failed)
            return LA_FAILED;
    }
}
