/*
 * envconfig: three steps over a loader that borrows every string (from the
 * environment and from the parsed TOML document) and remembers where each setting came from,
 * so that an error can name the variable or the file, line and key: (1) find, read and parse
 * the file and take the profile's settings, (2) lay the environment over them, (3) check the
 * result and copy it out, reading PEM files if TLS is on. Rules are in envconfig.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/envconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temporal/config/toml.h"

#define META_PREFIX "TEMPORAL_GRPC_META_"
#define MAX_META_KEY 128
#define MAX_META_VALUE 8192
#define SLURP_NOTREG (-1)
#define SLURP_TOOBIG (-2)

/* The settings that have one environment variable and one file key each. */
enum {
    F_ADDRESS, F_NAMESPACE, F_API_KEY, F_AUTHORITY, F_TLS, F_CERT_PATH, F_CERT_DATA,
    F_KEY_PATH, F_KEY_DATA, F_CA_PATH, F_CA_DATA, F_SERVER_NAME, F_NO_VERIFY, NFIELDS,
    K_TLS = NFIELDS, K_META, K_CODEC, K_IGNORED /* file-only keys */
};

static const char *const ENV_NAME[NFIELDS] = {
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_CLIENT_AUTHORITY",
    "TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_DATA",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
};

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

#define NDEFS(a) (sizeof(a) / sizeof((a)[0]))

/* Headers the transport sets itself, and HTTP/2 connection-specific ones. */
static const char *const RESERVED_HEADERS[] = {
    "content-type", "te", "user-agent", "client-name", "client-version", "temporal-namespace",
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
    "content-length",
};

typedef struct setting {
    int set;
    const char *s;   /* strings: borrowed from the environment or the document */
    size_t len;
    int b;           /* booleans (F_TLS holds "TLS on", the inverse of tls.disabled) */
    int line;        /* file line; 0 when from the environment */
    const char *key; /* file key as written */
} setting;

typedef struct meta_entry {
    char *key;         /* normalised */
    const char *value; /* borrowed */
    size_t value_len;
    int deleted;       /* removed by an empty environment variable */
    int line;          /* file line; 0 when from the environment */
    const char *raw;   /* file key, or the variable name (not NUL-terminated: |rawlen|) */
    size_t rawlen;
} meta_entry;

