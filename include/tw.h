/*
 * tw.h: the public API for writing Temporal workflows and activities in C, run by the
 * `bootstrap` Lambda runtime. This is the only header user code includes.
 *
 * A user library is a shared object (named by the function's handler, _HANDLER) that defines
 * one entry point with TW_LIBRARY():
 *
 *     static int setup(tw_registry *r)
 *     {
 *         tw_register_workflow(r, "Greet", greet, TW_PINNED);
 *         tw_register_activity(r, "ComposeGreeting", compose);
 *         return 0;
 *     }
 *     TW_LIBRARY(setup)
 *
 * The runtime loads it with dlopen, reads `tw_library_abi` before anything else (a library
 * built against another major version, or a newer minor version than the runtime's, is refused
 * with a message naming both), then calls the entry with its function table. Calls from user
 * code go through that table (as with sqlite's loadable extensions), so the library links
 * against nothing of the runtime; the table only ever grows at its end, and the entry itself
 * refuses a table shorter than the one the library was built against.
 *
 * Conventions: functions return 0 on success or a negative TW_E* code. Memory a workflow gets
 * from the runtime (payloads, strings) lives in the workflow's arena until the workflow task
 * ends unless said otherwise; tw_wf_alloc() gives user memory from the same arena. An
 * activity's memory lives until the activity returns.
 *
 * Lifetimes, the one rule: every argument is borrowed only for the call. The runtime copies
 * what it keeps before the call returns, including a tw_failure's type, message and details
 * (tw_wf_fail() and tw_act_fail() deep-copy them), so a failure built from stack arrays is
 * fine. The one exception is the result: the bytes of the *result a workflow or activity
 * function returns are read after it returned, so they must come from tw_wf_alloc() /
 * tw_act_alloc() or be static (a string literal, a static array), never the function's stack
 * or memory it frees.
 *
 * Stack: workflow code runs on a coroutine stack of 256 KiB with a 64 KiB guard below it, so
 * keep large buffers off the stack (use tw_wf_alloc()). A frame bigger than the guard could
 * jump it: build libraries with -fstack-clash-protection, which makes such frames touch every
 * page, so an overflow always faults instead of writing into other memory:
 *
 *   cc -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection -Iinclude -o lib.so w.c
 *
 * Activities run on ordinary threads with the system's thread stack size.
 *
 * Threading: workflow code runs on the runtime's workflow threads, one workflow at a time per
 * thread, and must be deterministic; activity code runs on the activity pool, several at once.
 *
 * C++: the header compiles as C++11 or later (the same layout and entry points as in C). No
 * exception may leave a function the runtime calls: catch in each one and turn it into
 * tw_wf_fail() / tw_act_fail(). A coroutine the runtime drops while it is blocked (the workflow
 * completed, its run left the cache) is never unwound, so its stack objects are not destroyed:
 * keep what must be freed out of scopes that block, or in tw_wf_alloc() memory. And block in no
 * catch handler: the exception being handled is per thread, shared by the coroutines on it.
 * examples/cxx shows all three.
 */
#ifndef TW_H
#define TW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TW_ABI_MAJOR 1
#define TW_ABI_MINOR 2
#define TW_ABI_VERSION ((TW_ABI_MAJOR << 16) | TW_ABI_MINOR)

enum {
    TW_OK = 0,
    TW_EINVAL = -1,    /* bad argument */
    TW_ENOMEM = -2,    /* out of memory */
    TW_EEXIST = -3,    /* a name registered twice */
    TW_EFAILED = -4,   /* the awaited operation failed: see tw_wf_last_failure() */
    TW_ECANCELED = -5, /* the operation, or the workflow or activity, was cancelled */
    TW_ESTATE = -6,    /* not allowed now (e.g. a workflow call outside a workflow) */
    TW_ETIMEDOUT = -7, /* a timed wait expired (tw_await_condition, tw_signal_receive); ABI 1.1 */
    TW_ENOTFOUND = -8, /* no such handler or target; ABI 1.1 */
    TW_EPENDING = -9,  /* an activity's answer comes later, by its task token (ABI 1.2) */
    TW_ECONTINUE_AS_NEW = -10, /* the workflow continues as new (tw_continue_as_new; ABI 1.2) */
};

/* ---- payloads ---- */

/* A payload view: an encoding ("json/plain", "binary/plain", "binary/null", ...) and bytes. */
typedef struct tw_payload {
    const char *encoding;
    const uint8_t *data;
    size_t len;
} tw_payload;

/* A failure as Temporal carries it: an application error (ApplicationFailureInfo), or, from
 * ABI 1.1 on, any kind with its cause chain. What the runtime hands workflow code
 * (tw_wf_last_failure) has every field; a failure the code passes to tw_wf_fail()/tw_act_fail()
 * is read up to the fields of the ABI the library was built against. */
typedef struct tw_failure {
    const char *type;      /* application error type, e.g. "InsufficientFunds"; for another
                            * kind, the type of the application error that caused it when there
                            * is one (so 1.0 code reading .type sees what failed), else "Timeout",
                            * "Canceled", "Terminated" or "Server" */
    const char *message;   /* the same: for an activity's or a child's failure, its cause's */
    int non_retryable;
    const tw_payload *details; /* a timeout's: the last heartbeat details */
    size_t ndetails;
    /* ---- ABI 1.1 (read only from libraries built against 1.1 or later) ---- */
    int kind;              /* TW_FAILURE_* */
    const struct tw_failure *cause; /* what caused it, or NULL (an activity's failure: the
                                     * activity's own error); at most 16 deep */
    int timeout_type;      /* TW_TIMEOUT_* for a timeout (and an activity that timed out) */
    const char *activity_type; /* an activity's failure: which activity */
    const char *activity_id;
    int retry_state;       /* an activity's failure: why it was not retried (Temporal's
                            * RetryState: 2 non-retryable failure, 3 timeout, 4 maximum attempts
                            * reached, ...; 0 unknown) */
    const char *stack_trace;
    /* ---- ABI 1.2 (read only from libraries built against 1.2 or later) ---- */
    const char *workflow_type; /* a child workflow's failure: which child (type, id, run) */
    const char *workflow_id;
    const char *run_id;
} tw_failure;

/* tw_failure.kind */
enum {
    TW_FAILURE_APPLICATION = 0, /* an error the code raised (tw_wf_fail, tw_act_fail) */
    TW_FAILURE_ACTIVITY = 1,    /* an activity failed: its cause is why */
    TW_FAILURE_CANCELED = 2,
    TW_FAILURE_TIMEOUT = 3,
    TW_FAILURE_TERMINATED = 4,
    TW_FAILURE_SERVER = 5,
    TW_FAILURE_CHILD_WORKFLOW = 6,
};
/* tw_failure.timeout_type (Temporal's TimeoutType) */
enum {
    TW_TIMEOUT_START_TO_CLOSE = 1,
    TW_TIMEOUT_SCHEDULE_TO_START = 2,
    TW_TIMEOUT_SCHEDULE_TO_CLOSE = 3,
    TW_TIMEOUT_HEARTBEAT = 4,
};

typedef enum tw_versioning {
    TW_PINNED = 1,       /* a running workflow stays on the version that started it */
    TW_AUTO_UPGRADE = 2, /* a running workflow moves to the current version */
} tw_versioning;

typedef struct tw_registry tw_registry;
typedef struct tw_wf tw_wf;
typedef struct tw_act tw_act;
typedef struct tw_future tw_future;

/* A workflow: returns 0 with *result set (tw_json(), tw_null(), ...), or a negative value after
 * tw_wf_fail() (the workflow fails with that failure). The bytes of *result are read after the
 * function returned: tw_wf_alloc() or static memory (see "Lifetimes" above). */
typedef int (*tw_workflow_fn)(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result);
/* An activity: returns 0 with *result set, or a negative value after tw_act_fail(). *result's
 * bytes: tw_act_alloc() or static memory. */
