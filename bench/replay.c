/*
 * replay: the workflow engine's speed on recorded histories, alone (no server, no network, one
 * thread). Each history is a workflow library, a recorded temporal.api.history.v1.History and
 * the workflow type; every workflow task the history completed is run:
 *
 *   full   from the first event, as without the workflow cache (wf_run per task): the events
 *          processed are the sum of the tasks' history lengths, so a workflow's cost grows with
 *          the square of its length
 *   kept   on one run kept between its tasks (wf_exec, the sticky cache): each task processes
 *          only the events after the last task's
 *   last   the last task alone, on the whole history: a full replay against a kept run given
 *          only the last task's events (the run fed the earlier tasks untimed)
 *
 * each on events already decoded (the engine alone) and on the poll response's bytes
 * (protobuf-c's unpack into the task's arena, then the engine: what the worker does with a
 * PollWorkflowTaskQueueResponse, the gRPC framing aside). Times are the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), best of the repetitions; a repetition repeats short histories
 * until it has processed about TARGET_EVENTS events.
 *
 * Before anything is timed every task's answer is checked: the kept run's commands are the full
 * replay's, byte for byte, and they are the commands the history recorded after the task's
 * WorkflowTaskCompleted. A difference ends the program with status 1.
 *
 * Usage: replay [--check] [--reps N] [--out FILE] [--only MEASURE] [--history FILE LIBRARY
 * TYPE]... --check: the checks and one repetition of each measure, nothing written (make test
 * runs it so the benchmark cannot rot). Otherwise prints a table and writes it to FILE
 * ($BUILD/bench/replay.md by default). --only (full, full-decode, kept, kept-decode or last)
 * runs that measure alone, without the checks, for a profiler. --history (repeatable) replaces the built-in
 * histories.
 * Libraries are read from $BUILD (default "build"), histories from the working directory (run
 * from the tree's top).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/reg.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/cmd.h"
#include "temporal/engine/proto.h"
#include "temporal/engine/wf.h"
#include "temporal/worker/api.h"

#define TASK_ARENA (256u << 20)
#define RUN_ARENA (256u << 20)
#define TARGET_EVENTS 400000.0 /* per repetition: short histories are run several times */
#define LAST_RUNS 20           /* the last task's measure: this many runs per repetition */

typedef WFS(PollWorkflowTaskQueueResponse) poll_response;

typedef struct bench_history {
    const char *name;
    const char *file;    /* under the working directory */
    const char *library; /* under $BUILD */
    const char *type;
    const char *shape;   /* what it has, for the table */
} bench_history;

static const bench_history HISTORIES[] = {
    {"hello", "tests/data/hello.history", "examples/libhello.so", "Greet", "1 activity"},
    {"fanout", "tests/data/fanout.history", "examples/libtimers.so", "FanOut",
     "activities and timers"},
    {"steps-500", "bench/data/steps-500.history", "bench/libsteps.so", "Steps",
     "500 sequential activities, a timer"},
    {"talk-count", "tests/data/talk-count.history", "fixtures/lib_wf_talk.so", "Count",
     "600 signals"},
    {"talk-interleave", "tests/data/talk-interleave.history", "fixtures/lib_wf_talk.so",
     "Interleave", "signals among activities"},
};
#define NHISTORIES (sizeof(HISTORIES) / sizeof(HISTORIES[0]))
#define MAX_HISTORIES 32

/* One loaded history and its tasks. */
typedef struct loaded {
    const bench_history *def;
    tw_registry *reg;
    pb_history *h;
    size_t *ends;        /* each task's history ends before events[ends[i]] */
    size_t ntasks;
    size_t full_events;  /* the events a full replay of every task processes */
    size_t kept_events;  /* the events a kept run of every task processes */
    uint8_t **full_wire; /* each task's poll response, whole history (packed); NULL until
                          * pack_tasks() */
    size_t *full_len;
    uint8_t **kept_wire; /* each task's poll response, only its new events */
    size_t *kept_len;
} loaded;

/* A measure: the best repetition's CPU seconds for |events| events, |tasks| tasks. */
typedef struct measure {
    double best;
    double events, tasks;
} measure;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "replay: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = xmalloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            uint8_t *bigger = realloc(buf, cap);
            if (!bigger)
                die("out of memory");
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* ---- histories and their tasks ---- */

