/*
 * lambda-emu: a local AWS Lambda for one function, for development and tests. Runs the
 * function's bootstrap in execution environments it starts on demand, serves each its Runtime
 * API, and serves Lambda's Invoke and GetFunction API to clients (AWS SDKs, curl, Temporal's
 * Worker Controller through AWS_ENDPOINT_URL_LAMBDA). One thread, one poll loop.
 *
 * Prints "lambda-emu: listening on HOST:PORT" once ready, then Lambda's log lines (INIT_START,
 * START, the function's output, END, REPORT) on stdout.
 */
#define _GNU_SOURCE
#include "emu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct watched {
    http_conn *conn;
    environment *env; /* NULL: an Invoke API client */
} watched;

static watched *conns;
static size_t nconns, capconns;
static int sigpipe_fds[2] = {-1, -1};
static volatile sig_atomic_t stop_requested;

int64_t now_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_print(const char *fmt, ...)
{
    char line[10240];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(STDOUT_FILENO, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += w;
    }
}

void random_hex(char *out, size_t n)
{
    static int fd = -1;
    unsigned char raw[64];
    size_t need = (n - 1 + 1) / 2;
    if (fd < 0)
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (need > sizeof(raw) || fd < 0 || read(fd, raw, need) != (ssize_t)need)
        for (size_t i = 0; i < need && i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand();
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n - 1] = '\0';
}

void make_uuid(char out[37])
{
    char h[33];
    random_hex(h, sizeof(h));
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void emu_watch_conn(emu *e, http_conn *c)
{
    (void)e;
    if (nconns == capconns) {
        size_t cap = capconns ? capconns * 2 : 32;
        watched *w = realloc(conns, cap * sizeof(*w));
        if (!w) {
            http_conn_free(c);
            return;
        }
        conns = w;
        capconns = cap;
    }
    conns[nconns++] = (watched){c, http_conn_tag(c)};
}

static void drop_conn(emu *e, size_t i)
{
    watched w = conns[i];
    conns[i] = conns[--nconns];
    if (!w.env)
        invoke_conn_closed(e, w.conn);
    else if (w.env->next_conn == w.conn)
        w.env->next_conn = NULL;
    http_conn_free(w.conn);
}

void emu_forget_env(emu *e, environment *env)
{
    for (size_t i = 0; i < nconns;)
        if (conns[i].env == env)
            drop_conn(e, i);
        else
            i++;
}

static void on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;
    if (sig == SIGTERM || sig == SIGINT)
        stop_requested = 1;
    ssize_t w = write(sigpipe_fds[1], &b, 1);
    (void)w;
    errno = saved;
}

static int listen_on(const char *host, int port, int *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "lambda-emu: --host must be an IPv4 address, got %s\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    socklen_t sl = sizeof(sa);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        fprintf(stderr, "lambda-emu: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static void accept_all(emu *e, int lfd, environment *env)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        http_conn *c = env ? http_conn_new(fd, RESPONSE_PAYLOAD_MAX + 1024 * 1024,
                                           env_on_runtime_request, e)
                           : http_conn_new(fd, SYNC_PAYLOAD_MAX + 1024, invoke_on_request, e);
        if (!c) {
            close(fd);
            continue;
        }
        http_conn_set_tag(c, env);
        emu_watch_conn(e, c);
    }
}

static void reap_children(emu *e)
{
    int status;
    pid_t pid;
    struct rusage ru;
    while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0)
        env_on_exit(e, pid, status, ru.ru_maxrss);
}

