/*
 * grpc_wire: the pure parts of gRPC over HTTP/2, apart from any connection: status codes and
 * which are retried, the 5-byte message framing, the grpc-timeout value, the percent-encoded
 * grpc-message, the HTTP status a non-gRPC answer maps to, and the first detail's type in
 * grpc-status-details-bin (base64 google.rpc.Status, read with its own small protobuf
 * scanner). Everything a server sends goes through here before the channel trusts it, so each
 * parser is bounded by its input and its output buffer and never asserts (tests/unit/
 * test_grpc_wire.c; fuzzed by tests/fuzz/fuzz_grpc_wire.c).
 *
 * Ownership: inputs are borrowed; output goes to the caller's buffers, always NUL-terminated
 * when |n| > 0. Errors: 0 or -1 as written per function. Threading: no state; any thread.
 */
#ifndef TW_GRPC_WIRE_H
#define TW_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum grpc_code {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16,
};

#define GRPC_FRAME_HEADER 5 /* flag byte + big-endian length */

/* "UNAVAILABLE" etc.; "INVALID_CODE" outside 0..16. */
const char *grpc_code_name(int code);
/* Is a call that ended with |code| (and |message|, may be NULL) worth sending again? See
 * grpc.h for the list and why it is safe for a worker's calls. */
int grpc_retryable(int code, const char *message);
/* The gRPC code for an answer that ended with HTTP status |http_status| and no grpc-status
 * (gRPC's HTTP-to-gRPC mapping: 401, 403, 404, 429/502/503/504, 400, else UNKNOWN). */
int grpc_code_from_http(int http_status);

/* Writes the frame header of an uncompressed message of |len| bytes into |hdr|. */
void grpc_frame_header(uint8_t hdr[GRPC_FRAME_HEADER], uint32_t len);
/* Unframes one gRPC message (flag byte + big-endian length + bytes) that must be all of
 * |buf|. Returns 0 and the message's offset and length, or -1 with |why| set (a static
 * string). */
int grpc_unframe(const uint8_t *buf, size_t len, size_t *off, size_t *msg_len, const char **why);

/* grpc-timeout value for |ms| milliseconds: at most 8 digits and a unit (ms below 1 count as
 * 1; beyond 99999999 s, that). */
void grpc_timeout_value(int64_t ms, char *out, size_t n);
/* Decodes |in| (percent-encoded grpc-message) into |out|; a malformed escape is kept as is. */
void grpc_percent_decode(const char *in, size_t len, char *out, size_t n);
/* The first detail's type URL from a grpc-status-details-bin value (base64 of
 * google.rpc.Status); "" when it has no detail. Returns 0, or -1 when malformed. */
int grpc_status_detail_type(const char *b64, size_t len, char *out, size_t n);

#endif
