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
    return wf && wf->running && coro_current() == wf->running->co ? wf : NULL;
}

tw_wf *wf_current_blocking(tw_wf *wf)
{
    return wf_current(wf) && !wf->running->in_condition ? wf : NULL;
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

void *wf_tmem(tw_wf *wf, size_t n)
{
    void *p = arena_alloc(wf->ta, n);
    if (!p)
        wf->oom = 1;
    return p;
}

char *wf_tstrdup(tw_wf *wf, const char *s)
{
    char *d = arena_strdup(wf->ta, s);
    if (s && !d)
        wf->oom = 1;
    return d;
}

void *wf_keep(tw_wf *wf, const ProtobufCMessage *m)
{
    if (!m || wf->a == wf->ta)
        return (void *)m;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = arena_alloc(wf->ta, n ? n : 1); /* the wire form, for this task only */
    ProtobufCMessage *copy = NULL;
    if (buf) {
        protobuf_c_message_pack(m, buf);
        copy = protobuf_c_message_unpack(m->descriptor, arena_allocator(wf->a), n, buf);
    }
    if (!copy)
        wf->oom = 1;
    return copy;
}

int wf_kept_payloads(tw_wf *wf, const pb_payloads *pb, tw_payload **out, size_t *n)
{
    if (payloads_from_pb(wf->a, pb, out, n))
        return -1;
    for (size_t i = 0; wf->a != wf->ta && i < *n; i++) {
        tw_payload *p = &(*out)[i];
        if (p->len && p->data && !(p->data = arena_memdup(wf->a, p->data, p->len)))
            return -1;
    }
    return 0;
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

wf_cmd *wf_push_cmd(tw_wf *wf, int type, pb_command *pb, wf_future *f)
{
    wf_cmd *c = wf_mem(wf, sizeof(*c));
    if (!c || !pb) {
        wf->oom = 1;
        return NULL;
    }
    *c = (wf_cmd){.pb = pb, .kind = cmd_kind_of(type), .f = f};
    *wf->pending_tail = c;
    wf->pending_tail = &c->next;
    return c;
}

void wf_drop_cmd(tw_wf *wf, wf_cmd *c)
{
    for (wf_cmd **p = &wf->pending; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            if (!*p)
                wf->pending_tail = p;
            return;
        }
}

void wf_describe_future(const wf_future *f, char *out, size_t n)
{
    if (f->co)
        snprintf(out, n, "coroutine %d", f->co->id);
    else if (f->kind && f->kind->type == CMD(SCHEDULE_ACTIVITY_TASK))
        snprintf(out, n, "activity %s \"%s\"", f->id, f->type);
    else if (f->kind && f->kind->type == CMD(START_TIMER))
        snprintf(out, n, "timer %s", f->id);
    else if (f->local)
        snprintf(out, n, "local activity %s \"%s\"", f->id ? f->id : "", f->type ? f->type : "");
    else if (f->kind)
        snprintf(out, n, "%s %s", f->kind->name, f->id ? f->id : "");
    else
        snprintf(out, n, "a ready future");
}

/* ---- named handlers ---- */

static int same_name(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

wf_named *wf_named_find(wf_named *list, const char *name)
{
    while (list && !same_name(list->name, name))
        list = list->next;
    return list;
}

wf_named *wf_named_put(tw_wf *wf, wf_named **list, const char *name, size_t size)
{
    while (*list && !same_name((*list)->name, name))
        list = &(*list)->next;
    if (*list)
        return *list;
    wf_named *e = wf_mem(wf, size);
    if (!e)
        return NULL;
    memset(e, 0, size);
    if (name && !(e->name = wf_strdup(wf, name)))
        return NULL;
    return *list = e;
}

void wf_named_remove(wf_named **list, const char *name)
{
    while (*list && !same_name((*list)->name, name))
        list = &(*list)->next;
    if (*list)
        *list = (*list)->next;
}

void wf_named_names(const wf_named *list, const char *first, char *out, size_t n)
{
    size_t used = (size_t)snprintf(out, n, "[%s", first ? first : "");
    int any = first && *first;
    for (const wf_named *e = list; e && used < n; e = e->next, any = 1)
        used += (size_t)snprintf(out + used, n - used, "%s%s", any ? " " : "",
                                 e->name ? e->name : "");
    if (used < n)
        snprintf(out + used, n - used, "]");
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

/* |n| (>= 0) in decimal, into |buf|: the ids of activities and timers, made for every one
 * the code starts, without snprintf. */
static const char *seq_id(char buf[24], int n)
{
    char *p = buf + 23;
    *p = '\0';
    unsigned v = (unsigned)n;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
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
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!type || !*type || !o || (o->start_to_close_ms <= 0 && o->schedule_to_close_ms <= 0) ||
        !payloads_valid(args, nargs))
        return TW_EINVAL; /* the server refuses an activity without either timeout */
    /* A field of ABI 1.1: a 1.0 library's options end before it. */
    int cancel_type = wf->abi_minor >= 1 ? o->cancellation_type : TW_CANCEL_TRY;
    if (cancel_type < TW_CANCEL_TRY || cancel_type > TW_CANCEL_ABANDON)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    char idbuf[24];
    const char *id = o->activity_id ? o->activity_id : seq_id(idbuf, ++wf->act_seq);
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
    at->header = wf_outgoing_header(wf); /* tw_set_header() (props.c) */
    at->schedule_to_close_timeout = wf_duration(wf, o->schedule_to_close_ms);
    at->schedule_to_start_timeout = wf_duration(wf, o->schedule_to_start_ms);
    at->start_to_close_timeout = wf_duration(wf, o->start_to_close_ms);
    at->heartbeat_timeout = wf_duration(wf, o->heartbeat_ms);
    if (o->retry && !(at->retry_policy = retry_policy(wf, o->retry)))
        return TW_ENOMEM;
    f->cancel_type = cancel_type;
    if (wf->oom)
        return TW_ENOMEM;
    f->cmd = wf_push_cmd(wf, CMD(SCHEDULE_ACTIVITY_TASK),
                         cmd_new(wf->a, CMD(SCHEDULE_ACTIVITY_TASK), at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

/* What a done future gives its waiter. */
static int outcome(tw_wf *wf, const wf_future *f, tw_payload *result)
{
    if (f->canceled) {
        wf->last_failure = f->failure;
        return TW_ECANCELED;
    }
    if (f->failed) {
        wf->last_failure = f->failure;
        return TW_EFAILED;
    }
    if (result)
        *result = f->nresult ? f->result[0] : tw_null();
    return TW_OK;
}

/* Waits for |f| in the call |call| ("tw_await"). */
static int await_as(tw_wf *wf, wf_future *f, tw_payload *result, const char *call)
{
    int rc = wf_block_future(wf, f, call);
    if (rc == TW_ECANCELED) { /* the workflow's cancel (or tw_cancel of this coroutine) */
        char what[200], desc[160];
        wf_describe_future(f, desc, sizeof(desc));
        snprintf(what, sizeof(what), "%s %s", call, desc);
        rc = wf_interrupted(wf, &f, 1, what);
        /* An activity whose cancellation the code waited for answers with what it did, as in
         * sdk-go: its result when it completed anyway, its failure, or TW_ECANCELED. */
        if (f->done && f->kind && f->kind->type == CMD(SCHEDULE_ACTIVITY_TASK) &&
            f->cancel_type == TW_CANCEL_WAIT_COMPLETED)
            return outcome(wf, f, result);
        return rc;
    }
    return rc ? rc : outcome(wf, f, result);
}

int wf_await(tw_wf *wf, tw_future *tf, tw_payload *result)
{
    wf_future *f = (wf_future *)tf;
    if (!wf_current_blocking(wf) || !f)
        return TW_ESTATE;
    return await_as(wf, f, result, "tw_await");
}

int wf_execute_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *f;
    int rc = wf_start_activity(wf, type, o, args, nargs, &f);
    return rc ? rc : await_as(wf, (wf_future *)f, result, "tw_execute_activity");
}

/* ---- timers ---- */

int wf_start_timer(tw_wf *wf, int64_t ms, tw_future **out)
{
    if (!wf_current_blocking(wf))
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
    char idbuf[24];
    const char *id = seq_id(idbuf, ++wf->timer_seq);
    timer_attrs *at = wf_mem(wf, sizeof(*at));
    wf_future *f = wf_new_future(wf, cmd_kind_of(CMD(START_TIMER)), id, NULL);
    if (wf->oom)
        return TW_ENOMEM;
    temporal__api__command__v1__start_timer_command_attributes__init(at);
    if (__builtin_add_overflow(wf->now_ms, ms, &f->fire_at_ms))
        f->fire_at_ms = INT64_MAX; /* times are saturated (a history's clock may be far out) */
    at->timer_id = (char *)f->id;
    at->start_to_fire_timeout = wf_duration(wf, ms);
    f->cmd = wf_push_cmd(wf, CMD(START_TIMER), cmd_new(wf->a, CMD(START_TIMER), at), f);
    if (wf->oom)
        return TW_ENOMEM;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

void wf_cancel_timer(tw_wf *wf, wf_future *f)
{
    if (f->done)
        return;
    f->done = f->canceled = f->resolved_early = 1;
    if (f->cmd) { /* not sent yet: as if it never was */
        wf_drop_cmd(wf, f->cmd);
        f->cmd = NULL;
        return;
    }
    Temporal__Api__Command__V1__CancelTimerCommandAttributes *at = wf_mem(wf, sizeof(*at));
    if (!at)
        return;
    temporal__api__command__v1__cancel_timer_command_attributes__init(at);
    at->timer_id = (char *)f->id;
    wf_push_cmd(wf, CMD(CANCEL_TIMER), cmd_new(wf->a, CMD(CANCEL_TIMER), at), f);
}

int wf_sleep(tw_wf *wf, int64_t ms)
{
    tw_future *f;
    int rc = wf_start_timer(wf, ms, &f);
    return rc ? rc : await_as(wf, (wf_future *)f, NULL, "tw_sleep");
}

typedef struct select_wait {
    tw_future *const *fs;
    size_t n;
    size_t ready;
} select_wait;

static int any_ready(tw_wf *wf, void *ctx)
{
    select_wait *w = ctx;
    for (size_t i = 0; i < w->n; i++)
        if (w->fs[i] && ((wf_future *)w->fs[i])->done) {
            w->ready = i;
            return 1;
        }
    return 0;
}

int wf_select(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready)
{
    if (!wf_current_blocking(wf) || !fs || !n)
        return TW_EINVAL;
    select_wait w = {fs, n, 0};
    char what[200] = "tw_select";
    size_t used = strlen(what);
    for (size_t i = 0; i < n && used + 2 < sizeof(what); i++) {
        char desc[64];
        if (!fs[i])
            continue;
        wf_describe_future((wf_future *)fs[i], desc, sizeof(desc));
        used += (size_t)snprintf(what + used, sizeof(what) - used, "%s%s", i ? ", " : " ", desc);
    }
    int rc = wf_block(wf, any_ready, &w, what);
    if (rc == TW_ECANCELED)
        return wf_interrupted(wf, (wf_future *const *)fs, n, what);
    if (rc)
        return rc;
    if (ready)
        *ready = w.ready;
    return TW_OK;
}

/* ---- coroutines ---- */

static void go_body(tw_wf *wf, wf_co *c)
{
    c->result = tw_null();
    int rc = c->fn(wf, c->arg, &c->result);
    wf_future *f = c->future;
    f->done = 1;
    if (rc == 0 && payloads_valid(&c->result, 1)) {
        f->result = &c->result;
        f->nresult = 1;
    } else if (rc == TW_ECANCELED) {
        f->canceled = 1;
    } else {
        f->failed = 1;
        f->failure = c->failure;
        if (!f->failure && (f->failure = wf_mem(wf, sizeof(*f->failure))))
            *f->failure = (tw_failure){
                .type = "CoroutineError",
                .message = rc ? "the coroutine returned an error without tw_wf_fail()"
                              : "the coroutine returned a result with a length but no data"};
    }
}

int wf_go(tw_wf *wf, tw_coroutine_fn fn, void *arg, tw_future **out)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!fn)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    wf_future *f = wf_new_future(wf, NULL, NULL, NULL);
    wf_co *c = f ? wf_spawn(wf, "tw_go", go_body, 0) : NULL;
    if (!c)
        return TW_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->future = f;
    f->co = c;
    if (out)
        *out = (tw_future *)f;
    return TW_OK;
}

typedef struct cond_wait {
    tw_condition_fn pred;
    void *arg;
    wf_future *timer;
    int met;
} cond_wait;

static int condition_ready(tw_wf *wf, void *ctx)
{
    cond_wait *w = ctx;
    wf->running->in_condition = 1;
    w->met = w->pred(wf, w->arg) != 0;
    wf->running->in_condition = 0;
    return w->met || (w->timer && w->timer->done);
}

int wf_await_condition(tw_wf *wf, tw_condition_fn pred, void *arg, int64_t timeout_ms)
{
    if (!wf_current_blocking(wf))
        return TW_ESTATE;
    if (!pred)
        return TW_EINVAL;
    if (wf->oom)
        return TW_ENOMEM;
    cond_wait w = {pred, arg, NULL, 0};
    if (condition_ready(wf, &w))
        return TW_OK; /* holds already: no timer */
    if (timeout_ms == 0)
        return TW_ETIMEDOUT;
    char what[64] = "tw_await_condition";
    if (timeout_ms > 0) {
        tw_future *t;
        int rc = wf_start_timer(wf, timeout_ms, &t);
        if (rc)
            return rc;
        w.timer = (wf_future *)t;
        snprintf(what, sizeof(what), "tw_await_condition (timeout: timer %s)", w.timer->id);
    }
    int rc = wf_block(wf, condition_ready, &w, what);
    if (w.timer && !w.timer->done)
        wf_cancel_timer(wf, w.timer); /* the condition won (or the workflow's cancel came) */
    if (rc)
        return rc;
    if (wf->oom)
        return TW_ENOMEM;
    return w.met ? TW_OK : TW_ETIMEDOUT;
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
    int rc = failure_copy_abi(wf->a, f, wf->abi_minor, &copy);
    if (rc == TW_ENOMEM)
        wf->oom = 1;
    if (rc)
        return rc;
    if (wf->running)
        wf->running->failure = copy; /* the coroutine's outcome (the workflow's, for main) */
    else
        wf->failure = copy;
    return TW_EFAILED;
}

const tw_failure *wf_last_failure(tw_wf *wf) { return wf ? wf->last_failure : NULL; }
