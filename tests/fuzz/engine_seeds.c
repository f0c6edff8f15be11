/*
 * engine_seeds: fuzz_engine's seed corpus (see fuzz_engine.h), written by
 * `TW_FUZZ_WRITE_SEEDS=<dir> build/tests/replay_engine` into <dir> (tests/fuzz/corpus/engine/).
 *
 * Two sorts: the histories recorded from the real server (tests/data/NAME.history), each as a
 * History and as the poll responses the worker got, cut at each workflow task (with the
 * update requests that task carried, rebuilt from the UpdateAccepted events that follow it,
 * and a query or two); and scripts (engine_script.c) written event by event the way the
 * server records what the code does, one per shape the engine must handle: signals, a
 * workflow cancel, timer and activity cancellation, external signals and cancels with both
 * outcomes, failures with cause chains, updates replayed from their events. Each script
 * replays to its end (check with TW_FUZZ_VERBOSE=1 on the seed: no "task failed").
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_engine.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/wf.h"

#define HA(name) Temporal__Api__History__V1__##name##EventAttributes

static void write_seed(const char *dir, const char *name, uint8_t head, const uint8_t *body,
                       size_t len)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&head, 1, 1, f) != 1 || (len && fwrite(body, 1, len, f) != len))
        engine_die("cannot write a seed");
    fclose(f);
}

/* ---- recorded histories as poll responses ---- */

typedef struct poll_seed {
    const char *workflow;
    pb_history *h;
    size_t cut;        /* the events the task sees: up to its WorkflowTaskStarted */
    const char *query; /* NULL, or a query type to ask in the task (queries map) */
    int legacy;        /* the query as a legacy query task instead */
} poll_seed;

/* The update requests the task started at |started| carried: the requests of the
 * UpdateAccepted events that its completion recorded. Returns how many (at most |max|). */
static size_t task_requests(const pb_history *h, size_t started, Google__Protobuf__Any *any,
                            pb_message *msg, size_t max)
{
    size_t n = 0, i = started + 1;
    while (i < h->n_events && h->events[i]->event_type != EV(WORKFLOW_TASK_COMPLETED))
        i++;
    for (i++; i < h->n_events && n < max; i++) {
        const pb_event *e = h->events[i];
        if (e->event_type == EV(WORKFLOW_TASK_SCHEDULED))
            break;
        if (e->event_type != EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED) ||
            e->attributes_case == 0)
            continue;
        const HA(WorkflowExecutionUpdateAccepted) *at =
            e->workflow_execution_update_accepted_event_attributes;
        if (!at->accepted_request)
            continue;
        size_t len = protobuf_c_message_get_packed_size(&at->accepted_request->base);
        google__protobuf__any__init(&any[n]);
        any[n].type_url = "type.googleapis.com/temporal.api.update.v1.Request";
        any[n].value.data = malloc(len ? len : 1);
        if (!any[n].value.data)
            engine_die("out of memory");
        any[n].value.len = protobuf_c_message_pack(&at->accepted_request->base,
                                                   any[n].value.data);
        temporal__api__protocol__v1__message__init(&msg[n]);
        msg[n].id = at->accepted_request_message_id;
        msg[n].protocol_instance_id = at->protocol_instance_id;
        msg[n].sequencing_id_case = TEMPORAL__API__PROTOCOL__V1__MESSAGE__SEQUENCING_ID_EVENT_ID;
        msg[n].event_id = at->accepted_request_sequencing_event_id;
        msg[n].body = &any[n];
        n++;
    }
    return n;
}

