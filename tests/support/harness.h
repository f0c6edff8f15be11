/*
 * harness: what integration tests share. Starts the local Lambda emulator on a free loopback
 * port with a function folder of its own, stops it, reads what it printed, and makes HTTP
 * calls (libcurl) the way a client of Lambda's API does. Built executables are found under
 * $BUILD (default "build").
 */
#ifndef TW_HARNESS_H
#define TW_HARNESS_H

#include <stddef.h>

typedef struct emu_proc {
    int pid;
    int port;
    char dir[256];     /* the function's code folder (LAMBDA_TASK_ROOT) */
    char log[300];     /* everything the emulator printed */
} emu_proc;

typedef struct http_answer {
    long status;
    char *headers; /* raw header block */
    char *body;
    size_t body_len;
} http_answer;

/* The contents of |path| (malloc'd, NUL-terminated; "" when unreadable), its length in *len. */
char *read_all(const char *path, size_t *len);

/* Path of a built executable: $BUILD/<name>. Static buffer. */
const char *harness_built(const char *name);

/* Starts the emulator serving |bootstrap| (a path) with |args| (NULL-terminated, may be NULL)
 * after the defaults. The code folder gets an empty "handler.so" and --handler handler.so.
 * Returns 0 once it listens, -1 on failure (the log says why). */
int emu_start(emu_proc *p, const char *bootstrap, const char *const *args);
/* Stops it and removes its folder. Returns -1 when its output holds a sanitizer report. */
int emu_stop(emu_proc *p);
/* What the emulator printed so far (malloc'd). */
char *emu_output(const emu_proc *p);
/* Waits up to |ms| until the output contains |needle| |count| times. */
int emu_wait_output(const emu_proc *p, const char *needle, int count, int ms);
int count_substr(const char *hay, const char *needle);

/* POST to the Invoke API of |p|; |type| is X-Amz-Invocation-Type or NULL; |extra| more
 * header lines (NULL-terminated, may be NULL). */
int emu_invoke(const emu_proc *p, const char *function, const char *type, const char *payload,
               const char *const *extra, http_answer *out);
int http_get(const char *url, http_answer *out);
void http_answer_free(http_answer *a);
/* The value of header |name| in |a| (malloc'd), or NULL. */
char *http_answer_header(const http_answer *a, const char *name);

#endif
