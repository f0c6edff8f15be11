/*
 * `bootstrap --check` (check.h) as a user runs it before deploying: $BUILD/bootstrap started
 * by hand with the environment the function will have, against the real Temporal server
 * (with --api-key, its AWS SDK pointed at the local Lambda emulator so that versions can carry
 * an aws-lambda compute config the server validates), Worker Deployments made through the Go
 * SDK driver. For the configuration that works and for each mistake: what it prints (one
 * line per check, plain words, the variable to fix), its exit status, and that no secret
 * appears in anything it prints.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/stallproxy.h"
#include "tests/support/tserver.h"

#define KEY "tw-check-key-3f9a61"
#define WRONG_KEY "tw-check-wrong-key-77c2"
#define ARN "arn:aws:lambda:us-east-1:000000000000:function:function"

static tserver srv;
static emu_proc emu;
static char hello[PATH_MAX];

/* The emulator first (its port goes to the server's AWS SDK, which validates compute configs
 * with GetFunction), then the server. */
static int group_setup(void **st)
{
    int port = free_port();
    char addr[64];
    if (!realpath(harness_built("examples/libhello.so"), hello))
        return -1;
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", port);
    const char *args[] = {"--handler", hello, "--timeout", "10", "--versions", "1",
                          "-e", addr, "-e", "TEMPORAL_TASK_QUEUE=check",
                          "-e", "TEMPORAL_DEPLOYMENT_NAME=check",
                          "-e", "TEMPORAL_WORKER_BUILD_ID=b1", NULL};
    if (emu_start(&emu, harness_built("bootstrap"), args) != 0)
        return -1;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", emu.port);
    setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint, 1); /* inherited by the server process */
    setenv("AWS_ACCESS_KEY_ID", "local", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "local", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    const char *flags[] = {"--api-key", KEY, NULL};
    return tserver_start(&srv, port, NULL, flags);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return emu_stop(&emu);
}

/* ---- running bootstrap --check ---- */

