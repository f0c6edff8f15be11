/*
 * Unit tests of envconfig (temporal/config/envconfig.h, over the TOML reader): defaults,
 * precedence, profile and file selection, and files (broken ones, multi-line PEM, unknown and
 * differently cased keys). What the values become (TLS, PEM items, addresses, gRPC metadata,
 * secrets kept out of errors) is test_config_values.c; the TOML reader alone is test_toml.c.
 * Each test runs in a fresh temporary directory that is also the current directory
 * (tests/support/config_fixture.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/config/envconfig.h"
#include "tests/support/config_fixture.h"

/* ------------------------------------------------------------------------------------------ */
/* Defaults, precedence, profiles, file search                                                 */
/* ------------------------------------------------------------------------------------------ */

static void defaults_without_file_or_env(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *env[] = {"HOME=/nowhere", "PATH=/bin", NULL};
    assert_int_equal(cf_load(&c, env, err), CFG_OK);
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

    assert_int_equal(cf_load(&c, NULL, err), CFG_OK); /* NULL: an empty environment */
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
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "ns.a1b2c.tmprl.cloud:7233");
    assert_string_equal(c.namespace_name, "ns.a1b2c");
    assert_string_equal(c.api_key, "key-123");
    assert_string_equal(c.authority, "override.example:443");
    assert_string_equal(c.server_name, "sni.example");
    assert_int_equal(c.disable_host_verification, 1);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 0);
    assert_int_equal(c.nmeta, 1);
    assert_string_equal(cf_meta(&c, "x-team"), "payments");
    assert_string_equal(c.config_file, cf_path("cfg.toml"));
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
    assert_int_equal(cf_load_toml(&c, toml, env, err), CFG_OK);
    assert_string_equal(c.address, "env-host:7234");
    assert_string_equal(c.namespace_name, "env-ns");
    assert_string_equal(c.authority, "env-authority");
    assert_string_equal(c.api_key, "file-key");
    assert_int_equal(c.tls, 1); /* the file's API key */
    cfg_free(&c);

    /* Set but empty: clears the file's value; defaults come back. */
    const char *empty[] = {"TEMPORAL_ADDRESS=", "TEMPORAL_NAMESPACE=", "TEMPORAL_API_KEY=",
                           NULL};
    assert_int_equal(cf_load_toml(&c, toml, empty, err), CFG_OK);
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
    assert_int_equal(cf_load_toml(&c, toml, prod, err), CFG_OK);
    assert_string_equal(c.address, "prod:2");
    assert_string_equal(c.namespace_name, "prod-ns");
    assert_string_equal(c.profile, "prod");
    cfg_free(&c);
    assert_int_equal(cf_load_toml(&c, toml, odd, err), CFG_OK);
    assert_string_equal(c.address, "odd:3");
    cfg_free(&c);
    assert_int_equal(cf_load_toml(&c, toml, empty, err), CFG_OK); /* empty: unset */
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

    assert_int_equal(cf_load_toml(&c, toml, staging, err), CFG_ENOPROFILE);
    assert_has(err, "TEMPORAL_PROFILE");
    assert_has(err, "\"staging\"");
    assert_has(err, cf_path("cfg.toml"));
    cfg_free(&c);

    /* The implicit default profile may be absent; a named one (even "default") may not. */
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "localhost:7233");
    assert_string_equal(c.config_file, cf_path("cfg.toml"));
    cfg_free(&c);
    assert_int_equal(cf_load_toml(&c, toml, dflt, err), CFG_ENOPROFILE);
    assert_has(err, "\"default\"");
    cfg_free(&c);

    /* No file at all. */
    assert_int_equal(cf_load(&c, staging, err), CFG_ENOPROFILE);
    assert_has(err, "\"staging\"");
    assert_has(err, "no config file");
    cfg_free(&c);
}

static void file_search_order(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cf_env e = {0};
    cf_mkdir("task");
    cf_put("temporal.toml", "[profile.default]\naddress = \"cwd:1\"\n");

    assert_int_equal(cf_load(&c, NULL, err), CFG_OK); /* ./temporal.toml */
    assert_string_equal(c.address, "cwd:1");
    assert_string_equal(c.config_file, "./temporal.toml");
    cfg_free(&c);

    /* LAMBDA_TASK_ROOT without a temporal.toml: on to ./temporal.toml. */
    cf_env_add(&e, "LAMBDA_TASK_ROOT=%s/", cf_path("task"));
    assert_int_equal(cf_load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "cwd:1");
    cfg_free(&c);

    cf_put("task/temporal.toml", "[profile.default]\naddress = \"task:2\"\n");
    assert_int_equal(cf_load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "task:2");
    assert_string_equal(c.config_file, cf_path("task/temporal.toml"));
    cfg_free(&c);

    cf_env_add(&e, "TEMPORAL_CONFIG_FILE=%s", cf_put("other.toml", "[profile.default]\n"
                                                             "address = \"env:3\"\n"));
    assert_int_equal(cf_load(&c, e.v, err), CFG_OK);
    assert_string_equal(c.address, "env:3");
    assert_string_equal(c.config_file, cf_path("other.toml"));
    cfg_free(&c);

    /* An empty TEMPORAL_CONFIG_FILE counts as unset. */
    const char *empty[] = {"TEMPORAL_CONFIG_FILE=", NULL};
    assert_int_equal(cf_load(&c, empty, err), CFG_OK);
    assert_string_equal(c.address, "cwd:1");
    cfg_free(&c);
}

