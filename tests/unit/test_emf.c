/*
 * Metrics: runtime/emf.c's documents and temporal/worker/metrics.c's invocation line, checked
 * against the CloudWatch Embedded Metric Format specification by a validator written here from
 * the specification (its document structure and JSON schema): the line is one JSON object and
 * nothing else; "_aws" holds an integer Timestamp in Unix ms and a non-empty CloudWatchMetrics
 * array; each directive has exactly Namespace, Dimensions and Metrics; a dimension set has at
 * most 30 keys, each naming a root member whose value is a string of at most 1024 characters;
 * at most 100 metric definitions, each with a Name naming a root member that is a number or an
 * array of at most 100 numbers, a Unit from CloudWatch's list, a StorageResolution of 1 or 60.
 * The validator is shown to refuse documents that break each rule. Also: the settings that
 * turn metrics on (TEMPORAL_METRICS, TEMPORAL_METRICS_NAMESPACE), and the trace id the log
 * adds to every line (runtime/log.h), the crash line included (runtime/crash.h).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/crash.h"
#include "runtime/emf.h"
#include "runtime/log.h"
#include "temporal/config/settings.h"
#include "temporal/worker/metrics.h"

/* ---- the validator, from the specification ---- */

static const char *const SPEC_UNITS[] = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None"};

static int spec_unit(const char *u)
{
    for (size_t i = 0; i < sizeof(SPEC_UNITS) / sizeof(SPEC_UNITS[0]); i++)
        if (strcmp(u, SPEC_UNITS[i]) == 0)
            return 1;
    return 0;
}

/* Only the members in |allowed| (NULL-terminated) may be in |o|. */
static const char *only_members(const cJSON *o, const char *const *allowed)
{
    for (const cJSON *m = o->child; m; m = m->next) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(m->string, allowed[i]) == 0;
        if (!ok)
            return m->string;
    }
    return NULL;
}

static int is_string(const cJSON *o, size_t min, size_t max)
{
    return cJSON_IsString(o) && strlen(o->valuestring) >= min && strlen(o->valuestring) <= max;
}

