/*
 * The chaos run: the real serverless flow (the server's Worker Controller invokes the
 * emulator's function through AWS_ENDPOINT_URL_LAMBDA; bootstrap runs the workflows of
 * tests/fixtures/lib_chaos.c) with N workflows of four activities and a timer each, while
 *   - the network between bootstrap and the server (tests/support/stallproxy.h, RANDOM mode)
 *     resets connections, stalls them for 1-3 s and adds 20-300 ms of latency, and every
 *     10-30 s the server vanishes for 1-3 s (VANISH: connections reset, new ones refused),
 *   - the emulator SIGKILLs the runtime in some invocations (--chaos-kill-rate), an
 *     environment crash,
 *   - the function timeout is 6 s, so invocations end (and fail activities back) mid-way,
 *   - environments are frozen (SIGSTOP) between invocations, as the emulator always does.
 * Then it checks and prints: every workflow completed with the result its input gives (none
 * lost, none wrong); no workflow still open after a settle time; every activity executed, and
 * never twice in the same attempt (re-executions only in a new attempt, i.e. after a failure
 * or a timeout; counted); no REPORT with a Duration at or past the timeout; no sanitizer
 * report in the emulator's output (the runtimes' output goes there too).
 *
 * N is TW_CHAOS_N (default 300, the `make test` run; `make chaos N=2000` for a long one);
 * TW_CHAOS_SEED picks the proxy's and the emulator's draws (default: from the clock; printed).
 * When an invariant breaks, the evidence (emulator and server output, the execution record,
 * histories of the workflows concerned) is kept in /tmp/chaos-evidence/<run>/.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/stallproxy.h"
#include "tests/support/tserver.h"

#define ARN "arn:aws:lambda:us-east-1:000000000000:function:function"
#define TIMEOUT_S 6          /* the function timeout */
#define KILL_RATE "0.08"     /* of invocations whose runtime the emulator kills */
#define STR_(x) #x
#define STR(x) STR_(x)
#define STEPS 4 /* activities per workflow */
#define EVIDENCE_ROOT "/tmp/chaos-evidence"

typedef struct chaos_run {
    int n;
    unsigned seed;
    char prefix[64];      /* workflow ids are <prefix>-<i> */
    char record[128];     /* the activities' execution record (TW_CHAOS_LOG) */
    tserver srv;
    emu_proc emu;
    stallproxy *proxy;
    int64_t started_ms;
    pthread_t outages;      /* the thread that makes the server vanish now and then */
    atomic_int outages_stop;
    int outages_running;    /* joined by the test, or by the teardown after a failed assert */
    int noutages;
} chaos_run;

static chaos_run run;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

/* ---- set-up: proxy, emulator, server ---------------------------------------------------- */

static int group_setup(void **st)
{
    chaos_run *r = &run;
    r->n = env_int("TW_CHAOS_N", 300);
    r->seed = (unsigned)env_int("TW_CHAOS_SEED", (int)(time(NULL) % 100000));
    snprintf(r->prefix, sizeof(r->prefix), "chaos-%d", (int)getpid());
    int port = free_port();
    stallproxy_options po = {.target_port = port, .seed = r->seed, .mode = STALLPROXY_PASS,
                             .reset_weight = 1, .stall_weight = 2, .latency_weight = 4,
                             .pass_weight = 5, .pass_min_ms = 500, .pass_max_ms = 2500,
                             .stall_min_ms = 1000, .stall_max_ms = 3000,
                             .latency_min_ms = 20, .latency_max_ms = 300};
    if (stallproxy_start(&r->proxy, &po) != 0)
        return -1;

    char lib[4096], addr[64], record_env[160], seed[16];
    if (!realpath(harness_built("fixtures/lib_chaos.so"), lib))
        return -1;
    snprintf(r->record, sizeof(r->record), "/tmp/tw-chaos-%d.record", (int)getpid());
    unlink(r->record);
    snprintf(record_env, sizeof(record_env), "TW_CHAOS_LOG=%.127s", r->record);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", stallproxy_port(r->proxy));
    snprintf(seed, sizeof(seed), "%u", r->seed);
    const char *args[] = {"--handler", lib, "--timeout", STR(TIMEOUT_S), "--concurrency", "4",
                          "--chaos-kill-rate", KILL_RATE, "--chaos-seed", seed,
                          "--async-retry-delay", "2",
                          "-e", addr, "-e", "TEMPORAL_TASK_QUEUE=chaos",
                          "-e", "TEMPORAL_DEPLOYMENT_NAME=chaos", "-e", "TEMPORAL_WORKER_BUILD_ID=v1",
                          "-e", "TEMPORAL_WORKER_STOP_TIMEOUT=1s", "-e", "TEMPORAL_SHUTDOWN_BUFFER=2s",
                          "-e", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=8",
                          "-e", "TEMPORAL_ACTIVITY_TASK_POLLERS=2", "-e", record_env, NULL};
    if (emu_start(&r->emu, harness_built("bootstrap"), args) != 0)
        return -1;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", r->emu.port);
    setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint, 1); /* inherited by the server process */
    setenv("AWS_ACCESS_KEY_ID", "local", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "local", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    return tserver_start(&r->srv, port, NULL, NULL);
}

