/*
 * engine_script: fuzz_engine's event scripts (see fuzz_engine.h). The bytes choose event
 * types, ids, attributes and times, so that the fuzzer reaches deep into replay without having
 * to find protobuf encodings itself.
 *
 * A script: one byte, 0xff for no WorkflowExecutionStarted first, else one comes first; then
 * events. An event is an op byte (its kind: the low 5 bits index KINDS; the high 3 bits what
 * to get wrong: 5 another kind's attributes (a byte names it), 6 none, 7 an odd event id (an
 * integer follows)), a time byte (below 240: that many 37 ms after the last event; else two
 * integers, seconds and nanos), an extras byte (odd: every field of the attributes filled from
 * the input first) and then the fields the engine reads, each kind's in script_attributes'
 * order. Values: a string is one byte (low 2 bits 0, 1, 2: NAMES, IDS, JSON by the other bits;
 * 3: up to 15 raw bytes follow), a table pick one byte, payloads one byte (low 3 bits 0: none,
 * 7: two, else one; bit 7: the first one's encoding empty) and per payload a JSON and an
 * ENCODINGS pick, a reference one byte (below 200: the n-th last ActivityTaskScheduled, or
 * *Initiated event for the external kinds; else an integer), an integer one byte (below 160:
 * 0..31; below 224 an edge value; else 8 bytes), a failure one byte (odd: any Failure filled
 * from the input; 2 mod 4: a chain of ((b >> 2) % 20) + 1 links, each a kind byte, a message
 * string and that kind's fields, see failure_link; else none).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_engine.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes
#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES
#define FCASE(name) TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_##name##_FAILURE_INFO
#define FINFO(name) Temporal__Api__Failure__V1__##name##FailureInfo
#define MAX_EVENTS 96
#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ---- the tables: what the loaded libraries know, so that histories match what the code does
 * often enough to go on replaying ---- */

static const char *const NAMES[] = {
    "ComposeGreeting", "Square", "Echo", "StepA", "Flaky", "Greet", "FanOut", "Clock", "", "x",
    "Slow", "FailWith", "Beat", "Hold",
};
static const char *const IDS[] = {"1", "2", "3", "4", "5", "", "0", "echo-0000000000000000"};
static const char *const JSON[] = {
    "\"World\"", "[1,2,3]", "0", "1000", "7", "49", "\"\"", "", "99999999999999999999",
    "{\"a\":1}", "[0,0,0,0,0,0,0,0,0,0]", "\"", "\"x\"", "\"add\"", "\"fail\"", "\"timeout\"",
    "1", "2", "-1",
};
static const char *const ENCODINGS[] = {"json/plain", "binary/plain", "binary/null", "", "x"};
static const char *const RUN_IDS[] = {"run", "run-A", "run-B", ""};
static const char *const HANDLERS[] = {
    "add", "work", "done", "zzz", "msg", "tick", "sum", "slow_add", "fail", "finish", "u", "v",
    "", "count", "echo", "__stack_trace",
};

#define TABLE(t) {t, COUNT(t)}
static const struct {
    const char *const *v;
    size_t n;
} TABLES[] = {
    [ST_NAMES] = TABLE(NAMES), [ST_IDS] = TABLE(IDS), [ST_JSON] = TABLE(JSON),
    [ST_ENCODINGS] = TABLE(ENCODINGS), [ST_RUN_IDS] = TABLE(RUN_IDS),
    [ST_HANDLERS] = TABLE(HANDLERS),
};

uint8_t script_index(int t, const char *value)
{
    for (size_t i = 0; i < TABLES[t].n; i++)
        if (strcmp(TABLES[t].v[i], value) == 0)
            return (uint8_t)i;
    engine_die("a seed names a value the script tables lack");
    return 0;
}

/* ---- reading the input ---- */

uint8_t src_u8(src *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}
#define u8 src_u8

static uint64_t uN(src *s, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | u8(s);
    return v;
}

#define PICK(s, table) ((table)[u8(s) % COUNT(table)])

