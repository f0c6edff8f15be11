/*
 * The deploy template (layer/template.yaml) against what it deploys: cfn-lint (pinned, from
 * the virtualenv deps/cfn-lint.sh makes, named by CFN_LINT_VENV) passes on it and fails on a
 * broken copy; every environment variable it gives the function is one bootstrap reads, by
 * the names in the sources bootstrap is built from (so a variable renamed there, or one the
 * template invents, fails here); the handler, runtime and zips are the ones `make layer` makes
 * (in LAYERS); the role Temporal assumes may do two things to this function and nothing else;
 * the outputs are what `temporal worker deployment create-version` takes, and
 * layer/print-temporal-commands.sh builds the commands from them (a saved describe-stacks
 * answer, tests/data/describe-stacks-worker.json).
 *
 * The YAML is read by cfn-lint's own reader (the virtualenv's python3), printed as JSON, and
 * checked here with cJSON. `make test` exports CFN_LINT_VENV and LAYERS; by hand:
 *   CFN_LINT_VENV=~/.cache/tw-deps/cfn-lint-<version> LAYERS=build build/tests/test_template
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define TEMPLATE "layer/template.yaml"
#define SAMPLE_STACK "tests/data/describe-stacks-worker.json"

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Runs |cmd| with sh, stdout and stderr into a new string (the caller frees it); returns the
 * exit status (-1 when it did not exit). */
static int run(char **out, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = 0;
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *venv(void)
{
    const char *v = getenv("CFN_LINT_VENV");
    if (!v || !*v)
        fail_msg("CFN_LINT_VENV is not set: make test sets it (the virtualenv of deps/cfn-lint.sh)");
    return v;
}

/* The template as cfn-lint reads it, as JSON. */
static cJSON *load_template(const char *path)
{
    char *out;
    int rc = run(&out, "'%s/bin/python3' -c 'import json, sys; from cfnlint.decode import cfn_yaml; "
                       "print(json.dumps(cfn_yaml.load(sys.argv[1])))' '%s' 2>&1", venv(), path);
    if (rc != 0)
        fail_msg("reading %s: %s", path, out);
    cJSON *t = cJSON_Parse(out);
    free(out);
    assert_non_null(t);
    return t;
}

/* Names bootstrap reads from its environment: every string literal that is a whole variable
 * name (TEMPORAL_*, AWS_*, LAMBDA_*, _HANDLER) in the C files bootstrap is built from. */
#define MAX_NAMES 256
typedef struct names {
    char *v[MAX_NAMES];
    int n;
} names;

static int is_var_name(const char *s, size_t n)
{
    static const char *const prefixes[] = {"TEMPORAL_", "AWS_", "LAMBDA_", "_HANDLER"};
    int ok = 0;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
        if (n >= strlen(prefixes[i]) && strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            ok = 0;
    return ok;
}

static int has_name(const names *ns, const char *s)
{
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0)
            return 1;
    return 0;
}

static void add_name(names *ns, const char *s, size_t n)
{
    char *c = strndup(s, n);
    assert_non_null(c);
    if (has_name(ns, c)) {
        free(c);
        return;
    }
    assert_true(ns->n < MAX_NAMES);
    ns->v[ns->n++] = c;
}

static void scan_file(names *ns, const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        for (char *q = strchr(line, '"'); q; q = strchr(q + 1, '"')) {
            char *end = strchr(q + 1, '"');
            if (!end)
                break;
            if (is_var_name(q + 1, (size_t)(end - q - 1)))
                add_name(ns, q + 1, (size_t)(end - q - 1));
            q = end;
        }
    }
    fclose(f);
}

static void read_names(names *ns)
{
    /* The folders of BOOTSTRAP_SRC (Makefile): the runtime, the worker and its config. */
    static const char *const dirs[] = {".", "runtime", "registry", "temporal/config",
                                       "temporal/worker", "temporal/net", "temporal/engine"};
    memset(ns, 0, sizeof(*ns));
    for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
        DIR *d = opendir(dirs[i]);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
                continue;
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
            scan_file(ns, path);
        }
        closedir(d);
    }
}