typedef struct loader {
    const char *const *env;
    char *file;          /* config file read, or NULL */
    toml_doc *doc;
    const char *profile;
    int profile_explicit;
    int profile_found;
    setting v[NFIELDS];
    int tls_table;       /* the profile has a tls table */
    int tls_env;         /* a TEMPORAL_TLS* variable is set non-empty */
    meta_entry meta[CFG_MAX_META];
    size_t nmeta;
    char *err;
    size_t errlen;
} loader;

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int fail(loader *ld, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(loader *ld, int code, const char *fmt, ...)
{
    if (ld->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err, ld->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int oom(loader *ld)
{
    return fail(ld, CFG_ENOMEM, "out of memory");
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void free_secret(char *s, size_t len)
{
    if (s) {
        wipe(s, len);
        free(s);
    }
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}


static const char *env_get(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (; env && *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* A non-secret value for a message: printable ASCII, at most 64 characters. */
static const char *shown(char *buf, size_t size, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < size; i++)
        buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (o < len && o + 4 <= size)
        memcpy(buf + o, "...", 3), o += 3;
    buf[o] = '\0';
    return buf;
}

/* A TOML key part as it would be written: bare when it can be, quoted otherwise. */
static const char *key_part(char *buf, size_t size, const char *s, size_t len)
{
    int bare = len > 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
            bare = 0;
    if (bare)
        return shown(buf, size, s, len);
    char inner[80];
    snprintf(buf, size, "\"%s\"", shown(inner, sizeof(inner), s, len));
    return buf;
}

/* Where a file setting is: "<file>: line N: profile.<name>.<sub><key>". */
static const char *file_where(const loader *ld, char *buf, size_t size, int line,
                              const char *sub, const char *key, size_t keylen)
{
    char p[96], k[96];
    snprintf(buf, size, "%s: line %d: profile.%s.%s%s", ld->file, line,
             key_part(p, sizeof(p), ld->profile, strlen(ld->profile)), sub,
             key_part(k, sizeof(k), key, keylen));
    return buf;
}

static const char *where(const loader *ld, char *buf, size_t size, int f)
{
    const setting *s = &ld->v[f];
    if (!s->line)
        return ENV_NAME[f];
    return file_where(ld, buf, size, s->line, f >= F_TLS && f <= F_NO_VERIFY ? "tls." : "",
                      s->key, strlen(s->key));
}

static const char *meta_where(const loader *ld, char *buf, size_t size, const meta_entry *m)
{
    if (!m->line)
        return shown(buf, size, m->raw, m->rawlen);
    return file_where(ld, buf, size, m->line, "grpc_meta.", m->raw, m->rawlen);
}

/* Reads a whole regular file of at most |max| bytes, NUL-terminated. Returns 0, an errno
 * value, SLURP_NOTREG or SLURP_TOOBIG. */
static int slurp(const char *path, size_t max, char **out, size_t *outlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), e = 0;
    size_t len = 0, cap;
    char *data = NULL;
    if (fd < 0)
        return errno;
    if (fstat(fd, &st)) {
        e = errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        e = S_ISDIR(st.st_mode) ? EISDIR : SLURP_NOTREG;
        goto out;
    }
    cap = (size_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
    if (!(data = malloc(cap))) {
        e = ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, data + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            e = SLURP_TOOBIG;
            goto out;
        }
        if (len == cap - 1) { /* the file grew since fstat */
            char *d = realloc(data, cap * 2 < max + 2 ? cap * 2 : max + 2);
            if (!d) {
                e = ENOMEM;
                goto out;
            }
            data = d;
            cap = cap * 2 < max + 2 ? cap * 2 : max + 2;
        }
    }
    data[len] = '\0';
out:
    close(fd);
    if (e) {
        free_secret(data, len);
        return e;
    }
    *out = data;
    *outlen = len;
    return 0;
}

static int file_error(loader *ld, const char *what, const char *path, int e)
{
    if (e == ENOMEM)
        return oom(ld);
    if (e == SLURP_TOOBIG)
        return fail(ld, CFG_EFILE, "%s: \"%s\" is larger than %d bytes", what, path,
                    CFG_MAX_FILE);
    return fail(ld, CFG_EFILE, "%s: cannot read \"%s\": %s", what, path,
                e == SLURP_NOTREG ? "not a regular file" : strerror(e));
}

/* ------------------------------------------------------------------------------------------ */
/* Step 1: the file and its profile                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Reads and parses |path|; |must_exist| is 0 for the default locations. */
static int load_file(loader *ld, const char *path, const char *what, int must_exist)
{
    char *text = NULL, msg[256];
    size_t len = 0;
    int e = slurp(path, CFG_MAX_FILE, &text, &len);
    if ((e == ENOENT || e == ENOTDIR) && !must_exist)
        return CFG_OK;
    if (e)
        return file_error(ld, what, path, e);
    if (!(ld->file = strdup(path))) {
        free_secret(text, len);
        return oom(ld);
    }
    int rc = toml_parse(&ld->doc, text, len, msg, sizeof(msg));
    free_secret(text, len);
    if (rc == TOML_ENOMEM)
        return oom(ld);
    if (rc)
        return fail(ld, CFG_ESYNTAX, "%s: %s", path, msg);
    return CFG_OK;
}

static int find_file(loader *ld)
{
    const char *cf = env_get(ld->env, "TEMPORAL_CONFIG_FILE");
    const char *root = env_get(ld->env, "LAMBDA_TASK_ROOT");
    char path[PATH_MAX];
    int rc;
    if (cf && *cf)
        return load_file(ld, cf, "TEMPORAL_CONFIG_FILE", 1);
    if (root && *root) {
        size_t n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
            n--;
        if (n + sizeof("/temporal.toml") > sizeof(path))
            return fail(ld, CFG_EINVAL, "LAMBDA_TASK_ROOT: path too long");
        snprintf(path, sizeof(path), "%.*s/temporal.toml", (int)n, root);
        if ((rc = load_file(ld, path, "LAMBDA_TASK_ROOT", 0)) || ld->doc)
            return rc;
    }
    return load_file(ld, "./temporal.toml", "config file", 0);
}

static int add_meta(loader *ld, const char *raw, size_t rawlen, int line, const char *value,
                    size_t value_len);

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
            return fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.grpc_meta.%s: expected a "
                        "string, found %s", ld->file, toml_node_line(v),
                        key_part(pp, sizeof(pp), pname, strlen(pname)),
                        key_part(kp, sizeof(kp), key, strlen(key)), toml_type_phrase(toml_node_type(v)));
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
        key_part(pp, sizeof(pp), pname, strlen(pname));
        key_part(k1, sizeof(k1), key, strlen(key));
        if (first[d]) {
            const char *other = toml_key(t, first[d] - 1);
            return fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.%s%s: the same setting as "
                        "%s at line %d (keys are not case-sensitive)", ld->file,
                        toml_node_line(v), pp, sub, k1,
                        key_part(k2, sizeof(k2), other, strlen(other)),
                        toml_node_line(toml_child(t, first[d] - 1)));
        }
        first[d] = i + 1;
        if (toml_node_type(v) != defs[d].type)
            return fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s.%s%s: expected %s, "
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
            return fail(ld, CFG_EINVAL, "%s and %s (line %d) are both set; set only one",
                        where(ld, w, sizeof(w), pairs[i][0]), d->key, d->line);
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
            return fail(ld, CFG_ESYNTAX, "%s: line %d: %s: the same table as %s at line %d "
                        "(keys are not case-sensitive)", ld->file,
                        toml_node_line(toml_child(root, i)), toml_key(root, i), "profile",
                        toml_node_line(profiles));
        profiles = toml_child(root, i);
        if (toml_node_type(profiles) != TOML_TABLE)
            return fail(ld, CFG_ESYNTAX, "%s: line %d: %s: expected a table, found %s",
                        ld->file, toml_node_line(profiles), toml_key(root, i),
                        toml_type_phrase(toml_node_type(profiles)));
    }
    for (size_t i = 0; i < toml_count(profiles); i++) {
        const char *name = toml_key(profiles, i);
        const toml_node *p = toml_child(profiles, i);
        int keep = strcmp(name, ld->profile) == 0, rc;
        if (toml_node_type(p) != TOML_TABLE)
            return fail(ld, CFG_ESYNTAX, "%s: line %d: profile.%s: expected a table, found "
                        "%s", ld->file, toml_node_line(p), key_part(k, sizeof(k), name,
                        strlen(name)), toml_type_phrase(toml_node_type(p)));
        if ((rc = read_table(ld, p, name, "", PROFILE_KEYS, NDEFS(PROFILE_KEYS), keep)))
            return rc;
        ld->profile_found |= keep;
    }
    return check_file_pairs(ld);
}