static void stop_outages(chaos_run *r);

static int group_teardown(void **st)
{
    stop_outages(&run);
    tserver_stop(&run.srv, 0, 0);
    int rc = run.emu.pid ? emu_stop(&run.emu) : 0; /* normally stopped by the test */
    stallproxy_stop(run.proxy);
    if (!getenv("TW_KEEP_TMP"))
        unlink(run.record);
    return rc;
}

/* ---- outages -------------------------------------------------------------------------------- */

static void sleep_unless_stopped(chaos_run *r, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&r->outages_stop); slept += 50)
        usleep(50 * 1000);
}

/* Every 10-30 s the server vanishes for 1-3 s, then the network is bad again (RANDOM). */
static void *outages_run(void *arg)
{
    chaos_run *r = arg;
    unsigned rng = r->seed ^ 0x5bd1e995u;
    while (!atomic_load(&r->outages_stop)) {
        sleep_unless_stopped(r, 10000 + (int)(rand_r(&rng) % 20000));
        if (atomic_load(&r->outages_stop))
            break;
        stallproxy_set_mode(r->proxy, STALLPROXY_VANISH);
        r->noutages++;
        sleep_unless_stopped(r, 1000 + (int)(rand_r(&rng) % 2000));
        stallproxy_set_mode(r->proxy, STALLPROXY_RANDOM);
    }
    return NULL;
}

static void stop_outages(chaos_run *r)
{
    if (!r->outages_running)
        return;
    atomic_store(&r->outages_stop, 1);
    pthread_join(r->outages, NULL);
    r->outages_running = 0;
}

/* ---- the activities' execution record ---------------------------------------------------- */

typedef struct execution {
    char wf[64];
    char act[16];
    int attempt;
} execution;

typedef struct exec_stats {
    int executions;
    int activities;        /* distinct (workflow, activity) */
    int reexecutions;      /* executions beyond the first of an activity: new attempts */
    int same_attempt;      /* the same attempt executed again: never */
    int workflows_short;   /* workflows with fewer than STEPS activities executed */
    int workflows_long;    /* ... with more */
    int unknown;           /* lines naming a workflow of no run of ours, or malformed */
    int max_attempt;
} exec_stats;

static int cmp_exec(const void *a, const void *b)
{
    const execution *x = a, *y = b;
    int c = strcmp(x->wf, y->wf);
    if (!c)
        c = strcmp(x->act, y->act);
    return c ? c : x->attempt - y->attempt;
}

static void analyse_record(const chaos_run *r, exec_stats *s, FILE *bad)
{
    memset(s, 0, sizeof(*s));
    size_t len;
    char *text = read_all(r->record, &len);
    size_t cap = 1024, n = 0;
    execution *ex = malloc(cap * sizeof(*ex));
    assert_non_null(ex);
    size_t plen = strlen(r->prefix);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        execution e;
        int pid;
        if (sscanf(line, "%63s %15s %d %d", e.wf, e.act, &e.attempt, &pid) != 4 ||
            strncmp(e.wf, r->prefix, plen) != 0 || e.wf[plen] != '-') {
            s->unknown++;
            fprintf(bad, "malformed or foreign record line: %s\n", line);
            continue;
        }
        if (n == cap) {
            cap *= 2;
            execution *bigger = realloc(ex, cap * sizeof(*ex));
            assert_non_null(bigger);
            ex = bigger;
        }
        ex[n++] = e;
    }
    free(text);
    qsort(ex, n, sizeof(*ex), cmp_exec);
    s->executions = (int)n;
    int per_wf = 0;
    for (size_t i = 0; i < n; i++) {
        int new_wf = i == 0 || strcmp(ex[i].wf, ex[i - 1].wf) != 0;
        int new_act = new_wf || strcmp(ex[i].act, ex[i - 1].act) != 0;
        if (new_wf) {
            if (i > 0 && per_wf != STEPS)
                fprintf(bad, "%s: %d activities executed, want %d\n", ex[i - 1].wf, per_wf, STEPS);
            if (i > 0 && per_wf < STEPS)
                s->workflows_short++;
            if (i > 0 && per_wf > STEPS)
                s->workflows_long++;
            per_wf = 0;
        }
        if (new_act) {
            s->activities++;
            per_wf++;
        } else {
            s->reexecutions++;
            if (ex[i].attempt == ex[i - 1].attempt) {
                s->same_attempt++;
                fprintf(bad, "%s activity %s attempt %d executed more than once\n", ex[i].wf,
                        ex[i].act, ex[i].attempt);
            }
        }
        if (ex[i].attempt > s->max_attempt)
            s->max_attempt = ex[i].attempt;
    }
    if (n > 0 && per_wf != STEPS) {
        fprintf(bad, "%s: %d activities executed, want %d\n", ex[n - 1].wf, per_wf, STEPS);
        if (per_wf < STEPS)
            s->workflows_short++;
        else
            s->workflows_long++;
    }
    free(ex);
}

