/*
 * envconfig: the worker's connection settings for Temporal, read the way the Go SDK's
 * envconfig package reads them: one profile of a TOML file, then TEMPORAL_* environment
 * variables on top. It resolves TLS and loads PEM files, so that connect.h only has to apply
 * the result; it opens no connection and logs nothing.
 *
 * The file is the first of: TEMPORAL_CONFIG_FILE (must be readable), then
 * $LAMBDA_TASK_ROOT/temporal.toml, then ./temporal.toml (either may be absent). The profile is
 * TEMPORAL_PROFILE or "default"; a profile named in TEMPORAL_PROFILE must exist (even when it
 * is "default"), the implicit "default" may be absent. File format (keys are matched
 * case-insensitively, as the Go SDK does; unknown tables and keys are ignored):
 *
 *   [profile.<name>]          address, namespace, api_key, authority (strings)
 *   [profile.<name>.tls]      disabled, disable_host_verification (booleans); server_name,
 *                             client_cert_path / client_cert_data, client_key_path /
 *                             client_key_data, server_ca_cert_path / server_ca_cert_data
 *   [profile.<name>.grpc_meta] <header> = "value"   (or an inline table)
 *
 * Precedence and resolution:
 * - An environment variable that is set overrides the file, and an empty one clears the file's
 *   value (address and namespace then fall back to "localhost:7233" and "default"); empty
 *   TEMPORAL_TLS / TEMPORAL_TLS_DISABLE_HOST_VERIFICATION are ignored. Empty file strings count
 *   as unset. TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE count as unset when empty.
 * - Booleans in the environment: true, false, 1, 0 in any case; anything else is an error.
 * - TLS: TEMPORAL_TLS or tls.disabled decide when given (tls_explicit). Otherwise TLS is on when
 *   the profile has a tls table or any TEMPORAL_TLS_* variable is set non-empty (as in Go), or
 *   when there is an API key. TLS explicitly off with an API key is kept: connect.h warns.
 * - Each PEM item has a _PATH and a _DATA form. Both in the environment, or both in the file,
 *   is an error; one in the environment replaces whatever the file had for that item. PEM
 *   items are read (and must contain a PEM block) only when TLS ends up on; a client
 *   certificate needs a client key and the other way round.
 * - gRPC metadata: keys are lower-cased and '_' becomes '-'. An empty TEMPORAL_GRPC_META_<KEY>
 *   removes the file's header of that name. Keys must be gRPC header names ([0-9a-z.-]); keys
 *   ending in -bin (binary headers), starting with grpc-, and the headers the transport sets
 *   itself (content-type, te, user-agent, client-name, client-version, temporal-namespace,
 *   and authorization when an API key is set) are refused, as are HTTP/2 connection headers
 *   (connection, keep-alive, proxy-connection, transfer-encoding, upgrade, host,
 *   content-length). Values must be printable ASCII without blanks at either end. Two keys
 *   that normalise to the same header in one source are an error.
 * - The address must be host:port or [ipv6]:port with a port of 1-65535.
 *
 * Errors: cfg_load() returns 0 or a negative CFG_E* code and writes to |err| the
 * variable (or "file: line N: profile.x.key"), and what is wrong. Secret values (API key,
 * client key, PEM data, metadata values) never appear in messages.
 * Ownership: |env| is borrowed. Everything in a loaded conn_config belongs to it and is
 * released by cfg_free(), which wipes the API key, client key and metadata values;
 * cfg_free(NULL) is a no-op. On failure |out| is left zeroed (freeing it is fine).
 * Threading: no shared state; the process's current directory is read for ./temporal.toml.
 */
#ifndef TW_ENVCONFIG_H
#define TW_ENVCONFIG_H

#include <stddef.h>

enum {
    CFG_OK = 0,
    CFG_ENOMEM = -1,     /* out of memory */
    CFG_EINVAL = -2,     /* a setting has a bad value or conflicts with another */
    CFG_EFILE = -3,      /* a file (config or PEM) could not be read */
    CFG_ESYNTAX = -4,    /* the config file is not valid TOML, or a key has the wrong type */
    CFG_ENOPROFILE = -5, /* TEMPORAL_PROFILE names a profile the file does not have */
};

#define CFG_DEFAULT_ADDRESS "localhost:7233"
#define CFG_DEFAULT_NAMESPACE "default"
#define CFG_DEFAULT_PROFILE "default"
#define CFG_MAX_FILE (1024 * 1024) /* config and PEM files */
#define CFG_MAX_META 64

typedef struct cfg_meta {
    char *key;
    char *value;
} cfg_meta;

typedef struct conn_config {
    char *address;        /* host:port; default "localhost:7233" */
    char *namespace_name; /* default "default" */
    char *api_key;        /* NULL when none */
    char *authority;      /* :authority override or NULL */
    int tls;              /* resolved: TLS on or off */
    int tls_explicit;     /* TLS was set explicitly (TEMPORAL_TLS or tls.disabled) */
    char *client_cert;    /* PEM bytes (NUL-terminated, len without it), or NULL */
    size_t client_cert_len;
    char *client_key;
    size_t client_key_len;
    char *server_ca;
    size_t server_ca_len;
    char *server_name;    /* SNI / verification name or NULL */
    int disable_host_verification;
    cfg_meta *meta;        /* extra gRPC headers, keys normalised; file order, then env order */
    size_t nmeta;
    char *profile;        /* profile used */
    char *config_file;    /* file read, or NULL when none */
} conn_config;

/* Loads from |env| (NULL-terminated "KEY=VALUE" array, e.g. environ; NULL means an empty
 * environment; the first of duplicate entries wins, as with getenv) and the profile file. */
int cfg_load(conn_config *out, const char *const *env, char *err, size_t errlen);
void cfg_free(conn_config *c);
const char *cfg_strerror(int code);

#endif
