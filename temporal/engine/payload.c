/*
 * payload: protobuf <-> public views. See payload.h.
 */
#include "temporal/engine/payload.h"

#include <stdint.h>
#include <string.h>

int payloads_valid(const tw_payload *p, size_t n)
{
    if (n && !p)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].len && !p[i].data)
            return 0;
    return 1;
}

pb_payload *payload_to_pb(arena *a, const tw_payload *p)
{
    if (p->len && !p->data)
        return NULL; /* no bytes to copy: refused, never read through NULL */
    pb_payload *pb = arena_alloc(a, sizeof(*pb));
    pb_metadata_entry *enc = arena_alloc(a, sizeof(*enc));
    pb_metadata_entry **meta = arena_alloc(a, sizeof(*meta));
    if (!pb || !enc || !meta)
        return NULL;
    PB_INIT(temporal__api__common__v1__payload__descriptor, pb);
    PB_INIT(temporal__api__common__v1__payload__metadata_entry__descriptor, enc);
    const char *encoding = p->encoding ? p->encoding : "binary/plain";
    enc->key = "encoding";
    enc->value.data = (uint8_t *)arena_strdup(a, encoding);
    enc->value.len = strlen(encoding);
    if (!enc->value.data)
        return NULL;
    meta[0] = enc;
    pb->n_metadata = 1;
    pb->metadata = meta;
    if (p->len) {
        pb->data.data = arena_memdup(a, p->data, p->len);
        if (!pb->data.data)
            return NULL;
        pb->data.len = p->len;
    }
    return pb;
}

pb_payloads *payloads_to_pb(arena *a, const tw_payload *p, size_t n)
{
    if (!n)
        return NULL;
    pb_payloads *ps = arena_alloc(a, sizeof(*ps));
    pb_payload **items = arena_alloc(a, n * sizeof(*items));
    if (!ps || !items)
        return NULL;
    PB_INIT(temporal__api__common__v1__payloads__descriptor, ps);
    for (size_t i = 0; i < n; i++)
        if (!(items[i] = payload_to_pb(a, &p[i])))
            return NULL;
    ps->n_payloads = n;
    ps->payloads = items;
    return ps;
}

tw_payload payload_from_pb(arena *a, const pb_payload *pb)
{
    tw_payload p = {"binary/plain", pb->data.data, pb->data.len};
    for (size_t i = 0; i < pb->n_metadata; i++) {
        const pb_metadata_entry *m = pb->metadata[i];
        if (m->key && strcmp(m->key, "encoding") == 0) {
            char *e = arena_alloc(a, m->value.len + 1);
            if (e) {
                if (m->value.len) /* an empty value unpacks with data NULL */
                    memcpy(e, m->value.data, m->value.len);
                e[m->value.len] = '\0';
                p.encoding = e;
            }
        }
    }
    return p;
}

int payloads_from_pb(arena *a, const pb_payloads *pb, tw_payload **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!pb || !pb->n_payloads)
        return 0;
    tw_payload *v = arena_alloc(a, pb->n_payloads * sizeof(*v));
    if (!v)
        return -1;
    for (size_t i = 0; i < pb->n_payloads; i++)
        v[i] = payload_from_pb(a, pb->payloads[i]);
    *out = v;
    *n = pb->n_payloads;
    return 0;
}

/* Copies |p| (encoding and bytes) into |d|. 0, or -1 when |a| is full. */
static int payload_copy(arena *a, const tw_payload *p, tw_payload *d)
{
    *d = (tw_payload){NULL, NULL, p->len};
    if (p->encoding && !(d->encoding = arena_strdup(a, p->encoding)))
        return -1;
    if (p->len && !(d->data = arena_memdup(a, p->data, p->len)))
        return -1;
    return 0;
}

/* Copies |s| into |a| (NULL stays NULL). 0, or -1 when |a| is full. */
static int str_copy(arena *a, const char *s, const char **d)
{
    *d = NULL;
    return s && !(*d = arena_strdup(a, s)) ? -1 : 0;
}

