/*
 * settings: the worker's environment variables. See settings.h.
 */
#define _GNU_SOURCE
#include "temporal/config/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *lookup(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

int settings_parse_duration(const char *s, int64_t *ms)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || v < 0)
        return -1;
    int64_t mult;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else
        return -1;
    if (v > INT64_MAX / mult / 1000)
        return -1;
    *ms = v * mult;
    return 0;
}

static int get_string(const char *const *env, const char *name, char **out, char *err,
                      size_t errlen)
{
    const char *v = lookup(env, name);
    if (!v || !*v) {
        snprintf(err, errlen, "%s is not set", name);
        return -1;
    }
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20) {
            snprintf(err, errlen, "%s contains a control character", name);
            return -1;
        }
    if (!(*out = strdup(v))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int get_int(const char *const *env, const char *name, int lo, int hi, int *out, char *err,
                   size_t errlen)
{
    const char *v = lookup(env, name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        snprintf(err, errlen, "%s: expected a whole number from %d to %d, got \"%.40s\"", name, lo,
                 hi, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int get_duration(const char *const *env, const char *name, int64_t *out, int *set,
                        char *err, size_t errlen)
{
    const char *v = lookup(env, name);
    *set = 0;
    if (!v || !*v)
        return 0;
    if (settings_parse_duration(v, out) || *out > 15 * 60 * 1000) {
        snprintf(err, errlen, "%s: expected a duration such as 7s or 500ms (at most 15m), got "
                              "\"%.40s\"", name, v);
        return -1;
    }
    *set = 1;
    return 0;
}

/* TEMPORAL_METRICS and TEMPORAL_METRICS_NAMESPACE. With metrics on, the task queue, the
 * deployment name and the build id are dimension values: CloudWatch takes only ASCII there, at
 * most 1024 characters, and would drop the whole line otherwise. */
static int get_metrics(settings *s, const char *const *env, char *err, size_t errlen)
{
    const char *v = lookup(env, "TEMPORAL_METRICS");
    if (v && *v && strcasecmp(v, "emf") == 0) {
        s->metrics = SETTINGS_METRICS_EMF;
    } else if (v && *v && strcasecmp(v, "off") != 0) {
        snprintf(err, errlen, "TEMPORAL_METRICS: expected off or emf, got \"%.40s\"", v);
        return -1;
    }
    const char *ns = lookup(env, "TEMPORAL_METRICS_NAMESPACE");
    if (!ns || !*ns)
        ns = SETTINGS_DEFAULT_METRICS_NAMESPACE;
    size_t n = strlen(ns);
    int ascii = 1, blank = 1;
    for (const char *p = ns; *p; p++) {
        ascii &= (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
        blank &= *p == ' ';
    }
    if (n > 255 || !ascii || blank || ns[0] == ':' || strncmp(ns, "AWS/", 4) == 0) {
        snprintf(err, errlen, "TEMPORAL_METRICS_NAMESPACE: a CloudWatch namespace is 1 to 255 "
                              "printable ASCII characters, not starting with ':' or \"AWS/\"; "
                              "got \"%.40s\"", ns);
        return -1;
    }
    if (!(s->metrics_namespace = strdup(ns))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->metrics == SETTINGS_METRICS_OFF)
        return 0;
    const struct { const char *name, *value; } dims[] = {
        {"TEMPORAL_TASK_QUEUE", s->task_queue},
        {"TEMPORAL_DEPLOYMENT_NAME", s->deployment_name},
        {"TEMPORAL_WORKER_BUILD_ID", s->build_id}};
    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        int ok = strlen(dims[i].value) <= 1024;
        for (const char *p = dims[i].value; *p; p++)
            ok &= (unsigned char)*p < 0x80;
        if (!ok) {
            snprintf(err, errlen, "TEMPORAL_METRICS=emf: %s is a metric dimension, which "
                                  "CloudWatch takes only in ASCII and up to 1024 characters; "
                                  "turn metrics off or use such a name", dims[i].name);
            return -1;
        }
    }
    return 0;
}

int settings_load(settings *s, const char *const *env, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->stop_timeout_ms = 5000;
    s->workflow_pollers = 2;
    s->activity_pollers = 1;
    s->max_workflow_tasks = 10;
    s->max_activities = 2;
    s->idle_exit_ms = SETTINGS_DEFAULT_IDLE_EXIT_MS;
    s->deadlock_timeout_ms = 1000;
    s->workflow_cache_size = SETTINGS_DEFAULT_WORKFLOW_CACHE_SIZE;
    s->sticky_timeout_ms = SETTINGS_DEFAULT_STICKY_TIMEOUT_MS;
    int buffer_set = 0, stop_set = 0, idle_set = 0, deadlock_set = 0, sticky_set = 0;
    if (get_string(env, "TEMPORAL_TASK_QUEUE", &s->task_queue, err, errlen) ||
        get_string(env, "TEMPORAL_DEPLOYMENT_NAME", &s->deployment_name, err, errlen) ||
        get_string(env, "TEMPORAL_WORKER_BUILD_ID", &s->build_id, err, errlen) ||
        get_duration(env, "TEMPORAL_WORKER_STOP_TIMEOUT", &s->stop_timeout_ms, &stop_set, err, errlen) ||
        get_duration(env, "TEMPORAL_SHUTDOWN_BUFFER", &s->shutdown_buffer_ms, &buffer_set, err, errlen) ||
        get_duration(env, "TEMPORAL_IDLE_EXIT", &s->idle_exit_ms, &idle_set, err, errlen) ||
        get_duration(env, "TEMPORAL_DEADLOCK_DETECTION_TIMEOUT", &s->deadlock_timeout_ms,
                     &deadlock_set, err, errlen) ||
        get_int(env, "TEMPORAL_WORKFLOW_TASK_POLLERS", 1, 64, &s->workflow_pollers, err, errlen) ||
        get_int(env, "TEMPORAL_ACTIVITY_TASK_POLLERS", 1, 64, &s->activity_pollers, err, errlen) ||
        get_int(env, "TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", 1, 1000, &s->max_workflow_tasks, err, errlen) ||
        get_int(env, "TEMPORAL_MAX_CONCURRENT_ACTIVITIES", 1, 1000, &s->max_activities, err, errlen) ||
        get_int(env, "TEMPORAL_WORKFLOW_CACHE_SIZE", 0, 100000, &s->workflow_cache_size, err,
                errlen) ||
        get_duration(env, "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT", &s->sticky_timeout_ms,
                     &sticky_set, err, errlen) ||
        get_metrics(s, env, err, errlen))
        goto fail;
    if (sticky_set && s->sticky_timeout_ms < 1000) {
        snprintf(err, errlen, "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT: at least 1s (a "
                              "workflow task on this invocation's own queue falls back to the "
                              "task queue after it), got %lld ms", (long long)s->sticky_timeout_ms);
        goto fail;
    }
    if (!buffer_set)
        s->shutdown_buffer_ms = s->stop_timeout_ms + 2000; /* stop timeout + time for hooks */
    else if (s->shutdown_buffer_ms < s->stop_timeout_ms + SETTINGS_STOP_MARGIN_MS) {
        snprintf(err, errlen, "TEMPORAL_SHUTDOWN_BUFFER (%lld ms) must be at least "
                              "TEMPORAL_WORKER_STOP_TIMEOUT (%lld ms) plus %d ms to fail back "
                              "running activities and answer the invocation before the "
                              "deadline; raise the buffer or lower the stop timeout",
                 (long long)s->shutdown_buffer_ms, (long long)s->stop_timeout_ms,
                 SETTINGS_STOP_MARGIN_MS);
        goto fail;
    }
    const char *vb = lookup(env, "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR");
    if (vb && *vb) {
        if (strcasecmp(vb, "pinned") == 0)
            s->default_versioning = 1;
        else if (strcasecmp(vb, "auto_upgrade") == 0 || strcasecmp(vb, "auto-upgrade") == 0)
            s->default_versioning = 2;
        else {
            snprintf(err, errlen, "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR: expected pinned or "
                                  "auto_upgrade, got \"%.40s\"", vb);
            goto fail;
        }
    }
    return 0;
fail:
    settings_free(s);
    return -1;
}

void settings_free(settings *s)
{
    if (!s)
        return;
    free(s->task_queue);
    free(s->deployment_name);
    free(s->build_id);
    free(s->metrics_namespace);
    memset(s, 0, sizeof(*s));
}
