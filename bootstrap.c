/*
 * bootstrap: the Lambda custom runtime's entry point. Checks the Lambda configuration it needs
 * before anything else (mistakes go to /runtime/init/error, naming the variable), then hands
 * every invocation to the function handler it was linked with: the Temporal worker in the
 * shipped bootstrap, a test handler in the tests.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/loop.h"

/* Provided by the handler linked into this executable. */
extern const rt_handler tw_function_handler;

/* _HANDLER names the function's shared object, relative to LAMBDA_TASK_ROOT or absolute. */
static int check_handler(rt_error *err)
{
    const char *handler = getenv("_HANDLER");
    const char *root = getenv("LAMBDA_TASK_ROOT");
    char path[PATH_MAX];
    struct stat st;

    if (!handler || !*handler) {
        rt_error_set(err, "Runtime.ConfigError",
                     "_HANDLER is not set: set the function's handler to the file name of its "
                     "shared object (e.g. libworkflows.so)");
        return -1;
    }
    if (handler[0] == '/')
        snprintf(path, sizeof(path), "%s", handler);
    else if ((size_t)snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", handler) >=
             sizeof(path)) {
        rt_error_set(err, "Runtime.ConfigError", "_HANDLER: path too long");
        return -1;
    }
    if (stat(path, &st) != 0) {
        rt_error_set(err, "Runtime.NoSuchHandler", "_HANDLER: %s: %s%s", path, strerror(errno),
                     handler[0] == '/' ? "" : " (relative to LAMBDA_TASK_ROOT)");
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rt_error_set(err, "Runtime.NoSuchHandler", "_HANDLER: %s is not a regular file", path);
        return -1;
    }
    return 0;
}

static int boot_init(void **state, rt_error *err)
{
    if (check_handler(err) != 0)
        return -1;
    return tw_function_handler.init(state, err);
}

int main(void)
{
    rt_handler h = tw_function_handler;
    h.init = boot_init;
    return rt_main(&h);
}