typedef int (*tw_activity_fn)(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result);
/* Workflow code run as a coroutine of its own by tw_go() (ABI 1.1): returns 0 with *result
 * set, or a negative value (after tw_wf_fail(): the future fails with that failure). */
typedef int (*tw_coroutine_fn)(tw_wf *wf, void *arg, tw_payload *result);
/* A condition tw_await_condition() waits for: nonzero when it holds. It only reads workflow
 * state (no blocking call: those return TW_ESTATE inside it) and is evaluated again whenever
 * the workflow's other code has run. */
typedef int (*tw_condition_fn)(tw_wf *wf, void *arg);
/* A signal handler (ABI 1.1): runs as a coroutine of its own for each signal it is given, with
 * the signal's arguments (in the workflow's arena). It may block (run activities, sleep).
 * tw_handler_name() is the signal's name (for a default handler). */
typedef void (*tw_signal_fn)(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs);

/* A query handler (ABI 1.1): reads workflow state and answers; it must not block or make
 * commands (such calls return TW_ESTATE in it). Returns 0 with *result set (workflow memory or
 * static, as a workflow's result), or a negative value after tw_wf_fail() (the query fails
 * with that failure; the workflow goes on). */
typedef int (*tw_query_fn)(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs,
                           tw_payload *result);
/* An update's validator (ABI 1.1): read-only like a query handler; 0 accepts the update,
 * nonzero (after tw_wf_fail() for the reason) rejects it. */
typedef int (*tw_update_validator_fn)(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs);
/* An update handler (ABI 1.1): runs as a coroutine of its own and may block (activities,
 * timers). Returns 0 with *result set, or a negative value after tw_wf_fail() (the update
 * fails with that failure; the workflow goes on). */
typedef int (*tw_update_fn)(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs,
                            tw_payload *result);

typedef struct tw_retry_policy {
    int64_t initial_interval_ms; /* 0: server default (1 s) */
    double backoff_coefficient;  /* 0: server default (2.0) */
    int64_t maximum_interval_ms; /* 0: server default (100 x initial) */
    int32_t maximum_attempts;    /* 0: unlimited */
    const char *const *non_retryable_types; /* NULL-terminated, or NULL */
} tw_retry_policy;

typedef struct tw_activity_options {
    const char *activity_id;          /* NULL: the runtime picks one ("1", "2", ...) */
    const char *task_queue;           /* NULL: the workflow's */
    int64_t schedule_to_close_ms;     /* one of these two is required */
    int64_t start_to_close_ms;
    int64_t schedule_to_start_ms;
    int64_t heartbeat_ms;
    const tw_retry_policy *retry;     /* NULL: server default */
    /* ---- ABI 1.1 (read only from libraries built against 1.1 or later) ---- */
    int cancellation_type;            /* what tw_cancel() (or the workflow's cancel) does to it:
                                       * TW_CANCEL_TRY (0, the default), _WAIT_COMPLETED,
                                       * _ABANDON */
} tw_activity_options;

/* How an activity is cancelled (tw_activity_options.cancellation_type), as the official SDKs:
 * TRY asks the server to cancel it and the code goes on at once (TW_ECANCELED); WAIT_COMPLETED
 * asks and waits for the activity's answer (it sees the cancellation through tw_heartbeat),
 * and the wait then returns what the activity did: TW_ECANCELED when it confirmed the
 * cancellation, its result when it completed anyway, TW_EFAILED when it failed (as sdk-go);
 * ABANDON tells nobody, the activity runs on and its result is dropped. */
enum { TW_CANCEL_TRY = 0, TW_CANCEL_WAIT_COMPLETED = 1, TW_CANCEL_ABANDON = 2 };

typedef struct tw_wf_info {
    const char *workflow_id;
    const char *run_id;
    const char *workflow_type;
    const char *task_queue;
    int32_t attempt;
    /* ---- ABI 1.2: present when |size| (the runtime's sizeof) covers them ---- */
    uint32_t size;
    const char *namespace_name;
    const char *parent_namespace;     /* a child's parent, else NULL */
    const char *parent_workflow_id;
    const char *parent_run_id;
    const char *root_workflow_id;     /* the top of the parent chain (itself when none) */
    const char *root_run_id;
    const char *first_run_id;         /* the first run of the chain of continue-as-new/retries */
    const char *continued_run_id;     /* the run this one continues, else NULL */
    const char *cron_schedule;        /* NULL when none */
    int64_t start_time_ms;            /* this run's start, Unix ms */
    int64_t execution_timeout_ms;     /* 0: none */
    int64_t run_timeout_ms;
    int64_t task_timeout_ms;
    int64_t history_length;           /* events in the history as of the current task */
    int64_t history_size_bytes;       /* its size as the server counts it */
    int continue_as_new_suggested;    /* the server suggests continuing as new */
    const char *deployment_name;      /* the worker's deployment version, or NULL */
    const char *build_id;
    int target_version_changed;       /* a pinned workflow's deployment has another target
                                       * (current or ramping) version than the one it runs on:
                                       * tw_continue_as_new() with TW_CAN_VERSIONING_AUTO_UPGRADE
                                       * moves it there (updated at every task; an auto-upgrade
                                       * workflow moves by itself and never sees it) */
    uint32_t continue_as_new_reasons; /* why continue_as_new_suggested: TW_CAN_REASON_* bits
                                       * (0 when not suggested) */
} tw_wf_info;

typedef struct tw_act_info {
    const char *activity_id;
    const char *activity_type;
    const char *workflow_id;
    const char *run_id;
    const char *task_queue;
    int32_t attempt;
    int64_t deadline_ms;          /* Unix ms: the earliest of start-to-close, schedule-to-close, Lambda */
    const tw_payload *heartbeat_details; /* from the last attempt, or NULL */
    size_t nheartbeat_details;
    /* ---- ABI 1.2: present when |size| (the runtime's sizeof) covers them ---- */
    uint32_t size;
    const char *namespace_name;
    const char *workflow_type;
    int64_t scheduled_time_ms;        /* first scheduled, Unix ms */
    int64_t current_attempt_scheduled_time_ms;
    int64_t started_time_ms;          /* this attempt's start */
    int64_t heartbeat_timeout_ms;     /* 0: none */
    int64_t schedule_to_close_ms;
    int64_t start_to_close_ms;
    const uint8_t *task_token;        /* for completing it later (TW_EPENDING) */
    size_t task_token_len;
    int is_local;                     /* a local activity */
} tw_act_info;

/* ABI 1.2: the types below are defined with their calls, after the table. */
typedef struct tw_child_options tw_child_options;
typedef struct tw_continue_options tw_continue_options;
typedef struct tw_local_activity_options tw_local_activity_options;
typedef struct tw_search_attribute tw_search_attribute;
typedef struct tw_codec tw_codec;
typedef struct tw_codec_ctx tw_codec_ctx;
typedef struct tw_codec_payload tw_codec_payload;
/* Workflow code whose result is recorded once and replayed (tw_side_effect, ABI 1.2). */
typedef int (*tw_side_effect_fn)(tw_wf *wf, void *arg, tw_payload *result);
/* Run at the stop of each invocation, after the drain, with the Lambda deadline (Unix ms). */
typedef void (*tw_stop_fn)(void *arg, int64_t deadline_ms);

