/*
 * crash: the last log line of a runtime killed by user code. On SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE or SIGABRT it writes one FATAL JSON line naming the signal and the task the crashing
 * thread was running (kind, type, workflow id, activity id, from log_set_task), then lets the
 * signal kill the process exactly as it would have without the handler, so Lambda still sees
 * the same exit (Runtime.ExitError with the signal).
 * It does not recover, retry, unwind or print a stack: the process dies either way.
 *
 * A stack overflow (a workflow's coroutine running into its guard page) leaves no stack to run
 * a handler on, so each thread that runs tasks gets an alternate signal stack the first time it
 * gets one; it is freed when the thread exits.
 *
 * Handlers that were installed before crash_install (AddressSanitizer's, in the sanitizer
 * build) are kept: after the line, the fault runs again into the previous handler, which
 * reports it as before.
 */
#ifndef TW_CRASH_H
#define TW_CRASH_H

/* Installs the handlers. Call once from the main thread before any other thread starts.
 * Returns 0, or -1 when a handler could not be installed (the process then dies from a crash
 * as before, only without the line). */
int crash_install(void);

/* Gives the calling thread an alternate signal stack if it has none (log_set_task calls it
 * when a thread gets a task). Does nothing before crash_install, or when the thread already
 * has one (the sanitizer runtime's). Never fails loudly: without the stack, a stack overflow is
 * reported by the kernel's default action alone. */
void crash_thread_init(void);

#endif
