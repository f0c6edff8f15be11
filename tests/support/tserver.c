/*
 * tserver: Temporal server and driver processes for integration tests.
 */
#define _GNU_SOURCE
#include "tserver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int tserver_start(tserver *s, int port, const char *dir, const char *const *extra)
{
    char keep_tls[4][300];
    int keep_n = s->ntls_args;
    memcpy(keep_tls, s->tls_args, sizeof(keep_tls));
    memset(s, 0, sizeof(*s));
    memcpy(s->tls_args, keep_tls, sizeof(keep_tls));
    s->ntls_args = keep_n;
    if (dir) {
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
    } else {
        snprintf(s->dir, sizeof(s->dir), "/tmp/tw-temporal-XXXXXX");
        if (!mkdtemp(s->dir))
            return -1;
    }
    s->port = port ? port : free_port();
    snprintf(s->log, sizeof(s->log), "%s/server-%d.log", s->dir, s->port);
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", s->port);
    const char *argv[40];
    int n = 0;
    argv[n++] = harness_built("temporal-server");
    argv[n++] = "--port";
    argv[n++] = portstr;
    argv[n++] = "--exit-with-parent"; /* a test that dies leaves no server behind */
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    char bin[512];
    snprintf(bin, sizeof(bin), "%s", argv[0]);
    argv[0] = bin;
    int trunc = open(s->log, O_CREAT | O_WRONLY | O_TRUNC, 0644); /* before we look at it */
    if (trunc >= 0)
        close(trunc);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int out = open(s->log, O_CREAT | O_WRONLY | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        setpgid(0, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    char needle[64];
    snprintf(needle, sizeof(needle), "listening on 127.0.0.1:%d", s->port);
    for (int waited = 0; waited < 120000; waited += 50) {
        char *out = read_all(s->log, NULL);
        int up = strstr(out, needle) != NULL;
        free(out);
        if (up)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            s->pid = 0;
            break;
        }
        sleep_ms(50);
    }
    char *out = read_all(s->log, NULL);
    fprintf(stderr, "temporal server did not start:\n%s\n", out);
    free(out);
    tserver_stop(s, 1, 1);
    return -1;
}

void tserver_stop(tserver *s, int hard, int keep_dir)
{
    if (s->pid > 0) {
        kill(-s->pid, hard ? SIGKILL : SIGTERM);
        for (int i = 0; i < 1000 && waitpid(s->pid, NULL, WNOHANG) == 0; i++)
            sleep_ms(10);
        kill(-s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (!keep_dir && s->dir[0] && !getenv("TW_KEEP_TMP")) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        int rc = system(cmd);
        (void)rc;
        s->dir[0] = '\0';
    }
}

int driver_run(const tserver *s, char **out, const char *const *args)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->port);
    const char *argv[64];
    int n = 0;
    char bin[512];
    snprintf(bin, sizeof(bin), "%s", harness_built("tw-driver"));
    argv[n++] = bin;
    argv[n++] = "--address";
    argv[n++] = addr;
    for (int i = 0; i < s->ntls_args; i++)
        argv[n++] = s->tls_args[i];
    for (int i = 0; args && args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int pipefd[2];
    if (pipe(pipefd))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char buf[8192];
    ssize_t r;
    while ((r = read(pipefd[0], buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)r, m);
    fclose(m);
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (out)
        *out = data;
    else
        free(data);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

cJSON *driver_json_of(const tserver *s, const char *const *args, char **why)
{
    char *out = NULL;
    int rc = driver_run(s, &out, args);
    cJSON *o = rc == 0 && out ? cJSON_Parse(out) : NULL;
    *why = NULL;
    if (!o && asprintf(why, "driver %s: exit status %d: %s", args[0], rc, out ? out : "") < 0)
        *why = NULL;
    free(out);
    return o;
}

int make_certs(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "bash local/temporal/certs.sh '%s' >/dev/null 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}