static wf_input input_for(const loaded *l, pb_event *const *events, size_t n)
{
    return (wf_input){.workflow_type = l->def->type, .workflow_id = "bench", .run_id = "run",
                      .task_queue = "bench", .events = events, .nevents = n};
}

/* The poll response of the task that ends before events[end], carrying events[from..end). */
static uint8_t *pack_task(const loaded *l, size_t from, size_t end, size_t *len)
{
    pb_history hist;
    PB_INIT(temporal__api__history__v1__history__descriptor, &hist);
    hist.events = l->h->events + from;
    hist.n_events = end - from;
    Temporal__Api__Common__V1__WorkflowExecution ex;
    PB_INIT(temporal__api__common__v1__workflow_execution__descriptor, &ex);
    ex.workflow_id = "bench";
    ex.run_id = "run";
    Temporal__Api__Common__V1__WorkflowType wt;
    PB_INIT(temporal__api__common__v1__workflow_type__descriptor, &wt);
    wt.name = (char *)l->def->type;
    poll_response r;
    PB_INIT(WFS_DESC(poll_workflow_task_queue_response), &r);
    static uint8_t token[64]; /* a task token is about this long */
    r.task_token = (ProtobufCBinaryData){sizeof(token), token};
    r.workflow_execution = &ex;
    r.workflow_type = &wt;
    r.started_event_id = l->h->events[end - 1]->event_id;
    r.attempt = 1;
    r.history = &hist;
    *len = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = xmalloc(*len);
    protobuf_c_message_pack(&r.base, buf);
    return buf;
}

static void load(loaded *l, const bench_history *def)
{
    memset(l, 0, sizeof(*l));
    l->def = def;
    char lib[4096], path[4096], err[512];
    snprintf(path, sizeof(path), "%s/%s", build_dir(), def->library);
    if (!realpath(path, lib))
        die("%s: %s (build it first)", path, strerror(errno));
    if (reg_load(&l->reg, lib, NULL, api_table(), err, sizeof(err)) != 0)
        die("%s: %s", lib, err);
    size_t len;
    uint8_t *raw = read_file(def->file, &len);
    l->h = temporal__api__history__v1__history__unpack(NULL, len, raw);
    free(raw);
    if (!l->h || !l->h->n_events)
        die("%s: not a history", def->file);
    /* The tasks: each WorkflowTaskStarted the history completed. */
    pb_event **ev = l->h->events;
    size_t n = l->h->n_events;
    l->ends = xmalloc(n * sizeof(*l->ends));
    for (size_t i = 0; i + 1 < n; i++)
        if (ev[i]->event_type == EV(WORKFLOW_TASK_STARTED) &&
            ev[i + 1]->event_type == EV(WORKFLOW_TASK_COMPLETED))
            l->ends[l->ntasks++] = i + 1;
    if (!l->ntasks)
        die("%s: no completed workflow task", def->file);
    for (size_t t = 0; t < l->ntasks; t++) {
        l->full_events += l->ends[t];
        l->kept_events += l->ends[t] - (t ? l->ends[t - 1] : 0);
    }
}

/* The tasks' poll responses, packed once, before the first measure that decodes them. */
static void pack_tasks(loaded *l)
{
    if (l->full_wire)
        return;
    l->full_wire = xmalloc(l->ntasks * sizeof(*l->full_wire));
    l->full_len = xmalloc(l->ntasks * sizeof(*l->full_len));
    l->kept_wire = xmalloc(l->ntasks * sizeof(*l->kept_wire));
    l->kept_len = xmalloc(l->ntasks * sizeof(*l->kept_len));
    for (size_t t = 0; t < l->ntasks; t++) {
        size_t from = t ? l->ends[t - 1] : 0;
        l->full_wire[t] = pack_task(l, 0, l->ends[t], &l->full_len[t]);
        l->kept_wire[t] = pack_task(l, from, l->ends[t], &l->kept_len[t]);
    }
}

static void unload(loaded *l)
{
    for (size_t t = 0; l->full_wire && t < l->ntasks; t++) {
        free(l->full_wire[t]);
        free(l->kept_wire[t]);
    }
    free(l->full_wire);
    free(l->full_len);
    free(l->kept_wire);
    free(l->kept_len);
    free(l->ends);
    temporal__api__history__v1__history__free_unpacked(l->h, NULL);
    reg_free(l->reg);
}

