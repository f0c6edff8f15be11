/*
 * harness: emulator processes and HTTP calls for integration tests.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

const char *harness_built(const char *name)
{
    static char path[512];
    const char *build = getenv("BUILD");
    snprintf(path, sizeof(path), "%s/%s", build && *build ? build : "build", name);
    return path;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

char *read_all(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "r");
    FILE *m = open_memstream(&data, &n);
    char buf[8192];
    size_t got;
    while (f && m && (got = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, got, m);
    if (f)
        fclose(f);
    if (m)
        fclose(m);
    if (len)
        *len = n;
    return data ? data : strdup("");
}

char *emu_output(const emu_proc *p)
{
    return read_all(p->log, NULL);
}

int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

int emu_wait_output(const emu_proc *p, const char *needle, int count, int ms)
{
    for (int waited = 0;; waited += 20) {
        char *out = emu_output(p);
        int n = count_substr(out, needle);
        free(out);
        if (n >= count)
            return 0;
        if (waited >= ms)
            return -1;
        sleep_ms(20);
    }
}

int emu_start(emu_proc *p, const char *bootstrap, const char *const *args)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/tw-emu-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    char handler[300], boot[4096];
    snprintf(handler, sizeof(handler), "%s/handler.so", p->dir);
    int fd = open(handler, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        close(fd);
    snprintf(p->log, sizeof(p->log), "%s/emulator.log", p->dir);
    if (!realpath(bootstrap, boot))
        snprintf(boot, sizeof(boot), "%s", bootstrap);

    const char *argv[64];
    int n = 0;
    argv[n++] = harness_built("lambda-emu");
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--code";
    argv[n++] = p->dir;
    argv[n++] = "--bootstrap";
    argv[n++] = boot;
    argv[n++] = "--handler";
    argv[n++] = "handler.so";
    for (int i = 0; args && args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a test that dies leaves no emulator behind */
        int out = open(p->log, O_CREAT | O_WRONLY | O_TRUNC | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    for (int waited = 0; waited < 5000; waited += 10) {
        char *out = emu_output(p);
        char *at = strstr(out, "listening on 127.0.0.1:");
        if (at)
            p->port = atoi(at + strlen("listening on 127.0.0.1:"));
        free(out);
        if (p->port)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            p->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

int emu_stop(emu_proc *p)
{
    int bad = 0;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        for (int i = 0; i < 300 && waitpid(p->pid, NULL, WNOHANG) == 0; i++)
            sleep_ms(10);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    /* Sanitizer reports of the emulator or of a runtime it ran land in its output. */
    char *out = emu_output(p);
    if (strstr(out, "Sanitizer") || strstr(out, "runtime error:")) {
        fprintf(stderr, "sanitizer report in the emulator's output:\n%s\n", out);
        bad = -1;
    }
    free(out);
    if (p->dir[0] && !getenv("TW_KEEP_TMP")) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
        int rc = system(cmd);
        (void)rc;
    }
    return bad;
}

typedef struct sink {
    char *data;
    size_t len;
} sink;

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    char *d = realloc(s->data, s->len + size * n + 1);
    if (!d)
        return 0;
    memcpy(d + s->len, ptr, size * n);
    s->len += size * n;
    d[s->len] = '\0';
    s->data = d;
    return size * n;
}

static int perform(const char *url, const char *body, const char *const *headers,
                   http_answer *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    sink hs = {0}, bs = {0};
    memset(out, 0, sizeof(*out));
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    out->headers = hs.data ? hs.data : strdup("");
    out->body = bs.data ? bs.data : strdup("");
    out->body_len = bs.len;
    return rc == CURLE_OK ? 0 : -1;
}

int emu_invoke(const emu_proc *p, const char *function, const char *type, const char *payload,
               const char *const *extra, http_answer *out)
{
    char url[512], th[128];
    const char *headers[32];
    int n = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/%s/invocations", p->port,
             function ? function : "function");
    if (type) {
        snprintf(th, sizeof(th), "X-Amz-Invocation-Type: %s", type);
        headers[n++] = th;
    }
    for (int i = 0; extra && extra[i] && n < 30; i++)
        headers[n++] = extra[i];
    headers[n] = NULL;
    return perform(url, payload ? payload : "", headers, out);
}

int http_get(const char *url, http_answer *out)
{
    return perform(url, NULL, NULL, out);
}

void http_answer_free(http_answer *a)
{
    free(a->headers);
    free(a->body);
    memset(a, 0, sizeof(*a));
}

char *http_answer_header(const http_answer *a, const char *name)
{
    size_t nl = strlen(name);
    for (const char *line = a->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            return strndup(v, len - (size_t)(v - line));
        }
        if (!eol)
            break;
        line = eol + 2;
    }
    return NULL;
}
