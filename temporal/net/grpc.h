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
 * return a gRPC status code (grpc_wire.h; 0 = OK) and fill a grpc_status with the message.
 * Threading: calls may be made from any thread, many at once.
 *
 * Files: grpc.c (the channel thread, its event loop, the retrying calls), h2.c (one HTTP/2
 * connection: nghttp2 session, streams, what the server's frames mean), grpc_wire.c (pure
 * framing and header formats), grpc_int.h (what grpc.c and h2.c share).
 */
#ifndef TW_GRPC_H
#define TW_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "temporal/net/grpc_wire.h"
#include "temporal/net/transport.h"

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

#endif
