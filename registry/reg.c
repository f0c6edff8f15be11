/*
 * reg: dlopen of the user's library, ELF and ABI checks, registration tables. See reg.h.
 */
#define _GNU_SOURCE
#include "reg.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    tw_versioning default_versioning; /* for workflows registered with none; 0: none */
    uint32_t abi;      /* the library's tw_library_abi */
    char problem[384]; /* the first registration mistake */
};

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

int reg_register_workflow(tw_registry *r, const char *name, tw_workflow_fn fn, tw_versioning v)
{
    if (!r)
        return TW_EINVAL;
    if (!valid_name(r, "workflow", name, (const void *)fn))
        return TW_EINVAL;
    if (v == 0 && !r->default_versioning) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem),
                     "workflow \"%.100s\" is registered without a versioning behaviour: pass "
                     "TW_PINNED or TW_AUTO_UPGRADE, or set TEMPORAL_DEFAULT_VERSIONING_BEHAVIOR "
                     "to pinned or auto_upgrade", name);
        return TW_EINVAL;
    }
    if (v == 0)
        v = r->default_versioning;
    if (v != TW_PINNED && v != TW_AUTO_UPGRADE) {
        if (!r->problem[0])
            snprintf(r->problem, sizeof(r->problem),
                     "workflow \"%.100s\" has an unknown versioning behaviour (%d): pass "
                     "TW_PINNED or TW_AUTO_UPGRADE", name, (int)v);
        return TW_EINVAL;
    }
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
    if (r->nwf == 0 && r->nact == 0) {
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
    if (r->handle)
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
