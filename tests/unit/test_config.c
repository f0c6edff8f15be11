/*
 * Unit tests of envconfig (temporal/config/envconfig.h, over the TOML reader): defaults,
 * precedence, profile and file selection, TLS resolution, PEM items, validation, gRPC
 * metadata, broken files, and that no secret ends up in an error message. Each test runs in
 * a fresh temporary directory that is also the current directory (for ./temporal.toml). The
 * TOML reader alone is test_toml.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temporal/config/envconfig.h"

#define ERRLEN 512

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

static const char CERT[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBszCCAVmgAwIBAgIUcertcertcert\n"
                           "-----END CERTIFICATE-----\n";
static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49sekritkey\n"
                          "-----END PRIVATE KEY-----\n";

#define assert_has(s, sub)                                                                    \
    do {                                                                                      \
        if (!strstr((s), (sub)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (s), (sub));                           \
    } while (0)

#define assert_hasnt(s, sub)                                                                  \
    do {                                                                                      \
        if (strstr((s), (sub)))                                                               \
            fail_msg("\"%s\" contains \"%s\"", (s), (sub));                                   \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Fixtures                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[PATH_MAX];
    struct stat st;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static int setup(void **st)
{
    const char *base = getenv("TMPDIR");
    if (!getcwd(oldcwd, sizeof(oldcwd)))
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s/tw-config-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir) || chdir(tmpdir))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    int rc = chdir(oldcwd);
    rm_tree(tmpdir);
    return rc;
}

/* The absolute path of |rel| in the test directory; 8 rotating buffers. */
static const char *path_of(const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];
    if ((size_t)snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel) >= PATH_MAX)
        fail_msg("path too long");
    return b;
}

static const char *put(const char *rel, const char *content)
{
    const char *p = path_of(rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
    return p;
}

static void mkdir_in(const char *rel)
{
    assert_int_equal(mkdir(path_of(rel), 0755), 0);
}

/* An environment built with printf-style entries. */
typedef struct envb {
    char s[16][1024];
    const char *v[17];
    size_t n;
} envb;

static void env_add(envb *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void env_add(envb *e, const char *fmt, ...)
{
    va_list ap;
    assert_true(e->n < 16);
    va_start(ap, fmt);
    vsnprintf(e->s[e->n], sizeof(e->s[0]), fmt, ap);
    va_end(ap);
    e->v[e->n] = e->s[e->n];
    e->n++;
    e->v[e->n] = NULL;
}

static int load(conn_config *c, const char *const *env, char *err)
{
    err[0] = '\0';
    return cfg_load(c, env, err, ERRLEN);
}

/* Loads with TEMPORAL_CONFIG_FILE pointing at |toml| plus |extra| entries. */
static int load_toml(conn_config *c, const char *toml, const char *const *extra, char *err)
{
    envb e = {0};
    env_add(&e, "TEMPORAL_CONFIG_FILE=%s", put("cfg.toml", toml));
    for (; extra && *extra; extra++)
        env_add(&e, "%s", *extra);
    return load(c, e.v, err);
}

/* Expects a failure of the file |toml| with every string of |subs| in the message. */
static void expect_toml_error(const char *toml, int code, const char *const *subs)
{
    conn_config c;
    char err[ERRLEN];
    assert_int_equal(load_toml(&c, toml, NULL, err), code);
    assert_has(err, path_of("cfg.toml"));
    for (; *subs; subs++)
        assert_has(err, *subs);
    assert_null(c.address);
    cfg_free(&c);
}

static const char *meta_get(const conn_config *c, const char *key)
{
    for (size_t i = 0; i < c->nmeta; i++)
        if (!strcmp(c->meta[i].key, key))
            return c->meta[i].value;
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Defaults, precedence, profiles, file search                                                 */
/* ------------------------------------------------------------------------------------------ */

static void defaults_without_file_or_env(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *env[] = {"HOME=/nowhere", "PATH=/bin", NULL};
    assert_int_equal(load(&c, env, err), CFG_OK);
    assert_string_equal(err, "");
    assert_string_equal(c.address, "localhost:7233");
    assert_string_equal(c.namespace_name, "default");
    assert_string_equal(c.profile, "default");
    assert_null(c.api_key);
    assert_null(c.authority);
    assert_null(c.server_name);
    assert_null(c.client_cert);
    assert_null(c.client_key);
    assert_null(c.server_ca);
    assert_null(c.config_file);
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 0);
    assert_int_equal(c.disable_host_verification, 0);
    assert_int_equal(c.nmeta, 0);
    cfg_free(&c);

    assert_int_equal(load(&c, NULL, err), CFG_OK); /* NULL: an empty environment */
    assert_string_equal(c.address, "localhost:7233");
    cfg_free(&c);
}

static void file_profile_values(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[profile.default]\n"
                       "address = \"ns.a1b2c.tmprl.cloud:7233\"\n"
                       "namespace = \"ns.a1b2c\"\n"
                       "api_key = \"key-123\"\n"
                       "authority = \"override.example:443\"\n"
                       "\n"
                       "[profile.default.tls]\n"
                       "server_name = \"sni.example\"\n"
                       "disable_host_verification = true\n"
                       "\n"
                       "[profile.default.grpc_meta]\n"
                       "x-team = \"payments\"\n";
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "ns.a1b2c.tmprl.cloud:7233");
    assert_string_equal(c.namespace_name, "ns.a1b2c");
    assert_string_equal(c.api_key, "key-123");
    assert_string_equal(c.authority, "override.example:443");
    assert_string_equal(c.server_name, "sni.example");
    assert_int_equal(c.disable_host_verification, 1);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 0);
    assert_int_equal(c.nmeta, 1);
    assert_string_equal(meta_get(&c, "x-team"), "payments");
    assert_string_equal(c.config_file, path_of("cfg.toml"));
    assert_string_equal(c.profile, "default");
    cfg_free(&c);
}

