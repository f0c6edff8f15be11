/*
 * log: one JSON object per line on stderr, written with a single write(2) so lines from
 * several threads never interleave. Messages are escaped here; nothing is buffered.
 */
#define _POSIX_C_SOURCE 200809L
#include "log.h"
#include "crash.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const NAMES[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
static int min_level = LOG_INFO;
static char request_id[LOG_REQUEST_ID_MAX + 1];
static char trace_id[LOG_TRACE_ID_MAX + 1]; /* under lock, as request_id */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Copies, not pointers: the crash handler reads them, and the task's memory may be gone by
 * then or when a line is written after the task. */
static __thread struct {
    char kind[LOG_KIND_MAX + 1];
    char type[LOG_NAME_MAX + 1];
    char workflow_id[LOG_NAME_MAX + 1];
    char activity_id[LOG_ACTIVITY_ID_MAX + 1];
} task;

/* Copies |s| (NULL: "") into |dst| of |cap| bytes, cut before a character that does not fit
 * so that a cut string stays valid UTF-8. dst[cap - 1] is only ever written as NUL. */
static void copy_field(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strnlen(s, cap) : 0;
    if (n == cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) /* s[n]: the first byte left out */
            n--;
    }
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

void log_set_task(const char *kind, const char *type, const char *workflow_id,
                  const char *activity_id)
{
    if (kind)
        crash_thread_init();
    copy_field(task.kind, sizeof(task.kind), kind);
    copy_field(task.type, sizeof(task.type), type);
    copy_field(task.workflow_id, sizeof(task.workflow_id), workflow_id);
    copy_field(task.activity_id, sizeof(task.activity_id), activity_id);
}

void log_context_get(log_context *out)
{
    out->request_id = request_id;
    out->trace_id = trace_id;
    out->kind = task.kind;
    out->type = task.type;
    out->workflow_id = task.workflow_id;
    out->activity_id = task.activity_id;
}

void log_init(void)
{
    const char *v = getenv("AWS_LAMBDA_LOG_LEVEL");
    if (!v || !*v)
        return;
    for (int i = 0; i < (int)(sizeof(NAMES) / sizeof(NAMES[0])); i++)
        if (strcasecmp(v, NAMES[i]) == 0)
            min_level = i;
}

void log_set_request_id(const char *id)
{
    pthread_mutex_lock(&lock);
    snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
    pthread_mutex_unlock(&lock);
}

void log_trace_root(const char *header, char *out, size_t cap)
{
    if (!cap)
        return;
    const char *v = header ? header : "";
    size_t n = strlen(v);
    for (const char *p = v; *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 5 && strncmp(p, "Root=", 5) == 0) {
            v = p + 5;
            n = len - 5;
            break;
        }
        p += len + (end != NULL);
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

void log_set_trace_id(const char *header)
{
    char root[LOG_TRACE_ID_MAX + 1];
    log_trace_root(header, root, sizeof(root));
    pthread_mutex_lock(&lock);
    memcpy(trace_id, root, strlen(root) + 1);
    pthread_mutex_unlock(&lock);
}

int log_enabled(int level)
{
    return level >= min_level;
}

/* Appends |s| JSON-escaped to |out| (|cap| bytes, |*len| used); truncates when full. */
static void escape(char *out, size_t cap, size_t *len, const char *s)
{
    for (; *s && *len + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[(*len)++] = '\\';
            out[(*len)++] = (char)ch;
        } else if (ch < 0x20) {
            *len += (size_t)snprintf(out + *len, cap - *len, "\\u%04x", ch);
        } else {
            out[(*len)++] = (char)ch;
        }
    }
}

/* Appends ,"|name|":"|value|" to |line| unless |value| is empty. */
static void field(char *line, size_t cap, size_t *len, const char *name, const char *value)
{
    if (!value[0])
        return;
    *len += (size_t)snprintf(line + *len, cap - *len, ",\"%s\":\"", name);
    escape(line, cap, len, value);
    line[(*len)++] = '"';
}

void log_write(int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[2048], line[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = (size_t)snprintf(line, sizeof(line),
                                  "{\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
                                  "\"level\":\"%s\"",
                                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                  tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, NAMES[level]);
    pthread_mutex_lock(&lock);
    if (request_id[0]) {
        len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"requestId\":\"");
        escape(line, sizeof(line), &len, request_id);
        line[len++] = '"';
    }
    field(line, sizeof(line), &len, "traceId", trace_id);
    pthread_mutex_unlock(&lock);
    field(line, sizeof(line), &len, "taskKind", task.kind);
    field(line, sizeof(line), &len, "workflowId", task.workflow_id);
    field(line, sizeof(line), &len, "taskType", task.type);
    field(line, sizeof(line), &len, "activityId", task.activity_id);
    len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"message\":\"");
    escape(line, sizeof(line) - 3, &len, msg);
    line[len++] = '"';
    line[len++] = '}';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
