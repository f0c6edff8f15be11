/*
 * bootstrap: the Lambda custom runtime's entry point. Hands the runtime loop the function
 * handler it was linked with: the Temporal worker in the shipped bootstrap (temporal/
 * function.c), a test handler in the tests. The handler's init reads the configuration; its
 * mistakes go to /runtime/init/error, naming the variable. From the first line of main,
 * a crash leaves one log line naming the task that crashed (runtime/crash.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "runtime/crash.h"
#include "runtime/loop.h"

/* Provided by the handler linked into this executable. */
extern const rt_handler function_handler;

int main(int argc, char **argv)
{
    crash_install(); /* before any thread exists; if it fails, a crash only lacks its line */
    if (argc > 1 && function_handler.command) /* run by hand: bootstrap --check (check.h) */
        return function_handler.command(argc, argv);
    return rt_main(&function_handler);
}