/* Integers worth trying; small ones mostly. */
static int64_t some_int(src *s)
{
    static const int64_t edge[] = {0, 1, 2, 3, 5, -1, INT64_MAX, INT64_MIN, INT32_MAX,
                                   (int64_t)1 << 53, 9223372036854775LL, -9223372036854775LL};
    uint8_t b = u8(s);
    if (b < 160)
        return b & 31;
    if (b < 224)
        return edge[b % COUNT(edge)];
    return (int64_t)uN(s, 8);
}

/* A string: from the tables, or up to 15 bytes of the input. */
static char *some_string(arena *a, src *s)
{
    uint8_t b = u8(s);
    switch (b & 3) {
    case 0: return arena_strdup(a, NAMES[(b >> 2) % COUNT(NAMES)]);
    case 1: return arena_strdup(a, IDS[(b >> 2) % COUNT(IDS)]);
    case 2: return arena_strdup(a, JSON[(b >> 2) % COUNT(JSON)]);
    }
    size_t n = (b >> 2) & 15;
    char *str = arena_alloc(a, n + 1);
    if (!str)
        return NULL;
    for (size_t i = 0; i < n; i++)
        str[i] = (char)u8(s);
    str[n] = '\0';
    return str;
}

static ProtobufCBinaryData some_bytes(arena *a, src *s)
{
    char *str = some_string(a, s);
    return (ProtobufCBinaryData){strlen(str ? str : ""), (uint8_t *)str};
}

/* ---- any message, filled from the input ---- */

/* A new message of type |d| in |a| (its defaults), or NULL. */
static void *new_message(arena *a, const ProtobufCMessageDescriptor *d)
{
    void *m = arena_alloc(a, d->sizeof_message);
    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

static void *fill_message(arena *a, const ProtobufCMessageDescriptor *d, src *s, int depth);

static size_t value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    default: return 4;
    }
}

static void fill_value(arena *a, const ProtobufCFieldDescriptor *f, void *v, src *s, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        *(int64_t *)v = some_int(s);
        break;
    case PROTOBUF_C_TYPE_DOUBLE: *(double *)v = (double)some_int(s) / 4; break;
    case PROTOBUF_C_TYPE_FLOAT: *(float *)v = (float)some_int(s) / 4; break;
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)v = u8(s) & 1; break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        uint8_t b = u8(s);
        *(int32_t *)v = e->n_values && b < 250 ? e->values[b % e->n_values].value : (int32_t)b;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: *(char **)v = some_string(a, s); break;
    case PROTOBUF_C_TYPE_BYTES: *(ProtobufCBinaryData *)v = some_bytes(a, s); break;
    case PROTOBUF_C_TYPE_MESSAGE:
        *(void **)v = depth < 4 ? fill_message(a, f->descriptor, s, depth + 1) : NULL;
        break;
    default: *(int32_t *)v = (int32_t)some_int(s); break;
    }
}

/* A message of type |d|: each field present or not, as the input says. */
static void *fill_message(arena *a, const ProtobufCMessageDescriptor *d, src *s, int depth)
{
    ProtobufCMessage *m = new_message(a, d);
    for (unsigned i = 0; m && i < d->n_fields && s->n; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        uint8_t b = u8(s);
        if (!(b & 1))
            continue;
        char *member = (char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = (b >> 1) & 3, sz = value_size(f->type);
            char *arr = n ? arena_alloc(a, n * sz) : NULL;
            if (n && !arr)
                continue;
            for (size_t k = 0; k < n; k++)
                fill_value(a, f, arr + k * sz, s, depth);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) /* no NULL elements on the wire */
                for (size_t k = 0; k < n; k++)
                    if (!((void **)arr)[k])
                        n = k;
            *(size_t *)((char *)m + f->quantifier_offset) = n;
            *(void **)member = arr;
            continue;
        }
        fill_value(a, f, member, s, depth);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
            *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
    }
    return m;
}

/* ---- values the engine reads ---- */