static int choose_profile(loader *ld)
{
    const char *p = env_get(ld->env, "TEMPORAL_PROFILE");
    char shown_name[96];
    int rc;
    ld->profile_explicit = p && *p;
    ld->profile = ld->profile_explicit ? p : CFG_DEFAULT_PROFILE;
    if (ld->doc && (rc = read_profiles(ld)))
        return rc;
    if (ld->profile_found || !ld->profile_explicit)
        return CFG_OK;
    shown(shown_name, sizeof(shown_name), ld->profile, strlen(ld->profile));
    if (ld->file)
        return fail(ld, CFG_ENOPROFILE, "TEMPORAL_PROFILE: profile \"%s\" not found in %s",
                    shown_name, ld->file);
    return fail(ld, CFG_ENOPROFILE, "TEMPORAL_PROFILE: profile \"%s\" not found: no config "
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
    const char *s = env_get(ld->env, ENV_NAME[f]);
    char sv[80];
    int b;
    if (!s || !*s)
        return CFG_OK;
    if (parse_bool(s, &b))
        return fail(ld, CFG_EINVAL, "%s: expected true, false, 1 or 0, got \"%s\"",
                    ENV_NAME[f], shown(sv, sizeof(sv), s, strlen(s)));
    ld->v[f] = (setting){.set = 1, .b = b};
    ld->tls_env = 1;
    return CFG_OK;
}

static void env_string(loader *ld, int f)
{
    const char *s = env_get(ld->env, ENV_NAME[f]);
    if (!s)
        return;
    ld->v[f] = *s ? (setting){.set = 1, .s = s, .len = strlen(s)} : (setting){0};
    if (*s && f >= F_TLS && f <= F_NO_VERIFY)
        ld->tls_env = 1;
}

/* TEMPORAL_TLS_*_PATH / _DATA: one of them replaces whatever the file gave for the item. */
static int env_pair(loader *ld, int fpath, int fdata)
{
    const char *p = env_get(ld->env, ENV_NAME[fpath]), *d = env_get(ld->env, ENV_NAME[fdata]);
    if (p && *p && d && *d)
        return fail(ld, CFG_EINVAL, "%s and %s are both set; set only one", ENV_NAME[fpath],
                    ENV_NAME[fdata]);
    if ((p && *p) || (d && *d))
        ld->v[fpath] = ld->v[fdata] = (setting){0};
    env_string(ld, fpath);
    env_string(ld, fdata);
    return CFG_OK;
}

static int apply_env(loader *ld)
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
    char *key = dupn(raw + skip, rawlen - skip);
    meta_entry *m = NULL;
    if (!key)
        return oom(ld);
    for (char *c = key; *c; c++)
        *c = *c == '_' ? '-' : *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    meta_entry cur = {.key = key, .value = value, .value_len = value_len, .line = line,
                      .raw = raw, .rawlen = rawlen};
    meta_where(ld, w, sizeof(w), &cur);
    if ((why = meta_key_problem(key))) {
        free(key);
        return fail(ld, CFG_EINVAL, "%s: %s", w, why);
    }
    if (value_len > MAX_META_VALUE || !header_value_ok(value, value_len)) {
        free(key);
        return fail(ld, CFG_EINVAL, "%s: the value %s", w, value_len > MAX_META_VALUE
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
        return fail(ld, CFG_EINVAL, "%s and %s both set the gRPC header %s", w,
                    meta_where(ld, w2, sizeof(w2), m), m->key);
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
        return fail(ld, CFG_EINVAL, "%s: more than %d gRPC headers", w, CFG_MAX_META);
    }
    ld->meta[ld->nmeta++] = cur;
    return CFG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Step 3: check and copy out                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* host:port or [v6]:port, port 1-65535. */
static int address_ok(const char *a)
{
    const char *port, *c;
    size_t hl;
    if (*a == '[') {
        const char *close = strchr(a, ']');
        int colons = 0;
        if (!close || close[1] != ':')
            return 0;
        for (c = a + 1; c < close && *c != '%'; c++) {
            if (*c == ':')
                colons++;
            else if (!(*c >= '0' && *c <= '9') && !((*c | 0x20) >= 'a' && (*c | 0x20) <= 'f') &&
                     *c != '.')
                return 0;
        }
        if (c < close && c + 1 == close)
            return 0; /* an empty zone */
        for (c = c < close ? c + 1 : c; c < close; c++)
            if (!is_alnum(*c) && *c != '.' && *c != '_' && *c != '-')
                return 0;
        if (colons < 2)
            return 0;
        hl = (size_t)(close - a - 1);
        port = close + 2;
    } else {
        const char *colon = strrchr(a, ':');
        if (!colon || colon == a)
            return 0;
        for (c = a; c < colon; c++)
            if (!is_alnum(*c) && *c != '.' && *c != '_' && *c != '-')
                return 0;
        hl = (size_t)(colon - a);
        port = colon + 1;
    }
    long p = 0;
    for (c = port; *c >= '0' && *c <= '9' && c - port < 5; c++)
        p = p * 10 + (*c - '0');
    return hl <= 253 && c > port && *c == '\0' && p >= 1 && p <= 65535;
}

/* Strings that become header values or names: printable; |spaces| allowed inside or not. */
static int text_ok(const char *s, size_t len, int spaces)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || (!spaces && s[i] == ' '))
            return 0;
    return len && s[0] != ' ' && s[len - 1] != ' ';
}

