/*
 * metrics: the invocation's EMF line. See metrics.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/worker/metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/log.h"
#include "temporal/clock.h"

/* Room for every metric with 100 samples each, and the strings (settings bound their length). */
#define LINE_MAX_BYTES 16384

int64_t metrics_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int metrics_format(const settings *s, const worker_metrics *m, const char *request_id,
                   const char *trace_id, int64_t now_ms, char *out, size_t cap)
{
    const char *stop = m->stop ? m->stop : "error";
    emf_member dims[] = {{"TaskQueue", s->task_queue},
                         {"DeploymentName", s->deployment_name},
                         {"BuildId", s->build_id}};
    emf_member props[3];
    int nprops = 0;
    props[nprops++] = (emf_member){"stopReason", stop};
    if (request_id && *request_id)
        props[nprops++] = (emf_member){"requestId", request_id};
    if (trace_id && *trace_id)
        props[nprops++] = (emf_member){"traceId", trace_id};
    emf_metric metrics[14];
    int n = 0;
#define COUNT(name, v) metrics[n++] = (emf_metric){name, "Count", (double)(v), NULL}
#define SAMPLES(name, s) metrics[n++] = (emf_metric){name, "Milliseconds", 0, s}
    COUNT("WorkflowTasks", m->wf_tasks);
    COUNT("WorkflowTaskFailures", m->wf_failed);
    SAMPLES("WorkflowTaskLatency", &m->wft_latency);
    SAMPLES("ReplayLatency", &m->replay);
    COUNT("ActivitiesCompleted", m->acts_completed);
    COUNT("ActivitiesFailed", m->acts_failed);
    COUNT("ActivitiesFailedBack", m->acts_failed_back);
    SAMPLES("PollWait", &m->poll_wait);
    COUNT("PollErrors", m->poll_errors);
    if (m->idle_ms >= 0)
        metrics[n++] = (emf_metric){"IdleBeforeExit", "Milliseconds", (double)m->idle_ms, NULL};
    COUNT("StoppedIdle", strcmp(stop, "idle") == 0);
    COUNT("StoppedAtDeadline", strcmp(stop, "deadline") == 0);
    COUNT("StoppedOnError", strcmp(stop, "error") == 0);
#undef COUNT
#undef SAMPLES
    emf_doc d = {.ns = s->metrics_namespace, .timestamp_ms = now_ms,
                 .dims = dims, .ndims = 3, .metrics = metrics, .nmetrics = n,
                 .props = props, .nprops = nprops};
    return emf_format(&d, out, cap);
}

void metrics_write(const settings *s, const worker_metrics *m)
{
    if (s->metrics != SETTINGS_METRICS_EMF)
        return;
    log_context lc;
    log_context_get(&lc);
    char line[LINE_MAX_BYTES];
    int len = metrics_format(s, m, lc.request_id, lc.trace_id, clock_wall_ms(), line,
                             sizeof(line));
    if (len < 0) {
        log_error("the invocation's metrics line could not be made (over %d bytes)",
                  LINE_MAX_BYTES);
        return;
    }
    /* stdout, as the EMF documents for Lambda; one write, so no other line cuts it. */
    ssize_t w = write(STDOUT_FILENO, line, (size_t)len);
    (void)w;
}
