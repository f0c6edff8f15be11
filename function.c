/*
 * The function handler of the shipped bootstrap. Init reads everything the worker needs and
 * reports any mistake through /runtime/init/error: the worker settings (settings.h), the
 * connection settings (config/envconfig.h) and the user's library (registry). Each invocation
 * then runs the Temporal worker (worker.h) until its deadline and answers with its summary.
 * Started with arguments (by hand, never by Lambda), it runs `bootstrap --check` (check.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "registry/reg.h"
#include "runtime/loop.h"
#include "temporal/config/envconfig.h"
#include "temporal/config/settings.h"
#include "temporal/worker/api.h"
#include "temporal/worker/worker.h"

extern char **environ;

typedef struct fn_state {
    settings settings;
    conn_config conn;
    tw_registry *reg;
} fn_state;

static void fn_destroy(void *st)
{
    fn_state *s = st;
    if (!s)
        return;
    reg_free(s->reg);
    cfg_free(&s->conn);
    settings_free(&s->settings);
    free(s);
}

static int fn_init(void **state, rt_error *err)
{
    char msg[1024];
    const char *const *env = (const char *const *)environ;
    fn_state *s = calloc(1, sizeof(*s));
    if (!s) {
        rt_error_set(err, "Runtime.OutOfMemory", "out of memory");
        return -1;
    }
    if (settings_load(&s->settings, env, msg, sizeof(msg)) != 0 ||
        cfg_load(&s->conn, env, msg, sizeof(msg)) != 0) {
        rt_error_set(err, "Runtime.ConfigError", "%s", msg);
        goto fail;
    }
    int rc = reg_load_with_default(&s->reg, getenv("_HANDLER"), getenv("LAMBDA_TASK_ROOT"),
                                   api_table(), s->settings.default_versioning, msg, sizeof(msg));
    if (rc != 0) {
        rt_error_set(err, rc == REG_ENOENT ? "Runtime.NoSuchHandler" : "Runtime.InvalidHandler",
                     "%s", msg);
        goto fail;
    }
    *state = s;
    return 0;
fail:
    fn_destroy(s);
    return -1;
}

static int fn_invoke(void *state, const rt_invocation *inv, rt_result *res)
{
    fn_state *s = state;
    char msg[512];
    worker_params p = {.settings = &s->settings, .conn = &s->conn, .reg = s->reg,
                       .request_id = inv->request_id, .function_arn = inv->function_arn,
                       .deadline_ms = inv->deadline_ms};
    worker_result wr;
    int rc = worker_run(&p, &wr, msg, sizeof(msg));
    res->restart = wr.restart;
    if (rc != 0)
        wr.metrics.stop = NULL; /* "error" (every poll failed comes after an idle stop) */
    metrics_write(&s->settings, &wr.metrics); /* TEMPORAL_METRICS=emf: one line on stdout */
    if (rc != 0) {
        rt_error_set(&res->err, "Runtime.WorkerError", "%s", msg);
        return -1;
    }
    res->body = wr.summary;
    res->len = strlen(res->body);
    return 0;
}

const rt_handler function_handler = {fn_init, fn_invoke, fn_destroy, check_main};
