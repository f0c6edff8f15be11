/*
 * C++ users: include/tw.h compiles cleanly as C++ (g++ -std=c++11/17/20, and clang++ with its
 * C-cast and null-pointer warnings when it is there) and as strict C (-std=c99/c11/c17
 * -pedantic), always -Wall -Wextra -Werror; a library entry point defined in C++ exports the
 * same two unmangled names as in C; every struct has the same layout in C and in C++
 * (tests/fixtures/tw_layout_probe.c compiled both ways prints the same); and the C++ example
 * ($BUILD/examples/libcxx.so) carries its C++ runtime inside: it needs no libstdc++ or libgcc_s,
 * no GLIBCXX/CXXABI symbol version, no glibc symbol newer than 2.26 (provided.al2), and
 * exports nothing but the entry point and the ABI stamp.
 *
 * The compilers run here, on the sources in the tree (the test runs from the tree's root, as
 * `make test` runs it).
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

/* A scratch folder for one test, removed by the teardown. */
static char scratch[64];

static int make_scratch(void **st)
{
    snprintf(scratch, sizeof(scratch), "/tmp/tw-cxx-XXXXXX");
    return mkdtemp(scratch) ? 0 : -1;
}

static int remove_scratch(void **st)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs |cmd| (stderr with stdout): its status, and what it printed in |out|. */
static int run(const char *cmd, char *out, size_t n)
{
    char full[4096];
    snprintf(full, sizeof(full), "%s 2>&1", cmd);
    FILE *f = popen(full, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, n - 1, f);
    out[got] = '\0';
    return pclose(f);
}

static int have(const char *program)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", program);
    return system(cmd) == 0;
}

/* A translation unit using the header as a library does: the entry point, a workflow and an
 * activity calling through the table, the payload helpers. */
static const char USER_CODE[] =
    "#include \"tw.h\"\n"
    "static int act(tw_act *a, const tw_payload *args, size_t nargs, tw_payload *result)\n"
    "{\n"
    "    (void)args; (void)nargs;\n"
    "    tw_failure f = {};\n"
    "    f.type = \"T\";\n"
    "    if (tw_act_cancelled(a))\n"
    "        return tw_act_fail(a, &f);\n"
    "    *result = tw_binary(\"ab\", 2);\n"
    "    return 0;\n"
    "}\n"
    "static int wf(tw_wf *w, const tw_payload *args, size_t nargs, tw_payload *result)\n"
    "{\n"
    "    tw_activity_options o = {};\n"
    "    o.start_to_close_ms = 1000;\n"
    "    tw_payload in = nargs ? args[0] : tw_json(\"1\");\n"
    "    int rc = tw_execute_activity(w, \"A\", &o, &in, 1, result);\n"
    "    if (rc == 0 && result->len == 0)\n"
    "        *result = tw_null();\n"
    "    return rc;\n"
    "}\n"
    "static int setup(tw_registry *r)\n"
    "{\n"
    "    int rc = tw_register_workflow(r, \"W\", wf, TW_PINNED);\n"
    "    return rc ? rc : tw_register_activity(r, \"A\", act);\n"
    "}\n"
    "TW_LIBRARY(setup)\n";

/* Compiles USER_CODE as |lang| ("c++") with |cc| and |flags| into a shared object in the
 * scratch folder; fails the test with the compiler's words when it says anything. */
static void compiles_cleanly(const char *cc, const char *lang, const char *flags, const char *so)
{
    char src[128], cmd[2048], out[8192];
    snprintf(src, sizeof(src), "%s/user.%s", scratch, strcmp(lang, "c") == 0 ? "c" : "cpp");
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs(USER_CODE, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s -x %s %s -Wall -Wextra -Werror -O2 -fPIC -shared "
             "-fvisibility=hidden -Iinclude -o '%s/%s' '%s'", cc, lang, flags, scratch, so, src);
    int rc = run(cmd, out, sizeof(out));
    if (rc != 0 || out[0])
        fail_msg("`%s` (status %d):\n%s", cmd, rc, out);
}

/* The defined dynamic symbols |so| (in the scratch folder, or a path) exports, space-separated,
 * sorted, into |out|. */
static void exports(const char *so, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "readelf --dyn-syms --wide '%s' | awk '$5==\"GLOBAL\" && "
             "$7!=\"UND\" {print $8}' | sort | tr '\\n' ' '", so);
    assert_int_equal(run(cmd, out, n), 0);
}

static void header_compiles_as_cxx(void **st)
{
    static const char *const std[] = {"-std=c++11", "-std=c++17", "-std=c++20"};
    char so[64], path[256], syms[1024];
    for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
        snprintf(so, sizeof(so), "g++%zu.so", i);
        char flags[128];
        snprintf(flags, sizeof(flags), "%s -pedantic", std[i]);
        compiles_cleanly("g++", "c++", flags, so);
        /* The entry point and the stamp, unmangled, and nothing else. */
        snprintf(path, sizeof(path), "%s/%s", scratch, so);
        exports(path, syms, sizeof(syms));
        assert_string_equal(syms, "tw_library_abi tw_library_init ");
    }
    /* clang warns about C casts and 0 as a null pointer where g++ keeps quiet in extern "C". */
    if (have("clang++"))
        compiles_cleanly("clang++", "c++", "-std=c++17 -pedantic -Wold-style-cast "
                         "-Wzero-as-null-pointer-constant", "clang.so");
    else
        print_message("clang++ is not installed: only g++ checked\n");
}