/* NULL when |line| is a valid EMF document, else what is wrong (static buffer). */
static const char *emf_invalid(const char *line)
{
    static char why[256];
#define BAD(...) do { snprintf(why, sizeof(why), __VA_ARGS__); goto out; } while (0)
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(line, &end, 0);
    if (!root)
        BAD("not JSON");
    if (end && *end && strcmp(end, "\n") != 0)
        BAD("data after the JSON object");
    if (!cJSON_IsObject(root))
        BAD("not an object");
    const cJSON *aws = cJSON_GetObjectItemCaseSensitive(root, "_aws");
    if (!cJSON_IsObject(aws))
        BAD("no _aws object");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(aws, "Timestamp");
    if (!cJSON_IsNumber(ts) || ts->valuedouble != (double)(long long)ts->valuedouble)
        BAD("_aws.Timestamp is not an integer");
    if (ts->valuedouble < 1e12 || ts->valuedouble > 1e13)
        BAD("_aws.Timestamp is not Unix milliseconds");
    const cJSON *dirs = cJSON_GetObjectItemCaseSensitive(aws, "CloudWatchMetrics");
    if (!cJSON_IsArray(dirs) || cJSON_GetArraySize(dirs) < 1)
        BAD("_aws.CloudWatchMetrics is not a non-empty array");
    const cJSON *dir;
    cJSON_ArrayForEach(dir, dirs) {
        static const char *const DIRECTIVE[] = {"Namespace", "Dimensions", "Metrics", NULL};
        if (!cJSON_IsObject(dir))
            BAD("a MetricDirective is not an object");
        const char *extra = only_members(dir, DIRECTIVE);
        if (extra)
            BAD("MetricDirective member %s", extra);
        if (!is_string(cJSON_GetObjectItemCaseSensitive(dir, "Namespace"), 1, 255))
            BAD("Namespace is not a string of 1 to 255 characters");
        const cJSON *sets = cJSON_GetObjectItemCaseSensitive(dir, "Dimensions");
        if (!cJSON_IsArray(sets) || cJSON_GetArraySize(sets) < 1)
            BAD("Dimensions is not a non-empty array");
        const cJSON *set;
        cJSON_ArrayForEach(set, sets) {
            if (!cJSON_IsArray(set) || cJSON_GetArraySize(set) > 30)
                BAD("a DimensionSet is not an array of at most 30 keys");
            const cJSON *key;
            cJSON_ArrayForEach(key, set) {
                if (!is_string(key, 1, 250))
                    BAD("a dimension key is not a string of 1 to 250 characters");
                const cJSON *target = cJSON_GetObjectItemCaseSensitive(root, key->valuestring);
                if (!is_string(target, 1, 1024))
                    BAD("dimension %s is not a root string of 1 to 1024 characters",
                        key->valuestring);
            }
        }
        const cJSON *defs = cJSON_GetObjectItemCaseSensitive(dir, "Metrics");
        if (!cJSON_IsArray(defs) || cJSON_GetArraySize(defs) > 100)
            BAD("Metrics is not an array of at most 100 definitions");
        const cJSON *def;
        cJSON_ArrayForEach(def, defs) {
            static const char *const DEFINITION[] = {"Name", "Unit", "StorageResolution", NULL};
            if (!cJSON_IsObject(def))
                BAD("a MetricDefinition is not an object");
            const char *x = only_members(def, DEFINITION);
            if (x)
                BAD("MetricDefinition member %s", x);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(def, "Name");
            if (!is_string(name, 1, 1024))
                BAD("a metric Name is not a string of 1 to 1024 characters");
            const cJSON *unit = cJSON_GetObjectItemCaseSensitive(def, "Unit");
            if (unit && (!cJSON_IsString(unit) || !spec_unit(unit->valuestring)))
                BAD("metric %s: unit not CloudWatch's", name->valuestring);
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(def, "StorageResolution");
            if (res && (!cJSON_IsNumber(res) || (res->valuedouble != 1 && res->valuedouble != 60)))
                BAD("metric %s: StorageResolution not 1 or 60", name->valuestring);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name->valuestring);
            if (cJSON_IsArray(v)) {
                int n = cJSON_GetArraySize(v);
                if (n < 1 || n > 100)
                    BAD("metric %s: an array of %d values", name->valuestring, n);
                const cJSON *e;
                cJSON_ArrayForEach(e, v) if (!cJSON_IsNumber(e))
                    BAD("metric %s: a value that is not a number", name->valuestring);
            } else if (!cJSON_IsNumber(v)) {
                BAD("metric %s is not a root number or array of numbers", name->valuestring);
            }
        }
    }
    cJSON_Delete(root);
    return NULL;
out:
    cJSON_Delete(root);
    return why;
#undef BAD
}

static void assert_emf_valid(const char *line)
{
    const char *why = emf_invalid(line);
    if (why)
        fail_msg("not a valid EMF document (%s):\n%s", why, line);
}

