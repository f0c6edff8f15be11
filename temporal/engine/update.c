/*
 * update: workflow updates, the update protocol (temporal.api.update.v1) on the workflow's
 * side. A request comes as a protocol message in the poll response (the task being answered)
 * or, when the history is replayed, from the WorkflowExecutionUpdateAccepted event that the
 * replayed task's answer left (it carries the request). The requests of a task are delivered
 * after its events, before its code runs (the server sequences every request at the event
 * before the task's WorkflowTaskStarted; delivering there, in the original run and on replay
 * alike, keeps the two the same whatever it does), in the order they came, each running as a
 * coroutine of its own, eager like a signal handler:
 *
 *   validator (new requests only, read-only: blocking calls and commands are TW_ESTATE in it)
 *     nonzero -> Rejection message (no command: a rejected update leaves no event)
 *     zero    -> Acceptance message + ProtocolMessage command (-> UpdateAccepted),
 *                the handler runs (it may block), and its return ->
 *                Response message + ProtocolMessage command (-> UpdateCompleted).
 *
 * On replay the same coroutine runs without its validator (as sdk-go: validators may change
 * between versions) and without messages: its ProtocolMessage commands match the
 * UpdateAccepted / UpdateCompleted events like any command (cmd.c's rows), so a handler that
 * now completes at another point is non-determinism.
 *
 * A request whose name has no handler waits until the code sets one (the workflow function
 * usually sets its handlers first thing; as in sdk-go, the waiting updates then run before
 * tw_set_update_handler returns) or, failing that, until every coroutine is blocked: then it
 * is rejected naming the known updates, as sdk-go words it. When the workflow function
 * returns, requests that never ran are rejected (the workflow completed first); an accepted
 * update still running is left to the server, which fails it ("the Workflow completed before
 * the Update completed"). Rejections and acceptances made while replaying are never sent.
 *
 * Not here: the command rows (cmd.c), where requests are delivered in a batch (wf.c), the
 * read-ahead of the next batch (history.c), queries (query.c).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "temporal/engine/payload.h"
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

typedef Temporal__Api__Update__V1__Request upd_request;
typedef Temporal__Api__Protocol__V1__Message pb_msg;
typedef Temporal__Api__History__V1__WorkflowExecutionUpdateAcceptedEventAttributes accepted_attrs;
typedef Temporal__Api__History__V1__WorkflowExecutionUpdateAdmittedEventAttributes admitted_attrs;

#define UPDATE_PROTOCOL "temporal.api.update.v1"
#define TYPE_URL(msg) "type.googleapis.com/" UPDATE_PROTOCOL "." msg

typedef struct upd_handler {
    wf_named n;                /* first: the list's link and name (wf_named) */
    tw_update_fn fn;
    tw_update_validator_fn validator;
    void *arg;
} upd_handler;

/* One update request, from its delivery to its answer. */
typedef struct wf_update {
    const char *id;            /* the update id (its protocol instance) */
    const char *msg_id;        /* the request message's id */
    int64_t seq;               /* its sequencing event (echoed in the acceptance), or 0 */
    const upd_request *request;/* NULL: a request that could not be read (rejected) */
    const char *name;
    tw_payload *args;
    size_t nargs;
    int replayed;              /* from an UpdateAccepted event: accepted without validating */
    int delivered;
    wf_co *co;                 /* its coroutine, once its handler runs it */
    int answered;              /* rejected, or accepted (the handler may still run) */
    struct wf_update *next;
} wf_update;

/* A request an UpdateAdmitted event carries (its UpdateAccepted event may omit it). */
typedef struct admitted {
    const char *id;
    int64_t event_id;
    const upd_request *request;
    struct admitted *next;
} admitted;

typedef struct outgoing {
    pb_msg *msg;
    struct outgoing *next;
} outgoing;

struct wf_updates {
    wf_named *handlers;        /* upd_handler, in the order set */
    wf_update *list, **tail;   /* every request, in delivery order */
    admitted *admitted;
    outgoing *out, **out_tail; /* messages to send, in order */
    size_t nout;
};

