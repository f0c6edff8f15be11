/*
 * wft: workflow tasks. A workflow poller polls, replays the task's history through the engine
 * (wf.h; it asks for each further page when its replay gets there) and answers:
 * RespondWorkflowTaskCompleted with the new commands, the protocol messages (updates) and the
 * answers to the queries that came with the task; RespondWorkflowTaskFailed when the task
 * cannot complete. A legacy query task (the poll's `query`: a query on a workflow with no task
 * in flight, or a closed one) is replayed the same way, only to answer the query, and gets
 * RespondQueryTaskCompleted, never a workflow task answer. Each poller runs the task it got
 * before it polls again.
 *
 * The watchdog (wft_watchdog, on the worker's main thread) fails the task of workflow code
 * that has run longer than the deadlock timeout without yielding, as the official SDKs'
 * deadlock detector does; that poller's thread stays in the user's code and the worker answers
 * the invocation without it (worker.c ends the process then).
 *
 * Ownership: a task's arena belongs to its poller's thread; the watchdog reads only the copies
 * kept in the poller's wf_slot under mu.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/arena.h"
#include "temporal/clock.h"
#include "temporal/engine/payload.h"
#include "runtime/log.h"
#include "temporal/version.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/worker_int.h"

#define CAUSE(name) TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_##name
#define QUERY_FAILED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED
#define QUERY_ANSWERED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED

typedef WFS(PollWorkflowTaskQueueResponse) wf_task;

/* The task's history pages after the first (history_page_fn): the engine asks for the next
 * page only when its replay reaches the end of the last one. */
typedef struct pages {
    worker *w;
    const wf_task *t;
    ProtobufCBinaryData token; /* the next page's; empty: no more */
} pages;

static int next_page(void *ctx, arena *a, pb_event *const **events, size_t *n, char *err,
                     size_t errlen)
{
    pages *p = ctx;
    *n = 0;
    /* An empty page with a token is allowed; a server sending only those is not followed far. */
    for (int tries = 0; p->token.len && !*n && tries < 16; tries++) {
        WFS(GetWorkflowExecutionHistoryRequest) req;
        PB_INIT(WFS_DESC(get_workflow_execution_history_request), &req);
        req.namespace_ = (char *)p->w->ns;
        req.execution = p->t->workflow_execution;
        req.next_page_token = p->token;
        ProtobufCMessage *resp;
        grpc_status st;
        if (grpc_unary(p->w->ch, "GetWorkflowExecutionHistory", GRPC_NAMESPACED, &req.base,
                       &WFS_DESC(get_workflow_execution_history_response), arena_allocator(a),
                       &resp, worker_call_ms(p->w, CALL_TIMEOUT_MS), &st) != GRPC_OK) {
            snprintf(err, errlen, "GetWorkflowExecutionHistory: %s: %s",
                     grpc_code_name(st.code), st.message);
            log_error("history page for %s: %s", p->t->workflow_execution->workflow_id, err);
            return -1;
        }
        WFS(GetWorkflowExecutionHistoryResponse) *r = (void *)resp;
        p->token = r->next_page_token;
        *events = r->history ? r->history->events : NULL;
        *n = r->history ? r->history->n_events : 0;
    }
    return 0;
}

static int respond_task_failed(worker *w, arena *a, ProtobufCBinaryData token, int cause,
                               const char *type, const char *message)
{
    WFS(RespondWorkflowTaskFailedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_failed_request), &req);
    tw_failure f = {.type = type, .message = message};
    req.task_token = token;
    req.cause = cause;
    req.failure = failure_to_pb(a, &f);
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    grpc_status st;
    int code = worker_call(w, "RespondWorkflowTaskFailed", &req.base,
                           &WFS_DESC(respond_workflow_task_failed_response), 0, CALL_TIMEOUT_MS,
                           &st);
    if (code != GRPC_OK)
        log_error("RespondWorkflowTaskFailed: %s: %s", grpc_code_name(code), st.message);
    return code;
}

static void fail_workflow_task(worker *w, arena *a, wf_task *t, int cause, const char *message)
{
    log_error("workflow task of %s failed: %s", t->workflow_execution->workflow_id, message);
    if (t->attempt > 1 && cause != CAUSE(GRPC_MESSAGE_TOO_LARGE))
        return; /* as sdk-go: report once, then let later attempts time out quietly */
    /* Its own arena: the task's may be the one that ran out, and the message must get through. */
    arena *fa = arena_new(1024 * 1024);
    respond_task_failed(w, fa ? fa : a, t->task_token, cause,
                        cause == WF_CAUSE_NON_DETERMINISTIC ? "NonDeterminismError"
                        : cause == CAUSE(GRPC_MESSAGE_TOO_LARGE) ? "GrpcMessageTooLarge"
                                                                 : "WorkflowTaskError",
                        message);
    arena_free(fa);
}

