/*
 * worker: one invocation's lifecycle. Checks the namespace (a wrong address, namespace or key
 * fails the invocation instead of idling), starts the pollers (wft.c, act.c) and the heartbeat
 * sender, watches for workflow code that does not yield, and runs the stop. See worker.h.
 *
 * The stop, all of it inside the hard deadline (Lambda deadline - SETTINGS_ANSWER_MARGIN_MS):
 *   1. stopping: pollers poll no more; ShutdownWorker tells the server (a server that
 *      completes polls on shutdown answers the open ones empty, so no task goes to a poll
 *      about to be dropped; otherwise they are cancelled at once);
 *   2. drain: running tasks may finish until stop start + stop timeout, cut short so that at
 *      least SETTINGS_STOP_MARGIN_MS - SETTINGS_ANSWER_MARGIN_MS remain for step 3;
 *   3. polls still open are cancelled; activities still running are failed back, all at once,
 *      retryable and with their latest heartbeat details; pending heartbeats are flushed;
 *   4. wait for the fail-backs and the pollers up to the hard deadline. A poller still inside
 *      workflow code then (it did not yield) is left behind: the invocation is answered and
 *      the process asked to end, so Lambda starts a fresh one.
 */
#define _GNU_SOURCE
#include "temporal/worker/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "temporal/engine/arena.h"
#include "temporal/clock.h"
#include "temporal/net/connect.h"
#include "temporal/worker/codec.h"
#include "temporal/worker/wfcache.h"
#include "temporal/worker/worker_int.h"
#include "runtime/log.h"

#define SHUTDOWN_WORKER_MS 2000
#define POLL_BACKOFF_MAX_MS 5000
#define WATCH_EVERY_MS 100
#define IDLE_TIMER_GRACE_MS 500

int worker_call_ms(worker *w, int64_t want)
{
    int64_t left = w->hard_ms - clock_mono_ms();
    int64_t ms = want < left ? want : left;
    return ms > 0 ? (int)ms : 1;
}