typedef struct run {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout */
    char *err;  /* stderr */
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs $BUILD/bootstrap with |args| after argv[0] and exactly the environment |env| (plus the
 * sanitizers' options), stdout and stderr apart. */
static void run_bootstrap(run *r, const char *const *env, const char *const *args)
{
    char dir[] = "/tmp/tw-check-XXXXXX", out[64], err[64];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(err, sizeof(err), "%s/err", dir);
    const char *argv[16] = {harness_built("bootstrap")};
    size_t n = 1;
    for (; args && args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    const char *envp[64];
    size_t m = 0;
    for (; env && env[m]; m++)
        envp[m] = env[m];
    static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char passed[3][600];
    for (int i = 0; i < 3; i++)
        if (getenv(pass[i])) {
            snprintf(passed[i], sizeof(passed[i]), "%s=%s", pass[i], getenv(pass[i]));
            envp[m++] = passed[i];
        }
    envp[m] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    size_t len;
    r->out = read_all(out, &len);
    r->err = read_all(err, &len);
    unlink(out);
    unlink(err);
    rmdir(dir);
    printf("-- bootstrap --check exit %d\n%s", r->status, r->out);
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
}

/* The check with the worker's usual environment for deployment |dep|, build id |build|,
 * queue "check", the hello library; |extra| entries ("K=V", NULL-terminated) replace a default
 * of the same variable (with an empty value: drop it) or join them. */
static void check_with(run *r, const char *dep, const char *build, const char *const *extra,
                       const char *const *args)
{
    char addr[64], d[96], b[96], h[PATH_MAX + 16];
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", srv.port);
    snprintf(d, sizeof(d), "TEMPORAL_DEPLOYMENT_NAME=%s", dep);
    snprintf(b, sizeof(b), "TEMPORAL_WORKER_BUILD_ID=%s", build);
    snprintf(h, sizeof(h), "_HANDLER=%s", hello);
    const char *defaults[] = {addr, d, b, h, "TEMPORAL_TASK_QUEUE=check", NULL};
    const char *env[48];
    size_t n = 0;
    for (size_t i = 0; defaults[i]; i++) {
        size_t k = strcspn(defaults[i], "=") + 1;
        int replaced = 0;
        for (size_t j = 0; extra && extra[j]; j++)
            replaced |= strncmp(extra[j], defaults[i], k) == 0;
        if (!replaced)
            env[n++] = defaults[i];
    }
    for (size_t j = 0; extra && extra[j]; j++)
        if (extra[j][strcspn(extra[j], "=") + 1]) /* "K=" drops K */
            env[n++] = extra[j];
    env[n] = NULL;
    const char *check[] = {"--check", "--timeout", "3s", NULL};
    run_bootstrap(r, env, args ? args : check);
}

/* The line of |out| that starts with |tag| and contains every one of |needles|. */
static void expect_line(const run *r, const char *tag, const char *const *needles)
{
    for (const char *l = r->out; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char buf[4096];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, l);
        int all = strncmp(buf, tag, strlen(tag)) == 0;
        for (size_t i = 0; all && needles[i]; i++)
            all = strstr(buf, needles[i]) != NULL;
        if (all)
            return;
        l += len + (end ? 1 : 0);
    }
    char want[1024] = "";
    for (size_t i = 0; needles[i]; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), " \"%s\"", needles[i]);
    fail_msg("no line \"%s...\" with%s in:\n%s", tag, want, r->out);
}

static int lines_with(const run *r, const char *tag)
{
    int n = 0;
    for (const char *l = r->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += strncmp(l, tag, strlen(tag)) == 0;
    return n;
}

/* Waits (up to 30 s) until Worker Deployment |dep| answers again after a change: the server
 * refuses questions to a deployment being changed for a while (RESOURCE_EXHAUSTED). */
static void settle(const char *dep)
{
    const char *describe[] = {"describe-deployment", "--deployment", dep, NULL};
    for (int i = 0; i < 300; i++) {
        char *why = NULL;
        cJSON *o = driver_json_of(&srv, describe, &why);
        free(why);
        if (o) {
            cJSON_Delete(o);
            return;
        }
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
    }
    fail_msg("Worker Deployment %s did not answer for 30 s", dep);
}

static void deploy(const char *dep, const char *build, const char *arn, int current)
{
    const char *create[] = {"create-deployment", "--deployment", dep, NULL};
    flow_call_ok(&srv, create);
    const char *version[] = {"create-version", "--deployment", dep, "--build-id", build,
                             arn ? "--lambda-arn" : NULL, arn, NULL};
    flow_call_ok(&srv, version); /* with an ARN, the server validates it with GetFunction */
    if (current) {
        const char *cur[] = {"set-current", "--deployment", dep, "--build-id", build, NULL};
        flow_call_ok(&srv, cur);
    }
    settle(dep);
}

static const char *fresh(char *buf, size_t n, const char *prefix)
{
    return flow_new_id(buf, n, prefix);
}

/* ---- the tests ---- */

/* A current version whose compute config names a published function version: every line ok,
 * exit 0. */
static void all_fine(void **st)
{
    char dep[64], addr[64];
    fresh(dep, sizeof(dep), "fine");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    check_with(&r, dep, "b1", NULL, NULL);
    assert_int_equal(r.status, 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv.port);
    expect_line(&r, "ok   ", (const char *[]){"task queue check", dep, "build id b1", NULL});
    expect_line(&r, "ok   ", (const char *[]){"worker settings", "stop timeout 5s", NULL});
    expect_line(&r, "ok   ", (const char *[]){"library", hello, "Greet", "ComposeGreeting", NULL});
    expect_line(&r, "ok   ", (const char *[]){"namespace default reachable at", addr, "(TLS off)",
                                                NULL});
    expect_line(&r, "ok   ", (const char *[]){"version b1", dep, "exists", NULL});
    expect_line(&r, "ok   ", (const char *[]){"version b1 is the current version", NULL});
    expect_line(&r, "ok   ", (const char *[]){"Temporal invokes", ARN ":1", NULL});
    expect_line(&r, "all checks passed", (const char *[]){NULL});
    assert_int_equal(lines_with(&r, "FAIL"), 0);
    assert_int_equal(lines_with(&r, "warn"), 0);
    run_free(&r);
}

/* A required variable missing: said in one line naming it, exit 1, and everything that does
 * not need it is still checked. */
static void missing_variable(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "miss");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *extra[] = {"TEMPORAL_TASK_QUEUE=", NULL};
    check_with(&r, dep, "b1", extra, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_TASK_QUEUE is not set", NULL});
    assert_int_equal(lines_with(&r, "FAIL"), 1);
    expect_line(&r, "ok   ", (const char *[]){"namespace default reachable", NULL});
    expect_line(&r, "ok   ", (const char *[]){"version b1 is the current version", NULL});
    expect_line(&r, "1 problem found", (const char *[]){NULL});
    run_free(&r);

    /* Without the deployment name, the version cannot be looked up: skipped, saying why. */
    const char *no_dep[] = {"TEMPORAL_DEPLOYMENT_NAME=", NULL};
    check_with(&r, dep, "b1", no_dep, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_DEPLOYMENT_NAME is not set", NULL});
    expect_line(&r, "skip ", (const char *[]){"Worker Deployment Version",
                                                "TEMPORAL_DEPLOYMENT_NAME", NULL});
    run_free(&r);
}

/* Every bad value is reported, not only the first, each naming its variable; a TEMPORAL_* name
 * bootstrap does not read is a warning (a typo), not a failure. */
static void bad_values(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "bad");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *extra[] = {"TEMPORAL_IDLE_EXIT=5", "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=zero",
                           "TEMPORAL_WORKER_STOP_TIMEOUT=9s", "TEMPORAL_SHUTDOWN_BUFFER=9s",
                           "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR=sometimes", NULL};
    check_with(&r, dep, "b1", extra, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_IDLE_EXIT", "\"5\"", NULL});
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_MAX_CONCURRENT_ACTIVITIES", "\"zero\"",
                                                NULL});
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_SHUTDOWN_BUFFER",
                                                "TEMPORAL_WORKER_STOP_TIMEOUT", NULL});
    expect_line(&r, "FAIL ", (const char *[]){"TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR",
                                                "sometimes", NULL});
    assert_int_equal(lines_with(&r, "FAIL"), 4);
    expect_line(&r, "4 problems found", (const char *[]){NULL});
    run_free(&r);

    const char *typo[] = {"TEMPORAL_TASKQUEUE=orders", "TEMPORAL_ADRESS=x:1", NULL};
    check_with(&r, dep, "b1", typo, NULL);
    assert_int_equal(r.status, 0);
    expect_line(&r, "warn ", (const char *[]){"TEMPORAL_TASKQUEUE", "typo", NULL});
    expect_line(&r, "warn ", (const char *[]){"TEMPORAL_ADRESS", "typo", NULL});
    expect_line(&r, "all checks passed (2 warnings)", (const char *[]){NULL});
    run_free(&r);

    /* A connection setting: envconfig's message, naming the variable. */
    const char *tls[] = {"TEMPORAL_TLS=maybe", NULL};
    check_with(&r, dep, "b1", tls, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"connection settings", "TEMPORAL_TLS", NULL});
    expect_line(&r, "skip ", (const char *[]){"namespace", NULL});
    run_free(&r);
}

