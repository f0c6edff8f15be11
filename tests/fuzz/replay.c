/*
 * replay: runs a fuzz target on saved inputs, without libFuzzer, so that `make test` (and
 * `make test SAN=1`) checks every seed and every crash ever found still goes through cleanly.
 *
 * Linked with one target as $(BUILD)/tests/replay_<name>; with no arguments it replays
 * tests/fuzz/corpus/<name>/, tests/fuzz/regressions/<name>/ and tests/fuzz/slow/<name>/ (inputs
 * too slow to seed the fuzzer with, such as a TOML table at its size bound), relative to the
 * current directory (the repository root under tests/run.sh), the name taken from its own
 * file name.
 * Arguments name other folders or files instead. It prints a summary in cmocka's form, which
 * tests/run.sh counts: one test per input. An input that breaks the target kills the process
 * (a sanitizer report or a crash) before the summary, which counts as a failure.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Not every target has one. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Present when linked with a sanitizer runtime: called before it ends the process. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define MAX_INPUTS 100000

typedef struct inputs {
    char **path;
    size_t n, cap;
} inputs;

static int add(inputs *in, const char *path)
{
    if (in->n == MAX_INPUTS)
        return -1;
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        char **p = realloc(in->path, cap * sizeof(*p));
        if (!p)
            return -1;
        in->path = p;
        in->cap = cap;
    }
    /* Absolute: a target may change its working directory (fuzz_config does). */
    char *abs = realpath(path, NULL);
    if (!abs)
        return -1;
    in->path[in->n++] = abs;
    return 0;
}

static int skip_name(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Adds |path|: a file, or the files of a folder in name order. A missing folder adds nothing
 * (git keeps no empty folder, so a target without regressions has none). */
static int collect(inputs *in, const char *path, int must_exist)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return must_exist ? -1 : 0;
    if (!S_ISDIR(st.st_mode))
        return add(in, path);
    struct dirent **names;
    int n = scandir(path, &names, skip_name, alphasort), rc = 0;
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char file[PATH_MAX];
        if (rc == 0 && (size_t)snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name) <
                           sizeof(file))
            rc = stat(file, &st) == 0 && S_ISREG(st.st_mode) ? add(in, file) : 0;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Reads |path| into an allocation of exactly its size (so ASan sees any read past it). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *d = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (d = malloc(n ? (size_t)n : 1)) && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = d ? (size_t)n : 0;
    return d;
}

/* The input being run, named when it kills the process (and only then: a replay of hundreds
 * of inputs stays quiet). */
static const char *current;

static void say_current(void)
{
    static const char pre[] = "\nreplay: the input that failed: ";
    if (!current)
        return;
    ssize_t w = write(2, pre, sizeof(pre) - 1);
    w = write(2, current, strlen(current));
    w = write(2, "\n", 1);
    (void)w;
}

static void on_fatal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watch_crashes(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(say_current);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction sa = {.sa_handler = on_fatal};
        struct sigaction old;
        /* A sanitizer's own handler reports better; keep it. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            sigaction(sigs[i], &sa, NULL);
    }
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    const char *name = base ? base + 1 : argv[0];
    inputs in = {0};
    int rc = 0;
    if (strncmp(name, "replay_", 7) == 0)
        name += 7;
    if (argc > 1) {
        for (int i = 1; i < argc && rc == 0; i++)
            if (collect(&in, argv[i], 1) != 0) {
                fprintf(stderr, "replay_%s: cannot read %s: %s\n", name, argv[i],
                        strerror(errno));
                rc = 1;
            }
    } else {
        char corpus[PATH_MAX], regressions[PATH_MAX], slow[PATH_MAX];
        snprintf(corpus, sizeof(corpus), "tests/fuzz/corpus/%s", name);
        snprintf(regressions, sizeof(regressions), "tests/fuzz/regressions/%s", name);
        snprintf(slow, sizeof(slow), "tests/fuzz/slow/%s", name);
        if (collect(&in, corpus, 1) != 0 || collect(&in, regressions, 0) != 0 ||
            collect(&in, slow, 0) != 0) {
            fprintf(stderr, "replay_%s: cannot read %s, %s or %s: %s\n", name, corpus,
                    regressions, slow, strerror(errno));
            rc = 1;
        }
    }
    if (rc == 0 && in.n == 0) {
        fprintf(stderr, "replay_%s: no inputs to replay\n", name);
        rc = 1;
    }
    if (rc == 0 && LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    watch_crashes();
    printf("[==========] Running %zu test(s).\n", rc ? (size_t)1 : in.n);
    fflush(stdout);
    size_t done = 0;
    for (size_t i = 0; rc == 0 && i < in.n; i++) {
        size_t len;
        uint8_t *data = slurp(in.path[i], &len);
        if (!data) {
            fprintf(stderr, "replay_%s: cannot read %s\n", name, in.path[i]);
            rc = 1;
            break;
        }
        current = in.path[i];
        LLVMFuzzerTestOneInput(data, len);
        current = NULL;
        free(data);
        done++;
    }
    for (size_t i = 0; i < in.n; i++)
        free(in.path[i]);
    free(in.path);
    if (rc) {
        printf("[  FAILED  ] 1 test(s), listed below:\n[  FAILED  ] replay_%s\n", name);
        return 1;
    }
    printf("[==========] %zu test(s) run.\n[  PASSED  ] %zu test(s).\n", done, done);
    return 0;
}