static struct wf_updates *state(tw_wf *wf)
{
    if (!wf->updates && (wf->updates = wf_mem(wf, sizeof(*wf->updates)))) {
        memset(wf->updates, 0, sizeof(*wf->updates));
        wf->updates->tail = &wf->updates->list;
        wf->updates->out_tail = &wf->updates->out;
    }
    return wf->updates;
}

static upd_handler *handler_of(tw_wf *wf, const char *name)
{
    return wf->updates ? (upd_handler *)wf_named_find(wf->updates->handlers, name) : NULL;
}

/* ---- outgoing messages ---- */

/* Packs |body| (of protocol message type |msg_type|) as message "<update id>/<suffix>" of
 * |u|'s instance into the outbox. */
static void send(tw_wf *wf, const wf_update *u, const char *suffix, const char *type_url,
                 const ProtobufCMessage *body)
{
    /* Only this task's answer carries it: the task's arena. */
    pb_msg *m = wf_tmem(wf, sizeof(*m));
    Google__Protobuf__Any *any = wf_tmem(wf, sizeof(*any));
    outgoing *o = wf_tmem(wf, sizeof(*o));
    size_t len = protobuf_c_message_get_packed_size(body);
    uint8_t *buf = wf_tmem(wf, len ? len : 1);
    char *id = wf_tmem(wf, strlen(u->id) + strlen(suffix) + 2);
    if (wf->oom)
        return;
    protobuf_c_message_pack(body, buf);
    sprintf(id, "%s/%s", u->id, suffix);
    google__protobuf__any__init(any);
    any->type_url = (char *)type_url;
    any->value.data = buf;
    any->value.len = len;
    temporal__api__protocol__v1__message__init(m);
    m->id = id;
    m->protocol_instance_id = (char *)u->id;
    m->body = any;
    *o = (outgoing){.msg = m};
    *wf->updates->out_tail = o;
    wf->updates->out_tail = &o->next;
    wf->updates->nout++;
}

/* The ProtocolMessage command of message "<update id>/<suffix>" (made on replay too: it
 * matches the event the message left). */
static void protocol_command(tw_wf *wf, const wf_update *u, const char *suffix)
{
    Temporal__Api__Command__V1__ProtocolMessageCommandAttributes *at = wf_mem(wf, sizeof(*at));
    char *id = wf_mem(wf, strlen(u->id) + strlen(suffix) + 2);
    if (wf->oom)
        return;
    temporal__api__command__v1__protocol_message_command_attributes__init(at);
    sprintf(id, "%s/%s", u->id, suffix);
    at->message_id = id;
    wf_push_cmd(wf, CMD(PROTOCOL_MESSAGE), cmd_new(wf->a, CMD(PROTOCOL_MESSAGE), at), NULL);
}

static void reject(tw_wf *wf, wf_update *u, const tw_failure *why)
{
    u->answered = 1;
    if (wf->replaying)
        return;
    Temporal__Api__Update__V1__Rejection r;
    temporal__api__update__v1__rejection__init(&r);
    r.rejected_request_message_id = (char *)u->msg_id;
    r.rejected_request_sequencing_event_id = u->seq;
    r.rejected_request = (upd_request *)u->request;
    if (!(r.failure = failure_to_pb(wf->ta, why))) {
        wf->oom = 1;
        return;
    }
    send(wf, u, "reject", TYPE_URL("Rejection"), &r.base);
}