static int run(emu *e)
{
    struct pollfd *pfds = NULL;
    size_t cap = 0;
    while (!stop_requested) {
        int64_t now = now_mono_ms();
        env_on_timers(e, now);
        env_reap(e);
        env_dispatch_queue(e);
        int64_t next = env_next_timer(e);
        int timeout = next == INT64_MAX ? -1 : next <= now ? 0 : (int)(next - now > 1000 ? 1000 : next - now);

        size_t need = 2 + (size_t)e->nenvs * 2 + nconns;
        if (need > cap) {
            struct pollfd *p = realloc(pfds, need * sizeof(*p));
            if (!p)
                break;
            pfds = p;
            cap = need;
        }
        size_t n = 0;
        pfds[n++] = (struct pollfd){sigpipe_fds[0], POLLIN, 0};
        pfds[n++] = (struct pollfd){e->invoke_fd, POLLIN, 0};
        for (environment *env = e->envs; env; env = env->next) {
            pfds[n++] = (struct pollfd){env->state == ENV_DEAD ? -1 : env->listen_fd, POLLIN, 0};
            pfds[n++] = (struct pollfd){env->log_fd, POLLIN, 0};
        }
        size_t conn_base = n;
        for (size_t i = 0; i < nconns; i++)
            pfds[n++] = (struct pollfd){http_conn_fd(conns[i].conn),
                                        (short)((http_conn_wants_read(conns[i].conn) ? POLLIN : 0) |
                                                (http_conn_wants_write(conns[i].conn) ? POLLOUT : 0)), 0};
        if (poll(pfds, n, timeout) < 0 && errno != EINTR)
            break;

        if (pfds[0].revents) {
            char b[64];
            while (read(sigpipe_fds[0], b, sizeof(b)) > 0)
                ;
            reap_children(e);
        }
        if (pfds[1].revents)
            accept_all(e, e->invoke_fd, NULL);
        size_t k = 2;
        size_t nenv_polled = (conn_base - 2) / 2;
        environment *env = e->envs;
        for (size_t i = 0; i < nenv_polled && env; i++, env = env->next, k += 2) {
            if (pfds[k].revents && env->state != ENV_DEAD)
                accept_all(e, env->listen_fd, env);
            if (pfds[k + 1].revents && env->log_fd >= 0)
                env_on_log(e, env);
        }
        /* Connections: walk the polled ones by fd; the list may change under us. */
        size_t polled = n - conn_base;
        for (size_t i = 0; i < polled; i++) {
            struct pollfd *p = &pfds[conn_base + i];
            if (!p->revents)
                continue;
            size_t j = 0;
            while (j < nconns && http_conn_fd(conns[j].conn) != p->fd)
                j++;
            if (j == nconns)
                continue;
            http_conn *c = conns[j].conn;
            int rc = 0;
            if (p->revents & POLLIN)
                rc = http_conn_on_readable(c);
            else if (p->revents & (POLLHUP | POLLERR))
                rc = -1; /* not reading (input full, or the peer ended its side): gone */
            if (rc == 0 && http_conn_wants_write(c))
                rc = http_conn_on_writable(c);
            if (rc < 0) {
                j = 0;
                while (j < nconns && conns[j].conn != c)
                    j++;
                if (j < nconns)
                    drop_conn(e, j);
            }
        }
        /* Requests that waited behind an answered one are parsed now (handlers only ever add
         * connections, so the walk by index holds), and answers queued by work on other
         * connections (an invoke answered by a runtime's response) go out now rather than
         * after the next poll. */
        for (size_t j = 0; j < nconns;) {
            http_conn *c = conns[j].conn;
            if (http_conn_resume(c) < 0 ||
                (http_conn_wants_write(c) && http_conn_on_writable(c) < 0))
                drop_conn(e, j);
            else
                j++;
        }
        reap_children(e);
    }
    free(pfds);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lambda-emu [options]\n"
            "  --function-name NAME   function name (default: function)\n"
            "  --region REGION        region in the function ARN (default: us-east-1)\n"
            "  --account ID           account in the function ARN (default: 000000000000)\n"
            "  --handler H            _HANDLER given to the runtime (default: handler)\n"
            "  --bootstrap PATH       the runtime executable (default: CODE/bootstrap)\n"
            "  --code DIR             function code folder, LAMBDA_TASK_ROOT (default: .)\n"
            "  --timeout SECONDS      function timeout, 1-900 (default: 3)\n"
            "  --memory MB            memory size, 128-10240 (default: 128)\n"
            "  --concurrency N        most environments at once (default: 10)\n"
            "  --versions N           published versions 1..N besides $LATEST (default: 1)\n"
            "  --init-timeout SECONDS init phase limit (default: 10)\n"
            "  --async-retries N      retries of a failed Event invoke, 0-2 (default: 2)\n"
            "  --async-retry-delay S  delay before the first retry, doubled after (default: 60)\n"
            "  -e, --env KEY=VALUE    environment variable for the function (repeatable)\n"
            "  --host ADDR            Invoke API address (default: 127.0.0.1)\n"
            "  --port PORT            Invoke API port, 0 for any (default: 9001)\n"
            "  --runtime NAME         runtime reported by GetFunction (default: provided.al2023)\n"
            "  --chaos-kill-rate R    tests: SIGKILL the runtime of this fraction (0-1) of\n"
            "                         invocations at a random moment before the deadline\n"
            "  --chaos-seed N         random source of --chaos-kill-rate (default: 1)\n");
}

