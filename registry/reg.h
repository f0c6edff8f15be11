/*
 * reg: the user's library and what it registered. Loads the shared object named by _HANDLER
 * with dlopen, checks it is a shared object for this machine and built against this ABI, calls
 * its entry point with the runtime's function table, and keeps the workflow and activity
 * tables. Every failure is a message a user can act on (it becomes /runtime/init/error).
 *
 * Ownership: reg_load() returns a registry the caller frees with reg_free(); entries and
 * names belong to it. Threading: read-only after reg_load(), so any thread may look up.
 */
#ifndef TW_REG_H
#define TW_REG_H

#include <stddef.h>

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
int reg_register_dynamic_workflow(tw_registry *r, tw_workflow_fn fn, tw_versioning v);
int reg_register_dynamic_activity(tw_registry *r, tw_activity_fn fn);
int reg_register_stop_hook(tw_registry *r, tw_stop_fn fn, void *arg);

#endif
