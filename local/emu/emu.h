/*
 * emu: a local AWS Lambda for one function. Plays the Runtime API for the runtime processes it
 * starts (one per execution environment) and Lambda's Invoke / GetFunction API for clients.
 * Shared state of the emulator; one thread runs everything (main.c's poll loop).
 */
#ifndef EMU_H
#define EMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http.h"

#define SYNC_PAYLOAD_MAX (6 * 1024 * 1024)      /* 6 MB request and response */
#define RESPONSE_PAYLOAD_MAX (6 * 1024 * 1024 + 100)
#define ASYNC_PAYLOAD_MAX (1024 * 1024)         /* 1 MB for Event invokes */
#define TAIL_MAX 4096                            /* X-Amz-Log-Type: Tail */

typedef struct emu_config {
    const char *function_name;
    const char *region;
    const char *account;
    const char *handler;
    const char *bootstrap;
    const char *code_dir;
    const char *runtime_name; /* "provided.al2023" */
    const char *architecture;
    const char *listen_host;
    int listen_port;
    int timeout_s;
    int memory_mb;
    int concurrency;
    int versions; /* published versions 1..N (besides $LATEST) */
    int init_timeout_s;
    int async_retries;
    int async_retry_delay_s;
    char **env;   /* "KEY=VALUE" passed to the function */
    int nenv;
    /* Chaos (tests only): this fraction of invocations has its runtime SIGKILLed at a random
     * moment before the deadline, as an environment crash; draws from |chaos_seed|. */
    double chaos_kill_rate;
    unsigned chaos_seed;
} emu_config;

typedef struct invocation invocation;
typedef struct environment environment;

struct invocation {
    char id[40];
    char trace_id[96];
    char version[16];     /* executed version: "$LATEST" or "N" */
    char *payload;
    size_t payload_len;
    char *client_context;
    int async;
    int tail;             /* X-Amz-Log-Type: Tail */
    int attempt;          /* async: 1, then retries */
    int64_t not_before;   /* async retry: not dispatched before (monotonic ms) */
    http_conn *client;    /* sync: the waiting caller, NULL once it left */
    int64_t received_ms;
    int64_t start_ms;     /* handed to the runtime (monotonic) */
    int64_t start_us;
    int64_t deadline_ms;  /* wall clock, as sent in Lambda-Runtime-Deadline-Ms */
    int64_t deadline_mono;
    invocation *next;     /* queue link */
};

enum env_state {
    ENV_STARTING, /* process started, its first `next` not yet seen (init) */
    ENV_IDLE,     /* waiting in `next`, frozen */
    ENV_BUSY,     /* an invocation handed over, or being handed over after init */
    ENV_DONE,     /* answered; waits for the runtime's next `next` */
    ENV_DEAD,     /* exited or killed; cleaned up by the loop */
};

struct environment {
    int id;
    enum env_state state;
    pid_t pid;
    int listen_fd;
    int port;
    int log_fd;              /* the runtime's stdout and stderr */
    char logline[8192];
    size_t logline_len;
    char tail[TAIL_MAX];     /* the current invocation's last log bytes */
    size_t tail_len;
    http_conn *next_conn;    /* holds the runtime's `next` while idle */
    invocation *current;
    int frozen;
    int cold;                /* the current invocation pays the init */
    int64_t spawn_ms;
    int64_t spawn_us;
    double init_ms;
    char *init_error;        /* body posted to /runtime/init/error */
    int64_t kill_at;         /* monotonic ms; 0 = none */
    int64_t chaos_kill_at;   /* monotonic ms: --chaos-kill-rate's kill of this invocation; 0 = none */
    int invocations;
    long exit_maxrss_kb;     /* the exited process's peak, from wait4() */
    environment *next;
};

typedef struct emu {
    emu_config cfg;
    char arn[256];
    int invoke_fd;
    int invoke_port;
    environment *envs;
    int nenvs;
    int next_env_id;
    invocation *queue, **queue_tail;
    int stopping;
    uint32_t chaos_rng;  /* xorshift32 state for --chaos-kill-rate */
} emu;

/* env.c: execution environments and the Runtime API. */
int env_assign(emu *e, invocation *inv); /* 0: handed or queued on a fresh environment; -1: none free */
void env_dispatch_queue(emu *e);
void env_on_runtime_request(http_conn *c, http_req *req, void *ud);
void env_on_log(emu *e, environment *env);
void env_on_exit(emu *e, pid_t pid, int status, long maxrss_kb);
void env_on_timers(emu *e, int64_t now);
int64_t env_next_timer(const emu *e);
void env_reap(emu *e);
void env_shutdown_all(emu *e);

/* invoke.c: Lambda's Invoke and GetFunction API. */
void invoke_on_request(http_conn *c, http_req *req, void *ud);
/* Completes |inv|: answers a sync caller, retries or drops an async one, frees it.
 * |error_type| NULL means success with |body| as the result. */
void invoke_finish(emu *e, invocation *inv, const char *function_error, const char *body,
                   size_t len);
void invocation_free(invocation *inv);
/* A caller went away: its sync invocation runs on, unanswered. */
void invoke_conn_closed(emu *e, http_conn *c);
/* main.c: closes the connections of an environment about to be freed. */
void emu_forget_env(emu *e, environment *env);

/* main.c */
int64_t now_mono_ms(void);
int64_t now_mono_us(void);
int64_t now_wall_ms(void);
void emu_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void emu_watch_conn(emu *e, http_conn *c);
void random_hex(char *out, size_t n);
void make_uuid(char out[37]);

#endif
