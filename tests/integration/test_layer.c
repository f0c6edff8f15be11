/*
 * What users deploy, run as Lambda runs it: each architecture's layer zip and hello function
 * zip (`make layer`: $LAYERS/layer-ARCH.zip, function-ARCH.zip) unpacked into a Debian bullseye
 * root of that architecture (glibc 2.31), and the hello example run end to end from there by
 * the local emulator against the real server. x86_64 runs chrooted (deps/oldroot.sh); arm64
 * runs chrooted under qemu user-mode emulation (deps/oldroot.sh arm64, its
 * /usr/bin/qemu-aarch64-static), so the cross-built bootstrap, its coroutines and an arm64
 * library built with the SDK's flags are exercised on an arm64 glibc.
 *
 * Each run unpacks into a fresh folder of the root's /tmp (opt/ for the layer, task/ for the
 * function), so runs sharing the cached roots do not meet.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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

static int group_setup(void **st)
{
    return tserver_start(&srv, 0, NULL, NULL);
}

static int group_teardown(void **st)
{
    tserver_stop(&srv, 0, 0);
    return 0;
}

/* One architecture: its zips, its root, how a program runs in there. */
typedef struct arch {
    const char *name;      /* "x86_64", "arm64": the zips' suffix */
    const char *root_env;  /* the variable naming its bullseye root */
    const char *libc;      /* glibc 2.31 in that root */
    int machine;           /* ELF e_machine of its programs */
    const char *emulator;  /* the program that runs them in the root ("": none) */
} arch;

static const arch X86_64 = {"x86_64", "OLDROOT", "lib/x86_64-linux-gnu/libc-2.31.so", 62, ""};
static const arch ARM64 = {"arm64", "ARM64_ROOT", "lib/aarch64-linux-gnu/libc-2.31.so", 183,
                           "/usr/bin/qemu-aarch64-static"};

/* What a run leaves behind, removed after each test (also when it failed half-way). */
static char unpacked[1024];
static char wrapper[64];

static int cleanup(void **st)
{
    char cmd[1200];
    if (unpacked[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unpacked);
        if (system(cmd) != 0)
            return -1;
    }
    if (wrapper[0])
        unlink(wrapper);
    unpacked[0] = wrapper[0] = '\0';
    return 0;
}

static void run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("`%s` failed (status %d)", cmd, rc);
}

/* e_machine of the ELF file |path| (-1: unreadable or not ELF). */
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

/* Unpacks |a|'s layer zip and |fa|'s function zip into a fresh folder of |a|'s root and starts
 * the emulator for |f| with a bootstrap that runs the layer's bootstrap in there (chrooted,
 * under |a|'s emulator), with the function's folder as LAMBDA_TASK_ROOT. */
static void deploy_zips(flow_fn *f, const arch *a, const arch *fa)
{
    const char *root = getenv(a->root_env);
    const char *layers = getenv("LAYERS");
    if (!root || !layers)
        fail_msg("%s or LAYERS is not set (make test sets them)", a->root_env);
    char path[1200], cmd[4096];
    snprintf(path, sizeof(path), "%s/%s", root, a->libc);
    assert_int_equal(access(path, R_OK), 0); /* it really is glibc 2.31 of that architecture */

    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tmp/tw-layer-XXXXXX", root);
    assert_non_null(mkdtemp(dir));
    snprintf(unpacked, sizeof(unpacked), "%s", dir);
    chmod(dir, 0755);
    const char *in_root = dir + strlen(root); /* the folder as the chrooted program sees it */
    snprintf(cmd, sizeof(cmd),
             "unzip -q '%s/layer-%s.zip' -d '%s/opt' && unzip -q '%s/function-%s.zip' -d '%s/task'",
             layers, a->name, dir, layers, fa->name, dir);
    run(cmd);
    snprintf(path, sizeof(path), "%s/opt/bootstrap", dir);
    assert_int_equal(elf_machine(path), a->machine);
    snprintf(path, sizeof(path), "%s/task/libhello.so", dir);
    assert_int_equal(elf_machine(path), fa->machine);

    snprintf(wrapper, sizeof(wrapper), "/tmp/tw-layer-run-XXXXXX");
    int fd = mkstemp(wrapper);
    assert_true(fd >= 0);
    dprintf(fd, "#!/bin/sh\nexec env LAMBDA_TASK_ROOT=%s/task _HANDLER=libhello.so "
                "/usr/sbin/chroot '%s' %s %s/opt/bootstrap\n", in_root, root, a->emulator, in_root);
    close(fd);
    chmod(wrapper, 0755);

    /* The function zip's temporal.toml names a Temporal Cloud namespace: the environment
     * overrides it, as on Lambda. Under qemu everything is slower: a roomy function timeout. */
    static const char *const env[] = {"TEMPORAL_NAMESPACE=default", NULL};
    flow_deploy(f, &srv, "tq");
    flow_run(f, &(flow_opts){.library = "examples/libhello.so", .timeout_s = 30, .env = env,
                             .bootstrap = wrapper});
}

/* |a|'s layer and function run hello: the workflow's result and the invocation's counts. */
static void hello_from_the_layer(const arch *a)
{
    flow_fn f;
    deploy_zips(&f, a, a);
    char id[64], input[64], want[64];
    flow_new_id(id, sizeof(id), a->name);
    snprintf(input, sizeof(input), "\"%s\"", a->name);
    snprintf(want, sizeof(want), "Hello, %s!", a->name);
    flow_start(&f, "Greet", id, input);
    cJSON *summary = flow_invoke(&f);
    cJSON *done = flow_await(&srv, id, "60s");
    assert_string_equal(flow_str(done, "status"), "COMPLETED");
    assert_string_equal(flow_str(done, "result"), want);
    assert_int_equal(flow_int(summary, "activities"), 1);
    assert_int_equal(flow_int(summary, "workflow_task_failures"), 0);
    cJSON_Delete(summary);
    cJSON_Delete(done);
    assert_int_equal(emu_stop(&f.emu), 0);
}

static void x86_64_layer_runs_hello(void **st)
{
    hello_from_the_layer(&X86_64);
}

static void arm64_layer_runs_hello_under_qemu(void **st)
{
    hello_from_the_layer(&ARM64);
}

/* A function zip of the wrong architecture: the arm64 runtime says what to rebuild (the README
 * and the SDK archive promise it) instead of a loader error. */
static void arm64_layer_refuses_an_x86_64_library(void **st)
{
    flow_fn f;
    deploy_zips(&f, &ARM64, &X86_64);
    char *error = NULL;
    char *body = flow_invoke_raw(&f, &error);
    if (!error || !strstr(body, "is built for x86_64; this runtime is arm64: rebuild it"))
        fail_msg("want an init error naming both architectures, got %s (%s)", body,
                 error ? error : "no function error");
    free(body);
    free(error);
    assert_int_equal(emu_stop(&f.emu), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(x86_64_layer_runs_hello, cleanup),
        cmocka_unit_test_teardown(arm64_layer_runs_hello_under_qemu, cleanup),
        cmocka_unit_test_teardown(arm64_layer_refuses_an_x86_64_library, cleanup),
    };
    return cmocka_run_group_tests_name("layer", tests, group_setup, group_teardown);
}
