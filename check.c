/*
 * check: `bootstrap --check`. See check.h. The checks reuse what the function runs (settings,
 * envconfig, the registry, connect.h's channel); only the calls about Worker Deployments are
 * its own, since the worker never makes them.
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "registry/reg.h"
#include "temporal/config/envconfig.h"
#include "temporal/config/settings.h"
#include "temporal/engine/proto.h"
#include "temporal/net/connect.h"
#include "temporal/net/grpc.h"
#include "temporal/version.h"
#include "temporal/worker/api.h"

extern char **environ;

typedef Temporal__Api__Deployment__V1__WorkerDeploymentInfo dep_info;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentInfo__WorkerDeploymentVersionSummary
    dep_summary;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentVersionInfo version_info;
typedef Temporal__Api__Deployment__V1__WorkerDeploymentVersion dep_version;
#define VSTATUS(s)                                                                                 \
    TEMPORAL__API__ENUMS__V1__WORKER_DEPLOYMENT_VERSION_STATUS__WORKER_DEPLOYMENT_VERSION_STATUS_##s
#define NSSTATE(s) TEMPORAL__API__ENUMS__V1__NAMESPACE_STATE__NAMESPACE_STATE_##s

/* The three settings without a default: a bad one is replaced by a placeholder so the other
 * settings still get checked, and what needs its real value is skipped. */
static const char *const required[] = {"TEMPORAL_TASK_QUEUE", "TEMPORAL_DEPLOYMENT_NAME",
                                       "TEMPORAL_WORKER_BUILD_ID"};
#define NREQUIRED 3

/* Every variable bootstrap reads (settings.h, envconfig.h); TEMPORAL_GRPC_META_* apart. */
static const char *const known[] = {
    "TEMPORAL_TASK_QUEUE", "TEMPORAL_DEPLOYMENT_NAME", "TEMPORAL_WORKER_BUILD_ID",
    "TEMPORAL_WORKER_STOP_TIMEOUT", "TEMPORAL_SHUTDOWN_BUFFER", "TEMPORAL_WORKFLOW_TASK_POLLERS",
    "TEMPORAL_ACTIVITY_TASK_POLLERS", "TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS",
    "TEMPORAL_MAX_CONCURRENT_ACTIVITIES", "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR",
    "TEMPORAL_IDLE_EXIT", "TEMPORAL_DEADLOCK_DETECTION_TIMEOUT", "TEMPORAL_WORKFLOW_CACHE_SIZE",
    "TEMPORAL_STICKY_SCHEDULE_TO_START_TIMEOUT",
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_CLIENT_AUTHORITY",
    "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE", "TEMPORAL_TLS", "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    /* the EMF metrics (settings.h) */
    "TEMPORAL_METRICS", "TEMPORAL_METRICS_NAMESPACE",
};
#define META_PREFIX "TEMPORAL_GRPC_META_"

typedef struct check {
    FILE *out;
    const char *const *env;
    int timeout_ms;
    int64_t function_timeout_ms;
    int failed, warned;
    settings s;
    int settings_loaded;        /* s holds values (some maybe placeholders) */
    int required_ok[NREQUIRED]; /* the real value is in s */
    conn_config cc;
    int conn_loaded;
    grpc_channel *ch;
    int ns_ok;
} check;

/* ---- lines ---- */

static void line(check *c, const char *tag, const char *fmt, va_list ap)
{
    fputs(tag, c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
    fflush(c->out);
}

__attribute__((format(printf, 2, 3))) static void ok(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, "ok   ", fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void fail(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, "FAIL ", fmt, ap);
    va_end(ap);
    c->failed++;
}

__attribute__((format(printf, 2, 3))) static void warn(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, "warn ", fmt, ap);
    va_end(ap);
    c->warned++;
}

__attribute__((format(printf, 2, 3))) static void skip(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, "skip ", fmt, ap);
    va_end(ap);
}

static const char *lookup(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

/* A duration the way settings take it: "7s" for whole seconds, else "500ms". */
static const char *dur(char *buf, size_t n, int64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, n, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%lldms", (long long)ms);
    return buf;
}

/* ---- settings ---- */

int check_known_variable(const char *name)
{
    if (strncmp(name, META_PREFIX, strlen(META_PREFIX)) == 0 && name[strlen(META_PREFIX)])
        return 1;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(name, known[i]) == 0)
            return 1;
    return 0;
}

