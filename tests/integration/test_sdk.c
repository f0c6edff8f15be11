/*
 * The SDK archive as a user gets it (`make layer`: $LAYERS/temporal-lambda-c-sdk.tar.gz),
 * unpacked into a fresh folder, and its Makefile template (layer/sdk/Makefile) building
 * libraries the runtime loads:
 *
 *   - from a project folder of its own (`make -f SDK/Makefile`), hello's worker.c becomes
 *     build/x86_64/libworkflows.so and, when the arm64 cross compiler is there,
 *     build/arm64/libworkflows.so: ELF files of those machines needing nothing newer than
 *     GLIBC_2.26; the x86_64 one runs hello end to end (emulator, real server, Go driver);
 *   - from the SDK folder, the C++ example becomes build/x86_64/libcxx.so, which runs
 *     Summarize end to end, an exception thrown and caught in it included;
 *   - with the arm64 C++ cross compiler, the C++ example for arm64, run by the arm64 bootstrap
 *     under qemu in an arm64 bullseye root (glibc 2.31);
 *   - a library calling stat(), built on a glibc that binds it to GLIBC_2.33, is refused with
 *     the symbol named, and not left behind.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/flow.h"
#include "tests/support/harness.h"
#include "tests/support/tserver.h"

static tserver srv;
static char scratch[64];  /* the unpacked archive and a project folder */
static char deployed[64]; /* "sdk-<pid>": built libraries copied under $BUILD for flow_run */

static int run(const char *cmd, char *out, size_t n)
{
    char full[4096];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *f = popen(full, "r");
    if (!f)
        return -1;
    size_t got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    return pclose(f);
}

static void run_ok(const char *cmd)
{
    static char out[65536];
    int rc = run(cmd, out, sizeof(out));
    if (rc != 0)
        fail_msg("`%s` failed (status %d):\n%s", cmd, rc, out);
}

static int group_setup(void **st)
{
    const char *layers = getenv("LAYERS");
    if (!layers) {
        fprintf(stderr, "LAYERS is not set (make test sets it; `make layer` makes the archive)\n");
        return -1;
    }
    snprintf(scratch, sizeof(scratch), "/tmp/tw-sdk-XXXXXX");
    if (!mkdtemp(scratch))
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "tar -C '%s' -xzf '%s/temporal-lambda-c-sdk.tar.gz' && "
             "mkdir '%s/project' && cp '%s/temporal-lambda-c-sdk/examples/hello/worker.c' "
             "'%s/project/'", scratch, layers, scratch, scratch, scratch);
    if (system(cmd) != 0)
        return -1;
    snprintf(deployed, sizeof(deployed), "sdk-%d", (int)getpid());
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", scratch, harness_built(deployed));
    return system(cmd) == 0 ? 0 : -1;
}

/* e_machine of ELF file |path| (-1: not one). */
static int elf_machine(const char *path)
{
    unsigned char h[20];
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(h, 1, sizeof(h), f);
    fclose(f);
    if (n != sizeof(h) || memcmp(h, "\177ELF", 4) != 0)
        return -1;
    return h[18] | h[19] << 8;
}

/* Fails unless |path| needs glibc symbols, none newer than 2.26. */
static void at_most_glibc_2_26(const char *path)
{
    char cmd[1200], out[65536];
    snprintf(cmd, sizeof(cmd), "readelf --dyn-syms --wide '%s'", path);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    int newest = 0;
    for (const char *v = strstr(out, "GLIBC_"); v; v = strstr(v + 1, "GLIBC_")) {
        int major, minor;
        if (sscanf(v, "GLIBC_%d.%d", &major, &minor) == 2 && major * 1000 + minor > newest)
            newest = major * 1000 + minor;
    }
    if (newest == 0 || newest > 2026)
        fail_msg("%s needs GLIBC_%d.%d", path, newest / 1000, newest % 1000);
}

/* Copies |built| under $BUILD/<deployed>/ as |name|; the path flow_run takes, in |lib|. */
static void deploy_lib(const char *built, const char *name, char *lib, size_t n)
{
    char cmd[2048], folder[600];
    snprintf(lib, n, "%s/%s", deployed, name);
    snprintf(folder, sizeof(folder), "%s", harness_built(deployed)); /* a static buffer */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s' '%s'", folder, built, harness_built(lib));
    run_ok(cmd);
}