/* ---- the emulator's REPORT lines ---------------------------------------------------------- */

typedef struct report_stats {
    int invocations;      /* REPORT lines */
    int starts, ends;
    int past_deadline;    /* Duration >= the timeout */
    int timed_out;        /* Status: timeout */
    int errors;           /* Status: error (the killed ones among them) */
    int kills;            /* the emulator's chaos kills */
    int exit_errors;      /* Runtime exited with error */
    int failed_back;      /* activities failed back at the stop, summed */
    double longest_ms;
} report_stats;

static void analyse_reports(const char *out, report_stats *s, FILE *bad)
{
    memset(s, 0, sizeof(*s));
    s->starts = count_substr(out, "START RequestId:");
    s->ends = count_substr(out, "END RequestId:");
    s->kills = count_substr(out, "lambda-emu: chaos: SIGKILL");
    s->exit_errors = count_substr(out, "Error: Runtime exited with error");
    for (const char *p = out; (p = strstr(p, "REPORT RequestId: ")); p++) {
        const char *eol = strchr(p, '\n');
        const char *d = strstr(p, "\tDuration: ");
        s->invocations++;
        if (!d || (eol && d > eol))
            continue;
        double ms = atof(d + strlen("\tDuration: "));
        if (ms > s->longest_ms)
            s->longest_ms = ms;
        const char *st = strstr(p, "Status: ");
        int timed_out = st && (!eol || st < eol) && strncmp(st + 8, "timeout", 7) == 0;
        if (timed_out)
            s->timed_out++;
        else if (st && (!eol || st < eol))
            s->errors++;
        /* The emulator's clock for the deadline is in ms and Duration in us, so a timed-out
         * invocation may show 5999.9 ms: the status says it all the same. */
        if (ms >= TIMEOUT_S * 1000.0 || timed_out) {
            s->past_deadline++;
            fprintf(bad, "at or past the %d s timeout: %.*s\n", TIMEOUT_S,
                    (int)(eol ? eol - p : (long)strlen(p)), p);
        }
    }
    /* bootstrap's log: "N activities still running at the stop were failed back ..." */
    const char *needle = " activities still running at the stop were failed back";
    for (const char *p = out; (p = strstr(p, needle)); p++) {
        const char *num = p;
        while (num > out && num[-1] >= '0' && num[-1] <= '9')
            num--;
        s->failed_back += atoi(num);
    }
}

/* ---- evidence ------------------------------------------------------------------------------ */

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = read_all(from, &len);
    FILE *f = fopen(to, "w");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    free(data);
}

/* Keeps what shows how an invariant broke: the emulator's and the server's output, the
 * execution record, the problems found, and the histories of |ids| (at most 20). */
static void keep_evidence(const chaos_run *r, const char *problems, char **ids, int nids)
{
    char dir[300], path[400];
    mkdir(EVIDENCE_ROOT, 0755);
    snprintf(dir, sizeof(dir), "%s/%s", EVIDENCE_ROOT, r->prefix);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/emulator.log", dir);
    copy_file(r->emu.log, path);
    snprintf(path, sizeof(path), "%s/server.log", dir);
    copy_file(r->srv.log, path);
    snprintf(path, sizeof(path), "%s/executions.record", dir);
    copy_file(r->record, path);
    snprintf(path, sizeof(path), "%s/problems.txt", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "seed %u, %d workflows\n%s", r->seed, r->n, problems);
        fclose(f);
    }
    for (int i = 0; i < nids && i < 20; i++) {
        snprintf(path, sizeof(path), "%s/history-%s.json", dir, ids[i]);
        const char *h[] = {"history", "--id", ids[i], "--out", path, NULL};
        char *out = NULL;
        driver_run(&r->srv, &out, h);
        free(out);
    }
    fprintf(stderr, "chaos: evidence kept in %s\n", dir);
}