/* The validator can fail: a valid document, then one broken in each way the rules name. */
static void the_validator_refuses_what_the_specification_forbids(void **st)
{
    const char *good = "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{"
                       "\"Namespace\":\"n\",\"Dimensions\":[[\"fv\"]],\"Metrics\":[{\"Name\":"
                       "\"time\",\"Unit\":\"Milliseconds\",\"StorageResolution\":60}]}]},"
                       "\"fv\":\"$LATEST\",\"time\":100}";
    assert_null(emf_invalid(good));
    static const char *const bad[] = {
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[]}}",
        "{\"_aws\":{\"Timestamp\":1574109732004.5,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[]}]}}",
        "{\"_aws\":{\"Timestamp\":1574109732,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[]}]}}", /* seconds */
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[\"fv\"]],\"Metrics\":[]}]}}", /* the dimension is missing */
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[\"fv\"]],\"Metrics\":[]}]},\"fv\":3}", /* not a string */
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"t\"}]}]},\"t\":\"1\"}",
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"t\",\"Unit\":\"Millis\"}]}]},\"t\":1}",
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[{\"Name\":\"t\"}]}]},\"t\":[]}",
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[],\"Extra\":1}]}}",
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[],\"Metrics\":[]}]}}",
        "{\"_aws\":{\"Timestamp\":1574109732004,\"CloudWatchMetrics\":[{\"Namespace\":\"n\","
        "\"Dimensions\":[[]],\"Metrics\":[]}]}} trailing",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!emf_invalid(bad[i]))
            fail_msg("the validator took bad document %zu: %s", i, bad[i]);
    /* 31 dimensions, 101 metrics, 101 values. */
    char doc[16384];
    size_t n = (size_t)snprintf(doc, sizeof(doc), "{\"_aws\":{\"Timestamp\":1574109732004,"
                                "\"CloudWatchMetrics\":[{\"Namespace\":\"n\",\"Dimensions\":[[");
    for (int i = 0; i < 31; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"d%d\"", i ? "," : "", i);
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]],\"Metrics\":[]}]}");
    for (int i = 0; i < 31; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"d%d\":\"v\"", i);
    snprintf(doc + n, sizeof(doc) - n, "}");
    assert_non_null(emf_invalid(doc));
    n = (size_t)snprintf(doc, sizeof(doc), "{\"_aws\":{\"Timestamp\":1574109732004,"
                         "\"CloudWatchMetrics\":[{\"Namespace\":\"n\",\"Dimensions\":[[]],"
                         "\"Metrics\":[");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s{\"Name\":\"m%d\"}", i ? "," : "", i);
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]}]}");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"m%d\":1", i);
    snprintf(doc + n, sizeof(doc) - n, "}");
    assert_non_null(emf_invalid(doc));
    n = (size_t)snprintf(doc, sizeof(doc), "{\"_aws\":{\"Timestamp\":1574109732004,"
                         "\"CloudWatchMetrics\":[{\"Namespace\":\"n\",\"Dimensions\":[[]],"
                         "\"Metrics\":[{\"Name\":\"t\"}]}]},\"t\":[");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s%d", i ? "," : "", i);
    snprintf(doc + n, sizeof(doc) - n, "]}");
    assert_non_null(emf_invalid(doc));
}

/* ---- emf.c ---- */

static void samples_keep_everything_then_a_uniform_hundred(void **st)
{
    emf_samples s = {0};
    for (int i = 0; i < 40; i++)
        emf_samples_add(&s, i);
    assert_int_equal(s.n, 40);
    for (int i = 0; i < 40; i++)
        assert_true(s.v[i] == i);
    for (int i = 40; i < 1000; i++)
        emf_samples_add(&s, i);
    assert_int_equal(s.n, EMF_MAX_VALUES);
    assert_true(s.seen == 1000);
    int later = 0;
    for (int i = 0; i < EMF_MAX_VALUES; i++) {
        assert_true(s.v[i] >= 0 && s.v[i] < 1000);
        for (int j = 0; j < i; j++)
            assert_true(s.v[i] != s.v[j]); /* each value offered once, kept at most once */
        later += s.v[i] >= 100;
    }
    assert_true(later > 0); /* values after the first hundred replaced some */
}

static void a_document_follows_the_specification(void **st)
{
    emf_samples lat = {0};
    for (int i = 0; i < 250; i++)
        emf_samples_add(&lat, 1.5 + i);
    emf_samples empty = {0};
    emf_member dims[] = {{"Queue", "q \"quoted\" \\ back\tslash"}, {"Build", "b1"}};
    emf_member props[] = {{"requestId", "r-1"}};
    emf_metric ms[] = {{"Tasks", "Count", 3, NULL}, {"Latency", "Milliseconds", 0, &lat},
                       {"Nothing", "Milliseconds", 0, &empty},
                       {"Odd", "None", NAN, NULL}};
    emf_doc d = {.ns = "NS", .timestamp_ms = 1700000000123, .dims = dims, .ndims = 2,
                 .metrics = ms, .nmetrics = 4, .props = props, .nprops = 1};
    char line[8192];
    int len = emf_format(&d, line, sizeof(line));
    assert_true(len > 0);
    assert_int_equal(strlen(line), len);
    assert_int_equal(line[len - 1], '\n');
    assert_true(strchr(line, '\n') == line + len - 1); /* one line */
    assert_emf_valid(line);
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    cJSON *aws = cJSON_GetObjectItem(o, "_aws");
    assert_true(cJSON_GetObjectItem(aws, "Timestamp")->valuedouble == 1700000000123.0);
    cJSON *dir = cJSON_GetArrayItem(cJSON_GetObjectItem(aws, "CloudWatchMetrics"), 0);
    assert_string_equal(cJSON_GetObjectItem(dir, "Namespace")->valuestring, "NS");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(dir, "Metrics")), 3); /* not Nothing */
    assert_null(cJSON_GetObjectItem(o, "Nothing"));
    assert_string_equal(cJSON_GetObjectItem(o, "Queue")->valuestring, dims[0].value);
    assert_string_equal(cJSON_GetObjectItem(o, "requestId")->valuestring, "r-1");
    assert_true(cJSON_GetObjectItem(o, "Tasks")->valuedouble == 3);
    assert_true(cJSON_GetObjectItem(o, "Odd")->valuedouble == 0);
    cJSON *vals = cJSON_GetObjectItem(o, "Latency");
    assert_int_equal(cJSON_GetArraySize(vals), EMF_MAX_VALUES);
    cJSON *e;
    cJSON_ArrayForEach(e, vals) /* to the microsecond, as given */
        assert_true(e->valuedouble - (double)(long long)e->valuedouble == 0.5);
    cJSON_Delete(o);
}

