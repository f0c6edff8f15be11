/*
 * worker: one Lambda invocation's Temporal worker. Connects afresh, polls workflow and
 * activity tasks as a VERSIONED worker of the configured Worker Deployment Version, runs them
 * (workflows through wf.c, activities on their own threads), stops polling at
 * deadline - shutdown buffer, drains running tasks up to the stop timeout, fails back what is
 * still running (retryable, with its last heartbeat details) so nothing waits for a server
 * timeout, tells the server it is shutting down, and returns a JSON summary.
 *
 * Threading: worker_run() blocks its caller for the invocation; it starts and joins its own
 * threads. An activity that ignores the stop keeps its thread; its answer is discarded.
 */
#ifndef TW_WORKER_H
#define TW_WORKER_H

#include <stdint.h>

#include "config.h"
#include "registry/reg.h"
#include "settings.h"

typedef struct worker_params {
    const tw_settings *settings;
    const tw_conn_config *conn;
    const tw_registry *reg;
    const char *request_id;
    const char *function_arn;
    int64_t deadline_ms; /* Unix ms */
} worker_params;

/* Runs the invocation. Returns 0 with *summary (malloc'd JSON), or -1 with |err|. */
int worker_run(const worker_params *p, char **summary, char *err, size_t errlen);

/* Fills the activity functions of a tw_api table. */
void worker_fill_api(tw_api *api);

#endif
