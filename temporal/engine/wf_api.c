/*
 * wf_api: the calls workflow code makes (tw.h's workflow half): they make commands and block
 * on futures; the replay driver (wf.c) matches the commands and resolves the futures. Every
 * call checks it runs inside the workflow's coroutine (TW_ESTATE otherwise) and that memory
 * has not run out (TW_ENOMEM: see wf_int.h).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"
#include "runtime/log.h"

typedef Temporal__Api__Command__V1__ScheduleActivityTaskCommandAttributes schedule_attrs;
typedef Temporal__Api__Command__V1__StartTimerCommandAttributes timer_attrs;

/* ---- helpers the engine's files share ---- */

tw_wf *wf_current(tw_wf *wf)
{
    return wf && coro_current() == wf->co ? wf : NULL;
}

void *wf_mem(tw_wf *wf, size_t n)
{
    void *p = arena_alloc(wf->a, n);
    if (!p)
        wf->oom = 1;
    return p;
}

char *wf_strdup(tw_wf *wf, const char *s)
{
    char *d = arena_strdup(wf->a, s);
    if (s && !d)
        wf->oom = 1;
    return d;
}

static pb_duration *wf_duration(tw_wf *wf, int64_t ms)
{
    pb_duration *d = duration_ms(wf->a, ms);
    if (ms > 0 && !d)
        wf->oom = 1;
    return d; /* NULL for 0: unset */
}

pb_payloads *wf_payloads(tw_wf *wf, const tw_payload *p, size_t n)
{
    pb_payloads *ps = payloads_to_pb(wf->a, p, n);
    if (n && !ps)
        wf->oom = 1;
    return ps;
}

void wf_push_cmd(tw_wf *wf, int type, pb_command *pb, wf_future *f)
{
    wf_cmd *c = wf_mem(wf, sizeof(*c));
    if (!c || !pb) {
        wf->oom = 1;
        return;
    }
    *c = (wf_cmd){.pb = pb, .kind = cmd_kind_of(type), .f = f};
    *wf->pending_tail = c;
    wf->pending_tail = &c->next;
}

wf_future *wf_new_future(tw_wf *wf, const cmd_kind *kind, const char *id, const char *type)
{
    wf_future *f = wf_mem(wf, sizeof(*f));
    if (!f)
        return NULL;
    *f = (wf_future){.kind = kind, .id = wf_strdup(wf, id), .type = wf_strdup(wf, type)};
    if (wf->oom)
        return NULL;
    f->next = wf->futures;
    wf->futures = f;
    return f;
}

