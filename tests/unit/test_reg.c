/*
 * Unit tests of registry/: loading real shared objects built from tests/fixtures, the message
 * a user gets for each way a library can be wrong, the default versioning behaviour, the
 * check TW_LIBRARY's entry point makes of the table it is given, and that table (api.h); the
 * dynamic registrations and the run of the stop hooks (ABI 1.2).
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
#include "temporal/clock.h"
#include "temporal/worker/api.h"
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
    if (reg_load(&r, handler, fixtures, api_table(), err, sizeof(err)) == 0) {
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
    assert_int_equal(reg_load(&r, "lib_good.so", fixtures, api_table(), err, sizeof(err)), 0);
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
    assert_ptr_equal(reg_api(r), api_table());
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
    assert_int_equal(reg_load(&r, abs, "/nonexistent", api_table(), err, sizeof(err)), 0);
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

/* A library built against a newer minor version calls slots past the end of this runtime's
 * table: it is refused before its entry runs, naming both versions. */
static void newer_minor_abi_refused(void **st)
{
    char want[64], ours[64];
    snprintf(want, sizeof(want), "ABI %d.%d", TW_ABI_MAJOR, TW_ABI_MINOR + 1);
    snprintf(ours, sizeof(ours), "%d.%d", TW_ABI_MAJOR, TW_ABI_MINOR);
    char *e = load_error("lib_newminor.so");
    if (!e)
        fail_msg("a library built against tw.h %s was loaded by a %s runtime", want, ours);
    assert_non_null(strstr(e, want));
    assert_non_null(strstr(e, ours));
    assert_non_null(strstr(e, "newer than this runtime"));
}

/* TW_LIBRARY's entry as a library defines it (here, in this program): it refuses a table
 * shorter than the tw.h it was built with, without calling setup. */
static int setups;
static int count_setup(tw_registry *r)
{
    setups++;
    return 0;
}
TW_LIBRARY(count_setup)

static void entry_refuses_a_shorter_table(void **st)
{
    tw_api api = {.abi_version = TW_ABI_VERSION, .size = offsetof(tw_api, act_fail)};
    assert_int_equal(tw_library_init(&api, NULL), TW_EINVAL); /* one slot short */
    assert_int_equal(setups, 0);
    api.abi_version = (TW_ABI_MAJOR + 1) << 16;
    api.size = sizeof(tw_api);
    assert_int_equal(tw_library_init(&api, NULL), TW_EINVAL); /* another major version */
    assert_int_equal(tw_library_init(NULL, NULL), TW_EINVAL);
    assert_int_equal(setups, 0);
    api.abi_version = TW_ABI_VERSION;
    assert_int_equal(tw_library_init(&api, NULL), 0);
    assert_int_equal(setups, 1);
    assert_ptr_equal(tw__api, &api);
    tw__api = NULL;
}

/* Every entry a library can call is filled (a new tw.h entry missing from api.c fails here),
 * and the registry refuses to load without a table. */
static void the_table_is_complete(void **st)
{
    const tw_api *api = api_table();
    assert_ptr_equal(api, api_table());
    assert_int_equal(api->abi_version, TW_ABI_VERSION);
    assert_int_equal(api->size, sizeof(tw_api));
    typedef void (*slot_fn)(void);
    size_t first = offsetof(tw_api, register_workflow);
    assert_int_equal((sizeof(tw_api) - first) % sizeof(slot_fn), 0);
    for (size_t off = first; off < sizeof(tw_api); off += sizeof(slot_fn)) {
        slot_fn f;
        memcpy(&f, (const char *)api + off, sizeof(f));
        if (!f)
            fail_msg("tw_api slot at offset %zu is not filled", off);
    }
    tw_registry *r = (tw_registry *)1;
    char err[512];
    assert_int_equal(reg_load(&r, "lib_good.so", fixtures, NULL, err, sizeof(err)), REG_EINVAL);
    assert_null(r);
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
    assert_non_null(strstr(e, "workflow \"Loose\""));
    assert_non_null(strstr(e, "TW_PINNED or TW_AUTO_UPGRADE"));
    assert_non_null(strstr(e, "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR"));
}

/* TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR: a workflow registered with 0 takes the default; one
 * registered with a behaviour keeps its own. */
