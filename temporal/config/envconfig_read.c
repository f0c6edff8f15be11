/*
 * envconfig_read: steps 1 and 2 of envconfig (envconfig_int.h): the config file and its
 * profile, type-checked the way the Go SDK decodes it, then the environment laid over it;
 * and the gRPC metadata headers both may add, checked as they arrive.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/envconfig_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct key_def {
    const char *name;
    toml_type type;
    int field; /* F_* or K_* */
} key_def;

static const key_def PROFILE_KEYS[] = {
    {"address", TOML_STRING, F_ADDRESS},   {"namespace", TOML_STRING, F_NAMESPACE},
    {"api_key", TOML_STRING, F_API_KEY},   {"authority", TOML_STRING, F_AUTHORITY},
    {"tls", TOML_TABLE, K_TLS},            {"grpc_meta", TOML_TABLE, K_META},
    {"codec", TOML_TABLE, K_CODEC},
};

static const key_def TLS_KEYS[] = {
    {"disabled", TOML_BOOL, F_TLS},
    {"client_cert_path", TOML_STRING, F_CERT_PATH},
    {"client_cert_data", TOML_STRING, F_CERT_DATA},
    {"client_key_path", TOML_STRING, F_KEY_PATH},
    {"client_key_data", TOML_STRING, F_KEY_DATA},
    {"server_ca_cert_path", TOML_STRING, F_CA_PATH},
    {"server_ca_cert_data", TOML_STRING, F_CA_DATA},
    {"server_name", TOML_STRING, F_SERVER_NAME},
    {"disable_host_verification", TOML_BOOL, F_NO_VERIFY},
};

/* Remote codecs are not for workers (the Go SDK says so too); only the types are checked. */
static const key_def CODEC_KEYS[] = {
    {"endpoint", TOML_STRING, K_IGNORED},
    {"auth", TOML_STRING, K_IGNORED},
};

/* Headers the transport sets itself, and HTTP/2 connection-specific ones. */
static const char *const RESERVED_HEADERS[] = {
    "content-type", "te", "user-agent", "client-name", "client-version", "temporal-namespace",
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
    "content-length",
};

static int add_meta(loader *ld, const char *raw, size_t rawlen, int line, const char *value,
                    size_t value_len);

/* ------------------------------------------------------------------------------------------ */
/* Step 1: the file and its profile                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Reads and parses |path|; |must_exist| is 0 for the default locations. */
static int load_file(loader *ld, const char *path, const char *what, int must_exist)
{
    char *text = NULL, msg[256];
    size_t len = 0;
    int e = cfg_slurp(path, CFG_MAX_FILE, &text, &len);
    if ((e == ENOENT || e == ENOTDIR) && !must_exist)
        return CFG_OK;
    if (e)
        return cfg_file_error(ld, what, path, e);
    if (!(ld->file = strdup(path))) {
        cfg_free_secret(text, len);
        return cfg_oom(ld);
    }
    int rc = toml_parse(&ld->doc, text, len, msg, sizeof(msg));
    cfg_free_secret(text, len);
    if (rc == TOML_ENOMEM)
        return cfg_oom(ld);
    if (rc)
        return cfg_fail(ld, CFG_ESYNTAX, "%s: %s", path, msg);
    return CFG_OK;
}

int cfg_read_file(loader *ld)
{
    const char *cf = cfg_env_get(ld->env, "TEMPORAL_CONFIG_FILE");
    const char *root = cfg_env_get(ld->env, "LAMBDA_TASK_ROOT");
    char path[PATH_MAX];
    int rc;
    if (cf && *cf)
        return load_file(ld, cf, "TEMPORAL_CONFIG_FILE", 1);
    if (root && *root) {
        size_t n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
            n--;
        if (n + sizeof("/temporal.toml") > sizeof(path))
            return cfg_fail(ld, CFG_EINVAL, "LAMBDA_TASK_ROOT: path too long");
        snprintf(path, sizeof(path), "%.*s/temporal.toml", (int)n, root);
        if ((rc = load_file(ld, path, "LAMBDA_TASK_ROOT", 0)) || ld->doc)
            return rc;
    }
    return load_file(ld, "./temporal.toml", "config file", 0);
}