static void free_names(names *ns)
{
    for (int i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

static cJSON *resource(const cJSON *t, const char *name, const char *type)
{
    cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "Resources"), name);
    if (!r)
        fail_msg("the template has no resource %s", name);
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Type"));
    if (!ty || strcmp(ty, type) != 0)
        fail_msg("resource %s: type %s, expected %s", name, ty ? ty : "(none)", type);
    return cJSON_GetObjectItemCaseSensitive(r, "Properties");
}

static cJSON *function_props(const cJSON *t)
{
    return resource(t, "WorkerFunction", "AWS::Serverless::Function");
}

/* The parameter a value names: {"Ref": P}, or {"Fn::If": [c, {"Ref": P}, {"Ref": "AWS::NoValue"}]}. */
static const char *param_of(const cJSON *v)
{
    const cJSON *iff = cJSON_GetObjectItemCaseSensitive(v, "Fn::If");
    if (iff) {
        const char *no = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(iff, 2), "Ref"));
        if (cJSON_GetArraySize(iff) != 3 || !no || strcmp(no, "AWS::NoValue") != 0)
            return NULL;
        v = cJSON_GetArrayItem(iff, 1);
    }
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "Ref"));
    return p && strncmp(p, "AWS::", 5) != 0 ? p : NULL;
}

static cJSON *parameter(const cJSON *t, const char *name)
{
    cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "Parameters"), name);
    if (!p)
        fail_msg("the template has no parameter %s", name);
    return p;
}

/* Checks the function's environment against |ns|: each variable (and the log level Lambda
 * passes as AWS_LAMBDA_LOG_LEVEL) must be one bootstrap reads. Returns the number of
 * variables that are not, naming them in |why|. */
static int check_env(const cJSON *t, const names *ns, char *why, size_t whylen)
{
    const cJSON *props = function_props(t);
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(props, "Environment"), "Variables");
    int bad = 0;
    why[0] = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vars) {
        if (!has_name(ns, v->string)) {
            bad++;
            size_t l = strlen(why);
            snprintf(why + l, whylen - l, " %s", v->string);
        }
    }
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(props, "LoggingConfig");
    if (cJSON_GetObjectItemCaseSensitive(log, "ApplicationLogLevel") &&
        !has_name(ns, "AWS_LAMBDA_LOG_LEVEL")) {
        bad++;
        size_t l = strlen(why);
        snprintf(why + l, whylen - l, " AWS_LAMBDA_LOG_LEVEL (LoggingConfig)");
    }
    return bad;
}

/* ------------------------------------------------------------------------------------------ */
/* cfn-lint                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void cfn_lint_passes_on_the_template(void **st)
{
    char *out;
    int rc = run(&out, "'%s/bin/cfn-lint' " TEMPLATE " 2>&1", venv());
    if (rc != 0)
        fail_msg("cfn-lint " TEMPLATE " (exit %d):\n%s", rc, out);
    free(out);
}

/* The linter really reads the template: a copy with a misspelt property and a reference to a
 * parameter that does not exist is refused. */
