/*
 * fuzz_engine: the workflow engine (temporal/engine/wf.c, temporal/engine/payload.c) on
 * histories a server could send: every input becomes protobuf-valid messages (what protobuf-c's
 * unpack gives), run through wf_run with real workflow libraries (the examples and test
 * fixtures, loaded with reg_load as the runtime does), the way the worker's workflow poller
 * runs a task.
 *
 * The first byte chooses how the rest is read and which workflow runs (when the input does
 * not name a registered one):
 *   byte0 & 3 == 0   a PollWorkflowTaskQueueResponse (the worker's view: its history,
 *                    workflow type and execution)
 *   byte0 & 3 == 1   a History
 *   otherwise        a script: the bytes choose event types, ids, attributes and times
 *                    (see build_history), so the fuzzer reaches deep into replay without
 *                    having to find protobuf encodings itself; the built History is packed
 *                    and unpacked again, so the engine only ever sees what unpack makes.
 * An input that does not unpack as the message its mode names is read as a script too.
 * Messages are unpacked with malloc, not into the worker's arena, so that AddressSanitizer
 * sees any read past one (a wrong union member, say).
 *
 * What must hold: wf_run returns 0 and never crashes; a failed task has a message; a
 * completed task's commands pack (they go on the wire as they are).
 *
 * The libraries are found in the build folder this executable sits in ($(BUILD)/fuzz/ or
 * $(BUILD)/tests/), else under $BUILD. With TW_FUZZ_WRITE_SEEDS=<dir>
 * it writes the seed corpus (from the recorded histories in tests/data) into <dir> and exits.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "registry/reg.h"
#include "runtime/log.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/payload.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes
#define HCASE(name) TEMPORAL__API__HISTORY__V1__HISTORY_EVENT__ATTRIBUTES_##name##_EVENT_ATTRIBUTES
#define MAX_EVENTS 96

/* ---- the workflows ---- */

static const char *const LIBRARIES[] = {
    "examples/libhello.so", "examples/libtimers.so", "examples/libretry.so",
    "fixtures/lib_wf_semantics.so", "fixtures/lib_changing_v1.so",
};
#define NLIBS (sizeof(LIBRARIES) / sizeof(LIBRARIES[0]))

typedef struct known_wf {
    tw_registry *reg;
    const char *name;
} known_wf;

static tw_registry *regs[NLIBS];
static known_wf wfs[32];
static size_t nwfs;
static int verbose;

/* Workflow and activity names, ids and payloads the libraries know: a script picks from these
 * so that histories match what the code does often enough to go on replaying. */
static const char *const NAMES[] = {
    "ComposeGreeting", "Square", "Echo", "StepA", "Flaky", "Greet", "FanOut", "Clock", "", "x",
};
static const char *const IDS[] = {"1", "2", "3", "4", "5", "", "0", "echo-0000000000000000"};
static const char *const JSON[] = {
    "\"World\"", "[1,2,3]", "0", "1000", "7", "49", "\"\"", "", "99999999999999999999",
    "{\"a\":1}", "[0,0,0,0,0,0,0,0,0,0]", "\"",
};
static const char *const ENCODINGS[] = {"json/plain", "binary/plain", "binary/null", "", "x"};
static const char *const RUN_IDS[] = {"run", "run-A", "run-B", ""};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_engine: %s\n", what);
    abort();
}

/* The build folder this executable sits in ($(BUILD)/fuzz/fuzz_engine or
 * $(BUILD)/tests/replay_engine), else $BUILD (which `make` exports, maybe relative to a folder
 * the fuzzer no longer runs in). */
static void build_dir(char *out, size_t n)
{
    char exe[4096], probe[4400];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash;
        for (int up = 0; up < 2 && (slash = strrchr(exe, '/')); up++)
            *slash = '\0';
        snprintf(probe, sizeof(probe), "%s/%s", exe, LIBRARIES[0]);
        if (access(probe, R_OK) == 0) {
            snprintf(out, n, "%s", exe);
            return;
        }
    }
    const char *b = getenv("BUILD");
    if (!b || !*b)
        die("cannot find the workflow libraries: build them, or set BUILD");
    snprintf(out, n, "%s", b);
}