/* The variable a settings message starts with ("TEMPORAL_X is not set", "TEMPORAL_X: ..."),
 * into |name|; "" when it names none. */
static void named_variable(const char *msg, char *name, size_t n)
{
    size_t len = strspn(msg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (strncmp(msg, "TEMPORAL_", 9) != 0 || len >= n)
        len = 0;
    memcpy(name, msg, len);
    name[len] = '\0';
}

/* Drops |name|'s entries from the NULL-terminated |env| (a copy of pointers). */
static void drop_variable(const char **env, const char *name)
{
    size_t n = strlen(name), j = 0;
    for (size_t i = 0; env[i]; i++)
        if (!(strncmp(env[i], name, n) == 0 && env[i][n] == '='))
            env[j++] = env[i];
    env[j] = NULL;
}

/* settings_load() stops at the first mistake: each round reports one, then takes that variable
 * out (its default applies) or, for a required one, puts a placeholder in, and loads again. */
static void check_settings(check *c)
{
    static const char *const placeholders[NREQUIRED] = {
        "TEMPORAL_TASK_QUEUE=-", "TEMPORAL_DEPLOYMENT_NAME=-", "TEMPORAL_WORKER_BUILD_ID=-"};
    size_t n = 0;
    while (c->env && c->env[n])
        n++;
    const char **env = calloc(n + NREQUIRED + 1, sizeof(*env));
    if (!env) {
        fail(c, "out of memory");
        return;
    }
    memcpy(env, c->env, n * sizeof(*env));
    for (int i = 0; i < NREQUIRED; i++)
        c->required_ok[i] = 1;
    int bad = 0;
    char last[64] = "";
    for (size_t round = 0; round <= sizeof(known) / sizeof(known[0]); round++) {
        char msg[512], name[64];
        if (settings_load(&c->s, env, msg, sizeof(msg)) == 0) {
            c->settings_loaded = 1;
            break;
        }
        fail(c, "%s", msg);
        bad = 1;
        named_variable(msg, name, sizeof(name));
        if (!name[0] || strcmp(name, last) == 0) /* naming none, or taking it out did not help */
            break;
        memcpy(last, name, sizeof(last));
        drop_variable(env, name);
        for (int i = 0; i < NREQUIRED; i++)
            if (strcmp(name, required[i]) == 0) {
                c->required_ok[i] = 0;
                for (n = 0; env[n]; n++)
                    ;
                env[n] = placeholders[i];
                env[n + 1] = NULL;
            }
    }
    free(env);
    if (!c->settings_loaded)
        return;
    const settings *s = &c->s;
    if (c->required_ok[0] && c->required_ok[1] && c->required_ok[2])
        ok(c, "task queue %s, Worker Deployment %s, build id %s", s->task_queue,
           s->deployment_name, s->build_id);
    if (bad)
        return;
    char a[24], b[24], i[24], d[24], t[24];
    ok(c, "worker settings: stop timeout %s, shutdown buffer %s, idle exit %s, deadlock "
          "detection %s; %d workflow and %d activity pollers, %d workflow task and %d activity "
          "slots; workflow cache %d (sticky timeout %s)%s",
       dur(a, sizeof(a), s->stop_timeout_ms), dur(b, sizeof(b), s->shutdown_buffer_ms),
       s->idle_exit_ms ? dur(i, sizeof(i), s->idle_exit_ms) : "off",
       s->deadlock_timeout_ms ? dur(d, sizeof(d), s->deadlock_timeout_ms) : "off",
       s->workflow_pollers, s->activity_pollers, s->max_workflow_tasks, s->max_activities,
       s->workflow_cache_size, dur(t, sizeof(t), s->sticky_timeout_ms),
       s->default_versioning == 1   ? "; default versioning pinned"
       : s->default_versioning == 2 ? "; default versioning auto_upgrade"
                                    : "");
}

static void check_unknown_variables(check *c)
{
    for (size_t i = 0; c->env && c->env[i]; i++) {
        const char *e = c->env[i];
        size_t n = strcspn(e, "=");
        char name[128];
        if (strncmp(e, "TEMPORAL_", 9) != 0 || n >= sizeof(name))
            continue;
        memcpy(name, e, n);
        name[n] = '\0';
        if (!check_known_variable(name))
            warn(c, "%s is set, but bootstrap reads no such variable (a typo?)", name);
    }
}

/* What an invocation does with the function's timeout (worker.c): it polls until the shutdown
 * buffer starts, refuses to start with 1 s or less of that, and warns under 5 s. */
static void check_function_timeout(check *c)
{
    if (!c->function_timeout_ms || !c->settings_loaded)
        return;
    char t[24], b[24];
    int64_t work = c->function_timeout_ms - c->s.shutdown_buffer_ms;
    dur(t, sizeof(t), c->function_timeout_ms);
    dur(b, sizeof(b), c->s.shutdown_buffer_ms);
    if (work <= 1000)
        fail(c, "a function timeout of %s leaves %lld ms before the shutdown buffer "
                "(TEMPORAL_SHUTDOWN_BUFFER, %s): every invocation would fail; raise the timeout "
                "or lower the buffer", t, (long long)work, b);
    else if (work < 5000)
        warn(c, "a function timeout of %s leaves only %lld ms of polling per invocation after "
                "the shutdown buffer (%s)", t, (long long)work, b);
    else
        ok(c, "function timeout %s: each invocation polls for up to %lld s, then stops within "
              "the shutdown buffer (%s)", t, (long long)(work / 1000), b);
}

/* ---- connection settings and the library ---- */

static void check_connection_settings(check *c)
{
    char msg[512];
    if (cfg_load(&c->cc, c->env, msg, sizeof(msg)) != 0) {
        fail(c, "connection settings: %s", msg);
        return;
    }
    c->conn_loaded = 1;
    const conn_config *cc = &c->cc;
    char from[600];
    if (cc->config_file)
        snprintf(from, sizeof(from), "profile %s of %s", cc->profile ? cc->profile : "default",
                 cc->config_file);
    else
        snprintf(from, sizeof(from), "no config file");
    char tls[400] = "off";
    if (cc->tls)
        snprintf(tls, sizeof(tls), "on%s%s%s%s%s", cc->server_name ? ", server name " : "",
                 cc->server_name ? cc->server_name : "",
                 cc->server_ca ? ", own CA" : ", system CAs",
                 cc->client_cert ? ", client certificate" : "",
                 cc->disable_host_verification ? ", host not verified" : "");
    ok(c, "connection settings: address %s, namespace %s, TLS %s, API key %s, %zu gRPC "
          "header%s (%s)",
       cc->address, cc->namespace_name, tls, cc->api_key ? "set" : "not set", cc->nmeta,
       cc->nmeta == 1 ? "" : "s", from);
    if (cc->api_key && !cc->tls)
        warn(c, "TLS is disabled explicitly, so the API key would travel in plaintext");
    if (cc->tls && cc->disable_host_verification)
        warn(c, "TLS host verification is off (TEMPORAL_TLS_DISABLE_HOST_VERIFICATION or "
                "tls.disable_host_verification)");
}

static void check_library(check *c, const char *handler)
{
    const char *root = lookup(c->env, "LAMBDA_TASK_ROOT");
    char msg[1024];
    tw_registry *reg = NULL;
    int dv = c->settings_loaded ? c->s.default_versioning : 0;
    if (!handler)
        handler = lookup(c->env, "_HANDLER");
    if (reg_load_with_default(&reg, handler, root, api_table(), dv, msg, sizeof(msg)) != 0) {
        fail(c, "library: %s", msg);
        return;
    }
    char wf[512], act[512];
    reg_workflow_names(reg, wf, sizeof(wf));
    reg_activity_names(reg, act, sizeof(act));
    size_t nwf = reg_workflow_count(reg), nact = reg_activity_count(reg);
    ok(c, "library %s%s%s loads: %zu workflow%s%s%s%s, %zu activit%s%s%s%s (ABI 1.%u)",
       handler[0] == '/' ? "" : root && *root ? root : ".", handler[0] == '/' ? "" : "/",
       handler, nwf, nwf == 1 ? "" : "s", nwf ? " (" : "", wf, nwf ? ")" : "", nact,
       nact == 1 ? "y" : "ies", nact ? " (" : "", act, nact ? ")" : "", reg_abi_minor(reg));
    reg_free(reg);
}

/* ---- Temporal ---- */

static const char *hint(int code)
{
    return code == GRPC_NOT_FOUND ? " (check TEMPORAL_NAMESPACE)"
           : code == GRPC_UNAUTHENTICATED || code == GRPC_PERMISSION_DENIED
               ? " (check TEMPORAL_API_KEY or the client certificate)"
           : code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED
               ? " (check TEMPORAL_ADDRESS and the TLS settings)"
               : "";
}

static void check_namespace(check *c)
{
    if (!c->conn_loaded) {
        skip(c, "namespace: the connection settings are wrong");
        return;
    }
    const conn_config *cc = &c->cc;
    char msg[512];
    if (conn_channel_open(cc, &c->ch, msg, sizeof(msg)) != 0) {
        fail(c, "cannot connect: %s", msg);
        return;
    }
    WFS(DescribeNamespaceRequest) req;
    PB_INIT(WFS_DESC(describe_namespace_request), &req);
    req.namespace_ = cc->namespace_name;
    ProtobufCMessage *resp = NULL;
    grpc_status st;
    int code = grpc_unary(c->ch, "DescribeNamespace", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(describe_namespace_response), NULL, &resp, c->timeout_ms,
                          &st);
    if (code != GRPC_OK) {
        fail(c, "namespace %s at %s (TLS %s): %s: %s%s", cc->namespace_name, cc->address,
             cc->tls ? "on" : "off", grpc_code_name(code), st.message, hint(code));
        return;
    }
    WFS(DescribeNamespaceResponse) *r = (void *)resp;
    int state = r->namespace_info ? (int)r->namespace_info->state : 0;
    if (state == NSSTATE(DELETED))
        fail(c, "namespace %s at %s is being deleted", cc->namespace_name, cc->address);
    else {
        ok(c, "namespace %s reachable at %s (TLS %s)", cc->namespace_name, cc->address,
           cc->tls ? "on" : "off");
        c->ns_ok = 1;
        if (state == NSSTATE(DEPRECATED))
            warn(c, "namespace %s is deprecated", cc->namespace_name);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
}

static const char *status_name(int status)
{
    switch (status) {
    case VSTATUS(INACTIVE): return "inactive";
    case VSTATUS(CURRENT): return "current";
    case VSTATUS(RAMPING): return "ramping";
    case VSTATUS(DRAINING): return "draining";
    case VSTATUS(DRAINED): return "drained";
    case VSTATUS(CREATED): return "new (no worker has polled it yet)";
    default: return "of unknown status";
    }
}

static int same_build(const dep_version *v, const char *build_id)
{
    return v && v->build_id && strcmp(v->build_id, build_id) == 0;
}

/* The time a Worker Deployment question may take: a deployment being changed (a version just
 * created or made current) answers RESOURCE_EXHAUSTED ("too many requests issued to Worker
 * Deployment") for a few seconds, which the call retries with backoff. Three times --timeout;
 * these run only once the namespace answered, so a dead connection never waits this long. */
static int busy_ms(const check *c)
{
    return c->timeout_ms > INT32_MAX / 3 ? INT32_MAX : c->timeout_ms * 3;
}

/* DescribeWorkerDeployment: whether it exists, its routing, its versions. *info is set only
 * when it exists; the response (to free) in *resp. */
static int describe_deployment(check *c, ProtobufCMessage **resp, const dep_info **info)
{
    WFS(DescribeWorkerDeploymentRequest) req;
    PB_INIT(WFS_DESC(describe_worker_deployment_request), &req);
    req.namespace_ = c->cc.namespace_name;
    req.deployment_name = c->s.deployment_name;
    grpc_status st;
    *info = NULL;
    int code = grpc_unary(c->ch, "DescribeWorkerDeployment", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(describe_worker_deployment_response), NULL, resp,
                          busy_ms(c), &st);
    if (code == GRPC_NOT_FOUND) {
        fail(c, "Worker Deployment %s does not exist in namespace %s (TEMPORAL_DEPLOYMENT_NAME); "
                "create it and its version: temporal worker deployment create --name %s, then "
                "temporal worker deployment create-version --deployment-name %s --build-id %s "
                "--aws-lambda-function-arn <this function's published version>",
             c->s.deployment_name, c->cc.namespace_name, c->s.deployment_name,
             c->s.deployment_name, c->s.build_id);
        return -1;
    }
    if (code != GRPC_OK) {
        fail(c, "Worker Deployment %s: DescribeWorkerDeployment: %s: %s", c->s.deployment_name,
             grpc_code_name(code), st.message);
        return -1;
    }
    *info = ((WFS(DescribeWorkerDeploymentResponse) *)*resp)->worker_deployment_info;
    return 0;
}

static void deployment_versions(const dep_info *info, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; info && i < info->n_version_summaries && len < n; i++) {
        const dep_version *v = info->version_summaries[i]->deployment_version;
        if (v && v->build_id)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "", v->build_id);
    }
}

