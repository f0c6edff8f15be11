/*
 * worker: pollers, task slots, activities, the stop before the deadline, drain. See worker.h.
 *
 * Workflow pollers each run the task they got before polling again, so at most
 * `workflow_pollers` workflow tasks run at once (bounded by max_workflow_tasks too). An
 * activity poller polls only while an activity slot is free and hands the task to a thread of
 * its own. The worker struct is reference counted: activity threads that outlive the drain
 * keep it (and its channel) alive until they end.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "clock.h"
#include "connect.h"
#include "grpc.h"
#include "payload.h"
#include "runtime/log.h"
#include "wf.h"

#define TASK_ARENA_LIMIT (256u * 1024 * 1024)
#define POLL_TIMEOUT_MS 70000
#define CALL_TIMEOUT_MS 10000

typedef struct worker worker;

struct tw_act {
    worker *w;
    arena *a;
    ProtobufCBinaryData token;
    tw_act_info info;
    tw_payload *args;
    size_t nargs;
    int64_t heartbeat_timeout_ms;
    int64_t last_heartbeat;  /* monotonic ms of the last one sent */
    pb_payloads *last_details;
    int cancelled;
    int finished;
    int abandoned;           /* failed back at the stop: its own answer is dropped */
    pthread_t thread;
    tw_act *next;
};

struct worker {
    const tw_settings *s;
    const tw_registry *reg;
    const char *ns;
    char identity[512];
    char instance_key[40];   /* this invocation's worker: polls and ShutdownWorker carry it */
    int pollers_running;
    grpc_channel *ch;
    pb_deployment_options dep;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int stopping;
    int free_slots;          /* activity slots */
    tw_act *acts;            /* running activities */
    /* counters, under mu */
    int wf_tasks, wf_failed, acts_done, acts_failed, acts_abandoned;
    int wf_running;          /* workflow tasks being run */
    int64_t last_busy;       /* monotonic ms when a task last arrived or ended */
};

#define mono_ms clock_mono_ms
#define wall_ms clock_wall_ms