/* The runtime's function table. Fields are only ever added at the end. */
typedef struct tw_api {
    uint32_t abi_version;
    uint32_t size; /* sizeof(tw_api) of the runtime */
    /* registry */
    int (*register_workflow)(tw_registry *r, const char *name, tw_workflow_fn fn, tw_versioning v);
    int (*register_activity)(tw_registry *r, const char *name, tw_activity_fn fn);
    /* workflows */
    int (*wf_execute_activity)(tw_wf *wf, const char *type, const tw_activity_options *o,
                               const tw_payload *args, size_t nargs, tw_payload *result);
    int (*wf_start_activity)(tw_wf *wf, const char *type, const tw_activity_options *o,
                             const tw_payload *args, size_t nargs, tw_future **out);
    int (*wf_sleep)(tw_wf *wf, int64_t ms);
    int (*wf_start_timer)(tw_wf *wf, int64_t ms, tw_future **out);
    int (*wf_await)(tw_wf *wf, tw_future *f, tw_payload *result);
    int (*wf_select)(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready);
    int64_t (*wf_now_ms)(tw_wf *wf);
    uint64_t (*wf_random)(tw_wf *wf);
    const tw_wf_info *(*wf_info)(tw_wf *wf);
    void *(*wf_alloc)(tw_wf *wf, size_t n);
    void (*wf_log)(tw_wf *wf, int level, const char *msg);
    int (*wf_fail)(tw_wf *wf, const tw_failure *f);
    const tw_failure *(*wf_last_failure)(tw_wf *wf);
    /* activities */
    const tw_act_info *(*act_info)(tw_act *act);
    int (*act_heartbeat)(tw_act *act, const tw_payload *details, size_t n);
    int (*act_cancelled)(tw_act *act);
    void *(*act_alloc)(tw_act *act, size_t n);
    void (*act_log)(tw_act *act, int level, const char *msg);
    int (*act_fail)(tw_act *act, const tw_failure *f);
    /* ---- ABI 1.1 ---- */
    int (*wf_go)(tw_wf *wf, tw_coroutine_fn fn, void *arg, tw_future **out);
    int (*wf_await_condition)(tw_wf *wf, tw_condition_fn pred, void *arg, int64_t timeout_ms);
    int (*wf_cancel_requested)(tw_wf *wf);
    int (*wf_cancel)(tw_wf *wf, tw_future *f);
    int (*wf_cancel_external)(tw_wf *wf, const char *workflow_id, const char *run_id,
                              tw_future **out);
    int (*wf_set_signal_handler)(tw_wf *wf, const char *name, tw_signal_fn fn, void *arg);
    int (*wf_signal_receive)(tw_wf *wf, const char *name, tw_payload **args, size_t *nargs,
                             int64_t timeout_ms);
    int (*wf_signal_external)(tw_wf *wf, const char *workflow_id, const char *run_id,
                              const char *signal, const tw_payload *args, size_t nargs,
                              tw_future **out);
    int (*wf_all_handlers_finished)(tw_wf *wf);
    const char *(*wf_handler_name)(tw_wf *wf);
    int (*wf_set_query_handler)(tw_wf *wf, const char *name, tw_query_fn fn, void *arg);
    int (*wf_set_update_handler)(tw_wf *wf, const char *name, tw_update_fn fn,
                                 tw_update_validator_fn validator, void *arg);
    /* ---- ABI 1.2 ---- */
    /* child workflows */
    int (*wf_start_child)(tw_wf *wf, const char *type, const tw_child_options *o,
                          const tw_payload *args, size_t nargs, tw_future **started,
                          tw_future **result);
    int (*wf_execute_child)(tw_wf *wf, const char *type, const tw_child_options *o,
                            const tw_payload *args, size_t nargs, tw_payload *result);
    int (*wf_child_execution)(tw_wf *wf, tw_future *child, const char **workflow_id,
                              const char **run_id);
    int (*wf_signal_child)(tw_wf *wf, tw_future *child, const char *signal,
                           const tw_payload *args, size_t nargs, tw_future **out);
    /* continue-as-new */
    int (*wf_continue_as_new)(tw_wf *wf, const tw_continue_options *o, const tw_payload *args,
                              size_t nargs);
    /* markers: side effects, patches */
    int (*wf_side_effect)(tw_wf *wf, tw_side_effect_fn fn, void *arg, tw_payload *result);
    int (*wf_mutable_side_effect)(tw_wf *wf, const char *id, tw_side_effect_fn fn, void *arg,
                                  tw_payload *result);
    int (*wf_patched)(tw_wf *wf, const char *patch_id);
    int (*wf_deprecate_patch)(tw_wf *wf, const char *patch_id);
    /* local activities */
    int (*wf_execute_local_activity)(tw_wf *wf, const char *type,
                                     const tw_local_activity_options *o, const tw_payload *args,
                                     size_t nargs, tw_payload *result);
    int (*wf_start_local_activity)(tw_wf *wf, const char *type,
                                   const tw_local_activity_options *o, const tw_payload *args,
                                   size_t nargs, tw_future **out);
    /* search attributes, memo, headers */
    const tw_payload *(*wf_search_attribute)(tw_wf *wf, const char *name);
    int (*wf_upsert_search_attributes)(tw_wf *wf, const tw_search_attribute *sa, size_t n);
    const tw_payload *(*wf_memo)(tw_wf *wf, const char *key);
    int (*wf_upsert_memo)(tw_wf *wf, const char *key, const tw_payload *value);
    const tw_payload *(*wf_header)(tw_wf *wf, const char *key);
    int (*wf_set_header)(tw_wf *wf, const char *key, const tw_payload *value);
    const tw_payload *(*act_header)(tw_act *act, const char *key);
    /* the registry: a payload codec, dynamic workflows and activities, stop hooks */
    int (*register_codec)(tw_registry *r, const tw_codec *codec, void *arg);
    void *(*codec_alloc)(tw_codec_ctx *c, size_t n);
    void (*codec_error)(tw_codec_ctx *c, const char *message);
    int (*codec_marshal)(tw_codec_ctx *c, const tw_codec_payload *p, const uint8_t **out,
                         size_t *len);
    int (*codec_unmarshal)(tw_codec_ctx *c, const uint8_t *data, size_t len,
                           tw_codec_payload *out);
    int (*register_dynamic_workflow)(tw_registry *r, tw_workflow_fn fn, tw_versioning v);
    int (*register_dynamic_activity)(tw_registry *r, tw_activity_fn fn);
    int (*register_stop_hook)(tw_registry *r, tw_stop_fn fn, void *arg);
    int (*act_worker_stopping)(tw_act *act);
} tw_api;

/* ---- the library entry point ---- */

/* The table, set by the entry point TW_LIBRARY() defines. */
extern const tw_api *tw__api;

#define TW_EXPORT __attribute__((visibility("default")))

/* What TW_LIBRARY() defines; the runtime finds both with dlsym. */
TW_EXPORT extern const uint32_t tw_library_abi;
TW_EXPORT int tw_library_init(const tw_api *api, tw_registry *r);

/* Defines the library's ABI stamp and its entry point, which calls |setup| with the registry.
 * Used once, at file scope (in C++ too: outside any namespace; both names keep the C linkage
 * of their declarations above). */
#define TW_LIBRARY(setup)                                                                   \
    const tw_api *tw__api;                                                                  \
    const uint32_t tw_library_abi = TW_ABI_VERSION; /* exported: declared so above */       \
    TW_EXPORT int tw_library_init(const tw_api *api, tw_registry *r)                        \
    {                                                                                       \
        if (!api || (api->abi_version >> 16) != TW_ABI_MAJOR ||                             \
            api->size < sizeof(tw_api)) /* a runtime older than this tw.h */                \
            return TW_EINVAL;                                                               \
        tw__api = api;                                                                      \
        return setup(r);                                                                    \
    }

/* ---- calls, through the table ---- */

static inline int tw_register_workflow(tw_registry *r, const char *name, tw_workflow_fn fn,
                                       tw_versioning v)
{ return tw__api->register_workflow(r, name, fn, v); }
static inline int tw_register_activity(tw_registry *r, const char *name, tw_activity_fn fn)
{ return tw__api->register_activity(r, name, fn); }

/* Runs an activity and waits for it. TW_EFAILED when it failed for good (its failure is
 * tw_wf_last_failure()). */
static inline int tw_execute_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                                      const tw_payload *args, size_t nargs, tw_payload *result)
{ return tw__api->wf_execute_activity(wf, type, o, args, nargs, result); }
static inline int tw_start_activity(tw_wf *wf, const char *type, const tw_activity_options *o,
                                    const tw_payload *args, size_t nargs, tw_future **out)
{ return tw__api->wf_start_activity(wf, type, o, args, nargs, out); }
/* Durable timers of |ms| milliseconds. 0 ms resolves at once, as in the official SDKs
 * (tw_sleep returns, the timer's future is ready); a negative |ms| is TW_EINVAL. */
