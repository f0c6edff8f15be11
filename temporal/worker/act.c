/*
 * act: activity tasks. Pollers reserve an activity slot before they poll (so no more than
 * TEMPORAL_MAX_CONCURRENT_ACTIVITIES run, whatever the number of pollers), each task runs on a
 * thread of its own, heartbeats are batched by one sender thread, and at the stop whatever
 * still runs is failed back at once, every fail-back concurrently.
 *
 * Ownership of a tw_act (the rule every function here keeps):
 * - The activity's thread owns the activity's arena |a|: only it allocates from it (arguments,
 *   user memory, its result and failure). Nothing else writes the arena.
 * - |token|, |info| (strings in |a|) and |every| are set before the thread starts and never
 *   change; a holder of a reference may read them.
 * - The fields marked "under mu" are touched only with w->mu held.
 * - |refs| counts the activity thread and whoever else holds the activity for a moment (the
 *   heartbeat sender while it sends). The last act_unref_locked() frees the arena, the token,
 *   the details and the struct. A fail-back takes copies under mu instead of a reference.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/engine/arena.h"
#include "temporal/clock.h"
#include "temporal/engine/payload.h"
#include "runtime/log.h"
#include "temporal/worker/codec.h"
#include "temporal/worker/worker.h"
#include "temporal/worker/worker_int.h"

#define HEARTBEAT_MAX_EVERY_MS 30000

struct tw_act {
    worker *w;
    arena *a;
    ProtobufCBinaryData token; /* malloc'd */
    tw_act_info info;
    tw_payload *args;
    size_t nargs;
    const char **header_keys;/* the task's header (tw_act_header), in |a| */
    tw_payload *header;
    size_t nheader;
    int64_t every;           /* heartbeat throttle window, ms */
    /* under mu */
    int refs;
    uint8_t *details;        /* the latest heartbeat details (packed Payloads, malloc'd), or NULL */
    size_t details_len;
    int pending;             /* |details| newer than what the server has */
    int sending;             /* the heartbeat sender is sending this one */
    int64_t last_sent;       /* monotonic ms of the last heartbeat sent, 0: none yet */
    int cancel_requested;    /* the server asked to cancel: answered as cancelled */
    int gone;                /* paused, reset or forgotten by the server: the code should stop,
                              * its answer is a failure (the server refuses a cancel answer) */
    int finished;            /* its function returned; its thread answers */
    int abandoned;           /* failed back at the stop: its own answer is dropped */
    int local;               /* a local activity's attempt (act_local_*): no token, no server */
    tw_act *next;
};

static void act_unref_locked(tw_act *act)
{
    if (--act->refs)
        return;
    arena_free(act->a);
    free(act->token.data);
    free(act->details);
    free(act);
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? time_to_ms(t->seconds, t->nanos) : 0; /* saturated: the task is the server's */
}

/* |deadline|, or |start| + |span| when that is earlier; without overflow whatever the task
 * says (a zero start or a span that is not positive changes nothing). */
static int64_t earlier(int64_t deadline, int64_t start, int64_t span)
{
    return span > 0 && start && start < deadline - span ? start + span : deadline;
}

/* Packs |n| payloads into malloc'd bytes (*out NULL and *len 0 for none). 0 or -1. */
static int pack_payloads(const tw_payload *p, size_t n, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!n)
        return 0;
    arena *scratch = arena_new(TASK_ARENA_LIMIT);
    pb_payloads *pb = scratch ? payloads_to_pb(scratch, p, n) : NULL;
    if (!pb) {
        arena_free(scratch);
        return -1;
    }
    *len = protobuf_c_message_get_packed_size(&pb->base);
    *out = malloc(*len ? *len : 1);
    if (*out)
        protobuf_c_message_pack(&pb->base, *out);
    arena_free(scratch);
    return *out ? 0 : -1;
}

static pb_payloads *unpack_payloads(const uint8_t *b, size_t len)
{
    if (!b)
        return NULL;
    return temporal__api__common__v1__payloads__unpack(NULL, len, b);
}