uint64_t wf_seed_of(const char *run_id)
{
    uint64_t seed = 1469598103934665603ULL;
    for (const char *p = run_id ? run_id : ""; *p; p++)
        seed = (seed ^ (unsigned char)*p) * 1099511628211ULL;
    return seed;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- activities ---- */

static Temporal__Api__Common__V1__RetryPolicy *retry_policy(tw_wf *wf, const tw_retry_policy *r)
{
    Temporal__Api__Common__V1__RetryPolicy *rp = wf_mem(wf, sizeof(*rp));
    if (!rp)
        return NULL;
    temporal__api__common__v1__retry_policy__init(rp);
    rp->initial_interval = wf_duration(wf, r->initial_interval_ms);
    rp->backoff_coefficient = r->backoff_coefficient;
    rp->maximum_interval = wf_duration(wf, r->maximum_interval_ms);
    rp->maximum_attempts = r->maximum_attempts;
    size_t n = 0;
    while (r->non_retryable_types && r->non_retryable_types[n])
        n++;
    if (n) {
        rp->non_retryable_error_types = wf_mem(wf, n * sizeof(char *));
        if (!rp->non_retryable_error_types)
            return NULL;
        for (size_t i = 0; i < n; i++)
            rp->non_retryable_error_types[i] = wf_strdup(wf, r->non_retryable_types[i]);
        rp->n_non_retryable_error_types = n;
    }
    return rp;
}

int wf_start_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                          const tw_payload *args, size_t nargs, tw_future **out)
{
    if (!wf_current(wf))
        return TW_ESTATE;
    if (!type || !*type || !o || (o->start_to_close_ms <= 0 && o->schedule_to_close_ms <= 0) ||
        !payloads_valid(args, nargs))
        return TW_EINVAL; /* the server refuses an activity without either timeout */
    if (wf->oom)
        return TW_ENOMEM;
    char idbuf[24];
    const char *id = o->activity_id;
    if (!id) {
        snprintf(idbuf, sizeof(idbuf), "%d", ++wf->act_seq);
        id = idbuf;
    }
    schedule_attrs *at = wf_mem(wf, sizeof(*at));
    Temporal__Api__Common__V1__ActivityType *atype = wf_mem(wf, sizeof(*atype));
    pb_task_queue *tq = wf_mem(wf, sizeof(*tq));
    wf_future *f = wf_new_future(wf, cmd_kind_of(CMD(SCHEDULE_ACTIVITY_TASK)), id, type);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__schedule_activity_task_command_attributes__init(at);
    temporal__api__common__v1__activity_type__init(atype);
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, tq);
    atype->name = (char *)f->type;
    tq->name = wf_strdup(wf, o->task_queue ? o->task_queue : wf->info.task_queue);
    tq->kind = TQ_KIND_NORMAL;
    at->activity_id = (char *)f->id;
    at->activity_type = atype;
    at->task_queue = tq;
    at->input = wf_payloads(wf, args, nargs);
    at->schedule_to_close_timeout = wf_duration(wf, o->schedule_to_close_ms);
    at->schedule_to_start_timeout = wf_duration(wf, o->schedule_to_start_ms);
    at->start_to_close_timeout = wf_duration(wf, o->start_to_close_ms);
    at->heartbeat_timeout = wf_duration(wf, o->heartbeat_ms);
    if (o->retry && !(at->retry_policy = retry_policy(wf, o->retry)))
        return TW_ENOMEM;
    if (wf->oom)
        return TW_ENOMEM;
    wf_push_cmd(wf, CMD(SCHEDULE_ACTIVITY_TASK),
                cmd_new(wf->a, CMD(SCHEDULE_ACTIVITY_TASK), at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

int wf_await(tw_wf *wf, tw_future *tf, tw_payload *result)
{
    wf_future *f = (wf_future *)tf;
    if (!wf_current(wf) || !f)
        return TW_ESTATE;
    while (!f->done)
        coro_yield();
    if (f->failed) {
        wf->last_failure = f->failure;
        return TW_EFAILED;
    }
    if (result)
        *result = f->nresult ? f->result[0] : tw_null();
    return TW_OK;
}

int wf_execute_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *f;
    int rc = wf_start_activity(wf, type, o, args, nargs, &f);
    return rc ? rc : wf_await(wf, f, result);
}

/* ---- timers ---- */

int wf_start_timer(tw_wf *wf, int64_t ms, tw_future **out)
{
    if (!wf_current(wf))
        return TW_ESTATE;
    if (ms < 0)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    if (ms == 0) { /* as in sdk-go: no command, a future that is already ready */
        wf_future *f = wf_mem(wf, sizeof(*f));
        if (!f)
            return TW_ENOMEM;
        *f = (wf_future){.done = 1};
        if (out)
            *out = (tw_future *)f;
        return TW_OK;
    }
    char id[24];
    snprintf(id, sizeof(id), "%d", ++wf->timer_seq);
    timer_attrs *at = wf_mem(wf, sizeof(*at));
    wf_future *f = wf_new_future(wf, cmd_kind_of(CMD(START_TIMER)), id, NULL);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__start_timer_command_attributes__init(at);
    at->timer_id = (char *)f->id;
    at->start_to_fire_timeout = wf_duration(wf, ms);
    wf_push_cmd(wf, CMD(START_TIMER), cmd_new(wf->a, CMD(START_TIMER), at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

int wf_sleep(tw_wf *wf, int64_t ms)
{
    tw_future *f;
    int rc = wf_start_timer(wf, ms, &f);
    return rc ? rc : wf_await(wf, f, NULL);
}

int wf_select(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready)
{
    if (!wf_current(wf) || !fs || !n)
        return TW_EINVAL;
    for (;;) {
        for (size_t i = 0; i < n; i++)
            if (fs[i] && ((wf_future *)fs[i])->done) {
                if (ready)
                    *ready = i;
                return TW_OK;
            }
        coro_yield();
    }
}

/* ---- the rest ---- */

int64_t wf_now_ms(tw_wf *wf) { return wf ? wf->now_ms : 0; }
uint64_t wf_random(tw_wf *wf) { return wf ? splitmix(&wf->rng) : 0; }
const tw_wf_info *wf_info(tw_wf *wf) { return wf ? &wf->info : NULL; }

void *wf_alloc(tw_wf *wf, size_t n)
{
    if (!wf)
        return NULL;
    if (n > SIZE_MAX / 2) { /* no arena holds it (and the arena's rounding would wrap) */
        wf->oom = 1;
        return NULL;
    }
    return wf_mem(wf, n);
}

void wf_log(tw_wf *wf, int level, const char *msg)
{
    if (!wf || wf->replaying)
        return; /* replayed code already logged this the first time */
    int l = level >= TW_LOG_ERROR ? LOG_ERROR : level == TW_LOG_WARN ? LOG_WARN
          : level == TW_LOG_INFO ? LOG_INFO : LOG_DEBUG;
    log_write(l, "%s: %s", wf->info.workflow_type, msg);
}

/* Keeps a deep copy: user code builds |f| (details too) in a frame that is gone by the time
 * the closing command is made. */
int wf_fail(tw_wf *wf, const tw_failure *f)
{
    if (!wf || !f)
        return TW_EINVAL;
    tw_failure *copy;
    int rc = failure_copy(wf->a, f, &copy);
    if (rc == TW_ENOMEM)
        wf->oom = 1;
    if (rc)
        return rc;
    wf->failure = copy;
    return TW_EFAILED;
}

const tw_failure *wf_last_failure(tw_wf *wf) { return wf ? wf->last_failure : NULL; }