static void header_compiles_as_strict_c(void **st)
{
    /* USER_CODE's `= {}` is not C before C23: the C builds spell it {0}. */
    char src[128];
    static const char *const std[] = {"-std=c99", "-std=c11", "-std=c17"};
    for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
        char flags[128], so[32], cmd[2048], out[8192];
        snprintf(flags, sizeof(flags), "%s -pedantic", std[i]);
        snprintf(so, sizeof(so), "gcc%zu.so", i);
        snprintf(src, sizeof(src), "%s/user.c", scratch);
        FILE *f = fopen(src, "w");
        assert_non_null(f);
        for (const char *p = USER_CODE; *p; p++) {
            if (strncmp(p, "= {};", 5) == 0) {
                fputs("= {0};", f);
                p += 4;
            } else {
                fputc(*p, f);
            }
        }
        fclose(f);
        snprintf(cmd, sizeof(cmd), "gcc -x c %s -Wall -Wextra -Werror -O2 -fPIC -shared "
                 "-fvisibility=hidden -Iinclude -o '%s/%s' '%s'", flags, scratch, so, src);
        int rc = run(cmd, out, sizeof(out));
        if (rc != 0 || out[0])
            fail_msg("`%s` (status %d):\n%s", cmd, rc, out);
        char path[256], syms[1024];
        snprintf(path, sizeof(path), "%s/%s", scratch, so);
        exports(path, syms, sizeof(syms));
        assert_string_equal(syms, "tw_library_abi tw_library_init ");
    }
}

static void same_layout_in_c_and_cxx(void **st)
{
    char cmd[1024], c_out[16384], cxx_out[16384];
    snprintf(cmd, sizeof(cmd), "gcc -std=c11 -Wall -Wextra -Werror -Iinclude -o '%s/probe-c' "
             "tests/fixtures/tw_layout_probe.c && '%s/probe-c'", scratch, scratch);
    if (run(cmd, c_out, sizeof(c_out)) != 0)
        fail_msg("the C probe: %s", c_out);
    snprintf(cmd, sizeof(cmd), "g++ -std=c++17 -x c++ -Wall -Wextra -Werror -Iinclude "
             "-o '%s/probe-cxx' tests/fixtures/tw_layout_probe.c && '%s/probe-cxx'", scratch,
             scratch);
    if (run(cmd, cxx_out, sizeof(cxx_out)) != 0)
        fail_msg("the C++ probe: %s", cxx_out);
    assert_non_null(strstr(c_out, "tw_api size="));
    assert_non_null(strstr(c_out, "helpers json/plain/3 binary/plain/2 binary/null/0/1"));
    assert_string_equal(c_out, cxx_out);
}

static void the_cxx_example_carries_its_runtime(void **st)
{
    char lib[600], cmd[1024], out[65536];
    snprintf(lib, sizeof(lib), "%s", harness_built("examples/libcxx.so"));
    snprintf(cmd, sizeof(cmd), "readelf --dynamic --dyn-syms --wide '%s'", lib);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    int needed = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "(NEEDED)")) {
            needed++;
            if (!strstr(line, "[libc.so.6]") && !strstr(line, "[libpthread.so.0]") &&
                !strstr(line, "[ld-linux-x86-64.so.2]") && !strstr(line, "[libm.so.6]") &&
                !strstr(line, "[ld-linux-aarch64.so.1]"))
                fail_msg("libcxx.so needs a library that is not glibc's: %s", line);
        }
        if (strstr(line, "GLIBCXX_") || strstr(line, "CXXABI_"))
            fail_msg("libcxx.so needs the system's libstdc++: %s", line);
        const char *v = strstr(line, "GLIBC_");
        int major, minor;
        if (v && sscanf(v, "GLIBC_%d.%d", &major, &minor) == 2 && major * 1000 + minor > 2026)
            fail_msg("libcxx.so needs GLIBC_%d.%d (provided.al2 has 2.26): %s", major, minor,
                     line);
    }
    assert_true(needed >= 1);
    char syms[1024];
    exports(lib, syms, sizeof(syms));
    assert_string_equal(syms, "tw_library_abi tw_library_init ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(header_compiles_as_cxx, make_scratch, remove_scratch),
        cmocka_unit_test_setup_teardown(header_compiles_as_strict_c, make_scratch, remove_scratch),
        cmocka_unit_test_setup_teardown(same_layout_in_c_and_cxx, make_scratch, remove_scratch),
        cmocka_unit_test(the_cxx_example_carries_its_runtime),
    };
    return cmocka_run_group_tests_name("cxx", tests, NULL, NULL);
}
