/*
 * worker: one Lambda invocation's Temporal worker. Connects afresh, checks the namespace,
 * polls workflow and activity tasks as a VERSIONED worker of the configured Worker Deployment
 * Version, runs them (workflows through wf.c, activities on their own threads), stops polling
 * at deadline - shutdown buffer, tells the server it is shutting down, drains running tasks up
 * to the stop timeout, fails back what is still running (retryable, with its latest heartbeat
 * details) so nothing waits for a server timeout, and returns a JSON summary. Nothing it does
 * runs past the Lambda deadline minus SETTINGS_ANSWER_MARGIN_MS, whatever the network does.
 *
 * Threading: worker_run() blocks its caller for the invocation. Its threads are detached and
 * hold the worker until they end: an activity that ignores the stop keeps its thread (its
 * answer is discarded); workflow code that never yields keeps its poller, and then
 * worker_result.restart asks the caller to end the process after answering.
 */
#ifndef TW_WORKER_H
#define TW_WORKER_H

#include <stdint.h>

#include "temporal/config/envconfig.h"
#include "registry/reg.h"
#include "temporal/config/settings.h"
#include "temporal/worker/metrics.h"

typedef struct worker_params {
    const settings *settings;
    const conn_config *conn;
    const tw_registry *reg;
    const char *request_id;
    const char *function_arn;
    int64_t deadline_ms; /* Unix ms */
} worker_params;

typedef struct worker_result {
    char *summary; /* malloc'd JSON, the caller frees it; NULL on failure */
    int restart;   /* a thread is stuck in user code: end the process once answered */
    worker_metrics metrics; /* what it did, on failure too (metrics.h) */
} worker_result;

/* Runs the invocation. Returns 0 with res->summary, or -1 with |err| (a wrong address,
 * namespace or key, too little time, every poll failing). res->restart is set either way. */
int worker_run(const worker_params *p, worker_result *res, char *err, size_t errlen);

#endif