/* ---- the checks ---- */

static int same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    if (na != nb)
        return 0;
    uint8_t *pa = xmalloc(na), *pb = xmalloc(nb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    int same = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/* Task |t|'s answers: the full replay's |full| and the kept run's |kept| are the same, and
 * they are what the history recorded after the task. */
static void check_task(const loaded *l, size_t t, const wf_output *full, const wf_output *kept)
{
    const char *name = l->def->name;
    if (full->task_failed)
        die("%s, task %zu: the full replay failed: %s", name, t + 1, full->message);
    if (kept->task_failed)
        die("%s, task %zu: the kept run failed: %s", name, t + 1, kept->message);
    if (full->ncommands != kept->ncommands)
        die("%s, task %zu: %zu commands on a full replay, %zu on the kept run", name, t + 1,
            full->ncommands, kept->ncommands);
    for (size_t i = 0; i < full->ncommands; i++)
        if (!same_bytes(&full->commands[i]->base, &kept->commands[i]->base))
            die("%s, task %zu: command %zu differs on the kept run", name, t + 1, i + 1);
    /* After the task's WorkflowTaskCompleted, one event per command, in order. */
    pb_event **ev = l->h->events;
    size_t j = l->ends[t] + 1, i = 0;
    for (; j < l->h->n_events && cmd_recorded_by(ev[j]->event_type); j++, i++) {
        const cmd_kind *k = cmd_recorded_by(ev[j]->event_type);
        const pb_command *c = i < full->ncommands ? full->commands[i] : NULL;
        if (!c || (int)c->command_type != k->type || !k->same(c, ev[j])) {
            char want[256], have[256];
            k->describe_event(ev[j], want, sizeof(want));
            cmd_describe(c, have, sizeof(have));
            die("%s, task %zu: the history recorded %s at event %lld, the replay made %s", name,
                t + 1, want, (long long)ev[j]->event_id, have);
        }
    }
    if (i != full->ncommands)
        die("%s, task %zu: %zu commands made, %zu recorded", name, t + 1, full->ncommands, i);
}

static void check(const loaded *l)
{
    wf_exec *x = NULL;
    for (size_t t = 0; t < l->ntasks; t++) {
        size_t from = t ? l->ends[t - 1] : 0;
        wf_input in = input_for(l, l->h->events, l->ends[t]);
        arena *a = arena_new(TASK_ARENA), *ta = arena_new(TASK_ARENA);
        if (!a || !ta)
            die("out of memory");
        wf_output full, kept;
        wf_run(l->reg, a, &in, &full);
        if (!x && !(x = wf_exec_new(l->reg, &in, RUN_ARENA)))
            die("out of memory");
        if (wf_exec_next_event(x) != (int64_t)from + 1)
            die("%s, task %zu: the kept run expects event %lld", l->def->name, t + 1,
                (long long)wf_exec_next_event(x));
        wf_input rest = input_for(l, l->h->events + from, l->ends[t] - from);
        wf_exec_task(x, ta, &rest, &kept);
        check_task(l, t, &full, &kept);
        arena_free(a);
        arena_free(ta);
        if (t + 1 < l->ntasks && !wf_exec_continues(x, l->h->events[l->ends[t]]))
            die("%s, task %zu: the next task does not continue the kept run", l->def->name,
                t + 1);
    }
    wf_exec_free(x);
}

/* ---- the measures ---- */

/* One task from the first event: the engine on decoded events, or (|wire|) the unpack of the
 * poll response and the engine. */
static void full_task(const loaded *l, size_t t, int wire)
{
    arena *a = arena_new(TASK_ARENA);
    if (!a)
        die("out of memory");
    wf_input in;
    if (wire) {
        poll_response *r = (poll_response *)protobuf_c_message_unpack(
            &WFS_DESC(poll_workflow_task_queue_response), arena_allocator(a), l->full_len[t],
            l->full_wire[t]);
        if (!r || !r->history)
            die("unpack failed");
        in = input_for(l, r->history->events, r->history->n_events);
    } else {
        in = input_for(l, l->h->events, l->ends[t]);
    }
    wf_output out;
    wf_run(l->reg, a, &in, &out);
    if (out.task_failed)
        die("%s: task %zu failed: %s", l->def->name, t + 1, out.message);
    arena_free(a);
}

/* Task |t| on kept run |x|, as full_task. */
static void kept_task(const loaded *l, wf_exec *x, size_t t, int wire)
{
    arena *a = arena_new(TASK_ARENA);
    if (!a)
        die("out of memory");
    size_t from = t ? l->ends[t - 1] : 0;
    wf_input in;
    if (wire) {
        poll_response *r = (poll_response *)protobuf_c_message_unpack(
            &WFS_DESC(poll_workflow_task_queue_response), arena_allocator(a), l->kept_len[t],
            l->kept_wire[t]);
        if (!r || !r->history)
            die("unpack failed");
        in = input_for(l, r->history->events, r->history->n_events);
    } else {
        in = input_for(l, l->h->events + from, l->ends[t] - from);
    }
    wf_output out;
    wf_exec_task(x, a, &in, &out);
    if (out.task_failed)
        die("%s: task %zu failed on the kept run: %s", l->def->name, t + 1, out.message);
    arena_free(a);
}

static wf_exec *new_run(const loaded *l)
{
    wf_input in = input_for(l, l->h->events, l->ends[0]);
    wf_exec *x = wf_exec_new(l->reg, &in, RUN_ARENA);
    if (!x)
        die("out of memory");
    return x;
}

static int loops_for(double events, int check_only)
{
    if (check_only)
        return 1;
    double k = TARGET_EVENTS / events;
    return k < 1 ? 1 : (int)k;
}

/* --only: the one measure to run; NULL: all. */
static const char *only;

static int skipped(const char *name) { return only && strcmp(only, name) != 0; }

static measure measure_full(loaded *l, int wire, int reps, int check_only)
{
    if (skipped(wire ? "full-decode" : "full"))
        return (measure){0};
    if (wire)
        pack_tasks(l);
    int loops = loops_for((double)l->full_events, check_only);
    measure m = {.best = 1e30, .events = (double)l->full_events * loops,
                 .tasks = (double)l->ntasks * loops};
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int k = 0; k < loops; k++)
            for (size_t t = 0; t < l->ntasks; t++)
                full_task(l, t, wire);
        double dt = cpu_now() - t0;
        if (dt < m.best)
            m.best = dt;
    }
    return m;
}