/* Where new work goes: the version's own status, with the deployment's routing to name the
 * current one when it is another. */
static void check_routing(check *c, const version_info *vi, const dep_info *info)
{
    const Temporal__Api__Deployment__V1__RoutingConfig *rc = info ? info->routing_config : NULL;
    const char *b = c->s.build_id, *d = c->s.deployment_name;
    const dep_version *cur = rc ? rc->current_deployment_version : NULL;
    int status = (int)vi->status;
    if (status == VSTATUS(CURRENT) || same_build(cur, b)) {
        ok(c, "version %s is the current version of Worker Deployment %s: new workflows go to "
              "it", b, d);
        return;
    }
    char other[200] = "no version is current";
    if (cur && cur->build_id && *cur->build_id)
        snprintf(other, sizeof(other), "the current version is %s", cur->build_id);
    if (status == VSTATUS(RAMPING) || (rc && same_build(rc->ramping_deployment_version, b))) {
        double pct = rc ? (double)rc->ramping_version_percentage : (double)vi->ramp_percentage;
        ok(c, "version %s of Worker Deployment %s is ramping: %.0f%% of new workflows go to it "
              "(%s)", b, d, pct, other);
        return;
    }
    warn(c, "version %s of Worker Deployment %s is %s: no new workflow goes to it (%s); make it "
            "current with temporal worker deployment set-current-version --deployment-name %s "
            "--build-id %s", b, d, status_name(status), other, d, b);
}