static inline int tw_sleep(tw_wf *wf, int64_t ms) { return tw__api->wf_sleep(wf, ms); }
static inline int tw_start_timer(tw_wf *wf, int64_t ms, tw_future **out)
{ return tw__api->wf_start_timer(wf, ms, out); }
/* Waits for |f|; *result (may be NULL) is its value. */
static inline int tw_await(tw_wf *wf, tw_future *f, tw_payload *result)
{ return tw__api->wf_await(wf, f, result); }
/* Waits until one of |fs| is ready; *ready is its index. */
static inline int tw_select(tw_wf *wf, tw_future *const *fs, size_t n, size_t *ready)
{ return tw__api->wf_select(wf, fs, n, ready); }
/* Deterministic time (the workflow task's start) and randomness (seeded by the run). */
static inline int64_t tw_now_ms(tw_wf *wf) { return tw__api->wf_now_ms(wf); }
static inline uint64_t tw_random(tw_wf *wf) { return tw__api->wf_random(wf); }
static inline const tw_wf_info *tw_wf_info_get(tw_wf *wf) { return tw__api->wf_info(wf); }
static inline void *tw_wf_alloc(tw_wf *wf, size_t n) { return tw__api->wf_alloc(wf, n); }
/* Logs, silent while the workflow replays. */
static inline void tw_wf_log(tw_wf *wf, int level, const char *msg) { tw__api->wf_log(wf, level, msg); }
static inline int tw_wf_fail(tw_wf *wf, const tw_failure *f) { return tw__api->wf_fail(wf, f); }
static inline const tw_failure *tw_wf_last_failure(tw_wf *wf) { return tw__api->wf_last_failure(wf); }

/* ---- several coroutines per workflow (ABI 1.1) ----
 *
 * A workflow may run several pieces of code at once, each a coroutine: the workflow function,
 * the ones tw_go() starts, and signal handlers. Only one runs at a time, and the order is
 * deterministic (as the Go SDK's dispatcher): after the history's events of a workflow task
 * are applied, every coroutine that can go on runs, in creation order, each until it blocks
 * (a handler started by an event runs before the others, so they see what it did), and this
 * repeats until none can go on. The workflow completes when the workflow function returns;
 * the other coroutines are then dropped (wait for them with tw_await() on their futures, or
 * tw_await_condition(), first). Each coroutine has its own 256 KiB stack. */

/* Starts fn(wf, arg, &result) as a coroutine; it first runs once the caller blocks. *out (may
 * be NULL) is a future that resolves with fn's result when it returns: TW_EFAILED with its
 * failure when it returned an error, TW_ECANCELED when it returned TW_ECANCELED. */
static inline int tw_go(tw_wf *wf, tw_coroutine_fn fn, void *arg, tw_future **out)
{ return tw__api->wf_go(wf, fn, arg, out); }
/* Blocks until pred(wf, arg) is nonzero (0 at once when it is already). |timeout_ms| < 0 waits
 * without limit; otherwise a durable timer bounds the wait (cancelled when the condition
 * wins; none when the condition holds at once): TW_ETIMEDOUT when it fires first. */
static inline int tw_await_condition(tw_wf *wf, tw_condition_fn pred, void *arg,
                                     int64_t timeout_ms)
{ return tw__api->wf_await_condition(wf, pred, arg, timeout_ms); }

/* ---- cancellation (ABI 1.1) ----
 *
 * When someone cancels the workflow (the client's CancelWorkflow, `temporal workflow cancel`),
 * every coroutine blocked at that moment wakes with TW_ECANCELED from its blocking call, and
 * what that call waited on is cancelled (a timer; an activity per its cancellation_type: one
 * awaited with TW_CANCEL_WAIT_COMPLETED returns its own outcome instead, see above). The
 * code may then clean up: calls it makes after that run normally, activities too. A workflow
 * function returning TW_ECANCELED ends the workflow as cancelled; returning 0 completes it. */

/* Nonzero once the workflow's cancellation was requested. Asking counts as seeing it: the
 * calling coroutine's next blocking call runs normally. */
static inline int tw_wf_cancel_requested(tw_wf *wf) { return tw__api->wf_cancel_requested(wf); }
/* Cancels what |f| stands for: a timer (at once: its wait returns TW_ECANCELED), an activity
 * (per its cancellation_type), a tw_go coroutine (its next blocking call returns TW_ECANCELED).
 * Anything not sent to the server yet is simply dropped. A future that is done already: 0,
 * nothing happens. An external signal or cancel the server has already: TW_ESTATE. */
static inline int tw_cancel(tw_wf *wf, tw_future *f) { return tw__api->wf_cancel(wf, f); }
/* Asks the server to cancel workflow |workflow_id| (|run_id| NULL or "": its latest run).
 * *out (may be NULL) resolves once the request was delivered, or fails (TW_EFAILED,
 * tw_wf_last_failure() type "ExternalWorkflowExecutionNotFound") when there is no such
 * workflow. */
static inline int tw_cancel_external(tw_wf *wf, const char *workflow_id, const char *run_id,
                                     tw_future **out)
{ return tw__api->wf_cancel_external(wf, workflow_id, run_id, out); }

/* ---- signals (ABI 1.1) ----
 *
 * Signals reach the workflow in the order the server recorded them. A signal goes to the
 * handler set for its name, else to the default handler, else it is buffered: a handler set
 * later gets the buffered signals of its name, in order, and tw_signal_receive() takes them one
 * at a time. A signal sent with the workflow's start (signal-with-start) is buffered like any
 * other until the code sets its handler. */

/* Sets the handler of signal |name| (NULL: the default handler, for names without one); each
 * signal runs fn(wf, arg, args, nargs) as its own coroutine, before the code it interrupts
 * resumes. The signals of |name| buffered so far are handled before this call returns (each
 * handler runs until it ends or blocks). |fn| NULL removes the handler (its signals are
 * buffered again). */
static inline int tw_set_signal_handler(tw_wf *wf, const char *name, tw_signal_fn fn, void *arg)
{ return tw__api->wf_set_signal_handler(wf, name, fn, arg); }
/* Takes the next buffered signal |name| (one no handler took), waiting for it: *args / *nargs
 * (may be NULL) are its arguments, in the workflow's arena. |timeout_ms| as
 * tw_await_condition(): TW_ETIMEDOUT when the timer fires first; TW_ECANCELED when the workflow
 * is cancelled. */
static inline int tw_signal_receive(tw_wf *wf, const char *name, tw_payload **args,
                                    size_t *nargs, int64_t timeout_ms)
{ return tw__api->wf_signal_receive(wf, name, args, nargs, timeout_ms); }
/* Signals workflow |workflow_id| (|run_id| NULL or "": its latest run). *out (may be NULL)
 * resolves once the signal is delivered, or fails (TW_EFAILED, tw_wf_last_failure() type
 * "ExternalWorkflowExecutionNotFound") when there is no such workflow. */
static inline int tw_signal_external(tw_wf *wf, const char *workflow_id, const char *run_id,
                                     const char *signal, const tw_payload *args, size_t nargs,
                                     tw_future **out)
{ return tw__api->wf_signal_external(wf, workflow_id, run_id, signal, args, nargs, out); }
/* Nonzero when no signal (or update) handler is running or about to run: wait for it, e.g.
 * with tw_await_condition(), before returning, so no handler's work is cut short. */
static inline int tw_all_handlers_finished(tw_wf *wf)
{ return tw__api->wf_all_handlers_finished(wf); }
/* In a handler: the name of the signal (or update) it handles; NULL elsewhere. */
static inline const char *tw_handler_name(tw_wf *wf) { return tw__api->wf_handler_name(wf); }

