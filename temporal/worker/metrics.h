/*
 * metrics: what one invocation did, as one CloudWatch Embedded Metric Format line on stdout
 * (TEMPORAL_METRICS=emf; runtime/emf.h writes it). The worker counts and samples while it
 * runs (worker_int.h, under its mutex) and hands a copy back in worker_result; the function
 * handler writes the line once the invocation is over. The metric names and their meaning are
 * in README.md, "Metrics and traces".
 *
 * One dimension set, {TaskQueue, DeploymentName, BuildId}: one set of metrics per deployed
 * version, whatever the traffic. What would multiply them (the request id, the trace id, why
 * the invocation stopped) goes in as properties, for CloudWatch Logs Insights.
 *
 * Threading: metrics_write is called by the invocation's thread, after the worker ended.
 */
#ifndef TW_METRICS_H
#define TW_METRICS_H

#include <stdint.h>

#include "runtime/emf.h"
#include "temporal/config/settings.h"

typedef struct worker_metrics {
    const char *stop;        /* "idle", "deadline"; NULL: the invocation failed ("error") */
    int wf_tasks, wf_failed; /* workflow tasks run (not queries), and of those failed */
    int acts_completed, acts_failed, acts_failed_back;
    int poll_errors;
    int64_t idle_ms;         /* from the last task's end to the stop; -1: it did not poll */
    emf_samples wft_latency; /* ms per workflow task, from its poll's answer to its own */
    emf_samples replay;      /* ms per task replayed from the first event (no kept run) */
    emf_samples poll_wait;   /* ms each poll that brought a task had been open */
} worker_metrics;

/* Monotonic microseconds, for the samples. */
int64_t metrics_clock_us(void);

/* The line for |m| under |s|'s namespace and dimensions, with |request_id| and |trace_id|
 * (the X-Ray Root; "" or NULL: left out) as properties, stamped |now_ms| (Unix ms), into
 * |out| (|cap| bytes). Its length, or -1 (emf_format). */
int metrics_format(const settings *s, const worker_metrics *m, const char *request_id,
                   const char *trace_id, int64_t now_ms, char *out, size_t cap);

/* Writes that line to stdout (one write) when |s| has metrics on; the request id and trace id
 * are the log's (runtime/log.h). Nothing when off; a line that cannot be made is logged. */
void metrics_write(const settings *s, const worker_metrics *m);

#endif