static int int_arg(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "lambda-emu: %s must be an integer from %d to %d, got \"%s\"\n", opt, lo,
                hi, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int rate_arg(const char *opt, const char *v, double *out)
{
    char *end;
    errno = 0;
    double r = strtod(v, &end);
    if (errno || end == v || *end || !(r >= 0.0 && r <= 1.0)) {
        fprintf(stderr, "lambda-emu: %s must be a number from 0 to 1, got \"%s\"\n", opt, v);
        return -1;
    }
    *out = r;
    return 0;
}

int main(int argc, char **argv)
{
    static emu e;
    emu_config *c = &e.cfg;
    *c = (emu_config){.function_name = "function", .region = "us-east-1",
                      .account = "000000000000", .handler = "handler", .code_dir = ".",
                      .runtime_name = "provided.al2023", .architecture = "x86_64",
                      .listen_host = "127.0.0.1", .listen_port = 9001, .timeout_s = 3,
                      .memory_mb = 128, .concurrency = 10, .versions = 1, .init_timeout_s = 10,
                      .async_retries = 2, .async_retry_delay_s = 60, .chaos_seed = 1};
    static const struct option opts[] = {
        {"function-name", 1, 0, 'f'}, {"region", 1, 0, 'r'},       {"account", 1, 0, 'a'},
        {"handler", 1, 0, 'H'},       {"bootstrap", 1, 0, 'b'},    {"code", 1, 0, 'c'},
        {"timeout", 1, 0, 't'},       {"memory", 1, 0, 'm'},       {"concurrency", 1, 0, 'n'},
        {"versions", 1, 0, 'V'},      {"init-timeout", 1, 0, 'I'}, {"async-retries", 1, 0, 'R'},
        {"async-retry-delay", 1, 0, 'D'}, {"env", 1, 0, 'e'},      {"host", 1, 0, 'h'},
        {"port", 1, 0, 'p'},          {"runtime", 1, 0, 'u'},      {"help", 0, 0, '?'},
        {"chaos-kill-rate", 1, 0, 'K'}, {"chaos-seed", 1, 0, 'S'}, {0, 0, 0, 0}};
    static char *envs[256];
    static char code_abs[PATH_MAX], boot_abs[PATH_MAX];
    int ch, bad = 0;
    while ((ch = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': c->function_name = optarg; break;
        case 'r': c->region = optarg; break;
        case 'a': c->account = optarg; break;
        case 'H': c->handler = optarg; break;
        case 'b': c->bootstrap = optarg; break;
        case 'c': c->code_dir = optarg; break;
        case 't': bad |= int_arg("--timeout", optarg, 1, 900, &c->timeout_s); break;
        case 'm': bad |= int_arg("--memory", optarg, 128, 10240, &c->memory_mb); break;
        case 'n': bad |= int_arg("--concurrency", optarg, 1, 1000, &c->concurrency); break;
        case 'V': bad |= int_arg("--versions", optarg, 0, 100000, &c->versions); break;
        case 'I': bad |= int_arg("--init-timeout", optarg, 1, 600, &c->init_timeout_s); break;
        case 'R': bad |= int_arg("--async-retries", optarg, 0, 2, &c->async_retries); break;
        case 'D': bad |= int_arg("--async-retry-delay", optarg, 0, 3600, &c->async_retry_delay_s); break;
        case 'h': c->listen_host = optarg; break;
        case 'p': bad |= int_arg("--port", optarg, 0, 65535, &c->listen_port); break;
        case 'u': c->runtime_name = optarg; break;
        case 'K': bad |= rate_arg("--chaos-kill-rate", optarg, &c->chaos_kill_rate); break;
        case 'S': {
            int seed = 0;
            bad |= int_arg("--chaos-seed", optarg, 0, INT_MAX, &seed);
            c->chaos_seed = (unsigned)seed;
            break;
        }
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "lambda-emu: --env wants KEY=VALUE, got \"%s\"\n", optarg);
                bad = 1;
            } else if (c->nenv < (int)(sizeof(envs) / sizeof(envs[0]))) {
                envs[c->nenv++] = optarg;
            }
            break;
        case '?':
        default: usage(ch == '?' && optopt == 0 ? stdout : stderr); return ch == '?' && optopt == 0 ? 0 : 2;
        }
    }
    c->env = envs;
    if (bad)
        return 2;
    if (!realpath(c->code_dir, code_abs)) {
        fprintf(stderr, "lambda-emu: --code %s: %s\n", c->code_dir, strerror(errno));
        return 2;
    }
    c->code_dir = code_abs;
    if (!c->bootstrap) {
        if ((size_t)snprintf(boot_abs, sizeof(boot_abs), "%.*s/bootstrap", PATH_MAX - 16,
                             code_abs) >= sizeof(boot_abs))
            return 2;
    }
    else if (!realpath(c->bootstrap, boot_abs))
        snprintf(boot_abs, sizeof(boot_abs), "%s", c->bootstrap); /* reported at first invoke */
    c->bootstrap = boot_abs;
    snprintf(e.arn, sizeof(e.arn), "arn:aws:lambda:%s:%s:function:%s", c->region, c->account,
             c->function_name);
    e.queue_tail = &e.queue;
    e.chaos_rng = c->chaos_seed * 2654435761u ^ 0x9e3779b9u;
    if (!e.chaos_rng)
        e.chaos_rng = 1;

    if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK))
        return 1;
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    e.invoke_fd = listen_on(c->listen_host, c->listen_port, &e.invoke_port);
    if (e.invoke_fd < 0)
        return 1;
    emu_print("lambda-emu: listening on %s:%d for %s (timeout %d s, memory %d MB, concurrency %d)\n",
              c->listen_host, e.invoke_port, e.arn, c->timeout_s, c->memory_mb, c->concurrency);
    if (c->chaos_kill_rate > 0)
        emu_print("lambda-emu: chaos: killing the runtime in %.1f%% of invocations (seed %u)\n",
                  c->chaos_kill_rate * 100.0, c->chaos_seed);
    run(&e);

    env_shutdown_all(&e);
    for (int i = 0; i < 50 && e.envs; i++) { /* wait for the killed runtimes, briefly */
        reap_children(&e);
        for (environment *env = e.envs; env; env = env->next)
            if (env->pid > 0 && waitpid(env->pid, NULL, WNOHANG) == env->pid)
                env->pid = -env->pid;
        env_reap(&e);
        if (e.envs)
            usleep(10000);
    }
    while (nconns)
        drop_conn(&e, nconns - 1);
    free(conns);
    for (invocation *q = e.queue, *nx; q; q = nx) {
        nx = q->next;
        invocation_free(q);
    }
    close(e.invoke_fd);
    return 0;
}