/* Rejects |u| with a failure of |type| and a formatted message. */
static void reject_with(tw_wf *wf, wf_update *u, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reject_with(tw_wf *wf, wf_update *u, const char *type, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_failure f = {.type = type, .message = msg, .non_retryable = 1};
    reject(wf, u, &f);
}

static void accept(tw_wf *wf, wf_update *u)
{
    u->answered = 1;
    protocol_command(wf, u, "accept");
    if (wf->replaying)
        return;
    Temporal__Api__Update__V1__Acceptance acc;
    temporal__api__update__v1__acceptance__init(&acc);
    acc.accepted_request_message_id = (char *)u->msg_id;
    acc.accepted_request_sequencing_event_id = u->seq;
    acc.accepted_request = (upd_request *)u->request;
    send(wf, u, "accept", TYPE_URL("Acceptance"), &acc.base);
}

/* The handler returned: success with |result|, or |failure|. */
static void respond(tw_wf *wf, wf_update *u, const tw_payload *result, const tw_failure *failure)
{
    protocol_command(wf, u, "complete");
    if (wf->replaying)
        return;
    Temporal__Api__Update__V1__Response resp;
    Temporal__Api__Update__V1__Meta meta;
    Temporal__Api__Update__V1__Outcome outcome;
    temporal__api__update__v1__response__init(&resp);
    temporal__api__update__v1__meta__init(&meta);
    temporal__api__update__v1__outcome__init(&outcome);
    meta.update_id = (char *)u->id;
    if (u->request && u->request->meta && u->request->meta->identity)
        meta.identity = u->request->meta->identity;
    if (failure) {
        outcome.value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_FAILURE;
        outcome.failure = failure_to_pb(wf->ta, failure);
    } else {
        outcome.value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
        outcome.success = payloads_to_pb(wf->ta, result, 1);
    }
    if (!outcome.failure && !outcome.success) {
        wf->oom = 1;
        return;
    }
    resp.meta = &meta;
    resp.outcome = &outcome;
    send(wf, u, "complete", TYPE_URL("Response"), &resp.base);
}

/* ---- the coroutine ---- */

/* Runs |h|'s validator read-only: 0 (accepted), or nonzero with *why its failure. */
static int validate(tw_wf *wf, wf_co *c, const upd_handler *h, const wf_update *u,
                    const tw_failure **why)
{
    static const tw_failure generic = {.type = "ValidationError",
                                       .message = "the update's validator rejected it",
                                       .non_retryable = 1};
    uint64_t rng = wf->rng;
    c->in_condition = 1;
    c->failure = NULL;
    int rc = h->validator(wf, h->arg, u->args, u->nargs);
    c->in_condition = 0;
    wf->rng = rng; /* validators do not run on replay: they must not move tw_random() */
    *why = c->failure ? c->failure : &generic;
    c->failure = NULL;
    return rc;
}

static void update_body(tw_wf *wf, wf_co *c)
{
    wf_update *u = c->data;
    const upd_handler *h = handler_of(wf, u->name);
    if (!h) { /* removed since it was given the request */
        reject_with(wf, u, "UnknownUpdate", "the handler of update %s was removed", u->name);
        return;
    }
    const tw_failure *why;
    if (!u->replayed && h->validator && validate(wf, c, h, u, &why) != 0) {
        reject(wf, u, why);
        return;
    }
    accept(wf, u);
    tw_payload result = tw_null();
    int rc = h->fn(wf, h->arg, u->args, u->nargs, &result);
    if (rc == 0 && payloads_valid(&result, 1)) {
        respond(wf, u, &result, NULL);
        return;
    }
    tw_failure generic = {.type = rc == TW_ECANCELED ? "CanceledError" : "UpdateError",
                          .message = rc == TW_ECANCELED ? "the update was cancelled"
                                   : rc ? "the update handler returned an error without tw_wf_fail()"
                                        : "the update handler returned a result with a length but no data"};
    respond(wf, u, NULL, rc && c->failure ? c->failure : &generic);
}

/* "update \"name\"": the coroutine's name in the stack trace. */
static void start(tw_wf *wf, wf_update *u)
{
    char *name = wf_mem(wf, strlen(u->name) + 10);
    if (!name)
        return;
    sprintf(name, "update \"%s\"", u->name);
    wf_co *c = wf_spawn(wf, name, update_body, 1);
    if (!c) {
        if (!wf->oom)
            reject_with(wf, u, "UpdateRejected", "update %s: the workflow runs %d coroutines "
                        "already, the most it may", u->name, WF_MAX_COROUTINES);
        return;
    }
    c->data = u;
    c->handler = 1;
    c->handles = u->name;
    u->co = c;
}

/* ---- requests in ---- */

static wf_update *known(tw_wf *wf, const char *id)
{
    for (wf_update *u = wf->updates->list; u; u = u->next)
        if (strcmp(u->id, id) == 0)
            return u;
    return NULL;
}

/* Adds a request (|req| may be NULL: unreadable) unless its update id is known already (the
 * server sends an update once; a second request with its id changes nothing). The run keeps
 * copies of |id|, |msg_id| and |req| (they may be the task's). */
static void add(tw_wf *wf, const char *id, const char *msg_id, int64_t seq,
                const upd_request *req, int replayed)
{
    if (!id || !*id || known(wf, id))
        return;
    wf_update *u = wf_mem(wf, sizeof(*u));
    if (!u)
        return;
    const char *kept_id = wf_strdup(wf, id);
    const char *kept_msg = wf_strdup(wf, msg_id ? msg_id : "");
    req = wf_keep(wf, req ? &req->base : NULL);
    if (wf->oom)
        return;
    *u = (wf_update){.id = kept_id, .msg_id = kept_msg, .seq = seq, .request = req,
                     .replayed = replayed, .name = ""};
    if (req && req->input) {
        u->name = req->input->name ? req->input->name : "";
        if (payloads_from_pb(wf->a, req->input->args, &u->args, &u->nargs))
            wf->oom = 1;
    }
    *wf->updates->tail = u;
    wf->updates->tail = &u->next;
}

/* A request message of the poll; other protocols' messages are passed over (as sdk-go). */
static void from_message(tw_wf *wf, const pb_msg *m)
{
    const Google__Protobuf__Any *body = m->body;
    const char *url = body && body->type_url ? body->type_url : "";
    const char *dot = strrchr(url, '.');
    size_t plen = strlen(UPDATE_PROTOCOL);
    const char *pkg = dot && (size_t)(dot - url) >= plen ? dot - plen : NULL;
    if (!pkg || strncmp(pkg, UPDATE_PROTOCOL, plen) != 0)
        return;
    upd_request *req = strcmp(dot + 1, "Request") == 0
        ? temporal__api__update__v1__request__unpack(arena_allocator(wf->a), body->value.len,
                                                     body->value.data)
        : NULL;
    const char *id = m->protocol_instance_id && *m->protocol_instance_id ? m->protocol_instance_id
                   : req && req->meta ? req->meta->update_id : NULL;
    int64_t seq = m->sequencing_id_case == TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID
                      ? m->event_id : 0;
    add(wf, id, m->id, seq, req, 0);
}

static const upd_request *admitted_request(tw_wf *wf, const char *id)
{
    for (admitted *a = wf->updates->admitted; a; a = a->next)
        if (strcmp(a->id, id) == 0)
            return a->request;
    return NULL;
}

/* The UpdateAdmitted events of |b| (an update the server made durable before any worker saw
 * it, e.g. reapplied by a reset): their requests, for the UpdateAccepted events that omit
 * theirs, and, in the task being answered, requests to run. */
static void admitted_in(tw_wf *wf, const history_batch *b)
{
    for (size_t i = 0; i < b->n && !wf->oom; i++) {
        const pb_event *ev = b->events[i];
        if (ev->event_type != EV(WORKFLOW_EXECUTION_UPDATE_ADMITTED))
            continue;
        const admitted_attrs *at = ev->workflow_execution_update_admitted_event_attributes;
        const upd_request *req = at->request;
        if (!req || !req->meta || !req->meta->update_id || !*req->meta->update_id)
            continue;
        admitted *a = wf_mem(wf, sizeof(*a));
        if (!a || !(req = wf_keep(wf, &req->base)))
            return;
        *a = (admitted){req->meta->update_id, ev->event_id, req, wf->updates->admitted};
        wf->updates->admitted = a;
        if (b->last && b->runs_code && !wf->query_only) {
            char *msg_id = wf_mem(wf, strlen(a->id) + 9);
            if (msg_id)
                sprintf(msg_id, "%s/request", a->id);
            add(wf, a->id, msg_id, ev->event_id, req, 0);
        }
    }
}

static void deliver(tw_wf *wf);

int wf_updates_batch(tw_wf *wf, history_iter *h, const history_batch *b, const wf_input *in)
{
    if (!b->runs_code || !state(wf))
        return 0;
    admitted_in(wf, b);
    if (b->last) {
        for (size_t i = 0; i < in->nmessages && !wf->oom; i++)
            if (in->messages[i])
                from_message(wf, in->messages[i]);
        deliver(wf);
        return 0;
    }
    history_batch next;
    int rc = history_peek(h, &next);
    if (rc < 0)
        return -1;
    for (size_t i = 0; rc == 1 && i < next.n && !wf->oom; i++) {
        const pb_event *ev = next.events[i];
        if (ev->event_type != EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED))
            continue;
        const accepted_attrs *at = ev->workflow_execution_update_accepted_event_attributes;
        const upd_request *req = at->accepted_request ? at->accepted_request
                                                      : admitted_request(wf, at->protocol_instance_id);
        add(wf, at->protocol_instance_id, at->accepted_request_message_id,
            at->accepted_request_sequencing_event_id, req, 1);
    }
    deliver(wf);
    return 0;
}