static void env_overrides_file(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[profile.default]\n"
                       "address = \"file-host:7233\"\n"
                       "namespace = \"file-ns\"\n"
                       "api_key = \"file-key\"\n"
                       "authority = \"file-authority\"\n";
    const char *env[] = {"TEMPORAL_ADDRESS=env-host:7234", "TEMPORAL_NAMESPACE=env-ns",
                         "TEMPORAL_CLIENT_AUTHORITY=env-authority", NULL};
    assert_int_equal(load_toml(&c, toml, env, err), CFG_OK);
    assert_string_equal(c.address, "env-host:7234");
    assert_string_equal(c.namespace_name, "env-ns");
    assert_string_equal(c.authority, "env-authority");
    assert_string_equal(c.api_key, "file-key");
    assert_int_equal(c.tls, 1); /* the file's API key */
    cfg_free(&c);

    /* Set but empty: clears the file's value; defaults come back. */
    const char *empty[] = {"TEMPORAL_ADDRESS=", "TEMPORAL_NAMESPACE=", "TEMPORAL_API_KEY=",
                           NULL};
    assert_int_equal(load_toml(&c, toml, empty, err), CFG_OK);
    assert_string_equal(c.address, "localhost:7233");
    assert_string_equal(c.namespace_name, "default");
    assert_null(c.api_key);
    assert_int_equal(c.tls, 0);
    assert_string_equal(c.authority, "file-authority");
    cfg_free(&c);
}

static void profile_selection(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[profile.default]\naddress = \"dflt:1\"\n"
                       "[profile.prod]\naddress = \"prod:2\"\nnamespace = \"prod-ns\"\n"
                       "[profile.\"odd name\"]\naddress = \"odd:3\"\n";
    const char *prod[] = {"TEMPORAL_PROFILE=prod", NULL};
    const char *odd[] = {"TEMPORAL_PROFILE=odd name", NULL};
    const char *empty[] = {"TEMPORAL_PROFILE=", NULL};
    assert_int_equal(load_toml(&c, toml, prod, err), CFG_OK);
    assert_string_equal(c.address, "prod:2");
    assert_string_equal(c.namespace_name, "prod-ns");
    assert_string_equal(c.profile, "prod");
    cfg_free(&c);
    assert_int_equal(load_toml(&c, toml, odd, err), CFG_OK);
    assert_string_equal(c.address, "odd:3");
    cfg_free(&c);
    assert_int_equal(load_toml(&c, toml, empty, err), CFG_OK); /* empty: unset */
    assert_string_equal(c.address, "dflt:1");
    assert_string_equal(c.profile, "default");
    cfg_free(&c);
}

