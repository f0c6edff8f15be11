/*
 * query: query handlers and the answers to the queries of a task. Queries run once the whole
 * history is replayed, on the workflow's state after its last task (the legacy query task's,
 * or the task being answered, after its own events and code), and never change it: each
 * handler runs on a coroutine of its own marked read-only, where blocking calls and calls
 * that make commands return TW_ESTATE (as in a tw_await_condition predicate). A handler that
 * fails (tw_wf_fail, then nonzero) fails only its query.
 *
 * Built in, as in sdk-go: "__stack_trace", where each coroutine waits (wf_stack_trace), as a
 * JSON string. A query type nobody handles fails with sdk-go's words: "unknown queryType X.
 * KnownQueryTypes=[__stack_trace a b]".
 *
 * Not here: which task carries queries and how they are answered on the wire (the worker's
 * wft.c: RespondQueryTaskCompleted for a legacy query task, query_results otherwise).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "temporal/clock.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

#define ANSWERED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_ANSWERED
#define FAILED TEMPORAL__API__ENUMS__V1__QUERY_RESULT_TYPE__QUERY_RESULT_TYPE_FAILED
#define STACK_TRACE "__stack_trace"

typedef struct wf_query_handler {
    wf_named n;                /* first: the list's link and name (wf_named) */
    tw_query_fn fn;
    void *arg;
} wf_query_handler;

/* One handler's run on its coroutine. */
typedef struct query_run {
    tw_wf *wf;
    const wf_query_handler *h;
    tw_payload *args;
    size_t nargs;
    tw_payload result;
    int rc;
} query_run;

int wf_set_query_handler(tw_wf *wf, const char *name, tw_query_fn fn, void *arg)
{
    if (!wf_current(wf) || wf->running->in_condition)
        return TW_ESTATE;
    if (!name || !*name || strncmp(name, "__", 2) == 0)
        return TW_EINVAL; /* "__" names are the runtime's, as in the official SDKs */
    if (wf->oom)
        return TW_ENOMEM;
    if (!fn) {
        wf_named_remove(&wf->query_handlers, name);
        return TW_OK;
    }
    wf_query_handler *h =
        (wf_query_handler *)wf_named_put(wf, &wf->query_handlers, name, sizeof(*h));
    if (!h)
        return TW_ENOMEM;
    h->fn = fn;
    h->arg = arg;
    return TW_OK;
}

/* ---- answers ---- */

static pb_query_result *new_result(tw_wf *wf)
{
    pb_query_result *r = wf_tmem(wf, sizeof(*r)); /* answers are the task's */
    if (r)
        temporal__api__query__v1__workflow_query_result__init(r);
    return r;
}

static void answered(tw_wf *wf, pb_query_result *r, const tw_payload *p)
{
    r->result_type = ANSWERED;
    if (!(r->answer = payloads_to_pb(wf->ta, p, 1)))
        wf->oom = 1;
}

static void failed(tw_wf *wf, pb_query_result *r, const tw_failure *f)
{
    r->result_type = FAILED;
    r->error_message = wf_tstrdup(wf, f->message ? f->message : "query failed");
    if (!(r->failure = failure_to_pb(wf->ta, f)))
        wf->oom = 1;
}

static void failed_with(tw_wf *wf, pb_query_result *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void failed_with(tw_wf *wf, pb_query_result *r, const char *type, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_failure f = {.type = type, .message = msg};
    failed(wf, r, &f);
}

/* |text| as a JSON string payload (sdk-go answers __stack_trace with a string). */
static tw_payload json_string(tw_wf *wf, const char *text)
{
    size_t n = strlen(text), used = 0;
    char *out = wf_tmem(wf, n * 6 + 3);
    if (!out)
        return tw_null();
    out[used++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') {
            out[used++] = '\\';
            out[used++] = (char)*p;
        } else if (*p == '\n') {
            out[used++] = '\\';
            out[used++] = 'n';
        } else if (*p < 0x20) {
            used += (size_t)sprintf(out + used, "\\u%04x", *p);
        } else {
            out[used++] = (char)*p;
        }
    }
    out[used++] = '"';
    return (tw_payload){"json/plain", (const uint8_t *)out, used};
}