static void free_payloads(pb_payloads *p)
{
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* ---- answering ---- */

/* How an activity the stop interrupts (or never started) is given back: retryable. */
static const tw_failure shutdown_failure = {
    .type = "WorkerShutdown",
    .message = "the Lambda worker is shutting down before its deadline; the activity will be "
               "retried"};

static int respond_failed(worker *w, ProtobufCBinaryData token, arena *a, const tw_failure *f,
                          pb_payloads *details, grpc_status *st)
{
    WFS(RespondActivityTaskFailedRequest) req;
    PB_INIT(WFS_DESC(respond_activity_task_failed_request), &req);
    req.task_token = token;
    req.failure = failure_to_pb(a, f);
    req.last_heartbeat_details = details;
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    int code = worker_call(w, "RespondActivityTaskFailed", &req.base,
                           &WFS_DESC(respond_activity_task_failed_response), 0, CALL_TIMEOUT_MS,
                           st);
    if (codec_refused(code, st)) { /* the codec failed on its details: it fails saying so */
        tw_failure cf = {.type = "PayloadCodecError", .message = st->message};
        req.failure = failure_to_pb(a, &cf);
        req.last_heartbeat_details = NULL;
        code = worker_call(w, "RespondActivityTaskFailed", &req.base,
                           &WFS_DESC(respond_activity_task_failed_response), 0, CALL_TIMEOUT_MS,
                           st);
    }
    return code;
}

static int respond_cancelled(worker *w, ProtobufCBinaryData token, pb_payloads *details,
                             grpc_status *st)
{
    WFS(RespondActivityTaskCanceledRequest) req;
    PB_INIT(WFS_DESC(respond_activity_task_canceled_request), &req);
    req.task_token = token;
    req.details = details;
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    req.deployment_options = &w->dep;
    int code = worker_call(w, "RespondActivityTaskCanceled", &req.base,
                           &WFS_DESC(respond_activity_task_canceled_response), 0,
                           CALL_TIMEOUT_MS, st);
    if (codec_refused(code, st)) { /* the codec failed on its details: cancelled without them */
        log_error("activity cancelled without its details: %s", st->message);
        req.details = NULL;
        code = worker_call(w, "RespondActivityTaskCanceled", &req.base,
                           &WFS_DESC(respond_activity_task_canceled_response), 0,
                           CALL_TIMEOUT_MS, st);
    }
    return code;
}

/* The activity thread's answer. A result over the request limit fails the activity instead,
 * for good (the same result would be too large again), saying how large it was. */
static void respond_activity(tw_act *act, int rc, tw_payload *result, const tw_failure *failure,
                             int cancelled)
{
    worker *w = act->w;
    arena *a = act->a;
    grpc_status st;
    const char *what;
    int code;
    pthread_mutex_lock(&w->mu);
    pb_payloads *details = unpack_payloads(act->details, act->details_len);
    pthread_mutex_unlock(&w->mu);
    if (rc == 0) {
        WFS(RespondActivityTaskCompletedRequest) req;
        PB_INIT(WFS_DESC(respond_activity_task_completed_request), &req);
        req.task_token = act->token;
        req.result = payloads_to_pb(a, result, 1);
        req.identity = w->identity;
        req.namespace_ = (char *)w->ns;
        req.deployment_options = &w->dep;
        size_t size = protobuf_c_message_get_packed_size(&req.base);
        if (size > GRPC_MAX_REQUEST) {
            char msg[300];
            snprintf(msg, sizeof(msg), "the result of activity %s (%s) is %zu bytes, over the "
                     "%d-byte (4 MiB) limit of a request to Temporal; it was not delivered",
                     act->info.activity_type, act->info.activity_id, size, GRPC_MAX_REQUEST);
            log_error("%s", msg);
            tw_failure f = {.type = "ResultTooLarge", .message = msg, .non_retryable = 1};
            what = "RespondActivityTaskFailed";
            code = respond_failed(w, act->token, a, &f, details, &st);
            pthread_mutex_lock(&w->mu);
            w->oversized++;
            pthread_mutex_unlock(&w->mu);
        } else {
            what = "RespondActivityTaskCompleted";
            code = worker_call(w, what, &req.base,
                               &WFS_DESC(respond_activity_task_completed_response), 0,
                               CALL_TIMEOUT_MS, &st);
            if (codec_refused(code, &st)) { /* the result could not be encoded: it fails */
                tw_failure f = {.type = "PayloadCodecError", .message = st.message};
                what = "RespondActivityTaskFailed";
                code = respond_failed(w, act->token, a, &f, NULL, &st);
            }
        }
    } else if (cancelled) {
        what = "RespondActivityTaskCanceled";
        code = respond_cancelled(w, act->token, details, &st);
    } else {
        what = "RespondActivityTaskFailed";
        code = respond_failed(w, act->token, a, failure, details, &st);
    }
    free_payloads(details);
    if (code != GRPC_OK)
        log_error("%s for activity %s: %s: %s", what, act->info.activity_id, grpc_code_name(code),
                  st.message);
}

static __thread tw_failure *act_failure; /* set by tw_act_fail on this activity's thread */

/* What runs |act|'s type (its registration, else the dynamic activity), or NULL with |f| the
 * ActivityNotRegistered failure naming the registered types (its message in |msg|). */
static const reg_activity *activity_def(tw_act *act, const char *what, tw_failure *f,
                                        char *msg, size_t n)
{
    const reg_activity *def = reg_lookup_activity(act->w->reg, act->info.activity_type);
    if (!def) {
        char names[512];
        reg_activity_names(act->w->reg, names, sizeof(names));
        snprintf(msg, n, "%s type \"%s\" is not registered with this worker; registered: %s",
                 what, act->info.activity_type, names);
        *f = (tw_failure){.type = "ActivityNotRegistered", .message = msg};
    }
    return def;
}

static void *activity_thread(void *arg)
{
    tw_act *act = arg;
    worker *w = act->w;
    tw_payload result = tw_null();
    tw_failure failure = {0};
    char msg[768];
    int rc, pending = 0;
    act_failure = NULL;
    log_set_task("activity", act->info.activity_type, act->info.workflow_id,
                 act->info.activity_id);
    const reg_activity *def = activity_def(act, "activity", &failure, msg, sizeof(msg));
    if (!def) {
        rc = -1;
    } else {
        rc = def->fn(act, act->args, act->nargs, &result);
        if (rc == TW_EPENDING && reg_abi_minor(w->reg) >= 2)
            pending = 1; /* completed later by its task token, through a client */
        else if (rc != 0)
            failure = act_failure ? *act_failure
                                  : (tw_failure){.type = "ActivityError",
                                                 .message = "the activity returned an error "
                                                            "without tw_act_fail()"};
    }
    pthread_mutex_lock(&w->mu);
    int abandoned = act->abandoned;
    int cancelled = act->cancel_requested;
    act->finished = 1;
    pthread_mutex_unlock(&w->mu);
    if (!abandoned && !pending)
        respond_activity(act, rc, &result, &failure, cancelled && rc != 0);
    pthread_mutex_lock(&w->mu);
    if (!abandoned) {
        if (rc && !pending)
            w->acts_failed++;
        w->acts_done++;
        w->free_slots++;
    }
    w->last_busy = clock_mono_ms();
    for (tw_act **pp = &w->acts; *pp; pp = &(*pp)->next)
        if (*pp == act) {
            *pp = act->next;
            break;
        }
    act_unref_locked(act);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    log_set_task(NULL, NULL, NULL, NULL);
    worker_unref(w);
    return NULL;
}

/* tw_act_info's ABI 1.2 fields from |t| (strings borrowed from the task, in the activity's
 * arena; the task token is set with the token's copy). */
static void info_from_task(worker *w, tw_act_info *i, const WFS(PollActivityTaskQueueResponse) *t)
{
    i->size = (uint32_t)sizeof(tw_act_info);
    i->namespace_name = t->workflow_namespace && *t->workflow_namespace ? t->workflow_namespace
                                                                        : w->ns;
    i->workflow_type = t->workflow_type && t->workflow_type->name ? t->workflow_type->name : "";
    i->scheduled_time_ms = ts_ms(t->scheduled_time);
    i->current_attempt_scheduled_time_ms = ts_ms(t->current_attempt_scheduled_time);
    i->started_time_ms = ts_ms(t->started_time);
    i->heartbeat_timeout_ms = duration_to_ms(t->heartbeat_timeout);
    i->schedule_to_close_ms = duration_to_ms(t->schedule_to_close_timeout);
    i->start_to_close_ms = duration_to_ms(t->start_to_close_timeout);
    i->is_local = 0;
}

/* The task's header fields as views in |a| (tw_act_header). 0, or -1 out of memory. */
static int read_header(tw_act *act, arena *a, const Temporal__Api__Common__V1__Header *h)
{
    size_t n = h ? h->n_fields : 0;
    if (!n)
        return 0;
    act->header_keys = arena_alloc(a, n * sizeof(*act->header_keys));
    act->header = arena_alloc(a, n * sizeof(*act->header));
    if (!act->header_keys || !act->header)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const Temporal__Api__Common__V1__Header__FieldsEntry *e = h->fields[i];
        if (!e->key || !e->value)
            continue;
        act->header_keys[act->nheader] = e->key;
        act->header[act->nheader] = payload_from_pb(a, e->value);
        if (!act->header[act->nheader++].encoding)
            return -1;
    }
    return 0;
}

