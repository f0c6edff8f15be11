/*
 * reg: dlopen of the user's library, ELF and ABI checks, registration tables (named, dynamic,
 * stop hooks), and the run of the stop hooks on a thread of their own. See reg.h.
 */
#define _GNU_SOURCE
#include "reg.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temporal/clock.h"

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_ARCH "arm64"
#else
#error "unsupported architecture"
#endif

struct tw_registry {
    void *handle;
    const tw_api *api; /* borrowed: the table the library was given */
    reg_workflow *wf;
    size_t nwf;
    reg_activity *act;
    size_t nact;
    reg_workflow dyn_wf;  /* the dynamic workflow (fn NULL: none); its name is NULL */
    reg_activity dyn_act; /* the dynamic activity, likewise */
    tw_stop_fn *hooks;    /* stop hooks, in registration order, with their arguments */
    void **hook_args;
    size_t nhooks;
    tw_versioning default_versioning; /* for workflows registered with none; 0: none */
    reg_codec codec;   /* the payload codec; has_codec 0: none */
    int has_codec;
    uint32_t abi;      /* the library's tw_library_abi */
    char problem[384]; /* the first registration mistake */
};

/* Hook threads still running: while one is, reg_free() leaves the library mapped (a hook that
 * overran may still be inside its code when the process ends). */
static int hooks_running;

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64: return "x86_64";
    case EM_AARCH64: return "arm64 (aarch64)";
    case EM_386: return "32-bit x86";
    case EM_ARM: return "32-bit ARM";
    case EM_RISCV: return "RISC-V";
    }
    return "another architecture";
}

/* Keeps the first registration mistake; reg_load() reports it. */
static int valid_name(tw_registry *r, const char *kind, const char *name, const void *fn)
{
    if (name && *name && fn)
        return 1;
    if (!r->problem[0] && (!name || !*name))
        snprintf(r->problem, sizeof(r->problem), "a %s was registered without a name", kind);
    else if (!r->problem[0])
        snprintf(r->problem, sizeof(r->problem), "%s \"%.100s\" was registered without a function",
                 kind, name);
    return 0;
}

/* The versioning behaviour |v| of workflow |what| as registered (the default for 0), or 0 after
 * keeping the mistake. */
static tw_versioning versioning_of(tw_registry *r, const char *what, tw_versioning v)
{
    if (v == 0 && !r->default_versioning) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem),
                     "%s is registered without a versioning behaviour: pass TW_PINNED or "
                     "TW_AUTO_UPGRADE, or set TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR to pinned or "
                     "auto_upgrade", what);
        return 0;
    }
    if (v == 0)
        v = r->default_versioning;
    if (v != TW_PINNED && v != TW_AUTO_UPGRADE) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem), "%s has an unknown versioning behaviour "
                     "(%d): pass TW_PINNED or TW_AUTO_UPGRADE", what, (int)v);
        return 0;
    }
    return v;
}

/* Keeps |problem| as the registration mistake unless there is one already; returns |rc|. */
static int mistake(tw_registry *r, int rc, const char *problem)
{
    if (!r->problem[0])
        snprintf(r->problem, sizeof(r->problem), "%s", problem);
    return rc;
}

int reg_register_workflow(tw_registry *r, const char *name, tw_workflow_fn fn, tw_versioning v)
{
    if (!r)
        return TW_EINVAL;
    if (!valid_name(r, "workflow", name, (const void *)fn))
        return TW_EINVAL;
    char what[128];
    snprintf(what, sizeof(what), "workflow \"%.100s\"", name);
    if (!(v = versioning_of(r, what, v)))
        return TW_EINVAL;
    if (reg_find_workflow(r, name)) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem), "workflow \"%.100s\" is registered twice", name);
        return TW_EEXIST;
    }
    reg_workflow *a = realloc(r->wf, (r->nwf + 1) * sizeof(*a));
    if (!a)
        return TW_ENOMEM;
    r->wf = a;
    if (!(a[r->nwf].name = strdup(name)))
        return TW_ENOMEM;
    a[r->nwf].fn = fn;
    a[r->nwf].versioning = v;
    r->nwf++;
    return TW_OK;
}