/* ---- the run ------------------------------------------------------------------------------- */

static void set_up_deployment(void)
{
    const char *create[] = {"create-deployment", "--deployment", "chaos", NULL};
    cJSON_Delete(flow_call(&run.srv, create));
    const char *version[] = {"create-version", "--deployment", "chaos", "--build-id", "v1",
                             "--lambda-arn", ARN, NULL};
    cJSON_Delete(flow_call(&run.srv, version)); /* the server validates it with GetFunction */
    const char *current[] = {"set-current", "--deployment", "chaos", "--build-id", "v1", NULL};
    cJSON_Delete(flow_call(&run.srv, current));
}

/* Waits up to |ms| until every invocation the emulator started has ended and none started for
 * 3 s (longer than the idle exit, so invocations still queued in the emulator had their turn). */
static void settle_invocations(const chaos_run *r, int ms)
{
    int last_starts = -1;
    int64_t quiet_since = now_ms();
    for (int64_t end = now_ms() + ms; now_ms() < end;) {
        char *out = emu_output(&r->emu);
        int s = count_substr(out, "START RequestId:"), e = count_substr(out, "END RequestId:");
        free(out);
        if (s != e || s != last_starts)
            quiet_since = now_ms();
        last_starts = s;
        if (now_ms() - quiet_since >= 3000)
            return;
        usleep(200 * 1000);
    }
}

static int open_workflows(char **first_ids, int max, int *nids)
{
    const char *args[] = {"--timeout", "30s", "open-workflows", "--query", "WorkflowType='Chaos'",
                          NULL};
    cJSON *o = flow_call(&run.srv, args);
    int count = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "count"));
    cJSON *id;
    cJSON_ArrayForEach(id, cJSON_GetObjectItem(o, "workflow_ids"))
        if (*nids < max)
            first_ids[(*nids)++] = strdup(cJSON_GetStringValue(id));
    cJSON_Delete(o);
    return count;
}

