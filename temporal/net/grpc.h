/*
 * grpc: unary gRPC calls to Temporal's WorkflowService over HTTP/2 (nghttp2), on one
 * connection with many concurrent streams, plaintext (prior knowledge) or TLS.
 *
 * One network thread owns the connection and the nghttp2 session; callers on any thread hand
 * it calls through a queue and a wake-up fd and block until their call ends. Lost connections
 * and GOAWAY are handled by connecting again when the next call needs it.
 *
 * Retries (grpc_unary*): a call that ends with UNAVAILABLE, INTERNAL, UNKNOWN, ABORTED,
 * OUT_OF_RANGE, DATA_LOSS or RESOURCE_EXHAUSTED (not "message too large") is sent again with
 * exponential back-off (100 ms doubling to 5 s, +-20% jitter) while its deadline allows. This
 * is safe for the calls a worker makes: polls only ask for work (a poll lost with a task in it
 * is retried by the server after the task's timeout), responds and heartbeats carry a task
 * token the server accepts once (a repeat after a success is refused as NotFound), and
 * GetSystemInfo / DescribeNamespace / GetWorkflowExecutionHistory only read. Calls that must
 * not repeat pass GRPC_NO_RETRY.
 *
 * Ownership: arguments are borrowed; a response belongs to the caller. Errors: functions
 * return a gRPC status code (0 = OK) and fill a grpc_status with the message.
 */
#ifndef TW_GRPC_H
#define TW_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "temporal/net/transport.h"

enum grpc_code {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16,
};

#define GRPC_MAX_REQUEST (4 * 1024 * 1024)     /* the server refuses more */
#define GRPC_MAX_RESPONSE (128 * 1024 * 1024)  /* history pages can be large (as sdk-go) */

typedef struct grpc_header {
    const char *name; /* lower case */
    const char *value;
} grpc_header;

typedef struct grpc_config {
    const char *host;
    int port;
    const char *authority;      /* :authority; NULL: host:port */
    int tls;                    /* 0: plaintext HTTP/2 with prior knowledge */
    tp_tls_config tls_cfg;
    const char *namespace_name; /* sent as temporal-namespace on namespaced calls */
    const char *api_key;        /* sent as authorization: Bearer ...; NULL: none */
    const grpc_header *headers; /* extra headers on every call */
    size_t nheaders;
    int keepalive_ms;           /* PING interval while calls are open; 0: 30 s (min 10 s) */
    int connect_timeout_ms;     /* 0: 10 s */
} grpc_config;

typedef struct grpc_status {
    int code;
    char message[512];
    char detail_type[160]; /* type URL of the first grpc-status-details-bin detail, or "" */
    int attempts;
} grpc_status;

enum {
    GRPC_NAMESPACED = 1, /* send temporal-namespace */
    GRPC_LONG_POLL = 2,  /* ended by grpc_cancel_polls() */
    GRPC_NO_RETRY = 4,
};

typedef struct grpc_channel grpc_channel;

/* Starts the network thread; connects lazily, on the first call. */
int grpc_channel_new(grpc_channel **out, const grpc_config *cfg, char *err, size_t errlen);
/* Ends every open call with CANCELLED, closes the connection, joins the thread. */
void grpc_channel_free(grpc_channel *ch);

/* Calls WorkflowService/|method| with |req| and unpacks the answer as |resp_desc| with |alloc|
 * (NULL: protobuf-c's default) into *resp. |timeout_ms| bounds the whole call, retries
 * included. Returns the status code; *resp is set only on GRPC_OK. */
int grpc_unary(grpc_channel *ch, const char *method, int flags, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
               ProtobufCMessage **resp, int timeout_ms, grpc_status *st);

/* The same with bytes: |req| is the serialised message; *resp (malloc'd) the answer's. */
int grpc_unary_raw(grpc_channel *ch, const char *method, int flags, const uint8_t *req,
                   size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len,
                   grpc_status *st);

/* Ends every open or waiting GRPC_LONG_POLL call with CANCELLED, and closes the channel to
 * polls for good: a GRPC_LONG_POLL call made afterwards ends at once with CANCELLED (the
 * worker stops polling; a poll that raced the stop must not stay open). */
void grpc_cancel_polls(grpc_channel *ch);

/* Connections made so far (for tests of reconnection). */
int grpc_channel_connections(grpc_channel *ch);

const char *grpc_code_name(int code);
int grpc_retryable(int code, const char *message);

/* Internal, exposed for tests. */
/* grpc-timeout value for |ms| milliseconds: at most 8 digits and a unit. */
void grpc_timeout_value(int64_t ms, char *out, size_t n);
/* Decodes |in| (percent-encoded grpc-message) into |out|. */
void grpc_percent_decode(const char *in, size_t len, char *out, size_t n);
/* The first detail's type URL from a grpc-status-details-bin value (base64 of
 * google.rpc.Status). Returns 0, or -1 when malformed. */
int grpc_status_detail_type(const char *b64, size_t len, char *out, size_t n);
/* Unframes one gRPC message (flag byte + big-endian length + bytes). Returns 0 and the
 * message's offset and length, or -1 with |why| set. */
int grpc_unframe(const uint8_t *buf, size_t len, size_t *off, size_t *msg_len, const char **why);

#endif
