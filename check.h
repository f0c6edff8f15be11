/*
 * check: `bootstrap --check`, run outside Lambda with the environment (and temporal.toml) the
 * function will have, before deploying. It does what the function's init and the first
 * moments of an invocation do, and says in plain words what is fine and what is wrong, one
 * line per check:
 *
 *   ok   namespace default reachable at 127.0.0.1:7233 (TLS off)
 *   FAIL TEMPORAL_TASK_QUEUE is not set
 *   warn version b1 of Worker Deployment shop is not current: ...
 *   skip the Worker Deployment Version: no connection to Temporal
 *
 * In order: the worker settings (settings.h; every bad variable, not only the first; with
 * --function-timeout, the time it leaves to poll after TEMPORAL_SHUTDOWN_BUFFER), TEMPORAL_*
 * names bootstrap does not read (a typo), the connection settings (envconfig.h), the user's
 * library (_HANDLER under LAMBDA_TASK_ROOT, as Lambda loads it, or --handler), then on the
 * network, each step bounded by --timeout: DescribeNamespace, DescribeWorkerDeployment and
 * DescribeWorkerDeploymentVersion (the version exists, is current or ramping, has the compute
 * config naming a Lambda function that Temporal's Worker Controller invokes, and serves the
 * task queue). A step that needs an earlier one that failed is skipped, saying why.
 *
 * It never prints a secret: API key, client key, PEM data and gRPC metadata values stay out of
 * every line (envconfig's messages already leave them out; server messages are printed as
 * they come, and a server does not echo the key).
 *
 * Exit status: 0 when nothing failed (warnings do not count), 1 when a check failed, 2 on a
 * usage mistake. It starts no Lambda loop and needs no AWS_LAMBDA_RUNTIME_API.
 */
#ifndef TW_CHECK_H
#define TW_CHECK_H

#include <stdint.h>
#include <stdio.h>

#define CHECK_DEFAULT_TIMEOUT_MS 5000

typedef struct check_opts {
    const char *handler; /* the library, in place of _HANDLER (same resolution); NULL: _HANDLER */
    int timeout_ms;      /* each network step's bound; 0: CHECK_DEFAULT_TIMEOUT_MS */
    int64_t function_timeout_ms; /* the function's timeout, checked against the shutdown
                                  * buffer as each invocation does; 0: not checked */
} check_opts;

/* Runs every check against |env| (NULL-terminated "KEY=VALUE"; borrowed), writing the lines
 * to |out|. Returns the number of failed checks (0: all fine). Frees all it made. */
int check_run(const check_opts *o, const char *const *env, FILE *out);

/* `bootstrap --check [--handler FILE] [--timeout D] [--function-timeout D]`, also `--help` and
 * `--version`:
 * |argv| is bootstrap's, argv[1] the option that brought it here. Reads environ, writes to
 * stdout (usage mistakes to stderr). Returns the exit status. */
int check_main(int argc, char **argv);

/* Is |name| ("TEMPORAL_...") a variable bootstrap reads? (For the typo warning, and for the
 * test that keeps the list in step with the sources.) */
int check_known_variable(const char *name);

#endif