/* RespondQueryTaskCompleted: |r| (answered or failed), or, when |r| is NULL, failed with
 * |message| (the replay could not run, the code did not yield). */
static int respond_query(worker *w, arena *a, ProtobufCBinaryData token,
                         const pb_query_result *r, const char *message)
{
    WFS(RespondQueryTaskCompletedRequest) req;
    PB_INIT(WFS_DESC(respond_query_task_completed_request), &req);
    tw_failure f = {.type = "QueryFailed", .message = message};
    req.task_token = token;
    req.namespace_ = (char *)w->ns;
    if (r && r->result_type == QUERY_ANSWERED) {
        req.completed_type = QUERY_ANSWERED;
        req.query_result = r->answer;
    } else {
        req.completed_type = QUERY_FAILED;
        req.error_message = r ? r->error_message : (char *)message;
        req.failure = r ? r->failure : failure_to_pb(a, &f);
    }
    grpc_status st;
    int code = worker_call(w, "RespondQueryTaskCompleted", &req.base,
                           &WFS_DESC(respond_query_task_completed_response), 0, CALL_TIMEOUT_MS,
                           &st);
    if (code != GRPC_OK)
        log_error("RespondQueryTaskCompleted: %s: %s", grpc_code_name(code), st.message);
    return code;
}

/* The answers to the queries that came with a workflow task, as the completion's
 * query_results. 0, or -1 out of memory. */
static int add_query_results(arena *a, const wf_task *t, const wf_output *out,
                             WFS(RespondWorkflowTaskCompletedRequest) *req)
{
    typedef WFS(RespondWorkflowTaskCompletedRequest__QueryResultsEntry) entry;
    if (!out->nquery_results)
        return 0;
    req->query_results = arena_alloc(a, out->nquery_results * sizeof(entry *));
    if (!req->query_results)
        return -1;
    for (size_t i = 0; i < out->nquery_results && i < t->n_queries; i++) {
        entry *e = arena_alloc(a, sizeof(*e));
        if (!e)
            return -1;
        PB_INIT(WFS_DESC(respond_workflow_task_completed_request__query_results_entry), e);
        e->key = t->queries[i]->key;
        e->value = out->query_results[i];
        req->query_results[req->n_query_results++] = e;
    }
    return 0;
}

/* The queries of |t| (a map on the wire), in order, for the engine. NULL when none or out of
 * memory (*n 0). */
static pb_query **task_queries(arena *a, const wf_task *t, size_t *n)
{
    *n = 0;
    pb_query **q = t->n_queries ? arena_alloc(a, t->n_queries * sizeof(*q)) : NULL;
    for (size_t i = 0; q && i < t->n_queries; i++)
        q[(*n)++] = t->queries[i]->value;
    return q;
}

static void count_queries(worker *w, size_t n)
{
    pthread_mutex_lock(&w->mu);
    w->queries += (int)n;
    pthread_mutex_unlock(&w->mu);
}