int reg_register_activity(tw_registry *r, const char *name, tw_activity_fn fn)
{
    if (!r)
        return TW_EINVAL;
    if (!valid_name(r, "activity", name, (const void *)fn))
        return TW_EINVAL;
    if (reg_find_activity(r, name)) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem), "activity \"%.100s\" is registered twice", name);
        return TW_EEXIST;
    }
    reg_activity *a = realloc(r->act, (r->nact + 1) * sizeof(*a));
    if (!a)
        return TW_ENOMEM;
    r->act = a;
    if (!(a[r->nact].name = strdup(name)))
        return TW_ENOMEM;
    a[r->nact].fn = fn;
    r->nact++;
    return TW_OK;
}

int reg_register_dynamic_workflow(tw_registry *r, tw_workflow_fn fn, tw_versioning v)
{
    if (!r)
        return TW_EINVAL;
    if (!fn)
        return mistake(r, TW_EINVAL, "the dynamic workflow was registered without a function");
    if (r->dyn_wf.fn)
        return mistake(r, TW_EEXIST, "a dynamic workflow is registered twice");
    if (!(v = versioning_of(r, "the dynamic workflow", v)))
        return TW_EINVAL;
    r->dyn_wf.fn = fn;
    r->dyn_wf.versioning = v;
    return TW_OK;
}

int reg_register_dynamic_activity(tw_registry *r, tw_activity_fn fn)
{
    if (!r)
        return TW_EINVAL;
    if (!fn)
        return mistake(r, TW_EINVAL, "the dynamic activity was registered without a function");
    if (r->dyn_act.fn)
        return mistake(r, TW_EEXIST, "a dynamic activity is registered twice");
    r->dyn_act.fn = fn;
    return TW_OK;
}

int reg_register_stop_hook(tw_registry *r, tw_stop_fn fn, void *arg)
{
    if (!r)
        return TW_EINVAL;
    if (!fn)
        return mistake(r, TW_EINVAL, "a stop hook was registered without a function");
    if (r->nhooks >= REG_MAX_STOP_HOOKS)
        return mistake(r, TW_EINVAL, "more than 64 stop hooks are registered");
    tw_stop_fn *h = realloc(r->hooks, (r->nhooks + 1) * sizeof(*h));
    if (!h)
        return TW_ENOMEM;
    r->hooks = h;
    void **a = realloc(r->hook_args, (r->nhooks + 1) * sizeof(*a));
    if (!a)
        return TW_ENOMEM;
    r->hook_args = a;
    h[r->nhooks] = fn;
    a[r->nhooks] = arg;
    r->nhooks++;
    return TW_OK;
}

/* Looks at the ELF header before dlopen, to say plainly what is wrong with the file. */
static int check_elf(const char *path, char *err, size_t errlen)
{
    Elf64_Ehdr h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "_HANDLER: %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, &h, sizeof(h));
    close(fd);
    if (n < (ssize_t)EI_NIDENT || memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) {
        snprintf(err, errlen, "_HANDLER: %s is not a shared object (not an ELF file); build the "
                              "library with -shared -fPIC", path);
        return -1;
    }
    if (h.e_ident[EI_CLASS] != ELFCLASS64 || n < (ssize_t)sizeof(h)) {
        snprintf(err, errlen, "_HANDLER: %s is a 32-bit ELF file; this runtime is 64-bit %s", path,
                 HOST_ARCH);
        return -1;
    }
    if (h.e_machine != HOST_MACHINE) {
        snprintf(err, errlen, "_HANDLER: %s is built for %s; this runtime is %s: rebuild it for "
                              "the function's architecture", path, machine_name(h.e_machine),
                 HOST_ARCH);
        return -1;
    }
    if (h.e_type != ET_DYN) {
        snprintf(err, errlen, "_HANDLER: %s is not a shared object (ELF type %u); build the "
                              "library with -shared -fPIC", path, (unsigned)h.e_type);
        return -1;
    }
    return 0;
}

/* The library's stamp against ours: the same major version, and a minor version no newer
 * (its table would be longer than ours, and its calls past our end would jump anywhere). */