typedef struct hist {
    arena *a;
    pb_event *ev[MAX_EVENTS];
    size_t n;
    int64_t now_ms;
    int64_t scheduled[MAX_EVENTS]; /* ids of ActivityTaskScheduled events so far */
    size_t nscheduled;
    int64_t initiated[MAX_EVENTS]; /* ids of the external commands' *Initiated events */
    size_t ninitiated;
} hist;

static pb_payloads *some_payloads(arena *a, src *s)
{
    uint8_t b = u8(s);
    if ((b & 7) == 0)
        return NULL;
    size_t n = (b & 7) == 7 ? 2 : 1;
    tw_payload p[2];
    for (size_t i = 0; i < n; i++) {
        const char *json = PICK(s, JSON);
        p[i] = (tw_payload){PICK(s, ENCODINGS), (const uint8_t *)json, strlen(json)};
    }
    pb_payloads *ps = payloads_to_pb(a, p, n);
    if (ps && (b & 0x80)) /* sometimes an encoding entry with an empty value, or none */
        ps->payloads[0]->metadata[0]->value.len = 0;
    return ps;
}

/* One link of a failure chain: a kind byte (mod 7: Application, Activity, Timeout, Canceled,
 * Terminated, Server, ChildWorkflow), the message, then the kind's fields: Application a
 * NAMES pick (its type), a byte (bit 0: non-retryable) and payloads (details); Activity a
 * NAMES pick (type), an IDS pick (id) and a byte (retry state); Timeout a byte (timeout type)
 * and payloads (last heartbeat details); Canceled payloads; Server a byte (bit 0:
 * non-retryable); ChildWorkflow a byte (retry state). */
static pb_failure *failure_link(arena *a, src *s)
{
    pb_failure *f = new_message(a, &temporal__api__failure__v1__failure__descriptor);
    if (!f)
        return NULL;
    uint8_t kind = u8(s) % 7;
    f->message = some_string(a, s);
    switch (kind) {
    case 0: {
        FINFO(Application) *i =
            new_message(a, &temporal__api__failure__v1__application_failure_info__descriptor);
        if (!i)
            return NULL;
        i->type = arena_strdup(a, PICK(s, NAMES));
        i->non_retryable = u8(s) & 1;
        i->details = some_payloads(a, s);
        f->failure_info_case = FCASE(APPLICATION);
        f->application_failure_info = i;
        break;
    }
    case 1: {
        FINFO(Activity) *i =
            new_message(a, &temporal__api__failure__v1__activity_failure_info__descriptor);
        Temporal__Api__Common__V1__ActivityType *t =
            new_message(a, &temporal__api__common__v1__activity_type__descriptor);
        if (!i || !t)
            return NULL;
        t->name = arena_strdup(a, PICK(s, NAMES));
        i->activity_type = t;
        i->activity_id = arena_strdup(a, PICK(s, IDS));
        i->retry_state = u8(s) % 8;
        f->failure_info_case = FCASE(ACTIVITY);
        f->activity_failure_info = i;
        break;
    }
    case 2: {
        FINFO(Timeout) *i =
            new_message(a, &temporal__api__failure__v1__timeout_failure_info__descriptor);
        if (!i)
            return NULL;
        i->timeout_type = u8(s) % 5;
        i->last_heartbeat_details = some_payloads(a, s);
        f->failure_info_case = FCASE(TIMEOUT);
        f->timeout_failure_info = i;
        break;
    }
    case 3: {
        FINFO(Canceled) *i =
            new_message(a, &temporal__api__failure__v1__canceled_failure_info__descriptor);
        if (!i)
            return NULL;
        i->details = some_payloads(a, s);
        f->failure_info_case = FCASE(CANCELED);
        f->canceled_failure_info = i;
        break;
    }
    case 4:
        f->failure_info_case = FCASE(TERMINATED);
        f->terminated_failure_info =
            new_message(a, &temporal__api__failure__v1__terminated_failure_info__descriptor);
        break;
    case 5:
        f->failure_info_case = FCASE(SERVER);
        f->server_failure_info =
            new_message(a, &temporal__api__failure__v1__server_failure_info__descriptor);
        if (f->server_failure_info)
            f->server_failure_info->non_retryable = u8(s) & 1;
        break;
    default:
        f->failure_info_case = FCASE(CHILD_WORKFLOW_EXECUTION);
        f->child_workflow_execution_failure_info = new_message(
            a, &temporal__api__failure__v1__child_workflow_execution_failure_info__descriptor);
        if (f->child_workflow_execution_failure_info)
            f->child_workflow_execution_failure_info->retry_state = u8(s) % 8;
        break;
    }
    return f;
}

