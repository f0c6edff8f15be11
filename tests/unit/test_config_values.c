/*
 * Unit tests of envconfig (temporal/config/envconfig.h): what the values become. TLS
 * resolution (an API key or TLS settings turn it on, an explicit off is kept), booleans, PEM
 * items from paths and data and their conflicts and errors, addresses, gRPC metadata
 * (normalised, refused), and that no secret ends up in an error message. Each test runs in a
 * fresh temporary directory that is also the current directory
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
/* TLS                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void api_key_turns_tls_on(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *env[] = {"TEMPORAL_API_KEY=abc.def", NULL};
    assert_int_equal(cf_load(&c, env, err), CFG_OK);
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
    assert_int_equal(cf_load(&c, env, err), CFG_OK);
    assert_string_equal(c.api_key, "abc");
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);

    const char *toml = "[profile.default]\napi_key = \"abc\"\n[profile.default.tls]\n"
                       "disabled = true\n";
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), CFG_OK);
    assert_string_equal(c.api_key, "abc");
    assert_int_equal(c.tls, 0);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);

    /* The environment wins over the file's tls.disabled. */
    const char *on[] = {"TEMPORAL_TLS=TRUE", NULL};
    assert_int_equal(cf_load_toml(&c, toml, on, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);
}

static void tls_settings_turn_tls_on(void **st)
{
    conn_config c;
    char err[ERRLEN];
    /* As in Go: a tls table (even empty) or a TEMPORAL_TLS_* variable means TLS. */
    assert_int_equal(cf_load_toml(&c, "[profile.default.tls]\n", NULL, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 0);
    cfg_free(&c);
    const char *sni[] = {"TEMPORAL_TLS_SERVER_NAME=sni.example", NULL};
    assert_int_equal(cf_load(&c, sni, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_string_equal(c.server_name, "sni.example");
    cfg_free(&c);
    const char *on[] = {"TEMPORAL_TLS=1", NULL};
    assert_int_equal(cf_load(&c, on, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.tls_explicit, 1);
    cfg_free(&c);
    /* Empty TLS variables change nothing. */
    const char *blank[] = {"TEMPORAL_TLS=", "TEMPORAL_TLS_SERVER_NAME=", NULL};
    assert_int_equal(cf_load(&c, blank, err), CFG_OK);
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
        cf_env e = {0};
        cf_env_add(&e, "TEMPORAL_TLS=%s", ok[i].v);
        cf_env_add(&e, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=%s", ok[i].v);
        assert_int_equal(cf_load(&c, e.v, err), CFG_OK);
        assert_int_equal(c.tls, ok[i].want);
        assert_int_equal(c.disable_host_verification, ok[i].want);
        cfg_free(&c);
    }
    static const char *const bad[] = {"yes", "no", "on", "off", "2", "t", " true", "true ",
                                      "-1", "truex"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_env e = {0};
        cf_env_add(&e, "TEMPORAL_TLS=%s", bad[i]);
        assert_int_equal(cf_load(&c, e.v, err), CFG_EINVAL);
        assert_has(err, "TEMPORAL_TLS:");
        assert_has(err, bad[i]);
        assert_null(c.address);
        cfg_free(&c);
    }
    const char *hv[] = {"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=maybe", NULL};
    assert_int_equal(cf_load(&c, hv, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION");
    assert_has(err, "\"maybe\"");
    cfg_free(&c);

    /* In the file, booleans are TOML booleans. */
    cf_expect_toml_error("[profile.default.tls]\n\ndisabled = \"true\"\n", CFG_ESYNTAX,
                      (const char *const[]){"line 3", "profile.default.tls.disabled",
                                            "expected a boolean, found a string", NULL});
}

static void pem_items(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cf_env e = {0};
    cf_env_add(&e, "TEMPORAL_TLS_CLIENT_CERT_PATH=%s", cf_put("cert.pem", CF_CERT));
    cf_env_add(&e, "TEMPORAL_TLS_CLIENT_KEY_DATA=%s", CF_KEY);
    cf_env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_put("ca.pem", CF_CERT));
    assert_int_equal(cf_load(&c, e.v, err), CFG_OK);
    assert_int_equal(c.tls, 1);
    assert_int_equal(c.client_cert_len, strlen(CF_CERT));
    assert_memory_equal(c.client_cert, CF_CERT, strlen(CF_CERT));
    assert_int_equal(c.client_cert[c.client_cert_len], '\0');
    assert_int_equal(c.client_key_len, strlen(CF_KEY));
    assert_string_equal(c.client_key, CF_KEY);
    assert_string_equal(c.server_ca, CF_CERT);
    cfg_free(&c);

    /* With TLS off, PEM items are not read (as in Go). */
    cf_env off = {0};
    cf_env_add(&off, "TEMPORAL_TLS=false");
    cf_env_add(&off, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_path("absent.pem"));
    assert_int_equal(cf_load(&c, off.v, err), CFG_OK);
    assert_null(c.server_ca);
    cfg_free(&c);
}

static void pem_path_and_data_conflict(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cf_env e = {0};
    cf_env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_put("ca.pem", CF_CERT));
    cf_env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_DATA=%s", CF_CERT);
    assert_int_equal(cf_load(&c, e.v, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA");
    cfg_free(&c);

    const char *toml = "[profile.default.tls]\n"
                       "client_key_path = \"/some/key.pem\"\n"
                       "client_key_data = \"\"\"\n-----BEGIN PRIVATE KEY-----\nsekrit\n"
                       "-----END PRIVATE KEY-----\n\"\"\"\n";
    cf_expect_toml_error(toml, CFG_EINVAL,
                      (const char *const[]){"line 2: profile.default.tls.client_key_path",
                                            "client_key_data (line 3)", "both set", NULL});

    /* One in the environment replaces the file's item, whichever form the file used. */
    const char *file_data = "[profile.default.tls]\nserver_ca_cert_data = \"not pem\"\n";
    cf_env e2 = {0};
    cf_env_add(&e2, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_path("ca.pem"));
    assert_int_equal(cf_load_toml(&c, file_data, e2.v, err), CFG_OK);
    assert_string_equal(c.server_ca, CF_CERT);
    cfg_free(&c);
}

static void pem_errors(void **st)
{
    conn_config c;
    char err[ERRLEN];
    cf_env e = {0};
    cf_env_add(&e, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_path("absent.pem"));
    assert_int_equal(cf_load(&c, e.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_TLS_SERVER_CA_CERT_PATH");
    assert_has(err, cf_path("absent.pem"));
    assert_has(err, strerror(ENOENT));
    cfg_free(&c);

    cf_env d = {0};
    cf_mkdir("dir.pem");
    cf_env_add(&d, "TEMPORAL_TLS_CLIENT_CERT_PATH=%s", cf_path("dir.pem"));
    cf_env_add(&d, "TEMPORAL_TLS_CLIENT_KEY_DATA=%s", CF_KEY);
    assert_int_equal(cf_load(&c, d.v, err), CFG_EFILE);
    assert_has(err, "TEMPORAL_TLS_CLIENT_CERT_PATH");
    assert_has(err, strerror(EISDIR));
    cfg_free(&c);

    /* From the file: the error names the file, line and key. */
    char toml[1024];
    snprintf(toml, sizeof(toml), "[profile.default.tls]\nserver_ca_cert_path = \"%s\"\n",
             cf_path("absent.pem"));
    cf_expect_toml_error(toml, CFG_EFILE,
                      (const char *const[]){"line 2: profile.default.tls.server_ca_cert_path",
                                            "absent.pem", NULL});

    cf_env np = {0};
    cf_env_add(&np, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=%s", cf_put("ca.txt", "hello\n"));
    assert_int_equal(cf_load(&c, np.v, err), CFG_EINVAL);
    assert_has(err, "no PEM block");
    cfg_free(&c);

    cf_env half = {0};
    cf_env_add(&half, "TEMPORAL_TLS_CLIENT_CERT_DATA=%s", CF_CERT);
    assert_int_equal(cf_load(&c, half.v, err), CFG_EINVAL);
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
        cf_env e = {0};
        cf_env_add(&e, "TEMPORAL_ADDRESS=%s", good[i]);
        if (cf_load(&c, e.v, err) != CFG_OK)
            fail_msg("%s refused: %s", good[i], err);
        assert_string_equal(c.address, good[i]);
        cfg_free(&c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_env e = {0};
        cf_env_add(&e, "TEMPORAL_ADDRESS=%s", bad[i]);
        if (cf_load(&c, e.v, err) != CFG_EINVAL)
            fail_msg("%s accepted", bad[i]);
        assert_has(err, "TEMPORAL_ADDRESS: expected host:port");
        assert_has(err, bad[i]);
        cfg_free(&c);
    }
    cf_expect_toml_error("[profile.default]\n# comment\naddress = \"nohost\"\n", CFG_EINVAL,
                      (const char *const[]){"line 3: profile.default.address",
                                            "expected host:port", "\"nohost\"", NULL});
    const char *ns[] = {"TEMPORAL_NAMESPACE=bad\tns", NULL};
    assert_int_equal(cf_load(&c, ns, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_NAMESPACE");
    cfg_free(&c);
    const char *auth[] = {"TEMPORAL_CLIENT_AUTHORITY=a b", NULL};
    assert_int_equal(cf_load(&c, auth, err), CFG_EINVAL);
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
    assert_int_equal(cf_load_toml(&c, toml, env, err), CFG_OK);
    assert_int_equal(c.nmeta, 4);
    assert_string_equal(c.meta[0].key, "x-custom-thing"); /* file order, then the env's */
    assert_string_equal(c.meta[0].value, "a");
    assert_string_equal(cf_meta(&c, "replaced"), "env");
    assert_string_equal(cf_meta(&c, "empty"), "");
    assert_string_equal(cf_meta(&c, "my-header"), "v1");
    assert_null(cf_meta(&c, "dropped-by-env"));
    assert_null(cf_meta(&c, "unset-nothing"));
    cfg_free(&c);

    /* The Go SDK's own test file uses an inline table. */
    const char *inl = "[profile.foo]\ngrpc_meta = { sOme-hEader_key = \"some-value\" }\n";
    const char *foo[] = {"TEMPORAL_PROFILE=foo", NULL};
    assert_int_equal(cf_load_toml(&c, inl, foo, err), CFG_OK);
    assert_int_equal(c.nmeta, 1);
    assert_string_equal(c.meta[0].key, "some-header-key");
    assert_string_equal(c.meta[0].value, "some-value");
    cfg_free(&c);

    /* Authorization is fine without an API key. */
    const char *auth[] = {"TEMPORAL_GRPC_META_AUTHORIZATION=Bearer x", NULL};
    assert_int_equal(cf_load(&c, auth, err), CFG_OK);
    assert_string_equal(cf_meta(&c, "authorization"), "Bearer x");
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
        if (cf_load(&c, env, err) != CFG_EINVAL)
            fail_msg("%s accepted", bad[i].entry);
        assert_has(err, "TEMPORAL_GRPC_META_");
        assert_has(err, bad[i].why);
        cfg_free(&c);
    }
    /* Two spellings of one header in one source. */
    const char *twice[] = {"TEMPORAL_GRPC_META_X_Y=1", "TEMPORAL_GRPC_META_x-y=2", NULL};
    assert_int_equal(cf_load(&c, twice, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_GRPC_META_x-y and TEMPORAL_GRPC_META_X_Y both set the gRPC "
                    "header x-y");
    cfg_free(&c);
    cf_expect_toml_error("[profile.default.grpc_meta]\nA_B = \"1\"\na-b = \"2\"\n", CFG_EINVAL,
                      (const char *const[]){"line 3: profile.default.grpc_meta.a-b",
                                            "line 2: profile.default.grpc_meta.A_B", NULL});
    cf_expect_toml_error("[profile.default.grpc_meta]\nx = 1\n", CFG_ESYNTAX,
                      (const char *const[]){"line 2: profile.default.grpc_meta.x",
                                            "expected a string, found an integer", NULL});
    /* authorization and an API key would both set one header. */
    const char *both[] = {"TEMPORAL_API_KEY=k", "TEMPORAL_GRPC_META_AUTHORIZATION=Bearer y",
                          NULL};
    assert_int_equal(cf_load(&c, both, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_GRPC_META_AUTHORIZATION: conflicts with the API key");
    cfg_free(&c);
}

static void secrets_absent_from_errors(void **st)
{
    conn_config c;
    char err[ERRLEN];
    const char *key_ctl[] = {"TEMPORAL_API_KEY=sekrit\001key", NULL};
    assert_int_equal(cf_load(&c, key_ctl, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_API_KEY");
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *key_data[] = {"TEMPORAL_TLS_CLIENT_CERT_DATA=-----BEGIN CERTIFICATE-----",
                              "TEMPORAL_TLS_CLIENT_KEY_DATA=sekrit key bytes", NULL};
    assert_int_equal(cf_load(&c, key_data, err), CFG_EINVAL);
    assert_has(err, "TEMPORAL_TLS_CLIENT_KEY_DATA: not PEM data");
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *meta[] = {"TEMPORAL_GRPC_META_X_TOKEN=sekrit\n", NULL};
    assert_int_equal(cf_load(&c, meta, err), CFG_EINVAL);
    assert_hasnt(err, "sekrit");
    cfg_free(&c);

    const char *with_key[] = {"TEMPORAL_API_KEY=sekrit", "TEMPORAL_GRPC_META_AUTHORIZATION=x",
                              NULL};
    assert_int_equal(cf_load(&c, with_key, err), CFG_EINVAL);
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
        assert_int_not_equal(cf_load_toml(&c, files[i], NULL, err), CFG_OK);
        assert_hasnt(err, "sekrit");
        assert_has(err, "line ");
        cfg_free(&c);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, cf_setup, cf_teardown)
    const struct CMUnitTest tests[] = {
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
    };
#undef T
    return cmocka_run_group_tests_name("config_values", tests, NULL, NULL);
}