static void stack_trace(tw_wf *wf, pb_query_result *r)
{
    size_t n = wf_stack_trace(wf, NULL, 0) + 1;
    char *s = wf_tmem(wf, n);
    if (!s)
        return;
    wf_stack_trace(wf, s, n);
    tw_payload p = json_string(wf, s);
    answered(wf, r, &p);
}

/* "[__stack_trace a b]". */
static void known_types(tw_wf *wf, char *out, size_t n)
{
    wf_named_names(wf->query_handlers, STACK_TRACE, out, n);
}

static void query_entry(void *arg)
{
    query_run *q = arg;
    q->result = tw_null();
    q->rc = q->h->fn(q->wf, q->h->arg, q->args, q->nargs, &q->result);
}

/* Runs |h| on a read-only coroutine of its own: 0 when it ran to its end (q->rc is its
 * return), -1 when it could not run (out of memory) or blocked anyway. */
static int run_handler(tw_wf *wf, query_run *q, wf_co *c)
{
    if (coro_new(&c->co, 0, query_entry, q) != 0) {
        wf->oom = 1;
        return -1;
    }
    uint64_t rng = wf->rng;
    wf->running = c;
    if (wf->code_since) /* the deadlock watchdog watches queries too */
        __atomic_store_n(wf->code_since, clock_mono_ms(), __ATOMIC_RELEASE);
    int ended = coro_resume(c->co);
    if (wf->code_since)
        __atomic_store_n(wf->code_since, 0, __ATOMIC_RELEASE);
    wf->running = NULL;
    wf->rng = rng;
    coro_free(c->co);
    c->co = NULL;
    return ended ? 0 : -1;
}

static pb_query_result *answer(tw_wf *wf, const pb_query *query)
{
    pb_query_result *r = new_result(wf);
    if (!r)
        return NULL;
    const char *type = query && query->query_type ? query->query_type : "";
    if (strcmp(type, STACK_TRACE) == 0) {
        stack_trace(wf, r);
        return r;
    }
    const wf_query_handler *h = (wf_query_handler *)wf_named_find(wf->query_handlers, type);
    if (!h) {
        char names[400];
        known_types(wf, names, sizeof(names));
        failed_with(wf, r, "QueryNotRegistered", "unknown queryType %s. KnownQueryTypes=%s",
                    type, names);
        return r;
    }
    query_run q = {.wf = wf, .h = h};
    if (payloads_from_pb(wf->ta, query->query_args, &q.args, &q.nargs)) {
        wf->oom = 1;
        return r;
    }
    char name[160];
    snprintf(name, sizeof(name), "query \"%.120s\"", type);
    wf_co c = {.wf = wf, .id = 0, .name = name, .in_condition = 1, .started = 1};
    if (run_handler(wf, &q, &c) != 0) {
        failed_with(wf, r, "QueryError", "query %s: its handler could not run", type);
    } else if (q.rc != 0) {
        static const tw_failure generic = {
            .type = "QueryError",
            .message = "the query handler returned an error without tw_wf_fail()"};
        failed(wf, r, c.failure ? c.failure : &generic);
    } else if (!payloads_valid(&q.result, 1)) {
        failed_with(wf, r, "QueryError", "query %s: its handler returned a result of %zu bytes "
                    "with no data (NULL)", type, q.result.len);
    } else {
        answered(wf, r, &q.result);
    }
    return r;
}

void wf_queries_answer(tw_wf *wf, const wf_input *in, wf_output *out)
{
    if (!in->nqueries)
        return;
    out->query_results = wf_tmem(wf, in->nqueries * sizeof(*out->query_results));
    for (size_t i = 0; out->query_results && i < in->nqueries && !wf->oom; i++)
        out->query_results[i] = answer(wf, in->queries[i]);
    out->nquery_results = wf->oom ? 0 : in->nqueries;
}
