/*
 * config_fixture: what the envconfig unit tests share. See config_fixture.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/config_fixture.h"

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

const char CF_CERT[] = "-----BEGIN CERTIFICATE-----\n"
                       "MIIBszCCAVmgAwIBAgIUcertcertcert\n"
                       "-----END CERTIFICATE-----\n";
const char CF_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49sekritkey\n"
                      "-----END PRIVATE KEY-----\n";

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

int cf_setup(void **st)
{
    const char *base = getenv("TMPDIR");
    if (!getcwd(oldcwd, sizeof(oldcwd)))
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s/tw-config-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir) || chdir(tmpdir))
        return -1;
    return 0;
}

int cf_teardown(void **st)
{
    int rc = chdir(oldcwd);
    rm_tree(tmpdir);
    return rc;
}

/* The absolute path of |rel| in the test directory; 8 rotating buffers. */
const char *cf_path(const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];
    if ((size_t)snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel) >= PATH_MAX)
        fail_msg("path too long");
    return b;
}

const char *cf_put(const char *rel, const char *content)
{
    const char *p = cf_path(rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
    return p;
}

void cf_mkdir(const char *rel)
{
    assert_int_equal(mkdir(cf_path(rel), 0755), 0);
}

void cf_env_add(cf_env *e, const char *fmt, ...)
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

int cf_load(conn_config *c, const char *const *env, char *err)
{
    err[0] = '\0';
    return cfg_load(c, env, err, ERRLEN);
}

/* Loads with TEMPORAL_CONFIG_FILE pointing at |toml| plus |extra| entries. */
int cf_load_toml(conn_config *c, const char *toml, const char *const *extra, char *err)
{
    cf_env e = {0};
    cf_env_add(&e, "TEMPORAL_CONFIG_FILE=%s", cf_put("cfg.toml", toml));
    for (; extra && *extra; extra++)
        cf_env_add(&e, "%s", *extra);
    return cf_load(c, e.v, err);
}

/* Expects a failure of the file |toml| with every string of |subs| in the message. */
void cf_expect_toml_error(const char *toml, int code, const char *const *subs)
{
    conn_config c;
    char err[ERRLEN];
    assert_int_equal(cf_load_toml(&c, toml, NULL, err), code);
    assert_has(err, cf_path("cfg.toml"));
    for (; *subs; subs++)
        assert_has(err, *subs);
    assert_null(c.address);
    cfg_free(&c);
}

const char *cf_meta(const conn_config *c, const char *key)
{
    for (size_t i = 0; i < c->nmeta; i++)
        if (!strcmp(c->meta[i].key, key))
            return c->meta[i].value;
    return NULL;
}
