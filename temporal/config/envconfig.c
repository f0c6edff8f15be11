/*
 * envconfig: three steps over a loader that borrows every string (from the
 * environment and from the parsed TOML document) and remembers cfg_where each setting came from,
 * so that an error can name the variable or the file, line and key: (1) find, read and parse
 * the file and take the profile's settings, (2) lay the environment over them, (3) check the
 * result and copy it out, reading PEM files if TLS is on. Rules are in envconfig.h; steps 1
 * and 2 are envconfig_read.c, step 3 and the helpers this file (envconfig_int.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "temporal/config/envconfig_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const cfg_env_name[NFIELDS] = {
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_CLIENT_AUTHORITY",
    "TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_DATA",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

int cfg_fail(loader *ld, int code, const char *fmt, ...)
{
    if (ld->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err, ld->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int cfg_oom(loader *ld)
{
    return cfg_fail(ld, CFG_ENOMEM, "out of memory");
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void cfg_free_secret(char *s, size_t len)
{
    if (s) {
        wipe(s, len);
        free(s);
    }
}

char *cfg_dupn(const char *s, size_t n)
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


const char *cfg_env_get(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (; env && *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* A non-secret value for a message: printable ASCII, at most 64 characters. */
const char *cfg_shown(char *buf, size_t size, const char *s, size_t len)
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
const char *cfg_key_part(char *buf, size_t size, const char *s, size_t len)
{
    int bare = len > 0;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
            bare = 0;
    if (bare)
        return cfg_shown(buf, size, s, len);
    char inner[80];
    snprintf(buf, size, "\"%s\"", cfg_shown(inner, sizeof(inner), s, len));
    return buf;
}

/* Where a file setting is: "<file>: line N: profile.<name>.<sub><key>". */
static const char *file_where(const loader *ld, char *buf, size_t size, int line,
                              const char *sub, const char *key, size_t keylen)
{
    char p[96], k[96];
    snprintf(buf, size, "%s: line %d: profile.%s.%s%s", ld->file, line,
             cfg_key_part(p, sizeof(p), ld->profile, strlen(ld->profile)), sub,
             cfg_key_part(k, sizeof(k), key, keylen));
    return buf;
}

const char *cfg_where(const loader *ld, char *buf, size_t size, int f)
{
    const setting *s = &ld->v[f];
    if (!s->line)
        return cfg_env_name[f];
    return file_where(ld, buf, size, s->line, f >= F_TLS && f <= F_NO_VERIFY ? "tls." : "",
                      s->key, strlen(s->key));
}

const char *cfg_meta_where(const loader *ld, char *buf, size_t size, const meta_entry *m)
{
    if (!m->line)
        return cfg_shown(buf, size, m->raw, m->rawlen);
    return file_where(ld, buf, size, m->line, "grpc_meta.", m->raw, m->rawlen);
}

/* Reads a whole regular file of at most |max| bytes, NUL-terminated. Returns 0, an errno
 * value, SLURP_NOTREG or SLURP_TOOBIG. */
int cfg_slurp(const char *path, size_t max, char **out, size_t *outlen)
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
        cfg_free_secret(data, len);
        return e;
    }
    *out = data;
    *outlen = len;
    return 0;
}

int cfg_file_error(loader *ld, const char *what, const char *path, int e)
{
    if (e == ENOMEM)
        return cfg_oom(ld);
    if (e == SLURP_TOOBIG)
        return cfg_fail(ld, CFG_EFILE, "%s: \"%s\" is larger than %d bytes", what, path,
                        CFG_MAX_FILE);
    return cfg_fail(ld, CFG_EFILE, "%s: cannot read \"%s\": %s", what, path,
                    e == SLURP_NOTREG ? "not a regular file" : strerror(e));
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
    *out = s->set ? cfg_dupn(s->s, s->len) : dflt ? strdup(dflt) : NULL;
    return (s->set || dflt) && !*out ? cfg_oom(ld) : CFG_OK;
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
        char *path = cfg_dupn(p->s, p->len);
        int e = path ? cfg_slurp(path, CFG_MAX_FILE, out, len) : ENOMEM;
        int rc = e ? cfg_file_error(ld, cfg_where(ld, w, sizeof(w), fpath), path ? path : "", e)
                   : 0;
        if (!rc && !contains_pem(*out, *len)) {
            cfg_free_secret(*out, *len);
            *out = NULL;
            *len = 0;
            rc = cfg_fail(ld, CFG_EINVAL, "%s: \"%s\" has no PEM block (no -----BEGIN line)",
                          cfg_where(ld, w, sizeof(w), fpath), path);
        }
        free(path);
        return rc;
    }
    if (!d->set)
        return CFG_OK;
    if (!contains_pem(d->s, d->len))
        return cfg_fail(ld, CFG_EINVAL, "%s: not PEM data (no -----BEGIN line)",
                        cfg_where(ld, w, sizeof(w), fdata));
    if (!(*out = cfg_dupn(d->s, d->len)))
        return cfg_oom(ld);
    *len = d->len;
    return CFG_OK;
}