static void write_poll(const char *dir, const char *name, const poll_seed *p)
{
    WFS(PollWorkflowTaskQueueResponse) t;
    PB_INIT(WFS_DESC(poll_workflow_task_queue_response), &t);
    Temporal__Api__Common__V1__WorkflowType wt;
    temporal__api__common__v1__workflow_type__init(&wt);
    wt.name = (char *)p->workflow;
    pb_execution ex;
    PB_INIT(temporal__api__common__v1__workflow_execution__descriptor, &ex);
    ex.workflow_id = "seed";
    ex.run_id = "run";
    pb_history cut = *p->h;
    cut.n_events = p->cut;
    t.task_token = (ProtobufCBinaryData){4, (uint8_t *)"tokn"};
    t.workflow_execution = &ex;
    t.workflow_type = &wt;
    t.history = &cut;
    t.attempt = 1;
    t.started_event_id = p->h->events[p->cut - 1]->event_id;
    Google__Protobuf__Any any[8];
    pb_message msg[8], *msgs[8];
    t.n_messages = p->legacy ? 0 : task_requests(p->h, p->cut - 1, any, msg, 8);
    for (size_t i = 0; i < t.n_messages; i++)
        msgs[i] = &msg[i];
    t.messages = msgs;
    pb_query q;
    temporal__api__query__v1__workflow_query__init(&q);
    q.query_type = (char *)p->query;
    WFS(PollWorkflowTaskQueueResponse__QueriesEntry) entry, *entries[1] = {&entry};
    PB_INIT(WFS_DESC(poll_workflow_task_queue_response__queries_entry), &entry);
    entry.key = "q1";
    entry.value = &q;
    if (p->query && p->legacy) {
        t.query = &q;
    } else if (p->query) {
        t.queries = entries;
        t.n_queries = 1;
    }
    size_t plen = protobuf_c_message_get_packed_size(&t.base);
    uint8_t *buf = malloc(plen);
    if (!buf)
        engine_die("out of memory");
    protobuf_c_message_pack(&t.base, buf);
    write_seed(dir, name, engine_head(MODE_POLL, p->workflow), buf, plen);
    free(buf);
    for (size_t i = 0; i < t.n_messages; i++)
        free(any[i].value.data);
}

/* A recorded history: as a History, then as poll responses cut at its first tasks (six at
 * most; a query in the last of them), then the whole history as a legacy query task. */
static void write_recorded(const char *dir, const char *file, const char *workflow,
                           const char *query)
{
    char path[256], name[128];
    snprintf(path, sizeof(path), "tests/data/%s.history", file);
    FILE *f = fopen(path, "rb");
    if (!f)
        engine_die("run from the repository root (tests/data)");
    static uint8_t raw[1 << 20];
    size_t len = fread(raw, 1, sizeof(raw), f);
    fclose(f);
    snprintf(name, sizeof(name), "history-%s", file);
    write_seed(dir, name, engine_head(MODE_HISTORY, workflow), raw, len);
    pb_history *h = temporal__api__history__v1__history__unpack(NULL, len, raw);
    if (!h)
        engine_die("a recorded history does not unpack");
    size_t starts[6], n = 0;
    for (size_t i = 0; i < h->n_events && n < 6; i++)
        if (h->events[i]->event_type == EV(WORKFLOW_TASK_STARTED))
            starts[n++] = i;
    for (size_t k = 0; k < n; k++) {
        poll_seed p = {workflow, h, starts[k] + 1, k + 1 == n ? query : NULL, 0};
        snprintf(name, sizeof(name), "poll-%s-task%zu", file, k + 1);
        write_poll(dir, name, &p);
    }
    if (query) {
        poll_seed p = {workflow, h, h->n_events, query, 1};
        snprintf(name, sizeof(name), "poll-%s-legacy-query", file);
        write_poll(dir, name, &p);
    }
    temporal__api__history__v1__history__free_unpacked(h, NULL);
}

/* ---- scripts ---- */

typedef struct script {
    uint8_t b[1024];
    size_t n;
} script;

static void put(script *s, int v)
{
    if (s->n >= sizeof(s->b))
        engine_die("a seed script is too long");
    s->b[s->n++] = (uint8_t)v;
}

static uint8_t json_ix(const char *v) { return script_index(ST_JSON, v); }
static uint8_t id_ix(const char *v) { return script_index(ST_IDS, v); }
static uint8_t name_ix(const char *v) { return script_index(ST_NAMES, v); }
static uint8_t handler_ix(const char *v) { return script_index(ST_HANDLERS, v); }

/* An event of |type|: its op, no time passing, no extra fields. */
static void event(script *s, int type)
{
    put(s, script_kind(type));
    put(s, 0);
    put(s, 0);
}

