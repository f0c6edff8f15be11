/*
 * local: local activities in the engine. The code asks for one (tw_start_local_activity); the
 * engine does not run it: it hands the request to the worker in the task's answer (wf_output's
 * |locals|), the worker runs it (temporal/worker/la.c) and gives the outcome back
 * (wf_exec_local_done), which resolves the future, records a RecordMarker command and runs the
 * code on, all within the same workflow task. The marker is sdk-go's: name "LocalActivity",
 * detail "data" (a json/plain object {ActivityID, ActivityType, ReplayTime, Attempt, Backoff}),
 * detail "result" (the result's payloads) when it completed, the failure in the marker's
 * failure field when it failed or was cancelled.
 *
 * Replay (as sdk-go): a task's local activity markers are among the events that follow the
 * task's WorkflowTaskStarted (its completion's commands), so after the code of a replayed
 * batch ran, the next batch is peeked and its LocalActivity markers are applied in order, each
 * resolving the local activity it names (the code asked for it and it waits) and running the
 * code again: the code sees each result where it saw it first, and makes the same commands,
 * the marker's among them, which the next batch's events then match. A marker naming another
 * activity type than the code asked for is non-determinism; a marker for a local activity the
 * code never asked for fails the match of that event. The activity does not run on replay.
 *
 * Retries: the worker retries an attempt that failed while the backoff is within the local
 * retry threshold; a longer backoff comes back as a failure with |backoff_ms|: its marker says
 * so (Backoff), a durable timer (StartTimer) follows, and when it fires the next attempt
 * (attempt + 1, a new activity id, the first schedule time kept) is asked for again.
 *
 * Cancellation, the same live and on replay (so a kept run and a full replay agree): TRY and
 * ABANDON record a marker with a CanceledFailure and resolve the future at once (TRY also tells
 * the worker to cancel the running attempt); WAIT_COMPLETED tells the worker and waits for its
 * outcome, recorded as any other. One backing off on a durable timer: the timer is cancelled
 * and the cancellation recorded, whatever the type.
 *
 * Memory: the local activities' state lives in the run's arena; a request handed to the worker
 * points into it and is only valid until the next call on the run (the worker copies it).
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Command__V1__RecordMarkerCommandAttributes marker_attrs;
typedef Temporal__Api__Command__V1__RecordMarkerCommandAttributes__DetailsEntry marker_entry;
typedef Temporal__Api__Command__V1__StartTimerCommandAttributes timer_attrs;

#define MARKER_NAME "LocalActivity"
#define DEFAULT_THRESHOLD_MS 60000

enum { LA_WAITING = 1, LA_HANDED, LA_BACKOFF, LA_DONE };

/* One local activity the code asked for, until its future is resolved. */
typedef struct wf_local {
    wf_local_request req;      /* id, type, attempt, options; strings and args in the run's arena */
    wf_future *f;
    int state;                 /* LA_*: WAITING for the worker (live) or a marker (replay) */
    int cancel_requested;      /* WAIT_COMPLETED cancelled: the worker is (to be) told */
    int tell_cancel;           /* the worker is to be told in the next answer */
    wf_future *timer;          /* LA_BACKOFF: the durable timer */
    struct wf_local *next;
} wf_local;

struct wf_locals {
    wf_local *list, **tail;
    uint32_t seq;
};

/* ---- the marker's data ---- */

/* |ms| (Unix) as RFC 3339 with milliseconds, UTC (what Go's time.Time reads). */
static void format_time(int64_t ms, char out[80])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&s, &tm)) {
        snprintf(out, 80, "0001-01-01T00:00:00Z");
        return;
    }
    snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* RFC 3339 (fraction and offset optional) as Unix ms; 0 when unreadable. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || tm.tm_year < 1970 ||
        tm.tm_year > 9999)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = s + n;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            ms += scale ? (*p - '0') * scale : 0;
    }
    int sign = *p == '+' ? -1 : *p == '-' ? 1 : 0;
    int hh, mm;
    if (sign && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
        ms += sign * ((int64_t)hh * 3600 + mm * 60) * 1000;
    return ms;
}