static void builds_hello_from_a_project_folder(void **st)
{
    char cmd[1200], path[600], lib[200];
    snprintf(cmd, sizeof(cmd), "cd '%s/project' && make -f ../temporal-lambda-c-sdk/Makefile",
             scratch);
    run_ok(cmd);
    snprintf(path, sizeof(path), "%s/project/build/x86_64/libworkflows.so", scratch);
    assert_int_equal(elf_machine(path), 62);
    at_most_glibc_2_26(path);
    if (system("command -v aarch64-linux-gnu-gcc >/dev/null") == 0) {
        char arm[600];
        snprintf(arm, sizeof(arm), "%s/project/build/arm64/libworkflows.so", scratch);
        assert_int_equal(elf_machine(arm), 183);
        at_most_glibc_2_26(arm);
    } else {
        print_message("no aarch64-linux-gnu-gcc: the arm64 library is not checked\n");
    }

    deploy_lib(path, "libworkflows.so", lib, sizeof(lib));
    flow_fn f;
    flow_deploy(&f, &srv, "sdk");
    flow_run(&f, &(flow_opts){.library = lib, .timeout_s = 30});
    char id[64];
    flow_new_id(id, sizeof(id), "sdk-hello");
    flow_start(&f, "Greet", id, "\"SDK\"");
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_str(done, "result"), "Hello, SDK!");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void builds_the_cxx_example(void **st)
{
    char cmd[1200], path[600], lib[200];
    snprintf(cmd, sizeof(cmd), "cd '%s/temporal-lambda-c-sdk' && "
             "make SRC=examples/cxx/worker.cpp NAME=cxx ARCHS=x86_64", scratch);
    run_ok(cmd);
    snprintf(path, sizeof(path), "%s/temporal-lambda-c-sdk/build/x86_64/libcxx.so", scratch);
    assert_int_equal(elf_machine(path), 62);
    at_most_glibc_2_26(path);

    deploy_lib(path, "libcxx.so", lib, sizeof(lib));
    flow_fn f;
    flow_deploy(&f, &srv, "sdkcxx");
    flow_run(&f, &(flow_opts){.library = lib, .timeout_s = 30});
    char id[64];
    flow_new_id(id, sizeof(id), "sdk-cxx");
    flow_start(&f, "Summarize", id, "[\"one two\", \"three\"]");
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_member_json(done, "result"), "{\"lines\":2,\"words\":3,\"longest\":1}");
    cJSON_Delete(done);
    flow_new_id(id, sizeof(id), "sdk-cxx");
    flow_start(&f, "Summarize", id, "[\"\"]");
    flow_invoke_until_closed(&f, id, 3);
    done = flow_await(&srv, id, "30s");
    assert_string_equal(flow_str(done, "status"), "FAILED");
    assert_non_null(strstr(flow_member_json(done, "failure"), "EmptyLine"));
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void refuses_a_symbol_newer_than_2_26(void **st)
{
    int major = 0, minor = 0;
    sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
    if (major * 1000 + minor < 2033) {
        print_message("glibc %s binds stat to an old version: nothing to refuse\n",
                      gnu_get_libc_version());
        return;
    }
    char cmd[1200], out[8192], path[600];
    snprintf(path, sizeof(path), "%s/project/sizes.c", scratch);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#include <sys/stat.h>\n#include \"tw.h\"\n"
          "long size_of(const char *p);\n"
          "long size_of(const char *p) { struct stat s; return stat(p, &s) ? -1 : s.st_size; }\n"
          "static int setup(tw_registry *r) { (void)r; return 0; }\nTW_LIBRARY(setup)\n", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cd '%s/project' && make -f ../temporal-lambda-c-sdk/Makefile "
             "SRC=sizes.c NAME=sizes ARCHS=x86_64", scratch);
    int rc = run(cmd, out, sizeof(out));
    if (rc == 0 || !strstr(out, "libsizes.so needs what glibc 2.26 (provided.al2) lacks: "
                                "stat@GLIBC_2.33"))
        fail_msg("want the library refused naming stat@GLIBC_2.33; make said (status %d):\n%s",
                 rc, out);
    snprintf(path, sizeof(path), "%s/project/build/x86_64/libsizes.so", scratch);
    assert_int_equal(access(path, F_OK), -1); /* not left behind */
    /* For provided.al2023 alone, 2.34 is enough. */
    snprintf(cmd, sizeof(cmd), "cd '%s/project' && make -f ../temporal-lambda-c-sdk/Makefile "
             "SRC=sizes.c NAME=sizes ARCHS=x86_64 MAX_GLIBC=2.34", scratch);
    run_ok(cmd);
    assert_int_equal(access(path, F_OK), 0);
}