/* --function-timeout: the time an invocation polls before the shutdown buffer (7 s by
 * default), refused at 1 s or less and warned under 5 s, as each invocation does. */
static void function_timeout(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "ft");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *tight[] = {"--check", "--function-timeout", "8s", NULL};
    check_with(&r, dep, "b1", NULL, tight);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"function timeout of 8s", "1000 ms",
                                                "TEMPORAL_SHUTDOWN_BUFFER", NULL});
    run_free(&r);
    const char *short_[] = {"--check", "--function-timeout", "10s", NULL};
    check_with(&r, dep, "b1", NULL, short_);
    assert_int_equal(r.status, 0);
    expect_line(&r, "warn ", (const char *[]){"function timeout of 10s", "3000 ms", NULL});
    run_free(&r);
    const char *fine[] = {"--check", "--function-timeout", "5m", NULL};
    const char *buffer[] = {"TEMPORAL_SHUTDOWN_BUFFER=20s", NULL};
    check_with(&r, dep, "b1", buffer, fine);
    assert_int_equal(r.status, 0);
    expect_line(&r, "ok   ", (const char *[]){"function timeout 300s", "up to 280 s", "(20s)",
                                                NULL});
    run_free(&r);
    const char *too_long[] = {"--check", "--function-timeout", "16m", NULL};
    check_with(&r, dep, "b1", NULL, too_long);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--function-timeout"));
    run_free(&r);
}