/* What a marker's "data" says. Strings borrowed from |json| (a cJSON tree the caller frees). */
typedef struct marker_data {
    const char *id, *type;
    int32_t attempt;
    int64_t replay_ms;
    int64_t backoff_ms;
} marker_data;

/* The first payload of |p| parsed as the marker's data: a cJSON tree (the caller's to free,
 * cJSON_Delete) and *d reading it; NULL when it is not such an object. */
static cJSON *read_data(const pb_payloads *p, marker_data *d)
{
    memset(d, 0, sizeof(*d));
    if (!p || !p->n_payloads || !p->payloads[0])
        return NULL;
    const ProtobufCBinaryData *b = &p->payloads[0]->data;
    cJSON *j = cJSON_ParseWithLength((const char *)b->data, b->len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    d->id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "ActivityID"));
    d->type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "ActivityType"));
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "Attempt");
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(j, "Backoff");
    d->attempt = cJSON_IsNumber(at) && at->valuedouble >= 1 && at->valuedouble < 1e9
                     ? (int32_t)at->valuedouble : 1;
    /* Go's time.Duration: nanoseconds */
    d->backoff_ms = cJSON_IsNumber(bo) && bo->valuedouble > 0 && bo->valuedouble < 9e18
                        ? (int64_t)(bo->valuedouble / 1e6) : 0;
    d->replay_ms = parse_time(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "ReplayTime")));
    return j;
}

/* The "data" payload for |l|'s marker: ReplayTime |when_ms|, Backoff |backoff_ms|. */
static pb_payloads *write_data(tw_wf *wf, const wf_local *l, int32_t attempt, int64_t when_ms,
                               int64_t backoff_ms)
{
    char t[80];
    format_time(when_ms, t);
    cJSON *j = cJSON_CreateObject();
    char *s = NULL;
    if (j && cJSON_AddStringToObject(j, "ActivityID", l->req.activity_id) &&
        cJSON_AddStringToObject(j, "ActivityType", l->req.activity_type) &&
        cJSON_AddStringToObject(j, "ReplayTime", t) &&
        cJSON_AddNumberToObject(j, "Attempt", attempt) &&
        cJSON_AddNumberToObject(j, "Backoff", (double)backoff_ms * 1e6))
        s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    pb_payloads *p = NULL;
    if (s) {
        tw_payload v = tw_json(wf_strdup(wf, s));
        p = v.data ? wf_payloads(wf, &v, 1) : NULL;
        free(s);
    }
    if (!p)
        wf->oom = 1;
    return p;
}

int local_marker_same(const pb_command *c, const pb_event *ev)
{
    marker_data a, b;
    cJSON *ja = read_data(cmd_marker_detail(c, "data"), &a);
    cJSON *jb = read_data(ev_marker_detail(ev, "data"), &b);
    int same = ja && jb && a.id && b.id && strcmp(a.id, b.id) == 0 &&
               (!b.type || !*b.type || (a.type && strcmp(a.type, b.type) == 0));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return same;
}

/* ---- the state ---- */

static struct wf_locals *locals(tw_wf *wf)
{
    if (!wf->locals && (wf->locals = wf_mem(wf, sizeof(*wf->locals)))) {
        memset(wf->locals, 0, sizeof(*wf->locals));
        wf->locals->tail = &wf->locals->list;
    }
    return wf->locals;
}

static wf_local *find(tw_wf *wf, uint32_t seq)
{
    for (wf_local *l = wf->locals ? wf->locals->list : NULL; l; l = l->next)
        if (l->req.seq == seq)
            return l;
    return NULL;
}

/* "1", "2", ...: the next activity id (shared with activities, as sdk-go shares its ids). */
static const char *next_id(tw_wf *wf)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", ++wf->act_seq);
    return wf_strdup(wf, buf);
}

