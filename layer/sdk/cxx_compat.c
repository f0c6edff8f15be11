/*
 * cxx_compat.c: linked into a C++ user library (built with -static-libstdc++ -static-libgcc)
 * so that a library built on a new glibc still loads on provided.al2's glibc 2.26. The static
 * C++ runtime refers to a few glibc symbols newer than that, which an old glibc lacks (dlopen
 * then fails with "version `GLIBC_2.3x' not found"):
 *
 *   __libc_single_threaded (2.32; libstdc++'s reference counts), _dl_find_object (2.35; the
 *   unwinder finds a frame's unwind table with it), arc4random (2.36; std::random_device):
 *   defined here, hidden, so the library's references bind inside it;
 *   pthread_once and __pthread_key_create (2.34, when libpthread moved into libc; the
 *   unwinder's and the locale's one-time setup): the link wraps them (-Wl,--wrap=NAME) onto
 *   the versions every glibc exports, in libpthread.so.0 on old ones (which the link names).
 *
 * What this does not do: user code that calls a new function itself (stat and fstat bind to
 * GLIBC_2.33) still needs it; the SDK's Makefile checks every library it builds for symbol
 * versions newer than 2.26 and names them. On a glibc older than 2.32 none of this is needed;
 * the file then only defines the wraps.
 *
 * Link: cc ... cxx_compat.c -Wl,--wrap=pthread_once -Wl,--wrap=__pthread_key_create
 *       -Wl,--no-as-needed -l:libpthread.so.0 -Wl,--as-needed
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#define HIDDEN __attribute__((visibility("hidden")))

#if defined(__x86_64__)
#define BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define BASE_VERSION "GLIBC_2.17"
#else
#error "cxx_compat.c: x86_64 or aarch64"
#endif

/* ---- pthread_once, __pthread_key_create: their oldest versions ---- */

__asm__(".symver compat_pthread_once, pthread_once@" BASE_VERSION);
__asm__(".symver compat_pthread_key_create, pthread_key_create@" BASE_VERSION);
int compat_pthread_once(pthread_once_t *, void (*)(void));
int compat_pthread_key_create(pthread_key_t *, void (*)(void *));

HIDDEN int __wrap_pthread_once(pthread_once_t *o, void (*fn)(void));
HIDDEN int __wrap___pthread_key_create(pthread_key_t *k, void (*dtor)(void *));

int __wrap_pthread_once(pthread_once_t *o, void (*fn)(void))
{
    return compat_pthread_once(o, fn);
}
int __wrap___pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
    return compat_pthread_key_create(k, dtor);
}

/* ---- defined here: the library's references bind to these ---- */

/* 0: the process may have threads (it has: the runtime's), so the C++ runtime always takes
 * its thread-safe paths, as it does on a glibc without the variable. */
HIDDEN char __libc_single_threaded = 0;

/* std::random_device's default source: the kernel's (getrandom is 2.25). */
HIDDEN uint32_t arc4random(void);
uint32_t arc4random(void)
{
    uint32_t v = 0;
    while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        ;
    return v;
}

#ifdef DLFO_STRUCT_HAS_EH_DBASE
/* The unwinder asks which loaded object holds |pc| and where its PT_GNU_EH_FRAME is; the same
 * answer from dl_iterate_phdr, as the unwinder itself found it before glibc 2.35. */
struct find {
    uintptr_t pc;
    struct dl_find_object *out;
};

static int find_in(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find *f = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    const void *eh = NULL;
    int holds = 0;
    (void)size;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD) {
            holds |= f->pc >= start && f->pc < start + p->p_memsz;
            lo = start < lo ? start : lo;
            hi = start + p->p_memsz > hi ? start + p->p_memsz : hi;
        } else if (p->p_type == PT_GNU_EH_FRAME) {
            eh = (const void *)start;
        }
    }
    if (!holds)
        return 0;
    memset(f->out, 0, sizeof(*f->out));
    f->out->dlfo_map_start = (void *)lo;
    f->out->dlfo_map_end = (void *)hi;
    f->out->dlfo_eh_frame = (void *)eh;
    return 1;
}

HIDDEN int _dl_find_object(void *pc, struct dl_find_object *out);
int _dl_find_object(void *pc, struct dl_find_object *out)
{
    struct find f = {(uintptr_t)pc, out};
    return dl_iterate_phdr(find_in, &f) ? 0 : -1;
}
#endif
