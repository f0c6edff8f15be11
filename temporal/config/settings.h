/*
 * settings: the worker's own configuration from the function's environment (envconfig in
 * envconfig.h covers the connection). Every mistake is reported naming the variable and what is
 * wrong; nothing here opens anything.
 *
 *   TEMPORAL_TASK_QUEUE                      required
 *   TEMPORAL_DEPLOYMENT_NAME                 required: the Worker Deployment
 *   TEMPORAL_WORKER_BUILD_ID                 required: the build id of its version
 *   TEMPORAL_WORKER_STOP_TIMEOUT             drain time after polling stops (5s)
 *   TEMPORAL_SHUTDOWN_BUFFER                 stop polling this long before the deadline
 *                                            (stop timeout + 2s, i.e. 7s)
 *   TEMPORAL_WORKFLOW_TASK_POLLERS           2
 *   TEMPORAL_ACTIVITY_TASK_POLLERS           1
 *   TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS   10
 *   TEMPORAL_MAX_CONCURRENT_ACTIVITIES       2
 *   TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR     pinned | auto_upgrade: the behaviour of workflows
 *                                            registered with none (0); unset, such a workflow
 *                                            fails init (registry/reg.h)
 *   TEMPORAL_IDLE_EXIT                       end the invocation after this long without a task
 *                                            and with nothing running (2s; 0s: off, work until
 *                                            deadline - buffer as the official helpers do)
 *   TEMPORAL_DEADLOCK_DETECTION_TIMEOUT      fail the task of workflow code that runs this
 *                                            long without yielding (1s; 0s: off)
 *   TEMPORAL_WORKFLOW_CACHE_SIZE             workflow runs kept in memory between their tasks
 *                                            within an invocation (sticky execution; 100, as
 *                                            the official Lambda helper; 0: off, every task
 *                                            replays its whole history)
 *   TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT  how long a workflow task may wait on the
 *                                            invocation's own (sticky) queue before the server
 *                                            gives it to the task queue (5s; at least 1s;
 *                                            shortened near the invocation's end)
 *   TEMPORAL_METRICS                         off | emf: one CloudWatch Embedded Metric Format
 *                                            line per invocation (temporal/worker/metrics.h;
 *                                            off: custom metrics are billed per metric)
 *   TEMPORAL_METRICS_NAMESPACE               its CloudWatch namespace (TemporalLambdaWorker)
 * The shutdown buffer must be at least the stop timeout + 1s (SETTINGS_STOP_MARGIN_MS).
 * Durations are a number with a unit: ms, s or m ("7s", "500ms").
 */
#ifndef TW_SETTINGS_H
#define TW_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct settings {
    char *task_queue;
    char *deployment_name;
    char *build_id;
    int64_t stop_timeout_ms;
    int64_t shutdown_buffer_ms;
    int workflow_pollers;
    int activity_pollers;
    int max_workflow_tasks;
    int max_activities;
    int default_versioning; /* 0: none, else tw_versioning (1 pinned, 2 auto_upgrade) */
    int64_t idle_exit_ms;   /* 0: work until deadline - buffer */
    int64_t deadlock_timeout_ms; /* workflow code running this long without yielding fails its
                                  * task (TEMPORAL_DEADLOCK_DETECTION_TIMEOUT, 1 s); 0: off */
    int workflow_cache_size;     /* runs kept between tasks (sticky execution); 0: off */
    int64_t sticky_timeout_ms;   /* the sticky queue's schedule-to-start timeout */
    int metrics;                 /* SETTINGS_METRICS_* (TEMPORAL_METRICS) */
    char *metrics_namespace;     /* TEMPORAL_METRICS_NAMESPACE, or the default's copy */

/* What the shutdown buffer must hold beyond the stop timeout: failing back the activities still
 * running (all at once) and answering the invocation. The worker's hard deadline is the Lambda
 * deadline minus SETTINGS_ANSWER_MARGIN_MS. */
#define SETTINGS_STOP_MARGIN_MS 1000
#define SETTINGS_ANSWER_MARGIN_MS 500

/* Chosen from bench/idle-exit.sh (README, "Idle exit"): 2 s bills about a ninth of working to
 * the deadline and still covers the usual gaps (an activity's result turning into the next
 * workflow task, sub-second timers) without a new invocation. */
#define SETTINGS_DEFAULT_IDLE_EXIT_MS 2000

/* As the official Go Lambda helper (contrib/aws/lambdaworker) and the Go SDK's defaults: a
 * sticky cache of 100 workflows, a sticky schedule-to-start timeout of 5 s. */
#define SETTINGS_DEFAULT_WORKFLOW_CACHE_SIZE 100
#define SETTINGS_DEFAULT_STICKY_TIMEOUT_MS 5000

/* TEMPORAL_METRICS: off by default (README, "Metrics and traces"). */
#define SETTINGS_METRICS_OFF 0
#define SETTINGS_METRICS_EMF 1
#define SETTINGS_DEFAULT_METRICS_NAMESPACE "TemporalLambdaWorker"
} settings;

/* Reads |env| (NULL-terminated "KEY=VALUE"; NULL: empty). 0, or -1 with |err|. */
int settings_load(settings *out, const char *const *env, char *err, size_t errlen);
void settings_free(settings *s);
/* Parses "7s", "500ms", "2m" into milliseconds. 0, or -1 when malformed. */
int settings_parse_duration(const char *s, int64_t *ms);

#endif