static void config_file_unreadable(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cf_env e = {0};
    cf_env_add(&e, "TEMPORAL_CONFIG_FILE=%s", cf_path("absent.toml"));
    assert_int_equal(cf_load(&c, e.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_CONFIG_FILE");
    assert_has(err, cf_path("absent.toml"));
    assert_has(err, strerror(ENOENT));
    assert_null(c.address);
    cfg_free(&c);

    /* A default location that exists but cannot be read is an error too. */
    cf_env e2 = {0};
    cf_mkdir("task");
    cf_mkdir("task/temporal.toml");
    cf_env_add(&e2, "LAMBDA_TASK_ROOT=%s", cf_path("task"));
    assert_int_equal(cf_load(&c, e2.v, err), CFG_EFILE);
    assert_has(err, "LAMBDA_TASK_ROOT");
    assert_has(err, cf_path("task/temporal.toml"));
    assert_has(err, strerror(EISDIR));
    cfg_free(&c);
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void broken_toml_files(void **st)
{
    cf_expect_toml_error("[profile.default]\n\naddress = \"localhost:7233\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3: unterminated string", NULL});
    cf_expect_toml_error("[profile.default\naddress = \"x:1\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: unterminated table header", NULL});
    cf_expect_toml_error("# c\n[profile..default]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: expected a key, found '.'", NULL});
    cf_expect_toml_error("[profile default]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: bad table header", NULL});
    cf_expect_toml_error("[profile.default]\naddress = \"a:1\"\nnamespace = \"n\"\n"
                      "address = \"b:2\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 4: duplicate key address (first set at "
                                            "line 2)", NULL});
    cf_expect_toml_error("[profile.a]\n[profile.b]\n[profile.a]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3: duplicate table [profile.a] (first "
                                            "defined at line 1)", NULL});
    cf_expect_toml_error("[profile.default]\nnamespace = \"a\\qb\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: invalid escape \\q", NULL});
    cf_expect_toml_error("[profile.default]\naddress = \"\"\"\nx:1\n\"\"\"\n\nnamespace = 'n\n",
                      CFG_ESYNTAX,
                      (const char *const[]){"line 6: unterminated literal string", NULL});
    cf_expect_toml_error("[[profile]]\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: arrays of tables", NULL});
    cf_expect_toml_error("[profile.default]\naddress = 5\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.address: expected a "
                                            "string, found an integer", NULL});
    cf_expect_toml_error("profile = \"x\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 1: profile: expected a table", NULL});
    cf_expect_toml_error("[profile]\ndefault = 1\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default: expected a table", NULL});
    cf_expect_toml_error("[profile.default]\ntls = true\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.tls: expected a table",
                                            NULL});
    /* A type error in another profile still fails the load, as decoding does in Go. */
    cf_expect_toml_error("[profile.default]\naddress = \"a:1\"\n[profile.other]\nnamespace = 1\n",
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
             CF_CERT, CF_KEY, 27, CF_CERT, CF_CERT + 28);
    /* The duplicate on the last line checks the line count after multi-line strings. */
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_ESYNTAX);
    assert_has(err, "line 17: duplicate key server_name (first set at line 16)");
    cfg_free(&c);

    *strrchr(toml, 's') = '\0'; /* drop the duplicate */
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.client_cert, CF_CERT);
    assert_int_equal(c.client_cert_len, strlen(CF_CERT));
    assert_string_equal(c.client_key, CF_KEY);
    assert_string_equal(c.server_ca, CF_CERT); /* the line-ending backslash ate the indent */
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
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "a:1");
    assert_int_equal(c.tls, 1);
    cfg_free(&c);
    cf_expect_toml_error("[profile.default.codec]\nendpoint = 3\n", CFG_ESYNTAX,
                      (const char *const[]){"profile.default.codec.endpoint", NULL});
}

static void keys_case_insensitive(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *toml = "[Profile.default]\nAddress = \"a:1\"\nAPI_KEY = \"k\"\n"
                       "[Profile.default.TLS]\nDisabled = true\n";
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.address, "a:1");
    assert_string_equal(c.api_key, "k");
    assert_int_equal(c.tls, 0);
    cfg_free(&c);
    cf_expect_toml_error("[profile.default]\naddress = \"a:1\"\nADDRESS = \"b:2\"\n",
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
#define T(f) cmocka_unit_test_setup_teardown(f, cf_setup, cf_teardown)
    const struct CMUnitTest tests[] = {
        T(defaults_without_file_or_env),
        T(file_profile_values),
        T(env_overrides_file),
        T(profile_selection),
        T(missing_profile),
        T(file_search_order),
        T(config_file_unreadable),
        T(broken_toml_files),
        T(multiline_pem_in_toml),
        T(unknown_keys_ignored),
        T(keys_case_insensitive),
        T(free_and_strerror),
    };
#undef T
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