/* The details of an aws-lambda provider: a json/plain payload {"arn", "role",
 * "role_external_id"}. Copies the ARN and role into |arn| and |role| ("" when absent). */
static int lambda_details(const pb_payload *p, char *arn, size_t an, char *role, size_t rn)
{
    arn[0] = role[0] = '\0';
    if (!p || !p->data.len)
        return -1;
    cJSON *j = cJSON_ParseWithLength((const char *)p->data.data, p->data.len);
    if (!j)
        return -1;
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "arn"));
    const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "role"));
    snprintf(arn, an, "%s", a ? a : "");
    snprintf(role, rn, "%s", r ? r : "");
    cJSON_Delete(j);
    return arn[0] ? 0 : -1;
}

/* The Worker Controller invokes a function only for a version whose compute config has an
 * aws-lambda provider naming it; one immutable function version per build id. */
static void check_compute(check *c, const version_info *vi, const dep_summary *sum)
{
    const char *b = c->s.build_id;
    const Temporal__Api__Compute__V1__ComputeConfig *cfg = vi->compute_config;
    int lambdas = 0;
    for (size_t i = 0; cfg && i < cfg->n_scaling_groups; i++) {
        const char *key = cfg->scaling_groups[i]->key;
        const Temporal__Api__Compute__V1__ComputeConfigScalingGroup *g =
            cfg->scaling_groups[i]->value;
        const char *type = g && g->provider && g->provider->type ? g->provider->type : "";
        if (strcmp(type, "aws-lambda") != 0) {
            warn(c, "version %s's scaling group %s has compute provider \"%s\", not aws-lambda",
                 b, key ? key : "", type);
            continue;
        }
        char arn[512], role[512];
        if (lambda_details(g->provider->details, arn, sizeof(arn), role, sizeof(role)) != 0) {
            fail(c, "version %s's scaling group %s has an aws-lambda provider naming no function "
                    "ARN", b, key ? key : "");
            continue;
        }
        lambdas++;
        ok(c, "version %s's compute config (scaling group %s): Temporal invokes %s%s%s", b,
           key ? key : "", arn, role[0] ? " assuming role " : "", role);
        int colons = 0;
        for (const char *p = arn; *p; p++)
            colons += *p == ':';
        const char *q = strrchr(arn, ':');
        if (colons < 7 || (q && strcmp(q, ":$LATEST") == 0))
            warn(c, "%s names no published version of the function: map build id %s to one "
                    "(aws lambda publish-version), so running workflows never meet other code",
                 arn, b);
    }
    if (!lambdas && !(cfg && cfg->n_scaling_groups))
        fail(c, "version %s has no compute config: Temporal's Worker Controller invokes no "
                "function for it. Create the version with temporal worker deployment "
                "create-version --deployment-name %s --build-id %s --aws-lambda-function-arn "
                "<this function's published version> (and --aws-lambda-assume-role-arn, "
                "--aws-lambda-assume-role-external-id for the role Temporal assumes)",
             b, c->s.deployment_name, b);
    const char *why = sum && sum->compute_status && sum->compute_status->provider_validation
                          ? sum->compute_status->provider_validation->error_message
                          : NULL;
    if (why && *why)
        fail(c, "Temporal's last check of version %s's compute provider failed: %s", b, why);
}