/* Makes the activity's context from its task; it takes |a|. NULL when out of memory (then
 * |a| is still the caller's). */
static tw_act *new_activity(worker *w, arena *a, WFS(PollActivityTaskQueueResponse) *t)
{
    tw_act *act = calloc(1, sizeof(*act));
    if (!act)
        return NULL;
    act->w = w;
    act->a = a;
    act->refs = 1;
    act->token.len = t->task_token.len;
    act->token.data = malloc(t->task_token.len ? t->task_token.len : 1);
    act->info.activity_id = t->activity_id ? t->activity_id : "";
    act->info.activity_type = t->activity_type && t->activity_type->name ? t->activity_type->name : "";
    act->info.workflow_id = t->workflow_execution ? t->workflow_execution->workflow_id : "";
    act->info.run_id = t->workflow_execution ? t->workflow_execution->run_id : "";
    act->info.task_queue = w->s->task_queue;
    act->info.attempt = t->attempt;
    int64_t deadline = w->drain_deadline; /* an answer after the drain is not delivered */
    deadline = earlier(deadline, ts_ms(t->started_time), duration_to_ms(t->start_to_close_timeout));
    deadline = earlier(deadline, ts_ms(t->scheduled_time),
                       duration_to_ms(t->schedule_to_close_timeout));
    act->info.deadline_ms = deadline;
    info_from_task(w, &act->info, t);
    /* Heartbeats reach the server at most once per 80% of the heartbeat timeout (and at least
     * every 30 s); calls in between are batched, never dropped. */
    int64_t hb = duration_to_ms(t->heartbeat_timeout);
    act->every = hb ? hb * 8 / 10 : HEARTBEAT_MAX_EVERY_MS;
    if (act->every > HEARTBEAT_MAX_EVERY_MS)
        act->every = HEARTBEAT_MAX_EVERY_MS;
    tw_payload *hbd;
    size_t nhb;
    if (!act->token.data || payloads_from_pb(a, t->heartbeat_details, &hbd, &nhb) ||
        payloads_from_pb(a, t->input, &act->args, &act->nargs) ||
        pack_payloads(hbd, nhb, &act->details, &act->details_len)) {
        free(act->token.data);
        free(act);
        return NULL;
    }
    if (read_header(act, a, t->header)) {
        free(act->token.data);
        free(act->details);
        free(act);
        return NULL;
    }
    if (t->task_token.len)
        memcpy(act->token.data, t->task_token.data, t->task_token.len);
    act->info.task_token = act->token.data; /* for completing it later (TW_EPENDING) */
    act->info.task_token_len = act->token.len;
    act->info.heartbeat_details = hbd;
    act->info.nheartbeat_details = nhb;
    return act;
}