static void load_libraries(void)
{
    char dir[4096], path[4400], err[512];
    build_dir(dir, sizeof(dir));
    for (size_t i = 0; i < NLIBS; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, LIBRARIES[i]);
        char *abs = realpath(path, NULL);
        if (!abs || reg_load(&regs[i], abs, NULL, api_table(), err, sizeof(err)) != 0) {
            fprintf(stderr, "fuzz_engine: %s: %s (build it first)\n", path,
                    abs ? err : "not found");
            abort();
        }
        free(abs);
    }
    /* reg_workflow_names gives "A, B, C". */
    static char names[NLIBS][512];
    for (size_t i = 0; i < NLIBS; i++) {
        reg_workflow_names(regs[i], names[i], sizeof(names[i]));
        for (char *tok = strtok(names[i], ", "); tok && nwfs < 32; tok = strtok(NULL, ", "))
            wfs[nwfs++] = (known_wf){regs[i], tok};
    }
    if (!nwfs)
        die("no workflows registered");
}

static const known_wf *find_wf(const char *name)
{
    for (size_t i = 0; name && i < nwfs; i++)
        if (strcmp(wfs[i].name, name) == 0)
            return &wfs[i];
    return NULL;
}

/* ---- reading the input ---- */

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static uint8_t u8(src *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

static uint64_t uN(src *s, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | u8(s);
    return v;
}

#define PICK(s, table) ((table)[u8(s) % (sizeof(table) / sizeof((table)[0]))])

/* Integers worth trying; small ones mostly. */
static int64_t some_int(src *s)
{
    static const int64_t edge[] = {0, 1, 2, 3, 5, -1, INT64_MAX, INT64_MIN, INT32_MAX,
                                   (int64_t)1 << 53, 9223372036854775LL, -9223372036854775LL};
    uint8_t b = u8(s);
    if (b < 160)
        return b & 31;
    if (b < 224)
        return edge[b % (sizeof(edge) / sizeof(edge[0]))];
    return (int64_t)uN(s, 8);
}

/* A string: from the tables, or up to 15 bytes of the input. */
static char *some_string(arena *a, src *s)
{
    uint8_t b = u8(s);
    switch (b & 3) {
    case 0: return arena_strdup(a, NAMES[(b >> 2) % (sizeof(NAMES) / sizeof(NAMES[0]))]);
    case 1: return arena_strdup(a, IDS[(b >> 2) % (sizeof(IDS) / sizeof(IDS[0]))]);
    case 2: return arena_strdup(a, JSON[(b >> 2) % (sizeof(JSON) / sizeof(JSON[0]))]);
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
    ProtobufCMessage *m = arena_alloc(a, d->sizeof_message);
    if (!m)
        return NULL;
    protobuf_c_message_init(d, m);
    for (unsigned i = 0; i < d->n_fields && s->n; i++) {
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

/* ---- the script ---- */

typedef struct hist {
    arena *a;
    pb_event *ev[MAX_EVENTS];
    size_t n;
    int64_t now_ms;
    int64_t scheduled[MAX_EVENTS]; /* ids of ActivityTaskScheduled events so far */
    size_t nscheduled;
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

static pb_failure *some_failure(arena *a, src *s)
{
    if (u8(s) & 1)
        return fill_message(a, &temporal__api__failure__v1__failure__descriptor, s, 1);
    return NULL;
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

/* An event id the attributes refer to: a scheduled activity's mostly. */
static int64_t some_ref(hist *h, src *s)
{
    uint8_t b = u8(s);
    if (b < 200 && h->nscheduled)
        return h->scheduled[h->nscheduled - 1 - b % h->nscheduled];
    return some_int(s);
}

typedef struct kind {
    int type;        /* EventType */
    int attr_case;   /* its attributes */
    const ProtobufCMessageDescriptor *desc;
} kind;

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
};
#define NKINDS (sizeof(KINDS) / sizeof(KINDS[0]))

/* Attributes of kind |k|: a byte says whether every field is filled from the input first
 * (odd) or none (even); then the fields the engine reads are set from the script. */
static void *script_attributes(hist *h, const kind *k, src *s)
{
    arena *a = h->a;
    void *m;
    if (u8(s) & 1) {
        m = fill_message(a, k->desc, s, 1);
    } else if ((m = arena_alloc(a, k->desc->sizeof_message))) {
        protobuf_c_message_init(k->desc, m);
    }
    if (!m)
        return NULL;
    switch (k->attr_case) {
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
        if (b < 240) {
            at->activity_type = arena_alloc(a, sizeof(*at->activity_type));
            if (at->activity_type) {
                temporal__api__common__v1__activity_type__init(at->activity_type);
                at->activity_type->name =
                    arena_strdup(a, NAMES[b % (sizeof(NAMES) / sizeof(NAMES[0]))]);
            }
        } else {
            at->activity_type = NULL;
        }
        break;
    }
    case HCASE(ACTIVITY_TASK_COMPLETED): {
        HA(ActivityTaskCompleted) *at = m;
        at->scheduled_event_id = some_ref(h, s);
        at->result = some_payloads(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_FAILED): {
        HA(ActivityTaskFailed) *at = m;
        at->scheduled_event_id = some_ref(h, s);
        at->failure = some_failure(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_TIMED_OUT): {
        HA(ActivityTaskTimedOut) *at = m;
        at->scheduled_event_id = some_ref(h, s);
        at->failure = some_failure(a, s);
        break;
    }
    case HCASE(ACTIVITY_TASK_CANCELED): {
        HA(ActivityTaskCanceled) *at = m;
        at->scheduled_event_id = some_ref(h, s);
        break;
    }
    case HCASE(TIMER_STARTED):
        ((HA(TimerStarted) *)m)->timer_id = arena_strdup(a, PICK(s, IDS));
        break;
    case HCASE(TIMER_FIRED):
        ((HA(TimerFired) *)m)->timer_id = arena_strdup(a, PICK(s, IDS));
        break;
    case HCASE(WORKFLOW_TASK_FAILED): {
        HA(WorkflowTaskFailed) *at = m;
        if (u8(s) & 1)
            at->cause = WF_CAUSE(RESET_WORKFLOW);
        at->new_run_id = arena_strdup(a, PICK(s, RUN_IDS));
        break;
    }
    }
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
    pb_event *e = arena_alloc(h->a, sizeof(*e));
    if (!e)
        return NULL;
    temporal__api__history__v1__history_event__init(e);
    e->event_id = (int64_t)h->n + 1;
    e->event_type = type;
    e->event_time = some_time(h, s);
    h->ev[h->n++] = e;
    return e;
}

/* Builds a history from the script in |s|. Each step: one byte names the event kind (low 5
 * bits) and what to get wrong (high bits: another kind's attributes, none, or an odd event
 * id), then that kind's fields. A WorkflowExecutionStarted comes first unless the first byte
 * says otherwise. */
static void build_history(hist *h, src *s)
{
    const kind *started = &KINDS[15];
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
    }
}

/* ---- running a task ---- */

/* What the worker's poller does with a task (wft.c run_workflow_task), minus the network. */
static void run_task(const known_wf *w, const char *type, const char *run_id,
                     pb_event *const *events, size_t n)
{
    arena *a = arena_new(64 * 1024 * 1024);
    if (!a)
        die("out of memory");
    wf_input in = {.workflow_type = type, .workflow_id = "fuzz", .run_id = run_id,
                   .task_queue = "fuzz-tq", .events = events, .nevents = n};
    wf_output out;
    if (wf_run(w->reg, a, &in, &out) != 0)
        die("wf_run returned non-zero");
    for (size_t i = 0; verbose && i < n; i++)
        fprintf(stderr, "  event %lld type %d attributes %d\n", (long long)events[i]->event_id,
                (int)events[i]->event_type, (int)events[i]->attributes_case);
    if (verbose) /* TW_FUZZ_VERBOSE: what each input did, to check seeds by hand */
        fprintf(stderr, "%s, %zu events: %s%s%zu commands, first type %d\n", type, n,
                out.task_failed ? "task failed: " : "", out.task_failed ? out.message : "",
                out.ncommands, out.ncommands ? (int)out.commands[0]->command_type : 0);
    if (out.task_failed) {
        if (!out.message || !*out.message)
            die("a failed task without a message");
    } else {
        for (size_t i = 0; i < out.ncommands; i++) {
            const pb_command *c = out.commands[i];
            if (!c)
                die("a NULL command");
            size_t len = protobuf_c_message_get_packed_size(&c->base);
            uint8_t *buf = malloc(len ? len : 1);
            if (!buf || protobuf_c_message_pack(&c->base, buf) != len)
                die("a command does not pack");
            ProtobufCMessage *back = protobuf_c_message_unpack(
                &temporal__api__command__v1__command__descriptor, NULL, len, buf);
            if (!back)
                die("a command does not unpack");
            protobuf_c_message_free_unpacked(back, NULL);
            free(buf);
        }
    }
    arena_free(a);
}

/* Builds a history from the script, packs it and runs what unpack gives back. */
static void run_script(const known_wf *w, src *s)
{
    hist h = {.a = arena_new(16 * 1024 * 1024), .now_ms = 1000};
    if (!h.a)
        die("out of memory");
    build_history(&h, s);
    pb_history hist_msg;
    temporal__api__history__v1__history__init(&hist_msg);
    hist_msg.events = h.ev;
    hist_msg.n_events = h.n;
    size_t len = protobuf_c_message_get_packed_size(&hist_msg.base);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        die("out of memory");
    protobuf_c_message_pack(&hist_msg.base, buf);
    arena_free(h.a);
    pb_history *back = temporal__api__history__v1__history__unpack(NULL, len, buf);
    free(buf);
    if (!back)
        die("a packed history does not unpack");
    run_task(w, w->name, "run", back->events, back->n_events);
    temporal__api__history__v1__history__free_unpacked(back, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] & 3;
    const known_wf *chosen = &wfs[(data[0] >> 2) % nwfs];
    src s = {data + 1, size - 1};
    if (mode == 0) {
        ProtobufCMessage *m = protobuf_c_message_unpack(
            &WFS_DESC(poll_workflow_task_queue_response), NULL, s.n, s.p);
        WFS(PollWorkflowTaskQueueResponse) *t = (void *)m;
        if (t && t->workflow_execution) { /* the poller drops a task without one */
            const char *type = t->workflow_type ? t->workflow_type->name : "";
            const known_wf *w = find_wf(type);
            run_task(w ? w : chosen, w ? type : chosen->name, t->workflow_execution->run_id,
                     t->history ? t->history->events : NULL, t->history ? t->history->n_events : 0);
        }
        if (m) {
            protobuf_c_message_free_unpacked(m, NULL);
            return 0;
        }
    } else if (mode == 1) {
        pb_history *h = temporal__api__history__v1__history__unpack(NULL, s.n, s.p);
        if (h) {
            run_task(chosen, chosen->name, "run", h->events, h->n_events);
            temporal__api__history__v1__history__free_unpacked(h, NULL);
            return 0;
        }
    }
    run_script(chosen, &s);
    return 0;
}

/* ---- seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t head, const uint8_t *body,
                       size_t len)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&head, 1, 1, f) != 1 || (len && fwrite(body, 1, len, f) != len))
        die("cannot write a seed");
    fclose(f);
}

static uint8_t head_for(int mode, const char *workflow)
{
    for (size_t i = 0; i < nwfs; i++)
        if (strcmp(wfs[i].name, workflow) == 0)
            return (uint8_t)(i << 2 | (size_t)mode);
    die("seed for an unknown workflow");
    return 0;
}

/* The recorded histories as Histories, and as poll responses cut at every workflow task (what
 * the worker is sent), plus a few scripts. */
static void write_seeds(const char *dir)
{
    static const char *const recorded[][2] = {
        {"hello", "Greet"}, {"fanout", "FanOut"}, {"changing", "Changing"}};
    for (size_t r = 0; r < 3; r++) {
        char path[256], name[128];
        snprintf(path, sizeof(path), "tests/data/%s.history", recorded[r][0]);
        FILE *f = fopen(path, "rb");
        if (!f)
            die("run from the repository root (tests/data)");
        static uint8_t raw[1 << 20];
        size_t len = fread(raw, 1, sizeof(raw), f);
        fclose(f);
        snprintf(name, sizeof(name), "history-%s", recorded[r][0]);
        write_seed(dir, name, head_for(1, recorded[r][1]), raw, len);
        pb_history *h = temporal__api__history__v1__history__unpack(NULL, len, raw);
        if (!h)
            die("a recorded history does not unpack");
        int task = 0;
        for (size_t i = 0; i < h->n_events; i++) {
            if (h->events[i]->event_type != EV(WORKFLOW_TASK_STARTED))
                continue;
            WFS(PollWorkflowTaskQueueResponse) t;
            PB_INIT(WFS_DESC(poll_workflow_task_queue_response), &t);
            Temporal__Api__Common__V1__WorkflowType wt;
            temporal__api__common__v1__workflow_type__init(&wt);
            wt.name = (char *)recorded[r][1];
            pb_execution ex;
            PB_INIT(temporal__api__common__v1__workflow_execution__descriptor, &ex);
            ex.workflow_id = "seed";
            ex.run_id = "run";
            pb_history cut = *h;
            cut.n_events = i + 1;
            t.task_token = (ProtobufCBinaryData){4, (uint8_t *)"tokn"};
            t.workflow_execution = &ex;
            t.workflow_type = &wt;
            t.history = &cut;
            t.attempt = 1;
            t.started_event_id = h->events[i]->event_id;
            size_t plen = protobuf_c_message_get_packed_size(&t.base);
            uint8_t *buf = malloc(plen);
            if (!buf)
                die("out of memory");
            protobuf_c_message_pack(&t.base, buf);
            snprintf(name, sizeof(name), "poll-%s-task%d", recorded[r][0], ++task);
            write_seed(dir, name, head_for(0, recorded[r][1]), buf, plen);
            free(buf);
        }
        temporal__api__history__v1__history__free_unpacked(h, NULL);
    }
    /* Scripts (see build_history): Greet's first and second tasks, a timer, a reset point. */
    /* Started: present, time, no extras, one payload ("\"World\"", json/plain), attempt 1,
     * run id "run"; then op (kind index), time, no extras and the kind's fields. */
#define STARTED_WORLD 0, 0, 0, 1, 0, 0, 1, 0
#define FIRST_TASK 0, 0, 0, 1, 0, 0 /* WorkflowTaskScheduled, WorkflowTaskStarted */
    static const uint8_t greet1[] = {STARTED_WORLD, FIRST_TASK};
    static const uint8_t greet2[] = {STARTED_WORLD, FIRST_TASK, 2, 0, 0,
                                     3, 0, 0, 0, 0,          /* scheduled: "1", ComposeGreeting */
                                     4, 0, 0,                /* started */
                                     5, 0, 0, 0, 1, 0, 0,    /* completed: the last scheduled */
                                     FIRST_TASK};
    /* The same, but the completion carries ActivityTaskScheduled's attributes. */
    static const uint8_t mismatch[] = {STARTED_WORLD, FIRST_TASK, 2, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0,
                                       0xa5, 0, 3, 0, 0, 0, FIRST_TASK};
    static const uint8_t timer[] = {0, 0, 0, 0, 1, 0, FIRST_TASK, 2, 0, 0,
                                    6, 0, 0, 0, 7, 0, 0, 0, /* timer "1" started, fired */
                                    FIRST_TASK};
    static const uint8_t reset[] = {0, 0, 0, 0, 1, 0, FIRST_TASK,
                                    11, 0, 0, 1, 2, /* failed: reset to "run-B" */
                                    FIRST_TASK};
#undef STARTED_WORLD
#undef FIRST_TASK
    write_seed(dir, "script-mismatch", head_for(2, "Greet"), mismatch, sizeof(mismatch));
    write_seed(dir, "script-greet-task1", head_for(2, "Greet"), greet1, sizeof(greet1));
    write_seed(dir, "script-greet-task2", head_for(2, "Greet"), greet2, sizeof(greet2));
    write_seed(dir, "script-timer", head_for(2, "DrawAcrossTimer"), timer, sizeof(timer));
    write_seed(dir, "script-reset", head_for(2, "Draw"), reset, sizeof(reset));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("AWS_LAMBDA_LOG_LEVEL", "FATAL", 1); /* replayed code logs nothing anyway */
    log_init();
    load_libraries();
    verbose = getenv("TW_FUZZ_VERBOSE") != NULL;
    const char *seeds = getenv("TW_FUZZ_WRITE_SEEDS");
    if (seeds && *seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}
