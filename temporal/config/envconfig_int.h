/*
 * envconfig_int: what envconfig's two files share. envconfig_read.c reads the sources into a
 * loader (step 1: the file and its profile; step 2: the environment over it; and the gRPC
 * metadata of both); envconfig.c checks the result and copies it out, reading the TLS
 * material (step 3), and holds the helpers both use. Nothing outside
 * temporal/config/envconfig*.c includes this.
 *
 * The loader borrows every string (from the environment and from the parsed TOML document)
 * and remembers where each setting came from, so that an error can name the variable or the
 * file, line and key. Errors: every function that can fail returns CFG_OK or a CFG_E* code
 * after writing the message with cfg_fail (secret values never appear in it).
 */
#ifndef TW_ENVCONFIG_INT_H
#define TW_ENVCONFIG_INT_H

#include <stddef.h>

#include "temporal/config/envconfig.h"
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

#define NDEFS(a) (sizeof(a) / sizeof((a)[0]))

/* The environment variable of each F_* setting. */
extern const char *const cfg_env_name[NFIELDS];

/* ---- envconfig.c: helpers ---- */

int cfg_fail(loader *ld, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cfg_oom(loader *ld);
/* Wipes |len| bytes of |s| before freeing it; NULL is a no-op. */
void cfg_free_secret(char *s, size_t len);
/* |n| bytes of |s| as a malloc'd string, or NULL. */
char *cfg_dupn(const char *s, size_t n);
/* The value of |name| in |env| (the first entry wins, as with getenv), or NULL. */
const char *cfg_env_get(const char *const *env, const char *name);
/* A non-secret value for a message: printable ASCII, at most 64 characters. */
const char *cfg_shown(char *buf, size_t size, const char *s, size_t len);
/* A TOML key part as it would be written: bare when it can be, quoted otherwise. */
const char *cfg_key_part(char *buf, size_t size, const char *s, size_t len);
/* Where setting |f| came from: its variable, or "<file>: line N: profile.<name>.<key>". */
const char *cfg_where(const loader *ld, char *buf, size_t size, int f);
/* The same for a gRPC header. */
const char *cfg_meta_where(const loader *ld, char *buf, size_t size, const meta_entry *m);
/* Reads a whole regular file of at most |max| bytes, NUL-terminated. Returns 0, an errno
 * value, SLURP_NOTREG or SLURP_TOOBIG. */
int cfg_slurp(const char *path, size_t max, char **out, size_t *outlen);
/* The message for cfg_slurp's error |e| reading |path| (named |what|). */
int cfg_file_error(loader *ld, const char *what, const char *path, int e);

/* ---- envconfig_read.c: steps 1 and 2 ---- */

/* Step 1: finds, reads and parses the config file (none is fine unless TEMPORAL_CONFIG_FILE
 * names one), then type-checks its profiles and takes the chosen one's settings. */
int cfg_read_file(loader *ld);
int cfg_read_profile(loader *ld);
/* Step 2: lays the environment over the file's settings. */
int cfg_read_env(loader *ld);

#endif
