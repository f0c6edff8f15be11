/*
 * log: one JSON object per line on stderr, written with a single write(2) so lines from
 * several threads never interleave. Messages are escaped here; nothing is buffered.
 */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

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
static char request_id[128];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread const char *task_kind, *task_workflow;

void log_set_task(const char *kind, const char *workflow_id)
{
    task_kind = kind;
    task_workflow = workflow_id;
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
    pthread_mutex_unlock(&lock);
    if (task_kind) {
        len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"taskKind\":\"");
        escape(line, sizeof(line), &len, task_kind);
        line[len++] = '"';
    }
    if (task_workflow) {
        len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"workflowId\":\"");
        escape(line, sizeof(line), &len, task_workflow);
        line[len++] = '"';
    }
    len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"message\":\"");
    escape(line, sizeof(line) - 3, &len, msg);
    line[len++] = '"';
    line[len++] = '}';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
