/*
 * Unit tests of registry/: loading real shared objects built from tests/fixtures, and the
 * message a user gets for each way a library can be wrong.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/reg.h"
#include "tests/support/harness.h"

static char fixtures[512];

static int group_setup(void **st)
{
    snprintf(fixtures, sizeof(fixtures), "%s", harness_built("fixtures"));
    return 0;
}

static char *load_error(const char *handler)
{
    static char err[512];
    tw_registry *r = NULL;
    err[0] = '\0';
    if (reg_load(&r, handler, fixtures, NULL, err, sizeof(err)) == 0) {
        reg_free(r);
        return NULL;
    }
    assert_null(r);
    return err;
}

static void loads_and_registers(void **st)
{
    tw_registry *r;
    char err[512];
    assert_int_equal(reg_load(&r, "lib_good.so", fixtures, NULL, err, sizeof(err)), 0);
    assert_int_equal(reg_workflow_count(r), 2);
    assert_int_equal(reg_activity_count(r), 1);
    const reg_workflow *w = reg_find_workflow(r, "Beta");
    assert_non_null(w);
    assert_int_equal(w->versioning, TW_AUTO_UPGRADE);
    assert_int_equal(reg_find_workflow(r, "Alpha")->versioning, TW_PINNED);
    assert_non_null(reg_find_activity(r, "Gamma"));
    assert_null(reg_find_workflow(r, "Gamma"));
    char names[128];
    reg_workflow_names(r, names, sizeof(names));
    assert_string_equal(names, "Alpha, Beta");
    reg_activity_names(r, names, sizeof(names));
    assert_string_equal(names, "Gamma");
    assert_int_equal(reg_api(r)->abi_version, TW_ABI_VERSION);
    reg_free(r);
    reg_free(NULL);
}

static void absolute_handler(void **st)
{
    char path[600], err[512];
    snprintf(path, sizeof(path), "%s/lib_good.so", fixtures);
    char abs[4096];
    assert_non_null(realpath(path, abs));
    tw_registry *r;
    assert_int_equal(reg_load(&r, abs, "/nonexistent", NULL, err, sizeof(err)), 0);
    reg_free(r);
}

static void missing_file(void **st)
{
    char *e = load_error("libnope.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "_HANDLER"));
    assert_non_null(strstr(e, "libnope.so: No such file or directory"));
    assert_non_null(strstr(e, "LAMBDA_TASK_ROOT"));
    e = load_error("");
    assert_non_null(strstr(e, "_HANDLER is not set"));
}

static void not_a_shared_object(void **st)
{
    char *e = load_error("not_elf.so"); /* a text file */
    assert_non_null(e);
    assert_non_null(strstr(e, "not an ELF file"));
    e = load_error("an_executable");
    assert_non_null(e);
    assert_non_null(strstr(e, "is not a shared object"));
}

static void wrong_architecture(void **st)
{
    char *e = load_error("lib_arm64.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "built for arm64"));
    assert_non_null(strstr(e, "this runtime is x86_64"));
}

static void no_entry_point(void **st)
{
    char *e = load_error("lib_noentry.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "tw_library_init"));
    assert_non_null(strstr(e, "TW_LIBRARY"));
}

static void abi_mismatch(void **st)
{
    char *e = load_error("lib_newabi.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "ABI 99.3"));
    assert_non_null(strstr(e, "rebuild"));
}

static void registered_twice(void **st)
{
    char *e = load_error("lib_twice.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "workflow \"Dup\" is registered twice"));
}

static void nothing_registered(void **st)
{
    char *e = load_error("lib_empty.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "registered no workflows and no activities"));
}

static void versioning_required(void **st)
{
    char *e = load_error("lib_noversioning.so");
    assert_non_null(e);
    assert_non_null(strstr(e, "TW_PINNED or TW_AUTO_UPGRADE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_and_registers),
        cmocka_unit_test(absolute_handler),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(not_a_shared_object),
        cmocka_unit_test(wrong_architecture),
        cmocka_unit_test(no_entry_point),
        cmocka_unit_test(abi_mismatch),
        cmocka_unit_test(registered_twice),
        cmocka_unit_test(nothing_registered),
        cmocka_unit_test(versioning_required),
    };
    return cmocka_run_group_tests_name("registry", tests, group_setup, NULL);
}