/* A library that does not load: missing, not a shared object, a workflow without a versioning
 * behaviour (fine once TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR gives one); --handler names one. */
static void library_that_does_not_load(void **st)
{
    char dep[64], h[PATH_MAX + 16], root[PATH_MAX + 32], lib[PATH_MAX];
    fresh(dep, sizeof(dep), "lib");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *missing[] = {"_HANDLER=libnothere.so", "LAMBDA_TASK_ROOT=/nonexistent-root", NULL};
    check_with(&r, dep, "b1", missing, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"library", "_HANDLER",
                                                "/nonexistent-root/libnothere.so", NULL});
    expect_line(&r, "ok   ", (const char *[]){"namespace default reachable", NULL});
    run_free(&r);

    assert_non_null(realpath(harness_built("fixtures/not_elf.so"), lib));
    snprintf(h, sizeof(h), "_HANDLER=%s", lib);
    const char *not_elf[] = {h, NULL};
    check_with(&r, dep, "b1", not_elf, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"library", "not_elf.so", NULL});
    run_free(&r);

    /* Relative to LAMBDA_TASK_ROOT, as Lambda resolves it. */
    assert_non_null(realpath(harness_built("fixtures"), lib));
    snprintf(root, sizeof(root), "LAMBDA_TASK_ROOT=%s", lib);
    const char *nov[] = {"_HANDLER=lib_noversioning.so", root, NULL};
    check_with(&r, dep, "b1", nov, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"library", "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR",
                                                NULL});
    run_free(&r);
    const char *nov_ok[] = {"_HANDLER=lib_noversioning.so", root,
                            "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR=pinned", NULL};
    check_with(&r, dep, "b1", nov_ok, NULL);
    assert_int_equal(r.status, 0);
    expect_line(&r, "ok   ", (const char *[]){"library", "lib_noversioning.so", "loads", NULL});
    run_free(&r);

    /* --handler in place of an unset _HANDLER. */
    const char *none[] = {"_HANDLER=", NULL};
    check_with(&r, dep, "b1", none, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"library", "_HANDLER is not set", NULL});
    run_free(&r);
    const char *args[] = {"--check", "--handler", hello, NULL};
    check_with(&r, dep, "b1", none, args);
    assert_int_equal(r.status, 0);
    run_free(&r);
}

/* A wrong address: a closed port, TLS against the plaintext server, a server that never
 * answers (a stalled connection: bounded by --timeout). The version is skipped. */
static void wrong_address(void **st)
{
    char dep[64], addr[64], port[64];
    fresh(dep, sizeof(dep), "addr");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    int closed = free_port();
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", closed);
    snprintf(port, sizeof(port), "127.0.0.1:%d", closed);
    const char *env[] = {addr, NULL};
    check_with(&r, dep, "b1", env, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"namespace default at", port, "UNAVAILABLE",
                                                "TEMPORAL_ADDRESS", NULL});
    expect_line(&r, "skip ", (const char *[]){"Worker Deployment Version", NULL});
    run_free(&r);

    const char *tls[] = {"TEMPORAL_TLS=true", NULL};
    check_with(&r, dep, "b1", tls, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"namespace default", "(TLS on)", "TLS settings",
                                                NULL});
    run_free(&r);

    stallproxy *p;
    stallproxy_options o = {.target_port = srv.port, .mode = STALLPROXY_STALL};
    assert_int_equal(stallproxy_start(&p, &o), 0);
    snprintf(addr, sizeof(addr), "TEMPORAL_ADDRESS=127.0.0.1:%d", stallproxy_port(p));
    const char *stalled[] = {addr, NULL};
    const char *args[] = {"--check", "--timeout", "1s", NULL};
    check_with(&r, dep, "b1", stalled, args);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"namespace default", "DEADLINE_EXCEEDED", NULL});
    assert_true(stallproxy_connections(p) >= 1); /* it did reach the silent network */
    stallproxy_stop(p);
    run_free(&r);
}