static void n_workflows_lose_nothing_and_keep_deadlines(void **st)
{
    chaos_run *r = &run;
    char *problems = NULL;
    size_t problems_len = 0;
    FILE *bad = open_memstream(&problems, &problems_len);
    char *bad_ids[64];
    int nbad = 0;
    r->started_ms = now_ms();
    printf("chaos: %d workflows, seed %u, function timeout %d s, kill rate %s\n", r->n, r->seed,
           TIMEOUT_S, KILL_RATE);
    fflush(stdout);

    set_up_deployment();
    stallproxy_set_mode(r->proxy, STALLPROXY_RANDOM);
    atomic_store(&r->outages_stop, 0);
    assert_int_equal(pthread_create(&r->outages, NULL, outages_run, r), 0);
    r->outages_running = 1;
    char count[16], wait[32];
    snprintf(count, sizeof(count), "%d", r->n);
    const char *start[] = {"--timeout", "300s", "start-many", "--count", count, "--id-prefix",
                           r->prefix, "--type", "Chaos", "--task-queue", "chaos", "--input", "{i}",
                           "--task-timeout", "5s", NULL};
    cJSON_Delete(flow_call(&run.srv, start));

    /* Every workflow's end, or OPEN for one still running when the budget is spent. */
    int budget_s = 240 + r->n * 3 / 10; /* normally done in a third of it */
    snprintf(wait, sizeof(wait), "%ds", budget_s);
    const char *await[] = {"--timeout", wait, "await-many", "--count", count, "--id-prefix",
                           r->prefix, NULL};
    cJSON *ends = flow_call(&run.srv, await);
    int64_t done_ms = now_ms();
    int completed = 0, wrong = 0, not_closed = 0;
    cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(ends, "workflows")) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(w, "workflow_id"));
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(w, "status"));
        int i = atoi(strrchr(id, '-') + 1);
        char want[64];
        snprintf(want, sizeof(want), "{\"i\":%d,\"r\":%d}", i, 10 * i + 8);
        char *got = cJSON_PrintUnformatted(cJSON_GetObjectItem(w, "result"));
        int ok = status && strcmp(status, "COMPLETED") == 0 && got && strcmp(got, want) == 0;
        if (ok) {
            completed++;
        } else {
            char *all = cJSON_PrintUnformatted(w);
            fprintf(bad, "workflow %s: %s (want COMPLETED with %s)\n", id, all, want);
            free(all);
            if (status && strcmp(status, "OPEN") == 0)
                not_closed++;
            else
                wrong++;
            if (nbad < 64)
                bad_ids[nbad++] = strdup(id);
        }
        free(got);
    }
    cJSON_Delete(ends);

    /* Chaos off, then let what still runs end and look for workflows left open. */
    stop_outages(r);
    stallproxy_set_mode(r->proxy, STALLPROXY_PASS);
    settle_invocations(r, not_closed ? 90000 : 30000);
    int64_t settled_ms = now_ms();
    int still_open = open_workflows(bad_ids, 64, &nbad);
    if (still_open)
        fprintf(bad, "%d Chaos workflows still open after the settle time\n", still_open);

    /* The emulator and the runtimes it still runs stop here, so their sanitizer reports, if
     * any, are in its output; its folder stays until the evidence is taken. */
    int keep = getenv("TW_KEEP_TMP") != NULL;
    setenv("TW_KEEP_TMP", "1", 1);
    int sanitizer = emu_stop(&r->emu) != 0;
    if (!keep)
        unsetenv("TW_KEEP_TMP");
    if (sanitizer)
        fprintf(bad, "sanitizer report in the emulator's output\n");

    exec_stats ex;
    analyse_record(r, &ex, bad);
    char *out = emu_output(&r->emu);
    report_stats rep;
    analyse_reports(out, &rep, bad);
    free(out);
    if (rep.kills > rep.exit_errors)
        fprintf(bad, "%d kills but only %d invocations answered with the exit\n", rep.kills,
                rep.exit_errors);
    stallproxy_counters pc;
    stallproxy_get_counters(r->proxy, &pc);

    printf("chaos: %d/%d workflows completed with the right result, %d wrong, %d not closed "
           "in %d s, %d still open after settling\n",
           completed, r->n, wrong, not_closed, budget_s, still_open);
    printf("chaos: %d executions of %d activities (want %d): %d re-executions, each in a new "
           "attempt (after a failure, a kill, a fail-back at the stop or a timeout; highest "
           "attempt %d), %d same-attempt duplicates\n",
           ex.executions, ex.activities, r->n * STEPS, ex.reexecutions, ex.max_attempt,
           ex.same_attempt);
    printf("chaos: %d invocations (%d runtimes killed, %d activities failed back at the stop, "
           "%d timed out), %d REPORT lines at or past the %d s timeout, longest %.0f ms; "
           "sanitizer reports: %s\n",
           rep.invocations, rep.kills, rep.failed_back, rep.timed_out, rep.past_deadline,
           TIMEOUT_S, rep.longest_ms, sanitizer ? "yes" : "none");
    printf("chaos: proxy: %ld connections, %ld reset, %ld stalls, %ld latency periods, %d "
           "outages; workflows done in %.0f s, invocations settled %.0f s later\n",
           pc.connections, pc.resets, pc.stalls, pc.latency_periods, r->noutages,
           (double)(done_ms - r->started_ms) / 1000.0, (double)(settled_ms - done_ms) / 1000.0);
    fflush(stdout);
    fclose(bad);

    int broken = wrong || not_closed || still_open || ex.same_attempt || ex.workflows_short ||
                 ex.workflows_long || ex.unknown || ex.activities != r->n * STEPS ||
                 rep.past_deadline || rep.kills > rep.exit_errors || sanitizer;
    if (broken)
        keep_evidence(r, problems, bad_ids, nbad);
    if (!keep) {
        char cmd[sizeof(r->emu.dir) + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%.255s'", r->emu.dir);
        assert_int_equal(system(cmd), 0);
    }
    if (problems_len)
        fprintf(stderr, "chaos: problems:\n%.20000s\n", problems);
    free(problems);
    for (int i = 0; i < nbad; i++)
        free(bad_ids[i]);

    assert_int_equal(completed, r->n);
    assert_int_equal(still_open, 0);
    assert_int_equal(ex.activities, r->n * STEPS);
    assert_int_equal(ex.same_attempt, 0);
    assert_int_equal(ex.unknown, 0);
    assert_int_equal(rep.past_deadline, 0);
    assert_true(rep.kills <= rep.exit_errors);
    assert_false(sanitizer);
    /* The chaos happened: a run without it proves nothing (a short manual run may draw no
     * kill: 8% of a few dozen invocations). */
    assert_true(pc.resets > 0 && pc.stalls > 0 && pc.latency_periods > 0);
    assert_true(ex.reexecutions > 0);
    if (rep.invocations >= 50)
        assert_true(rep.kills > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(n_workflows_lose_nothing_and_keep_deadlines),
    };
    return cmocka_run_group_tests_name("chaos", tests, group_setup, group_teardown);
}