static int set_from_file(loader *ld, int f, const char *key, const toml_node *v)
{
    setting *s = &ld->v[f];
    size_t len;
    const char *str = toml_string(v, &len);
    if (toml_node_type(v) == TOML_BOOL) {
        *s = (setting){.set = 1, .b = f == F_TLS ? !toml_bool(v) : toml_bool(v)};
    } else if (len) {
        *s = (setting){.set = 1, .s = str, .len = len};
    } else {
        return CFG_OK; /* an empty string counts as unset */
    }
    s->line = toml_node_line(v);
    s->key = key;
    return CFG_OK;
}

static int read_meta_table(loader *ld, const toml_node *t, const char *pname, int keep)
{
    for (size_t i = 0; i < toml_count(t); i++) {
        const toml_node *v = toml_child(t, i);
        const char *key = toml_key(t, i);
        char kp[96], pp[96];
        size_t len;
        const char *s = toml_string(v, &len);
        if (!s)
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.grpc_meta.%s: expected a "
                            "string, found %s", ld->file, toml_node_line(v),
                            cfg_key_part(pp, sizeof(pp), pname, strlen(pname)),
                            cfg_key_part(kp, sizeof(kp), key, strlen(key)),
                            toml_type_phrase(toml_node_type(v)));
        if (keep) {
            int rc = add_meta(ld, key, strlen(key), toml_node_line(v), s, len);
            if (rc)
                return rc;
        }
    }
    return CFG_OK;
}

/* Checks the keys of |t| against |defs| (case-insensitively, as the Go SDK matches them) and,
 * when |keep|, takes their values. Unknown keys are ignored. */
static int read_table(loader *ld, const toml_node *t, const char *pname, const char *sub,
                      const key_def *defs, size_t ndefs, int keep)
{
    size_t first[16] = {0}; /* 1 + index of the key that matched each def */
    char pp[96], k1[96], k2[96];
    for (size_t i = 0; i < toml_count(t); i++) {
        const char *key = toml_key(t, i);
        const toml_node *v = toml_child(t, i);
        size_t d = 0;
        int rc = CFG_OK;
        while (d < ndefs && strcasecmp(key, defs[d].name) != 0)
            d++;
        if (d == ndefs)
            continue;
        cfg_key_part(pp, sizeof(pp), pname, strlen(pname));
        cfg_key_part(k1, sizeof(k1), key, strlen(key));
        if (first[d]) {
            const char *other = toml_key(t, first[d] - 1);
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.%s%s: the same setting as "
                            "%s at line %d (keys are not case-sensitive)", ld->file,
                            toml_node_line(v), pp, sub, k1,
                            cfg_key_part(k2, sizeof(k2), other, strlen(other)),
                            toml_node_line(toml_child(t, first[d] - 1)));
        }
        first[d] = i + 1;
        if (toml_node_type(v) != defs[d].type)
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.%s%s: expected %s, "
                            "found %s", ld->file, toml_node_line(v), pp, sub, k1,
                            toml_type_phrase(defs[d].type), toml_type_phrase(toml_node_type(v)));
        switch (defs[d].field) {
        case K_TLS:
            ld->tls_table |= keep;
            rc = read_table(ld, v, pname, "tls.", TLS_KEYS, NDEFS(TLS_KEYS), keep);
            break;
        case K_CODEC:
            rc = read_table(ld, v, pname, "codec.", CODEC_KEYS, NDEFS(CODEC_KEYS), keep);
            break;
        case K_META:
            rc = read_meta_table(ld, v, pname, keep);
            break;
        case K_IGNORED:
            break;
        default:
            if (keep)
                rc = set_from_file(ld, defs[d].field, key, v);
        }
        if (rc)
            return rc;
    }
    return CFG_OK;
}

/* A file may give the path or the data of a PEM item, not both. */
static int check_file_pairs(loader *ld)
{
    static const int pairs[][2] = {{F_CERT_PATH, F_CERT_DATA}, {F_KEY_PATH, F_KEY_DATA},
                                   {F_CA_PATH, F_CA_DATA}};
    char w[512];
    for (size_t i = 0; i < NDEFS(pairs); i++) {
        const setting *p = &ld->v[pairs[i][0]], *d = &ld->v[pairs[i][1]];
        if (p->set && d->set)
            return cfg_fail(ld, CFG_EINVAL, "%s and %s (line %d) are both set; set only one",
                            cfg_where(ld, w, sizeof(w), pairs[i][0]), d->key, d->line);
    }
    return CFG_OK;
}