static int copy_one(arena *a, const tw_failure *f, unsigned minor, int depth, tw_failure **out)
{
    *out = NULL;
    if (!f || f->ndetails > SIZE_MAX / sizeof(tw_payload) ||
        !payloads_valid(f->details, f->ndetails))
        return TW_EINVAL;
    if (minor >= 1 && (f->kind < TW_FAILURE_APPLICATION || f->kind > TW_FAILURE_CHILD_WORKFLOW))
        return TW_EINVAL;
    tw_failure *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return TW_ENOMEM;
    *c = (tw_failure){.non_retryable = f->non_retryable};
    if (str_copy(a, f->type, &c->type) || str_copy(a, f->message, &c->message))
        return TW_ENOMEM;
    if (f->ndetails) {
        tw_payload *d = arena_alloc(a, f->ndetails * sizeof(*d));
        if (!d)
            return TW_ENOMEM;
        for (size_t i = 0; i < f->ndetails; i++)
            if (payload_copy(a, &f->details[i], &d[i]))
                return TW_ENOMEM;
        c->details = d;
        c->ndetails = f->ndetails;
    }
    if (minor >= 1) { /* the fields of ABI 1.1: a 1.0 library's struct ends before them */
        c->kind = f->kind;
        c->timeout_type = f->timeout_type;
        c->retry_state = f->retry_state;
        if (str_copy(a, f->activity_type, &c->activity_type) ||
            str_copy(a, f->activity_id, &c->activity_id) ||
            str_copy(a, f->stack_trace, &c->stack_trace))
            return TW_ENOMEM;
        if (minor >= 2 && /* ABI 1.2: a child workflow's identity */
            (str_copy(a, f->workflow_type, &c->workflow_type) ||
             str_copy(a, f->workflow_id, &c->workflow_id) || str_copy(a, f->run_id, &c->run_id)))
            return TW_ENOMEM;
        if (f->cause && depth + 1 < FAILURE_MAX_DEPTH) {
            tw_failure *cause;
            int rc = copy_one(a, f->cause, minor, depth + 1, &cause);
            if (rc)
                return rc;
            c->cause = cause;
        }
    }
    *out = c;
    return TW_OK;
}

int failure_copy(arena *a, const tw_failure *f, tw_failure **out)
{
    return copy_one(a, f, 0, 0, out);
}

int failure_copy_abi(arena *a, const tw_failure *f, unsigned minor, tw_failure **out)
{
    int rc = copy_one(a, f, minor, 0, out);
    if (rc)
        *out = NULL;
    return rc;
}

/* ---- to the proto ---- */

#define FCASE(name) TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_##name##_FAILURE_INFO
#define FINFO(name) Temporal__Api__Failure__V1__##name##FailureInfo

/* |f|'s kind-specific info into |pf|. 0, or -1 when |a| is full. */
static int info_to_pb(arena *a, const tw_failure *f, pb_failure *pf)
{
    switch (f->kind) {
    case TW_FAILURE_ACTIVITY: {
        FINFO(Activity) *i = arena_alloc(a, sizeof(*i));
        Temporal__Api__Common__V1__ActivityType *t = arena_alloc(a, sizeof(*t));
        if (!i || !t)
            return -1;
        temporal__api__failure__v1__activity_failure_info__init(i);
        temporal__api__common__v1__activity_type__init(t);
        t->name = arena_strdup(a, f->activity_type ? f->activity_type : "");
        i->activity_type = t;
        i->activity_id = arena_strdup(a, f->activity_id ? f->activity_id : "");
        i->retry_state = f->retry_state;
        pf->failure_info_case = FCASE(ACTIVITY);
        pf->activity_failure_info = i;
        /* As the official SDKs word it; what failed is in the cause. */
        pf->message = arena_strdup(a, "activity error");
        return t->name && i->activity_id ? 0 : -1;
    }
    case TW_FAILURE_TIMEOUT: {
        FINFO(Timeout) *i = arena_alloc(a, sizeof(*i));
        if (!i)
            return -1;
        temporal__api__failure__v1__timeout_failure_info__init(i);
        i->timeout_type = f->timeout_type;
        i->last_heartbeat_details = payloads_to_pb(a, f->details, f->ndetails);
        pf->failure_info_case = FCASE(TIMEOUT);
        pf->timeout_failure_info = i;
        return f->ndetails && !i->last_heartbeat_details ? -1 : 0;
    }
    case TW_FAILURE_CANCELED: {
        FINFO(Canceled) *i = arena_alloc(a, sizeof(*i));
        if (!i)
            return -1;
        temporal__api__failure__v1__canceled_failure_info__init(i);
        i->details = payloads_to_pb(a, f->details, f->ndetails);
        pf->failure_info_case = FCASE(CANCELED);
        pf->canceled_failure_info = i;
        return f->ndetails && !i->details ? -1 : 0;
    }
    case TW_FAILURE_TERMINATED: {
        FINFO(Terminated) *i = arena_alloc(a, sizeof(*i));
        if (!i)
            return -1;
        temporal__api__failure__v1__terminated_failure_info__init(i);
        pf->failure_info_case = FCASE(TERMINATED);
        pf->terminated_failure_info = i;
        return 0;
    }
    case TW_FAILURE_SERVER: {
        FINFO(Server) *i = arena_alloc(a, sizeof(*i));
        if (!i)
            return -1;
        temporal__api__failure__v1__server_failure_info__init(i);
        i->non_retryable = f->non_retryable ? 1 : 0;
        pf->failure_info_case = FCASE(SERVER);
        pf->server_failure_info = i;
        return 0;
    }
    case TW_FAILURE_CHILD_WORKFLOW: {
        FINFO(ChildWorkflowExecution) *i = arena_alloc(a, sizeof(*i));
        if (!i)
            return -1;
        temporal__api__failure__v1__child_workflow_execution_failure_info__init(i);
        i->retry_state = f->retry_state;
        if (f->workflow_type) {
            Temporal__Api__Common__V1__WorkflowType *t = arena_alloc(a, sizeof(*t));
            if (!t)
                return -1;
            temporal__api__common__v1__workflow_type__init(t);
            if (!(t->name = arena_strdup(a, f->workflow_type)))
                return -1;
            i->workflow_type = t;
        }
        if (f->workflow_id) {
            pb_execution *e = arena_alloc(a, sizeof(*e));
            if (!e)
                return -1;
            temporal__api__common__v1__workflow_execution__init(e);
            e->workflow_id = arena_strdup(a, f->workflow_id);
            e->run_id = arena_strdup(a, f->run_id ? f->run_id : "");
            if (!e->workflow_id || !e->run_id)
                return -1;
            i->workflow_execution = e;
        }
        pf->failure_info_case = FCASE(CHILD_WORKFLOW_EXECUTION);
        pf->child_workflow_execution_failure_info = i;
        return 0;
    }
    }
    FINFO(Application) *i = arena_alloc(a, sizeof(*i));
    if (!i)
        return -1;
    temporal__api__failure__v1__application_failure_info__init(i);
    i->type = arena_strdup(a, f->type ? f->type : "Error");
    i->non_retryable = f->non_retryable ? 1 : 0;
    i->details = payloads_to_pb(a, f->details, f->ndetails);
    pf->failure_info_case = FCASE(APPLICATION);
    pf->application_failure_info = i;
    return !i->type || (f->ndetails && !i->details) ? -1 : 0;
}