/* Records |l|'s marker: data (attempt, time, backoff), the result or the failure. */
static void push_marker(tw_wf *wf, wf_local *l, int32_t attempt, int64_t when_ms,
                        int64_t backoff_ms, pb_payloads *result, pb_failure *failure)
{
    marker_attrs *at = wf_mem(wf, sizeof(*at));
    marker_entry **e = wf_mem(wf, 2 * sizeof(*e));
    marker_entry *data = wf_mem(wf, sizeof(*data)), *res = wf_mem(wf, sizeof(*res));
    pb_payloads *d = write_data(wf, l, attempt, when_ms, backoff_ms);
    if (wf->oom)
        return;
    temporal__api__command__v1__record_marker_command_attributes__init(at);
    temporal__api__command__v1__record_marker_command_attributes__details_entry__init(data);
    temporal__api__command__v1__record_marker_command_attributes__details_entry__init(res);
    at->marker_name = MARKER_NAME;
    data->key = "data";
    data->value = d;
    e[at->n_details++] = data;
    if (result) {
        res->key = "result";
        res->value = result;
        e[at->n_details++] = res;
    }
    at->details = e;
    at->failure = failure;
    wf_push_cmd(wf, CMD(RECORD_MARKER), cmd_new(wf->a, CMD(RECORD_MARKER), at), NULL);
}

/* A durable timer of |ms| for |l|'s backoff (the code's StartTimer, made outside the code). */
static void start_backoff(tw_wf *wf, wf_local *l, int64_t ms)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", ++wf->timer_seq);
    timer_attrs *at = wf_mem(wf, sizeof(*at));
    wf_future *t = wf_new_future(wf, cmd_kind_of(CMD(START_TIMER)), buf, NULL);
    if (wf->oom)
        return;
    temporal__api__command__v1__start_timer_command_attributes__init(at);
    if (__builtin_add_overflow(wf->now_ms, ms, &t->fire_at_ms))
        t->fire_at_ms = INT64_MAX;
    at->timer_id = (char *)t->id;
    at->start_to_fire_timeout = duration_ms(wf->a, ms);
    if (!at->start_to_fire_timeout) {
        wf->oom = 1;
        return;
    }
    t->cmd = wf_push_cmd(wf, CMD(START_TIMER), cmd_new(wf->a, CMD(START_TIMER), at), t);
    l->timer = t;
    l->state = LA_BACKOFF;
}

/* Resolves |l| as its marker says (the one just recorded, or one from the history): |result|
 * when it completed, |pf| (its error) when it failed or was cancelled; a failure with a
 * backoff waits on a durable timer instead. Also records the marker (|attempt|, |when_ms|).
 * The same path live and on replay, so both make the same commands and the code sees the same. */
static void settle(tw_wf *wf, wf_local *l, int32_t attempt, int64_t when_ms, int64_t backoff_ms,
                   pb_payloads *result, pb_failure *pf)
{
    wf_future *f = l->f;
    push_marker(wf, l, attempt, when_ms, backoff_ms, pf ? NULL : result, pf);
    if (when_ms > wf->now_ms)
        wf->now_ms = when_ms; /* as sdk-go: the code goes on at the marker's time */
    if (pf && backoff_ms > 0 && !l->cancel_requested) {
        l->req.attempt = attempt;
        start_backoff(wf, l, backoff_ms);
        return;
    }
    l->state = LA_DONE;
    f->done = 1;
    if (!pf) {
        if (result && payloads_from_pb(wf->a, result, &f->result, &f->nresult))
            wf->oom = 1;
        return;
    }
    tw_failure *cause = failure_from_pb(wf->a, pf);
    if (cause && cause->kind == TW_FAILURE_CANCELED) {
        f->canceled = 1;
        f->failure = cause;
        return;
    }
    f->failed = 1;
    f->failure = cause ? failure_of_activity(wf->a, cause, l->req.activity_type,
                                             l->req.activity_id, 0) : NULL;
    if (!f->failure)
        wf->oom = 1;
}