static int check_abi(const char *path, uint32_t abi, char *err, size_t errlen)
{
    unsigned major = abi >> 16, minor = abi & 0xffff;
    if (major != TW_ABI_MAJOR) {
        snprintf(err, errlen, "_HANDLER: %s was built against tw.h ABI %u.%u; this runtime "
                              "speaks %u.%u: rebuild it with this runtime's SDK", path, major,
                 minor, (unsigned)TW_ABI_MAJOR, (unsigned)TW_ABI_MINOR);
        return -1;
    }
    if (minor > TW_ABI_MINOR) {
        snprintf(err, errlen, "_HANDLER: %s was built against tw.h ABI %u.%u, newer than this "
                              "runtime's %u.%u: use a runtime layer at least as new as the SDK, "
                              "or rebuild the library with this runtime's SDK", path, major, minor,
                 (unsigned)TW_ABI_MAJOR, (unsigned)TW_ABI_MINOR);
        return -1;
    }
    return 0;
}

/* A codec with neither function nor failure attributes would do nothing: refused as a
 * mistake (probably a struct left empty). */
int reg_register_codec(tw_registry *r, const tw_codec *codec, void *arg)
{
    if (!r)
        return TW_EINVAL;
    const char *why = !codec ? "tw_register_codec() was given no codec"
                      : r->has_codec ? "a payload codec is registered twice"
                      : !codec->encode && !codec->decode && !codec->encode_failure_attributes
                          ? "a payload codec was registered with no encode or decode function "
                            "and no encode_failure_attributes"
                          : NULL;
    if (why) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem), "%s", why);
        return r->has_codec ? TW_EEXIST : TW_EINVAL;
    }
    r->codec = (reg_codec){.codec = *codec, .arg = arg};
    r->has_codec = 1;
    return TW_OK;
}

const reg_codec *reg_get_codec(const tw_registry *r)
{
    return r && r->has_codec ? &r->codec : NULL;
}

int reg_load(tw_registry **out, const char *handler, const char *task_root, const tw_api *api,
             char *err, size_t errlen)
{
    return reg_load_with_default(out, handler, task_root, api, 0, err, errlen);
}

int reg_load_with_default(tw_registry **out, const char *handler, const char *task_root,
                          const tw_api *api, int default_versioning, char *err, size_t errlen)
{
    char path[PATH_MAX];
    *out = NULL;
    if (!api || api->abi_version != TW_ABI_VERSION || api->size != sizeof(tw_api)) {
        snprintf(err, errlen, "internal error: no function table for the library");
        return REG_EINVAL;
    }
    if (!handler || !*handler) {
        snprintf(err, errlen, "_HANDLER is not set: set the function's handler to the file name "
                              "of its shared object (e.g. libworkflows.so)");
        return REG_ENOENT;
    }
    if (handler[0] == '/')
        snprintf(path, sizeof(path), "%s", handler);
    else if ((size_t)snprintf(path, sizeof(path), "%s/%s", task_root && *task_root ? task_root : ".",
                              handler) >= sizeof(path)) {
        snprintf(err, errlen, "_HANDLER: path too long");
        return REG_ENOENT;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "_HANDLER: %s: %s%s", path, strerror(errno),
                 handler[0] == '/' ? "" : " (relative to LAMBDA_TASK_ROOT)");
        return REG_ENOENT;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "_HANDLER: %s is not a regular file", path);
        return REG_EINVAL;
    }
    if (check_elf(path, err, errlen))
        return REG_EINVAL;

    tw_registry *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return REG_EINVAL;
    }
    r->api = api;
    r->default_versioning = (tw_versioning)default_versioning;

    r->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!r->handle) {
        snprintf(err, errlen, "_HANDLER: cannot load %s: %s", path, dlerror());
        goto fail;
    }
    const uint32_t *abi = dlsym(r->handle, "tw_library_abi");
    int (*init)(const tw_api *, tw_registry *) =
        (int (*)(const tw_api *, tw_registry *))dlsym(r->handle, "tw_library_init");
    if (!abi || !init) {
        snprintf(err, errlen, "_HANDLER: %s has no Temporal entry point (tw_library_init): "
                              "add TW_LIBRARY(setup) from tw.h to one of its source files", path);
        goto fail;
    }
    if (check_abi(path, *abi, err, errlen))
        goto fail;
    r->abi = *abi;
    int rc = init(api, r);
    if (r->problem[0]) {
        snprintf(err, errlen, "%s: %s", handler, r->problem);
        goto fail;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: its setup function returned %d", handler, rc);
        goto fail;
    }
    if (r->nwf == 0 && r->nact == 0 && !r->dyn_wf.fn && !r->dyn_act.fn) {
        snprintf(err, errlen, "%s registered no workflows and no activities: call "
                              "tw_register_workflow() or tw_register_activity() in its setup",
                 handler);
        goto fail;
    }
    *out = r;
    return 0;