static pb_failure *to_pb(arena *a, const tw_failure *f, int depth)
{
    pb_failure *pf = arena_alloc(a, sizeof(*pf));
    if (!pf)
        return NULL;
    temporal__api__failure__v1__failure__init(pf);
    pf->message = arena_strdup(a, f->message ? f->message : "");
    pf->source = "CSDK";
    if (!pf->message || info_to_pb(a, f, pf) || !pf->message)
        return NULL;
    if (f->stack_trace && !(pf->stack_trace = arena_strdup(a, f->stack_trace)))
        return NULL;
    if (f->cause && depth + 1 < FAILURE_MAX_DEPTH && !(pf->cause = to_pb(a, f->cause, depth + 1)))
        return NULL;
    return pf;
}

pb_failure *failure_to_pb(arena *a, const tw_failure *f)
{
    return to_pb(a, f, 0);
}

/* ---- from the proto ---- */

/* The type a failure of |kind| shows when no application error says it. */
static const char *kind_type(int kind)
{
    switch (kind) {
    case TW_FAILURE_TIMEOUT: return "Timeout";
    case TW_FAILURE_CANCELED: return "Canceled";
    case TW_FAILURE_TERMINATED: return "Terminated";
    case TW_FAILURE_SERVER: return "Server";
    }
    return "Error";
}

/* Views of |pb|'s payloads as |f|'s details (kept empty when memory runs out: a detail). */
static void details_from(arena *a, const pb_payloads *pb, tw_failure *f)
{
    tw_payload *d;
    size_t n;
    if (payloads_from_pb(a, pb, &d, &n) == 0) {
        f->details = d;
        f->ndetails = n;
    }
}

/* An activity's or a child's failure shows what caused it (type, message, details). */
static void show_cause(tw_failure *f)
{
    const tw_failure *c = f->cause;
    if (!c)
        return;
    f->type = c->type;
    f->message = c->message;
    f->non_retryable = c->non_retryable;
    f->details = c->details;
    f->ndetails = c->ndetails;
    if (c->kind == TW_FAILURE_TIMEOUT)
        f->timeout_type = c->timeout_type;
}