/* Did the watchdog fail this task already (its code did not yield)? */
static int slot_stuck(worker *w, wf_slot *slot)
{
    pthread_mutex_lock(&w->mu);
    int s = slot->stuck;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Runs one task; 0 when it completed, -1 when it failed. */
static int run_workflow_task(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    wf_output out;
    pages more = {.w = w, .t = t, .token = t->next_page_token};
    wf_input in = {.workflow_type = t->workflow_type ? t->workflow_type->name : "",
                   .workflow_id = t->workflow_execution->workflow_id,
                   .run_id = t->workflow_execution->run_id,
                   .task_queue = w->s->task_queue,
                   .events = t->history ? t->history->events : NULL,
                   .nevents = t->history ? t->history->n_events : 0,
                   .next_page = next_page,
                   .page_ctx = &more,
                   .code_since = &slot->code_since,
                   .messages = t->messages,
                   .nmessages = t->n_messages};
    in.queries = task_queries(a, t, &in.nqueries);
    int rc = in.nqueries == t->n_queries ? wf_run(w->reg, a, &in, &out) : -1;
    if (slot_stuck(w, slot))
        return -1; /* already failed by the watchdog; the server refuses any other answer */
    if (rc != 0) {
        fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, "out of memory in the worker");
        return -1;
    }
    if (out.task_failed) {
        fail_workflow_task(w, a, t, out.cause, out.message);
        return -1;
    }
    WFS(RespondWorkflowTaskCompletedRequest) req;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request), &req);
    req.task_token = t->task_token;
    req.commands = out.commands;
    req.n_commands = out.ncommands;
    req.messages = out.messages;
    req.n_messages = out.nmessages;
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    req.versioning_behavior = out.versioning ? out.versioning : w->s->default_versioning;
    Temporal__Api__Sdk__V1__WorkflowTaskCompletedMetadata meta;
    temporal__api__sdk__v1__workflow_task_completed_metadata__init(&meta);
    meta.sdk_name = TW_SDK_NAME; /* who completed each task, in the history (as the SDKs do) */
    meta.sdk_version = TW_SDK_VERSION;
    req.sdk_metadata = &meta;
    /* Every task replays the whole history, so a speculative task (an update's) that the server
     * drops, events and all, costs nothing: let it drop those with only rejections (as sdk-go). */
    WFS(RespondWorkflowTaskCompletedRequest__Capabilities) caps;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request__capabilities), &caps);
    caps.discard_speculative_workflow_task_with_events = 1;
    req.capabilities = &caps;
    if (add_query_results(a, t, &out, &req) != 0) {
        fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, "out of memory in the worker");
        return -1;
    }
    size_t size = protobuf_c_message_get_packed_size(&req.base);
    if (size > GRPC_MAX_REQUEST) {
        /* As the official SDKs: the server terminates the workflow on this cause, naming it,
         * instead of the task timing out again and again. */
        char msg[300];
        snprintf(msg, sizeof(msg), "the workflow task's completion (%zu commands) is %zu bytes, "
                 "over the %d-byte (4 MiB) limit of a request to Temporal",
                 out.ncommands, size, GRPC_MAX_REQUEST);
        fail_workflow_task(w, a, t, CAUSE(GRPC_MESSAGE_TOO_LARGE), msg);
        pthread_mutex_lock(&w->mu);
        w->oversized++;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    grpc_status st;
    if (worker_call(w, "RespondWorkflowTaskCompleted", &req.base,
                    &WFS_DESC(respond_workflow_task_completed_response), 0, CALL_TIMEOUT_MS, &st)) {
        log_error("RespondWorkflowTaskCompleted for %s: %s: %s", in.workflow_id,
                  grpc_code_name(st.code), st.message);
        return -1;
    }
    count_queries(w, req.n_query_results);
    return 0;
}

/* Runs a legacy query task: replays the history (as replay: no log line, nothing sent but the
 * answer) and answers the query; 0, or -1 when the replay failed (the query then fails with
 * the reason). */
static int run_query_task(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    wf_output out;
    pages more = {.w = w, .t = t, .token = t->next_page_token};
    pb_query *q = t->query;
    wf_input in = {.workflow_type = t->workflow_type ? t->workflow_type->name : "",
                   .workflow_id = t->workflow_execution->workflow_id,
                   .run_id = t->workflow_execution->run_id,
                   .task_queue = w->s->task_queue,
                   .events = t->history ? t->history->events : NULL,
                   .nevents = t->history ? t->history->n_events : 0,
                   .next_page = next_page,
                   .page_ctx = &more,
                   .code_since = &slot->code_since,
                   .queries = &q,
                   .nqueries = 1,
                   .query_only = 1};
    int rc = wf_run(w->reg, a, &in, &out);
    if (slot_stuck(w, slot))
        return -1; /* answered by the watchdog already */
    const char *why = rc ? "out of memory in the worker" : out.message;
    if (rc || out.task_failed || out.nquery_results != 1) {
        char msg[900];
        snprintf(msg, sizeof(msg), "query %s on workflow %s failed: the history could not be "
                 "replayed: %s", q->query_type, in.workflow_id, why ? why : "no answer");
        log_error("%s", msg);
        respond_query(w, a, t->task_token, NULL, msg);
        return -1;
    }
    respond_query(w, a, t->task_token, out.query_results[0], NULL);
    return 0;
}

static void slot_begin(worker *w, wf_slot *slot, const wf_task *t)
{
    pthread_mutex_lock(&w->mu);
    w->wf_running++;
    slot->busy = 1;
    slot->stuck = 0;
    slot->query = t->query != NULL;
    slot->attempt = t->attempt;
    snprintf(slot->type, sizeof(slot->type), "%s",
             t->workflow_type && t->workflow_type->name ? t->workflow_type->name : "?");
    snprintf(slot->id, sizeof(slot->id), "%s",
             t->workflow_execution && t->workflow_execution->workflow_id
                 ? t->workflow_execution->workflow_id : "?");
    slot->token = malloc(t->task_token.len);
    slot->token_len = slot->token ? t->task_token.len : 0;
    if (slot->token)
        memcpy(slot->token, t->task_token.data, t->task_token.len);
    pthread_cond_broadcast(&w->cv); /* the main thread watches running workflow code */
    pthread_mutex_unlock(&w->mu);
}

