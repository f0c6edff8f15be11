/*
 * Linkage of build/bootstrap: every third-party library is inside it, so `ldd` lists glibc's
 * own libraries and nothing else (a Lambda function has no libcurl, nghttp2 or mbedTLS).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                           "examples/libheartbeat.so",
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_glibc_is_dynamic),
                                       cmocka_unit_test(runs_on_glibc_2_26)};
    return cmocka_run_group_tests_name("linkage", tests, NULL, NULL);
}
