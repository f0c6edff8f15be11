/*
 * fuzz_grpc_wire: the gRPC wire helpers of temporal/net/grpc_wire.h (linked alone) on what a
 * server (or anything in between) may send: the framing of a unary answer (grpc_unframe), the
 * percent-encoded grpc-message (grpc_percent_decode), the base64 google.rpc.Status of
 * grpc-status-details-bin (grpc_status_detail_type, with its own protobuf scanner), and the
 * grpc-timeout value made from a number (grpc_timeout_value). Every input goes to all of them;
 * output buffers are allocated to the exact size (the one h2.c uses, and a small one chosen by
 * the last byte) so that ASan sees a byte written too far. The HTTP/2 connection itself has its
 * own target.
 *
 * Checked beyond crashes and leaks: an accepted frame is the 5-byte header plus exactly the
 * length it declares; outputs are NUL-terminated within their buffer and never longer than the
 * input; a timeout value is 1 to 8 digits and a unit.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "temporal/net/grpc_wire.h"

#define MESSAGE_SIZE 512 /* grpc_status.message */
#define DETAIL_SIZE 160  /* grpc_status.detail_type */

#define check FUZZ_CHECK

static void unframe(const uint8_t *data, size_t size)
{
    size_t off = 99, len = 99;
    const char *why = NULL;
    if (grpc_unframe(data, size, &off, &len, &why) == 0) {
        check(off == 5 && size >= 5 && len == size - 5 && data[0] == 0);
        check(((size_t)data[1] << 24 | (size_t)data[2] << 16 | (size_t)data[3] << 8 | data[4]) ==
              len);
    } else {
        check(why && *why);
    }
}

static void percent_decode(const uint8_t *data, size_t size, size_t n)
{
    char *out = malloc(n);
    check(out != NULL);
    grpc_percent_decode((const char *)data, size, out, n);
    size_t len = strnlen(out, n);
    check(len < n && len <= size);
    free(out);
}

static void detail_type(const uint8_t *data, size_t size, size_t n)
{
    char *out = malloc(n);
    check(out != NULL);
    int rc = grpc_status_detail_type((const char *)data, size, out, n);
    check(rc == 0 || rc == -1);
    check(strnlen(out, n) < n);
    free(out);
}

static void timeout_value(const uint8_t *data, size_t size)
{
    int64_t ms = 0;
    char v[16];
    memcpy(&ms, data, size < sizeof(ms) ? size : sizeof(ms));
    grpc_timeout_value(ms, v, sizeof(v));
    size_t digits = strspn(v, "0123456789");
    check(digits >= 1 && digits <= 8 && (v[digits] == 'm' || v[digits] == 'S') && !v[digits + 1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t small = 1 + (size ? data[size - 1] % 32 : 0);
    unframe(data, size);
    percent_decode(data, size, MESSAGE_SIZE);
    percent_decode(data, size, small);
    detail_type(data, size, DETAIL_SIZE);
    detail_type(data, size, small);
    timeout_value(data, size);
    return 0;
}
