/*
 * tserver: the real Temporal server (local/temporal/server, built from Temporal's Go modules)
 * and the Go SDK driver (local/temporal/driver), for integration tests. Each server gets its
 * own loopback port and log; tests stop what they start.
 */
#ifndef TW_TSERVER_H
#define TW_TSERVER_H

typedef struct tserver {
    int pid;
    int port;
    char dir[256];   /* scratch folder: log, certificates */
    char log[300];
    char tls_args[4][300]; /* driver flags matching the server's TLS set-up */
    int ntls_args;
} tserver;

/* A free loopback port (bound, then released). */
int free_port(void);
/* Starts the server on |port| (0: a free one) with |extra| flags (NULL-terminated, or NULL);
 * |dir| NULL makes a fresh scratch folder. Waits until it answers. 0 or -1. */
int tserver_start(tserver *s, int port, const char *dir, const char *const *extra);
/* SIGTERM (or SIGKILL when |hard|), wait. Keeps the folder when |keep_dir|. */
void tserver_stop(tserver *s, int hard, int keep_dir);
/* Runs the driver against |s| with |args| (NULL-terminated); its stdout in *out (malloc'd).
 * Returns its exit status. */
int driver_run(const tserver *s, char **out, const char *const *args);
/* Runs the driver with |args| and parses its one JSON object. NULL when it failed or printed
 * no JSON; then *why (malloc'd) holds its exit status and output. */
struct cJSON *driver_json_of(const tserver *s, const char *const *args, char **why);

/* Generates test certificates into |dir| (local/temporal/certs.sh). 0 or -1. */
int make_certs(const char *dir);

#endif