static void worker_unref(worker *w)
{
    pthread_mutex_lock(&w->mu);
    int left = --w->refs;
    pthread_mutex_unlock(&w->mu);
    if (left)
        return;
    grpc_channel_free(w->ch);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static int stopping(worker *w)
{
    pthread_mutex_lock(&w->mu);
    int s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static pb_task_queue *task_queue(arena *a, const char *name)
{
    pb_task_queue *tq = arena_alloc(a, sizeof(*tq));
    if (!tq)
        return NULL;
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    tq->name = (char *)name;
    tq->kind = TQ_KIND_NORMAL;
    return tq;
}

/* A unary call whose answer is only checked for success. */
static int call(worker *w, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *desc, int flags, int timeout_ms,
                grpc_status *st)
{
    ProtobufCMessage *resp = NULL;
    int code = grpc_unary(w->ch, method, GRPC_NAMESPACED | flags, req, desc, NULL, &resp,
                          timeout_ms, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* ---- workflow tasks ---- */

/* Collects the task's whole history, fetching further pages when there are any. */
static int full_history(worker *w, arena *a, WFS(PollWorkflowTaskQueueResponse) *t,
                        pb_event ***events, size_t *n)
{
    size_t cap = t->history ? t->history->n_events : 0;
    pb_event **ev = cap ? arena_alloc(a, cap * sizeof(*ev)) : NULL;
    if (cap && !ev)
        return -1;
    for (size_t i = 0; i < cap; i++)
        ev[i] = t->history->events[i];
    size_t count = cap;
    ProtobufCBinaryData token = t->next_page_token;
    while (token.len) {
        WFS(GetWorkflowExecutionHistoryRequest) req;
        PB_INIT(WFS_DESC(get_workflow_execution_history_request), &req);
        req.namespace_ = (char *)w->ns;
        req.execution = t->workflow_execution;
        req.next_page_token = token;
        ProtobufCMessage *resp;
        grpc_status st;
        if (grpc_unary(w->ch, "GetWorkflowExecutionHistory", GRPC_NAMESPACED, &req.base,
                       &WFS_DESC(get_workflow_execution_history_response), arena_allocator(a),
                       &resp, CALL_TIMEOUT_MS, &st) != GRPC_OK) {
            log_error("history page for %s: %s: %s", t->workflow_execution->workflow_id,
                      grpc_code_name(st.code), st.message);
            return -1;
        }
        WFS(GetWorkflowExecutionHistoryResponse) *r = (void *)resp;
        size_t more = r->history ? r->history->n_events : 0;
        if (count + more > cap) {
            size_t ncap = (count + more) * 2;
            pb_event **bigger = arena_alloc(a, ncap * sizeof(*bigger));
            if (!bigger)
                return -1;
            if (count)
                memcpy(bigger, ev, count * sizeof(*ev));
            ev = bigger;
            cap = ncap;
        }
        for (size_t i = 0; i < more; i++)
            ev[count++] = r->history->events[i];
        token = r->next_page_token;
    }
    *events = ev;
    *n = count;
    return 0;
}

static void fail_workflow_task(worker *w, arena *a, WFS(PollWorkflowTaskQueueResponse) *t,
                               int cause, const char *message)
{
    log_error("workflow task of %s failed: %s", t->workflow_execution->workflow_id, message);
    if (t->attempt > 1)
        return; /* as sdk-go: report once, then let later attempts time out quietly */
    WFS(RespondWorkflowTaskFailedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_failed_request), &req);
    tw_failure f = {.type = cause == WF_CAUSE_NON_DETERMINISTIC ? "NonDeterminismError"
                                                                : "WorkflowTaskError",
                    .message = message};
    req.task_token = t->task_token;
    req.cause = cause;
    req.failure = failure_to_pb(a, &f);
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    grpc_status st;
    if (call(w, "RespondWorkflowTaskFailed", &req.base,
             &WFS_DESC(respond_workflow_task_failed_response), 0, CALL_TIMEOUT_MS, &st))
        log_error("RespondWorkflowTaskFailed: %s: %s", grpc_code_name(st.code), st.message);
}

static void run_workflow_task(worker *w, arena *a, WFS(PollWorkflowTaskQueueResponse) *t)
{
    pb_event **events;
    size_t n;
    wf_output out;
    if (full_history(w, a, t, &events, &n) != 0) {
        fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, "could not read the history");
        goto counted_fail;
    }
    wf_input in = {.workflow_type = t->workflow_type ? t->workflow_type->name : "",
                   .workflow_id = t->workflow_execution->workflow_id,
                   .run_id = t->workflow_execution->run_id,
                   .task_queue = w->s->task_queue,
                   .events = events,
                   .nevents = n};
    if (wf_run(w->reg, a, &in, &out) != 0) {
        fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, "out of memory in the worker");
        goto counted_fail;
    }
    if (out.task_failed) {
        fail_workflow_task(w, a, t, out.cause, out.message);
        goto counted_fail;
    }
    WFS(RespondWorkflowTaskCompletedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request), &req);
    req.task_token = t->task_token;
    req.commands = out.commands;
    req.n_commands = out.ncommands;
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    req.versioning_behavior = out.versioning ? out.versioning : w->s->default_versioning;
    grpc_status st;
    if (call(w, "RespondWorkflowTaskCompleted", &req.base,
             &WFS_DESC(respond_workflow_task_completed_response), 0, CALL_TIMEOUT_MS, &st)) {
        log_error("RespondWorkflowTaskCompleted for %s: %s: %s", in.workflow_id,
                  grpc_code_name(st.code), st.message);
        goto counted_fail;
    }
    pthread_mutex_lock(&w->mu);
    w->wf_tasks++;
    pthread_mutex_unlock(&w->mu);
    return;
counted_fail:
    pthread_mutex_lock(&w->mu);
    w->wf_tasks++;
    w->wf_failed++;
    pthread_mutex_unlock(&w->mu);
}

