/*
 * glibc_compat: lets `bootstrap`, built on a newer glibc, run on provided.al2's glibc 2.26.
 * The link wraps (-Wl,--wrap=NAME) the few functions whose default symbol version is newer
 * than 2.26 and sends each to the oldest version glibc still exports, with .symver. On an old
 * glibc those versions live in libdl.so.2 and libpthread.so.0, so the link names those too.
 * x86_64 and arm64 need the same functions wrapped (glibc 2.33 and 2.34 gave them new default
 * versions on every architecture); only the old versions differ: arm64's first glibc was 2.17,
 * so all of its old versions are GLIBC_2.17, where x86_64's are GLIBC_2.2.5 (2.3.3 for one).
 *
 * Not built into the sanitizer build: the sanitizers intercept several of these functions.
 *
 * Constructors. A crt1.o from glibc 2.34 or later passes __libc_start_main a NULL `init`: the
 * new libc finds the executable's constructors itself (its call_init). glibc before 2.34 does
 * not: it calls `init` if there is one (it used to be __libc_csu_init, linked into every
 * executable), and ld.so deliberately skips the executable's own DT_INIT/DT_INIT_ARRAY. So on
 * an old glibc, bootstrap's .init_array would never run. The wrapper hands over its own init
 * in that case, doing what __libc_csu_init did for a dynamically linked program: _init, then
 * .init_array in order, with argc/argv/envp. Every glibc calls a non-NULL `init` instead of
 * looking for constructors itself (2.34+ treats it as a legacy program), so they run once on
 * every version. Not walked here, as __libc_csu_init did not either: .preinit_array (ld.so
 * runs the executable's before any library's constructor) and .fini_array (ld.so's _dl_fini,
 * registered through `rtld_fini`, runs it at exit; the `fini` argument stays as given).
 * tests/integration/test_linkage.c checks exactly-once for all three on 2.31 and here, on both
 * architectures.
 */
#if defined(__x86_64__)
#define BASE_VERSION "GLIBC_2.2.5"
#define SETCLOCK_VERSION "GLIBC_2.3.3"
#define STAT_VER 1 /* _STAT_VER: the kernel's struct stat layout, as the old headers said */
#elif defined(__aarch64__)
#define BASE_VERSION "GLIBC_2.17"
#define SETCLOCK_VERSION "GLIBC_2.17"
#define STAT_VER 0 /* the generic kernel struct stat (asm-generic ABI) */
#endif

#ifdef BASE_VERSION
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>

/* compat_NAME is declared, never defined: .symver binds it to NAME at glibc version |ver|. */
#define OLD(sym, ver) __asm__(".symver compat_" #sym ", " #sym "@" ver)

OLD(__libc_start_main, BASE_VERSION);
OLD(dlopen, BASE_VERSION);
OLD(dlsym, BASE_VERSION);
OLD(dlclose, BASE_VERSION);
OLD(dlerror, BASE_VERSION);
OLD(dladdr, BASE_VERSION);
OLD(pthread_create, BASE_VERSION);
OLD(pthread_join, BASE_VERSION);
OLD(pthread_detach, BASE_VERSION);
OLD(pthread_condattr_setclock, SETCLOCK_VERSION);
OLD(pthread_key_create, BASE_VERSION);
OLD(pthread_setspecific, BASE_VERSION);
OLD(pthread_once, BASE_VERSION);
OLD(__xstat, BASE_VERSION);
OLD(__fxstat, BASE_VERSION);

typedef int (*main_fn)(int, char **, char **);
typedef void (*init_fn)(int, char **, char **);
int compat___libc_start_main(main_fn, int, char **, init_fn, void (*)(void), void (*)(void),
                             void *);
