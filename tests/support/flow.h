/*
 * flow: the end-to-end flow the integration tests share. A test has the real Temporal server
 * (tests/support/tserver.h); here it sets up a current Worker Deployment Version for a fresh
 * task queue, runs the local emulator serving build/bootstrap with a workflow library for it,
 * invokes the function (in the foreground or on a thread of its own), and drives and reads
 * workflows through the Go SDK driver (start, await, histories). Anything that goes wrong
 * fails the test (cmocka) with what the driver or the emulator said.
 *
 * Ownership: cJSON objects returned belong to the caller (cJSON_Delete); strings returned are
 * views into the object given, or static buffers where said. The test stops the emulator it
 * started (emu_stop(&f->emu)).
 */
#ifndef TW_FLOW_H
#define TW_FLOW_H

#include <pthread.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "tests/support/harness.h"
#include "tests/support/tserver.h"

/* ---- the driver ---- */

/* Runs the driver against |s| with |args| (NULL-terminated): the JSON it printed. */
cJSON *flow_call(const tserver *s, const char *const *args);
/* The same, for a call whose answer does not matter beyond its success. */
void flow_call_ok(const tserver *s, const char *const *args);
/* The end of the latest run of workflow |id| (following continue-as-new), waiting up to
 * |timeout| ("30s"). */
cJSON *flow_await(const tserver *s, const char *id, const char *timeout);
/* The history of run |run_id| (NULL: the latest) of workflow |id|, as the driver prints it
 * (protojson: {"events":[{"eventType":"EVENT_TYPE_...", ...}, ...]}). */
cJSON *flow_history(const tserver *s, const char *id, const char *run_id);
/* How many events of |type| ("EVENT_TYPE_TIMER_STARTED") |history| holds. */
int flow_count_events(const cJSON *history, const char *type);

/* ---- reading JSON ---- */

/* String member |name| of |o|; fails the test when there is none. */
const char *flow_str(const cJSON *o, const char *name);
/* Number member |name| of |o| as an int (a summary's counters), 0 when there is none. */
int flow_int(const cJSON *o, const char *name);
/* Member |name| of |o| as compact JSON ("(none)" when absent), in a static buffer. */
const char *flow_member_json(const cJSON *o, const char *name);
/* A fresh workflow id "<prefix>-<pid>-<n>" into |buf|; returns |buf|. */
const char *flow_new_id(char *buf, size_t n, const char *prefix);

/* ---- a function ---- */

typedef struct flow_fn {
    const tserver *srv; /* the server its worker polls */
    emu_proc emu;
    char queue[64];
    char deployment[64];
} flow_fn;

/* A current deployment version (build id b1) for a fresh task queue on server |s|: queue
 * "<prefix>-<pid>-<n>", deployment "<prefix>dep-<pid>-<n>". The emulator is not started. */
void flow_deploy(flow_fn *f, const tserver *s, const char *prefix);

typedef struct flow_opts {
    const char *library;    /* the workflow library, under $BUILD ("examples/libhello.so") */
    int timeout_s;          /* the function timeout */
    const char *const *env; /* "K=V" entries (NULL-terminated, or NULL): each replaces the
                             * default of its variable or joins them */
    int port;               /* the Temporal port the worker dials (0: the server's) */
    const char *bootstrap;  /* NULL: $BUILD/bootstrap */
} flow_opts;

/* Starts the emulator serving |f|'s version with |o|. The worker's defaults: TEMPORAL_ADDRESS,
 * TEMPORAL_TASK_QUEUE and TEMPORAL_DEPLOYMENT_NAME for |f|, TEMPORAL_WORKER_BUILD_ID=b1,
 * TEMPORAL_SHUTDOWN_BUFFER=2s, TEMPORAL_WORKER_STOP_TIMEOUT=1s. Called again after emu_stop,
 * it serves the same version with another library (a new deployment of the code). */
void flow_run(flow_fn *f, const flow_opts *o);

/* Starts workflow |type| as |id| on |f|'s queue, with JSON |input| (NULL: no argument). */
void flow_start(const flow_fn *f, const char *type, const char *id, const char *input);

/* One invocation: its summary. A function error fails the test, with the emulator's output. */
cJSON *flow_invoke(flow_fn *f);
/* One invocation: its body (malloc'd), and in *error its X-Amz-Function-Error header
 * (malloc'd) or NULL. */
char *flow_invoke_raw(flow_fn *f, char **error);
/* One invocation that must succeed with no failed workflow task. */
void flow_invoke_ok(flow_fn *f);
/* Invokes (flow_invoke_ok) until workflow |id| is closed, |max| times at most: a timer that
 * fires after the idle exit ended an invocation gets the next one, as the Worker Controller
 * would invoke. */
void flow_invoke_until_closed(flow_fn *f, const char *id, int max);

/* An invocation on a thread of its own, while the test talks to the workflow. */
typedef struct flow_bg {
    flow_fn *f;
    pthread_t th;
    int rc;      /* emu_invoke's */
    char *body;  /* after flow_bg_join: the answer's body (malloc'd), NULL if none came */
    char *error; /* after flow_bg_join: its X-Amz-Function-Error (malloc'd), or NULL */
} flow_bg;

void flow_bg_start(flow_bg *b, flow_fn *f);
/* Waits for it; the caller frees b->body and b->error. */
void flow_bg_join(flow_bg *b);
/* Waits for it and checks it as flow_invoke_ok does; frees what it got. */
void flow_bg_join_ok(flow_bg *b);

#endif