/* Type-checks every profile (as decoding the whole file in Go does) and keeps the chosen one. */
static int read_profiles(loader *ld)
{
    const toml_node *root = toml_root(ld->doc), *profiles = NULL;
    char k[96];
    for (size_t i = 0; i < toml_count(root); i++) {
        if (strcasecmp(toml_key(root, i), "profile") != 0)
            continue;
        if (profiles)
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: %s: the same table as %s at line %d "
                            "(keys are not case-sensitive)", ld->file,
                            toml_node_line(toml_child(root, i)), toml_key(root, i), "profile",
                            toml_node_line(profiles));
        profiles = toml_child(root, i);
        if (toml_node_type(profiles) != TOML_TABLE)
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: %s: expected a table, found %s",
                            ld->file, toml_node_line(profiles), toml_key(root, i),
                            toml_type_phrase(toml_node_type(profiles)));
    }
    for (size_t i = 0; i < toml_count(profiles); i++) {
        const char *name = toml_key(profiles, i);
        const toml_node *p = toml_child(profiles, i);
        int keep = strcmp(name, ld->profile) == 0, rc;
        if (toml_node_type(p) != TOML_TABLE)
            return cfg_fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s: expected a table, found "
                            "%s", ld->file, toml_node_line(p), cfg_key_part(k, sizeof(k), name,
                            strlen(name)), toml_type_phrase(toml_node_type(p)));
        if ((rc = read_table(ld, p, name, "", PROFILE_KEYS, NDEFS(PROFILE_KEYS), keep)))
            return rc;
        ld->profile_found |= keep;
    }
    return check_file_pairs(ld);
}

int cfg_read_profile(loader *ld)
{
    const char *p = cfg_env_get(ld->env, "TEMPORAL_PROFILE");
    char shown_name[96];
    int rc;
    ld->profile_explicit = p && *p;
    ld->profile = ld->profile_explicit ? p : CFG_DEFAULT_PROFILE;
    if (ld->doc && (rc = read_profiles(ld)))
        return rc;
    if (ld->profile_found || !ld->profile_explicit)
        return CFG_OK;
    cfg_shown(shown_name, sizeof(shown_name), ld->profile, strlen(ld->profile));
    if (ld->file)
        return cfg_fail(ld, CFG_ENOPROFILE, "TEMPORAL_PROFILE: profile \"%s\" not found in %s",
                        shown_name, ld->file);
    return cfg_fail(ld, CFG_ENOPROFILE, "TEMPORAL_PROFILE: profile \"%s\" not found: no config "
                    "file (TEMPORAL_CONFIG_FILE is unset and there is no temporal.toml in "
                    "$LAMBDA_TASK_ROOT or the current directory)", shown_name);
}

/* ------------------------------------------------------------------------------------------ */
/* Step 2: the environment                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcmp(s, "1"))
        *out = 1;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int env_bool(loader *ld, int f)
{
    const char *s = cfg_env_get(ld->env, cfg_env_name[f]);
    char sv[80];
    int b;
    if (!s || !*s)
        return CFG_OK;
    if (parse_bool(s, &b))
        return cfg_fail(ld, CFG_EINVAL, "%s: expected true, false, 1 or 0, got \"%s\"",
                        cfg_env_name[f], cfg_shown(sv, sizeof(sv), s, strlen(s)));
    ld->v[f] = (setting){.set = 1, .b = b};
    ld->tls_env = 1;
    return CFG_OK;
}

static void env_string(loader *ld, int f)
{
    const char *s = cfg_env_get(ld->env, cfg_env_name[f]);
    if (!s)
        return;
    ld->v[f] = *s ? (setting){.set = 1, .s = s, .len = strlen(s)} : (setting){0};
    if (*s && f >= F_TLS && f <= F_NO_VERIFY)
        ld->tls_env = 1;
}

/* TEMPORAL_TLS_*_PATH / _DATA: one of them replaces whatever the file gave for the item. */
static int env_pair(loader *ld, int fpath, int fdata)
{
    const char *p = cfg_env_get(ld->env, cfg_env_name[fpath]);
    const char *d = cfg_env_get(ld->env, cfg_env_name[fdata]);
    if (p && *p && d && *d)
        return cfg_fail(ld, CFG_EINVAL, "%s and %s are both set; set only one", cfg_env_name[fpath],
                        cfg_env_name[fdata]);
    if ((p && *p) || (d && *d))
        ld->v[fpath] = ld->v[fdata] = (setting){0};
    env_string(ld, fpath);
    env_string(ld, fdata);
    return CFG_OK;
}

