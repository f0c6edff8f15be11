/*
 * env: execution environments. Each is one runtime process with its own Runtime API listener,
 * started on demand, frozen (SIGSTOP) while it waits in `next`, thawed for the next invocation,
 * killed and forgotten on a timeout or a crash, as Lambda does. Also prints the START / END /
 * REPORT lines for every invocation.
 */
#define _GNU_SOURCE
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#define RUNTIME_PREFIX "/2018-06-01/runtime/"

extern char **environ;

static void freeze(environment *env)
{
    if (!env->frozen && env->pid > 0 && kill(-env->pid, SIGSTOP) == 0)
        env->frozen = 1;
}

static void thaw(environment *env)
{
    if (env->frozen && env->pid > 0)
        kill(-env->pid, SIGCONT);
    env->frozen = 0;
}

static void kill_env(environment *env)
{
    if (env->pid > 0) {
        kill(-env->pid, SIGKILL);
        kill(-env->pid, SIGCONT);
    }
    env->frozen = 0;
    env->state = ENV_DEAD;
}

/* Peak resident memory of the runtime process, in MB: VmHWM while it lives, the peak wait4()
 * reported once it has exited (a crash, a timeout). */
static long max_memory_mb(const environment *env)
{
    char path[64], line[256];
    long kb = 0;
    if (env->pid <= 0)
        return (env->exit_maxrss_kb + 1023) / 1024;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)env->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return (kb + 1023) / 1024;
}

/* END and REPORT for |inv|, which ran in |env|. |status| is NULL, "timeout" or "error". */
static void report(emu *e, environment *env, invocation *inv, const char *status,
                   const char *error_type)
{
    double duration = inv->start_us ? (double)(now_mono_us() - inv->start_us) / 1000.0 : 0.0;
    double billed = ceil(duration + (env->cold ? env->init_ms : 0.0));
    char init[64] = "", st[96] = "";
    if (env->cold)
        snprintf(init, sizeof(init), "\tInit Duration: %.2f ms", env->init_ms);
    if (status)
        snprintf(st, sizeof(st), "\tStatus: %s%s%s", status, error_type ? "\tError Type: " : "",
                 error_type ? error_type : "");
    emu_print("END RequestId: %s\n", inv->id);
    emu_print("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\t"
              "Memory Size: %d MB\tMax Memory Used: %ld MB%s%s\n",
              inv->id, duration, billed < 1 ? 1 : billed, e->cfg.memory_mb,
              max_memory_mb(env), init, st);
    env->cold = 0;
}

static int env_count(const emu *e)
{
    int n = 0;
    for (const environment *v = e->envs; v; v = v->next)
        if (v->state != ENV_DEAD)
            n++;
    return n;
}

static int push(char ***vec, int *n, char *kv)
{
    char **v = kv ? realloc(*vec, sizeof(char *) * (size_t)(*n + 2)) : NULL;
    if (!v) {
        free(kv);
        return -1;
    }
    v[(*n)++] = kv;
    v[*n] = NULL;
    *vec = v;
    return 0;
}

