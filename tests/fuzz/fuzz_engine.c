/*
 * fuzz_engine: the workflow engine (temporal/engine/) on workflow tasks a server could send:
 * every input becomes protobuf-valid messages (what protobuf-c's unpack gives), run through
 * wf_run with real workflow libraries (the examples and test fixtures, loaded with reg_load
 * as the runtime does: coroutines, signals, cancellation, failures, queries and updates among
 * them), the way the worker's workflow poller runs a task (temporal/worker/wft.c).
 *
 * The first byte chooses how the rest is read (its low two bits, fuzz_engine.h's modes) and
 * which workflow runs (the other bits, when the input does not name a registered one):
 *   MODE_POLL     a PollWorkflowTaskQueueResponse (the worker's view: its history, workflow
 *                 type and execution, update requests in its messages, queries; a legacy
 *                 query task when it has a query)
 *   MODE_HISTORY  a History
 *   otherwise     a script (engine_script.c): the bytes choose event types, ids, attributes
 *                 and times
 * An input that does not unpack as the message its mode names is read as a script too.
 * Messages are unpacked with malloc, not into the worker's arena, so that AddressSanitizer
 * sees any read past one (a wrong union member, say).
 *
 * What must hold: wf_run returns 0 and never crashes; a failed task has a message; a
 * completed task's commands, protocol messages and query results pack (they go on the wire as
 * they are), one query result per query; a legacy query task makes no commands.
 *
 * The libraries are found in the build folder this executable sits in ($(BUILD)/fuzz/ or
 * $(BUILD)/tests/), else under $BUILD. With TW_FUZZ_WRITE_SEEDS=<dir> it writes the seed
 * corpus (engine_seeds.c) into <dir> and exits.
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
#include "fuzz_engine.h"
#include "registry/reg.h"
#include "runtime/log.h"
#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"

/* ---- the workflows ---- */

/* New libraries go at the end: a seed's first byte is a workflow's index in load order. */
static const char *const LIBRARIES[] = {
    "examples/libhello.so", "examples/libtimers.so", "examples/libretry.so",
    "fixtures/lib_wf_semantics.so", "fixtures/lib_changing_v1.so", "fixtures/lib_wf_talk.so",
    "fixtures/lib_wf_handlers.so", "fixtures/lib_wf_child.so",
};
#define NLIBS (sizeof(LIBRARIES) / sizeof(LIBRARIES[0]))
#define MAX_WORKFLOWS 64 /* what the first byte's six high bits can name */

typedef struct known_wf {
    tw_registry *reg;
    const char *name;
} known_wf;

static tw_registry *regs[NLIBS];
static known_wf wfs[MAX_WORKFLOWS];
static size_t nwfs;
static int verbose;

void engine_die(const char *what)
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
        engine_die("cannot find the workflow libraries: build them, or set BUILD");
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
        for (char *tok = strtok(names[i], ", "); tok && nwfs < MAX_WORKFLOWS; tok = strtok(NULL, ", "))
            wfs[nwfs++] = (known_wf){regs[i], tok};
    }
    if (!nwfs)
        engine_die("no workflows registered");
}

static const known_wf *find_wf(const char *name)
{
    for (size_t i = 0; name && i < nwfs; i++)
        if (strcmp(wfs[i].name, name) == 0)
            return &wfs[i];
    return NULL;
}

/* ---- running a task ---- */

/* Packs |m| and unpacks it again as what it is: what the worker sends must be valid. */
static void check_packs(const ProtobufCMessage *m, const char *what)
{
    if (!m)
        engine_die(what);
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf || protobuf_c_message_pack(m, buf) != len)
        engine_die(what);
    ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    if (!back)
        engine_die(what);
    protobuf_c_message_free_unpacked(back, NULL);
    free(buf);
}

static void show(const wf_input *in, const wf_output *out)
{
    for (size_t i = 0; i < in->nevents; i++)
        fprintf(stderr, "  event %lld type %d attributes %d\n", (long long)in->events[i]->event_id,
                (int)in->events[i]->event_type, (int)in->events[i]->attributes_case);
    fprintf(stderr, "%s, %zu events: %s%s%zu commands, first type %d, %zu messages, "
            "%zu query results\n", in->workflow_type, in->nevents,
            out->task_failed ? "task failed: " : "", out->task_failed ? out->message : "",
            out->ncommands, out->ncommands ? (int)out->commands[0]->command_type : 0,
            out->nmessages, out->nquery_results);
}

/* What the worker's poller does with a task (wft.c run_workflow_task, run_query_task), minus
 * the network: |in| names the workflow by |w|'s registry. */
