/*
 * grpc_wire: codes, framing, grpc-timeout, grpc-message and status details. See grpc_wire.h.
 */
#include "temporal/net/grpc_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    return code >= 0 && code <= 16 ? names[code] : "INVALID_CODE";
}

int grpc_retryable(int code, const char *message)
{
    switch (code) {
    case GRPC_UNAVAILABLE:
    case GRPC_INTERNAL:
    case GRPC_UNKNOWN:
    case GRPC_ABORTED:
    case GRPC_OUT_OF_RANGE:
    case GRPC_DATA_LOSS:
        return 1;
    case GRPC_RESOURCE_EXHAUSTED: /* except a message over the size limit: it stays too big */
        return !(message && (strstr(message, "message larger than max") ||
                             strstr(message, "exceeds the") || strstr(message, "too large")));
    default:
        return 0;
    }
}

int grpc_code_from_http(int http_status)
{
    switch (http_status) {
    case 400: return GRPC_INTERNAL;
    case 401: return GRPC_UNAUTHENTICATED;
    case 403: return GRPC_PERMISSION_DENIED;
    case 404: return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return GRPC_UNAVAILABLE;
    default: return GRPC_UNKNOWN;
    }
}

void grpc_timeout_value(int64_t ms, char *out, size_t n)
{
    if (ms < 1)
        ms = 1;
    if (ms <= 99999999)
        snprintf(out, n, "%lldm", (long long)ms);
    else if (ms / 1000 <= 99999999)
        snprintf(out, n, "%lldS", (long long)(ms / 1000));
    else
        snprintf(out, n, "99999999S");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 32;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void grpc_percent_decode(const char *in, size_t len, char *out, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < len && w + 1 < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < len && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[w++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[w++] = in[i];
        }
    }
    out[w] = '\0';
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Reads a varint at *p (< end). Returns -1 when truncated or too long. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Finds length-delimited field |field| in a protobuf message; 0 and its bytes, -1 when absent,
 * -2 when the message is malformed. */
static int find_bytes_field(const uint8_t *p, const uint8_t *end, uint32_t field,
                            const uint8_t **out, size_t *out_len)
{
    while (p < end) {
        uint64_t key, v;
        if (read_varint(&p, end, &key))
            return -2;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &v))
                return -2;
            break;
        case 1:
            if (end - p < 8)
                return -2;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return -2;
            p += 4;
            break;
        case 2:
            if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -2;
            if ((key >> 3) == field) {
                *out = p;
                *out_len = (size_t)v;
                return 0;
            }
            p += v;
            break;
        default:
            return -2;
        }
    }
    return -1;
}

int grpc_status_detail_type(const char *b64, size_t len, char *out, size_t n)
{
    uint8_t *raw = malloc(len * 3 / 4 + 3);
    size_t rl = 0;
    uint32_t acc = 0;
    int bits = 0, rc = -1;
    if (!raw)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (b64[i] == '=')
            break;
        int v = b64val(b64[i]);
        if (v < 0)
            goto out;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[rl++] = (uint8_t)(acc >> bits);
        }
    }
    /* google.rpc.Status { code = 1; message = 2; repeated Any details = 3 }, Any { type_url = 1 } */
    const uint8_t *detail, *type;
    size_t dl, tl;
    int found = find_bytes_field(raw, raw + rl, 3, &detail, &dl);
    if (found == -2)
        goto out;
    if (found == 0) {
        if (find_bytes_field(detail, detail + dl, 1, &type, &tl))
            goto out;
        snprintf(out, n, "%.*s", (int)tl, (const char *)type);
    }
    rc = 0;
out:
    free(raw);
    return rc;
}

void grpc_frame_header(uint8_t hdr[GRPC_FRAME_HEADER], uint32_t len)
{
    hdr[0] = 0;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
}

int grpc_unframe(const uint8_t *buf, size_t len, size_t *off, size_t *msg_len, const char **why)
{
    if (len < 5) {
        *why = "response has no complete gRPC message";
        return -1;
    }
    if (buf[0] != 0) {
        *why = buf[0] == 1 ? "response is compressed (no compression was offered)"
                           : "invalid gRPC frame flag";
        return -1;
    }
    uint32_t n = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
    if ((size_t)n != len - 5) {
        *why = (size_t)n > len - 5 ? "response message truncated"
                                   : "more than one message in a unary response";
        return -1;
    }
    *off = 5;
    *msg_len = n;
    return 0;
}