static void missing_profile(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[profile.prod]\naddress = \"prod:2\"\n";
    const char *staging[] = {"TEMPORAL_PROFILE=staging", NULL};
    const char *dflt[] = {"TEMPORAL_PROFILE=default", NULL};

    assert_int_equal(load_toml(&c, toml, staging, err), CFG_ENOPROFILE);
    assert_has(err, "TEMPORAL_PROFILE");
    assert_has(err, "\"staging\"");
    assert_has(err, path_of("cfg.toml"));
    cfg_free(&c);

    /* The implicit default profile may be absent; a named one (even "default") may not. */
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "localhost:7233");
    assert_string_equal(c.config_file, path_of("cfg.toml"));
    cfg_free(&c);
    assert_int_equal(load_toml(&c, toml, dflt, err), CFG_ENOPROFILE);
    assert_has(err, "\"default\"");
    cfg_free(&c);

    /* No file at all. */
    assert_int_equal(load(&c, staging, err), CFG_ENOPROFILE);
    assert_has(err, "\"staging\"");
    assert_has(err, "no config file");
    cfg_free(&c);
}

static void file_search_order(void **st)
{
    conn_config c;
    char err[ERRLEN];
    envb e = {0};
    mkdir_in("task");
    put("temporal.toml", "[profile.default]\naddress = \"cwd:1\"\n");

    assert_int_equal(load(&c, NULL, err), CFG_OK); /* ./temporal.toml */
    assert_string_equal(c.address, "cwd:1");
    assert_string_equal(c.config_file, "./temporal.toml");
    cfg_free(&c);

    /* LAMBDA_TASK_ROOT without a temporal.toml: on to ./temporal.toml. */
    env_add(&e, "LAMBDA_TASK_ROOT=%s/", path_of("task"));
    assert_int_equal(load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "cwd:1");
    cfg_free(&c);

    put("task/temporal.toml", "[profile.default]\naddress = \"task:2\"\n");
    assert_int_equal(load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "task:2");
    assert_string_equal(c.config_file, path_of("task/temporal.toml"));
    cfg_free(&c);

    env_add(&e, "TEMPORAL_CONFIG_FILE=%s", put("other.toml", "[profile.default]\n"
                                                             "address = \"env:3\"\n"));
    assert_int_equal(load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "env:3");
    assert_string_equal(c.config_file, path_of("other.toml"));
    cfg_free(&c);

    /* An empty TEMPORAL_CONFIG_FILE counts as unset. */
    const char *empty[] = {"TEMPORAL_CONFIG_FILE=", NULL};
    assert_int_equal(load(&c, empty, err), CFG_OK);
    assert_string_equal(c.address, "cwd:1");
    cfg_free(&c);
}