/* ---- arm64 ---- */

static char unpacked[1024]; /* a folder in the arm64 root, removed after the test */
static char wrapper[64];

static int remove_unpacked(void **st)
{
    char cmd[1200];
    int rc = 0;
    if (unpacked[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unpacked);
        rc = system(cmd) == 0 ? 0 : -1;
    }
    if (wrapper[0])
        unlink(wrapper);
    unpacked[0] = wrapper[0] = '\0';
    return rc;
}

/* With the arm64 C++ cross compiler installed, the template builds the C++ example for arm64
 * too: the arm64 bootstrap ($ARM64_BUILD) runs it under qemu in the arm64 bullseye root
 * ($ARM64_ROOT, glibc 2.31), an exception thrown and caught in it included (the unwinder finds
 * its tables through cxx_compat.c there too). */
static void builds_the_cxx_example_for_arm64(void **st)
{
    if (system("command -v aarch64-linux-gnu-g++ >/dev/null") != 0) {
        print_message("no aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu): arm64 C++ not checked\n");
        return;
    }
    const char *root = getenv("ARM64_ROOT"), *arm64 = getenv("ARM64_BUILD");
    if (!root || !arm64)
        fail_msg("ARM64_ROOT or ARM64_BUILD is not set (make test sets them)");
    char cmd[8192], path[600], lib[200], dir[1024];
    snprintf(cmd, sizeof(cmd), "cd '%s/temporal-lambda-c-sdk' && "
             "make SRC=examples/cxx/worker.cpp NAME=cxx ARCHS=arm64", scratch);
    run_ok(cmd);
    snprintf(path, sizeof(path), "%s/temporal-lambda-c-sdk/build/arm64/libcxx.so", scratch);
    assert_int_equal(elf_machine(path), 183);
    at_most_glibc_2_26(path);
    deploy_lib(path, "libcxx-arm64.so", lib, sizeof(lib));

    snprintf(dir, sizeof(dir), "%s/tmp/tw-sdk-XXXXXX", root);
    assert_non_null(mkdtemp(dir));
    snprintf(unpacked, sizeof(unpacked), "%s", dir);
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/opt' '%s/task' && cp '%s/bootstrap' '%s/opt/' && "
             "cp '%s' '%s/task/libcxx.so'", dir, dir, arm64, dir, path, dir);
    run_ok(cmd);
    snprintf(wrapper, sizeof(wrapper), "/tmp/tw-sdk-run-XXXXXX");
    int fd = mkstemp(wrapper);
    assert_true(fd >= 0);
    const char *in_root = dir + strlen(root);
    dprintf(fd, "#!/bin/sh\nexec env LAMBDA_TASK_ROOT=%s/task _HANDLER=libcxx.so /usr/sbin/chroot "
                "'%s' /usr/bin/qemu-aarch64-static %s/opt/bootstrap\n", in_root, root, in_root);
    close(fd);
    chmod(wrapper, 0755);

    flow_fn f;
    flow_deploy(&f, &srv, "sdkarm");
    flow_run(&f, &(flow_opts){.library = lib, .timeout_s = 60, .bootstrap = wrapper});
    char id[64];
    flow_new_id(id, sizeof(id), "sdk-arm64");
    flow_start(&f, "Summarize", id, "[\"a b\", \"\"]");
    flow_invoke_until_closed(&f, id, 3);
    cJSON *done = flow_await(&srv, id, "60s");
    assert_string_equal(flow_str(done, "status"), "FAILED");
    assert_non_null(strstr(flow_member_json(done, "failure"), "EmptyLine"));
    cJSON_Delete(done);
    flow_new_id(id, sizeof(id), "sdk-arm64");
    flow_start(&f, "Summarize", id, "[\"a b\", \"c\"]");
    flow_invoke_until_closed(&f, id, 3);
    done = flow_await(&srv, id, "60s");
    assert_string_equal(flow_member_json(done, "result"), "{\"lines\":2,\"words\":3,\"longest\":1}");
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_hello_from_a_project_folder),
        cmocka_unit_test(builds_the_cxx_example),
        cmocka_unit_test_teardown(builds_the_cxx_example_for_arm64, remove_unpacked),
        cmocka_unit_test(refuses_a_symbol_newer_than_2_26),
    };
    return cmocka_run_group_tests_name("sdk", tests, group_setup, group_teardown);
}
