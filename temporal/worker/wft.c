/*
 * wft: one workflow task, on the workflow task thread that polled it (wfpoll.c). The history goes
 * through the engine (wf.h), then the answer: RespondWorkflowTaskCompleted with the new
 * commands, the protocol messages (updates) and the answers to the queries that came with the
 * task; RespondWorkflowTaskFailed when the task cannot complete. A legacy query task (the
 * poll's `query`: a query on a workflow with no task in flight, or a closed one) is replayed
 * from the first event only to answer the query, and gets RespondQueryTaskCompleted, never a
 * workflow task answer.
 *
 * Sticky execution (with a workflow cache, wfcache.h): a workflow task whose run is kept and
 * whose history continues it (wf_exec_continues: it starts with the completion of the task the
 * run answered last) runs on the kept run, which processes only the new events. Otherwise the
 * history is replayed from the first event on a new run: the poll's pages, or, for a sticky
 * task that carries only the rest of the history (a run the cache no longer has), the whole
 * history fetched from its first event. Completions carry the sticky attributes (this
 * invocation's sticky queue, so the run's next task comes back here; its schedule-to-start
 * timeout ends no later than when this invocation stops polling, as far as the 1 s minimum
 * allows) and ask for the next task in the answer (return_new_workflow_task: events that came
 * while the task ran make it, and it never goes through a queue). The run goes back into the
 * cache once the answer is taken; a failed task, a refused answer, a closed workflow, or a
 * task the server discarded (reset_history_event_id) gives it up.
 *
 * Ownership: a task's arena (the poll response, its pages, the answer) belongs to the thread
 * running it and is freed when the task ends; a kept run is held by that thread from
 * wfcache_take until wfcache_put or wfcache_drop.
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
#include "temporal/worker/codec.h"
#include "temporal/worker/la.h"
#include "temporal/worker/wfcache.h"
#include "temporal/worker/worker_int.h"

#define CAUSE(name) TEMPORAL__API__ENUMS__V1__WORKFLOW_TASK_FAILED_CAUSE__WORKFLOW_TASK_FAILED_CAUSE_##name
#define QUERY_FAILED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED
#define QUERY_ANSWERED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED

/* The task's history pages after the first (history_page_fn): the engine asks for the next
 * page only when its replay reaches the end of the last one. */
typedef struct pages {
    worker *w;
    const wf_task *t;
    ProtobufCBinaryData token; /* the next page's; empty: no more */
    int from_start;            /* the first page is still to be fetched (no token) */
} pages;

static int next_page(void *ctx, arena *a, pb_event *const **events, size_t *n, char *err,
                     size_t errlen)
{
    pages *p = ctx;
    *n = 0;
    /* An empty page with a token is allowed; a server sending only those is not followed far. */
    for (int tries = 0; (p->token.len || p->from_start) && !*n && tries < 16; tries++) {
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
        if (codec_decode(reg_get_codec(p->w->reg), a, resp, err, errlen) != 0)
            return -1;
        p->from_start = 0;
        p->token = r->next_page_token;
        *events = r->history ? r->history->events : NULL;
        *n = r->history ? r->history->n_events : 0;
    }
    return 0;
}

int wft_respond_task_failed(worker *w, arena *a, ProtobufCBinaryData token, int cause,
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
    wft_respond_task_failed(w, fa ? fa : a, t->task_token, cause,
                        cause == WF_CAUSE_NON_DETERMINISTIC ? "NonDeterminismError"
                        : cause == CAUSE(GRPC_MESSAGE_TOO_LARGE) ? "GrpcMessageTooLarge"
                                                                 : "WorkflowTaskError",
                        message);
    arena_free(fa);
}

/* RespondQueryTaskCompleted: |r| (answered or failed), or, when |r| is NULL, failed with
 * |message| (the replay could not run, the code did not yield). */