static void check_task_queue(check *c, const WFS(DescribeWorkerDeploymentVersionResponse) *r)
{
    char names[600];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < r->n_version_task_queues; i++) {
        const char *q = r->version_task_queues[i]->name;
        if (!q)
            continue;
        if (strcmp(q, c->s.task_queue) == 0) {
            ok(c, "task queue %s has polled version %s", q, c->s.build_id);
            return;
        }
        int again = 0; /* a queue is listed once per task type */
        for (size_t j = 0; j < i; j++) {
            const char *p = r->version_task_queues[j]->name;
            again |= p && strcmp(p, q) == 0;
        }
        if (!again && len < sizeof(names))
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", q);
    }
    if (len)
        warn(c, "version %s serves task queue%s %s, not %s (TEMPORAL_TASK_QUEUE): a typo?",
             c->s.build_id, strchr(names, ',') ? "s" : "", names, c->s.task_queue);
    else
        ok(c, "no task queue has polled version %s yet (the first invocation will register %s)",
           c->s.build_id, c->s.task_queue);
}

static void check_version(check *c)
{
    if (!c->settings_loaded || !c->required_ok[1] || !c->required_ok[2]) {
        skip(c, "Worker Deployment Version: TEMPORAL_DEPLOYMENT_NAME and "
                "TEMPORAL_WORKER_BUILD_ID are needed");
        return;
    }
    if (!c->ns_ok) {
        skip(c, "Worker Deployment Version: no namespace to ask");
        return;
    }
    ProtobufCMessage *dresp = NULL, *vresp = NULL;
    const dep_info *info;
    if (describe_deployment(c, &dresp, &info) != 0)
        goto out;
    dep_version v;
    PB_INIT(temporal__api__deployment__v1__worker_deployment_version__descriptor, &v);
    v.deployment_name = c->s.deployment_name;
    v.build_id = c->s.build_id;
    WFS(DescribeWorkerDeploymentVersionRequest) req;
    PB_INIT(WFS_DESC(describe_worker_deployment_version_request), &req);
    req.namespace_ = c->cc.namespace_name;
    req.deployment_version = &v;
    grpc_status st;
    int code = grpc_unary(c->ch, "DescribeWorkerDeploymentVersion", GRPC_NAMESPACED, &req.base,
                          &WFS_DESC(describe_worker_deployment_version_response), NULL, &vresp,
                          busy_ms(c), &st);
    if (code == GRPC_NOT_FOUND) {
        char versions[400];
        deployment_versions(info, versions, sizeof(versions));
        fail(c, "Worker Deployment %s has no version %s (TEMPORAL_WORKER_BUILD_ID; %s%s%s); "
                "create it: temporal worker deployment create-version --deployment-name %s "
                "--build-id %s --aws-lambda-function-arn <this function's published version>",
             c->s.deployment_name, c->s.build_id, versions[0] ? "its versions: " : "it has none",
             versions, "", c->s.deployment_name, c->s.build_id);
        goto out;
    }
    if (code != GRPC_OK) {
        fail(c, "version %s of Worker Deployment %s: DescribeWorkerDeploymentVersion: %s: %s",
             c->s.build_id, c->s.deployment_name, grpc_code_name(code), st.message);
        goto out;
    }
    const WFS(DescribeWorkerDeploymentVersionResponse) *r = (void *)vresp;
    const version_info *vi = r->worker_deployment_version_info;
    if (!vi) {
        fail(c, "version %s of Worker Deployment %s: the server described nothing",
             c->s.build_id, c->s.deployment_name);
        goto out;
    }
    const dep_summary *sum = NULL;
    for (size_t i = 0; info && i < info->n_version_summaries; i++)
        if (same_build(info->version_summaries[i]->deployment_version, c->s.build_id))
            sum = info->version_summaries[i];
    ok(c, "version %s of Worker Deployment %s exists", c->s.build_id, c->s.deployment_name);
    check_routing(c, vi, info);
    check_compute(c, vi, sum);
    if (c->required_ok[0])
        check_task_queue(c, r);
out:
    if (dresp)
        protobuf_c_message_free_unpacked(dresp, NULL);
    if (vresp)
        protobuf_c_message_free_unpacked(vresp, NULL);
}