/* ---- queries and updates (ABI 1.1) ----
 *
 * A query reads the workflow's state: its handler runs once the workflow's history is
 * replayed (it sees every signal and update that came before the query) and changes nothing.
 * A query type without a handler fails naming the known ones ("unknown queryType X.
 * KnownQueryTypes=[__stack_trace a]"); the built-in "__stack_trace" answers where each
 * coroutine waits, one line each ("coroutine 1 (main): tw_await activity 1 \"Compose\"").
 *
 * An update changes it and answers: the validator (if any) accepts or rejects it without
 * changing anything (a rejected update leaves no trace in the history); an accepted one runs
 * its handler as a coroutine, which may block, and its return is the caller's answer. On
 * replay the accepted updates run again, without their validator. An update whose name has no
 * handler waits until the code sets one, and is rejected naming the known updates if every
 * coroutine blocks first. The workflow completes when its function returns, even with an
 * update handler still running (the caller then gets a failure): wait for
 * tw_all_handlers_finished() first. */

/* Sets the handler of query |name| (names starting with "__" are the runtime's: TW_EINVAL).
 * |fn| NULL removes it. */
static inline int tw_set_query_handler(tw_wf *wf, const char *name, tw_query_fn fn, void *arg)
{ return tw__api->wf_set_query_handler(wf, name, fn, arg); }
/* Sets the handler of update |name|, with its |validator| (may be NULL: every update is
 * accepted). |fn| NULL removes it. Updates that waited for it run before the call returns. */
static inline int tw_set_update_handler(tw_wf *wf, const char *name, tw_update_fn fn,
                                        tw_update_validator_fn validator, void *arg)
{ return tw__api->wf_set_update_handler(wf, name, fn, validator, arg); }

/* ---- child workflows (ABI 1.2) ----
 *
 * A workflow starts another as its child: the server records the start in the parent's
 * history, runs the child on its own (any worker of its task queue), and tells the parent when
 * it started and how it ended. tw_start_child() gives two futures: |started| resolves once the
 * child runs (tw_child_execution() then has its run id), or fails when it could not start
 * (TW_EFAILED, type "ChildWorkflowExecutionAlreadyStarted" when the id is taken, kind
 * TW_FAILURE_APPLICATION); |result| resolves with the child's result, or fails (TW_EFAILED) with
 * a failure of kind TW_FAILURE_CHILD_WORKFLOW whose cause says why: the child's own failure
 * (it failed), a TW_FAILURE_TIMEOUT (it timed out), a TW_FAILURE_TERMINATED (its type and
 * message are its cause's, as an activity's are, and retry_state is the server's). A child that
 * ended cancelled gives TW_ECANCELED, with the same failure caused by a TW_FAILURE_CANCELED
 * (its details the child's). A start that failed fails |result| the same way as |started|. */

/* What happens to a child when its parent closes first (Temporal's ParentClosePolicy). */
enum {
    TW_PARENT_CLOSE_TERMINATE = 1,      /* the default (0 means it too) */
    TW_PARENT_CLOSE_ABANDON = 2,        /* it runs on */
    TW_PARENT_CLOSE_REQUEST_CANCEL = 3, /* it is asked to cancel */
};
/* Whether a workflow id that was used before may start again (WorkflowIdReusePolicy); 0 is the
 * server's default (allow duplicate). */
enum {
    TW_ID_REUSE_ALLOW_DUPLICATE = 1,
    TW_ID_REUSE_ALLOW_DUPLICATE_FAILED_ONLY = 2,
    TW_ID_REUSE_REJECT_DUPLICATE = 3,
    TW_ID_REUSE_TERMINATE_IF_RUNNING = 4,
};
/* What tw_cancel() of a child (or the parent's cancel while it waits on one) does, as sdk-go's
 * ChildWorkflowCancellationType: WAIT_COMPLETED (the default) asks the server to cancel the
 * child and waits until it ended (|result| then fails with its outcome, usually cancelled);
 * WAIT_REQUESTED asks and waits until the server has delivered the request; TRY asks and goes
 * on at once; ABANDON asks nothing. Every type but WAIT_COMPLETED leaves |result| cancelled
 * (TW_ECANCELED). A child not started yet is asked once it starts. The server delivers the
 * request only while the parent runs: a parent that completes right after a TRY cancel
 * (parent close policy ABANDON) may leave the child running. */
enum {
    TW_CHILD_CANCEL_WAIT_COMPLETED = 0,
    TW_CHILD_CANCEL_WAIT_REQUESTED = 1,
    TW_CHILD_CANCEL_TRY = 2,
    TW_CHILD_CANCEL_ABANDON = 3,
};

/* A child's options; every field 0 / NULL is the default. Borrowed for the call. */
struct tw_child_options {
    const char *workflow_id;      /* NULL: "<parent run id>_<n>" (n counts the parent's children,
                                   * 1, 2, ...), unique and the same on replay */
    const char *task_queue;       /* NULL: the parent's */
    int64_t execution_timeout_ms; /* the whole chain of runs (retries, continue-as-new) */
    int64_t run_timeout_ms;       /* one run */
    int64_t task_timeout_ms;      /* one workflow task (server default 10 s) */
    const tw_retry_policy *retry; /* NULL: a child is not retried */
    int parent_close_policy;      /* TW_PARENT_CLOSE_* */
    int id_reuse_policy;          /* TW_ID_REUSE_* */
    int cancellation_type;        /* TW_CHILD_CANCEL_* */
    const char *cron_schedule;    /* NULL: none */
    const char *const *memo_keys; /* |nmemo| memo fields the child starts with */
    const tw_payload *memo_values;
    size_t nmemo;
    const tw_search_attribute *search_attributes; /* |nsearch_attributes| typed search
                                   * attributes the child starts with (as
                                   * tw_upsert_search_attributes; TW_SA_UNSET is TW_EINVAL) */
    size_t nsearch_attributes;
};

/* Starts child workflow |type| with |args|. *started and *result (either may be NULL) are its
 * futures (see above); await them with tw_await() / tw_select(), cancel it with tw_cancel() on
 * either. |o| may be NULL. TW_EINVAL for a bad option (an empty type, a negative timeout, a
 * policy out of range). The child's header is what tw_set_header() set. */
static inline int tw_start_child(tw_wf *wf, const char *type, const tw_child_options *o,
                                 const tw_payload *args, size_t nargs, tw_future **started,
                                 tw_future **result)
{ return tw__api->wf_start_child(wf, type, o, args, nargs, started, result); }
/* Starts a child and waits for its result: TW_EFAILED when it could not start or failed
 * (tw_wf_last_failure(): the failure as above), TW_ECANCELED when cancelled. */
static inline int tw_execute_child(tw_wf *wf, const char *type, const tw_child_options *o,
                                   const tw_payload *args, size_t nargs, tw_payload *result)
{ return tw__api->wf_execute_child(wf, type, o, args, nargs, result); }
/* The child |child| (either of its futures) is: its workflow id at once, its run id (NULL until
 * it started) in the workflow's memory. Either pointer may be NULL. TW_EINVAL when |child| is no
 * child's. */
static inline int tw_child_execution(tw_wf *wf, tw_future *child, const char **workflow_id,
                                     const char **run_id)
{ return tw__api->wf_child_execution(wf, child, workflow_id, run_id); }
/* Signals child |child| (either of its futures), waiting first until it started (the call
 * returns what that wait returns when it could not start). *out (may be NULL) resolves once the
 * signal is delivered, or fails (TW_EFAILED, type "ExternalWorkflowExecutionNotFound") when the
 * child is gone. */
static inline int tw_signal_child(tw_wf *wf, tw_future *child, const char *signal,
                                  const tw_payload *args, size_t nargs, tw_future **out)
{ return tw__api->wf_signal_child(wf, child, signal, args, nargs, out); }