static void cancel_marker(tw_wf *wf, wf_local *l)
{
    static const tw_failure canceled = {.type = "Canceled", .message = "local activity canceled",
                                        .kind = TW_FAILURE_CANCELED};
    pb_failure *pf = failure_to_pb(wf->a, &canceled);
    if (!pf) {
        wf->oom = 1;
        return;
    }
    settle(wf, l, l->req.attempt, wf->now_ms, 0, NULL, pf); /* at the code's time */
}

/* ---- the calls ---- */

static int valid_retry(const tw_retry_policy *r)
{
    return !r || (r->initial_interval_ms >= 0 && r->maximum_interval_ms >= 0 &&
                  r->maximum_attempts >= 0 && (r->backoff_coefficient == 0 ||
                                               r->backoff_coefficient >= 1));
}

/* The request's retry policy: |r| with sdk-go's local activity defaults, in the run's arena. */
static void retry_of(tw_wf *wf, const tw_retry_policy *r, tw_retry_policy *out)
{
    *out = r ? *r : (tw_retry_policy){0};
    out->non_retryable_types = NULL;
    if (!out->initial_interval_ms)
        out->initial_interval_ms = 1000;
    if (out->backoff_coefficient == 0)
        out->backoff_coefficient = 2;
    if (!out->maximum_interval_ms)
        out->maximum_interval_ms = 100 * out->initial_interval_ms;
    size_t n = 0;
    while (r && r->non_retryable_types && r->non_retryable_types[n])
        n++;
    if (!n)
        return;
    const char **t = wf_mem(wf, (n + 1) * sizeof(*t));
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        t[i] = wf_strdup(wf, r->non_retryable_types[i]);
    t[n] = NULL;
    out->non_retryable_types = t;
}

int wf_start_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_future **out)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!type || !*type || !o || o->schedule_to_close_ms < 0 || o->start_to_close_ms < 0 ||
        (o->start_to_close_ms <= 0 && o->schedule_to_close_ms <= 0) ||
        o->local_retry_threshold_ms < 0 || o->cancellation_type < TW_CANCEL_TRY ||
        o->cancellation_type > TW_CANCEL_ABANDON || !valid_retry(o->retry) ||
        !payloads_valid(args, nargs))
        return TW_EINVAL;
    if (wf->oom || !locals(wf))
        return TW_ENOMEM;
    wf_local *l = wf_mem(wf, sizeof(*l));
    const char *id = next_id(wf);
    wf_future *f = l && id ? wf_new_future(wf, NULL, id, type) : NULL;
    tw_payload *copy = nargs ? wf_mem(wf, nargs * sizeof(*copy)) : NULL;
    if (wf->oom || !f)
        return TW_ENOMEM;
    for (size_t i = 0; i < nargs; i++) {
        copy[i] = args[i];
        copy[i].encoding = wf_strdup(wf, args[i].encoding ? args[i].encoding : "binary/plain");
        if (args[i].len)
            copy[i].data = arena_memdup(wf->a, args[i].data, args[i].len);
        if (args[i].len && !copy[i].data)
            wf->oom = 1;
    }
    memset(l, 0, sizeof(*l));
    l->f = f;
    l->state = LA_WAITING;
    l->req = (wf_local_request){
        .seq = ++wf->locals->seq, .activity_id = f->id, .activity_type = f->type,
        .args = copy, .nargs = nargs, .attempt = 1, .scheduled_ms = wf->now_ms,
        .schedule_to_close_ms = o->schedule_to_close_ms, .start_to_close_ms = o->start_to_close_ms,
        .retry_threshold_ms = o->local_retry_threshold_ms ? o->local_retry_threshold_ms
                                                          : DEFAULT_THRESHOLD_MS,
        .cancel_type = o->cancellation_type};
    retry_of(wf, o->retry, &l->req.retry);
    if (wf->oom)
        return TW_ENOMEM;
    f->local = l;
    f->cancel_type = o->cancellation_type;
    *wf->locals->tail = l;
    wf->locals->tail = &l->next;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

