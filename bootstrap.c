/*
 * bootstrap: the Lambda custom runtime's entry point. Hands the runtime loop the function
 * handler it was linked with: the Temporal worker in the shipped bootstrap (temporal/
 * function.c), a test handler in the tests. The handler's init reads the configuration; its
 * mistakes go to /runtime/init/error, naming the variable.
 */
#define _POSIX_C_SOURCE 200809L

#include "runtime/loop.h"

/* Provided by the handler linked into this executable. */
extern const rt_handler tw_function_handler;

int main(void)
{
    return rt_main(&tw_function_handler);
}