/* ---- continue-as-new (ABI 1.2) ----
 *
 * A workflow whose history grows without end (a loop over rounds, an entity that lives for
 * months) ends its run and starts a fresh one of the same workflow id with new arguments: the
 * new run's history starts empty, its tw_wf_info has continued_run_id (this run) and the same
 * first_run_id. tw_wf_info's history_length, history_size_bytes and continue_as_new_suggested
 * (the server's hint, updated at every workflow task) say when it is time.
 *
 *     if (tw_wf_info_get(wf)->continue_as_new_suggested || round == 100) {
 *         tw_payload next = tw_json(state_json);
 *         return tw_continue_as_new(wf, NULL, &next, 1);
 *     }
 *
 * A pinned workflow (TW_PINNED) that lives long moves to new code the same way: once
 * tw_wf_info's target_version_changed says its deployment routes new work to another version,
 * it continues as new onto that version (the info changes only at a workflow task, so wait
 * with a timer, not for a condition alone):
 *
 *     while (!tw_wf_info_get(wf)->target_version_changed)
 *         if ((rc = tw_sleep(wf, 60000)) != 0)
 *             return rc;
 *     tw_continue_options o = {.initial_versioning = TW_CAN_VERSIONING_AUTO_UPGRADE};
 *     return tw_continue_as_new(wf, &o, &state, 1);
 *
 * As sdk-go's ContinueAsNewError, the call only prepares the continuation: the run ends
 * continued as new when the workflow function returns TW_ECONTINUE_AS_NEW (what the call
 * returns). Returning anything else ends the run as that says (the prepared continuation is
 * dropped); a later call replaces an earlier one; a call from a handler or a tw_go coroutine
 * prepares it too, but only the workflow function's return ends the run. A workflow function
 * returning TW_ECONTINUE_AS_NEW with nothing prepared fails the workflow (WorkflowError).
 *
 * As for completion: handlers still running are dropped (wait for tw_all_handlers_finished()
 * first), and a signal that reaches the server while the task that continues runs makes the
 * server refuse that answer; the next task runs the code again with the signal, on this run.
 * An update admitted meanwhile does not block it: the caller's update goes to the new run.
 * The memo and search attributes carry over as they are (the start's, with tw_upsert_memo() and
 * tw_upsert_search_attributes()'s changes); the header is tw_set_header()'s. */

/* How the new run's first workflow task picks its Worker Deployment Version (Temporal's
 * ContinueAsNewVersioningBehavior). */
enum {
    TW_CAN_VERSIONING_INHERIT = 0,      /* the server's default: a pinned run's new run stays
                                         * on its version, an auto-upgrade one goes to the
                                         * current version */
    TW_CAN_VERSIONING_AUTO_UPGRADE = 1, /* the new run starts on the current version (a pinned
                                         * workflow moves to new code); after its first task
                                         * it behaves as its registration says */
    TW_CAN_VERSIONING_USE_RAMPING = 2,  /* its first task goes to the ramping version */
};

/* Why the server suggests continuing as new: tw_wf_info.continue_as_new_reasons, a mask of
 * these bits (Temporal's SuggestContinueAsNewReason, read at every workflow task). */
enum {
    TW_CAN_REASON_HISTORY_SIZE_TOO_LARGE = 1u << 0,  /* history_size_bytes nears the limit */
    TW_CAN_REASON_TOO_MANY_HISTORY_EVENTS = 1u << 1, /* history_length nears the limit */
    TW_CAN_REASON_TOO_MANY_UPDATES = 1u << 2,        /* too many updates, done or in flight */
    TW_CAN_REASON_TARGET_VERSION_CHANGED = 1u << 3,  /* as target_version_changed, from servers
                                                      * of early 2026 that said it this way;
                                                      * newer ones set only that flag */
};

/* All fields may be 0 / NULL: the new run is this workflow's type on its task queue, with this
 * run's timeouts. */
struct tw_continue_options {
    const char *workflow_type;  /* NULL: this workflow's type */
    const char *task_queue;     /* NULL: this workflow's task queue */
    int64_t run_timeout_ms;     /* 0: this run's */
    int64_t task_timeout_ms;    /* 0: this run's */
    int initial_versioning;     /* TW_CAN_VERSIONING_* */
};

/* Prepares the continuation with |args| (|nargs| of them, copied) and |o| (may be NULL: the
 * defaults), and returns TW_ECONTINUE_AS_NEW, for the workflow function to return. TW_EINVAL
 * for a bad payload or a negative timeout, TW_ESTATE outside workflow code (or in a
 * tw_await_condition predicate), TW_ENOMEM when memory ran out. */
static inline int tw_continue_as_new(tw_wf *wf, const tw_continue_options *o,
                                     const tw_payload *args, size_t nargs)
{ return tw__api->wf_continue_as_new(wf, o, args, nargs); }

/* ---- side effects and patches (ABI 1.2) ----
 *
 * Code that must not run again on replay (read a clock, draw a random number, call a local
 * service), and changes to workflow code while runs of the old code are still open. Each is
 * recorded in the history as a marker (RecordMarker, with sdk-go's marker names "SideEffect"
 * and "MutableSideEffect" and the core SDK's "core_patch"), and replayed from it: a replay
 * whose history lacks the marker the code asks for fails the workflow task as
 * non-deterministic, naming the call. */

/* Runs fn(wf, arg, result) once, when the code first gets there, and records *result in the
 * history; on replay fn is not called and *result is the recorded value. |fn| must not block
 * (blocking calls return TW_ESTATE in it). Returns 0 with *result set (the workflow's memory:
 * a copy of what fn returned), or fn's own negative return (nothing is recorded; the next
 * call runs fn again). */
static inline int tw_side_effect(tw_wf *wf, tw_side_effect_fn fn, void *arg, tw_payload *result)
{ return tw__api->wf_side_effect(wf, fn, arg, result); }
/* A side effect whose value may change over the run, known by |id|: fn runs at every call
 * (not on replay) and a marker is recorded only when its value differs from the last one
 * recorded for |id| (encoding and bytes compared); *result is the current value. On replay
 * *result is the value the run had at this call. */
static inline int tw_mutable_side_effect(tw_wf *wf, const char *id, tw_side_effect_fn fn,
                                         void *arg, tw_payload *result)
{ return tw__api->wf_mutable_side_effect(wf, id, fn, arg, result); }
/* Whether this run takes the new code of change |patch_id|: 1 when the run is new code's
 * (not replaying, or replaying a history that has the patch's marker), 0 when replaying a run
 * the old code made (no marker): keep the old code path for those. The first call records
 * the marker and adds |patch_id| to the run's TemporalChangeVersion search attribute (so
 * runs are found by patch); every later call with |patch_id| returns the same answer.
 *
 *     if (tw_patched(wf, "send-receipt"))      // new code
 *         tw_execute_activity(wf, "SendReceipt", &o, args, 1, NULL);
 *
 * Once no run of the old code is open, replace the call by tw_deprecate_patch(), then, once
 * no run from before that is open either, remove it. Negative: TW_EINVAL (|patch_id| NULL or
 * ""), TW_ESTATE, TW_ENOMEM. */
static inline int tw_patched(tw_wf *wf, const char *patch_id)
{ return tw__api->wf_patched(wf, patch_id); }
/* Marks change |patch_id| as the only code there is: records the marker as deprecated, which
 * a replay of newer code without the call passes over (as it does a deprecated marker in any
 * run's history). 0, or as tw_patched(). */
static inline int tw_deprecate_patch(tw_wf *wf, const char *patch_id)
{ return tw__api->wf_deprecate_patch(wf, patch_id); }

/* ---- local activities (ABI 1.2) ----
 *
 * A local activity is an activity the worker runs itself, inside the workflow task that asks for
 * it, without the server scheduling it: no ActivityTask events, no round trip, its result (or
 * failure) recorded in the history as a marker ("LocalActivity", as sdk-go writes it). It suits
 * short work (a lookup, a small computation with side effects). The function is a registered
 * activity (tw_register_activity) and sees tw_act_info_get()->is_local = 1; tw_heartbeat()
 * records nothing (it returns TW_ECANCELED once cancelled, as tw_act_cancelled() says).
 *
 * Retries happen in the worker, with the retry policy's backoff, while the backoff is at most
 * the local retry threshold; a longer backoff is a durable timer (a StartTimer command) and the
 * next attempt runs in a later workflow task. A workflow task whose local activities run long
 * is completed before its timeout and carried on in the next (as the official SDKs
 * "heartbeat" it). When the Lambda invocation stops first, the attempts under way are
 * cancelled and not recorded: the workflow's next task runs them again from attempt 1.
 *
 * On replay the result comes from the marker: the activity does not run again. Code asking for
 * another local activity (type) than the history recorded at that point is non-determinism. */