fail:
    reg_free(r);
    return REG_EINVAL;
}

void reg_free(tw_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nwf; i++)
        free(r->wf[i].name);
    for (size_t i = 0; i < r->nact; i++)
        free(r->act[i].name);
    free(r->wf);
    free(r->act);
    free(r->hooks);
    free(r->hook_args);
    if (r->handle && !__atomic_load_n(&hooks_running, __ATOMIC_SEQ_CST))
        dlclose(r->handle);
    free(r);
}

const reg_workflow *reg_find_workflow(const tw_registry *r, const char *name)
{
    for (size_t i = 0; name && i < r->nwf; i++)
        if (strcmp(r->wf[i].name, name) == 0)
            return &r->wf[i];
    return NULL;
}

const reg_activity *reg_find_activity(const tw_registry *r, const char *name)
{
    for (size_t i = 0; name && i < r->nact; i++)
        if (strcmp(r->act[i].name, name) == 0)
            return &r->act[i];
    return NULL;
}

const reg_workflow *reg_lookup_workflow(const tw_registry *r, const char *name)
{
    const reg_workflow *w = reg_find_workflow(r, name);
    return w ? w : r->dyn_wf.fn ? &r->dyn_wf : NULL;
}

const reg_activity *reg_lookup_activity(const tw_registry *r, const char *name)
{
    const reg_activity *a = reg_find_activity(r, name);
    return a ? a : r->dyn_act.fn ? &r->dyn_act : NULL;
}

size_t reg_workflow_count(const tw_registry *r) { return r->nwf; }
size_t reg_activity_count(const tw_registry *r) { return r->nact; }
unsigned reg_abi_minor(const tw_registry *r) { return r->abi & 0xffff; }
const tw_api *reg_api(const tw_registry *r) { return r->api; }

static void names(char *out, size_t n, size_t count, const char *(*get)(const tw_registry *, size_t),
                  const tw_registry *r)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && used + 1 < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", get(r, i));
    if (count == 0)
        snprintf(out, n, "(none)");
}

static const char *wf_name(const tw_registry *r, size_t i) { return r->wf[i].name; }
static const char *act_name(const tw_registry *r, size_t i) { return r->act[i].name; }

void reg_workflow_names(const tw_registry *r, char *out, size_t n) { names(out, n, r->nwf, wf_name, r); }
void reg_activity_names(const tw_registry *r, char *out, size_t n) { names(out, n, r->nact, act_name, r); }

/* ---- stop hooks ---- */

/* One run of the hooks, shared by the thread running them and the caller waiting for it; the
 * last of the two to let go frees it (a hook that overran keeps the thread past the wait). */
typedef struct hook_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* on CLOCK_MONOTONIC */
    int refs;            /* under mu */
    size_t next;         /* under mu: the hook running (or to run) */
    int done;            /* under mu: every hook returned */
    int abandoned;       /* under mu: the caller stopped waiting; run no more hooks */
    tw_stop_fn *hooks;   /* copies of the registry's, so the run owes it nothing */
    void **args;
    size_t n;
    int64_t deadline_ms;
} hook_run;

static void hook_run_unref_locked(hook_run *h)
{
    if (--h->refs) {
        pthread_mutex_unlock(&h->mu);
        return;
    }
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h->hooks);
    free(h->args);
    free(h);
}