static measure measure_kept(loaded *l, int wire, int reps, int check_only)
{
    if (skipped(wire ? "kept-decode" : "kept"))
        return (measure){0};
    if (wire)
        pack_tasks(l);
    int loops = loops_for((double)l->kept_events, check_only);
    measure m = {.best = 1e30, .events = (double)l->kept_events * loops,
                 .tasks = (double)l->ntasks * loops};
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int k = 0; k < loops; k++) {
            wf_exec *x = new_run(l);
            for (size_t t = 0; t < l->ntasks; t++)
                kept_task(l, x, t, wire);
            wf_exec_free(x);
        }
        double dt = cpu_now() - t0;
        if (dt < m.best)
            m.best = dt;
    }
    return m;
}

/* The last task: |kept| 0, a full replay; 1, a kept run fed the earlier tasks (untimed). */
static measure measure_last(loaded *l, int kept, int wire, int reps, int check_only)
{
    if (skipped("last"))
        return (measure){0};
    if (wire)
        pack_tasks(l);
    size_t last = l->ntasks - 1, from = last ? l->ends[last - 1] : 0;
    int runs = check_only ? 1 : LAST_RUNS;
    measure m = {.best = 1e30, .events = (double)(kept ? l->ends[last] - from : l->ends[last]) * runs,
                 .tasks = runs};
    for (int r = 0; r < reps; r++) {
        double dt = 0;
        for (int k = 0; k < runs; k++) {
            wf_exec *x = NULL;
            if (kept) {
                x = new_run(l);
                for (size_t t = 0; t < last; t++)
                    kept_task(l, x, t, 0);
            }
            double t0 = cpu_now();
            if (kept)
                kept_task(l, x, last, wire);
            else
                full_task(l, last, wire);
            dt += cpu_now() - t0;
            wf_exec_free(x);
        }
        if (dt < m.best)
            m.best = dt;
    }
    return m;
}

/* ---- the table ---- */

static double mev_s(measure m) { return m.tasks ? m.events / m.best / 1e6 : 0; }
static double us_per_task(measure m) { return m.tasks ? m.best / m.tasks * 1e6 : 0; }

