/*
 * fuzz: what every fuzz target in tests/fuzz/ defines. A target is one file, fuzz_<name>.c,
 * that feeds arbitrary bytes to one decoder of untrusted input through the project's own
 * functions. The same file is linked two ways: with libFuzzer by `make fuzz` (clang, ASan,
 * UBSan), and with tests/fuzz/replay.c by `make test`, which replays the target's seed corpus
 * and its saved regressions (tests/fuzz/corpus/<name>/, tests/fuzz/regressions/<name>/).
 *
 * Rules for a target: deterministic (the same bytes do the same thing), frees everything it
 * allocates (LeakSanitizer runs), never writes outside a scratch folder of its own,
 * and aborts (abort()) on an invariant it checks itself, so that the fuzzer reports it.
 */
#ifndef TW_FUZZ_H
#define TW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input; returns 0 (libFuzzer's contract). |data| is exactly |size| bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional, once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the target checks itself: when it does not hold, says which and aborts (the
 * fuzzer saves the input). */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    abort();
}

#endif