/* Each request not delivered yet starts its handler's coroutine, or waits for a handler. */
static void deliver(tw_wf *wf)
{
    for (wf_update *u = wf->updates->list; u && !wf->oom; u = u->next) {
        if (u->delivered)
            continue;
        u->delivered = 1;
        if (!u->request)
            reject_with(wf, u, "BadUpdateRequest", "update %s: the request could not be read", u->id);
        else if (handler_of(wf, u->name))
            start(wf, u);
    }
}

/* "[a b]": the update names with a handler, as sdk-go lists them. */
static void known_names(tw_wf *wf, char *out, size_t n)
{
    wf_named_names(wf->updates->handlers, NULL, out, n);
}

void wf_updates_settle(tw_wf *wf)
{
    if (!wf->updates)
        return;
    for (wf_update *u = wf->updates->list; u && !wf->oom; u = u->next) {
        if (!u->delivered || u->answered)
            continue;
        if (wf->returned && (!u->co || !u->co->started)) {
            reject_with(wf, u, "WorkflowCompleted", "workflow %s completed before update %s (%s) "
                        "ran", wf->info.workflow_type, u->name, u->id);
        } else if (!u->co) {
            char names[400];
            known_names(wf, names, sizeof(names));
            reject_with(wf, u, "UnknownUpdate", "unknown update %s. KnownUpdates=%s", u->name, names);
        }
    }
}