static void wrong_namespace(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "ns");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *env[] = {"TEMPORAL_NAMESPACE=no-such-namespace", NULL};
    check_with(&r, dep, "b1", env, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"namespace no-such-namespace", "NOT_FOUND",
                                                "TEMPORAL_NAMESPACE", NULL});
    expect_line(&r, "skip ", (const char *[]){"Worker Deployment Version", NULL});
    run_free(&r);
}

/* A build id or deployment that does not exist; a version that exists but gets no new work
 * and has no compute config (Temporal would never invoke the function); a compute config
 * naming the function unqualified. */
static void version_mistakes(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "ver");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    check_with(&r, dep, "b9", NULL, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){dep, "has no version b9",
                                                "TEMPORAL_WORKER_BUILD_ID", "its versions: b1",
                                                "create-version", NULL});
    run_free(&r);

    check_with(&r, "no-such-deployment", "b1", NULL, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"Worker Deployment no-such-deployment does not "
                                                "exist", "TEMPORAL_DEPLOYMENT_NAME", NULL});
    run_free(&r);

    /* b2: no compute config, not current (b1 is). */
    const char *version[] = {"create-version", "--deployment", dep, "--build-id", "b2", NULL};
    flow_call_ok(&srv, version);
    settle(dep);
    check_with(&r, dep, "b2", NULL, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "ok   ", (const char *[]){"version b2", "exists", NULL});
    expect_line(&r, "warn ", (const char *[]){"version b2", "no new workflow goes to it",
                                                "the current version is b1",
                                                "set-current-version", NULL});
    expect_line(&r, "FAIL ", (const char *[]){"version b2 has no compute config",
                                                "--aws-lambda-function-arn", NULL});
    assert_int_equal(lines_with(&r, "FAIL"), 1);
    run_free(&r);

    /* b3: the function unqualified ($LATEST): works, but warned. */
    const char *v3[] = {"create-version", "--deployment", dep, "--build-id", "b3",
                        "--lambda-arn", ARN, NULL};
    flow_call_ok(&srv, v3);
    settle(dep);
    check_with(&r, dep, "b3", NULL, NULL);
    assert_int_equal(r.status, 0);
    expect_line(&r, "warn ", (const char *[]){ARN, "no published version", NULL});
    run_free(&r);
}

/* The server refuses the key: said naming TEMPORAL_API_KEY, exit 1. With the right key (in
 * the environment or in temporal.toml) the namespace is fine. No key ever appears in what the
 * check prints, on stdout or stderr. */
static void rejected_api_key(void **st)
{
    char dep[64];
    fresh(dep, sizeof(dep), "key");
    deploy(dep, "b1", ARN ":1", 1);
    run r;
    const char *wrong[] = {"TEMPORAL_API_KEY=" WRONG_KEY, "TEMPORAL_TLS=false", NULL};
    check_with(&r, dep, "b1", wrong, NULL);
    assert_int_equal(r.status, 1);
    expect_line(&r, "FAIL ", (const char *[]){"namespace default", "PERMISSION_DENIED",
                                                "TEMPORAL_API_KEY", NULL});
    expect_line(&r, "ok   ", (const char *[]){"API key set", NULL});
    expect_line(&r, "warn ", (const char *[]){"plaintext", NULL});
    assert_null(strstr(r.out, WRONG_KEY));
    assert_null(strstr(r.err, WRONG_KEY));
    run_free(&r);

    const char *right[] = {"TEMPORAL_API_KEY=" KEY, "TEMPORAL_TLS=false", NULL};
    check_with(&r, dep, "b1", right, NULL);
    assert_int_equal(r.status, 0);
    expect_line(&r, "ok   ", (const char *[]){"namespace default reachable", NULL});
    expect_line(&r, "ok   ", (const char *[]){"version b1 is the current version", NULL});
    assert_null(strstr(r.out, KEY));
    assert_null(strstr(r.err, KEY));
    run_free(&r);

    /* From temporal.toml in LAMBDA_TASK_ROOT, as the function reads it; the address there too. */
    char dir[] = "/tmp/tw-check-root-XXXXXX", toml[64], root[64];
    assert_non_null(mkdtemp(dir));
    snprintf(toml, sizeof(toml), "%s/temporal.toml", dir);
    FILE *f = fopen(toml, "w");
    assert_non_null(f);
    fprintf(f, "[profile.default]\naddress = \"127.0.0.1:%d\"\napi_key = \"%s\"\n"
               "[profile.default.tls]\ndisabled = true\n", srv.port, KEY);
    fclose(f);
    snprintf(root, sizeof(root), "LAMBDA_TASK_ROOT=%s", dir);
    const char *file[] = {root, "TEMPORAL_ADDRESS=", NULL};
    check_with(&r, dep, "b1", file, NULL);
    assert_int_equal(r.status, 0);
    expect_line(&r, "ok   ", (const char *[]){"connection settings", "API key set", toml, NULL});
    assert_null(strstr(r.out, KEY));
    assert_null(strstr(r.err, KEY));
    run_free(&r);
    unlink(toml);
    rmdir(dir);
}