static void documents_the_specification_forbids_are_not_made(void **st)
{
    char line[65536];
    emf_member dims[31];
    char names[31][8];
    for (int i = 0; i < 31; i++) {
        snprintf(names[i], sizeof(names[i]), "d%d", i);
        dims[i] = (emf_member){names[i], "v"};
    }
    emf_metric one = {"m", "Count", 1, NULL};
    emf_doc d = {.ns = "NS", .timestamp_ms = 1700000000000, .dims = dims, .ndims = 30,
                 .metrics = &one, .nmetrics = 1};
    assert_true(emf_format(&d, line, sizeof(line)) > 0);
    assert_emf_valid(line);
    d.ndims = 31;
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    d.ndims = 1;
    emf_metric many[101];
    char mnames[101][8];
    for (int i = 0; i < 101; i++) {
        snprintf(mnames[i], sizeof(mnames[i]), "m%d", i);
        many[i] = (emf_metric){mnames[i], "Count", i, NULL};
    }
    d.metrics = many;
    d.nmetrics = 100;
    assert_true(emf_format(&d, line, sizeof(line)) > 0);
    assert_emf_valid(line);
    d.nmetrics = 101;
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    emf_metric wrong = {"m", "Millis", 1, NULL};
    d.metrics = &wrong;
    d.nmetrics = 1;
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    d.metrics = &one;
    emf_member blank = {"d", ""};
    d.dims = &blank;
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    char longv[1026];
    memset(longv, 'x', 1025);
    longv[1025] = '\0';
    emf_member big = {"d", longv};
    d.dims = &big;
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    longv[1024] = '\0';
    assert_true(emf_format(&d, line, sizeof(line)) > 0);
    assert_emf_valid(line);
    d.ns = "";
    assert_int_equal(emf_format(&d, line, sizeof(line)), -1);
    d.ns = "NS";
    assert_int_equal(emf_format(&d, line, 200), -1); /* does not fit: nothing half-made */
    assert_int_equal(emf_unit_valid("Count/Second"), 1);
    assert_int_equal(emf_unit_valid("count"), 0);
    assert_int_equal(emf_unit_valid(NULL), 0);
}

/* ---- the invocation's line ---- */

#define REQUIRED "TEMPORAL_TASK_QUEUE=orders", "TEMPORAL_DEPLOYMENT_NAME=shop", \
                 "TEMPORAL_WORKER_BUILD_ID=b7"