static void default_versioning_applies(void **st)
{
    static const tw_versioning defaults[] = {TW_PINNED, TW_AUTO_UPGRADE};
    char err[512];
    for (size_t i = 0; i < 2; i++) {
        tw_registry *r = NULL;
        err[0] = '\0';
        if (reg_load_with_default(&r, "lib_noversioning.so", fixtures, api_table(), defaults[i],
                                  err, sizeof(err)) != 0)
            fail_msg("default %d: %s", (int)defaults[i], err);
        assert_int_equal(reg_find_workflow(r, "Loose")->versioning, defaults[i]);
        reg_free(r);
    }
    tw_registry *r = NULL;
    assert_int_equal(reg_load_with_default(&r, "lib_good.so", fixtures, api_table(), TW_PINNED, err,
                                           sizeof(err)), 0);
    assert_int_equal(reg_find_workflow(r, "Beta")->versioning, TW_AUTO_UPGRADE);
    assert_int_equal(reg_find_workflow(r, "Alpha")->versioning, TW_PINNED);
    reg_free(r);
    /* No default: the same refusal as reg_load(). */
    assert_int_equal(reg_load_with_default(&r, "lib_noversioning.so", fixtures, api_table(), 0, err,
                                           sizeof(err)), REG_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, "TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR"));
}

/* ---- dynamic workflows and activities, stop hooks (ABI 1.2; tests/fixtures/lib_misc.c) ---- */

/* Loads lib_misc.so with MISC_MISTAKE=|mistake| (NULL: none); NULL with |err| on refusal. */
static tw_registry *load_misc(const char *mistake, char *err, size_t errlen)
{
    tw_registry *r = NULL;
    if (mistake)
        setenv("MISC_MISTAKE", mistake, 1);
    int rc = reg_load(&r, "lib_misc.so", fixtures, api_table(), err, errlen);
    unsetenv("MISC_MISTAKE");
    assert_true(rc == 0 ? r != NULL : r == NULL);
    return r;
}

/* A registered type wins; any other goes to the dynamic registration; without one, nothing. */
static void dynamic_registrations_take_the_rest(void **st)
{
    char err[512];
    tw_registry *r = load_misc(NULL, err, sizeof(err));
    if (!r)
        fail_msg("%s", err);
    const reg_workflow *w = reg_lookup_workflow(r, "Registered");
    assert_non_null(w);
    assert_string_equal(w->name, "Registered");
    w = reg_lookup_workflow(r, "NoSuchType");
    assert_non_null(w);
    assert_null(w->name);
    assert_int_equal(w->versioning, TW_PINNED);
    assert_ptr_equal(reg_lookup_workflow(r, "Other"), w);
    assert_null(reg_find_workflow(r, "NoSuchType")); /* the exact lookup stays exact */
    assert_string_equal(reg_lookup_activity(r, "Named")->name, "Named");
    assert_null(reg_lookup_activity(r, "Shout")->name);
    assert_int_equal(reg_workflow_count(r), 3); /* the dynamic one is not a name */
    assert_int_equal(reg_stop_hook_count(r), 2);
    reg_free(r);
    assert_int_equal(reg_load(&r, "lib_good.so", fixtures, api_table(), err, sizeof(err)), 0);
    assert_null(reg_lookup_workflow(r, "NoSuchType"));
    assert_null(reg_lookup_activity(r, "NoSuchType"));
    assert_non_null(reg_lookup_activity(r, "Gamma"));
    reg_free(r);
    /* A library with nothing but the dynamic pair has registered something. */
    r = load_misc("only_dynamic", err, sizeof(err));
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(reg_lookup_workflow(r, "X")->versioning, TW_AUTO_UPGRADE);
    assert_non_null(reg_lookup_activity(r, "Y"));
    reg_free(r);
}