static void config_file_unreadable(void **st)
{
    conn_config c;
    char err[ERRLEN];
    envb e = {0};
    env_add(&e, "TEMPORAL_CONFIG_FILE=%s", path_of("absent.toml"));
    assert_int_equal(load(&c, e.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_CONFIG_FILE");
    assert_has(err, path_of("absent.toml"));
    assert_has(err, strerror(ENOENT));
    assert_null(c.address);
    cfg_free(&c);

    /* A default location that exists but cannot be read is an error too. */
    envb e2 = {0};
    mkdir_in("task");
    mkdir_in("task/temporal.toml");
    env_add(&e2, "LAMBDA_TASK_ROOT=%s", path_of("task"));
    assert_int_equal(load(&c, e2.v, err), CFG_EFILE);
    assert_has(err, "LAMBDA_TASK_ROOT");
    assert_has(err, path_of("task/temporal.toml"));
    assert_has(err, strerror(EISDIR));
    cfg_free(&c);
}

/* ------------------------------------------------------------------------------------------ */
/* TLS                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void api_key_turns_tls_on(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *env[] = {"TEMPORAL_API_KEY=abc.def", NULL};
    assert_int_equal(load(&c, env, err), CFG_OK);
    assert_string_equal(c.api_key, "abc.def");
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 0);
    cfg_free(&c);
}

static void tls_disabled_with_api_key_is_kept(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *env[] = {"TEMPORAL_API_KEY=abc", "TEMPORAL_TLS=false", NULL};
    assert_int_equal(load(&c, env, err), CFG_OK);
    assert_string_equal(c.api_key, "abc");
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);

    const char *toml = "[profile.default]\napi_key = \"abc\"\n[profile.default.tls]\n"
                       "disabled = true\n";
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.api_key, "abc");
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);

    /* The environment wins over the file's tls.disabled. */
    const char *on[] = {"TEMPORAL_TLS=TRUE", NULL};
    assert_int_equal(load_toml(&c, toml, on, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);
}

static void tls_settings_turn_tls_on(void **st)
{
    conn_config c;
    char err[ERRLEN];
    /* As in Go: a tls table (even empty) or a TEMPORAL_TLS_* variable means TLS. */
    assert_int_equal(load_toml(&c, "[profile.default.tls]\n", NULL, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 0);
    cfg_free(&c);
    const char *sni[] = {"TEMPORAL_TLS_SERVER_NAME=sni.example", NULL};
    assert_int_equal(load(&c, sni, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_string_equal(c.server_name, "sni.example");
    cfg_free(&c);
    const char *on[] = {"TEMPORAL_TLS=1", NULL};
    assert_int_equal(load(&c, on, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);
    /* Empty TLS variables change nothing. */
    const char *blank[] = {"TEMPORAL_TLS=", "TEMPORAL_TLS_SERVER_NAME=", NULL};
    assert_int_equal(load(&c, blank, err), CFG_OK);
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 0);
    cfg_free(&c);
}

static void booleans(void **st)
{
    conn_config c;
    char err[ERRLEN];
    static const struct {
        const char *v;
        int want;
    } ok[] = {{"true", 1}, {"TRUE", 1}, {"True", 1}, {"1", 1},
              {"false", 0}, {"FALSE", 0}, {"fAlSe", 0}, {"0", 0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        envb e = {0};
        env_add(&e, "TEMPORAL_TLS=%s", ok[i].v);
        env_add(&e, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=%s", ok[i].v);
        assert_int_equal(load(&c, e.v, err), CFG_OK);
        assert_int_equal(c.tls, ok[i].want);
        assert_int_equal(c.disable_host_verification, ok[i].want);
        cfg_free(&c);
    }
    static const char *const bad[] = {"yes", "no", "on", "off", "2", "t", " true", "true ",
                                      "-1", "truex"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        envb e = {0};
        env_add(&e, "TEMPORAL_TLS=%s", bad[i]);
        assert_int_equal(load(&c, e.v, err), CFG_EINVAL);
        assert_has(err, "TEMPORAL_TLS:");
        assert_has(err, bad[i]);
        assert_null(c.address);
        cfg_free(&c);
    }
    const char *hv[] = {"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=maybe", NULL};
    assert_int_equal(load(&c, hv, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION");
    assert_has(err, "\"maybe\"");
    cfg_free(&c);

    /* In the file, booleans are TOML booleans. */
    expect_toml_error("[profile.default.tls]\n\ndisabled = \"true\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3", "profile.default.tls.disabled",
                                            "expected a boolean, found a string", NULL});
}

static void pem_items(void **st)
{
    conn_config c;
    char err[ERRLEN];
    envb e = {0};
    env_add(&e, "TEMPORAL_TLS_CLIENT_CERT_PATH=%s", put("cert.pem", CERT));
    env_add(&e, "TEMPORAL_TLS_CLIENT_KEY_DATA=%s", KEY);
    env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", put("ca.pem", CERT));
    assert_int_equal(load(&c, e.v, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.client_cert_len, strlen(CERT));
    assert_memory_equal(c.client_cert, CERT, strlen(CERT));
    assert_int_equal(c.client_cert[c.client_cert_len], '\0');
    assert_int_equal(c.client_key_len, strlen(KEY));
    assert_string_equal(c.client_key, KEY);
    assert_string_equal(c.server_ca, CERT);
    cfg_free(&c);

    /* With TLS off, PEM items are not read (as in Go). */
    envb off = {0};
    env_add(&off, "TEMPORAL_TLS=false");
    env_add(&off, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", path_of("absent.pem"));
    assert_int_equal(load(&c, off.v, err), CFG_OK);
    assert_null(c.server_ca);
    cfg_free(&c);
}

static void pem_path_and_data_conflict(void **st)
{
    conn_config c;
    char err[ERRLEN];
    envb e = {0};
    env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", put("ca.pem", CERT));
    env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_DATA=%s", CERT);
    assert_int_equal(load(&c, e.v, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA");
    cfg_free(&c);

    const char *toml = "[profile.default.tls]\n"
                       "client_key_path = \"/some/key.pem\"\n"
                       "client_key_data = \"\"\"\n-----BEGIN PRIVATE KEY-----\nsekrit\n"
                       "-----END PRIVATE KEY-----\n\"\"\"\n";
    expect_toml_error(toml, CFG_EINVAL,
                      (const char *const[]){"line 2: profile.default.tls.client_key_path",
                                            "client_key_data (line 3)", "both set", NULL});

    /* One in the environment replaces the file's item, whichever form the file used. */
    const char *file_data = "[profile.default.tls]\nserver_ca_cert_data = \"not pem\"\n";
    envb e2 = {0};
    env_add(&e2, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", path_of("ca.pem"));
    assert_int_equal(load_toml(&c, file_data, e2.v, err), CFG_OK);
    assert_string_equal(c.server_ca, CERT);
    cfg_free(&c);
}

static void pem_errors(void **st)
{
    conn_config c;
    char err[ERRLEN];
    envb e = {0};
    env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", path_of("absent.pem"));
    assert_int_equal(load(&c, e.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_TLS_SERVER_CA_CERT_PATH");
    assert_has(err, path_of("absent.pem"));
    assert_has(err, strerror(ENOENT));
    cfg_free(&c);

    envb d = {0};
    mkdir_in("dir.pem");
    env_add(&d, "TEMPORAL_TLS_CLIENT_CERT_PATH=%s", path_of("dir.pem"));
    env_add(&d, "TEMPORAL_TLS_CLIENT_KEY_DATA=%s", KEY);
    assert_int_equal(load(&c, d.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_TLS_CLIENT_CERT_PATH");
    assert_has(err, strerror(EISDIR));
    cfg_free(&c);

    /* From the file: the error names the file, line and key. */
    char toml[1024];
    snprintf(toml, sizeof(toml), "[profile.default.tls]\nserver_ca_cert_path = \"%s\"\n",
             path_of("absent.pem"));
    expect_toml_error(toml, CFG_EFILE,
                      (const char *const[]){"line 2: profile.default.tls.server_ca_cert_path",
                                            "absent.pem", NULL});

    envb np = {0};
    env_add(&np, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", put("ca.txt", "hello\n"));
    assert_int_equal(load(&c, np.v, err), CFG_EINVAL);
    assert_has(err, "no PEM block");
    cfg_free(&c);

    envb half = {0};
    env_add(&half, "TEMPORAL_TLS_CLIENT_CERT_DATA=%s", CERT);
    assert_int_equal(load(&c, half.v, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_CLIENT_CERT_DATA: a client certificate needs a client key");
    cfg_free(&c);
}

/* ------------------------------------------------------------------------------------------ */
/* Validation and metadata                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void addresses(void **st)
{
    conn_config c;
    char err[ERRLEN];
    static const char *const good[] = {"localhost:7233", "127.0.0.1:1", "h:65535",
                                       "[::1]:7233", "[fe80::1%eth0]:443",
                                       "ns.a1b2c.tmprl.cloud:7233", "my_host-1.local:07233"};
    static const char *const bad[] = {"localhost", ":7233", "host:", "host:0", "host:65536",
                                      "host:123456", "host:12a", "host:+1", "::1:7233",
                                      "[::1]7233", "[::1]:", "[]:1", "[zz::1]:1", "[::1%]:1",
                                      "http://host:7233", "ho st:1", "host:7233/x",
                                      "user@host:1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        envb e = {0};
        env_add(&e, "TEMPORAL_ADDRESS=%s", good[i]);
        if (load(&c, e.v, err) != CFG_OK)
            fail_msg("%s refused: %s", good[i], err);
        assert_string_equal(c.address, good[i]);
        cfg_free(&c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        envb e = {0};
        env_add(&e, "TEMPORAL_ADDRESS=%s", bad[i]);
        if (load(&c, e.v, err) != CFG_EINVAL)
            fail_msg("%s accepted", bad[i]);
        assert_has(err, "TEMPORAL_ADDRESS: expected host:port");
        assert_has(err, bad[i]);
        cfg_free(&c);
    }
    expect_toml_error("[profile.default]\n# comment\naddress = \"nohost\"\n", CFG_EINVAL,
                      (const char *const[]){"line 3: profile.default.address",
                                            "expected host:port", "\"nohost\"", NULL});
    const char *ns[] = {"TEMPORAL_NAMESPACE=bad\tns", NULL};
    assert_int_equal(load(&c, ns, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_NAMESPACE");
    cfg_free(&c);
    const char *auth[] = {"TEMPORAL_CLIENT_AUTHORITY=a b", NULL};
    assert_int_equal(load(&c, auth, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_CLIENT_AUTHORITY");
    cfg_free(&c);
}

static void grpc_meta_normalised(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[profile.default.grpc_meta]\n"
                       "X_Custom-Thing = \"a\"\n"
                       "\"dropped_by_env\" = \"b\"\n"
                       "replaced = \"file\"\n"
                       "empty = \"\"\n";
    const char *env[] = {"TEMPORAL_GRPC_META_MY_HEADER=v1", "TEMPORAL_GRPC_META_DROPPED_BY_ENV=",
                         "TEMPORAL_GRPC_META_REPLACED=env", "TEMPORAL_GRPC_META_UNSET_NOTHING=",
                         "TEMPORAL_GRPC_META_MY_HEADER=second-is-ignored", NULL};
    assert_int_equal(load_toml(&c, toml, env, err), CFG_OK);
    assert_int_equal(c.nmeta, 4);
    assert_string_equal(c.meta[0].key, "x-custom-thing"); /* file order, then the env's */
    assert_string_equal(c.meta[0].value, "a");
    assert_string_equal(meta_get(&c, "replaced"), "env");
    assert_string_equal(meta_get(&c, "empty"), "");
    assert_string_equal(meta_get(&c, "my-header"), "v1");
    assert_null(meta_get(&c, "dropped-by-env"));
    assert_null(meta_get(&c, "unset-nothing"));
    cfg_free(&c);

    /* The Go SDK's own test file uses an inline table. */
    const char *inl = "[profile.foo]\ngrpc_meta = { sOme-hEader_key = \"some-value\" }\n";
    const char *foo[] = {"TEMPORAL_PROFILE=foo", NULL};
    assert_int_equal(load_toml(&c, inl, foo, err), CFG_OK);
    assert_int_equal(c.nmeta, 1);
    assert_string_equal(c.meta[0].key, "some-header-key");
    assert_string_equal(c.meta[0].value, "some-value");
    cfg_free(&c);

    /* Authorization is fine without an API key. */
    const char *auth[] = {"TEMPORAL_GRPC_META_AUTHORIZATION=Bearer x", NULL};
    assert_int_equal(load(&c, auth, err), CFG_OK);
    assert_string_equal(meta_get(&c, "authorization"), "Bearer x");
    cfg_free(&c);
}

static void grpc_meta_refused(void **st)
{
    conn_config c;
    char err[ERRLEN];
    static const struct {
        const char *entry, *why;
    } bad[] = {
        {"TEMPORAL_GRPC_META_CONTENT_TYPE=x", "set by the runtime"},
        {"TEMPORAL_GRPC_META_TE=x", "set by the runtime"},
        {"TEMPORAL_GRPC_META_TEMPORAL_NAMESPACE=x", "set by the runtime"},
        {"TEMPORAL_GRPC_META_USER_AGENT=x", "set by the runtime"},
        {"TEMPORAL_GRPC_META_GRPC_TIMEOUT=1S", "reserved for gRPC"},
        {"TEMPORAL_GRPC_META_TRACE_BIN=x", "-bin"},
        {"TEMPORAL_GRPC_META_CONNECTION=close", "connection-specific"},
        {"TEMPORAL_GRPC_META_HOST=x", "connection-specific"},
        {"TEMPORAL_GRPC_META_A@B=x", "not a valid gRPC header name"},
        {"TEMPORAL_GRPC_META_=x", "empty header name"},
        {"TEMPORAL_GRPC_META_X=a\r\nInjected: 1", "printable ASCII"},
        {"TEMPORAL_GRPC_META_X= padded", "printable ASCII"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {bad[i].entry, NULL};
        if (load(&c, env, err) != CFG_EINVAL)
            fail_msg("%s accepted", bad[i].entry);
        assert_has(err, "TEMPORAL_GRPC_META_");
        assert_has(err, bad[i].why);
        cfg_free(&c);
    }
    /* Two spellings of one header in one source. */
    const char *twice[] = {"TEMPORAL_GRPC_META_X_Y=1", "TEMPORAL_GRPC_META_x-y=2", NULL};
    assert_int_equal(load(&c, twice, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_GRPC_META_x-y and TEMPORAL_GRPC_META_X_Y both set the gRPC "
                    "header x-y");
    cfg_free(&c);
    expect_toml_error("[profile.default.grpc_meta]\nA_B = \"1\"\na-b = \"2\"\n", CFG_EINVAL,
                      (const char *const[]){"line 3: profile.default.grpc_meta.a-b",
                                            "line 2: profile.default.grpc_meta.A_B", NULL});
    expect_toml_error("[profile.default.grpc_meta]\nx = 1\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.grpc_meta.x",
                                            "expected a string, found an integer", NULL});
    /* authorization and an API key would both set one header. */
    const char *both[] = {"TEMPORAL_API_KEY=k", "TEMPORAL_GRPC_META_AUTHORIZATION=Bearer y",
                          NULL};
    assert_int_equal(load(&c, both, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_GRPC_META_AUTHORIZATION: conflicts with the API key");
    cfg_free(&c);
}

static void secrets_absent_from_errors(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *key_ctl[] = {"TEMPORAL_API_KEY=sekrit\001key", NULL};
    assert_int_equal(load(&c, key_ctl, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_API_KEY");
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *key_data[] = {"TEMPORAL_TLS_CLIENT_CERT_DATA=-----BEGIN CERTIFICATE-----",
                              "TEMPORAL_TLS_CLIENT_KEY_DATA=sekrit key bytes", NULL};
    assert_int_equal(load(&c, key_data, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_CLIENT_KEY_DATA: not PEM data");
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *meta[] = {"TEMPORAL_GRPC_META_X_TOKEN=sekrit\n", NULL};
    assert_int_equal(load(&c, meta, err), CFG_EINVAL);
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *with_key[] = {"TEMPORAL_API_KEY=sekrit", "TEMPORAL_GRPC_META_AUTHORIZATION=x",
                              NULL};
    assert_int_equal(load(&c, with_key, err), CFG_EINVAL);
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    static const char *const files[] = {
        "[profile.default]\napi_key = \"sekrit\n",
        "[profile.default]\napi_key = sekrit\n",
        "[profile.default]\napi_key = 12sekrit\n",
        "[profile.default]\napi_key = \"sekrit\" junk\n",
        "[profile.default]\napi_key = \"sekrit\\x\"\n",
        "[profile.default]\napi_key = \"sekrit\"\napi_key = \"sekrit2\"\n",
        "[profile.default]\napi_key = \"sekrit\001\"\n",
        "[profile.default]\napi_key = \"sekrit\t\"\n",
        "[profile.default.tls]\nclient_key_data = '''sekrit'''\n"
        "client_cert_data = \"-----BEGIN CERTIFICATE-----\"\n",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        assert_int_not_equal(load_toml(&c, files[i], NULL, err), CFG_OK);
        assert_hasnt(err, "sekrit");
        assert_has(err, "line ");
        cfg_free(&c);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void broken_toml_files(void **st)
{
    expect_toml_error("[profile.default]\n\naddress = \"localhost:7233\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3: unterminated string", NULL});
    expect_toml_error("[profile.default\naddress = \"x:1\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: unterminated table header", NULL});
    expect_toml_error("# c\n[profile..default]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: expected a key, found '.'", NULL});
    expect_toml_error("[profile default]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: bad table header", NULL});
    expect_toml_error("[profile.default]\naddress = \"a:1\"\nnamespace = \"n\"\n"
                      "address = \"b:2\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 4: duplicate key address (first set at "
                                            "line 2)", NULL});
    expect_toml_error("[profile.a]\n[profile.b]\n[profile.a]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3: duplicate table [profile.a] (first "
                                            "defined at line 1)", NULL});
    expect_toml_error("[profile.default]\nnamespace = \"a\\qb\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: invalid escape \\q", NULL});
    expect_toml_error("[profile.default]\naddress = \"\"\"\nx:1\n\"\"\"\n\nnamespace = 'n\n",
                      CFG_ESYNTAX,
                      (const char *const[]){"line 6: unterminated literal string", NULL});
    expect_toml_error("[[profile]]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: arrays of tables", NULL});
    expect_toml_error("[profile.default]\naddress = 5\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.address: expected a "
                                            "string, found an integer", NULL});
    expect_toml_error("profile = \"x\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: profile: expected a table", NULL});
    expect_toml_error("[profile]\ndefault = 1\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default: expected a table", NULL});
    expect_toml_error("[profile.default]\ntls = true\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.tls: expected a table",
                                            NULL});
    /* A type error in another profile still fails the load, as decoding does in Go. */
    expect_toml_error("[profile.default]\naddress = \"a:1\"\n[profile.other]\nnamespace = 1\n",
                      CFG_ESYNTAX,
                      (const char *const[]){"line 4: profile.other.namespace", NULL});
}

static void multiline_pem_in_toml(void **st)
{
    conn_config c;
    char err[ERRLEN];
    char toml[2048];
    snprintf(toml, sizeof(toml),
             "[profile.default.tls]\n"
             "client_cert_data = \"\"\"\n%s\"\"\"\n"
             "client_key_data = '''\r\n%s'''\n"
             "server_ca_cert_data = \"\"\"%.*s\\n\\\n    %s\"\"\"\n"
             "server_name = \"sni\"\n"
             "server_name = \"dup\"\n",
             CERT, KEY, 27, CERT, CERT + 28);
    /* The duplicate on the last line checks the line count after multi-line strings. */
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_ESYNTAX);
    assert_has(err, "line 17: duplicate key server_name (first set at line 16)");
    cfg_free(&c);

    *strrchr(toml, 's') = '\0'; /* drop the duplicate */
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.client_cert, CERT);
    assert_int_equal(c.client_cert_len, strlen(CERT));
    assert_string_equal(c.client_key, KEY);
    assert_string_equal(c.server_ca, CERT); /* the line-ending backslash ate the indent */
    assert_string_equal(c.server_name, "sni");
    cfg_free(&c);
}

static void unknown_keys_ignored(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "version = 2\n"
                       "[unimportant]\nstuff = [1, \"two\", [3]]\n"
                       "[profile.default]\n"
                       "address = \"a:1\"\n"
                       "some_future_key = { x = 1 }\n"
                       "codec = { endpoint = \"https://codec\", auth = \"token\" }\n"
                       "[profile.default.tls]\nfuture_tls_key = false\n"
                       "[profile.default.custom_nested.deep]\nkey = \"v\"\n";
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "a:1");
    assert_int_equal(c.tls, 1);
    cfg_free(&c);
    expect_toml_error("[profile.default.codec]\nendpoint = 3\n", CFG_ESYNTAX,
                      (const char *const[]){"profile.default.codec.endpoint", NULL});
}

static void keys_case_insensitive(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[Profile.default]\nAddress = \"a:1\"\nAPI_KEY = \"k\"\n"
                       "[Profile.default.TLS]\nDisabled = true\n";
    assert_int_equal(load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "a:1");
    assert_string_equal(c.api_key, "k");
    assert_int_equal(c.tls, 0);
    cfg_free(&c);
    expect_toml_error("[profile.default]\naddress = \"a:1\"\nADDRESS = \"b:2\"\n",
                      CFG_ESYNTAX,
                      (const char *const[]){"line 3: profile.default.ADDRESS: the same setting "
                                            "as address at line 2", NULL});
}

static void free_and_strerror(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cfg_free(NULL);
    memset(&c, 0, sizeof(c));
    cfg_free(&c);
    cfg_free(&c);
    assert_int_equal(cfg_load(NULL, NULL, err, sizeof(err)), CFG_EINVAL);
    assert_int_equal(cfg_load(&c, NULL, NULL, 0), CFG_OK); /* no error buffer */
    cfg_free(&c);
    const char *bad[] = {"TEMPORAL_TLS=nope", NULL};
    char tiny[8];
    assert_int_equal(cfg_load(&c, bad, tiny, sizeof(tiny)), CFG_EINVAL);
    assert_string_equal(tiny, "TEMPORA"); /* truncated, terminated */
    static const int codes[] = {CFG_OK, CFG_ENOMEM, CFG_EINVAL, CFG_EFILE,
                                CFG_ESYNTAX, CFG_ENOPROFILE};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_string_not_equal(cfg_strerror(codes[i]), "unknown error");
    assert_string_equal(cfg_strerror(42), "unknown error");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(defaults_without_file_or_env),
        T(file_profile_values),
        T(env_overrides_file),
        T(profile_selection),
        T(missing_profile),
        T(file_search_order),
        T(config_file_unreadable),
        T(api_key_turns_tls_on),
        T(tls_disabled_with_api_key_is_kept),
        T(tls_settings_turn_tls_on),
        T(booleans),
        T(pem_items),
        T(pem_path_and_data_conflict),
        T(pem_errors),
        T(addresses),
        T(grpc_meta_normalised),
        T(grpc_meta_refused),
        T(secrets_absent_from_errors),
        T(broken_toml_files),
        T(multiline_pem_in_toml),
        T(unknown_keys_ignored),
        T(keys_case_insensitive),
        T(free_and_strerror),
    };
#undef T
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