static void cfn_lint_fails_on_a_broken_copy(void **st)
{
    char dir[] = "/tmp/tw-template-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *out;
    assert_int_equal(run(&out, "sed -e 's/AutoPublishAlias:/AutoPublishAlias_:/' "
                               "-e 's/!Ref TaskQueue$/!Ref TaskQueues/' " TEMPLATE " >%s/t.yaml",
                         dir), 0);
    free(out);
    int rc = run(&out, "'%s/bin/cfn-lint' %s/t.yaml 2>&1", venv(), dir);
    int saw_property = strstr(out, "AutoPublishAlias_") != NULL;
    int saw_ref = strstr(out, "TaskQueues") != NULL;
    char *rm;
    run(&rm, "rm -rf %s", dir);
    free(rm);
    if (rc == 0 || !saw_property || !saw_ref)
        fail_msg("cfn-lint on a broken copy: exit %d, output:\n%s", rc, out);
    free(out);
}

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void every_variable_is_one_bootstrap_reads(void **st)
{
    names ns;
    read_names(&ns);
    /* The scan finds the settings it must: the required three and the connection's. */
    assert_true(has_name(&ns, "TEMPORAL_TASK_QUEUE"));
    assert_true(has_name(&ns, "TEMPORAL_ADDRESS"));
    assert_true(has_name(&ns, "_HANDLER"));
    cJSON *t = load_template(TEMPLATE);
    char why[1024];
    if (check_env(t, &ns, why, sizeof(why)) != 0)
        fail_msg(TEMPLATE " sets variables bootstrap does not read:%s", why);
    /* And it sets some: the check is not vacuous. */
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(function_props(t), "Environment"), "Variables");
    assert_true(cJSON_GetArraySize(vars) >= 5);
    cJSON_Delete(t);
    free_names(&ns);
}

/* The check fails on a variable bootstrap does not read, and on one renamed in the sources. */
static void a_variable_bootstrap_does_not_read_fails(void **st)
{
    names ns;
    read_names(&ns);
    cJSON *t = load_template(TEMPLATE);
    char why[1024];
    cJSON *vars = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(function_props(t), "Environment"), "Variables");
    cJSON_AddStringToObject(vars, "TEMPORAL_IDLE_TIMEOUT", "2s");
    assert_int_equal(check_env(t, &ns, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "TEMPORAL_IDLE_TIMEOUT"));
    cJSON_DeleteItemFromObjectCaseSensitive(vars, "TEMPORAL_IDLE_TIMEOUT");
    assert_int_equal(check_env(t, &ns, why, sizeof(why)), 0);

    /* TEMPORAL_WORKER_BUILD_ID renamed in settings.c: the sources no longer name it. */
    for (int i = 0; i < ns.n; i++)
        if (strcmp(ns.v[i], "TEMPORAL_WORKER_BUILD_ID") == 0)
            ns.v[i][0] = 'X';
    assert_int_equal(check_env(t, &ns, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "TEMPORAL_WORKER_BUILD_ID"));
    cJSON_Delete(t);
    free_names(&ns);
}

/* What a worker cannot start without comes from parameters sam deploy --guided asks for (no
 * default), and secrets from parameters it does not echo. */
static void required_settings_and_secrets_are_parameters(void **st)
{
    cJSON *t = load_template(TEMPLATE);
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(function_props(t), "Environment"), "Variables");
    static const char *const required[] = {"TEMPORAL_TASK_QUEUE", "TEMPORAL_DEPLOYMENT_NAME",
                                           "TEMPORAL_WORKER_BUILD_ID", "TEMPORAL_ADDRESS",
                                           "TEMPORAL_NAMESPACE"};
    for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, required[i]);
        const char *p = v ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "Ref")) : NULL;
        if (!p)
            fail_msg("%s is not set from a parameter", required[i]);
        if (cJSON_GetObjectItemCaseSensitive(parameter(t, p), "Default"))
            fail_msg("%s comes from %s, which has a default: deploy would not ask for it",
                     required[i], p);
    }
    const cJSON *v;
    int secrets = 0;
    cJSON_ArrayForEach(v, vars) {
        const char *p = param_of(v);
        if (!p)
            fail_msg("%s is set neither from a parameter nor left out when empty", v->string);
        if (strstr(v->string, "API_KEY") || strstr(v->string, "KEY_DATA")) {
            secrets++;
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(parameter(t, p), "NoEcho")))
                fail_msg("%s comes from %s, which is not NoEcho", v->string, p);
        }
    }
    assert_int_equal(secrets, 2);
    cJSON_Delete(t);
}

/* ------------------------------------------------------------------------------------------ */
/* What it deploys                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The zip at |uri| (relative to layer/) has the name of one `make layer` made in $LAYERS;
 * returns the path there (the caller frees it). */