/* Each mistake refuses the library with a message saying which. */
static void dynamic_and_hook_mistakes(void **st)
{
    static const struct {
        const char *mistake, *says;
    } cases[] = {
        {"wf_twice", "a dynamic workflow is registered twice"},
        {"act_twice", "a dynamic activity is registered twice"},
        {"wf_noversioning", "the dynamic workflow is registered without a versioning behaviour"},
        {"hook_nofn", "a stop hook was registered without a function"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        assert_null(load_misc(cases[i].mistake, err, sizeof(err)));
        if (!strstr(err, cases[i].says))
            fail_msg("%s: %s", cases[i].mistake, err);
    }
}

/* A fresh MISC_HOOK_LOG file; its path in |path|. */
static void hook_log(char *path, size_t n)
{
    snprintf(path, n, "/tmp/test_reg-hooks-%d", (int)getpid());
    unlink(path);
    setenv("MISC_HOOK_LOG", path, 1);
}

/* Hooks run in registration order, each once per call, with the deadline given. */
static void stop_hooks_run_in_order(void **st)
{
    char err[512], path[128];
    hook_log(path, sizeof(path));
    tw_registry *r = load_misc(NULL, err, sizeof(err));
    if (!r)
        fail_msg("%s", err);
    char why[256];
    int64_t until = clock_mono_ms() + 60000;
    assert_int_equal(reg_run_stop_hooks(r, 1234567, until, why, sizeof(why)), 0);
    assert_string_equal(why, "");
    assert_int_equal(reg_run_stop_hooks(r, 7654321, until, why, sizeof(why)), 0);
    reg_free(r);
    size_t len;
    char *log = read_all(path, &len);
    char names[4][16];
    long long deadlines[4];
    int n = sscanf(log, "%15s %lld %*d %*d\n%15s %lld %*d %*d\n%15s %lld %*d %*d\n%15s %lld",
                   names[0], &deadlines[0], names[1], &deadlines[1], names[2], &deadlines[2],
                   names[3], &deadlines[3]);
    if (n != 8 || count_substr(log, "\n") != 4)
        fail_msg("hook log: %s", log);
    assert_string_equal(names[0], "first");
    assert_string_equal(names[1], "second");
    assert_string_equal(names[2], "first");
    assert_string_equal(names[3], "second");
    assert_int_equal(deadlines[0], 1234567);
    assert_int_equal(deadlines[1], 1234567);
    assert_int_equal(deadlines[3], 7654321);
    free(log);
    unlink(path);
    /* No hooks: nothing to run. */
    assert_int_equal(reg_load(&r, "lib_good.so", fixtures, api_table(), err, sizeof(err)), 0);
    assert_int_equal(reg_run_stop_hooks(r, 1, clock_mono_ms(), why, sizeof(why)), 0);
    reg_free(r);
    unsetenv("MISC_HOOK_LOG");
}

/* A hook that never returns: the wait ends at the time given, naming it; the library stays
 * mapped after reg_free (its thread is still in there). Last: that thread never ends. */
static void a_hanging_hook_is_left_behind(void **st)
{
    char err[512], path[128], why[256];
    hook_log(path, sizeof(path));
    setenv("MISC_HOOK_HANG", "1", 1);
    tw_registry *r = load_misc(NULL, err, sizeof(err));
    unsetenv("MISC_HOOK_HANG");
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(reg_stop_hook_count(r), 3);
    assert_int_equal(reg_run_stop_hooks(r, 1, clock_mono_ms() + 300, why, sizeof(why)), 1);
    assert_string_equal(why, "stop hook 3 of 3 (hook_hang in lib_misc.so)");
    reg_free(r);
    size_t len;
    char *log = read_all(path, &len);
    assert_int_equal(count_substr(log, "first "), 1);
    assert_int_equal(count_substr(log, "second "), 1);
    assert_int_equal(count_substr(log, "hang "), 1);
    free(log);
    unlink(path);
    unsetenv("MISC_HOOK_LOG");
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
        cmocka_unit_test(newer_minor_abi_refused),
        cmocka_unit_test(entry_refuses_a_shorter_table),
        cmocka_unit_test(the_table_is_complete),
        cmocka_unit_test(registered_twice),
        cmocka_unit_test(nothing_registered),
        cmocka_unit_test(versioning_required),
        cmocka_unit_test(default_versioning_applies),
        cmocka_unit_test(dynamic_registrations_take_the_rest),
        cmocka_unit_test(dynamic_and_hook_mistakes),
        cmocka_unit_test(stop_hooks_run_in_order),
        cmocka_unit_test(a_hanging_hook_is_left_behind), /* last: its hook never returns */
    };
    return cmocka_run_group_tests_name("registry", tests, group_setup, NULL);
}
