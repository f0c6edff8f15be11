/*
 * config_fixture: what the envconfig unit tests share (test_config.c, test_config_values.c).
 * Each test runs in a fresh temporary directory that is also the current directory (for
 * ./temporal.toml): cf_setup and cf_teardown are its cmocka setup and teardown pair. Files,
 * environments and loads are made with the helpers below; failures abort the test (cmocka).
 */
#ifndef TW_CONFIG_FIXTURE_H
#define TW_CONFIG_FIXTURE_H

#include <stddef.h>
#include <string.h>

#include "temporal/config/envconfig.h"

#define ERRLEN 512

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

/* A certificate and a key, PEM-shaped (not real ones). */
extern const char CF_CERT[];
extern const char CF_KEY[];

int cf_setup(void **st);
int cf_teardown(void **st);

/* The absolute path of |rel| in the test directory; 8 rotating static buffers. */
const char *cf_path(const char *rel);
/* Writes |content| to |rel| in the test directory; returns its path (cf_path). */
const char *cf_put(const char *rel, const char *content);
void cf_mkdir(const char *rel);

/* An environment built with printf-style entries (16 at most), NULL-terminated in |v|. */
typedef struct cf_env {
    char s[16][1024];
    const char *v[17];
    size_t n;
} cf_env;

void cf_env_add(cf_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cfg_load with |env|; the message in |err| (ERRLEN bytes). */
int cf_load(conn_config *c, const char *const *env, char *err);
/* Loads with TEMPORAL_CONFIG_FILE pointing at |toml| (written to cfg.toml) plus |extra|
 * entries (NULL-terminated, or NULL). */
int cf_load_toml(conn_config *c, const char *toml, const char *const *extra, char *err);
/* Expects a failure |code| of the file |toml| with every string of |subs| (NULL-terminated)
 * in the message. */
void cf_expect_toml_error(const char *toml, int code, const char *const *subs);
/* The value of gRPC metadata entry |key| of |c|, or NULL. */
const char *cf_meta(const conn_config *c, const char *key);

#endif