static void run_task(const known_wf *w, const wf_input *in)
{
    arena *a = arena_new(64 * 1024 * 1024);
    if (!a)
        engine_die("out of memory");
    wf_output out;
    if (wf_run(w->reg, a, in, &out) != 0)
        engine_die("wf_run returned non-zero");
    if (verbose) /* TW_FUZZ_VERBOSE: what each input did, to check seeds by hand */
        show(in, &out);
    if (out.task_failed) {
        if (!out.message || !*out.message)
            engine_die("a failed task without a message");
    } else {
        if (in->query_only && (out.ncommands || out.nmessages))
            engine_die("a legacy query task made commands or messages");
        if (out.nquery_results != in->nqueries)
            engine_die("not one query result per query");
        for (size_t i = 0; i < out.ncommands; i++)
            check_packs(out.commands[i] ? &out.commands[i]->base : NULL, "a command does not pack");
        for (size_t i = 0; i < out.nmessages; i++)
            check_packs(out.messages[i] ? &out.messages[i]->base : NULL, "a message does not pack");
        for (size_t i = 0; i < out.nquery_results; i++)
            check_packs(out.query_results[i] ? &out.query_results[i]->base : NULL,
                        "a query result does not pack");
    }
    arena_free(a);
}

static void run_history(const known_wf *w, pb_history *h)
{
    wf_input in = {.workflow_type = w->name, .workflow_id = "fuzz", .run_id = "run",
                   .task_queue = "fuzz-tq", .events = h->events, .nevents = h->n_events};
    run_task(w, &in);
}

/* A poll response as the poller runs it: its queries (a map on the wire) in order, or its
 * legacy query alone. Returns -1 when it would drop the task (no execution). */
static int run_poll(const known_wf *chosen, WFS(PollWorkflowTaskQueueResponse) *t)
{
    if (!t->workflow_execution)
        return -1;
    const char *type = t->workflow_type ? t->workflow_type->name : "";
    const known_wf *w = find_wf(type);
    pb_query *legacy = t->query, **queries = NULL;
    wf_input in = {.workflow_type = w ? type : chosen->name, .workflow_id = "fuzz",
                   .run_id = t->workflow_execution->run_id, .task_queue = "fuzz-tq",
                   .events = t->history ? t->history->events : NULL,
                   .nevents = t->history ? t->history->n_events : 0};
    if (legacy) {
        in.queries = &legacy;
        in.nqueries = 1;
        in.query_only = 1;
    } else {
        in.messages = t->messages;
        in.nmessages = t->n_messages;
        if (t->n_queries && !(queries = malloc(t->n_queries * sizeof(*queries))))
            engine_die("out of memory");
        for (size_t i = 0; i < t->n_queries; i++)
            queries[i] = t->queries[i]->value;
        in.queries = queries;
        in.nqueries = t->n_queries;
    }
    run_task(w ? w : chosen, &in);
    free(queries);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] & 3;
    const known_wf *chosen = &wfs[(data[0] >> 2) % nwfs];
    src s = {data + 1, size - 1};
    if (mode == MODE_POLL) {
        ProtobufCMessage *m = protobuf_c_message_unpack(
            &WFS_DESC(poll_workflow_task_queue_response), NULL, s.n, s.p);
        if (m) {
            run_poll(chosen, (void *)m);
            protobuf_c_message_free_unpacked(m, NULL);
            return 0;
        }
    } else if (mode == MODE_HISTORY) {
        pb_history *h = temporal__api__history__v1__history__unpack(NULL, s.n, s.p);
        if (h) {
            run_history(chosen, h);
            temporal__api__history__v1__history__free_unpacked(h, NULL);
            return 0;
        }
    }
    pb_history *h = script_history(&s);
    run_history(chosen, h);
    temporal__api__history__v1__history__free_unpacked(h, NULL);
    return 0;
}

uint8_t engine_head(int mode, const char *workflow)
{
    for (size_t i = 0; i < nwfs; i++)
        if (strcmp(wfs[i].name, workflow) == 0)
            return (uint8_t)(i << 2 | (size_t)mode);
    engine_die("seed for an unknown workflow");
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("AWS_LAMBDA_LOG_LEVEL", "FATAL", 1); /* replayed code logs nothing anyway */
    log_init();
    load_libraries();
    verbose = getenv("TW_FUZZ_VERBOSE") != NULL;
    const char *seeds = getenv("TW_FUZZ_WRITE_SEEDS");
    if (seeds && *seeds) {
        engine_write_seeds(seeds);
        exit(0);
    }
    return 0;
}