/* A local activity's options; 0 / NULL fields are the defaults. Borrowed for the call. */
struct tw_local_activity_options {
    int64_t schedule_to_close_ms;    /* all attempts, retries and backoffs included; one of */
    int64_t start_to_close_ms;       /* these two is required (one attempt) */
    const tw_retry_policy *retry;    /* NULL: 1 s initial interval, coefficient 2, maximum
                                      * 100 x initial, unlimited attempts (bounded by
                                      * schedule_to_close_ms) */
    int64_t local_retry_threshold_ms; /* 0: 60 s. A backoff longer than this is a durable timer */
    int cancellation_type;           /* TW_CANCEL_*: TRY (the default) resolves the future as
                                      * cancelled at once and tells the activity; WAIT_COMPLETED
                                      * tells it and waits for its answer (a result, or its
                                      * failure, recorded as usual); ABANDON resolves at once and
                                      * tells it nothing (its result is dropped) */
};

/* Runs local activity |type| and waits for it. TW_EFAILED when it failed for good: its failure
 * (tw_wf_last_failure()) is kind TW_FAILURE_ACTIVITY with the activity's error as cause, as an
 * activity's (a timeout's cause is a TW_FAILURE_TIMEOUT); TW_ECANCELED when cancelled. */
static inline int tw_execute_local_activity(tw_wf *wf, const char *type,
                                            const tw_local_activity_options *o,
                                            const tw_payload *args, size_t nargs,
                                            tw_payload *result)
{ return tw__api->wf_execute_local_activity(wf, type, o, args, nargs, result); }
/* Starts it: *out is its future (tw_await, tw_select, tw_cancel). Several started together run
 * at once. */
static inline int tw_start_local_activity(tw_wf *wf, const char *type,
                                          const tw_local_activity_options *o,
                                          const tw_payload *args, size_t nargs, tw_future **out)
{ return tw__api->wf_start_local_activity(wf, type, o, args, nargs, out); }

/* ---- search attributes, memo, headers (ABI 1.2) ----
 *
 * Search attributes are the indexed values a run is listed by (`temporal workflow list
 * --query 'CustomKeywordField = "x"'`); custom ones must be registered with the namespace
 * first. The memo is unindexed data shown with the run. Both come from the workflow's start
 * and change with the calls below; reading one back sees the change at once, the same on
 * replay. A header is context the caller passes along with a start or a command (a trace id):
 * tw_wf_header() reads the run's start's, tw_set_header() sets what every later command that
 * carries a header takes (activities, child workflows, signals, continue-as-new), and
 * tw_act_header() reads an activity task's. Payloads come back as the server holds them
 * (a search attribute's value is JSON, e.g. "\"gold\"", ["a","b"], 42, true). */

/* A search attribute's type (the server's IndexedValueType). */
enum {
    TW_SA_UNSET = 0,        /* removes the attribute from the run */
    TW_SA_KEYWORD = 1,      /* |str| */
    TW_SA_TEXT = 2,         /* |str| */
    TW_SA_INT = 3,          /* |i| */
    TW_SA_DOUBLE = 4,       /* |d| (finite) */
    TW_SA_BOOL = 5,         /* |b| (0 or not) */
    TW_SA_DATETIME = 6,     /* |i|: Unix ms, sent as RFC 3339 in UTC */
    TW_SA_KEYWORD_LIST = 7, /* |list|, |nlist| strings */
};

/* One attribute to upsert, encoded as the official SDKs encode typed search attributes: a
 * json/plain payload with the type in its "type" metadata ("Keyword", "Int", ...). */
struct tw_search_attribute {
    const char *name;         /* "CustomKeywordField" */
    int type;                 /* TW_SA_* */
    const char *str;
    int64_t i;
    double d;
    int b;
    const char *const *list;
    size_t nlist;
};

/* Search attribute |name| of the run (from its start, then its upserts), or NULL when it has
 * none. The payload lives in the workflow's memory. */
static inline const tw_payload *tw_wf_search_attribute(tw_wf *wf, const char *name)
{ return tw__api->wf_search_attribute(wf, name); }
/* Sets (or, TW_SA_UNSET, removes) |n| attributes of the run: one UpsertWorkflowSearchAttributes
 * command. TW_EINVAL for a NULL or empty name, TemporalChangeVersion (the runtime's, as in the
 * official SDKs), an unknown type, a NULL string, a double that is not finite, a datetime
 * outside years 0-9999; TW_ESTATE outside the workflow's code; TW_ENOMEM. */
static inline int tw_upsert_search_attributes(tw_wf *wf, const tw_search_attribute *sa, size_t n)
{ return tw__api->wf_upsert_search_attributes(wf, sa, n); }
/* Memo field |key|, or NULL. */
static inline const tw_payload *tw_wf_memo(tw_wf *wf, const char *key)
{ return tw__api->wf_memo(wf, key); }
/* Sets memo field |key| to |value| (NULL removes it): one ModifyWorkflowProperties command. */
static inline int tw_upsert_memo(tw_wf *wf, const char *key, const tw_payload *value)
{ return tw__api->wf_upsert_memo(wf, key, value); }
/* Header field |key| of the run's start (the client's, or the parent's), or NULL. */
static inline const tw_payload *tw_wf_header(tw_wf *wf, const char *key)
{ return tw__api->wf_header(wf, key); }
/* Sets header field |key| (|value| NULL removes it) on every command the code makes after
 * this call that carries a header. To pass the start's trace id on to an activity:
 *
 *     const tw_payload *trace = tw_wf_header(wf, "trace-id");
 *     if (trace)
 *         tw_set_header(wf, "trace-id", trace);
 *     tw_execute_activity(wf, "Charge", &o, args, 1, &result);  // its tw_act_header() has it
 */
static inline int tw_set_header(tw_wf *wf, const char *key, const tw_payload *value)
{ return tw__api->wf_set_header(wf, key, value); }
/* Header field |key| of the activity's task, or NULL; lives until the activity returns. */
static inline const tw_payload *tw_act_header(tw_act *act, const char *key)
{ return tw__api->act_header(act, key); }

/* ---- payload codec (ABI 1.2) ----
 *
 * A codec changes every payload on its way out of the worker and back in, as a PayloadCodec
 * of the official SDKs does (sdk-go's converter.PayloadCodec, used with a CodecDataConverter):
 * encryption, compression. The runtime encodes each payload of each request it sends
 * (workflow and activity inputs and results, signal, query and update arguments and answers,
 * heartbeat and failure details, memo, marker data) and decodes each payload of what it
 * receives (history events, including pages fetched later; queries; update requests; activity
 * inputs and heartbeat details) before any code sees it. As the official SDKs, it leaves alone
 * search attributes (the server indexes them) and headers (context propagation). So a Go (or
 * any) client with the same codec reads and writes the same payloads, and the server's history
 * holds only encoded ones.
 *
 * The codec sees whole payloads: every metadata entry (including "encoding") and the data. It
 * is called once per payload, on the thread running the task (workflow task threads and
 * activity threads, several at once: it must be thread-safe), and must be deterministic only
 * in what it decodes (encoding may add randomness, such as a nonce). |decode| gets payloads it
 * never encoded too (written by a client without the codec, or before the codec was used):
 * like the official SDKs' codecs, it should pass through a payload whose encoding is not its
 * own (*out = *in). Without a codec registered nothing of this runs (no copy, no walk). */

/* One metadata entry: a key and its value bytes. */
typedef struct tw_metadata {
    const char *key;
    const uint8_t *value;
    size_t len;
} tw_metadata;