static char *made_zip(const char *uri, const char *expected)
{
    const char *layers = getenv("LAYERS");
    if (!layers || !*layers)
        fail_msg("LAYERS is not set: make test sets it (the folder `make layer` fills)");
    if (!uri || strncmp(uri, "../build/", 9) != 0 || strcmp(uri + 9, expected) != 0)
        fail_msg("expected ../build/%s, the template has %s", expected, uri ? uri : "(none)");
    char *path;
    assert_true(asprintf(&path, "%s/%s", layers, expected) > 0);
    if (access(path, R_OK) != 0)
        fail_msg("%s: not made by make layer", path);
    return path;
}

static void the_function_runs_the_library_on_the_layer(void **st)
{
    cJSON *t = load_template(TEMPLATE);
    const cJSON *f = function_props(t);
    const char *runtime = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "Runtime"));
    assert_non_null(runtime);
    assert_string_equal(runtime, "provided.al2023");
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "AutoPublishAlias")));

    /* The handler is the library in the function zip (bootstrap dlopens _HANDLER). */
    const char *hp = param_of(cJSON_GetObjectItemCaseSensitive(f, "Handler"));
    assert_non_null(hp);
    const char *lib = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parameter(t, hp), "Default"));
    assert_non_null(lib);
    char *zip = made_zip(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "CodeUri")),
                         "function-x86_64.zip");
    char *out;
    assert_int_equal(run(&out, "unzip -Z1 '%s'", zip), 0);
    if (!strstr(out, lib))
        fail_msg("the handler %s is not in %s:\n%s", lib, zip, out);
    free(out);
    free(zip);

    /* Each architecture's layer is that architecture's zip; the function takes the one of its
     * architecture. */
    static const char *const arch[][2] = {{"RuntimeLayerX86", "x86_64"}, {"RuntimeLayerArm64", "arm64"}};
    for (int i = 0; i < 2; i++) {
        const cJSON *l = resource(t, arch[i][0], "AWS::Serverless::LayerVersion");
        char want[64];
        snprintf(want, sizeof(want), "layer-%s.zip", arch[i][1]);
        free(made_zip(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "ContentUri")), want));
        const cJSON *ca = cJSON_GetObjectItemCaseSensitive(l, "CompatibleArchitectures");
        assert_int_equal(cJSON_GetArraySize(ca), 1);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(ca, 0)), arch[i][1]);
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(f, "Layers");
    assert_int_equal(cJSON_GetArraySize(layers), 1);
    const cJSON *iff = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, 0), "Fn::If");
    assert_non_null(iff);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(iff, 0)), "IsArm64");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetArrayItem(iff, 1), "Ref")), "RuntimeLayerArm64");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetArrayItem(iff, 2), "Ref")), "RuntimeLayerX86");
    cJSON_Delete(t);
}

/* Temporal's role: assumed by the given principals with the external id only, and allowed to
 * invoke and read this function's versions and aliases, nothing else. */
static void temporal_may_only_invoke_this_function(void **st)
{
    cJSON *t = load_template(TEMPLATE);
    const cJSON *r = resource(t, "TemporalInvocationRole", "AWS::IAM::Role");
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "ManagedPolicyArns"));
    const cJSON *trust = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "AssumeRolePolicyDocument"), "Statement");
    assert_int_equal(cJSON_GetArraySize(trust), 1);
    const cJSON *s = cJSON_GetArrayItem(trust, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "Action")),
                        "sts:AssumeRole");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s, "Principal"), "AWS");
    assert_string_equal(param_of(who), "TemporalPrincipalArns");
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "Condition"),
                                         "StringEquals"), "sts:ExternalId");
    assert_string_equal(param_of(ext), "ExternalId");

    const cJSON *pols = cJSON_GetObjectItemCaseSensitive(r, "Policies");
    assert_int_equal(cJSON_GetArraySize(pols), 1);
    const cJSON *stmts = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pols, 0), "PolicyDocument"), "Statement");
    assert_int_equal(cJSON_GetArraySize(stmts), 1);
    s = cJSON_GetArrayItem(stmts, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "Effect")), "Allow");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(s, "Action");
    assert_int_equal(cJSON_GetArraySize(acts), 2);
    int invoke = 0, get = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, acts) {
        invoke |= strcmp(cJSON_GetStringValue(a), "lambda:InvokeFunction") == 0;
        get |= strcmp(cJSON_GetStringValue(a), "lambda:GetFunction") == 0;
    }
    assert_true(invoke && get);
    /* Qualified ARNs of this function only: not "*", not the unqualified ARN ($LATEST). */
    const char *res = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "Resource"), "Fn::Sub"));
    assert_non_null(res);
    assert_string_equal(res, "${WorkerFunction.Arn}:*");
    cJSON_Delete(t);
}