static void the_invocation_line_says_what_happened(void **st)
{
    const char *env[] = {REQUIRED, "TEMPORAL_METRICS=emf", NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    worker_metrics m = {.stop = "idle", .wf_tasks = 3, .wf_failed = 1, .acts_completed = 2,
                        .acts_failed = 1, .acts_failed_back = 0, .poll_errors = 4,
                        .idle_ms = 2001};
    for (int i = 0; i < 300; i++) /* more than a line takes: a sample of them */
        emf_samples_add(&m.wft_latency, 0.25 * i);
    emf_samples_add(&m.poll_wait, 12.5);
    char line[16384];
    int len = metrics_format(&s, &m, "req-1", "1-5759e988-bd862e3fe1be46a994272793",
                             1700000000000, line, sizeof(line));
    assert_true(len > 0);
    assert_emf_valid(line);
    cJSON *o = cJSON_Parse(line);
    cJSON *dir = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "_aws"), "CloudWatchMetrics"), 0);
    assert_string_equal(cJSON_GetObjectItem(dir, "Namespace")->valuestring,
                        "TemporalLambdaWorker");
    /* One dimension set, low cardinality: no request id, trace id or stop reason in it. */
    cJSON *sets = cJSON_GetObjectItem(dir, "Dimensions");
    assert_int_equal(cJSON_GetArraySize(sets), 1);
    char *set = cJSON_PrintUnformatted(cJSON_GetArrayItem(sets, 0));
    assert_string_equal(set, "[\"TaskQueue\",\"DeploymentName\",\"BuildId\"]");
    free(set);
    assert_string_equal(cJSON_GetObjectItem(o, "TaskQueue")->valuestring, "orders");
    assert_string_equal(cJSON_GetObjectItem(o, "DeploymentName")->valuestring, "shop");
    assert_string_equal(cJSON_GetObjectItem(o, "BuildId")->valuestring, "b7");
    assert_string_equal(cJSON_GetObjectItem(o, "stopReason")->valuestring, "idle");
    assert_string_equal(cJSON_GetObjectItem(o, "requestId")->valuestring, "req-1");
    assert_string_equal(cJSON_GetObjectItem(o, "traceId")->valuestring,
                        "1-5759e988-bd862e3fe1be46a994272793");
    static const struct { const char *name; double v; } want[] = {
        {"WorkflowTasks", 3}, {"WorkflowTaskFailures", 1}, {"ActivitiesCompleted", 2},
        {"ActivitiesFailed", 1}, {"ActivitiesFailedBack", 0}, {"PollErrors", 4},
        {"IdleBeforeExit", 2001}, {"StoppedIdle", 1}, {"StoppedAtDeadline", 0},
        {"StoppedOnError", 0}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cJSON *v = cJSON_GetObjectItem(o, want[i].name);
        if (!cJSON_IsNumber(v) || v->valuedouble != want[i].v)
            fail_msg("%s: want %g in %s", want[i].name, want[i].v, line);
    }
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "WorkflowTaskLatency")), 100);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "PollWait")), 1);
    assert_null(cJSON_GetObjectItem(o, "ReplayLatency")); /* nothing replayed: no datapoint */
    cJSON *def;
    cJSON_ArrayForEach(def, cJSON_GetObjectItem(dir, "Metrics")) {
        const char *unit = cJSON_GetObjectItem(def, "Unit")->valuestring;
        const char *name = cJSON_GetObjectItem(def, "Name")->valuestring;
        int timed = strstr(name, "Latency") || strcmp(name, "PollWait") == 0 ||
                    strcmp(name, "IdleBeforeExit") == 0;
        assert_string_equal(unit, timed ? "Milliseconds" : "Count");
    }
    cJSON_Delete(o);

    /* A failed invocation before polling: stop reason error, no idle time, no trace. */
    worker_metrics failed = {.idle_ms = -1};
    len = metrics_format(&s, &failed, "req-2", NULL, 1700000000000, line, sizeof(line));
    assert_true(len > 0);
    assert_emf_valid(line);
    o = cJSON_Parse(line);
    assert_string_equal(cJSON_GetObjectItem(o, "stopReason")->valuestring, "error");
    assert_true(cJSON_GetObjectItem(o, "StoppedOnError")->valuedouble == 1);
    assert_null(cJSON_GetObjectItem(o, "IdleBeforeExit"));
    assert_null(cJSON_GetObjectItem(o, "traceId"));
    cJSON_Delete(o);
    settings_free(&s);
}

