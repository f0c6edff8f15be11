/*
 * Linkage of build/bootstrap: every third-party library is inside it, so `ldd` lists glibc's
 * own libraries and nothing else (a Lambda function has no libcurl, nghttp2 or mbedTLS); and
 * a program linked the same way runs its constructors and destructors exactly once, on this
 * glibc and inside a Debian bullseye root (glibc 2.31, deps/oldroot.sh).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static const char *const GLIBC[] = {"linux-vdso.so", "libc.so.6", "ld-linux-x86-64.so.2",
                                    "ld-linux-aarch64.so.1", "libpthread.so.0", "libdl.so.2",
                                    "libm.so.6", "librt.so.1",
#ifdef __SANITIZE_ADDRESS__
                                    /* the sanitizer build's own runtime */
                                    "libasan.so", "libubsan.so", "libstdc++.so", "libgcc_s.so",
#endif
};

static void only_glibc_is_dynamic(void **st)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof(cmd), "ldd '%s' 2>&1", harness_built("bootstrap"));
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int libs = 0;
    while (fgets(line, sizeof(line), f)) {
        int ok = 0;
        for (size_t i = 0; i < sizeof(GLIBC) / sizeof(GLIBC[0]); i++)
            ok |= strstr(line, GLIBC[i]) != NULL;
        if (!ok)
            fail_msg("bootstrap needs a library that is not glibc's: %s", line);
        libs++;
    }
    assert_int_equal(pclose(f), 0);
    assert_true(libs >= 2);
}

/* The newest GLIBC_x.y symbol version |path| needs, as major*1000+minor (0: none). */
static int newest_glibc(const char *path)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof(cmd), "objdump -T '%s'", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int newest = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *v = strstr(line, "GLIBC_");
        int major, minor;
        if (v && sscanf(v, "GLIBC_%d.%d", &major, &minor) == 2 && major * 1000 + minor > newest)
            newest = major * 1000 + minor;
    }
    assert_int_equal(pclose(f), 0);
    return newest;
}

/* provided.al2 has glibc 2.26: nothing shipped may need a newer symbol version. */
static void runs_on_glibc_2_26(void **st)
{
    const char *files[] = {"examples/libhello.so", "examples/libtimers.so", "examples/libretry.so",
                           "examples/libheartbeat.so", "examples/libcart.so",
#ifndef __SANITIZE_ADDRESS__
                           "bootstrap", /* the sanitizer build links newer symbols by design */
#endif
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int v = newest_glibc(harness_built(files[i]));
        if (v > 2026)
            fail_msg("%s needs GLIBC_%d.%d; provided.al2 has 2.26", files[i], v / 1000, v % 1000);
    }
}

/* Runs |cmd| and compares all it printed with |want|. */
static void prints(const char *cmd, const char *want, const char *where)
{
    char out[512];
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    int rc = pclose(f);
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("%s: the probe printed \"%s\" (status %d), want \"%s\"", where, out, rc, want);
}

/* The shipped bootstrap is linked against glibc >= 2.34 and wraps __libc_start_main onto its
 * 2.2.5 version (runtime/glibc_compat.c). The probe is linked the same way, with a function in
 * each of .preinit_array, .init_array and .fini_array: each runs exactly once, here and on
 * glibc 2.31, where nothing ran the constructors before. */
static void constructors_run_once_on_new_and_old_glibc(void **st)
{
    const char *want = "preinit=1 init=1 args=1\nfini ran\n";
    char probe[600], cmd[2048];
    snprintf(probe, sizeof(probe), "%s", harness_built("fixtures/initfini-probe"));
    snprintf(cmd, sizeof(cmd), "'%s'", probe);
    prints(cmd, want, "this glibc");

    const char *root = getenv("OLDROOT");
    if (!root)
        fail_msg("OLDROOT is not set (make test sets it; see deps/oldroot.sh)");
    snprintf(cmd, sizeof(cmd), "%s/lib/x86_64-linux-gnu/libc-2.31.so", root);
    assert_int_equal(access(cmd, R_OK), 0); /* it really is glibc 2.31 in there */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/opt' && cp '%s' '%s/opt/initfini-probe'", root, probe,
             root);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "/usr/sbin/chroot '%s' /opt/initfini-probe", root);
    prints(cmd, want, "glibc 2.31");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_glibc_is_dynamic),
                                       cmocka_unit_test(runs_on_glibc_2_26),
                                       cmocka_unit_test(constructors_run_once_on_new_and_old_glibc)};
    return cmocka_run_group_tests_name("linkage", tests, NULL, NULL);
}