/* A failure: none, any Failure message, or a chain of links (up to 20: past the engine's
 * cut at 16). */
static pb_failure *some_failure(arena *a, src *s)
{
    uint8_t b = u8(s);
    if (b & 1)
        return fill_message(a, &temporal__api__failure__v1__failure__descriptor, s, 1);
    if ((b & 3) != 2)
        return NULL;
    pb_failure *head = NULL, **at = &head;
    for (size_t i = 0, links = (size_t)(b >> 2) % 20 + 1; i < links; i++) {
        pb_failure *f = failure_link(a, s);
        if (!f)
            break;
        *at = f;
        at = &f->cause;
    }
    return head;
}

/* An event time: mostly a little after the last one, sometimes far off either way. */
static Google__Protobuf__Timestamp *some_time(hist *h, src *s)
{
    Google__Protobuf__Timestamp *t = arena_alloc(h->a, sizeof(*t));
    if (!t)
        return NULL;
    google__protobuf__timestamp__init(t);
    uint8_t b = u8(s);
    if (b < 240) {
        h->now_ms += b * 37;
        t->seconds = h->now_ms / 1000;
        t->nanos = (int32_t)(h->now_ms % 1000) * 1000000;
    } else {
        t->seconds = some_int(s);
        t->nanos = (int32_t)some_int(s);
    }
    return t;
}

/* An event id the attributes refer to: one of |ids| (the n-th last) mostly. */
static int64_t some_ref(const int64_t *ids, size_t n, src *s)
{
    uint8_t b = u8(s);
    if (b < 200 && n)
        return ids[n - 1 - b % n];
    return some_int(s);
}
#define ACTIVITY_REF(h, s) some_ref((h)->scheduled, (h)->nscheduled, s)
#define EXTERNAL_REF(h, s) some_ref((h)->initiated, (h)->ninitiated, s)

/* Another workflow's execution: a NAMES pick as its id. */
static pb_execution *some_execution(arena *a, src *s)
{
    pb_execution *e = new_message(a, &temporal__api__common__v1__workflow_execution__descriptor);
    if (e)
        e->workflow_id = arena_strdup(a, PICK(s, NAMES));
    return e;
}

/* An update request: an IDS pick (its id), a HANDLERS pick (its name), payloads (its args). */
static Temporal__Api__Update__V1__Request *some_request(arena *a, src *s)
{
    Temporal__Api__Update__V1__Request *r =
        new_message(a, &temporal__api__update__v1__request__descriptor);
    Temporal__Api__Update__V1__Meta *m = new_message(a, &temporal__api__update__v1__meta__descriptor);
    Temporal__Api__Update__V1__Input *in =
        new_message(a, &temporal__api__update__v1__input__descriptor);
    if (!r || !m || !in)
        return NULL;
    m->update_id = arena_strdup(a, PICK(s, IDS));
    in->name = arena_strdup(a, PICK(s, HANDLERS));
    in->args = some_payloads(a, s);
    r->meta = m;
    r->input = in;
    return r;
}

/* ---- the events ---- */

typedef struct kind {
    int type;        /* EventType */
    int attr_case;   /* its attributes */
    const ProtobufCMessageDescriptor *desc;
} kind;