/* Payloads: none (|a0| NULL), one or two JSON values, json/plain. */
static void payloads(script *s, const char *a0, const char *a1)
{
    put(s, !a0 ? 0 : a1 ? 7 : 1);
    for (const char *v = a0; v; v = v == a0 ? a1 : NULL) {
        put(s, json_ix(v));
        put(s, script_index(ST_ENCODINGS, "json/plain"));
    }
}

static void task(script *s)
{
    event(s, EV(WORKFLOW_TASK_SCHEDULED));
    event(s, EV(WORKFLOW_TASK_STARTED));
}

/* The script's start: WorkflowExecutionStarted with |a0|, |a1| (attempt 1, run "run"), and
 * the first workflow task unless |later|. */
static void start_as(script *s, const char *a0, const char *a1, int later)
{
    put(s, 0); /* present */
    put(s, 0); /* its time */
    put(s, 0); /* no extras */
    payloads(s, a0, a1);
    put(s, 1);
    put(s, script_index(ST_RUN_IDS, "run"));
    if (!later)
        task(s);
}
#define start(s, a0, a1) start_as(s, a0, a1, 0)

static void scheduled(script *s, const char *activity_id, const char *type)
{
    event(s, EV(ACTIVITY_TASK_SCHEDULED));
    put(s, id_ix(activity_id));
    put(s, name_ix(type));
}

/* An event of |type| whose reference is the last activity or external command, then a
 * byte |b| when |b| >= 0. */
static void resolves(script *s, int type, int b)
{
    event(s, type);
    put(s, 0);
    if (b >= 0)
        put(s, b);
}

static void timer(script *s, int type, const char *timer_id)
{
    event(s, type);
    put(s, id_ix(timer_id));
}

static void signaled(script *s, const char *signal, const char *input)
{
    event(s, EV(WORKFLOW_EXECUTION_SIGNALED));
    put(s, handler_ix(signal));
    payloads(s, input, NULL);
}

/* A failure chain of |links| Application failures (types from NAMES: the n-th is |types|[n % 3],
 * non-retryable, no details), after the event that carries it. */
static void app_chain(script *s, int links, const char *const types[3])
{
    put(s, 2 | (links - 1) << 2);
    for (int i = 0; i < links; i++) {
        put(s, 0);                              /* Application */
        put(s, name_ix(types[i % 3]) << 2);        /* message: a NAMES string */
        put(s, name_ix(types[i % 3]));
        put(s, 1);
        payloads(s, NULL, NULL);
    }
}

static void write_script(const char *dir, const char *seed, const char *workflow,
                         const script *s)
{
    char file[128];
    snprintf(file, sizeof(file), "script-%s", seed);
    write_seed(dir, file, engine_head(MODE_SCRIPT, workflow), s->b, s->n);
}

/* The shapes issue 10 brought, as scripts (lib_wf_talk.c and lib_wf_handlers.c say what each
 * workflow does). */