static void *hook_thread(void *arg)
{
    hook_run *h = arg;
    pthread_mutex_lock(&h->mu);
    while (h->next < h->n && !h->abandoned) {
        size_t i = h->next;
        pthread_mutex_unlock(&h->mu);
        h->hooks[i](h->args[i], h->deadline_ms);
        pthread_mutex_lock(&h->mu);
        h->next = i + 1;
    }
    h->done = 1;
    pthread_cond_broadcast(&h->cv);
    hook_run_unref_locked(h);
    __atomic_sub_fetch(&hooks_running, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* "stop hook 2 of 3 (flush_metrics in libx.so)" for hook |i| into |out| (the name only when
 * the library exports it). */
static void describe_hook(const hook_run *h, size_t i, char *out, size_t n)
{
    Dl_info dl;
    void *fn;
    memcpy(&fn, &h->hooks[i], sizeof(fn));
    if (dladdr(fn, &dl) && dl.dli_sname && dl.dli_saddr == fn) { /* else a neighbour's name */
        const char *lib = dl.dli_fname ? strrchr(dl.dli_fname, '/') : NULL;
        snprintf(out, n, "stop hook %zu of %zu (%s in %s)", i + 1, h->n, dl.dli_sname,
                 lib ? lib + 1 : dl.dli_fname ? dl.dli_fname : "?");
    } else {
        snprintf(out, n, "stop hook %zu of %zu", i + 1, h->n);
    }
}

static hook_run *hook_run_new(const tw_registry *r, int64_t deadline_ms)
{
    hook_run *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->hooks = malloc(r->nhooks * sizeof(*h->hooks));
    h->args = malloc(r->nhooks * sizeof(*h->args));
    pthread_condattr_t ca;
    int cond_ok = pthread_condattr_init(&ca) == 0;
    if (cond_ok) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        cond_ok = pthread_cond_init(&h->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!h->hooks || !h->args || !cond_ok || pthread_mutex_init(&h->mu, NULL) != 0) {
        if (cond_ok)
            pthread_cond_destroy(&h->cv);
        free(h->hooks);
        free(h->args);
        free(h);
        return NULL;
    }
    memcpy(h->hooks, r->hooks, r->nhooks * sizeof(*h->hooks));
    memcpy(h->args, r->hook_args, r->nhooks * sizeof(*h->args));
    h->n = r->nhooks;
    h->deadline_ms = deadline_ms;
    h->refs = 2; /* the thread and the caller */
    return h;
}

int reg_run_stop_hooks(const tw_registry *r, int64_t deadline_ms, int64_t until_mono_ms,
                       char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!r || !r->nhooks)
        return 0;
    hook_run *h = hook_run_new(r, deadline_ms);
    pthread_t th;
    pthread_attr_t attr;
    int started = 0;
    if (h && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        __atomic_add_fetch(&hooks_running, 1, __ATOMIC_SEQ_CST);
        started = pthread_create(&th, &attr, hook_thread, h) == 0;
        if (!started)
            __atomic_sub_fetch(&hooks_running, 1, __ATOMIC_SEQ_CST);
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        if (h) {
            pthread_mutex_lock(&h->mu);
            h->refs = 1;
            hook_run_unref_locked(h);
        }
        if (why && whylen)
            snprintf(why, whylen, "no memory or thread to run the %zu stop hooks", r->nhooks);
        return REG_EINVAL;
    }
    pthread_mutex_lock(&h->mu);
    while (!h->done && clock_mono_ms() < until_mono_ms) {
        struct timespec t = clock_mono_after(until_mono_ms - clock_mono_ms());
        pthread_cond_timedwait(&h->cv, &h->mu, &t);
    }
    int overran = !h->done;
    if (overran) {
        h->abandoned = 1;
        if (why && whylen)
            describe_hook(h, h->next, why, whylen);
    }
    hook_run_unref_locked(h);
    return overran;
}

size_t reg_stop_hook_count(const tw_registry *r) { return r ? r->nhooks : 0; }