void *compat_dlopen(const char *, int);
void *compat_dlsym(void *, const char *);
int compat_dlclose(void *);
char *compat_dlerror(void);
int compat_dladdr(const void *, Dl_info *);
int compat_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int compat_pthread_join(pthread_t, void **);
int compat_pthread_detach(pthread_t);
int compat_pthread_condattr_setclock(pthread_condattr_t *, clockid_t);
int compat_pthread_key_create(pthread_key_t *, void (*)(void *));
int compat_pthread_setspecific(pthread_key_t, const void *);
int compat_pthread_once(pthread_once_t *, void (*)(void));
int compat___xstat(int, const char *, struct stat *);
int compat___fxstat(int, int, struct stat *);

/* The wrappers the linker substitutes (declared here only to keep -Wmissing-prototypes quiet). */
int __wrap___libc_start_main(main_fn, int, char **, init_fn, void (*)(void), void (*)(void),
                             void *);
void *__wrap_dlopen(const char *, int);
void *__wrap_dlsym(void *, const char *);
int __wrap_dlclose(void *);
char *__wrap_dlerror(void);
int __wrap_dladdr(const void *, Dl_info *);
int __wrap_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int __wrap_pthread_join(pthread_t, void **);
int __wrap_pthread_detach(pthread_t);
int __wrap_pthread_condattr_setclock(pthread_condattr_t *, clockid_t);
int __wrap_pthread_key_create(pthread_key_t *, void (*)(void *));
int __wrap_pthread_setspecific(pthread_key_t, const void *);
int __wrap_pthread_once(pthread_once_t *, void (*)(void));
int __wrap_stat(const char *, struct stat *);
int __wrap_fstat(int, struct stat *);

/* Linker-made bounds of the executable's .init_array, and crti.o's .init section. */
extern const init_fn __init_array_start[] __attribute__((visibility("hidden")));
extern const init_fn __init_array_end[] __attribute__((visibility("hidden")));
extern void _init(void) __attribute__((visibility("hidden")));

/* __libc_csu_init for a dynamically linked program (see the top of the file). */
static void run_init(int argc, char **argv, char **envp)
{
    _init();
    for (const init_fn *f = __init_array_start; f < __init_array_end; f++)
        (*f)(argc, argv, envp);
}

int __wrap___libc_start_main(main_fn m, int argc, char **argv, init_fn init, void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end)
{
    /* An older crt1.o still passes its own __libc_csu_init: keep it. */
    if (!init)
        init = run_init;
    return compat___libc_start_main(m, argc, argv, init, fini, rtld_fini, stack_end);
}
void *__wrap_dlopen(const char *f, int mode) { return compat_dlopen(f, mode); }
void *__wrap_dlsym(void *h, const char *s) { return compat_dlsym(h, s); }
int __wrap_dlclose(void *h) { return compat_dlclose(h); }
char *__wrap_dlerror(void) { return compat_dlerror(); }
int __wrap_dladdr(const void *addr, Dl_info *info) { return compat_dladdr(addr, info); }
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    return compat_pthread_create(t, a, fn, arg);
}
int __wrap_pthread_join(pthread_t t, void **r) { return compat_pthread_join(t, r); }
int __wrap_pthread_detach(pthread_t t) { return compat_pthread_detach(t); }
int __wrap_pthread_condattr_setclock(pthread_condattr_t *a, clockid_t c)
{
    return compat_pthread_condattr_setclock(a, c);
}
int __wrap_pthread_key_create(pthread_key_t *k, void (*dtor)(void *))
{
    return compat_pthread_key_create(k, dtor);
}
int __wrap_pthread_setspecific(pthread_key_t k, const void *v)
{
    return compat_pthread_setspecific(k, v);
}
int __wrap_pthread_once(pthread_once_t *o, void (*fn)(void)) { return compat_pthread_once(o, fn); }
int __wrap_stat(const char *p, struct stat *b) { return compat___xstat(STAT_VER, p, b); }
int __wrap_fstat(int fd, struct stat *b) { return compat___fxstat(STAT_VER, fd, b); }
#endif