static void write_talk_scripts(const char *dir)
{
    static const char *const types[3] = {"FailWith", "Echo", "x"};
    script s = {.n = 0};

    /* SignalOther("x", "add"): signals "x", which gets it; then fails to, "not found". */
    for (int fail = 0; fail < 2; fail++) {
        s.n = 0;
        start(&s, "\"x\"", "\"add\"");
        event(&s, EV(WORKFLOW_TASK_COMPLETED));
        event(&s, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
        put(&s, name_ix("x"));
        put(&s, handler_ix("add"));
        payloads(&s, NULL, NULL);
        if (fail)
            resolves(&s, EV(SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED), 1);
        else
            resolves(&s, EV(EXTERNAL_WORKFLOW_EXECUTION_SIGNALED), -1);
        task(&s);
        write_script(dir, fail ? "signal-external-failed" : "signal-external", "SignalOther", &s);
    }
    /* CancelOther("x"): the same with a cancel. */
    for (int fail = 0; fail < 2; fail++) {
        s.n = 0;
        start(&s, "\"x\"", NULL);
        event(&s, EV(WORKFLOW_TASK_COMPLETED));
        event(&s, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
        put(&s, name_ix("x"));
        if (fail)
            resolves(&s, EV(REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED), 1);
        else
            resolves(&s, EV(EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED), -1);
        task(&s);
        write_script(dir, fail ? "cancel-external-failed" : "cancel-external", "CancelOther", &s);
    }
    /* FailShape("fail"): FailWith fails with a chain of 3, then of 20 (cut at 16). */
    for (int links = 3; links <= 20; links += 17) {
        s.n = 0;
        start(&s, "\"fail\"", NULL);
        event(&s, EV(WORKFLOW_TASK_COMPLETED));
        scheduled(&s, "1", "FailWith");
        event(&s, EV(ACTIVITY_TASK_STARTED));
        resolves(&s, EV(ACTIVITY_TASK_FAILED), -1);
        app_chain(&s, links, types);
        task(&s);
        write_script(dir, links == 3 ? "failure-chain" : "failure-chain-long", "FailShape", &s);
    }
    /* FailShape("timeout"): Beat times out on its heartbeat, last details "7". */
    s.n = 0;
    start(&s, "\"timeout\"", NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    scheduled(&s, "1", "Beat");
    resolves(&s, EV(ACTIVITY_TASK_TIMED_OUT), 2 | 0 << 2); /* a chain of one: */
    put(&s, 2);                                             /* Timeout */
    put(&s, name_ix("") << 2);
    put(&s, 4);                                             /* HEARTBEAT */
    payloads(&s, "7", NULL);
    task(&s);
    write_script(dir, "failure-timeout", "FailShape", &s);

    /* CancelCompletes: cancelled while it sleeps: CancelTimer, then it completes. */
    s.n = 0;
    start(&s, NULL, NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    timer(&s, EV(TIMER_STARTED), "1");
    event(&s, EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    task(&s);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    timer(&s, EV(TIMER_CANCELED), "1");
    event(&s, EV(WORKFLOW_EXECUTION_COMPLETED));
    write_script(dir, "cancel-requested", "CancelCompletes", &s);

    /* CancelMe(TRY): cancelled while Slow runs; Echo("cleanup") runs after. */
    s.n = 0;
    start(&s, NULL, NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    scheduled(&s, "1", "Slow");
    event(&s, EV(ACTIVITY_TASK_STARTED));
    event(&s, EV(WORKFLOW_EXECUTION_CANCEL_REQUESTED));
    task(&s);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    resolves(&s, EV(ACTIVITY_TASK_CANCEL_REQUESTED), -1);
    scheduled(&s, "2", "Echo");
    resolves(&s, EV(ACTIVITY_TASK_COMPLETED), 1);
    put(&s, json_ix("\"x\""));
    put(&s, script_index(ST_ENCODINGS, "json/plain"));
    task(&s);
    write_script(dir, "cancel-cleanup", "CancelMe", &s);

    /* CancelActivity(WAIT_COMPLETED): the cancel is requested and the activity reports it. */
    s.n = 0;
    start(&s, "1", NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    scheduled(&s, "1", "Slow");
    timer(&s, EV(TIMER_STARTED), "1");
    timer(&s, EV(TIMER_FIRED), "1");
    task(&s);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    resolves(&s, EV(ACTIVITY_TASK_CANCEL_REQUESTED), -1);
    resolves(&s, EV(ACTIVITY_TASK_CANCELED), 0);
    task(&s);
    write_script(dir, "cancel-activity", "CancelActivity", &s);

    /* CancelCoroutine: the coroutine's timer (2) is cancelled when the main one (1) fires. */
    s.n = 0;
    start(&s, NULL, NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    timer(&s, EV(TIMER_STARTED), "1");
    timer(&s, EV(TIMER_STARTED), "2");
    timer(&s, EV(TIMER_FIRED), "1");
    task(&s);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    timer(&s, EV(TIMER_CANCELED), "2");
    event(&s, EV(WORKFLOW_EXECUTION_COMPLETED));
    write_script(dir, "cancel-coroutine", "CancelCoroutine", &s);

    /* SelectCancels: Echo wins, the losing timer is cancelled. */
    s.n = 0;
    start(&s, NULL, NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    scheduled(&s, "1", "Echo");
    timer(&s, EV(TIMER_STARTED), "1");
    resolves(&s, EV(ACTIVITY_TASK_COMPLETED), 1);
    put(&s, json_ix("\"x\""));
    put(&s, script_index(ST_ENCODINGS, "json/plain"));
    task(&s);
    write_script(dir, "select-cancels", "SelectCancels", &s);

    /* Collect: signals before and after the first task, a handler that blocks, "done". */
    s.n = 0;
    start(&s, NULL, NULL);
    signaled(&s, "add", "\"x\"");
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    signaled(&s, "work", "\"add\"");
    signaled(&s, "zzz", "1");
    signaled(&s, "done", NULL);
    task(&s);
    write_script(dir, "signals", "Collect", &s);
}

/* An update request ("1", "add" 2 say) as an event's fields. */
static void request(script *s, const char *update, const char *handler, const char *arg)
{
    put(s, id_ix(update));
    put(s, handler_ix(handler));
    payloads(s, arg, NULL);
}

/* Updates replayed from their events (lib_wf_handlers.c). */
static void write_update_scripts(const char *dir)
{
    script s = {.n = 0};
    /* Hasty: the update "u" admitted with the start runs before the workflow completes. */
    start_as(&s, NULL, NULL, 1);
    event(&s, EV(WORKFLOW_EXECUTION_UPDATE_ADMITTED));
    request(&s, "1", "u", NULL);
    task(&s);
    write_script(dir, "update-admitted", "Hasty", &s);

    /* Account: "add" 2 accepted and completed in the second task, "finish" admitted for the
     * third: accepted, completed, then the workflow completes. */
    s.n = 0;
    start(&s, NULL, NULL);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    task(&s);
    event(&s, EV(WORKFLOW_TASK_COMPLETED));
    event(&s, EV(WORKFLOW_EXECUTION_UPDATE_ACCEPTED));
    put(&s, id_ix("1"));
    put(&s, 5); /* the request's event: 5 */
    put(&s, 1); /* the request: */
    request(&s, "1", "add", "2");
    event(&s, EV(WORKFLOW_EXECUTION_UPDATE_COMPLETED));
    put(&s, id_ix("1"));
    put(&s, 0); /* a success: */
    payloads(&s, "2", NULL);
    event(&s, EV(WORKFLOW_EXECUTION_UPDATE_ADMITTED));
    request(&s, "2", "finish", NULL);
    task(&s);
    write_script(dir, "updates-accepted", "Account", &s);
}

/* The first scripts: Greet's first and second tasks, a mismatch, a timer, a reset point. */
static void write_first_scripts(const char *dir)
{
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
    uint8_t greet = engine_head(MODE_SCRIPT, "Greet");
    write_seed(dir, "script-mismatch", greet, mismatch, sizeof(mismatch));
    write_seed(dir, "script-greet-task1", greet, greet1, sizeof(greet1));
    write_seed(dir, "script-greet-task2", greet, greet2, sizeof(greet2));
    write_seed(dir, "script-timer", engine_head(MODE_SCRIPT, "DrawAcrossTimer"), timer,
               sizeof(timer));
    write_seed(dir, "script-reset", engine_head(MODE_SCRIPT, "Draw"), reset, sizeof(reset));
}

void engine_write_seeds(const char *dir)
{
    static const char *const recorded[][3] = {
        {"hello", "Greet", NULL}, {"fanout", "FanOut", NULL}, {"changing", "Changing", NULL},
        {"talk-gojoin", "GoJoin", "__stack_trace"}, {"talk-condition", "Condition", NULL},
        {"talk-select", "SelectCancels", NULL}, {"talk-cancel-wait", "CancelActivity", NULL},
        {"talk-collect", "Collect", "nope"}, {"talk-interleave", "Interleave", NULL},
        {"talk-cancel", "CancelMe", NULL}, {"talk-receive", "Receive", NULL},
        {"talk-count", "Count", NULL}, {"handlers-hasty", "Hasty", NULL},
        {"handlers-interleave", "Account", "count"},
    };
    for (size_t r = 0; r < sizeof(recorded) / sizeof(recorded[0]); r++)
        write_recorded(dir, recorded[r][0], recorded[r][1], recorded[r][2]);
    write_first_scripts(dir);
    write_talk_scripts(dir);
    write_update_scripts(dir);
}