/* ---- the command ---- */

int check_run(const check_opts *o, const char *const *env, FILE *out)
{
    check c = {.out = out, .env = env,
               .timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : CHECK_DEFAULT_TIMEOUT_MS,
               .function_timeout_ms = o ? o->function_timeout_ms : 0};
    check_settings(&c);
    check_function_timeout(&c);
    check_unknown_variables(&c);
    check_connection_settings(&c);
    check_library(&c, o ? o->handler : NULL);
    check_namespace(&c);
    check_version(&c);
    if (c.failed)
        fprintf(out, "%d problem%s found", c.failed, c.failed == 1 ? "" : "s");
    else
        fprintf(out, "all checks passed");
    if (c.warned)
        fprintf(out, " (%d warning%s)", c.warned, c.warned == 1 ? "" : "s");
    fputc('\n', out);
    fflush(out);
    grpc_channel_free(c.ch);
    cfg_free(&c.cc);
    settings_free(&c.s);
    return c.failed;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bootstrap --check [--handler FILE] [--timeout D] [--function-timeout D]\n"
               "       bootstrap --help | --version\n"
               "Without arguments bootstrap is the Lambda runtime (it needs "
               "AWS_LAMBDA_RUNTIME_API).\n"
               "--check checks, before deploying, the configuration the function will have: run "
               "it with the function's\nenvironment (TEMPORAL_*, _HANDLER, LAMBDA_TASK_ROOT) and "
               "temporal.toml. It loads the library, reads\nevery setting, connects, and checks "
               "the namespace and the Worker Deployment Version; each network\nstep is bounded by "
               "--timeout (default 5s). Exit status: 0 fine, 1 a check failed, 2 usage.\n"
               "  --handler FILE    the library, in place of _HANDLER\n"
               "  --timeout D       each network step's bound (500ms, 5s, 1m)\n"
               "  --function-timeout D  the function's timeout (at most 15m), checked against\n"
               "                    TEMPORAL_SHUTDOWN_BUFFER\n");
}

