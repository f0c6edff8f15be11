/*
 * fuzz_engine's parts (the engine's fuzz target is three files, one target):
 *   fuzz_engine.c   the workflows it loads, the modes an input is read in, running a task and
 *                   checking the answer (libFuzzer's entry points)
 *   engine_script.c the event script: input bytes read as a history, event by event
 *   engine_seeds.c  the seed corpus (TW_FUZZ_WRITE_SEEDS): the recorded histories and scripts
 *                   written with the script's own tables
 * Everything here aborts on what a target must never see (out of memory while building an
 * input, a seed naming an unknown workflow): the fuzzer reports it.
 */
#ifndef TW_FUZZ_ENGINE_H
#define TW_FUZZ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/engine/proto.h"

/* Input modes: the low two bits of an input's first byte (the rest of it picks the workflow
 * when the input names none: the index of engine_head()). */
enum { MODE_POLL = 0, MODE_HISTORY = 1, MODE_SCRIPT = 2 };

/* The bytes of an input still to read; reading past the end gives zeros. */
typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

uint8_t src_u8(src *s);

/* ---- fuzz_engine.c ---- */

/* Says what went wrong and aborts (the fuzzer keeps the input). */
void engine_die(const char *what);
/* The first byte of an input of |mode| for workflow |workflow| (dies if none is loaded). */
uint8_t engine_head(int mode, const char *workflow);

/* ---- engine_script.c ----
 * A script (see script_history) picks strings from tables, by a byte modulo the table's size;
 * seeds name them through script_index. */
enum script_table {
    ST_NAMES,     /* workflow and activity types, and external workflow ids */
    ST_IDS,       /* activity, timer and update ids */
    ST_JSON,      /* payload data */
    ST_ENCODINGS, /* payload encodings */
    ST_RUN_IDS,   /* original and new run ids */
    ST_HANDLERS,  /* signal and update names */
};
/* |value|'s index in table |t| (dies when it is not there). */
uint8_t script_index(int t, const char *value);
/* The op byte of event type |type| (EV(...)) in a script (dies for a type scripts lack). */
uint8_t script_kind(int type);

/* Builds the history that script |s| describes, packs it and returns what unpack gives back
 * (malloc'd: free with temporal__api__history__v1__history__free_unpacked(h, NULL)), so the
 * engine only ever sees what protobuf-c makes. Never NULL. */
pb_history *script_history(src *s);

/* ---- engine_seeds.c ---- */

/* Writes the seed corpus into folder |dir| (run from the repository root: it reads
 * tests/data). */
void engine_write_seeds(const char *dir);

#endif
