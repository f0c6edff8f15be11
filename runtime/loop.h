/*
 * rt_loop: the runtime's main loop. Initialises a handler, then repeats
 * next -> handler -> response | error until the Runtime API goes away. A handler is the
 * Temporal worker in `bootstrap`, or a handler of a test's own.
 */
#ifndef TW_RT_LOOP_H
#define TW_RT_LOOP_H

#include <stddef.h>

#include "rt.h"

/* An error a handler reports: |type| in Category.Reason form (Runtime.ConfigError,
 * Function.Unhandled, ...), |message| for the user. */
typedef struct rt_error {
    char type[64];
    char message[1024];
} rt_error;

void rt_error_set(rt_error *e, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What an invocation produced: on success |body| (malloc'd, |len| bytes; the loop frees it),
 * on failure |err|. |restart|: the process cannot go on (a thread is stuck in user code); the
 * loop answers the invocation, then exits so Lambda starts a fresh environment. */
typedef struct rt_result {
    char *body;
    size_t len;
    rt_error err;
    int restart;
} rt_result;

typedef struct rt_handler {
    /* Called once before the first `next`. Returns 0 and sets *state, or non-zero with |err|
     * filled; the loop then posts it to /runtime/init/error and exits. */
    int (*init)(void **state, rt_error *err);
    /* Called for each invocation, on the loop's thread. Returns 0 with res->body set, or
     * non-zero with res->err filled. It must return before inv->deadline_ms. */
    int (*invoke)(void *state, const rt_invocation *inv, rt_result *res);
    /* Frees what init made; called once at exit. May be NULL. */
    void (*destroy)(void *state);
    /* What the executable does when started with arguments (Lambda starts it with none):
     * `bootstrap --check`. Gets main's argc/argv, returns the exit status. May be NULL: then
     * arguments are ignored. */
    int (*command)(int argc, char **argv);
} rt_handler;

/* Runs |h| against $AWS_LAMBDA_RUNTIME_API until a fatal error. Returns the process exit
 * status: always non-zero (Lambda restarts a runtime that exits). */
int rt_main(const rt_handler *h);

#endif