/* Samples at their fullest and the longest names settings take still fit the line's buffer. */
static void the_fullest_line_fits(void **st)
{
    static char q[1025], d[1025], b[1025], ns[256];
    memset(q, 'q', 1024);
    memset(d, 'd', 1024);
    memset(b, 'b', 1024);
    memset(ns, 'n', 255);
    char eq[1100], ed[1100], eb[1100], ens[300];
    snprintf(eq, sizeof(eq), "TEMPORAL_TASK_QUEUE=%s", q);
    snprintf(ed, sizeof(ed), "TEMPORAL_DEPLOYMENT_NAME=%s", d);
    snprintf(eb, sizeof(eb), "TEMPORAL_WORKER_BUILD_ID=%s", b);
    snprintf(ens, sizeof(ens), "TEMPORAL_METRICS_NAMESPACE=%s", ns);
    const char *env[] = {eq, ed, eb, ens, "TEMPORAL_METRICS=emf", NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    worker_metrics m = {.stop = "deadline", .idle_ms = 123456789};
    for (int i = 0; i < 1000; i++) {
        emf_samples_add(&m.wft_latency, 123456.789 + i);
        emf_samples_add(&m.replay, 123456.789 + i);
        emf_samples_add(&m.poll_wait, 123456.789 + i);
    }
    char req[LOG_REQUEST_ID_MAX + 1], trace[LOG_TRACE_ID_MAX + 1];
    memset(req, 'r', sizeof(req) - 1);
    memset(trace, 't', sizeof(trace) - 1);
    req[sizeof(req) - 1] = trace[sizeof(trace) - 1] = '\0';
    char line[16384]; /* metrics.c's */
    int len = metrics_format(&s, &m, req, trace, 1700000000000, line, sizeof(line));
    assert_true(len > 0);
    assert_emf_valid(line);
    settings_free(&s);
}

/* ---- settings ---- */

static void metrics_are_off_unless_asked_for(void **st)
{
    const char *env[] = {REQUIRED, NULL};
    settings s;
    char err[256];
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    assert_int_equal(s.metrics, SETTINGS_METRICS_OFF);
    assert_string_equal(s.metrics_namespace, "TemporalLambdaWorker");
    settings_free(&s);
    const char *on[] = {REQUIRED, "TEMPORAL_METRICS=EMF", "TEMPORAL_METRICS_NAMESPACE=Shop/Workers",
                        NULL};
    assert_int_equal(settings_load(&s, on, err, sizeof(err)), 0);
    assert_int_equal(s.metrics, SETTINGS_METRICS_EMF);
    assert_string_equal(s.metrics_namespace, "Shop/Workers");
    settings_free(&s);
    const char *off[] = {REQUIRED, "TEMPORAL_METRICS=off", NULL};
    assert_int_equal(settings_load(&s, off, err, sizeof(err)), 0);
    assert_int_equal(s.metrics, SETTINGS_METRICS_OFF);
    settings_free(&s);
}

static void metric_mistakes_name_the_variable(void **st)
{
    static const struct { const char *var, *names; } cases[] = {
        {"TEMPORAL_METRICS=on", "TEMPORAL_METRICS:"},
        {"TEMPORAL_METRICS=cloudwatch", "TEMPORAL_METRICS:"},
        {"TEMPORAL_METRICS_NAMESPACE=AWS/Lambda", "TEMPORAL_METRICS_NAMESPACE"},
        {"TEMPORAL_METRICS_NAMESPACE=:x", "TEMPORAL_METRICS_NAMESPACE"},
        {"TEMPORAL_METRICS_NAMESPACE=caf\xc3\xa9", "TEMPORAL_METRICS_NAMESPACE"},
        {"TEMPORAL_METRICS_NAMESPACE=   ", "TEMPORAL_METRICS_NAMESPACE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *env[] = {REQUIRED, cases[i].var, NULL};
        settings s;
        char err[256] = "";
        if (settings_load(&s, env, err, sizeof(err)) == 0)
            fail_msg("%s was taken", cases[i].var);
        if (!strstr(err, cases[i].names))
            fail_msg("%s: the error does not name %s: %s", cases[i].var, cases[i].names, err);
    }
    /* A dimension CloudWatch would refuse, only when metrics are on. */
    const char *env[] = {"TEMPORAL_TASK_QUEUE=caf\xc3\xa9", "TEMPORAL_DEPLOYMENT_NAME=d",
                         "TEMPORAL_WORKER_BUILD_ID=b", "TEMPORAL_METRICS=emf", NULL};
    settings s;
    char err[256] = "";
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TEMPORAL_TASK_QUEUE"));
    assert_non_null(strstr(err, "TEMPORAL_METRICS"));
    env[3] = NULL;
    assert_int_equal(settings_load(&s, env, err, sizeof(err)), 0);
    settings_free(&s);
}

/* ---- the log's trace id ---- */

static void the_trace_root_is_the_xray_trace_id(void **st)
{
    char out[LOG_TRACE_ID_MAX + 1];
    log_trace_root("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                   out, sizeof(out));
    assert_string_equal(out, "1-5759e988-bd862e3fe1be46a994272793");
    log_trace_root("Parent=53995c3f42cd8ad8;Root=1-abc;Sampled=0;Lineage=a:1", out, sizeof(out));
    assert_string_equal(out, "1-abc");
    log_trace_root("opaque-id", out, sizeof(out));
    assert_string_equal(out, "opaque-id");
    log_trace_root(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    log_trace_root("Root=1-abcdef", out, 5);
    assert_string_equal(out, "1-ab");
}

/* A line written with the ids set carries "traceId" right after "requestId"; none once
 * cleared. Read back from a pipe put in place of stderr. */
static void every_line_carries_the_trace_id(void **st)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    log_set_request_id("req-9");
    log_set_trace_id("Root=1-67891233-abcdef012345678912345678;Parent=1;Sampled=0");
    log_info("one");
    log_set_task("activity", "Act", "wf-1", "7");
    log_warn("two");
    log_set_task(NULL, NULL, NULL, NULL);
    log_set_request_id(NULL);
    log_set_trace_id(NULL);
    log_info("three");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    char buf[8192];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    char *save = NULL;
    const char *l1 = strtok_r(buf, "\n", &save), *l2 = strtok_r(NULL, "\n", &save),
               *l3 = strtok_r(NULL, "\n", &save);
    assert_non_null(l3);
    const char *ids = "\"requestId\":\"req-9\",\"traceId\":\"1-67891233-abcdef012345678912345678\"";
    assert_non_null(strstr(l1, ids));
    assert_non_null(strstr(l2, ids));
    assert_non_null(strstr(l2, "\"activityId\":\"7\""));
    assert_null(strstr(l3, "traceId"));
    assert_null(strstr(l3, "requestId"));
    log_context lc;
    log_context_get(&lc);
    assert_string_equal(lc.trace_id, "");
}

/* The crash line (runtime/crash.c) is a line of the invocation too. The handlers are
 * crash_install's from main (cmocka puts its own in place while a test runs: ours again in
 * the child). */
static const int CRASH_SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction ours[5];

static void the_crash_line_carries_the_trace_id(void **st)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 5; i++)
            sigaction(CRASH_SIGNALS[i], &ours[i], NULL);
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        log_set_request_id("req-crash");
        log_set_trace_id("Root=1-00000001-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=2;Sampled=1");
        abort();
    }
    close(p[1]);
    char buf[16384];
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    const char *fatal = strstr(buf, "\"level\":\"FATAL\"");
    if (!fatal)
        fail_msg("no crash line in: %s", buf);
    assert_non_null(strstr(fatal, "\"requestId\":\"req-crash\",\"traceId\":"
                                  "\"1-00000001-aaaaaaaaaaaaaaaaaaaaaaaa\""));
}

int main(void)
{
    if (crash_install() != 0)
        return 1;
    for (int i = 0; i < 5; i++)
        sigaction(CRASH_SIGNALS[i], NULL, &ours[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_validator_refuses_what_the_specification_forbids),
        cmocka_unit_test(samples_keep_everything_then_a_uniform_hundred),
        cmocka_unit_test(a_document_follows_the_specification),
        cmocka_unit_test(documents_the_specification_forbids_are_not_made),
        cmocka_unit_test(the_invocation_line_says_what_happened),
        cmocka_unit_test(the_fullest_line_fits),
        cmocka_unit_test(metrics_are_off_unless_asked_for),
        cmocka_unit_test(metric_mistakes_name_the_variable),
        cmocka_unit_test(the_trace_root_is_the_xray_trace_id),
        cmocka_unit_test(every_line_carries_the_trace_id),
        cmocka_unit_test(the_crash_line_carries_the_trace_id),
    };
    return cmocka_run_group_tests_name("emf", tests, NULL, NULL);
}