int wf_execute_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                              const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *f;
    int rc = wf_start_local_activity(wf, type, o, args, nargs, &f);
    return rc ? rc : wf_await(wf, f, result);
}

int wf_local_cancel(tw_wf *wf, wf_future *f)
{
    wf_local *l = f->local;
    if (f->done || l->state == LA_DONE)
        return TW_OK;
    if (l->state == LA_BACKOFF) { /* between attempts: no attempt to tell */
        wf_cancel_timer(wf, l->timer);
        cancel_marker(wf, l);
        return wf->oom ? TW_ENOMEM : TW_OK;
    }
    if (l->req.cancel_type == TW_CANCEL_WAIT_COMPLETED) {
        if (!l->cancel_requested) /* its outcome resolves it (wf_interrupted waits for it) */
            l->cancel_requested = l->tell_cancel = f->cancel_requested = 1;
        return TW_OK;
    }
    if (l->req.cancel_type == TW_CANCEL_TRY && l->state == LA_HANDED)
        l->tell_cancel = 1;
    cancel_marker(wf, l);
    return wf->oom ? TW_ENOMEM : TW_OK;
}

/* ---- replay: the markers a task recorded ---- */

/* Applies LocalActivity marker |ev| (from the batch after the one whose code just ran): the
 * local activity it names, waiting for it, is resolved. 1 when it resolved one, 0 when none
 * waits for it (the event's match says whether it is this run's), -1 with the task failed. */
static int apply_marker(tw_wf *wf, const pb_event *ev, wf_output *out)
{
    const Temporal__Api__History__V1__MarkerRecordedEventAttributes *at =
        ev->marker_recorded_event_attributes;
    marker_data d;
    cJSON *j = read_data(ev_marker_detail(ev, "data"), &d);
    wf_local *l = NULL;
    for (wf_local *i = wf->locals->list; j && d.id && i; i = i->next)
        if (i->state == LA_WAITING && strcmp(i->req.activity_id, d.id) == 0)
            l = i;
    int rc = 0;
    if (l && d.type && *d.type && strcmp(d.type, l->req.activity_type) != 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "history event %lld records local activity %.80s (id %.40s) "
                 "but the workflow code asked for local activity %.80s: the code changed since "
                 "this run started (non-deterministic)", (long long)ev->event_id, d.type, d.id,
                 l->req.activity_type);
        out->task_failed = 1;
        out->cause = WF_CAUSE_NON_DETERMINISTIC;
        out->message = wf_tstrdup(wf, msg);
        rc = -1;
    } else if (l) {
        const ProtobufCMessage *kf = at->failure ? wf_keep(wf, &at->failure->base) : NULL;
        const pb_payloads *res = ev_marker_detail(ev, "result");
        const ProtobufCMessage *kr = res ? wf_keep(wf, &res->base) : NULL;
        if (!wf->oom)
            settle(wf, l, d.attempt, d.replay_ms, d.backoff_ms, (pb_payloads *)kr,
                   (pb_failure *)kf);
        rc = 1;
    }
    cJSON_Delete(j);
    return rc;
}

static int any_pending(tw_wf *wf)
{
    for (wf_local *l = wf->locals ? wf->locals->list : NULL; l; l = l->next)
        if (l->state != LA_DONE)
            return 1;
    return 0;
}

/* Local activities whose durable backoff timer fired: their next attempt is asked for. */
static void retries_due(tw_wf *wf)
{
    for (wf_local *l = wf->locals ? wf->locals->list : NULL; l; l = l->next) {
        if (l->state != LA_BACKOFF || !l->timer->done)
            continue;
        l->timer = NULL;
        l->req.attempt++;
        l->req.activity_id = next_id(wf);
        l->state = LA_WAITING;
    }
}