static int copy_string(loader *ld, int f, const char *dflt, char **out)
{
    const setting *s = &ld->v[f];
    *out = s->set ? dupn(s->s, s->len) : dflt ? strdup(dflt) : NULL;
    return (s->set || dflt) && !*out ? oom(ld) : CFG_OK;
}

static int contains_pem(const char *s, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
        if (memcmp(s + i, tag, sizeof(tag) - 1) == 0)
            return 1;
    return 0;
}

/* Loads the PEM item given by |fpath| or |fdata|, if any. */
static int load_pem(loader *ld, int fpath, int fdata, char **out, size_t *len)
{
    const setting *p = &ld->v[fpath], *d = &ld->v[fdata];
    char w[512];
    if (p->set) {
        char *path = dupn(p->s, p->len);
        int e = path ? slurp(path, CFG_MAX_FILE, out, len) : ENOMEM;
        int rc = e ? file_error(ld, where(ld, w, sizeof(w), fpath), path ? path : "", e) : 0;
        if (!rc && !contains_pem(*out, *len)) {
            free_secret(*out, *len);
            *out = NULL;
            *len = 0;
            rc = fail(ld, CFG_EINVAL, "%s: \"%s\" has no PEM block (no -----BEGIN line)",
                      where(ld, w, sizeof(w), fpath), path);
        }
        free(path);
        return rc;
    }
    if (!d->set)
        return CFG_OK;
    if (!contains_pem(d->s, d->len))
        return fail(ld, CFG_EINVAL, "%s: not PEM data (no -----BEGIN line)",
                    where(ld, w, sizeof(w), fdata));
    if (!(*out = dupn(d->s, d->len)))
        return oom(ld);
    *len = d->len;
    return CFG_OK;
}