/* The outputs create-version takes, and the script that prints the commands from them. */
static void outputs_make_the_temporal_commands(void **st)
{
    cJSON *t = load_template(TEMPLATE);
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(t, "Outputs");
    const cJSON *o;
    o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(outs, "FunctionVersionArn"), "Value");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "Ref")),
                        "WorkerFunction.Version");
    o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(outs, "InvocationRoleArn"), "Value");
    const cJSON *ga = cJSON_GetObjectItemCaseSensitive(o, "Fn::GetAtt");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(ga, 0)), "TemporalInvocationRole");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(ga, 1)), "Arn");
    static const char *const from_params[][2] = {{"ExternalId", "ExternalId"},
        {"TemporalNamespace", "TemporalNamespace"}, {"DeploymentName", "DeploymentName"},
        {"BuildId", "BuildId"}, {"TaskQueue", "TaskQueue"}};
    for (size_t i = 0; i < sizeof(from_params) / sizeof(*from_params); i++) {
        o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(outs, from_params[i][0]), "Value");
        if (!param_of(o) || strcmp(param_of(o), from_params[i][1]) != 0)
            fail_msg("output %s is not parameter %s", from_params[i][0], from_params[i][1]);
    }

    /* The saved describe-stacks answer has exactly the template's outputs. */
    char *json = NULL, *out;
    assert_int_equal(run(&json, "cat " SAMPLE_STACK), 0);
    cJSON *doc = cJSON_Parse(json);
    free(json);
    const cJSON *stack = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "Stacks"), 0);
    assert_non_null(stack);
    const cJSON *souts = cJSON_GetObjectItemCaseSensitive(stack, "Outputs");
    assert_int_equal(cJSON_GetArraySize(souts), cJSON_GetArraySize(outs));
    cJSON_ArrayForEach(o, souts) {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "OutputKey"));
        if (!cJSON_GetObjectItemCaseSensitive(outs, k))
            fail_msg(SAMPLE_STACK " has output %s, the template has not", k);
    }
    cJSON_Delete(doc);

    assert_int_equal(run(&out, "bash layer/print-temporal-commands.sh - <" SAMPLE_STACK " 2>&1"), 0);
    static const char *const want =
        "temporal worker deployment create --namespace orders.a1b2c --name orders\n"
        "temporal worker deployment create-version --namespace orders.a1b2c \\\n"
        "    --deployment-name orders --build-id 2026-11-29.1 \\\n"
        "    --aws-lambda-function-arn arn:aws:lambda:eu-west-1:123456789012:function:orders-worker-WorkerFunction-Xk2D9qLm3Pz7:1 \\\n"
        "    --aws-lambda-assume-role-arn arn:aws:iam::123456789012:role/orders-worker-TemporalInvocationRole-J4nV8cW2sQ1e \\\n"
        "    --aws-lambda-assume-role-external-id orders-7f3k2q\n";
    if (!strstr(out, want))
        fail_msg("print-temporal-commands.sh printed:\n%s", out);
    assert_non_null(strstr(out, "temporal worker deployment set-current-version --namespace orders.a1b2c \\\n"
                                "    --deployment-name orders --build-id 2026-11-29.1 --allow-no-pollers --yes\n"));
    free(out);

    /* A stack without the outputs (not made from the template, or not finished) is an error
     * that names what is missing; a value the shell would split is quoted. */
    assert_int_equal(run(&out, "sed '/FunctionVersionArn/d' " SAMPLE_STACK
                               " | bash layer/print-temporal-commands.sh - 2>&1"), 1);
    assert_non_null(strstr(out, "FunctionVersionArn"));
    free(out);
    assert_int_equal(run(&out, "sed 's/\"orders-7f3k2q\"/\"a b;c\"/' " SAMPLE_STACK
                               " | bash layer/print-temporal-commands.sh - 2>&1"), 0);
    assert_non_null(strstr(out, "--aws-lambda-assume-role-external-id 'a b;c'\n"));
    free(out);
    cJSON_Delete(t);
}