static int check_values(loader *ld)
{
    char w[512], sv[80];
    const setting *s = &ld->v[F_ADDRESS];
    if (s->set && (s->len != strlen(s->s) || !address_ok(s->s)))
        return cfg_fail(ld, CFG_EINVAL, "%s: expected host:port or [ipv6]:port with a port from "
                        "1 to 65535, got \"%s\"", cfg_where(ld, w, sizeof(w), F_ADDRESS),
                        cfg_shown(sv, sizeof(sv), s->s, s->len));
    static const int names[] = {F_NAMESPACE, F_AUTHORITY, F_SERVER_NAME};
    for (size_t i = 0; i < NDEFS(names); i++) {
        s = &ld->v[names[i]];
        if (s->set && !text_ok(s->s, s->len, names[i] == F_NAMESPACE))
            return cfg_fail(ld, CFG_EINVAL, "%s: \"%s\" has a character that is not allowed "
                            "(printable ASCII%s only)", cfg_where(ld, w, sizeof(w), names[i]),
                            cfg_shown(sv, sizeof(sv), s->s, s->len),
                            names[i] == F_NAMESPACE ? "" : " without spaces");
    }
    s = &ld->v[F_API_KEY];
    if (s->set && !text_ok(s->s, s->len, 1))
        return cfg_fail(ld, CFG_EINVAL, "%s: the API key has a character not allowed in an HTTP "
                        "header (printable ASCII only, no blank at either end)",
                        cfg_where(ld, w, sizeof(w), F_API_KEY));
    for (size_t i = 0; s->set && i < ld->nmeta; i++)
        if (!ld->meta[i].deleted && strcmp(ld->meta[i].key, "authorization") == 0)
            return cfg_fail(ld, CFG_EINVAL, "%s: conflicts with the API key (%s), which sets the "
                            "authorization header; set only one",
                            cfg_meta_where(ld, w, sizeof(w), &ld->meta[i]), ld->v[F_API_KEY].line
                            ? "api_key in the profile" : cfg_env_name[F_API_KEY]);
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
        return cfg_fail(ld, CFG_EINVAL, "%s: a client %s needs a client %s too (%s or %s, or "
                        "tls.%s in the profile)", cfg_where(ld, w, sizeof(w), f),
                        cert ? "certificate" : "key", cert ? "key" : "certificate",
                        cfg_env_name[cert ? F_KEY_PATH : F_CERT_PATH],
                        cfg_env_name[cert ? F_KEY_DATA : F_CERT_DATA],
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
        return cfg_oom(ld);
    for (size_t i = 0; i < ld->nmeta; i++) {
        const meta_entry *m = &ld->meta[i];
        if (m->deleted)
            continue;
        cfg_meta *t = &out->meta[out->nmeta++];
        if (!(t->key = strdup(m->key)) || !(t->value = cfg_dupn(m->value, m->value_len)))
            return cfg_oom(ld);
    }
    if (!(out->profile = strdup(ld->profile)))
        return cfg_oom(ld);
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
        return cfg_fail(&ld, CFG_EINVAL, "no config to fill");
    memset(out, 0, sizeof(*out));
    if (!(rc = cfg_read_file(&ld)) && !(rc = cfg_read_profile(&ld)) && !(rc = cfg_read_env(&ld)))
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
    cfg_free_secret(c->api_key, c->api_key ? strlen(c->api_key) : 0);
    free(c->authority);
    free(c->client_cert);
    cfg_free_secret(c->client_key, c->client_key_len);
    free(c->server_ca);
    free(c->server_name);
    for (size_t i = 0; i < c->nmeta; i++) {
        free(c->meta[i].key);
        cfg_free_secret(c->meta[i].value, c->meta[i].value ? strlen(c->meta[i].value) : 0);
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