static int check_values(loader *ld)
{
    char w[512], sv[80];
    const setting *s = &ld->v[F_ADDRESS];
    if (s->set && (s->len != strlen(s->s) || !address_ok(s->s)))
        return fail(ld, CFG_EINVAL, "%s: expected host:port or [ipv6]:port with a port from "
                    "1 to 65535, got \"%s\"", where(ld, w, sizeof(w), F_ADDRESS),
                    shown(sv, sizeof(sv), s->s, s->len));
    static const int names[] = {F_NAMESPACE, F_AUTHORITY, F_SERVER_NAME};
    for (size_t i = 0; i < NDEFS(names); i++) {
        s = &ld->v[names[i]];
        if (s->set && !text_ok(s->s, s->len, names[i] == F_NAMESPACE))
            return fail(ld, CFG_EINVAL, "%s: \"%s\" has a character that is not allowed "
                        "(printable ASCII%s only)", where(ld, w, sizeof(w), names[i]),
                        shown(sv, sizeof(sv), s->s, s->len),
                        names[i] == F_NAMESPACE ? "" : " without spaces");
    }
    s = &ld->v[F_API_KEY];
    if (s->set && !text_ok(s->s, s->len, 1))
        return fail(ld, CFG_EINVAL, "%s: the API key has a character not allowed in an HTTP "
                    "header (printable ASCII only, no blank at either end)",
                    where(ld, w, sizeof(w), F_API_KEY));
    for (size_t i = 0; s->set && i < ld->nmeta; i++)
        if (!ld->meta[i].deleted && strcmp(ld->meta[i].key, "authorization") == 0)
            return fail(ld, CFG_EINVAL, "%s: conflicts with the API key (%s), which sets the "
                        "authorization header; set only one",
                        meta_where(ld, w, sizeof(w), &ld->meta[i]), ld->v[F_API_KEY].line
                        ? "api_key in the profile" : ENV_NAME[F_API_KEY]);
    return CFG_OK;
}

static int load_tls(loader *ld, conn_config *out)
{
    char w[512];
    int cert = ld->v[F_CERT_PATH].set || ld->v[F_CERT_DATA].set;
    int key = ld->v[F_KEY_PATH].set || ld->v[F_KEY_DATA].set;
    int rc;
    if (cert != key) {
        int f = cert ? (ld->v[F_CERT_PATH].set ? F_CERT_PATH : F_CERT_DATA)
                     : (ld->v[F_KEY_PATH].set ? F_KEY_PATH : F_KEY_DATA);
        return fail(ld, CFG_EINVAL, "%s: a client %s needs a client %s too (%s or %s, or "
                    "tls.%s in the profile)", where(ld, w, sizeof(w), f),
                    cert ? "certificate" : "key", cert ? "key" : "certificate",
                    ENV_NAME[cert ? F_KEY_PATH : F_CERT_PATH],
                    ENV_NAME[cert ? F_KEY_DATA : F_CERT_DATA],
                    cert ? "client_key_path/client_key_data"
                         : "client_cert_path/client_cert_data");
    }
    if ((rc = load_pem(ld, F_CERT_PATH, F_CERT_DATA, &out->client_cert, &out->client_cert_len)) ||
        (rc = load_pem(ld, F_KEY_PATH, F_KEY_DATA, &out->client_key, &out->client_key_len)) ||
        (rc = load_pem(ld, F_CA_PATH, F_CA_DATA, &out->server_ca, &out->server_ca_len)))
        return rc;
    return CFG_OK;
}