/* 32 kinds at most: an op byte's low 5 bits. New ones go at the end (seeds name them). */
#define KIND(name, lower) \
    {EV(name), HCASE(name), &temporal__api__history__v1__##lower##_event_attributes__descriptor}
static const kind KINDS[] = {
    KIND(WORKFLOW_TASK_SCHEDULED, workflow_task_scheduled),
    KIND(WORKFLOW_TASK_STARTED, workflow_task_started),
    KIND(WORKFLOW_TASK_COMPLETED, workflow_task_completed),
    KIND(ACTIVITY_TASK_SCHEDULED, activity_task_scheduled),
    KIND(ACTIVITY_TASK_STARTED, activity_task_started),
    KIND(ACTIVITY_TASK_COMPLETED, activity_task_completed),
    KIND(TIMER_STARTED, timer_started),
    KIND(TIMER_FIRED, timer_fired),
    KIND(ACTIVITY_TASK_FAILED, activity_task_failed),
    KIND(ACTIVITY_TASK_TIMED_OUT, activity_task_timed_out),
    KIND(ACTIVITY_TASK_CANCELED, activity_task_canceled),
    KIND(WORKFLOW_TASK_FAILED, workflow_task_failed),
    KIND(WORKFLOW_TASK_TIMED_OUT, workflow_task_timed_out),
    KIND(WORKFLOW_EXECUTION_COMPLETED, workflow_execution_completed),
    KIND(WORKFLOW_EXECUTION_FAILED, workflow_execution_failed),
    KIND(WORKFLOW_EXECUTION_STARTED, workflow_execution_started),
    KIND(TIMER_CANCELED, timer_canceled),
    KIND(ACTIVITY_TASK_CANCEL_REQUESTED, activity_task_cancel_requested),
    KIND(WORKFLOW_EXECUTION_SIGNALED, workflow_execution_signaled),
    KIND(MARKER_RECORDED, marker_recorded),
    KIND(WORKFLOW_EXECUTION_CANCEL_REQUESTED, workflow_execution_cancel_requested),
    KIND(UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert_workflow_search_attributes),
    KIND(WORKFLOW_EXECUTION_TERMINATED, workflow_execution_terminated),
    KIND(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
         request_cancel_external_workflow_execution_initiated),
    KIND(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
         external_workflow_execution_cancel_requested),
    KIND(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
         request_cancel_external_workflow_execution_failed),
    KIND(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
         signal_external_workflow_execution_initiated),
    KIND(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, external_workflow_execution_signaled),
    KIND(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, signal_external_workflow_execution_failed),
    KIND(WORKFLOW_EXECUTION_UPDATE_ACCEPTED, workflow_execution_update_accepted),
    KIND(WORKFLOW_EXECUTION_UPDATE_COMPLETED, workflow_execution_update_completed),
    KIND(WORKFLOW_EXECUTION_UPDATE_ADMITTED, workflow_execution_update_admitted),
};
#define NKINDS COUNT(KINDS)
_Static_assert(NKINDS <= 32, "an op byte names a kind in 5 bits");
#define STARTED_KIND 15

uint8_t script_kind(int type)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (KINDS[i].type == type)
            return (uint8_t)i;
    engine_die("a seed names an event type scripts lack");
    return 0;
}