/* Given a stack name, the script reads the stack through the aws CLI and prints the commands
 * only when the published version runs the stack's BuildId (a stand-in `aws` on PATH answers
 * as the AWS CLI would, and records what it was asked). */
static void the_printed_version_runs_the_stacks_build(void **st)
{
    char dir[] = "/tmp/tw-fakeaws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/aws", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n"
               "echo \"$*\" >>%s/calls\n"
               "case \"$1 $2\" in\n"
               "'cloudformation describe-stacks') cat " SAMPLE_STACK " ;;\n"
               "'lambda get-function-configuration') echo \"$FAKE_BUILD\" ;;\n"
               "*) exit 3 ;;\n"
               "esac\n", dir);
    fclose(f);
    char *out;
    assert_int_equal(run(&out, "chmod +x %s", path), 0);
    free(out);

    int rc = run(&out, "FAKE_BUILD=2026-11-29.1 PATH=%s:$PATH bash layer/print-temporal-commands.sh "
                       "orders-worker --region eu-west-1 2>&1", dir);
    if (rc != 0 || !strstr(out, "--aws-lambda-function-arn arn:aws:lambda:eu-west-1:123456789012:"
                                "function:orders-worker-WorkerFunction-Xk2D9qLm3Pz7:1 \\\n"))
        fail_msg("print-temporal-commands.sh orders-worker (exit %d):\n%s", rc, out);
    free(out);
    char *calls;
    assert_int_equal(run(&calls, "cat %s/calls", dir), 0);
    assert_non_null(strstr(calls, "cloudformation describe-stacks --stack-name orders-worker "
                                  "--region eu-west-1 --output json\n"));
    assert_non_null(strstr(calls, "lambda get-function-configuration --function-name "
                                  "arn:aws:lambda:eu-west-1:123456789012:function:"
                                  "orders-worker-WorkerFunction-Xk2D9qLm3Pz7:1 --region eu-west-1 "
                                  "--query Environment.Variables.TEMPORAL_WORKER_BUILD_ID"));
    free(calls);

    /* The deploy changed only the BuildId: the version still runs the old build. */
    rc = run(&out, "FAKE_BUILD=2026-11-28.3 PATH=%s:$PATH bash layer/print-temporal-commands.sh "
                   "orders-worker --region eu-west-1 2>&1", dir);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "runs build 2026-11-28.3, not the stack's BuildId 2026-11-29.1"));
    assert_null(strstr(out, "temporal worker deployment"));
    free(out);
    assert_int_equal(run(&out, "rm -rf %s", dir), 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cfn_lint_passes_on_the_template),
        cmocka_unit_test(cfn_lint_fails_on_a_broken_copy),
        cmocka_unit_test(every_variable_is_one_bootstrap_reads),
        cmocka_unit_test(a_variable_bootstrap_does_not_read_fails),
        cmocka_unit_test(required_settings_and_secrets_are_parameters),
        cmocka_unit_test(the_function_runs_the_library_on_the_layer),
        cmocka_unit_test(temporal_may_only_invoke_this_function),
        cmocka_unit_test(outputs_make_the_temporal_commands),
        cmocka_unit_test(the_printed_version_runs_the_stacks_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