/* Usage: --help and --version answer 0, a wrong option or duration 2, without checking. */
static void usage(void **st)
{
    run r;
    const char *help[] = {"--help", NULL};
    run_bootstrap(&r, NULL, help);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "bootstrap --check"));
    run_free(&r);
    const char *version[] = {"--version", NULL};
    run_bootstrap(&r, NULL, version);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "temporal-lambda-c"));
    run_free(&r);
    const char *bad[] = {"--check", "--timeout", "soon", NULL};
    run_bootstrap(&r, NULL, bad);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--timeout"));
    assert_string_equal(r.out, "");
    run_free(&r);
    const char *unknown[] = {"--chek", NULL};
    run_bootstrap(&r, NULL, unknown);
    assert_int_equal(r.status, 2);
    run_free(&r);
}

/* Every TEMPORAL_* variable the sources read is one the check knows, so the typo warning
 * never flags a real setting: the string literals "TEMPORAL_..." of the runtime's sources. */
static void scan(const char *path, int *seen)
{
    size_t len;
    char *text = read_all(path, &len);
    for (const char *p = text; (p = strstr(p, "\"TEMPORAL_"));) {
        p++;
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        char name[128];
        if (n < sizeof(name) && p[n] == '"') {
            memcpy(name, p, n);
            name[n] = '\0';
            if (name[n - 1] == '_') /* a prefix: TEMPORAL_GRPC_META_ */
                snprintf(name + n, sizeof(name) - n, "X");
            if (!check_known_variable(name))
                fail_msg("%s reads %s, which check.c's list lacks", path, name);
            (*seen)++;
        }
        p += n;
    }
    free(text);
}

static void scan_dir(const char *dir, int *seen)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        char path[PATH_MAX];
        size_t n = strlen(e->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR)
            scan_dir(path, seen);
        else if (n > 2 && strcmp(e->d_name + n - 2, ".c") == 0)
            scan(path, seen);
    }
    closedir(d);
}

static void known_variables_match_the_sources(void **st)
{
    int seen = 0;
    scan("function.c", &seen);
    scan_dir("temporal", &seen);
    scan_dir("runtime", &seen);
    scan_dir("registry", &seen);
    assert_true(seen >= 25); /* the scan found the settings at all */
    assert_false(check_known_variable("TEMPORAL_TASKQUEUE"));
    assert_false(check_known_variable("TEMPORAL_GRPC_META_"));
    assert_true(check_known_variable("TEMPORAL_GRPC_META_X_TENANT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_variables_match_the_sources),
        cmocka_unit_test(usage),
        cmocka_unit_test(all_fine),
        cmocka_unit_test(missing_variable),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(function_timeout),
        cmocka_unit_test(library_that_does_not_load),
        cmocka_unit_test(wrong_address),
        cmocka_unit_test(wrong_namespace),
        cmocka_unit_test(version_mistakes),
        cmocka_unit_test(rejected_api_key),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