void wf_updates_begin(tw_wf *wf)
{
    if (!wf->updates)
        return;
    wf->updates->out = NULL;
    wf->updates->out_tail = &wf->updates->out;
    wf->updates->nout = 0;
}

void wf_updates_collect(tw_wf *wf, wf_output *out)
{
    if (!wf->updates || !wf->updates->nout)
        return;
    out->messages = wf_tmem(wf, wf->updates->nout * sizeof(*out->messages));
    if (!out->messages)
        return;
    for (outgoing *o = wf->updates->out; o; o = o->next)
        out->messages[out->nmessages++] = o->msg;
}

/* ---- the call ---- */

int wf_set_update_handler(tw_wf *wf, const char *name, tw_update_fn fn,
                          tw_update_validator_fn validator, void *arg)
{
    if (!wf_current(wf) || wf->running->in_condition)
        return TW_ESTATE;
    if (!name || !*name || (!fn && validator))
        return TW_EINVAL;
    if (wf->oom || !state(wf))
        return TW_ENOMEM;
    if (!fn) {
        wf_named_remove(&wf->updates->handlers, name);
        return TW_OK;
    }
    upd_handler *h = (upd_handler *)wf_named_put(wf, &wf->updates->handlers, name, sizeof(*h));
    if (!h)
        return TW_ENOMEM;
    h->fn = fn;
    h->validator = validator;
    h->arg = arg;
    int started = 0;
    for (wf_update *u = wf->updates->list; u && !wf->oom; u = u->next)
        if (u->delivered && !u->answered && !u->co && strcmp(u->name, name) == 0) {
            start(wf, u);
            started++;
        }
    if (started && !wf->oom)
        wf_yield(wf); /* as sdk-go: the updates that waited for it run before the code goes on */
    return wf->oom ? TW_ENOMEM : TW_OK;
}