static void slot_end(worker *w, wf_slot *slot, int failed)
{
    pthread_mutex_lock(&w->mu);
    if (slot->stuck)
        w->stuck_pollers--; /* the code came back after all */
    else
        w->wf_running--;
    if (slot->query) {
        w->queries++;
    } else {
        w->wf_tasks++;
        if (failed && !slot->stuck)
            w->wf_failed++;
    }
    slot->busy = 0;
    free(slot->token);
    slot->token = NULL;
    slot->token_len = 0;
    w->last_busy = clock_mono_ms();
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void *wft_poller(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    wf_slot *slot = &w->slots[w->nslots++];
    pthread_mutex_unlock(&w->mu);
    int64_t backoff = 0;
    while (!worker_stopping(w)) {
        arena *a = arena_new(TASK_ARENA_LIMIT);
        if (!a)
            break;
        WFS(PollWorkflowTaskQueueRequest) req;
        PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &req);
        req.namespace_ = (char *)w->ns;
        req.task_queue = worker_task_queue(a, w->s->task_queue);
        req.identity = w->identity;
        req.worker_instance_key = w->instance_key;
        req.deployment_options = &w->dep;
        ProtobufCMessage *resp = NULL;
        grpc_status st;
        int code = grpc_unary(w->ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                              &req.base, &WFS_DESC(poll_workflow_task_queue_response),
                              arena_allocator(a), &resp, worker_call_ms(w, POLL_TIMEOUT_MS), &st);
        wf_task *t = (void *)resp;
        if (code == GRPC_OK && t->task_token.len && !t->workflow_execution) {
            log_error("workflow task without an execution: dropped");
        } else if (code == GRPC_OK && t->task_token.len) {
            slot_begin(w, slot, t);
            log_set_task(t->query ? "query" : "workflow", slot->type,
                         t->workflow_execution->workflow_id, NULL);
            int failed = t->query ? run_query_task(w, slot, a, t) : run_workflow_task(w, slot, a, t);
            log_set_task(NULL, NULL, NULL, NULL);
            slot_end(w, slot, failed);
        }
        worker_poll_outcome(w, "workflow poll", code, &st, &backoff);
        arena_free(a);
    }
    worker_thread_done(w, &w->pollers_running);
    return NULL;
}

/* The watchdog's report of one stuck task, sent on a thread of its own so the main thread
 * never waits on the network for it. Owns its copies. */
typedef struct deadlock_report {
    worker *w;
    ProtobufCBinaryData token;
    int query;               /* a legacy query task's: answered as a failed query */
    char msg[600];
} deadlock_report;

static void *report_thread(void *arg)
{
    deadlock_report *r = arg;
    worker *w = r->w;
    arena *a = arena_new(1024 * 1024);
    if (a && r->query)
        respond_query(w, a, r->token, NULL, r->msg);
    else if (a)
        respond_task_failed(w, a, r->token, WF_CAUSE_UNHANDLED_FAILURE, "PotentialDeadlock",
                            r->msg);
    arena_free(a);
    free(r->token.data);
    free(r);
    worker_thread_done(w, &w->answers_running);
    return NULL;
}

/* With mu held: marks |slot| stuck and, on the task's first attempt (as the official SDKs
 * report a failing task once), sends the failure naming the workflow. */
static void report_stuck(worker *w, wf_slot *slot, int64_t limit)
{
    slot->stuck = 1;
    w->wf_stuck++;
    w->wf_running--;      /* not running work: it must not hold the idle exit or the drain */
    w->stuck_pollers++;
    deadlock_report *r = calloc(1, sizeof(*r));
    if (r) {
        r->w = w;
        r->query = slot->query;
        snprintf(r->msg, sizeof(r->msg), "potential deadlock: the code of workflow %s (id %s) "
                 "ran for more than %lld ms without yielding (an endless loop or a blocking call "
                 "in workflow code?); its task is failed and this Lambda environment will be "
                 "replaced once the invocation ends", slot->type, slot->id, (long long)limit);
        log_error("%s", r->msg);
        r->token.len = slot->token_len;
        r->token.data = slot->token_len ? malloc(slot->token_len) : NULL;
        if (r->token.data)
            memcpy(r->token.data, slot->token, slot->token_len);
    }
    if (!r || !r->token.data || slot->attempt > 1 ||
        worker_spawn_locked(w, report_thread, r, &w->answers_running) != 0) {
        if (r)
            free(r->token.data);
        free(r);
    }
    pthread_cond_broadcast(&w->cv);
}

void wft_watchdog(worker *w)
{
    int64_t limit = w->s->deadlock_timeout_ms;
    if (limit <= 0)
        return;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nslots; i++) {
        wf_slot *slot = &w->slots[i];
        int64_t since = __atomic_load_n(&slot->code_since, __ATOMIC_ACQUIRE);
        if (slot->busy && !slot->stuck && since && clock_mono_ms() - since >= limit)
            report_stuck(w, slot, limit);
    }
    pthread_mutex_unlock(&w->mu);
}
