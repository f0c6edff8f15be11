/*
 * reg: the user's library and what it registered. Loads the shared object named by _HANDLER
 * with dlopen, checks it is a shared object for this machine and built against this ABI, calls
 * its entry point with the runtime's function table, and keeps the workflow and activity
 * tables. Every failure is a message a user can act on (it becomes /runtime/init/error).
 *
 * Ownership: reg_load() returns a registry the caller frees with reg_free(); entries and
 * names belong to it. Threading: read-only after reg_load(), so any thread may look up.
 *
 * Besides named workflows and activities, a library may register one dynamic workflow and one
 * dynamic activity (run for any type with no registration of its own: a registered name always
 * wins) and stop hooks, run at the stop of each invocation by reg_run_stop_hooks().
 */
#ifndef TW_REG_H
#define TW_REG_H

#include <stddef.h>
#include <stdint.h>

#include "tw.h"

typedef struct reg_workflow {
    char *name;
    tw_workflow_fn fn;
    tw_versioning versioning;
} reg_workflow;

typedef struct reg_activity {
    char *name;
    tw_activity_fn fn;
} reg_activity;

enum { REG_ENOENT = -1 /* no such file, or _HANDLER unset */, REG_EINVAL = -2 /* anything else */ };
enum { REG_MAX_STOP_HOOKS = 64 };

/* Resolves |handler| (relative to |task_root|, or absolute) and loads it, handing its entry
 * point |api|, the runtime's function table (api_table() from temporal/worker/api.h; borrowed:
 * it must outlive the registry, and the library keeps a pointer to it). A library stamped with
 * another major ABI version, or a newer minor one, is refused. Returns 0, or REG_ENOENT /
 * REG_EINVAL with |err| saying what is wrong and how to fix it. A workflow registered without
 * a versioning behaviour is refused (naming it and TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR). */
int reg_load(tw_registry **out, const char *handler, const char *task_root, const tw_api *api,
             char *err, size_t errlen);
/* reg_load(), where a workflow registered without a versioning behaviour (0) gets
 * |default_versioning| (TW_PINNED or TW_AUTO_UPGRADE, from TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR;
 * 0: none, so such a workflow is refused as by reg_load()). */
int reg_load_with_default(tw_registry **out, const char *handler, const char *task_root,
                          const tw_api *api, int default_versioning, char *err, size_t errlen);
void reg_free(tw_registry *r);

const reg_workflow *reg_find_workflow(const tw_registry *r, const char *name);
const reg_activity *reg_find_activity(const tw_registry *r, const char *name);
/* What runs type |name|: its registration, else the dynamic one (whose name is NULL), else
 * NULL. The code learns the type from tw_wf_info.workflow_type / tw_act_info.activity_type. */
const reg_workflow *reg_lookup_workflow(const tw_registry *r, const char *name);
const reg_activity *reg_lookup_activity(const tw_registry *r, const char *name);
size_t reg_workflow_count(const tw_registry *r);
size_t reg_activity_count(const tw_registry *r);
/* "A, B, C" (sorted as registered), for messages about unknown types. */
void reg_workflow_names(const tw_registry *r, char *out, size_t n);
void reg_activity_names(const tw_registry *r, char *out, size_t n);
/* The minor ABI version the library was built against (its tw_library_abi): the runtime reads
 * the fields a struct gained in a later minor version (tw_activity_options, tw_failure) only
 * when the library's is at least that one, since an older library's struct is shorter. */
unsigned reg_abi_minor(const tw_registry *r);
/* The table handed to the library (for tests). */
const tw_api *reg_api(const tw_registry *r);

/* What tw_register_workflow() and tw_register_activity() call (tw.h documents them), for the
 * table api.h builds. Called by the library's setup, inside reg_load(); a mistake is kept and
 * reg_load() reports the first one. */
int reg_register_workflow(tw_registry *r, const char *name, tw_workflow_fn fn, tw_versioning v);
int reg_register_activity(tw_registry *r, const char *name, tw_activity_fn fn);
/* ABI 1.2 */
int reg_register_codec(tw_registry *r, const tw_codec *codec, void *arg);
/* The payload codec the library registered (a copy of its tw_codec and its argument), or NULL
 * (then nothing is encoded or decoded: temporal/worker/codec.h). */
typedef struct reg_codec {
    tw_codec codec;
    void *arg;
} reg_codec;
const reg_codec *reg_get_codec(const tw_registry *r);
int reg_register_dynamic_workflow(tw_registry *r, tw_workflow_fn fn, tw_versioning v);
int reg_register_dynamic_activity(tw_registry *r, tw_activity_fn fn);
int reg_register_stop_hook(tw_registry *r, tw_stop_fn fn, void *arg);

/* Runs the stop hooks, in registration order, each called with |deadline_ms| (Unix ms: when
 * the hooks must have returned), on a thread of their own, and waits for them until the
 * monotonic time |until_mono_ms| at most. Returns 0 when every hook returned (or there are
 * none); 1 when one was still running at |until_mono_ms|: the hooks after it are not run, the
 * thread is left to finish it (the caller should end the process), and |why| names it ("stop
 * hook 2 of 3 (flush in libx.so)"); REG_EINVAL when no thread could be started (none ran,
 * |why| says so). Any thread; not concurrently with itself. */
int reg_run_stop_hooks(const tw_registry *r, int64_t deadline_ms, int64_t until_mono_ms,
                       char *why, size_t whylen);
size_t reg_stop_hook_count(const tw_registry *r);

#endif