int wft_respond_query(worker *w, arena *a, ProtobufCBinaryData token,
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
    if (r && codec_refused(code, &st)) /* the answer could not be encoded: the query fails */
        return wft_respond_query(w, a, token, NULL, st.message);
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

int wft_slot_stuck(worker *w, wf_slot *slot)
{
    pthread_mutex_lock(&w->mu);
    int s = slot->stuck;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* The engine's input for |t|: the poll's first page, then pages as the replay needs them. */
static void task_input(worker *w, wf_slot *slot, wf_task *t, pages *more, wf_input *in)
{
    *more = (pages){.w = w, .t = t, .token = t->next_page_token};
    *in = (wf_input){.workflow_type = t->workflow_type ? t->workflow_type->name : "",
                     .workflow_id = t->workflow_execution->workflow_id,
                     .run_id = t->workflow_execution->run_id,
                     .task_queue = w->s->task_queue,
                     .events = t->history ? t->history->events : NULL,
                     .nevents = t->history ? t->history->n_events : 0,
                     .next_page = next_page,
                     .page_ctx = more,
                     .code_since = &slot->code_since,
                     .messages = t->messages,
                     .nmessages = t->n_messages,
                     .namespace_name = w->ns,
                     .deployment_name = w->s->deployment_name,
                     .build_id = w->s->build_id};
}

/* Does the poll carry the history from its first event? (A sticky task carries only the events
 * after the last task its worker completed.) */
static int whole_history(const wf_task *t)
{
    return t->history && t->history->n_events && t->history->events[0] &&
           t->history->events[0]->event_id == 1;
}

/* Makes |in| read the whole history from its first event instead of the poll's pages. */
static void from_first_event(worker *w, pages *more, wf_input *in)
{
    in->events = NULL;
    in->nevents = 0;
    more->token = (ProtobufCBinaryData){0};
    more->from_start = 1;
    pthread_mutex_lock(&w->mu);
    w->histories_fetched++;
    pthread_mutex_unlock(&w->mu);
}

static const char *run_id_of(const wf_task *t)
{
    return t->workflow_execution->run_id ? t->workflow_execution->run_id : "";
}

/* Runs a legacy query task: replays the history from the first event (as replay: no log
 * line, nothing sent but the answer; a kept run is never used, its state stays its own) and
 * answers the query; 0, or -1 when the replay failed (the query then fails with the reason). */
static int run_query_task(worker *w, wf_slot *slot, arena *a, wf_task *t)
{
    wf_output out;
    pages more;
    pb_query *q = t->query;
    wf_input in;
    task_input(w, slot, t, &more, &in);
    in.messages = NULL;
    in.nmessages = 0;
    in.queries = &q;
    in.nqueries = 1;
    in.query_only = 1;
    if (!whole_history(t)) /* a query on the sticky queue: never a kept run's (as sdk-go) */
        from_first_event(w, &more, &in);
    int rc = wf_run(w->reg, a, &in, &out);
    if (wft_slot_stuck(w, slot))
        return -1; /* answered by the watchdog already */
    const char *why = rc ? "out of memory in the worker" : out.message;
    if (rc || out.task_failed || out.nquery_results != 1) {
        char msg[900];
        snprintf(msg, sizeof(msg), "query %s on workflow %s failed: the history could not be "
                 "replayed: %s", q->query_type, in.workflow_id, why ? why : "no answer");
        log_error("%s", msg);
        wft_respond_query(w, a, t->task_token, NULL, msg);
        return -1;
    }
    wft_respond_query(w, a, t->task_token, out.query_results[0], NULL);
    return 0;
}

/* The run |t| goes to: the kept run when the cache has it and |t| continues it, else a new
 * run replayed from the first event (the whole history fetched when the poll carries only the
 * rest: a sticky task whose run the cache no longer has, or cannot continue). NULL when out of
 * memory. */
static wf_exec *run_for(worker *w, wf_task *t, pages *more, wf_input *in)
{
    const char *run_id = run_id_of(t);
    const pb_event *first = t->history && t->history->n_events ? t->history->events[0] : NULL;
    wf_exec *x = w->cache ? wfcache_take(w->cache, run_id, worker_call_ms(w, CACHE_WAIT_MS))
                          : NULL;
    int hit = x && wf_exec_continues(x, first);
    if (x && !hit) {
        log_debug("workflow %s: the kept run (next event %lld) does not continue the task's "
                  "history (first event %lld): replaying from the first event",
                  in->workflow_id, (long long)wf_exec_next_event(x),
                  first ? (long long)first->event_id : 0LL);
        wfcache_drop(w->cache, run_id, x);
    }
    pthread_mutex_lock(&w->mu);
    if (hit)
        w->cache_hits++;
    else if (w->cache)
        w->cache_misses++;
    pthread_mutex_unlock(&w->mu);
    if (hit)
        return x;
    if (!whole_history(t))
        from_first_event(w, more, in);
    return wf_exec_new(w->reg, in, TASK_ARENA_LIMIT);
}

/* After |t|'s task: |x| goes back to the cache when |keep| and it may take the run's next
 * task, else it is given up (freed). */
static void release_run(worker *w, const wf_task *t, wf_exec *x, int keep)
{
    if (w->cache && keep && wf_exec_reusable(x))
        wfcache_put(w->cache, run_id_of(t), x);
    else if (w->cache)
        wfcache_drop(w->cache, run_id_of(t), x);
    else
        wf_exec_free(x);
}

/* This invocation's sticky queue for the run's next task. Its schedule-to-start timeout (how
 * long a task may wait there before the server gives it to the task queue) ends no later than
 * when this invocation stops polling, but is at least 1 s: a task for this run that arrives
 * once the invocation has given its sticky queue back goes to the task queue at once, and then
 * the same timeout is how long the next invocation has to pick it up before the server times
 * it out and schedules it again. None (NULL) once fewer than STICKY_LAST_MS remain before the
 * stop, or the stop began: no poll can be open then (the server refuses a long poll shorter
 * than 2 s), so a task sent to the sticky queue would only wait there to time out; it goes to
 * the task queue instead. */
#define STICKY_LAST_MS 3000
static Temporal__Api__Taskqueue__V1__StickyExecutionAttributes *sticky_attributes(worker *w,
                                                                                 arena *a)
{
    int64_t ms = w->s->sticky_timeout_ms, left = w->stop_at - clock_mono_ms();
    if (left < STICKY_LAST_MS || worker_stopping(w))
        return NULL;
    Temporal__Api__Taskqueue__V1__StickyExecutionAttributes *sa = arena_alloc(a, sizeof(*sa));
    if (!sa)
        return NULL;
    temporal__api__taskqueue__v1__sticky_execution_attributes__init(sa);
    if (left < ms)
        ms = left;
    if (ms < 1000)
        ms = 1000;
    sa->worker_task_queue = worker_sticky_task_queue(w, a);
    sa->schedule_to_start_timeout = duration_ms(a, ms);
    return sa->worker_task_queue && sa->schedule_to_start_timeout ? sa : NULL;
}

/* ---- local activities (la.h) ----
 * A task whose local activities run long is completed before its timeout with a new task
 * forced (LA_HEARTBEAT); the run and its local activities stay with the slot's thread (not the
 * cache: they must not be replayed meanwhile) for that new task, which the server hands back
 * with the answer. */

/* Gives up the run the slot holds for its next task, and its local activities. */
static void drop_carried(worker *w, wf_slot *slot)
{
    la_set_free(slot->la_set);
    if (slot->la_run && w->cache)
        wfcache_drop(w->cache, slot->la_run_id, slot->la_run);
    else
        wf_exec_free(slot->la_run);
    slot->la_set = NULL;
    slot->la_run = NULL;
}

/* The run the slot holds when |t| continues it (its local activities into *|las|), else NULL
 * (and the slot holds nothing). */
static wf_exec *take_carried(worker *w, wf_slot *slot, const wf_task *t, la_set **las)
{
    const pb_event *first = t->history && t->history->n_events ? t->history->events[0] : NULL;
    wf_exec *x = slot->la_run;
    if (!x || strcmp(slot->la_run_id, run_id_of(t)) != 0 || !wf_exec_continues(x, first)) {
        drop_carried(w, slot);
        return NULL;
    }
    *las = slot->la_set;
    slot->la_run = NULL;
    slot->la_set = NULL;
    return x;
}

/* Runs |out|'s local activities on *|las| (made when NULL) until the task can be answered:
 * LA_DONE, LA_HEARTBEAT, LA_GIVE_UP, or LA_FAILED (|out| says why). */
static int run_locals(worker *w, wf_slot *slot, wf_task *t, wf_exec *x, arena *a, la_set **las,
                      int64_t task_start, wf_output *out)
{
    int64_t timeout = out->task_timeout_ms > 0 ? out->task_timeout_ms : 10000;
    if (!*las && !(*las = la_set_new(w, t->workflow_execution->workflow_id, run_id_of(t),
                                     t->workflow_type ? t->workflow_type->name : "",
                                     w->drain_deadline))) {
        *out = (wf_output){.task_failed = 1, .cause = WF_CAUSE_UNHANDLED_FAILURE,
                           .message = "out of memory in the worker"};
        return LA_FAILED;
    }
    /* As the official SDKs: completed at 80% of the task's timeout at the latest. */
    return la_drive(w, *las, x, a, &slot->code_since, out, task_start + timeout * 8 / 10);
}

/* Runs one workflow task; 0 when its answer was taken, -1 when it failed. *|next|: the next
 * task of the run the server handed back with the answer (in *|next_arena|), or NULL. */
static int run_workflow_task(worker *w, wf_slot *slot, arena *a, wf_task *t, wf_task **next,
                             arena **next_arena)
{
    *next = NULL;
    *next_arena = NULL;
    pages more;
    wf_input in;
    task_input(w, slot, t, &more, &in);
    in.queries = task_queries(a, t, &in.nqueries);
    int64_t task_start = clock_mono_ms();
    la_set *las = NULL;
    wf_exec *x = take_carried(w, slot, t, &las);
    if (!x)
        x = in.nqueries == t->n_queries ? run_for(w, t, &more, &in) : NULL;
    if (!x) {
        fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, "out of memory in the worker");
        return -1;
    }
    /* A replay: a new run for a workflow that had tasks before (no kept run to go on from). */
    int replay = wf_exec_next_event(x) == 1 && t->previous_started_event_id > 0;
    int64_t replay_since = metrics_clock_us();
    wf_output out;
    wf_exec_task(x, a, &in, &out);
    if (replay)
        worker_sample(w, &w->replay, replay_since);
    if (wft_slot_stuck(w, slot)) {
        release_run(w, t, x, 0);
        return -1; /* already failed by the watchdog; the server refuses any other answer */
    }
    int locals = LA_DONE;
    if (!out.task_failed && (out.nlocals || out.nlocal_cancels || wf_exec_locals_running(x) || las))
        locals = run_locals(w, slot, t, x, a, &las, task_start, &out);
    if (locals == LA_HEARTBEAT)
        slot->la_set = las; /* kept for the next task (given up in wft_run if none comes) */
    else
        la_set_free(las); /* what still runs is no longer waited for: dropped */
    if (!out.task_failed && wft_slot_stuck(w, slot)) {
        release_run(w, t, x, 0);
        return -1;
    }
    if (out.task_failed) {
        release_run(w, t, x, 0);
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
    req.sticky_attributes = w->cache ? sticky_attributes(w, a) : NULL;
    req.return_new_workflow_task = 1; /* what came meanwhile comes back here, not to a queue */
    /* Local activities still running (la.h): a new task to carry on in, handed back here, or,
     * at the stop, left to the next invocation. */
    req.force_create_new_workflow_task = locals == LA_HEARTBEAT || locals == LA_GIVE_UP;
    if (locals == LA_GIVE_UP)
        req.return_new_workflow_task = 0;
    Temporal__Api__Sdk__V1__WorkflowTaskCompletedMetadata meta;
    temporal__api__sdk__v1__workflow_task_completed_metadata__init(&meta);
    meta.sdk_name = TW_SDK_NAME; /* who completed each task, in the history (as the SDKs do) */
    meta.sdk_version = TW_SDK_VERSION;
    req.sdk_metadata = &meta;
    /* A speculative task (an update's) the server drops, events and all, when it has only
     * rejections (as sdk-go lets it): the answer then says so (reset_history_event_id) and
     * the kept run, which processed those events, is given up. */
    WFS(RespondWorkflowTaskCompletedRequest__Capabilities) caps;
    PB_INIT(WFS_DESC(respond_workflow_task_completed_request__capabilities), &caps);
    caps.discard_speculative_workflow_task_with_events = 1;
    req.capabilities = &caps;
    if (add_query_results(a, t, &out, &req) != 0) {
        release_run(w, t, x, 0);
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
        release_run(w, t, x, 0);
        fail_workflow_task(w, a, t, CAUSE(GRPC_MESSAGE_TOO_LARGE), msg);
        pthread_mutex_lock(&w->mu);
        w->oversized++;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    arena *ra = arena_new(TASK_ARENA_LIMIT); /* the answer's answer: maybe the next task */
    ProtobufCMessage *resp = NULL;
    grpc_status st = {.message = "out of memory"};
    int code = ra ? worker_call_into(w, "RespondWorkflowTaskCompleted", &req.base,
                                     &WFS_DESC(respond_workflow_task_completed_response),
                                     CALL_TIMEOUT_MS, ra, &resp, &st)
                  : GRPC_RESOURCE_EXHAUSTED;
    if (code != GRPC_OK) {
        log_error("RespondWorkflowTaskCompleted for %s: %s: %s", in.workflow_id,
                  grpc_code_name(code), st.message);
        release_run(w, t, x, 0);
        arena_free(ra);
        if (codec_refused(code, &st)) /* nothing was sent: the task fails, saying why */
            fail_workflow_task(w, a, t, code == GRPC_RESOURCE_EXHAUSTED
                                            ? CAUSE(GRPC_MESSAGE_TOO_LARGE) /* as above */
                                            : WF_CAUSE_UNHANDLED_FAILURE, st.message);
        return -1;
    }
    count_queries(w, req.n_query_results);
    WFS(RespondWorkflowTaskCompletedResponse) *r = (void *)resp;
    wf_task *nt = r->workflow_task;
    if (locals == LA_HEARTBEAT && nt && nt->task_token.len && !r->reset_history_event_id &&
        strlen(run_id_of(t)) < sizeof(slot->la_run_id)) {
        slot->la_run = x; /* held for |nt| with its local activities */
        snprintf(slot->la_run_id, sizeof(slot->la_run_id), "%s", run_id_of(t));
    } else {
        release_run(w, t, x, !r->reset_history_event_id && locals != LA_GIVE_UP);
    }
    if (nt && nt->task_token.len && nt->workflow_execution) {
        *next = nt;
        *next_arena = ra;
    } else {
        arena_free(ra);
    }
    return 0;
}

wf_task *wft_run(worker *w, wf_slot *slot, arena *a, wf_task *t, arena **next_arena,
                 int *failed)
{
    wf_task *next = NULL;
    *next_arena = NULL;
    char why[400];
    if (codec_decode(reg_get_codec(w->reg), a, &t->base, why, sizeof(why)) != 0) {
        *failed = 1; /* as sdk-go: a payload that cannot be decoded fails the task */
        if (t->query)
            wft_respond_query(w, a, t->task_token, NULL, why);
        else
            fail_workflow_task(w, a, t, WF_CAUSE_UNHANDLED_FAILURE, why);
        drop_carried(w, slot); /* a run held for this task (local activities) goes too */
        arena_free(a);
        return NULL;
    }
    if (t->query)
        *failed = run_query_task(w, slot, a, t) != 0;
    else
        *failed = run_workflow_task(w, slot, a, t, &next, next_arena) != 0;
    if (!next || !slot->la_run) /* nothing carries on with local activities held */
        drop_carried(w, slot);
    arena_free(a);
    return next;
}
