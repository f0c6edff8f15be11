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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_glibc_is_dynamic)};
    return cmocka_run_group_tests_name("linkage", tests, NULL, NULL);
}