static int build(loader *ld, conn_config *out)
{
    int rc;
    if ((rc = check_values(ld)))
        return rc;
    if ((rc = copy_string(ld, F_ADDRESS, CFG_DEFAULT_ADDRESS, &out->address)) ||
        (rc = copy_string(ld, F_NAMESPACE, CFG_DEFAULT_NAMESPACE, &out->namespace_name)) ||
        (rc = copy_string(ld, F_API_KEY, NULL, &out->api_key)) ||
        (rc = copy_string(ld, F_AUTHORITY, NULL, &out->authority)) ||
        (rc = copy_string(ld, F_SERVER_NAME, NULL, &out->server_name)))
        return rc;
    out->tls_explicit = ld->v[F_TLS].set;
    out->tls = out->tls_explicit ? ld->v[F_TLS].b
                                 : ld->tls_table || ld->tls_env || ld->v[F_API_KEY].set;
    out->disable_host_verification = ld->v[F_NO_VERIFY].set && ld->v[F_NO_VERIFY].b;
    if (out->tls && (rc = load_tls(ld, out)))
        return rc;
    if (ld->nmeta && !(out->meta = calloc(ld->nmeta, sizeof(*out->meta))))
        return oom(ld);
    for (size_t i = 0; i < ld->nmeta; i++) {
        const meta_entry *m = &ld->meta[i];
        if (m->deleted)
            continue;
        cfg_meta *t = &out->meta[out->nmeta++];
        if (!(t->key = strdup(m->key)) || !(t->value = dupn(m->value, m->value_len)))
            return oom(ld);
    }
    if (!(out->profile = strdup(ld->profile)))
        return oom(ld);
    out->config_file = ld->file;
    ld->file = NULL;
    return CFG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Public                                                                                      */
/* ------------------------------------------------------------------------------------------ */

int cfg_load(conn_config *out, const char *const *env, char *err, size_t errlen)
{
    loader ld = {.env = env, .err = err, .errlen = errlen};
    int rc;
    if (errlen)
        err[0] = '\0';
    if (!out)
        return fail(&ld, CFG_EINVAL, "no config to fill");
    memset(out, 0, sizeof(*out));
    if (!(rc = find_file(&ld)) && !(rc = choose_profile(&ld)) && !(rc = apply_env(&ld)))
        rc = build(&ld, out);
    for (size_t i = 0; i < ld.nmeta; i++)
        free(ld.meta[i].key);
    free(ld.file);
    toml_free(ld.doc);
    if (rc)
        cfg_free(out);
    return rc;
}

void cfg_free(conn_config *c)
{
    if (!c)
        return;
    free(c->address);
    free(c->namespace_name);
    free_secret(c->api_key, c->api_key ? strlen(c->api_key) : 0);
    free(c->authority);
    free(c->client_cert);
    free_secret(c->client_key, c->client_key_len);
    free(c->server_ca);
    free(c->server_name);
    for (size_t i = 0; i < c->nmeta; i++) {
        free(c->meta[i].key);
        free_secret(c->meta[i].value, c->meta[i].value ? strlen(c->meta[i].value) : 0);
    }
    free(c->meta);
    free(c->profile);
    free(c->config_file);
    memset(c, 0, sizeof(*c));
}

const char *cfg_strerror(int code)
{
    switch (code) {
    case CFG_OK: return "success";
    case CFG_ENOMEM: return "out of memory";
    case CFG_EINVAL: return "invalid connection setting";
    case CFG_EFILE: return "a configured file could not be read";
    case CFG_ESYNTAX: return "invalid config file";
    case CFG_ENOPROFILE: return "config profile not found";
    }
    return "unknown error";
}