typedef struct row {
    const loaded *l;
    measure full, full_wire, kept, kept_wire, last_full, last_full_wire, last_kept, last_kept_wire;
} row;

static void cpu_name(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                snprintf(out, n, "%s", colon + 2);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    fclose(f);
}

static void print_table(FILE *f, const row *rows, size_t n, int reps)
{
    char cpu[256];
    cpu_name(cpu, sizeof(cpu));
    fprintf(f, "# Replay speed of the engine (bench/replay.c)\n\n");
    fprintf(f, "One thread's CPU time, best of %d repetitions, on %s. Events/s in millions "
               "(M); \"+decode\" includes protobuf-c's unpack of the poll response into the "
               "task's arena.\n\n", reps, cpu);
    fprintf(f, "| history | events | tasks | full replay per task: events | M events/s | "
               "+decode | kept run: M events/s | +decode | last task, full replay | +decode | "
               "last task, kept run | +decode |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        fprintf(f, "| %s (%s) | %zu | %zu | %zu | %.2f | %.2f | %.2f | %.2f | %.0f us | %.0f us "
                   "| %.1f us | %.1f us |\n",
                r->l->def->name, r->l->def->shape, r->l->h->n_events, r->l->ntasks,
                r->l->full_events, mev_s(r->full), mev_s(r->full_wire), mev_s(r->kept),
                mev_s(r->kept_wire), us_per_task(r->last_full), us_per_task(r->last_full_wire),
                us_per_task(r->last_kept), us_per_task(r->last_kept_wire));
    }
    fprintf(f, "\nfull replay per task: every task replayed from the first event (no cache); "
               "its events are the sum of the tasks' history lengths. kept run: one run kept "
               "between tasks (the sticky cache), each task given only its new events. last "
               "task: the workflow's last task alone, on the whole history.\n");
}

int main(int argc, char **argv)
{
    int check_only = 0, reps = 5;
    char out_path[4096];
    bench_history given[MAX_HISTORIES];
    size_t ngiven = 0;
    snprintf(out_path, sizeof(out_path), "%s/bench/replay.md", build_dir());
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check_only = 1;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            snprintf(out_path, sizeof(out_path), "%s", argv[++i]);
        else if (strcmp(argv[i], "--history") == 0 && i + 3 < argc && ngiven < MAX_HISTORIES) {
            given[ngiven++] = (bench_history){.name = argv[i + 1], .file = argv[i + 1],
                                              .library = argv[i + 2], .type = argv[i + 3],
                                              .shape = "given"};
            i += 3;
        } else {
            die("usage: replay [--check] [--reps N] [--out FILE] [--only MEASURE] "
                "[--history FILE LIBRARY TYPE]...");
        }
    }
    if (check_only || reps < 1)
        reps = 1;
    const bench_history *defs = ngiven ? given : HISTORIES;
    size_t n = ngiven ? ngiven : NHISTORIES;
    loaded ls[MAX_HISTORIES];
    row rows[MAX_HISTORIES];
    for (size_t i = 0; i < n; i++) {
        load(&ls[i], &defs[i]);
        if (!only)
            check(&ls[i]);
        loaded *l = &ls[i];
        rows[i] = (row){.l = l,
                        .full = measure_full(l, 0, reps, check_only),
                        .full_wire = measure_full(l, 1, reps, check_only),
                        .kept = measure_kept(l, 0, reps, check_only),
                        .kept_wire = measure_kept(l, 1, reps, check_only),
                        .last_full = measure_last(l, 0, 0, reps, check_only),
                        .last_full_wire = measure_last(l, 0, 1, reps, check_only),
                        .last_kept = measure_last(l, 1, 0, reps, check_only),
                        .last_kept_wire = measure_last(l, 1, 1, reps, check_only)};
        fprintf(stderr, "replay: %s checked (%zu tasks) and measured\n", l->def->name, l->ntasks);
    }
    print_table(stdout, rows, n, reps);
    if (!check_only) {
        FILE *f = fopen(out_path, "w");
        if (!f)
            die("%s: %s", out_path, strerror(errno));
        print_table(f, rows, n, reps);
        fclose(f);
        fprintf(stderr, "replay: wrote %s\n", out_path);
    }
    for (size_t i = 0; i < n; i++)
        unload(&ls[i]);
    return 0;
}