/* Starts |act|'s thread. 0, or -1 (nothing started; the caller still has |act|). */
static int launch(worker *w, tw_act *act)
{
    pthread_mutex_lock(&w->mu);
    w->last_busy = clock_mono_ms();
    act->next = w->acts;
    w->acts = act;
    int failed = worker_spawn_locked(w, activity_thread, act, NULL);
    if (failed)
        w->acts = act->next;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

void *act_poller(void *arg)
{
    worker *w = arg;
    int64_t backoff = 0;
    for (;;) {
        pthread_mutex_lock(&w->mu); /* a slot is reserved before polling */
        while (!w->stopping && w->free_slots <= 0)
            pthread_cond_wait(&w->cv, &w->mu);
        int poll_ms = w->stopping ? 0 : worker_poll_ms_locked(w);
        if (poll_ms)
            w->free_slots--;
        pthread_mutex_unlock(&w->mu);
        if (!poll_ms)
            break;
        arena *a = arena_new(TASK_ARENA_LIMIT);
        WFS(PollActivityTaskQueueResponse) *t = NULL;
        int code = GRPC_RESOURCE_EXHAUSTED;
        grpc_status st = {.message = "out of memory"};
        int64_t since = metrics_clock_us();
        if (a) {
            WFS(PollActivityTaskQueueRequest) req;
            PB_INIT(WFS_DESC(poll_activity_task_queue_request), &req);
            req.namespace_ = (char *)w->ns;
            req.task_queue = worker_task_queue(a, w->s->task_queue);
            req.identity = w->identity;
            req.worker_instance_key = w->instance_key;
            req.deployment_options = &w->dep;
            ProtobufCMessage *resp = NULL;
            code = grpc_unary(w->ch, "PollActivityTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                              &req.base, &WFS_DESC(poll_activity_task_queue_response),
                              arena_allocator(a), &resp, poll_ms, &st);
            t = (void *)resp;
        }
        tw_act *act = NULL;
        char why[400];
        if (code == GRPC_OK && t->task_token.len)
            worker_sample(w, &w->poll_wait, since);
        if (code == GRPC_OK && t->task_token.len &&
            codec_decode(reg_get_codec(w->reg), a, &t->base, why, sizeof(why)) != 0) {
            /* As sdk-go: input that cannot be decoded fails the attempt (retried). */
            log_error("activity %s: %s", t->activity_id, why);
            tw_failure f = {.type = "PayloadCodecError", .message = why};
            grpc_status fst;
            respond_failed(w, t->task_token, a, &f, NULL, &fst);
        } else if (code == GRPC_OK && t->task_token.len && worker_stopping(w)) {
            /* Handed over just as the stop began: not started, given back to be retried. */
            grpc_status fst;
            respond_failed(w, t->task_token, a, &shutdown_failure, t->heartbeat_details, &fst);
        } else if (code == GRPC_OK && t->task_token.len) {
            act = new_activity(w, a, t);
            if (!act || launch(w, act) != 0) {
                tw_failure f = {.type = "WorkerError",
                                .message = act ? "the worker could not start a thread for the activity"
                                               : "the worker ran out of memory for the activity"};
                log_error("activity %s: %s", t->activity_id, f.message);
                grpc_status fst;
                respond_failed(w, t->task_token, a, &f, t->heartbeat_details, &fst);
                if (act) {
                    act->a = NULL; /* |a| is freed below */
                    pthread_mutex_lock(&w->mu);
                    act_unref_locked(act);
                    pthread_mutex_unlock(&w->mu);
                }
                act = NULL;
            }
        }
        if (!act) {
            arena_free(a);
            pthread_mutex_lock(&w->mu);
            w->free_slots++;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
        worker_poll_outcome(w, "activity poll", code, &st, &backoff);
    }
    worker_thread_done(w, &w->pollers_running);
    return NULL;
}

/* ---- heartbeats ---- */

/* The next activity whose heartbeat is due (taken: sending, a reference, its details copied
 * into *details), or NULL with *wait_ms how long until one is due (-1: none pending). */
static tw_act *due_heartbeat(worker *w, uint8_t **details, size_t *len, int64_t *wait_ms)
{
    int64_t now = clock_mono_ms();
    *wait_ms = -1;
    for (tw_act *act = w->acts; act; act = act->next) {
        if (!act->pending || act->sending || act->abandoned || act->finished)
            continue;
        int64_t due = act->last_sent ? act->last_sent + act->every : now;
        if (due > now) {
            if (*wait_ms < 0 || due - now < *wait_ms)
                *wait_ms = due - now;
            continue;
        }
        *details = act->details_len ? malloc(act->details_len) : NULL;
        if (act->details_len && !*details)
            continue;
        if (act->details_len)
            memcpy(*details, act->details, act->details_len);
        *len = act->details_len;
        act->pending = 0;
        act->sending = 1;
        act->last_sent = now;
        act->refs++;
        return act;
    }
    return NULL;
}

/* One heartbeat in flight: its own thread, so a slow answer for one activity never delays
 * another's. Holds a reference to the activity and its copy of the details. */
typedef struct hb_send {
    tw_act *act;
    uint8_t *details;
    size_t len;
} hb_send;

static void *heartbeat_thread(void *arg)
{
    hb_send *hs = arg;
    tw_act *act = hs->act;
    worker *w = act->w;
    WFS(RecordActivityTaskHeartbeatRequest) req;
    PB_INIT(WFS_DESC(record_activity_task_heartbeat_request), &req);
    req.task_token = act->token;
    req.details = unpack_payloads(hs->details, hs->len);
    req.identity = w->identity;
    req.namespace_ = (char *)w->ns;
    ProtobufCMessage *resp = NULL;
    grpc_status st = {.message = "out of memory"};
    arena *ha = arena_new(TASK_ARENA_LIMIT); /* the answer (and the codec's copy) */
    int code = ha ? worker_call_into(w, "RecordActivityTaskHeartbeat", &req.base,
                                     &WFS_DESC(record_activity_task_heartbeat_response),
                                     CALL_TIMEOUT_MS, ha, &resp, &st)
                  : GRPC_RESOURCE_EXHAUSTED;
    free_payloads(req.details);
    free(hs->details);
    free(hs);
    int cancel = 0, gone = 0;
    if (code == GRPC_OK) {
        WFS(RecordActivityTaskHeartbeatResponse) *r = (void *)resp;
        cancel = r->cancel_requested;
        gone = r->activity_paused || r->activity_reset;
    } else if (code == GRPC_NOT_FOUND) {
        gone = 1; /* timed out or gone on the server: nobody waits for this result */
    } else {
        log_warn("heartbeat of activity %s: %s: %s", act->info.activity_id, grpc_code_name(code),
                 st.message);
    }
    arena_free(ha);
    pthread_mutex_lock(&w->mu);
    act->cancel_requested |= cancel;
    act->gone |= gone;
    act->sending = 0;
    act_unref_locked(act);
    pthread_mutex_unlock(&w->mu);
    worker_thread_done(w, &w->hb_threads);
    return NULL;
}

void *act_heartbeat_sender(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->hb_stop) {
        hb_send *hs = calloc(1, sizeof(*hs));
        int64_t wait_ms = -1;
        if (hs)
            hs->act = due_heartbeat(w, &hs->details, &hs->len, &wait_ms);
        if (hs && hs->act) {
            if (worker_spawn_locked(w, heartbeat_thread, hs, &w->hb_threads) != 0) {
                hs->act->sending = 0; /* no thread now: it stays due, try again soon */
                hs->act->pending = 1;
                act_unref_locked(hs->act);
                free(hs->details);
                free(hs);
                wait_ms = 100;
            } else {
                continue;
            }
        } else {
            free(hs);
        }
        if (wait_ms < 0) {
            pthread_cond_wait(&w->cv, &w->mu);
        } else {
            struct timespec until = clock_mono_after(wait_ms);
            pthread_cond_timedwait(&w->cv, &w->mu, &until);
        }
    }
    pthread_mutex_unlock(&w->mu);
    worker_thread_done(w, &w->hb_threads);
    return NULL;
}

/* ---- the stop ---- */

typedef struct failback {
    worker *w;
    ProtobufCBinaryData token; /* malloc'd copies, owned by the fail-back */
    uint8_t *details;
    size_t details_len;
    int cancel_requested;      /* answer as cancelled: the server asked for it */
    char activity_id[128];
} failback;


static void *failback_thread(void *arg)
{
    failback *fb = arg;
    worker *w = fb->w;
    arena *a = arena_new(1024 * 1024);
    pb_payloads *details = unpack_payloads(fb->details, fb->details_len);
    grpc_status st = {.message = "out of memory"};
    int code = fb->cancel_requested ? respond_cancelled(w, fb->token, details, &st)
               : a ? respond_failed(w, fb->token, a, &shutdown_failure, details, &st)
                   : GRPC_RESOURCE_EXHAUSTED;
    if (code != GRPC_OK)
        log_error("failing back activity %s: %s: %s", fb->activity_id, grpc_code_name(code),
                  st.message);
    free_payloads(details);
    arena_free(a);
    free(fb->token.data);
    free(fb->details);
    free(fb);
    worker_thread_done(w, &w->answers_running);
    return NULL;
}

/* A fail-back of |act| made from copies (under mu), or NULL when out of memory. */
static failback *failback_of(worker *w, const tw_act *act)
{
    failback *fb = calloc(1, sizeof(*fb));
    if (!fb)
        return NULL;
    fb->w = w;
    fb->token.len = act->token.len;
    fb->token.data = malloc(act->token.len ? act->token.len : 1);
    fb->details_len = act->details_len;
    fb->details = act->details_len ? malloc(act->details_len) : NULL;
    if (!fb->token.data || (act->details_len && !fb->details)) {
        free(fb->token.data);
        free(fb->details);
        free(fb);
        return NULL;
    }
    memcpy(fb->token.data, act->token.data, act->token.len);
    if (act->details_len)
        memcpy(fb->details, act->details, act->details_len);
    fb->cancel_requested = act->cancel_requested;
    snprintf(fb->activity_id, sizeof(fb->activity_id), "%s", act->info.activity_id);
    return fb;
}

int act_abandon_running(worker *w)
{
    int n = 0;
    pthread_mutex_lock(&w->mu);
    for (tw_act *act = w->acts; act; act = act->next) {
        if (act->abandoned || act->finished)
            continue;
        failback *fb = failback_of(w, act);
        if (!fb || worker_spawn_locked(w, failback_thread, fb, &w->answers_running) != 0) {
            /* Not abandoned then: if it ends in time, its own answer still goes out. */
            log_error("no memory or thread to fail back activity %s", act->info.activity_id);
            if (fb) {
                free(fb->token.data);
                free(fb->details);
                free(fb);
            }
            continue;
        }
        act->abandoned = 1;
        w->acts_abandoned++;
        n++;
    }
    pthread_mutex_unlock(&w->mu);
    return n;
}

int act_answering(const worker *w)
{
    for (const tw_act *act = w->acts; act; act = act->next)
        if (act->finished && !act->abandoned)
            return 1;
    return 0;
}

/* ---- the activity API ---- */

const tw_act_info *act_info(tw_act *act) { return act ? &act->info : NULL; }

/* Keeps |details| as the latest (one copy, replacing the previous) and lets the sender deliver
 * them: at once when the window allows, else when it ends. Never blocks on the network. */
int act_heartbeat(tw_act *act, const tw_payload *details, size_t n)
{
    if (!act)
        return TW_EINVAL;
    if (act->local) /* nothing to record: it only says whether it was cancelled */
        return act_cancelled(act) ? TW_ECANCELED : TW_OK;
    worker *w = act->w;
    uint8_t *bytes;
    size_t len;
    if (pack_payloads(details, n, &bytes, &len) != 0)
        return TW_ENOMEM;
    pthread_mutex_lock(&w->mu);
    int gone = act->abandoned || act->cancel_requested || act->gone;
    if (!gone) {
        free(act->details);
        act->details = bytes;
        act->details_len = len;
        act->pending = 1;
        bytes = NULL;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    free(bytes);
    return gone ? TW_ECANCELED : TW_OK;
}

int act_cancelled(tw_act *act)
{
    if (!act)
        return 0;
    pthread_mutex_lock(&act->w->mu);
    int c = act->cancel_requested || act->gone || act->abandoned;
    pthread_mutex_unlock(&act->w->mu);
    return c;
}

/* ABI 1.2: the stop of the invocation began (the drain: an answer now is still delivered). */
int act_worker_stopping(tw_act *act) { return act && act->w ? worker_stopping(act->w) : 0; }

void *act_alloc(tw_act *act, size_t n) { return act ? arena_alloc(act->a, n) : NULL; }

void act_log(tw_act *act, int level, const char *msg)
{
    int l = level >= TW_LOG_ERROR ? LOG_ERROR : level == TW_LOG_WARN ? LOG_WARN
          : level == TW_LOG_INFO ? LOG_INFO : LOG_DEBUG;
    log_write(l, "%s (activity %s): %s", act ? act->info.activity_type : "?",
              act ? act->info.activity_id : "?", msg);
}

/* Deep-copies |f| (details included) into the activity's arena, on its own thread. */
int act_fail(tw_act *act, const tw_failure *f)
{
    if (!act || !f)
        return TW_EINVAL;
    tw_failure *copy;
    /* The fields (kind, cause chain) the library's ABI has. */
    if (failure_copy_abi(act->a, f, reg_abi_minor(act->w->reg), &copy) != 0)
        return TW_ENOMEM;
    act_failure = copy;
    return TW_EFAILED;
}

/* ---- local activities (la.c runs each attempt on a thread of its own) ---- */

tw_act *act_local_new(worker *w, arena *a, const tw_act_info *info, const tw_payload *args,
                      size_t nargs)
{
    tw_act *act = calloc(1, sizeof(*act));
    if (!act)
        return NULL;
    act->w = w;
    act->a = a;
    act->refs = 1;
    act->local = 1;
    act->info = *info;
    act->info.size = sizeof(act->info);
    act->info.is_local = 1;
    act->args = (tw_payload *)args;
    act->nargs = nargs;
    return act;
}

int act_local_run(tw_act *act, tw_payload *result, tw_failure **failure)
{
    tw_failure f = {0};
    char msg[768];
    int rc;
    *result = tw_null();
    *failure = NULL;
    act_failure = NULL;
    log_set_task("local activity", act->info.activity_type, act->info.workflow_id,
                 act->info.activity_id);
    const reg_activity *def = activity_def(act, "local activity", &f, msg, sizeof(msg));
    if (!def) {
        rc = -1;
    } else {
        rc = def->fn(act, act->args, act->nargs, result);
        if (rc == 0 && !payloads_valid(result, 1)) {
            f = (tw_failure){.type = "ActivityError",
                             .message = "the local activity returned a result with a length but "
                                        "no data"};
            rc = -1;
        } else if (rc != 0) {
            f = act_failure ? *act_failure
                            : (tw_failure){.type = "ActivityError",
                                           .message = "the activity returned an error without "
                                                      "tw_act_fail()"};
        }
    }
    log_set_task(NULL, NULL, NULL, NULL);
    if (rc != 0 && failure_copy_abi(act->a, &f, TW_ABI_MINOR, failure) != 0)
        *failure = NULL; /* out of memory: the caller says so */
    return rc ? (rc < 0 ? rc : -1) : 0;
}

void act_local_cancel(tw_act *act)
{
    pthread_mutex_lock(&act->w->mu);
    act->cancel_requested = 1;
    pthread_mutex_unlock(&act->w->mu);
}

void act_local_free(tw_act *act)
{
    if (!act)
        return;
    arena_free(act->a);
    free(act);
}

const tw_payload *act_header(tw_act *act, const char *key)
{
    for (size_t i = 0; act && key && i < act->nheader; i++)
        if (strcmp(act->header_keys[i], key) == 0)
            return &act->header[i];
    return NULL;
}