/* A whole payload, as the codec sees it. */
struct tw_codec_payload {
    const tw_metadata *metadata;
    size_t nmetadata;
    const uint8_t *data;
    size_t len;
};

/* Encodes or decodes |in| into *out. Returns 0, or a negative value (after tw_codec_error() for
 * the reason): the operation then fails, as with a Go codec's error. What *out points to must
 * outlive the call: |in|'s own memory (it lives until the task ends), tw_codec_alloc() memory,
 * or static memory. */
typedef int (*tw_codec_fn)(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                           tw_codec_payload *out);

/* A codec. Either function may be NULL (that direction leaves payloads as they are). */
struct tw_codec {
    tw_codec_fn encode;
    tw_codec_fn decode;
    /* Nonzero: as sdk-go's DefaultFailureConverter with EncodeCommonAttributes, the message and
     * stack trace of each failure the worker sends move into its encoded_attributes (a
     * json/plain payload {"message":...,"stack_trace":...}, then encoded by |encode|), and the
     * failure says "Encoded failure". Should |encode| fail on it, the failure still goes out
     * with "Encoded failure" and no attributes (the message stays in the function's log).
     * Failures coming in with encoded attributes get their message and stack trace back either
     * way. */
    int encode_failure_attributes;
};

/* Registers |codec| (copied) with |arg| for its functions; once per library (TW_EEXIST the
 * second time), from the library's setup. A codec with no function and no
 * encode_failure_attributes is TW_EINVAL (a struct left empty); either is a registration
 * mistake, so the library does not load. */
static inline int tw_register_codec(tw_registry *r, const tw_codec *codec, void *arg)
{ return tw__api->register_codec(r, codec, arg); }
/* Memory for what a codec function returns: lives until the task (or the request) it works for
 * ends; never freed by the codec. NULL when out of memory. */
static inline void *tw_codec_alloc(tw_codec_ctx *c, size_t n) { return tw__api->codec_alloc(c, n); }
/* Says why the codec function is about to fail (copied; the task's or activity's failure says
 * it, prefixed with "payload codec: "). */
static inline void tw_codec_error(tw_codec_ctx *c, const char *message)
{ tw__api->codec_error(c, message); }
/* |p| as the bytes of a temporal.api.common.v1.Payload protobuf message (what Go's
 * proto.Marshal(payload) gives, read back by proto.Unmarshal), for codecs that wrap the whole
 * payload, metadata included, as Temporal's samples and sdk-go's zlib codec do. *out is
 * tw_codec_alloc() memory. 0 or TW_ENOMEM. */
static inline int tw_codec_marshal(tw_codec_ctx *c, const tw_codec_payload *p,
                                   const uint8_t **out, size_t *len)
{ return tw__api->codec_marshal(c, p, out, len); }
/* The reverse: *out (tw_codec_alloc() memory) from those bytes; TW_EINVAL when they are not a
 * Payload message. */
static inline int tw_codec_unmarshal(tw_codec_ctx *c, const uint8_t *data, size_t len,
                                     tw_codec_payload *out)
{ return tw__api->codec_unmarshal(c, data, len, out); }

/* ---- dynamic workflows and activities, stop hooks, async completion (ABI 1.2) ----
 *
 * Dynamic: one workflow and one activity may be registered for every type that has no
 * registration of its own (a registered name always wins). They get the arguments as sent, and
 * the type from tw_wf_info_get(wf)->workflow_type / tw_act_info_get(act)->activity_type, as the
 * official SDKs' RegisterDynamicWorkflow / RegisterDynamicActivity.
 *
 * Async completion: an activity that returns TW_EPENDING sends no answer; it is completed
 * later, by anyone holding its task token (tw_act_info_get(act)->task_token, task_token_len:
 * copy it before returning, it lives until then), through a Temporal client:
 * RespondActivityTaskCompleted / Failed / Canceled, and RecordActivityTaskHeartbeat to keep it
 * alive while it waits (the Go SDK's activity.ErrResultPending and client.CompleteActivity).
 * Its timeouts still run: start-to-close (or heartbeat) ends it if nobody answers in time.
 * TW_EPENDING means this only from a library built against ABI 1.2 or later.
 *
 * Stop hooks: functions run at the stop of every invocation, after the drain (no workflow
 * task runs, activities still running were failed back), in registration order, on a thread
 * of the runtime's, each called with the Unix ms by which it must have returned (the Lambda
 * deadline minus the margin to answer the invocation). They close connections, flush
 * telemetry. A hook still running then is left behind: the invocation is answered without it
 * (the log names it), the hooks after it do not run, and the process ends so the next
 * invocation starts afresh. */

/* Registers |fn| for every workflow type without a registration of its own, with versioning
 * behaviour |v| (as tw_register_workflow). TW_EEXIST when one is registered already. */
static inline int tw_register_dynamic_workflow(tw_registry *r, tw_workflow_fn fn, tw_versioning v)
{ return tw__api->register_dynamic_workflow(r, fn, v); }
/* Registers |fn| for every activity type without a registration of its own. TW_EEXIST when one
 * is registered already. */
static inline int tw_register_dynamic_activity(tw_registry *r, tw_activity_fn fn)
{ return tw__api->register_dynamic_activity(r, fn); }
/* Registers stop hook fn(arg, deadline_ms) (at most 64). */
static inline int tw_register_stop_hook(tw_registry *r, tw_stop_fn fn, void *arg)
{ return tw__api->register_stop_hook(r, fn, arg); }
/* In an activity: nonzero once the invocation's stop began (the Lambda deadline is near), as
 * the Go SDK's activity.GetWorkerStopChannel. Nobody cancelled the activity (tw_act_cancelled
 * says that): it should wrap up. What it returns within the stop timeout
 * (TEMPORAL_WORKER_STOP_TIMEOUT) is delivered as usual; an activity still running after that
 * is failed back to be retried ("WorkerShutdown") and its own answer dropped. */
static inline int tw_act_worker_stopping(tw_act *a) { return tw__api->act_worker_stopping(a); }


static inline const tw_act_info *tw_act_info_get(tw_act *a) { return tw__api->act_info(a); }
/* Records progress (throttled); returns TW_ECANCELED once the activity is cancelled. */
static inline int tw_heartbeat(tw_act *a, const tw_payload *details, size_t n)
{ return tw__api->act_heartbeat(a, details, n); }
static inline int tw_act_cancelled(tw_act *a) { return tw__api->act_cancelled(a); }
static inline void *tw_act_alloc(tw_act *a, size_t n) { return tw__api->act_alloc(a, n); }
static inline void tw_act_log(tw_act *a, int level, const char *msg) { tw__api->act_log(a, level, msg); }
static inline int tw_act_fail(tw_act *a, const tw_failure *f) { return tw__api->act_fail(a, f); }

/* ---- payload helpers (the encodings the official SDKs send by default) ---- */

/* Bytes and the null pointer, spelled so that C++ compilers warning about C casts
 * (-Wold-style-cast, -Wzero-as-null-pointer-constant) accept the helpers too. */
#ifdef __cplusplus
#define TW__BYTES(p) static_cast<const uint8_t *>(static_cast<const void *>(p))
#define TW__NULL nullptr
#else
#define TW__BYTES(p) ((const uint8_t *)(p))
#define TW__NULL NULL
#endif

/* JSON text as a json/plain payload (the bytes are borrowed). */
static inline tw_payload tw_json(const char *json)
{
    tw_payload p = {"json/plain", TW__BYTES(json), 0};
    while (json && json[p.len])
        p.len++;
    return p;
}
static inline tw_payload tw_binary(const void *data, size_t len)
{
    tw_payload p = {"binary/plain", TW__BYTES(data), len};
    return p;
}
static inline tw_payload tw_null(void)
{
    tw_payload p = {"binary/null", TW__NULL, 0};
    return p;
}

enum { TW_LOG_DEBUG = 1, TW_LOG_INFO = 2, TW_LOG_WARN = 3, TW_LOG_ERROR = 4 };

#ifdef __cplusplus
}
#endif

#endif
