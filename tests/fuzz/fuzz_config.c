/*
 * fuzz_config: envconfig (temporal/config/envconfig.h) and the worker's settings (temporal/config/settings.h)
 * from an arbitrary environment and config file, as a function's configuration hands them over.
 *
 * Input: an environment, then optionally the config file and a PEM file, separated by lines
 * "%%":
 *
 *   KEY=VALUE entries, one per line or NUL-separated
 *   %%
 *   the TOML file, written to ./temporal.toml and ./root/temporal.toml
 *   %%
 *   the file ./pem
 *
 * Everything happens in a private scratch folder that is the current directory: the values of
 * TEMPORAL_CONFIG_FILE, LAMBDA_TASK_ROOT and TEMPORAL_TLS_*_PATH are made relative to it (a
 * leading '/' and ".." become '_'), so "temporal.toml", "root" and "pem" name the files above.
 * (Paths written inside the TOML file are read as given: reading is harmless.)
 *
 * Checked beyond crashes and leaks: a load that fails says why and leaves the config zeroed, a
 * load that succeeds has an address, a namespace and a profile, and a secret taken from the
 * environment (an API key or a gRPC metadata value with a '~' in it, at least 8 bytes, found
 * nowhere else in the input) never shows in an error message.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temporal/config/envconfig.h"
#include "temporal/config/settings.h"

#define MAX_ENV 256

static char scratch[4096];

#define check FUZZ_CHECK

static void cleanup(void)
{
    if (!scratch[0])
        return;
    static const char *const files[] = {"temporal.toml", "root/temporal.toml", "pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s/%s", scratch, files[i]);
        unlink(p);
    }
    char root[4200];
    snprintf(root, sizeof(root), "%s/root", scratch);
    rmdir(root);
    rmdir(scratch);
}

static void enter_scratch(void)
{
    if (scratch[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/fuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    check(mkdtemp(scratch) != NULL);
    check(chdir(scratch) == 0);
    check(mkdir("root", 0700) == 0);
    atexit(cleanup);
}

/* Writes |len| bytes to |path|, or removes it when |data| is NULL. */
static void put(const char *path, const uint8_t *data, size_t len)
{
    if (!data) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, len, f) == len || len == 0);
    check(fclose(f) == 0);
}

/* Cuts the section at *p (up to a "\n%%\n" line or the end); *p moves past the separator, or
 * becomes NULL when there was none. */
static size_t section(const uint8_t **p, const uint8_t *end)
{
    static const char sep[] = "\n%%\n";
    const uint8_t *s = memmem(*p, (size_t)(end - *p), sep, sizeof(sep) - 1);
    size_t n = s ? (size_t)(s - *p) : (size_t)(end - *p);
    *p = s ? s + sizeof(sep) - 1 : NULL;
    return n;
}

static int is_path_var(const char *e)
{
    static const char *const names[] = {
        "TEMPORAL_CONFIG_FILE=", "LAMBDA_TASK_ROOT=", "TEMPORAL_TLS_CLIENT_CERT_PATH=",
        "TEMPORAL_TLS_CLIENT_KEY_PATH=", "TEMPORAL_TLS_SERVER_CA_CERT_PATH="};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

/* Keeps a path value inside the scratch folder. */
static void confine(char *v)
{
    if (*v == '/')
        *v = '_';
    for (char *d; (d = strstr(v, ".."));)
        d[0] = d[1] = '_';
}

/* Whether |secret| (a value of |env|) leaked into |err|. */
static int leaked(const char *secret, const char *err, const uint8_t *data, size_t size)
{
    size_t n = strlen(secret);
    if (n < 8 || !strchr(secret, '~') || !strstr(err, secret))
        return 0;
    const uint8_t *first = memmem(data, size, secret, n);
    return first && !memmem(first + 1, size - (size_t)(first + 1 - data), secret, n);
}

static void check_secrets(char *const *env, size_t n, const char *err, const uint8_t *data,
                          size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq)
            continue;
        if (strncmp(env[i], "TEMPORAL_API_KEY=", 17) == 0 ||
            strncmp(env[i], "TEMPORAL_GRPC_META_", 19) == 0 ||
            strncmp(env[i], "TEMPORAL_TLS_CLIENT_KEY_DATA=", 29) == 0)
            check(!leaked(eq + 1, err, data, size));
    }
}