static void poller_done(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->pollers_running--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *workflow_poller(void *arg)
{
    worker *w = arg;
    while (!stopping(w)) {
        arena *a = arena_new(TASK_ARENA_LIMIT);
        if (!a)
            break;
        WFS(PollWorkflowTaskQueueRequest) req;
        PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &req);
        req.namespace_ = (char *)w->ns;
        req.task_queue = task_queue(a, w->s->task_queue);
        req.identity = w->identity;
        req.worker_instance_key = w->instance_key;
        req.deployment_options = &w->dep;
        ProtobufCMessage *resp = NULL;
        grpc_status st;
        int code = grpc_unary(w->ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                              &req.base, &WFS_DESC(poll_workflow_task_queue_response),
                              arena_allocator(a), &resp, POLL_TIMEOUT_MS, &st);
        WFS(PollWorkflowTaskQueueResponse) *t = (void *)resp;
        if (code == GRPC_OK && t->task_token.len) {
            pthread_mutex_lock(&w->mu);
            w->wf_running++;
            pthread_mutex_unlock(&w->mu);
            log_set_task("workflow", t->workflow_type ? t->workflow_type->name : NULL,
                         t->workflow_execution ? t->workflow_execution->workflow_id : NULL, NULL);
            run_workflow_task(w, a, t);
            log_set_task(NULL, NULL, NULL, NULL);
            pthread_mutex_lock(&w->mu);
            w->wf_running--;
            w->last_busy = mono_ms();
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
        else if (code != GRPC_OK && code != GRPC_CANCELLED && code != GRPC_DEADLINE_EXCEEDED) {
            log_warn("workflow poll: %s: %s", grpc_code_name(code), st.message);
            if (code != GRPC_UNAVAILABLE) { /* a mistake, not a blip: do not spin */
                struct timespec pause = {1, 0};
                nanosleep(&pause, NULL);
            }
        }
        arena_free(a);
    }
    poller_done(w);
    return NULL;
}

/* ---- activities ---- */

static void respond_activity(tw_act *act, int rc, tw_payload *result, const tw_failure *failure,
                             int cancelled)
{
    worker *w = act->w;
    arena *a = act->a;
    grpc_status st;
    const char *what;
    int code;
    if (rc == 0) {
        WFS(RespondActivityTaskCompletedRequest) req;
        PB_INIT(WFS_DESC(respond_activity_task_completed_request), &req);
        req.task_token = act->token;
        req.result = payloads_to_pb(a, result, 1);
        req.identity = w->identity;
        req.namespace_ = (char *)w->ns;
        req.deployment_options = &w->dep;
        what = "RespondActivityTaskCompleted";
        code = call(w, what, &req.base, &WFS_DESC(respond_activity_task_completed_response), 0,
                    CALL_TIMEOUT_MS, &st);
    } else if (cancelled) {
        WFS(RespondActivityTaskCanceledRequest) req;
        PB_INIT(WFS_DESC(respond_activity_task_canceled_request), &req);
        req.task_token = act->token;
        req.details = act->last_details;
        req.identity = w->identity;
        req.namespace_ = (char *)w->ns;
        req.deployment_options = &w->dep;
        what = "RespondActivityTaskCanceled";
        code = call(w, what, &req.base, &WFS_DESC(respond_activity_task_canceled_response), 0,
                    CALL_TIMEOUT_MS, &st);
    } else {
        WFS(RespondActivityTaskFailedRequest) req;
        PB_INIT(WFS_DESC(respond_activity_task_failed_request), &req);
        req.task_token = act->token;
        req.failure = failure_to_pb(a, failure);
        req.last_heartbeat_details = act->last_details;
        req.identity = w->identity;
        req.namespace_ = (char *)w->ns;
        req.deployment_options = &w->dep;
        what = "RespondActivityTaskFailed";
        code = call(w, what, &req.base, &WFS_DESC(respond_activity_task_failed_response), 0,
                    CALL_TIMEOUT_MS, &st);
    }
    if (code != GRPC_OK)
        log_error("%s for activity %s: %s: %s", what, act->info.activity_id, grpc_code_name(code),
                  st.message);
}

static __thread tw_failure *act_failure; /* set by tw_act_fail on this activity's thread */

static void *activity_thread(void *arg)
{
    tw_act *act = arg;
    worker *w = act->w;
    const reg_activity *def = reg_find_activity(w->reg, act->info.activity_type);
    tw_payload result = tw_null();
    tw_failure failure = {0};
    char msg[768];
    int rc;
    act_failure = NULL;
    log_set_task("activity", act->info.activity_type, act->info.workflow_id,
                 act->info.activity_id);
    if (!def) {
        char names[512];
        reg_activity_names(w->reg, names, sizeof(names));
        snprintf(msg, sizeof(msg), "activity type \"%s\" is not registered with this worker; "
                                   "registered: %s", act->info.activity_type, names);
        failure = (tw_failure){.type = "ActivityNotRegistered", .message = msg};
        rc = -1;
    } else {
        rc = def->fn(act, act->args, act->nargs, &result);
        if (rc != 0)
            failure = act_failure ? *act_failure
                                  : (tw_failure){.type = "ActivityError",
                                                 .message = "the activity returned an error "
                                                            "without tw_act_fail()"};
    }
    pthread_mutex_lock(&w->mu);
    int abandoned = act->abandoned;
    int cancelled = act->cancelled;
    act->finished = 1;
    pthread_mutex_unlock(&w->mu);
    if (!abandoned)
        respond_activity(act, rc, &result, &failure, cancelled && rc != 0);
    pthread_mutex_lock(&w->mu);
    if (!abandoned) {
        if (rc)
            w->acts_failed++;
        w->acts_done++;
        w->free_slots++;
    }
    w->last_busy = mono_ms();
    /* unlink */
    for (tw_act **pp = &w->acts; *pp; pp = &(*pp)->next)
        if (*pp == act) {
            *pp = act->next;
            break;
        }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    log_set_task(NULL, NULL, NULL, NULL);
    arena_free(act->a);
    free(act);
    worker_unref(w);
    return NULL;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

/* Makes the activity's context from its task; NULL when out of memory. */
static tw_act *new_activity(worker *w, arena *a, WFS(PollActivityTaskQueueResponse) *t,
                            int64_t lambda_deadline)
{
    tw_act *act = calloc(1, sizeof(*act));
    if (!act)
        return NULL;
    act->w = w;
    act->a = a;
    act->token = t->task_token;
    act->info.activity_id = t->activity_id;
    act->info.activity_type = t->activity_type ? t->activity_type->name : "";
    act->info.workflow_id = t->workflow_execution ? t->workflow_execution->workflow_id : "";
    act->info.run_id = t->workflow_execution ? t->workflow_execution->run_id : "";
    act->info.task_queue = w->s->task_queue;
    act->info.attempt = t->attempt;
    int64_t deadline = lambda_deadline;
    int64_t stc = duration_to_ms(t->start_to_close_timeout);
    int64_t s2c = duration_to_ms(t->schedule_to_close_timeout);
    if (stc && ts_ms(t->started_time) && ts_ms(t->started_time) + stc < deadline)
        deadline = ts_ms(t->started_time) + stc;
    if (s2c && ts_ms(t->scheduled_time) && ts_ms(t->scheduled_time) + s2c < deadline)
        deadline = ts_ms(t->scheduled_time) + s2c;
    act->info.deadline_ms = deadline;
    act->heartbeat_timeout_ms = duration_to_ms(t->heartbeat_timeout);
    act->last_details = t->heartbeat_details;
    tw_payload *hb;
    size_t nhb;
    if (payloads_from_pb(a, t->heartbeat_details, &hb, &nhb) ||
        payloads_from_pb(a, t->input, &act->args, &act->nargs)) {
        free(act);
        return NULL;
    }
    act->info.heartbeat_details = hb;
    act->info.nheartbeat_details = nhb;
    return act;
}

typedef struct poller_arg {
    worker *w;
    int64_t lambda_deadline;
} poller_arg;

static void *activity_poller(void *arg)
{
    poller_arg *pa = arg;
    worker *w = pa->w;
    for (;;) {
        pthread_mutex_lock(&w->mu); /* poll only while a slot is free */
        while (!w->stopping && w->free_slots == 0)
            pthread_cond_wait(&w->cv, &w->mu);
        int stop = w->stopping;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        arena *a = arena_new(TASK_ARENA_LIMIT);
        if (!a)
            break;
        WFS(PollActivityTaskQueueRequest) req;
        PB_INIT(WFS_DESC(poll_activity_task_queue_request), &req);
        req.namespace_ = (char *)w->ns;
        req.task_queue = task_queue(a, w->s->task_queue);
        req.identity = w->identity;
        req.worker_instance_key = w->instance_key;
        req.deployment_options = &w->dep;
        ProtobufCMessage *resp = NULL;
        grpc_status st;
        int code = grpc_unary(w->ch, "PollActivityTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                              &req.base, &WFS_DESC(poll_activity_task_queue_response),
                              arena_allocator(a), &resp, POLL_TIMEOUT_MS, &st);
        WFS(PollActivityTaskQueueResponse) *t = (void *)resp;
        if (code != GRPC_OK || !t->task_token.len) {
            if (code != GRPC_OK && code != GRPC_CANCELLED && code != GRPC_DEADLINE_EXCEEDED)
                log_warn("activity poll: %s: %s", grpc_code_name(code), st.message);
            arena_free(a);
            continue;
        }
        tw_act *act = new_activity(w, a, t, pa->lambda_deadline);
        if (!act) {
            log_error("out of memory for activity %s", t->activity_id);
            arena_free(a);
            continue;
        }
        pthread_mutex_lock(&w->mu);
        w->free_slots--;
        w->refs++;
        w->last_busy = mono_ms();
        act->next = w->acts;
        w->acts = act;
        int failed = pthread_create(&act->thread, NULL, activity_thread, act);
        if (!failed)
            pthread_detach(act->thread);
        pthread_mutex_unlock(&w->mu);
        if (failed) {
            log_error("cannot start a thread for activity %s", act->info.activity_id);
            pthread_mutex_lock(&w->mu);
            w->acts = act->next;
            w->free_slots++;
            w->refs--;
            pthread_mutex_unlock(&w->mu);
            tw_failure f = {.type = "WorkerError", .message = "the worker could not start a thread"};
            respond_activity(act, -1, NULL, &f, 0);
            arena_free(a);
            free(act);
        }
    }
    poller_done(w);
    return NULL;
}

/* ---- the activity API ---- */

static const tw_act_info *act_info(tw_act *act) { return act ? &act->info : NULL; }

static int act_heartbeat(tw_act *act, const tw_payload *details, size_t n)
{
    if (!act)
        return TW_EINVAL;
    worker *w = act->w;
    pthread_mutex_lock(&w->mu);
    int gone = act->abandoned || act->cancelled;
    pthread_mutex_unlock(&w->mu);
    if (gone)
        return TW_ECANCELED;
    pb_payloads *pd = payloads_to_pb(act->a, details, n); /* kept for the last-details report */
    act->last_details = pd;
    /* Throttled: at most once per 80% of the heartbeat timeout, and at least every 30 s. */
    int64_t every = act->heartbeat_timeout_ms ? act->heartbeat_timeout_ms * 8 / 10 : 30000;
    if (every > 30000)
        every = 30000;
    int64_t now = mono_ms();
    if (act->last_heartbeat && now - act->last_heartbeat < every)
        return TW_OK;
    act->last_heartbeat = now;
    WFS(RecordActivityTaskHeartbeatRequest) req;
    PB_INIT(WFS_DESC(record_activity_task_heartbeat_request), &req);
    req.task_token = act->token;
    req.details = pd;
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    ProtobufCMessage *resp = NULL;
    grpc_status st;
    int code = grpc_unary(w->ch, "RecordActivityTaskHeartbeat", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(record_activity_task_heartbeat_response), NULL, &resp,
                          CALL_TIMEOUT_MS, &st);
    int cancel = 0;
    if (code == GRPC_OK) {
        cancel = ((WFS(RecordActivityTaskHeartbeatResponse) *)resp)->cancel_requested;
        protobuf_c_message_free_unpacked(resp, NULL);
    } else if (code == GRPC_NOT_FOUND) {
        cancel = 1; /* timed out or gone on the server: nobody waits for this result */
    } else {
        log_warn("heartbeat of activity %s: %s: %s", act->info.activity_id, grpc_code_name(code),
                 st.message);
    }
    if (cancel) {
        pthread_mutex_lock(&w->mu);
        act->cancelled = 1;
        pthread_mutex_unlock(&w->mu);
        return TW_ECANCELED;
    }
    return TW_OK;
}

static int act_cancelled(tw_act *act)
{
    if (!act)
        return 0;
    pthread_mutex_lock(&act->w->mu);
    int c = act->cancelled || act->abandoned;
    pthread_mutex_unlock(&act->w->mu);
    return c;
}

static void *act_alloc(tw_act *act, size_t n) { return act ? arena_alloc(act->a, n) : NULL; }

static void act_log(tw_act *act, int level, const char *msg)
{
    int l = level >= TW_LOG_ERROR ? LOG_ERROR : level == TW_LOG_WARN ? LOG_WARN
          : level == TW_LOG_INFO ? LOG_INFO : LOG_DEBUG;
    log_write(l, "%s (activity %s): %s", act ? act->info.activity_type : "?",
              act ? act->info.activity_id : "?", msg);
}

static int act_fail(tw_act *act, const tw_failure *f)
{
    if (!act || !f)
        return TW_EINVAL;
    tw_failure *copy = arena_alloc(act->a, sizeof(*copy));
    if (!copy)
        return TW_ENOMEM;
    *copy = *f;
    copy->type = arena_strdup(act->a, f->type ? f->type : "Error");
    copy->message = arena_strdup(act->a, f->message ? f->message : "");
    act_failure = copy;
    return TW_EFAILED;
}

void worker_fill_api(tw_api *api)
{
    api->act_info = act_info;
    api->act_heartbeat = act_heartbeat;
    api->act_cancelled = act_cancelled;
    api->act_alloc = act_alloc;
    api->act_log = act_log;
    api->act_fail = act_fail;
}

/* ---- the invocation ---- */

static int pollers_busy(const worker *w) { return w->pollers_running > 0; }
static int activities_busy(const worker *w) { return w->acts != NULL; }

/* Waits up to |ms| while |busy| (checked under mu) says so. */
static void wait_while(worker *w, int (*busy)(const worker *), int64_t ms)
{
    int64_t end = mono_ms() + ms;
    pthread_mutex_lock(&w->mu);
    while (busy(w) && mono_ms() < end) {
        struct timespec until = clock_mono_after(20);
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Fails back every activity still running: retryable, with its last heartbeat details. */
static int abandon_running(worker *w)
{
    int n = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        tw_act *act = w->acts;
        while (act && (act->abandoned || act->finished))
            act = act->next;
        if (act)
            act->abandoned = 1;
        pthread_mutex_unlock(&w->mu);
        if (!act)
            return n;
        tw_failure f = {.type = "WorkerShutdown",
                        .message = "the Lambda worker is shutting down before its deadline; the "
                                   "activity will be retried"};
        respond_activity(act, -1, NULL, &f, 0);
        pthread_mutex_lock(&w->mu);
        w->acts_abandoned++;
        pthread_mutex_unlock(&w->mu);
        n++;
    }
}

static void shutdown_worker(worker *w)
{
    WFS(ShutdownWorkerRequest) req;
    PB_INIT(WFS_DESC(shutdown_worker_request), &req);
    req.namespace_ = (char *)w->ns;
    req.identity = w->identity;
    req.reason = "Lambda invocation ending";
    req.task_queue = (char *)w->s->task_queue;
    req.worker_instance_key = w->instance_key;
    grpc_status st;
    int code = call(w, "ShutdownWorker", &req.base, &WFS_DESC(shutdown_worker_response),
                    GRPC_NO_RETRY, 2000, &st);
    if (code != GRPC_OK && code != GRPC_UNIMPLEMENTED)
        log_debug("ShutdownWorker: %s: %s", grpc_code_name(code), st.message);
}

int worker_run(const worker_params *p, char **summary, char *err, size_t errlen)
{
    const tw_settings *s = p->settings;
    int64_t now = wall_ms();
    int64_t work_ms = p->deadline_ms - now - s->shutdown_buffer_ms;
    *summary = NULL;
    if (work_ms <= 1000) {
        log_warn("only %lld ms before the shutdown buffer (%lld ms) starts: not polling; raise "
                 "the function timeout or lower TEMPORAL_SHUTDOWN_BUFFER",
                 (long long)work_ms, (long long)s->shutdown_buffer_ms);
        return asprintf(summary, "{\"polled\":false,\"reason\":\"deadline too close\"}") < 0 ? -1 : 0;
    }
    if (work_ms < 5000)
        log_warn("only %lld ms of work time in this invocation (timeout minus %lld ms buffer)",
                 (long long)work_ms, (long long)s->shutdown_buffer_ms);

    worker *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->s = s;
    w->reg = p->reg;
    w->ns = p->conn->namespace_name;
    w->refs = 1;
    w->free_slots = s->max_activities;
    snprintf(w->identity, sizeof(w->identity), "%s@%s", p->request_id, p->function_arn);
    snprintf(w->instance_key, sizeof(w->instance_key), "%s", p->request_id); /* unique per invocation */
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
    if (tw_channel_open(p->conn, &w->ch, err, errlen) != 0) {
        worker_unref(w);
        return -1;
    }

    int nwf = s->workflow_pollers < s->max_workflow_tasks ? s->workflow_pollers : s->max_workflow_tasks;
    int nact = s->activity_pollers;
    pthread_t threads[128 + 64];
    int started = 0;
    poller_arg pa = {w, p->deadline_ms};
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < nwf; i++)
        if (pthread_create(&threads[started], NULL, workflow_poller, w) == 0)
            started++, w->pollers_running++;
    for (int i = 0; i < nact; i++)
        if (pthread_create(&threads[started], NULL, activity_poller, &pa) == 0)
            started++, w->pollers_running++;
    pthread_mutex_unlock(&w->mu);
    log_info("worker %s polling %s as %s/%s for %lld ms", w->identity, s->task_queue,
             s->deployment_name, s->build_id, (long long)work_ms);

    /* Work until deadline - buffer, or until idle for the idle-exit window. */
    int64_t stop_at = mono_ms() + work_ms;
    int idle = 0;
    pthread_mutex_lock(&w->mu);
    w->last_busy = mono_ms();
    for (;;) {
        int64_t now_m = mono_ms(), left = stop_at - now_m;
        if (left <= 0)
            break;
        if (s->idle_exit_ms && !w->wf_running && !w->acts) {
            int64_t idle_left = w->last_busy + s->idle_exit_ms - now_m;
            if (idle_left <= 0) {
                idle = 1;
                break;
            }
            if (idle_left < left)
                left = idle_left;
        } else if (s->idle_exit_ms && left > 100) {
            left = 100; /* look again soon: the idle window starts when the work ends */
        }
        struct timespec until = clock_mono_after(left);
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);

    /* Stop polling. ShutdownWorker first: a server that cancels a stopping worker's polls
     * answers them empty, so no task goes to a poll about to be dropped. Polls still open
     * after a moment are cancelled here. Then running tasks drain up to the stop timeout. */
    shutdown_worker(w);
    wait_while(w, pollers_busy, 1500);
    grpc_cancel_polls(w->ch);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    wait_while(w, activities_busy, s->stop_timeout_ms);
    abandon_running(w);

    pthread_mutex_lock(&w->mu);
    int rc = asprintf(summary,
                      "{\"polled\":true,\"stopped\":\"%s\",\"workflow_tasks\":%d,"
                      "\"workflow_task_failures\":%d,\"activities\":%d,\"activity_failures\":%d,"
                      "\"activities_failed_back_at_stop\":%d}",
                      idle ? "idle" : "deadline", w->wf_tasks, w->wf_failed, w->acts_done,
                      w->acts_failed, w->acts_abandoned);
    pthread_mutex_unlock(&w->mu);
    worker_unref(w);
    if (rc < 0) {
        *summary = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
