/*
 * rt: the AWS Lambda Runtime API client (2018-06-01).
 *
 * Fetches invocations (`next`), posts their results (`response`, `error`) and reports a
 * failed initialisation (`init/error`), over plain HTTP/1.1 to $AWS_LAMBDA_RUNTIME_API.
 * It does not know what a handler does with an invocation; rt_loop.h runs handlers.
 *
 * Ownership: arguments are borrowed. An rt_invocation filled by rt_next() belongs to the
 * client and stays valid until the next rt_next() or rt_client_free().
 * Errors: functions return 0 or a negative RT_E* code; rt_client_errmsg() says what happened.
 * Threading: a client is used by one thread at a time.
 */
#ifndef TW_RT_H
#define TW_RT_H

#include <stddef.h>
#include <stdint.h>

typedef struct rt_client rt_client;

enum {
    RT_OK = 0,
    RT_ENOMEM = -1,     /* out of memory */
    RT_ETRANSPORT = -2, /* the API could not be reached, after the retries */
    RT_EFATAL = -3,     /* the API answered 500: the container is broken, exit now */
    RT_EPROTO = -4,     /* the API sent something malformed (a header, a status) */
    RT_EGONE = -5,      /* 410: the invocation is no longer there (it timed out) */
    RT_ETOOLARGE = -6,  /* 413: the response was over the payload limit */
    RT_EREFUSED = -7,   /* 400 or 403: the API refused the call */
    RT_EINVAL = -8,     /* bad argument */
};

/* One invocation as `next` delivered it. Optional headers that were absent are NULL. */
typedef struct rt_invocation {
    const char *request_id;       /* Lambda-Runtime-Aws-Request-Id, never NULL */
    int64_t deadline_ms;          /* Lambda-Runtime-Deadline-Ms, Unix epoch milliseconds */
    const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn, never NULL */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id */
    const char *client_context;   /* Lambda-Runtime-Client-Context */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity */
    const char *tenant_id;        /* Lambda-Runtime-Aws-Tenant-Id */
    const char *invocation_id;    /* Lambda-Runtime-Invocation-Id, echoed back when set */
    const char *payload;          /* the event, NUL-terminated for convenience */
    size_t payload_len;
} rt_invocation;

/* Retry policy for transport failures (connection refused, reset, ...). */
typedef struct rt_retry {
    int attempts;        /* tries before RT_ETRANSPORT; default 5 */
    int base_delay_ms;   /* first back-off, doubled each time; default 50 */
    int max_delay_ms;    /* cap of one back-off; default 1000 */
} rt_retry;

/* Creates a client for |api| ("host:port", the value of AWS_LAMBDA_RUNTIME_API). |retry| may be
 * NULL for the defaults. On failure *out is NULL and |err| (|errlen| bytes) says why. */
int rt_client_new(rt_client **out, const char *api, const rt_retry *retry, char *err,
                  size_t errlen);
void rt_client_free(rt_client *c);
const char *rt_client_errmsg(const rt_client *c);
const char *rt_strerror(int code);

/* Blocks until Lambda hands over the next invocation; no timeout (the process may be frozen
 * while it waits). Also sets _X_AMZN_TRACE_ID from the trace header (unsets it when absent). */
int rt_next(rt_client *c, rt_invocation *inv);

/* Posts |len| bytes of |body| as the result of |inv|. */
int rt_respond(rt_client *c, const rt_invocation *inv, const char *body, size_t len);

/* Posts an error for |inv|: |type| in Category.Reason form (e.g. "Function.Unhandled"),
 * |message| for humans. Both are JSON-escaped here. */
int rt_fail(rt_client *c, const rt_invocation *inv, const char *type, const char *message);

/* Reports a failed initialisation; the caller then exits. */
int rt_init_error(rt_client *c, const char *type, const char *message);

/* Internal, exposed for tests: parsing and formatting without a network. */

/* Parses a Lambda-Runtime-Deadline-Ms value: digits only, no sign, no blanks, fits int64. */
int rt_parse_deadline(const char *value, int64_t *out);

/* Whether |type| has the form (Runtime|Function).[A-Z][a-zA-Z]+ that Lambda keeps. */
int rt_error_type_valid(const char *type);

/* Builds the JSON error body {"errorMessage","errorType","stackTrace":[]}; a |type| that is not
 * valid becomes "Runtime.Unknown". Returns a malloc'd string, or NULL when out of memory. */
char *rt_error_body(const char *type, const char *message);

/* Parses the |n| header lines ("Name: value") of a `next` answer into |inv|, copying the values
 * into |store| (|storelen| bytes). Checks the request id, deadline and ARN are present and
 * well formed; on failure |err| names the header and the value. */
int rt_parse_next_headers(const char *const *lines, size_t n, rt_invocation *inv, char *store,
                          size_t storelen, char *err, size_t errlen);

#endif