int check_main(int argc, char **argv)
{
    check_opts o = {0};
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("bootstrap %s %s (Temporal worker for AWS Lambda, library ABI %d.%d)\n",
               TW_SDK_NAME, TW_SDK_VERSION, TW_ABI_MAJOR, TW_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "--check") != 0)
        goto bad;
    for (int i = 2; i < argc; i++) {
        int64_t ms;
        if (strcmp(argv[i], "--handler") == 0 && i + 1 < argc)
            o.handler = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (settings_parse_duration(argv[++i], &ms) || ms < 1 || ms > 600000) {
                fprintf(stderr, "bootstrap: --timeout: expected a duration from 1ms to 10m "
                                "such as 5s or 500ms, got \"%s\"\n", argv[i]);
                return 2;
            }
            o.timeout_ms = (int)ms;
        } else if (strcmp(argv[i], "--function-timeout") == 0 && i + 1 < argc) {
            if (settings_parse_duration(argv[++i], &ms) || ms < 1000 || ms > 900000) {
                fprintf(stderr, "bootstrap: --function-timeout: expected a Lambda timeout from "
                                "1s to 15m such as 300s, got \"%s\"\n", argv[i]);
                return 2;
            }
            o.function_timeout_ms = ms;
        } else
            goto bad;
    }
    return check_run(&o, (const char *const *)environ, stdout) ? 1 : 0;
bad:
    fprintf(stderr, "bootstrap: unknown arguments\n");
    usage(stderr);
    return 2;
}