int wf_locals_code(tw_wf *wf, history_iter *h, const history_batch *b, wf_output *out)
{
    retries_due(wf);
    if (wf_run_code(wf, out))
        return -1;
    if (b->last || !any_pending(wf) || wf->oom)
        return 0;
    history_batch next;
    int rc = history_peek(h, &next);
    if (rc < 0) {
        out->task_failed = 1;
        out->cause = WF_CAUSE_UNHANDLED_FAILURE;
        out->message = wf_tstrdup(wf, history_error(h));
        return -1;
    }
    for (size_t i = 0; rc == 1 && i < next.n; i++) {
        const pb_event *ev = next.events[i];
        if (ev->event_type != EV(MARKER_RECORDED) ||
            ev->attributes_case != TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_MARKER_RECORDED_EVENT_ATTRIBUTES ||
            !ev->marker_recorded_event_attributes->marker_name ||
            strcmp(ev->marker_recorded_event_attributes->marker_name, MARKER_NAME) != 0)
            continue;
        int r = apply_marker(wf, ev, out);
        if (r < 0)
            return -1;
        if (r > 0 && wf_run_code(wf, out))
            return -1;
        if (wf->oom)
            return 0;
    }
    return 0;
}

/* ---- live: the worker runs them ---- */

void wf_locals_collect(tw_wf *wf, wf_output *out)
{
    size_t nreq = 0, ncancel = 0;
    if (!wf->locals || wf->query_only || wf->replaying)
        return;
    for (wf_local *l = wf->locals->list; l; l = l->next) {
        if (l->state == LA_WAITING && !wf->closed)
            nreq++;
        if (l->tell_cancel)
            ncancel++;
    }
    wf_local_request *req = nreq ? wf_tmem(wf, nreq * sizeof(*req)) : NULL;
    uint32_t *cancels = ncancel ? wf_tmem(wf, ncancel * sizeof(*cancels)) : NULL;
    if (wf->oom)
        return;
    for (wf_local *l = wf->locals->list; l; l = l->next) {
        if (l->state == LA_WAITING && !wf->closed) {
            req[out->nlocals] = l->req;
            req[out->nlocals++].cancelled = l->cancel_requested;
            l->state = LA_HANDED;
        }
        if (l->tell_cancel) {
            cancels[out->nlocal_cancels++] = l->req.seq;
            l->tell_cancel = 0;
        }
    }
    out->locals = req;
    out->local_cancels = cancels;
    out->task_timeout_ms = wf->info.task_timeout_ms;
}

int wf_locals_running(const tw_wf *wf)
{
    int n = 0;
    for (const wf_local *l = wf && wf->locals && !wf->closed ? wf->locals->list : NULL; l;
         l = l->next)
        n += l->state == LA_HANDED;
    return n;
}

int wf_locals_result(tw_wf *wf, const wf_local_result *r, wf_output *out)
{
    wf_local *l = find(wf, r->seq);
    if (!l || l->state != LA_HANDED)
        return 0; /* resolved already (cancelled, the workflow closed): dropped */
    pb_failure *pf = NULL;
    pb_payloads *res = NULL;
    if (r->outcome == WF_LOCAL_COMPLETED) {
        if (!payloads_valid(&r->result, 1))
            return 0;
        res = wf_payloads(wf, &r->result, 1);
    } else {
        static const tw_failure canceled = {.type = "Canceled", .message = "local activity canceled",
                                            .kind = TW_FAILURE_CANCELED};
        const tw_failure *why = r->outcome == WF_LOCAL_CANCELED || !r->failure ? &canceled
                                                                               : r->failure;
        if (!(pf = failure_to_pb(wf->a, why)))
            wf->oom = 1;
    }
    if (wf->oom)
        return -1;
    int64_t when = r->completed_ms > wf->now_ms ? r->completed_ms : wf->now_ms;
    settle(wf, l, r->attempt > 0 ? r->attempt : l->req.attempt, when,
           r->outcome == WF_LOCAL_FAILED ? r->backoff_ms : 0, res, pf);
    return wf->oom ? -1 : 0;
}