int cfg_read_env(loader *ld)
{
    static const int strings[] = {F_ADDRESS, F_NAMESPACE, F_API_KEY, F_AUTHORITY,
                                  F_SERVER_NAME};
    int rc;
    for (size_t i = 0; i < NDEFS(strings); i++)
        env_string(ld, strings[i]);
    if ((rc = env_bool(ld, F_TLS)) || (rc = env_bool(ld, F_NO_VERIFY)) ||
        (rc = env_pair(ld, F_CERT_PATH, F_CERT_DATA)) ||
        (rc = env_pair(ld, F_KEY_PATH, F_KEY_DATA)) || (rc = env_pair(ld, F_CA_PATH, F_CA_DATA)))
        return rc;
    for (const char *const *e = ld->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, META_PREFIX, strlen(META_PREFIX)) != 0 || !eq)
            continue;
        if ((rc = add_meta(ld, *e, (size_t)(eq - *e), 0, eq + 1, strlen(eq + 1))))
            return rc;
    }
    return CFG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* gRPC metadata                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* Why |key| (normalised) cannot be sent, or NULL. */
static const char *meta_key_problem(const char *key)
{
    size_t n = strlen(key);
    if (!n)
        return "empty header name";
    if (n > MAX_META_KEY)
        return "header name longer than 128 characters";
    for (const char *c = key; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
            return "not a valid gRPC header name (allowed: letters, digits, '-', '_', '.')";
    if (n >= 4 && strcmp(key + n - 4, "-bin") == 0)
        return "binary (-bin) headers are not supported";
    if (strncmp(key, "grpc-", 5) == 0)
        return "grpc-* headers are reserved for gRPC itself";
    for (size_t i = 0; i < NDEFS(RESERVED_HEADERS); i++)
        if (strcmp(key, RESERVED_HEADERS[i]) == 0)
            return i < 6 ? "this header is set by the runtime"
                         : "connection-specific headers are not allowed in HTTP/2";
    return NULL;
}

/* gRPC ASCII values: printable, no blank at either end (HTTP/2 forbids those). */
static int header_value_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return !len || (s[0] != ' ' && s[len - 1] != ' ');
}

/* Adds or, for the environment, replaces or deletes a header. |raw| is the file key or the
 * variable name. */
static int add_meta(loader *ld, const char *raw, size_t rawlen, int line, const char *value,
                    size_t value_len)
{
    size_t skip = line ? 0 : strlen(META_PREFIX);
    char w[512], w2[512];
    const char *why;
    char *key = cfg_dupn(raw + skip, rawlen - skip);
    meta_entry *m = NULL;
    if (!key)
        return cfg_oom(ld);
    for (char *c = key; *c; c++)
        *c = *c == '_' ? '-' : *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    meta_entry cur = {.key = key, .value = value, .value_len = value_len, .line = line,
                      .raw = raw, .rawlen = rawlen};
    cfg_meta_where(ld, w, sizeof(w), &cur);
    if ((why = meta_key_problem(key))) {
        free(key);
        return cfg_fail(ld, CFG_EINVAL, "%s: %s", w, why);
    }
    if (value_len > MAX_META_VALUE || !header_value_ok(value, value_len)) {
        free(key);
        return cfg_fail(ld, CFG_EINVAL, "%s: the value %s", w, value_len > MAX_META_VALUE
                        ? "is longer than 8192 bytes"
                        : "has a character not allowed in a gRPC header (printable ASCII only, no "
                          "blank at either end)");
    }
    for (size_t i = 0; i < ld->nmeta && !m; i++)
        if (strcmp(ld->meta[i].key, key) == 0)
            m = &ld->meta[i];
    if (m && m->line == 0 && line == 0 && m->rawlen == rawlen && !memcmp(m->raw, raw, rawlen)) {
        free(key); /* the same variable twice in |env|: the first wins, as with getenv */
        return CFG_OK;
    }
    if (m && (m->line == 0) == (line == 0)) {
        free(key);
        return cfg_fail(ld, CFG_EINVAL, "%s and %s both set the gRPC header %s", w,
                        cfg_meta_where(ld, w2, sizeof(w2), m), m->key);
    }
    if (m) { /* the environment overrides the file */
        free(m->key);
        cur.deleted = value_len == 0;
        *m = cur;
        return CFG_OK;
    }
    if (line == 0 && value_len == 0) {
        free(key); /* deletes nothing */
        return CFG_OK;
    }
    if (ld->nmeta == CFG_MAX_META) {
        free(key);
        return cfg_fail(ld, CFG_EINVAL, "%s: more than %d gRPC headers", w, CFG_MAX_META);
    }
    ld->meta[ld->nmeta++] = cur;
    return CFG_OK;
}