int worker_poll_ms_locked(worker *w)
{
    int64_t left = w->hard_ms - clock_mono_ms();
    if (left >= SERVER_MIN_POLL_MS + 200)
        return left < POLL_TIMEOUT_MS ? (int)left : POLL_TIMEOUT_MS;
    while (!w->stopping && (left = w->hard_ms - clock_mono_ms()) > 0) {
        struct timespec until = clock_mono_after(left);
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    return 0;
}

int worker_call(worker *w, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *desc, int flags, int timeout_ms,
                grpc_status *st)
{
    int ms = worker_call_ms(w, timeout_ms);
    if (w->hard_ms - clock_mono_ms() <= 0) {
        memset(st, 0, sizeof(*st));
        st->code = GRPC_DEADLINE_EXCEEDED;
        snprintf(st->message, sizeof(st->message), "no time left before the Lambda deadline");
        return st->code;
    }
    ProtobufCMessage *resp = NULL;
    arena *ca = NULL; /* the request's codec-encoded copy: only with a codec */
    char why[400] = "payload codec: out of memory in the worker";
    int rc = 0;
    if (reg_get_codec(w->reg) && (!(ca = arena_new(TASK_ARENA_LIMIT)) ||
                                  (rc = codec_encode(reg_get_codec(w->reg), ca, req, &req, why,
                                                     sizeof(why))) != 0)) {
        arena_free(ca);
        return codec_refusal(st, rc, why);
    }
    int code = grpc_unary(w->ch, method, GRPC_NAMESPACED | flags, req, desc, NULL, &resp, ms, st);
    arena_free(ca);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

int worker_call_into(worker *w, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *desc, int timeout_ms, arena *a,
                     ProtobufCMessage **resp, grpc_status *st)
{
    *resp = NULL;
    if (w->hard_ms - clock_mono_ms() <= 0) {
        memset(st, 0, sizeof(*st));
        st->code = GRPC_DEADLINE_EXCEEDED;
        snprintf(st->message, sizeof(st->message), "no time left before the Lambda deadline");
        return st->code;
    }
    char why[400];
    int rc = codec_encode(reg_get_codec(w->reg), a, req, &req, why, sizeof(why));
    if (rc != 0)
        return codec_refusal(st, rc, why); /* the copy is in |a|, the caller's */
    return grpc_unary(w->ch, method, GRPC_NAMESPACED, req, desc, arena_allocator(a), resp,
                      worker_call_ms(w, timeout_ms), st);
}

int worker_stopping(worker *w)
{
    pthread_mutex_lock(&w->mu);
    int s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void worker_sample(worker *w, emf_samples *samples, int64_t since_us)
{
    double ms = (double)(metrics_clock_us() - since_us) / 1000.0;
    pthread_mutex_lock(&w->mu);
    emf_samples_add(samples, ms);
    pthread_mutex_unlock(&w->mu);
}

void worker_unref(worker *w)
{
    pthread_mutex_lock(&w->mu);
    int left = --w->refs;
    pthread_mutex_unlock(&w->mu);
    if (left)
        return;
    grpc_channel_free(w->ch);
    wfcache_free(w->cache); /* every thread has ended: no run is held */
    for (int i = 0; i < w->nslots; i++)
        free(w->slots[i].token);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

pb_task_queue *worker_task_queue(arena *a, const char *name)
{
    pb_task_queue *tq = arena_alloc(a, sizeof(*tq));
    if (!tq)
        return NULL;
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    tq->name = (char *)name;
    tq->kind = TQ_KIND_NORMAL;
    return tq;
}

pb_task_queue *worker_sticky_task_queue(worker *w, arena *a)
{
    pb_task_queue *tq = worker_task_queue(a, w->sticky_queue);
    if (tq) {
        tq->kind = TEMPORAL__API__ENUMS__V1__TASK_QUEUE_KIND__TASK_QUEUE_KIND_STICKY;
        tq->normal_name = w->s->task_queue;
    }
    return tq;
}

void worker_poll_outcome(worker *w, const char *what, int code, const grpc_status *st,
                         int64_t *backoff)
{
    if (code == GRPC_OK || code == GRPC_DEADLINE_EXCEEDED) {
        pthread_mutex_lock(&w->mu);
        w->polls_ok++;
        pthread_mutex_unlock(&w->mu);
        *backoff = 0;
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (code == GRPC_CANCELLED || w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    w->poll_errors++;
    snprintf(w->poll_error, sizeof(w->poll_error), "%s: %s: %.200s", what, grpc_code_name(code),
             st->message);
    /* A mistake or an outage, not a blip (those are retried inside the call): back off so the
     * pollers do not spin, and let the stop interrupt the pause. */
    *backoff = *backoff ? *backoff * 2 : 100;
    if (*backoff > POLL_BACKOFF_MAX_MS)
        *backoff = POLL_BACKOFF_MAX_MS;
    log_warn("%s; polling again in %lld ms", w->poll_error, (long long)*backoff);
    struct timespec until = clock_mono_after(*backoff);
    while (!w->stopping)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&w->mu);
}

/* ---- the start ---- */

/* DescribeNamespace: a wrong address, TLS set-up, namespace or key shows here, before any
 * poll. Also reads whether the server completes polls when told the worker stops. */
static int check_namespace(worker *w, int64_t work_ms, char *err, size_t errlen)
{
    WFS(DescribeNamespaceRequest) req;
    PB_INIT(WFS_DESC(describe_namespace_request), &req);
    req.namespace_ = (char *)w->ns;
    ProtobufCMessage *resp = NULL;
    grpc_status st;
    int64_t ms = work_ms < CALL_TIMEOUT_MS ? work_ms : CALL_TIMEOUT_MS;
    int code = grpc_unary(w->ch, "DescribeNamespace", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(describe_namespace_response), NULL, &resp,
                          worker_call_ms(w, ms), &st);
    if (code != GRPC_OK) {
        snprintf(err, errlen, "cannot use namespace \"%s\" at %s: %s: %s%s", w->ns, w->address,
                 grpc_code_name(code), st.message,
                 code == GRPC_NOT_FOUND ? " (check TEMPORAL_NAMESPACE)"
                 : code == GRPC_UNAUTHENTICATED || code == GRPC_PERMISSION_DENIED
                     ? " (check TEMPORAL_API_KEY or the client certificate)"
                 : code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED
                     ? " (check TEMPORAL_ADDRESS and TLS settings)"
                     : "");
        return -1;
    }
    WFS(DescribeNamespaceResponse) *r = (void *)resp;
    w->poll_complete_on_shutdown = r->namespace_info && r->namespace_info->capabilities &&
                                   r->namespace_info->capabilities->worker_poll_complete_on_shutdown;
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

int worker_spawn_locked(worker *w, void *(*fn)(void *), void *arg, int *counter)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    w->refs++;
    if (counter)
        (*counter)++;
    int rc = pthread_create(&th, &attr, fn, arg);
    if (rc) {
        w->refs--;
        if (counter)
            (*counter)--;
    }
    pthread_attr_destroy(&attr);
    return rc ? -1 : 0;
}

void worker_thread_done(worker *w, int *counter)
{
    pthread_mutex_lock(&w->mu);
    (*counter)--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    worker_unref(w);
}

static int start_thread(worker *w, void *(*fn)(void *), int *counter)
{
    pthread_mutex_lock(&w->mu);
    int rc = worker_spawn_locked(w, fn, w, counter);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static worker *worker_new(const worker_params *p, int64_t now_mono)
{
    const settings *s = p->settings;
    worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->s = s;
    w->reg = p->reg;
    w->ns = p->conn->namespace_name;
    w->address = p->conn->address;
    w->refs = 1;
    w->free_slots = s->max_activities;
    w->lambda_deadline = p->deadline_ms;
    w->drain_deadline = p->deadline_ms - s->shutdown_buffer_ms + s->stop_timeout_ms;
    w->hard_ms = now_mono + (p->deadline_ms - clock_wall_ms()) - SETTINGS_ANSWER_MARGIN_MS;
    snprintf(w->identity, sizeof(w->identity), "%s@%s", p->request_id, p->function_arn);
    snprintf(w->instance_key, sizeof(w->instance_key), "%s", p->request_id); /* unique per invocation */
    if (s->workflow_cache_size > 0) {
        /* This invocation's own: the request id makes it unique, the task queue readable. */
        snprintf(w->sticky_queue, sizeof(w->sticky_queue), "%.200s:sticky:%.40s", s->task_queue,
                 p->request_id);
        if (!(w->cache = wfcache_new(s->workflow_cache_size))) {
            free(w);
            return NULL;
        }
    }
    /* With a cache, two slots at least: one poll waits on the sticky queue, one on the task
     * queue (the Go SDK refuses one). */
    w->nslots = s->max_workflow_tasks < WORKER_MAX_WF_SLOTS ? s->max_workflow_tasks
                                                             : WORKER_MAX_WF_SLOTS;
    if (w->cache && w->nslots < 2)
        w->nslots = 2;
    for (int i = 0; i < w->nslots; i++)
        w->slots[i].w = w;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    PB_INIT(temporal__api__deployment__v1__worker_deployment_options__descriptor, &w->dep);
    w->dep.deployment_name = s->deployment_name;
    w->dep.build_id = s->build_id;
    w->dep.worker_versioning_mode =
        TEMPORAL__API__ENUMS__V1__WORKER_VERSIONING_MODE__WORKER_VERSIONING_MODE_VERSIONED;
    return w;
}

/* ---- the stop ---- */

/* Waits until |done| (checked under mu) or the monotonic time |until|, watching workflow code
 * meanwhile. Returns |done|'s last answer. */
static int wait_until(worker *w, int (*done)(const worker *), int64_t until)
{
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int ok = done(w);
        int64_t left = until - clock_mono_ms();
        if (!ok && left > 0) {
            struct timespec t = clock_mono_after(left < WATCH_EVERY_MS ? left : WATCH_EVERY_MS);
            pthread_cond_timedwait(&w->cv, &w->mu, &t);
            ok = done(w);
        }
        pthread_mutex_unlock(&w->mu);
        if (ok || clock_mono_ms() >= until)
            return ok;
        wft_watchdog(w);
    }
}

/* Pollers (workflow task threads too) that are not stuck in workflow code have ended, and no
 * activity runs. */
static int drained(const worker *w)
{
    return w->pollers_running == w->stuck_pollers && w->acts == NULL;
}
/* Pollers, fail-backs and the heartbeat sender have ended, and no activity is still sending
 * its own answer (those left running were failed back; their answers are dropped). */
static int all_done(const worker *w)
{
    return !act_answering(w) && w->pollers_running == w->stuck_pollers &&
           w->answers_running == 0 && w->hb_threads == 0;
}

static int shutdown_worker(worker *w)
{
    WFS(ShutdownWorkerRequest) req;
    PB_INIT(WFS_DESC(shutdown_worker_request), &req);
    req.namespace_ = (char *)w->ns;
    req.identity = w->identity;
    req.reason = "Lambda invocation ending";
    req.task_queue = (char *)w->s->task_queue;
    req.worker_instance_key = w->instance_key;
    req.sticky_task_queue = w->sticky_queue; /* given back: its tasks go to the task queue at
                                              * once instead of waiting for the timeout */
    grpc_status st;
    int code = worker_call(w, "ShutdownWorker", &req.base, &WFS_DESC(shutdown_worker_response),
                           GRPC_NO_RETRY, SHUTDOWN_WORKER_MS, &st);
    if (code != GRPC_OK && code != GRPC_UNIMPLEMENTED)
        log_warn("ShutdownWorker: %s: %s", grpc_code_name(code), st.message);
    return code;
}

/* The kept runs' waits, summed (wfcache_visit). */
static void add_waits(void *arg, const wf_exec *x)
{
    wf_waits *sum = arg, one;
    wf_exec_waits(x, &one);
    sum->activities += one.activities;
    if (one.next_timer_ms && (!sum->next_timer_ms || one.next_timer_ms < sum->next_timer_ms))
        sum->next_timer_ms = one.next_timer_ms;
}

/* With mu held and nothing running: until when (monotonic) the invocation stays. The idle
 * window after the last task; longer when the workflows this invocation keeps will soon have
 * a task for it (it would go to another invocation, which replays their whole history and
 * idles a window of its own): one more window while activities they scheduled have not ended,
 * and, for a timer of theirs that fires within a window of that, until it fires and its task
 * has had IDLE_TIMER_GRACE_MS to come. Work expected later than that is not waited for: the
 * sticky queue is given back at the stop, so its task goes to the task queue and Temporal
 * invokes the function again. */
static int64_t idle_deadline(worker *w)
{
    int64_t window = w->s->idle_exit_ms, until = w->last_busy + window;
    if (!w->cache)
        return until;
    wf_waits waits = {0};
    wfcache_visit(w->cache, add_waits, &waits);
    if (waits.activities)
        until = w->last_busy + 2 * window;
    if (waits.next_timer_ms) {
        int64_t fire = clock_mono_ms() + (waits.next_timer_ms - clock_wall_ms());
        if (fire <= w->last_busy + 2 * window && fire + IDLE_TIMER_GRACE_MS > until)
            until = fire + IDLE_TIMER_GRACE_MS;
    }
    return until;
}

/* Works until the stop time, or until idle (idle_deadline). Returns 1 when idle. */
static int work(worker *w, int64_t stop_at)
{
    const settings *s = w->s;
    int idle = 0;
    pthread_mutex_lock(&w->mu);
    w->last_busy = clock_mono_ms();
    for (;;) {
        int64_t now = clock_mono_ms(), left = stop_at - now;
        if (left <= 0)
            break;
        if (s->idle_exit_ms && !w->wf_running && !w->acts) {
            int64_t idle_left = idle_deadline(w) - now;
            if (idle_left <= 0) {
                idle = 1;
                break;
            }
            if (idle_left < left)
                left = idle_left;
        }
        if (w->wf_running && left > WATCH_EVERY_MS)
            left = WATCH_EVERY_MS; /* watch running workflow code */
        else if (s->idle_exit_ms && left > WATCH_EVERY_MS)
            left = WATCH_EVERY_MS; /* the idle window starts when the work ends */
        struct timespec until = clock_mono_after(left);
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (w->wf_running) {
            pthread_mutex_unlock(&w->mu);
            wft_watchdog(w);
            pthread_mutex_lock(&w->mu);
        }
    }
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return idle;
}

/* Runs the stop (see the top of the file). Returns 1 when a thread was left in user code. */
static int stop(worker *w, int64_t stop_start)
{
    int64_t drain_end = stop_start + w->s->stop_timeout_ms;
    int64_t latest = w->hard_ms - (SETTINGS_STOP_MARGIN_MS - SETTINGS_ANSWER_MARGIN_MS);
    if (drain_end > latest)
        drain_end = latest;
    /* A server that completes polls on shutdown answers them empty once told; otherwise they
     * are cancelled first, so no task goes to a poll that is about to be dropped. */
    if (!w->poll_complete_on_shutdown)
        grpc_cancel_polls(w->ch);
    if (shutdown_worker(w) != GRPC_OK)
        grpc_cancel_polls(w->ch);
    wait_until(w, drained, drain_end);
    grpc_cancel_polls(w->ch);
    int abandoned = act_abandon_running(w);
    if (abandoned)
        log_warn("%d activities still running at the stop were failed back to be retried",
                 abandoned);
    pthread_mutex_lock(&w->mu);
    w->hb_stop = 1; /* running activities took their latest details into their fail-backs */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    wait_until(w, all_done, w->hard_ms);
    pthread_mutex_lock(&w->mu);
    int stuck = w->stuck_pollers;
    for (int i = 0; i < w->nslots; i++) /* code running at the deadline (watchdog off or late) */
        if (w->slots[i].state == SLOT_RUNNING && !w->slots[i].stuck &&
            __atomic_load_n(&w->slots[i].code_since, __ATOMIC_ACQUIRE))
            stuck++;
    pthread_mutex_unlock(&w->mu);
    if (stuck)
        log_error("%d workflow task threads are inside workflow code that does not yield: "
                  "answering the invocation without them; this process will end", stuck);
    return stuck > 0;
}

/* The library's stop hooks, after the drain, bounded by the hard deadline. Returns 1 when one
 * overran it (its thread is left behind: the process should end once answered). */
static int run_stop_hooks(worker *w, const worker_params *p)
{
    char why[256];
    int rc = reg_run_stop_hooks(p->reg, p->deadline_ms - SETTINGS_ANSWER_MARGIN_MS, w->hard_ms,
                                why, sizeof(why));
    if (rc == 1)
        log_error("%s was still running at the deadline: answering the invocation without it; "
                  "this process will end", why);
    else if (rc < 0)
        log_error("%s", why);
    return rc == 1;
}

/* How long nothing ran before the stop began, at |stop_start| (monotonic ms). */
static int64_t idle_before(worker *w, int64_t stop_start)
{
    pthread_mutex_lock(&w->mu);
    int64_t ms = stop_start > w->last_busy ? stop_start - w->last_busy : 0;
    pthread_mutex_unlock(&w->mu);
    return ms;
}

/* The invocation's metrics (metrics.h), once it is drained. */
static void metrics_of(worker *w, int idle, int64_t idle_ms, worker_metrics *m)
{
    pthread_mutex_lock(&w->mu);
    m->stop = idle ? "idle" : "deadline";
    m->wf_tasks = w->wf_tasks;
    m->wf_failed = w->wf_failed;
    m->acts_completed = w->acts_done - w->acts_failed;
    m->acts_failed = w->acts_failed;
    m->acts_failed_back = w->acts_abandoned;
    m->poll_errors = w->poll_errors;
    m->idle_ms = idle_ms;
    m->wft_latency = w->wft_latency;
    m->replay = w->replay;
    m->poll_wait = w->poll_wait;
    pthread_mutex_unlock(&w->mu);
}

static char *summary_json(worker *w, int idle, int polled)
{
    char *out;
    pthread_mutex_lock(&w->mu);
    int rc = asprintf(&out,
                      "{\"polled\":%s,\"stopped\":\"%s\",\"workflow_tasks\":%d,"
                      "\"workflow_task_failures\":%d,\"workflow_tasks_deadlocked\":%d,"
                      "\"activities\":%d,\"activity_failures\":%d,"
                      "\"activities_failed_back_at_stop\":%d,\"too_large\":%d,"
                      "\"queries\":%d,\"poll_errors\":%d,\"cache_hits\":%d,"
                      "\"cache_misses\":%d,\"histories_fetched\":%d}",
                      polled ? "true" : "false", idle ? "idle" : "deadline", w->wf_tasks,
                      w->wf_failed, w->wf_stuck, w->acts_done, w->acts_failed, w->acts_abandoned,
                      w->oversized, w->queries, w->poll_errors, w->cache_hits, w->cache_misses,
                      w->histories_fetched);
    pthread_mutex_unlock(&w->mu);
    return rc < 0 ? NULL : out;
}

int worker_run(const worker_params *p, worker_result *res, char *err, size_t errlen)
{
    const settings *s = p->settings;
    memset(res, 0, sizeof(*res));
    res->metrics.idle_ms = -1; /* not polled (yet) */
    int64_t now_mono = clock_mono_ms();
    int64_t work_ms = p->deadline_ms - clock_wall_ms() - s->shutdown_buffer_ms;
    if (work_ms <= 1000) {
        snprintf(err, errlen, "only %lld ms before the shutdown buffer (TEMPORAL_SHUTDOWN_BUFFER, "
                 "%lld ms) starts: too little to poll; raise the function timeout or lower the "
                 "buffer", (long long)work_ms, (long long)s->shutdown_buffer_ms);
        return -1;
    }
    if (work_ms < 5000)
        log_warn("only %lld ms of work time in this invocation (timeout minus %lld ms buffer)",
                 (long long)work_ms, (long long)s->shutdown_buffer_ms);

    worker *w = worker_new(p, now_mono);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int64_t stop_at = now_mono + work_ms;
    w->stop_at = stop_at;
    if (conn_channel_open(p->conn, &w->ch, err, errlen) != 0 ||
        check_namespace(w, work_ms, err, errlen) != 0) {
        res->restart = run_stop_hooks(w, p); /* this invocation's stop too */
        worker_unref(w);
        return -1;
    }

    /* A thread per workflow task slot, taking turns at polling while others run tasks
     * (wfpoll.c); with a cache, two polls open at least (the sticky queue and the task queue
     * each get one). */
    w->max_polls = s->workflow_pollers < w->nslots ? s->workflow_pollers : w->nslots;
    if (w->cache && w->max_polls < 2)
        w->max_polls = 2;
    int started = 0;
    if (start_thread(w, act_heartbeat_sender, &w->hb_threads) != 0)
        log_error("no thread for the heartbeat sender: heartbeats will not reach the server");
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nslots; i++)
        started += worker_spawn_locked(w, wft_poller, &w->slots[i], &w->pollers_running) == 0;
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < s->activity_pollers; i++)
        started += start_thread(w, act_poller, &w->pollers_running) == 0;
    if (!started) {
        snprintf(err, errlen, "could not start any poller thread");
        pthread_mutex_lock(&w->mu);
        w->stopping = w->hb_stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        worker_unref(w);
        return -1;
    }
    log_info("worker %s polling %s as %s/%s for %lld ms", w->identity, s->task_queue,
             s->deployment_name, s->build_id, (long long)work_ms);

    int idle = work(w, stop_at);
    int64_t stop_start = clock_mono_ms();
    int64_t idle_ms = idle_before(w, stop_start);
    res->restart = stop(w, stop_start);
    res->restart |= run_stop_hooks(w, p);
    metrics_of(w, idle, idle_ms, &res->metrics);
    res->summary = summary_json(w, idle, 1);
    if (res->summary) /* an Event invocation's answer goes nowhere: the log keeps it */
        log_info("invocation done: %s", res->summary);

    /* Every poll of the invocation failed: a mistake the namespace check could not see (a
     * task queue the key may not poll, an outage). Say so instead of reporting success. */
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->poll_errors && !w->polls_ok && !w->wf_tasks && !w->acts_done) {
        snprintf(err, errlen, "no poll succeeded against %s (namespace \"%s\", task queue \"%s\"): %s",
                 w->address, w->ns, s->task_queue, w->poll_error);
        rc = -1;
    }
    pthread_mutex_unlock(&w->mu);
    worker_unref(w);
    if (rc == 0 && !res->summary) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc != 0) {
        free(res->summary);
        res->summary = NULL;
    }
    return rc;
}