static void load_config(char *const *env, size_t n, const uint8_t *data, size_t size)
{
    conn_config c;
    char err[512];
    memset(&c, 0x5a, sizeof(c));
    int rc = cfg_load(&c, (const char *const *)env, err, sizeof(err));
    check(memchr(err, '\0', sizeof(err)) != NULL);
    if (rc != CFG_OK) {
        check(rc >= CFG_ENOPROFILE && rc <= CFG_ENOMEM);
        check(err[0] != '\0');
        check(!c.address && !c.namespace_name && !c.meta && !c.profile && !c.config_file);
        check_secrets(env, n, err, data, size);
    } else {
        check(c.address && c.namespace_name && c.profile);
        check(c.nmeta <= CFG_MAX_META);
        for (size_t i = 0; i < c.nmeta; i++)
            check(c.meta[i].key && c.meta[i].value && c.meta[i].key[0]);
        check(c.tls == 0 || c.tls == 1);
        check(!c.client_cert == !c.client_key); /* both or neither */
    }
    cfg_free(&c);
    cfg_free(&c); /* freed configs are zeroed: a second free is harmless */
    /* No room for a message: still no overrun. */
    rc = cfg_load(&c, (const char *const *)env, NULL, 0);
    cfg_free(&c);
}

static void load_settings(char *const *env)
{
    settings s;
    char err[512];
    err[0] = '\0';
    int rc = settings_load(&s, (const char *const *)env, err, sizeof(err));
    check(memchr(err, '\0', sizeof(err)) != NULL);
    if (rc != 0) {
        check(err[0] != '\0');
        check(!s.task_queue && !s.deployment_name && !s.build_id);
    } else {
        check(s.task_queue && s.deployment_name && s.build_id);
        check(s.stop_timeout_ms >= 0 && s.idle_exit_ms >= 0 && s.deadlock_timeout_ms >= 0);
        check(s.shutdown_buffer_ms >= s.stop_timeout_ms + SETTINGS_STOP_MARGIN_MS);
        check(s.workflow_pollers >= 1 && s.activity_pollers >= 1);
        check(s.max_workflow_tasks >= 1 && s.max_activities >= 1);
    }
    settings_free(&s);
    for (size_t i = 0; env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        int64_t ms = -1;
        if (eq && settings_parse_duration(eq + 1, &ms) == 0)
            check(ms >= 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enter_scratch();
    const uint8_t *end = data + size, *envs = data, *toml, *pem = NULL, *p = data;
    size_t envlen = section(&p, end), tomllen = 0, pemlen = 0;
    if ((toml = p))
        tomllen = section(&p, end);
    if (toml && (pem = p))
        pemlen = section(&p, end);
    put("temporal.toml", toml, tomllen);
    put("root/temporal.toml", toml, tomllen);
    put("pem", pem, pemlen);

    /* The environment: one string per line or NUL-separated entry (empty ones dropped). */
    char *copy = malloc(envlen + 1), *env[MAX_ENV + 1];
    size_t n = 0;
    check(copy != NULL);
    memcpy(copy, envs, envlen);
    copy[envlen] = '\0';
    for (size_t i = 0, start = 0; i <= envlen; i++) {
        if (i < envlen && copy[i] != '\n' && copy[i] != '\0')
            continue;
        copy[i] = '\0';
        if (i > start && n < MAX_ENV) {
            env[n] = copy + start;
            if (is_path_var(env[n]))
                confine(strchr(env[n], '=') + 1);
            n++;
        }
        start = i + 1;
    }
    env[n] = NULL;

    load_config(env, n, data, size);
    load_settings(env);
    free(copy);
    return 0;
}