/* The fields the engine reads of the kinds it acts on; the others have none. */
static void script_fields(hist *h, int attr_case, void *m, src *s)
{
    arena *a = h->a;
    switch (attr_case) {
    case HCASE(WORKFLOW_EXECUTION_STARTED): {
        HA(WorkflowExecutionStarted) *at = m;
        at->input = some_payloads(a, s);
        at->attempt = (int32_t)(u8(s) % 3);
        at->original_execution_run_id = arena_strdup(a, PICK(s, RUN_IDS));
        break;
    }
    case HCASE(ACTIVITY_TASK_SCHEDULED): {
        HA(ActivityTaskScheduled) *at = m;
        at->activity_id = arena_strdup(a, PICK(s, IDS));
        uint8_t b = u8(s);
        at->activity_type = b < 240 ? new_message(a, &temporal__api__common__v1__activity_type__descriptor)
                                    : NULL;
        if (at->activity_type)
            at->activity_type->name = arena_strdup(a, NAMES[b % COUNT(NAMES)]);
        break;
    }
    case HCASE(ACTIVITY_TASK_COMPLETED): {
        HA(ActivityTaskCompleted) *at = m;
        at->scheduled_event_id = ACTIVITY_REF(h, s);
        at->result = some_payloads(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_FAILED): {
        HA(ActivityTaskFailed) *at = m;
        at->scheduled_event_id = ACTIVITY_REF(h, s);
        at->failure = some_failure(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_TIMED_OUT): {
        HA(ActivityTaskTimedOut) *at = m;
        at->scheduled_event_id = ACTIVITY_REF(h, s);
        at->failure = some_failure(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_CANCELED): {
        HA(ActivityTaskCanceled) *at = m;
        at->scheduled_event_id = ACTIVITY_REF(h, s);
        at->details = some_payloads(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_CANCEL_REQUESTED):
        ((HA(ActivityTaskCancelRequested) *)m)->scheduled_event_id = ACTIVITY_REF(h, s);
        break;
    case HCASE(TIMER_STARTED):
        ((HA(TimerStarted) *)m)->timer_id = arena_strdup(a, PICK(s, IDS));
        break;
    case HCASE(TIMER_FIRED):
        ((HA(TimerFired) *)m)->timer_id = arena_strdup(a, PICK(s, IDS));
        break;
    case HCASE(TIMER_CANCELED):
        ((HA(TimerCanceled) *)m)->timer_id = arena_strdup(a, PICK(s, IDS));
        break;
    case HCASE(WORKFLOW_TASK_FAILED): {
        HA(WorkflowTaskFailed) *at = m;
        if (u8(s) & 1)
            at->cause = WF_CAUSE(RESET_WORKFLOW);
        at->new_run_id = arena_strdup(a, PICK(s, RUN_IDS));
        break;
    }
    case HCASE(WORKFLOW_EXECUTION_SIGNALED): {
        HA(WorkflowExecutionSignaled) *at = m;
        at->signal_name = arena_strdup(a, PICK(s, HANDLERS));
        at->input = some_payloads(a, s);
        break;
    }
    case HCASE(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED):
        ((HA(RequestCancelExternalWorkflowExecutionInitiated) *)m)->workflow_execution =
            some_execution(a, s);
        break;
    case HCASE(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED):
        ((HA(ExternalWorkflowExecutionCancelRequested) *)m)->initiated_event_id =
            EXTERNAL_REF(h, s);
        break;
    case HCASE(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED): {
        HA(RequestCancelExternalWorkflowExecutionFailed) *at = m;
        at->initiated_event_id = EXTERNAL_REF(h, s);
        at->cause = u8(s) % 5;
        break;
    }
    case HCASE(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED): {
        HA(SignalExternalWorkflowExecutionInitiated) *at = m;
        at->workflow_execution = some_execution(a, s);
        at->signal_name = arena_strdup(a, PICK(s, HANDLERS));
        at->input = some_payloads(a, s);
        break;
    }
    case HCASE(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED):
        ((HA(ExternalWorkflowExecutionSignaled) *)m)->initiated_event_id = EXTERNAL_REF(h, s);
        break;
    case HCASE(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED): {
        HA(SignalExternalWorkflowExecutionFailed) *at = m;
        at->initiated_event_id = EXTERNAL_REF(h, s);
        at->cause = u8(s) % 5;
        break;
    }
    case HCASE(WORKFLOW_EXECUTION_UPDATE_ACCEPTED): {
        /* An IDS pick (the update), an integer (the request's event), a byte (odd: the
         * request follows, else none). */
        HA(WorkflowExecutionUpdateAccepted) *at = m;
        at->protocol_instance_id = arena_strdup(a, PICK(s, IDS));
        at->accepted_request_sequencing_event_id = some_int(s);
        at->accepted_request = u8(s) & 1 ? some_request(a, s) : NULL;
        break;
    }
    case HCASE(WORKFLOW_EXECUTION_UPDATE_COMPLETED): {
        /* An IDS pick (the update), a byte (odd: a failure follows, else payloads). */
        HA(WorkflowExecutionUpdateCompleted) *at = m;
        at->meta = new_message(a, &temporal__api__update__v1__meta__descriptor);
        at->outcome = new_message(a, &temporal__api__update__v1__outcome__descriptor);
        if (at->meta)
            at->meta->update_id = arena_strdup(a, PICK(s, IDS));
        if (!at->outcome)
            break;
        if (u8(s) & 1) {
            at->outcome->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_FAILURE;
            at->outcome->failure = some_failure(a, s);
        } else {
            at->outcome->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE_SUCCESS;
            at->outcome->success = some_payloads(a, s);
        }
        if (!at->outcome->failure && !at->outcome->success) /* a oneof member is never NULL */
            at->outcome->value_case = TEMPORAL__API__UPDATE__V1__OUTCOME__VALUE__NOT_SET;
        break;
    }
    case HCASE(WORKFLOW_EXECUTION_UPDATE_ADMITTED):
        ((HA(WorkflowExecutionUpdateAdmitted) *)m)->request = some_request(a, s);
        break;
    }
}

/* Attributes of kind |k|: the extras byte, then the fields the engine reads. */
static void *script_attributes(hist *h, const kind *k, src *s)
{
    void *m = u8(s) & 1 ? fill_message(h->a, k->desc, s, 1) : new_message(h->a, k->desc);
    if (m)
        script_fields(h, k->attr_case, m, s);
    return m;
}

/* Sets |ev|'s attributes to |m| of kind |k| (the oneof member for that kind). */
static void set_attributes(pb_event *ev, const kind *k, void *m)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &temporal__api__history__v1__history_event__descriptor, (unsigned)k->attr_case);
    if (!f || !m)
        return;
    ev->attributes_case = k->attr_case;
    *(void **)((char *)ev + f->offset) = m;
}

static pb_event *add_event(hist *h, src *s, int type)
{
    if (h->n >= MAX_EVENTS)
        return NULL;
    pb_event *e = new_message(h->a, &temporal__api__history__v1__history_event__descriptor);
    if (!e)
        return NULL;
    e->event_id = (int64_t)h->n + 1;
    e->event_type = type;
    e->event_time = some_time(h, s);
    h->ev[h->n++] = e;
    return e;
}

/* Builds the history of the script in |s| (see the top of this file). */
static void build_history(hist *h, src *s)
{
    const kind *started = &KINDS[STARTED_KIND];
    if (u8(s) != 0xff) {
        pb_event *e = add_event(h, s, started->type);
        if (e)
            set_attributes(e, started, script_attributes(h, started, s));
    }
    while (s->n && h->n < MAX_EVENTS) {
        uint8_t op = u8(s);
        const kind *k = &KINDS[(op & 31) % NKINDS];
        pb_event *e = add_event(h, s, k->type);
        if (!e)
            break;
        const kind *carried = k;
        switch (op >> 5) {
        case 5: carried = &KINDS[u8(s) % NKINDS]; break; /* another kind's attributes */
        case 6: carried = NULL; break;                      /* none */
        case 7: e->event_id = some_int(s); break;           /* an odd id */
        }
        if (carried)
            set_attributes(e, carried, script_attributes(h, carried, s));
        if (k->type == EV(ACTIVITY_TASK_SCHEDULED))
            h->scheduled[h->nscheduled++] = e->event_id;
        if (k->type == EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) ||
            k->type == EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED))
            h->initiated[h->ninitiated++] = e->event_id;
    }
}

pb_history *script_history(src *s)
{
    hist h = {.a = arena_new(16 * 1024 * 1024), .now_ms = 1000};
    if (!h.a)
        engine_die("out of memory");
    build_history(&h, s);
    pb_history msg;
    temporal__api__history__v1__history__init(&msg);
    msg.events = h.ev;
    msg.n_events = h.n;
    size_t len = protobuf_c_message_get_packed_size(&msg.base);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        engine_die("out of memory");
    protobuf_c_message_pack(&msg.base, buf);
    arena_free(h.a);
    pb_history *back = temporal__api__history__v1__history__unpack(NULL, len, buf);
    free(buf);
    if (!back)
        engine_die("a packed history does not unpack");
    return back;
}