static tw_failure *from_pb(arena *a, const pb_failure *pf, int depth)
{
    tw_failure *f = arena_alloc(a, sizeof(*f));
    if (!f)
        return NULL;
    *f = (tw_failure){.message = pf->message && *pf->message ? pf->message : "unknown failure",
                      .stack_trace = pf->stack_trace && *pf->stack_trace ? pf->stack_trace : NULL};
    switch (pf->failure_info_case) {
    case FCASE(APPLICATION):
        f->kind = TW_FAILURE_APPLICATION;
        if (pf->application_failure_info) {
            f->type = pf->application_failure_info->type;
            f->non_retryable = pf->application_failure_info->non_retryable;
            details_from(a, pf->application_failure_info->details, f);
        }
        break;
    case FCASE(TIMEOUT):
        f->kind = TW_FAILURE_TIMEOUT;
        if (pf->timeout_failure_info) {
            f->timeout_type = pf->timeout_failure_info->timeout_type;
            details_from(a, pf->timeout_failure_info->last_heartbeat_details, f);
        }
        break;
    case FCASE(CANCELED):
        f->kind = TW_FAILURE_CANCELED;
        if (pf->canceled_failure_info)
            details_from(a, pf->canceled_failure_info->details, f);
        break;
    case FCASE(TERMINATED):
        f->kind = TW_FAILURE_TERMINATED;
        break;
    case FCASE(SERVER):
        f->kind = TW_FAILURE_SERVER;
        f->non_retryable = pf->server_failure_info && pf->server_failure_info->non_retryable;
        break;
    case FCASE(ACTIVITY):
        f->kind = TW_FAILURE_ACTIVITY;
        if (pf->activity_failure_info) {
            const FINFO(Activity) *i = pf->activity_failure_info;
            f->activity_type = i->activity_type ? i->activity_type->name : NULL;
            f->activity_id = i->activity_id;
            f->retry_state = i->retry_state;
        }
        break;
    case FCASE(CHILD_WORKFLOW_EXECUTION):
        f->kind = TW_FAILURE_CHILD_WORKFLOW;
        if (pf->child_workflow_execution_failure_info) {
            const FINFO(ChildWorkflowExecution) *i = pf->child_workflow_execution_failure_info;
            f->retry_state = i->retry_state;
            f->workflow_type = i->workflow_type ? i->workflow_type->name : NULL;
            if (i->workflow_execution) {
                f->workflow_id = i->workflow_execution->workflow_id;
                f->run_id = i->workflow_execution->run_id;
            }
        }
        break;
    default:
        f->kind = TW_FAILURE_APPLICATION; /* a kind this runtime does not know: its message */
        break;
    }
    if (pf->cause && depth + 1 < FAILURE_MAX_DEPTH &&
        !(f->cause = from_pb(a, pf->cause, depth + 1)))
        return NULL;
    if (f->kind == TW_FAILURE_ACTIVITY || f->kind == TW_FAILURE_CHILD_WORKFLOW)
        show_cause(f);
    if (!f->type || !*f->type)
        f->type = kind_type(f->kind);
    return f;
}

tw_failure *failure_from_pb(arena *a, const pb_failure *f)
{
    if (!f) {
        tw_failure *none = arena_alloc(a, sizeof(*none));
        if (none)
            *none = (tw_failure){.type = "Error", .message = "unknown failure"};
        return none;
    }
    return from_pb(a, f, 0);
}

tw_failure *failure_of_activity(arena *a, tw_failure *cause, const char *activity_type,
                                const char *activity_id, int retry_state)
{
    tw_failure *f = arena_alloc(a, sizeof(*f));
    if (!f)
        return NULL;
    *f = (tw_failure){.kind = TW_FAILURE_ACTIVITY, .cause = cause, .activity_type = activity_type,
                      .activity_id = activity_id, .retry_state = retry_state,
                      .type = "Error", .message = "activity error"};
    show_cause(f);
    if (!f->type || !*f->type)
        f->type = kind_type(cause ? cause->kind : TW_FAILURE_APPLICATION);
    return f;
}

pb_duration *duration_ms(arena *a, int64_t ms)
{
    if (ms <= 0)
        return NULL;
    pb_duration *d = arena_alloc(a, sizeof(*d));
    if (!d)
        return NULL;
    google__protobuf__duration__init(d);
    d->seconds = ms / 1000;
    d->nanos = (int32_t)((ms % 1000) * 1000000);
    return d;
}

int64_t time_to_ms(int64_t seconds, int32_t nanos)
{
    /* Beyond +-(INT64_MAX / 1000 - 3) s even the nanos' 2147 ms could overflow. */
    const int64_t limit = INT64_MAX / 1000 - 3;
    if (seconds > limit)
        return INT64_MAX;
    if (seconds < -limit)
        return INT64_MIN;
    return seconds * 1000 + nanos / 1000000;
}

int64_t duration_to_ms(const pb_duration *d)
{
    return d ? time_to_ms(d->seconds, d->nanos) : 0;
}
