/*
 * Linkage of build/bootstrap: every third-party library is inside it, so `ldd` lists glibc's
 * own libraries and nothing else (a Lambda function has no libcurl, nghttp2 or mbedTLS); and
 * a program linked the same way runs its constructors and destructors exactly once, on this
 * glibc and inside a Debian bullseye root (glibc 2.31, deps/oldroot.sh).
 *
 * The same for the arm64 build ($ARM64_BUILD, cross-built by `make ARCH=arm64`): its NEEDED
 * entries are glibc's, nothing it ships needs more than GLIBC_2.26 (arm64's glibc starts at
 * 2.17), and the probe runs under qemu user-mode emulation on the cross toolchain's glibc and
 * inside an arm64 bullseye root (deps/oldroot.sh arm64).
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

/* The newest GLIBC_x.y symbol version |path| needs, as major*1000+minor (0: none). readelf
 * reads either architecture's programs. */
static int newest_glibc(const char *path)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof(cmd), "readelf --dyn-syms --wide '%s'", path);
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

/* Fails unless |path| needs glibc symbols, none newer than 2.26. */
static void at_most_glibc_2_26(const char *path)
{
    int v = newest_glibc(path);
    if (v == 0)
        fail_msg("%s: no GLIBC symbol version read", path);
    if (v > 2026)
        fail_msg("%s needs GLIBC_%d.%d; provided.al2 has 2.26", path, v / 1000, v % 1000);
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
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        at_most_glibc_2_26(harness_built(files[i]));
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

/* ---- the arm64 build ---- */

/* |name| in the arm64 build folder ($ARM64_BUILD), in a static buffer. */
static const char *arm64_built(const char *name)
{
    static char path[600];
    const char *b = getenv("ARM64_BUILD");
    if (!b)
        fail_msg("ARM64_BUILD is not set (make test sets it; see the Makefile's arm64 part)");
    snprintf(path, sizeof(path), "%s/%s", b, name);
    return path;
}

/* Fails unless |path| is an arm64 (EM_AARCH64) ELF file: an x86_64 build in the arm64 folder
 * would pass every check below. */
static void is_arm64(const char *path)
{
    unsigned char h[20] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("no %s", path);
    size_t n = fread(h, 1, sizeof(h), f);
    fclose(f);
    if (n != sizeof(h) || memcmp(h, "\177ELF", 4) != 0 || (h[18] | h[19] << 8) != 183)
        fail_msg("%s is not an arm64 ELF file", path);
}

/* ldd cannot run an arm64 program here: its NEEDED entries and its interpreter instead
 * (glibc's libraries need nothing but each other). */
static void arm64_only_glibc_is_dynamic(void **st)
{
    char path[600], cmd[700], line[512];
    snprintf(path, sizeof(path), "%s", arm64_built("bootstrap"));
    is_arm64(path);
    snprintf(cmd, sizeof(cmd), "readelf --dynamic --program-headers --wide '%s'", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int libs = 0, interp = 0;
    while (fgets(line, sizeof(line), f)) {
        interp |= strstr(line, "[Requesting program interpreter: /lib/ld-linux-aarch64.so.1]") != NULL;
        if (!strstr(line, "(NEEDED)"))
            continue;
        int ok = 0;
        for (size_t i = 0; i < sizeof(GLIBC) / sizeof(GLIBC[0]); i++)
            ok |= strstr(line, GLIBC[i]) != NULL;
        if (!ok)
            fail_msg("the arm64 bootstrap needs a library that is not glibc's: %s", line);
        libs++;
    }
    assert_int_equal(pclose(f), 0);
    assert_true(libs >= 1);
    assert_true(interp);
}

static void arm64_runs_on_glibc_2_26(void **st)
{
    const char *files[] = {"bootstrap", "examples/libhello.so", "examples/libtimers.so",
                           "examples/libretry.so", "examples/libheartbeat.so", "examples/libcart.so"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s", arm64_built(files[i]));
        is_arm64(path);
        at_most_glibc_2_26(path);
    }
}

/* The arm64 probe, linked as the arm64 bootstrap is, under qemu: on the cross toolchain's
 * glibc (2.34 or newer: its crt1.o passes no init) and on bullseye's 2.31, where nothing ran
 * the constructors before. */
static void arm64_constructors_run_once_on_new_and_old_glibc(void **st)
{
    const char *want = "preinit=1 init=1 args=1\nfini ran\n";
    const char *cross = "/usr/aarch64-linux-gnu";
    char probe[600], cmd[2048], dir[1024];
    snprintf(probe, sizeof(probe), "%s", arm64_built("fixtures/initfini-probe"));
    is_arm64(probe);
    snprintf(cmd, sizeof(cmd), "ls %s/lib/libc.so.6 >/dev/null && "
             "qemu-aarch64-static -L %s '%s'", cross, cross, probe);
    prints(cmd, want, "the cross toolchain's glibc");

    const char *root = getenv("ARM64_ROOT");
    if (!root)
        fail_msg("ARM64_ROOT is not set (make test sets it; see deps/oldroot.sh)");
    snprintf(cmd, sizeof(cmd), "%s/lib/aarch64-linux-gnu/libc-2.31.so", root);
    assert_int_equal(access(cmd, R_OK), 0);
    /* A folder of its own in the shared root's /tmp. */
    snprintf(dir, sizeof(dir), "%s/tmp/tw-probe-XXXXXX", root);
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/initfini-probe'", probe, dir);
    int copied = system(cmd);
    snprintf(cmd, sizeof(cmd), "/usr/sbin/chroot '%s' /usr/bin/qemu-aarch64-static %s/initfini-probe",
             root, dir + strlen(root));
    char out[512] = "";
    FILE *f = copied == 0 ? popen(cmd, "r") : NULL;
    size_t n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
    out[n] = '\0';
    int rc = f ? pclose(f) : -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("arm64 glibc 2.31: the probe printed \"%s\" (status %d), want \"%s\"", out, rc,
                 want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(only_glibc_is_dynamic),
                                       cmocka_unit_test(runs_on_glibc_2_26),
                                       cmocka_unit_test(constructors_run_once_on_new_and_old_glibc),
                                       cmocka_unit_test(arm64_only_glibc_is_dynamic),
                                       cmocka_unit_test(arm64_runs_on_glibc_2_26),
                                       cmocka_unit_test(arm64_constructors_run_once_on_new_and_old_glibc)};
    return cmocka_run_group_tests_name("linkage", tests, NULL, NULL);
}