static int add_env(char ***vec, int *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add_env(char ***vec, int *n, const char *key, const char *fmt, ...)
{
    char *val = NULL, *kv = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -1;
    rc = asprintf(&kv, "%s=%s", key, val);
    free(val);
    return push(vec, n, rc < 0 ? NULL : kv);
}

/* The environment Lambda gives a provided.* runtime, plus the function's own variables. */
static char **build_environ(const emu *e, const environment *env)
{
    const emu_config *c = &e->cfg;
    char **v = NULL;
    int n = 0, bad = 0;
    bad |= add_env(&v, &n, "AWS_LAMBDA_RUNTIME_API", "127.0.0.1:%d", env->port);
    bad |= add_env(&v, &n, "AWS_LAMBDA_FUNCTION_NAME", "%s", c->function_name);
    bad |= add_env(&v, &n, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    bad |= add_env(&v, &n, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "%d", c->memory_mb);
    bad |= add_env(&v, &n, "AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/%s", c->function_name);
    bad |= add_env(&v, &n, "AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]env%d", env->id);
    bad |= add_env(&v, &n, "AWS_LAMBDA_LOG_FORMAT", "Text");
    bad |= add_env(&v, &n, "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    bad |= add_env(&v, &n, "AWS_REGION", "%s", c->region);
    bad |= add_env(&v, &n, "AWS_DEFAULT_REGION", "%s", c->region);
    bad |= add_env(&v, &n, "LAMBDA_TASK_ROOT", "%s", c->code_dir);
    bad |= add_env(&v, &n, "LAMBDA_RUNTIME_DIR", "/var/runtime");
    bad |= add_env(&v, &n, "_HANDLER", "%s", c->handler);
    bad |= add_env(&v, &n, "TZ", ":UTC");
    bad |= add_env(&v, &n, "LANG", "en_US.UTF-8");
    bad |= add_env(&v, &n, "PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin");
    bad |= add_env(&v, &n, "LD_LIBRARY_PATH", "%s:%s/lib:/opt/lib", c->code_dir, c->code_dir);
    for (int i = 0; i < c->nenv; i++)
        bad |= push(&v, &n, strdup(c->env[i]));
    if (bad) {
        for (int i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

static void free_environ(char **v)
{
    for (int i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static environment *spawn(emu *e)
{
    environment *env = calloc(1, sizeof(*env));
    int logp[2] = {-1, -1};
    char **envp = NULL;
    if (!env)
        return NULL;
    env->id = ++e->next_env_id;
    env->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (env->listen_fd < 0)
        goto fail;
    int one = 1;
    setsockopt(env->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (bind(env->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(env->listen_fd, 16) ||
        getsockname(env->listen_fd, (struct sockaddr *)&sa, &sl))
        goto fail;
    env->port = ntohs(sa.sin_port);
    if (pipe2(logp, O_CLOEXEC))
        goto fail;
    envp = build_environ(e, env);
    if (!envp)
        goto fail;
    env->spawn_ms = now_mono_ms();
    env->spawn_us = now_mono_us();
    pid_t pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(logp[1], 1);
        dup2(logp[1], 2);
        if (chdir(e->cfg.code_dir) != 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {(char *)e->cfg.bootstrap, NULL};
        execve(e->cfg.bootstrap, argv, envp);
        dprintf(2, "exec %s: %s\n", e->cfg.bootstrap, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so a signal to the group cannot race the child's call */
    free_environ(envp);
    close(logp[1]);
    env->pid = pid;
    env->log_fd = logp[0];
    fcntl(env->log_fd, F_SETFL, O_NONBLOCK);
    env->state = ENV_STARTING;
    env->cold = 1;
    env->next = e->envs;
    e->envs = env;
    e->nenvs++;
    emu_print("INIT_START Runtime Version: %s\tEnvironment: %d\n", e->cfg.runtime_name, env->id);
    return env;
fail:
    emu_print("lambda-emu: cannot start an environment: %s\n", strerror(errno));
    free_environ(envp);
    if (logp[0] >= 0) {
        close(logp[0]);
        close(logp[1]);
    }
    if (env->listen_fd >= 0)
        close(env->listen_fd);
    free(env);
    return NULL;
}

static uint32_t chaos_random(emu *e)
{
    uint32_t x = e->chaos_rng; /* xorshift32: the same draws for the same seed */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return e->chaos_rng = x ? x : 1;
}

/* --chaos-kill-rate: whether |env|'s new invocation dies, and when (before its deadline). */
static void chaos_arm(emu *e, environment *env, int64_t now)
{
    env->chaos_kill_at = 0;
    if (e->cfg.chaos_kill_rate <= 0)
        return;
    if ((double)(chaos_random(e) % 1000000) / 1000000.0 >= e->cfg.chaos_kill_rate)
        return;
    env->chaos_kill_at = now + 1 + (int64_t)(chaos_random(e) % (uint32_t)(e->cfg.timeout_s * 1000));
}

/* Gives |inv| to the runtime waiting in `next` on |c|. */
static void hand(emu *e, environment *env, http_conn *c, invocation *inv)
{
    char headers[2048];
    int64_t now = now_mono_ms();
    inv->start_ms = now;
    inv->start_us = now_mono_us();
    inv->deadline_mono = now + (int64_t)e->cfg.timeout_s * 1000;
    inv->deadline_ms = now_wall_ms() + (int64_t)e->cfg.timeout_s * 1000;
    env->current = inv;
    env->state = ENV_BUSY;
    env->next_conn = NULL;
    env->tail_len = 0;
    env->invocations++;
    chaos_arm(e, env, now);
    int n = snprintf(headers, sizeof(headers),
                     "Content-Type: application/json\r\n"
                     "Lambda-Runtime-Aws-Request-Id: %s\r\n"
                     "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                     "Lambda-Runtime-Invoked-Function-Arn: %s%s%s\r\n"
                     "Lambda-Runtime-Trace-Id: %s\r\n",
                     inv->id, (long long)inv->deadline_ms, e->arn,
                     strcmp(inv->version, "$LATEST") ? ":" : "",
                     strcmp(inv->version, "$LATEST") ? inv->version : "", inv->trace_id);
    if (inv->client_context && n > 0 && (size_t)n < sizeof(headers))
        snprintf(headers + n, sizeof(headers) - (size_t)n, "Lambda-Runtime-Client-Context: %s\r\n",
                 inv->client_context);
    emu_print("START RequestId: %s Version: %s\n", inv->id, inv->version);
    http_respond(c, 200, headers, inv->payload, inv->payload_len);
}

int env_assign(emu *e, invocation *inv)
{
    for (environment *env = e->envs; env; env = env->next) {
        if (env->state == ENV_IDLE && env->next_conn) {
            thaw(env);
            hand(e, env, env->next_conn, inv);
            return 0;
        }
    }
    /* An environment that has answered but not yet asked for the next invocation gets it when
     * it does, rather than a cold start beside it (it is milliseconds from idle). */
    for (environment *env = e->envs; env; env = env->next) {
        if (env->state == ENV_DONE && !env->current) {
            env->current = inv;
            return 0;
        }
    }
    if (env_count(e) >= e->cfg.concurrency)
        return -1;
    if (access(e->cfg.bootstrap, X_OK) != 0) {
        char body[PATH_MAX + 256];
        emu_print("lambda-emu: %s: %s\n", e->cfg.bootstrap, strerror(errno));
        snprintf(body, sizeof(body),
                 "{\"errorType\":\"Runtime.InvalidEntrypoint\",\"errorMessage\":\"RequestId: %s "
                 "Error: Couldn't find valid bootstrap(s): [%s]\"}",
                 inv->id, e->cfg.bootstrap);
        invoke_finish(e, inv, "Unhandled", body, strlen(body));
        return 0;
    }
    environment *env = spawn(e);
    if (!env)
        return -1;
    env->current = inv; /* handed when its init calls `next` */
    return 0;
}

void env_dispatch_queue(emu *e)
{
    int64_t now = now_mono_ms();
    invocation **pp = &e->queue;
    while (*pp) {
        invocation *inv = *pp;
        if (inv->not_before > now) {
            pp = &inv->next;
            continue;
        }
        *pp = inv->next;
        inv->next = NULL;
        if (env_assign(e, inv) != 0) { /* put it back where it was and stop */
            inv->next = *pp;
            *pp = inv;
            break;
        }
    }
    e->queue_tail = &e->queue;
    while (*e->queue_tail)
        e->queue_tail = &(*e->queue_tail)->next;
}

/* Ends the current invocation of |env| with the runtime's answer. */
static void complete(emu *e, environment *env, const char *function_error, const char *body,
                     size_t len, const char *status, const char *error_type)
{
    invocation *inv = env->current;
    report(e, env, inv, status, error_type);
    invoke_finish(e, inv, function_error, body, len); /* reads env's log tail */
    env->current = NULL;
    env->chaos_kill_at = 0;
}

static void runtime_error(http_conn *c, int status, const char *type, const char *msg)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", msg, type);
    http_respond_json(c, status, NULL, body);
}

static void on_next(emu *e, environment *env, http_conn *c)
{
    if (env->state == ENV_STARTING) {
        env->init_ms = (double)(now_mono_us() - env->spawn_us) / 1000.0;
        env->state = ENV_BUSY;
    }
    if (env->current && !env->current->start_ms) {
        hand(e, env, c, env->current);
        return;
    }
    if (env->current) {
        runtime_error(c, 400, "InvalidStateTransition",
                      "next called while an invocation is in progress");
        return;
    }
    env->state = ENV_IDLE;
    env->next_conn = c;
    http_hold(c);
    env_dispatch_queue(e);
    if (env->state == ENV_IDLE)
        freeze(env);
}

static void on_result(emu *e, environment *env, http_conn *c, http_req *req, const char *id,
                      int is_error)
{
    if (!env->current || !env->current->start_ms || strcmp(env->current->id, id) != 0) {
        runtime_error(c, 400, "InvalidRequestID", "Invalid request ID");
        return;
    }
    const char *inv_id = http_get_header(req, "Lambda-Runtime-Invocation-Id");
    (void)inv_id; /* this emulator sends none, so there is nothing to compare */
    if (!is_error && req->body_len > RESPONSE_PAYLOAD_MAX) {
        runtime_error(c, 413, "RequestEntityTooLarge",
                      "Exceeded maximum allowed payload size (6291556 bytes).");
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"Response "
                 "payload size (%zu bytes) exceeded maximum allowed payload size (6291556 "
                 "bytes).\"}",
                 req->body_len);
        complete(e, env, "Unhandled", msg, strlen(msg), "error", "Function.ResponseSizeTooLarge");
        env->state = ENV_DONE;
        return;
    }
    http_respond_json(c, 202, NULL, "{\"status\":\"OK\"}");
    if (is_error) {
        const char *type = http_get_header(req, "Lambda-Runtime-Function-Error-Type");
        complete(e, env, "Unhandled", req->body, req->body_len, "error",
                 type ? type : "Runtime.Unknown");
    } else {
        complete(e, env, NULL, req->body, req->body_len, NULL, NULL);
    }
    env->state = ENV_DONE;
}

static void on_init_error(emu *e, environment *env, http_conn *c, http_req *req)
{
    if (env->state != ENV_STARTING || env->init_error) {
        runtime_error(c, 403, "InvalidStateTransition",
                      "init/error is only accepted during initialisation");
        return;
    }
    env->init_error = strndup(req->body, req->body_len);
    http_respond_json(c, 202, NULL, "{\"status\":\"OK\"}");
    env->kill_at = now_mono_ms() + 500; /* the runtime is expected to exit; make sure */
}

void env_on_runtime_request(http_conn *c, http_req *req, void *ud)
{
    emu *e = ud;
    environment *env = http_conn_tag(c);
    const char *p = req->target;
    if (!env || env->state == ENV_DEAD) {
        runtime_error(c, 403, "InvalidStateTransition", "environment is shutting down");
        return;
    }
    if (strncmp(p, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX)) != 0) {
        runtime_error(c, 404, "InvalidPath", "unknown path");
        return;
    }
    p += strlen(RUNTIME_PREFIX);
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strcmp(p, "invocation/next") == 0 && get) {
        on_next(e, env, c);
    } else if (strcmp(p, "init/error") == 0 && post) {
        on_init_error(e, env, c, req);
    } else if (strncmp(p, "invocation/", 11) == 0 && post) {
        char id[128];
        const char *rest = p + 11, *slash = strchr(rest, '/');
        if (!slash || (size_t)(slash - rest) >= sizeof(id)) {
            runtime_error(c, 404, "InvalidPath", "unknown path");
            return;
        }
        memcpy(id, rest, (size_t)(slash - rest));
        id[slash - rest] = '\0';
        if (strcmp(slash, "/response") == 0)
            on_result(e, env, c, req, id, 0);
        else if (strcmp(slash, "/error") == 0)
            on_result(e, env, c, req, id, 1);
        else
            runtime_error(c, 404, "InvalidPath", "unknown path");
    } else {
        runtime_error(c, 405, "InvalidPath", "unknown method or path");
    }
}

static void tail_add(environment *env, const char *p, size_t n)
{
    if (n >= TAIL_MAX) {
        memcpy(env->tail, p + n - TAIL_MAX, TAIL_MAX);
        env->tail_len = TAIL_MAX;
        return;
    }
    if (env->tail_len + n > TAIL_MAX) {
        size_t drop = env->tail_len + n - TAIL_MAX;
        memmove(env->tail, env->tail + drop, env->tail_len - drop);
        env->tail_len -= drop;
    }
    memcpy(env->tail + env->tail_len, p, n);
    env->tail_len += n;
}

void env_on_log(emu *e, environment *env)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(env->log_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                if (env->logline_len)
                    emu_print("%.*s\n", (int)env->logline_len, env->logline);
                env->logline_len = 0;
                close(env->log_fd);
                env->log_fd = -1;
            }
            return;
        }
        if (env->current)
            tail_add(env, buf, (size_t)n);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || env->logline_len == sizeof(env->logline) - 1) {
                emu_print("%.*s\n", (int)env->logline_len, env->logline);
                env->logline_len = 0;
                if (buf[i] == '\n')
                    continue;
            }
            env->logline[env->logline_len++] = buf[i];
        }
    }
    (void)e;
}

void env_on_exit(emu *e, pid_t pid, int status, long maxrss_kb)
{
    environment *env = e->envs;
    while (env && env->pid != pid)
        env = env->next;
    if (!env)
        return;
    if (env->log_fd >= 0)
        env_on_log(e, env); /* what it printed last belongs before the END line */
    int was_dead = env->state == ENV_DEAD;
    env->state = ENV_DEAD;
    env->pid = -pid; /* gone: never signal this number again */
    env->exit_maxrss_kb = maxrss_kb;
    if (was_dead || !env->current)
        return;
    invocation *inv = env->current;
    if (!inv->start_ms && env->invocations > 0) {
        /* Given to an environment that had answered its last invocation (env_assign) but
         * ended instead of asking for the next one: it never had this invocation. As Lambda,
         * which only hands an invocation to a runtime waiting in `next`, it goes to another
         * environment (a cold start, once env_reap dispatches the queue) instead of failing. */
        env->current = NULL;
        inv->next = e->queue;
        e->queue = inv;
        if (e->queue_tail == &e->queue)
            e->queue_tail = &inv->next;
        return;
    }
    char why[64], body[512];
    if (WIFEXITED(status))
        snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
    else
        snprintf(why, sizeof(why), "signal: %s", strsignal(WTERMSIG(status)));
    emu_print("RequestId: %s Error: Runtime exited with error: %s\n", inv->id, why);
    if (env->init_error) {
        complete(e, env, "Unhandled", env->init_error, strlen(env->init_error), "error",
                 "Runtime.InitError");
        return;
    }
    snprintf(body, sizeof(body),
             "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: %s Error: "
             "Runtime exited with error: %s\"}",
             inv->id, why);
    complete(e, env, "Unhandled", body, strlen(body), "error", "Runtime.ExitError");
}

static void time_out(emu *e, environment *env, double seconds, const char *what)
{
    invocation *inv = env->current;
    char body[256];
    if (env->log_fd >= 0)
        env_on_log(e, env);
    emu_print("RequestId: %s Error: %s timed out after %.2f seconds\n", inv->id,
              what ? what : "Task", seconds);
    snprintf(body, sizeof(body),
             "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: %s Error: %s "
             "timed out after %.2f seconds\"}",
             inv->id, what ? what : "Task", seconds);
    if (!inv->start_ms) {
        inv->start_ms = env->spawn_ms;
        inv->start_us = env->spawn_us;
    }
    complete(e, env, "Unhandled", body, strlen(body), "timeout", NULL);
    kill_env(env);
}

void env_on_timers(emu *e, int64_t now)
{
    for (environment *env = e->envs; env; env = env->next) {
        if (env->state == ENV_DEAD)
            continue;
        if (env->kill_at && now >= env->kill_at && env->pid > 0) {
            kill(-env->pid, SIGKILL); /* its exit answers the invocation */
            env->kill_at = 0;
            continue;
        }
        if (env->chaos_kill_at && now >= env->chaos_kill_at && env->pid > 0 && env->current &&
            env->current->start_ms) {
            emu_print("lambda-emu: chaos: SIGKILL to environment %d (pid %d) %lld ms into "
                      "RequestId: %s\n", env->id, (int)env->pid,
                      (long long)(now - env->current->start_ms), env->current->id);
            kill(-env->pid, SIGKILL); /* its exit answers the invocation, as a crash */
            env->chaos_kill_at = 0;
            continue;
        }
        if (env->current && env->current->start_ms && now >= env->current->deadline_mono)
            time_out(e, env, e->cfg.timeout_s, NULL);
        else if (env->state == ENV_STARTING && !env->init_error &&
                 now - env->spawn_ms >= (int64_t)e->cfg.init_timeout_s * 1000 && env->current)
            time_out(e, env, e->cfg.init_timeout_s, "Init");
    }
}

int64_t env_next_timer(const emu *e)
{
    int64_t t = INT64_MAX;
    for (const environment *env = e->envs; env; env = env->next) {
        if (env->state == ENV_DEAD)
            continue;
        if (env->kill_at && env->kill_at < t)
            t = env->kill_at;
        if (env->chaos_kill_at && env->chaos_kill_at < t)
            t = env->chaos_kill_at;
        if (env->current && env->current->start_ms && env->current->deadline_mono < t)
            t = env->current->deadline_mono;
        if (env->state == ENV_STARTING) {
            int64_t it = env->spawn_ms + (int64_t)e->cfg.init_timeout_s * 1000;
            if (it < t)
                t = it;
        }
    }
    for (const invocation *q = e->queue; q; q = q->next)
        if (q->not_before && q->not_before < t)
            t = q->not_before;
    return t;
}

void env_reap(emu *e)
{
    environment **pp = &e->envs;
    int reaped = 0;
    while (*pp) {
        environment *env = *pp;
        /* Dead, and its process gone (pid negated by env_on_exit) or never to be waited. */
        if (env->state != ENV_DEAD || env->pid > 0) {
            pp = &env->next;
            continue;
        }
        *pp = env->next;
        emu_forget_env(e, env);
        if (env->log_fd >= 0)
            close(env->log_fd);
        close(env->listen_fd);
        free(env->init_error);
        invocation_free(env->current); /* only at shutdown: otherwise answered before death */
        free(env);
        e->nenvs--;
        reaped = 1;
    }
    if (reaped)
        env_dispatch_queue(e);
}

void env_shutdown_all(emu *e)
{
    for (environment *env = e->envs; env; env = env->next)
        if (env->pid > 0)
            kill_env(env);
}
