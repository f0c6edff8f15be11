/*
 * grpc: the channel's network thread, its HTTP/2 connections and gRPC framing. See grpc.h.
 *
 * The network thread owns everything below `loop-owned`; callers only touch the submit queue
 * and their own call's `done` flag, both under the channel mutex. A call lives on its caller's
 * stack; the loop forgets it (and detaches it from its stream) before marking it done.
 */
#define _GNU_SOURCE
#include "temporal/net/grpc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "temporal/clock.h"
#include "runtime/log.h"
#include "temporal/version.h"

#define SERVICE_PATH "/temporal.api.workflowservice.v1.WorkflowService/"
#define STREAM_WINDOW (8 * 1024 * 1024)
#define CONN_WINDOW (32 * 1024 * 1024)
#define PING_TIMEOUT_MS 20000
#define OUT_MAX (1024 * 1024) /* bytes taken from nghttp2 before a write */

typedef struct h2conn h2conn;
typedef struct call call;

struct call {
    char path[160];
    int flags;
    const uint8_t *req; /* framed */
    size_t req_len, req_off;
    int64_t deadline;   /* monotonic ms */
    /* results */
    uint8_t *resp;
    size_t resp_len, resp_cap;
    int http_status;
    int code;           /* -1 until grpc-status is seen */
    char message[512];
    char detail_type[160];
    int done;
    /* loop-owned */
    h2conn *conn;
    int32_t stream_id;
    call *next;
};

struct h2conn {
    grpc_channel *ch;
    tp_conn *tp;
    nghttp2_session *session;
    int ready;          /* TLS done, session made */
    int dead;
    int goaway;
    int64_t connect_deadline;
    int64_t last_ping, ping_sent;
    uint8_t *out;       /* bytes nghttp2 produced that the socket did not take yet */
    size_t out_len, out_off;
    h2conn *next;
};

struct grpc_channel {
    /* configuration (owned copies) */
    char *host, *authority, *namespace_name, *api_key;
    int port, tls_on, keepalive_ms, connect_timeout_ms;
    grpc_header *headers;
    size_t nheaders;
    tp_tls *tls;

    pthread_t thread;
    int wake_fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    call *submitted;    /* from callers, under mu */
    int stopping;
    int cancel_polls;   /* request, under mu */
    unsigned poll_gen;  /* bumped by every grpc_cancel_polls() */
    int polls_closed;   /* under mu: set by grpc_cancel_polls(), for good */
    int connections;

    /* loop-owned */
    h2conn *conns;      /* the first is the active one unless it is going away */
    call *calls;        /* waiting for a connection or on a stream */
};

#define now_ms clock_mono_ms

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

/* ---- the loop: calls ---- */

static void wake(grpc_channel *ch)
{
    uint64_t one = 1;
    ssize_t w = write(ch->wake_fd, &one, sizeof(one));
    (void)w;
}

static void unlink_call(grpc_channel *ch, call *c)
{
    for (call **pp = &ch->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    c->next = NULL;
}

/* Ends |c| with |code| (unless grpc-status already said): detaches it from its stream and
 * wakes its caller. After this the loop never touches |c| again. */
static void finish(grpc_channel *ch, call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finish(grpc_channel *ch, call *c, int code, const char *fmt, ...)
{
    if (code >= 0) {
        c->code = code;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->message, sizeof(c->message), fmt, ap);
            va_end(ap);
        }
    }
    if (c->conn && c->stream_id > 0 && c->conn->session)
        nghttp2_session_set_stream_user_data(c->conn->session, c->stream_id, NULL);
    unlink_call(ch, c);
    pthread_mutex_lock(&ch->mu);
    c->done = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

/* Turns what the stream carried into the call's result. */
static void complete_stream(grpc_channel *ch, call *c, uint32_t error_code)
{
    if (c->code < 0) {
        if (error_code == NGHTTP2_REFUSED_STREAM) {
            finish(ch, c, GRPC_UNAVAILABLE, "stream refused by the server (not processed)");
            return;
        }
        if (error_code) {
            finish(ch, c, error_code == NGHTTP2_CANCEL ? GRPC_CANCELLED : GRPC_INTERNAL,
                   "stream reset by the server: %s", nghttp2_http2_strerror(error_code));
            return;
        }
        if (c->http_status && c->http_status != 200) {
            int code = c->http_status == 401 ? GRPC_UNAUTHENTICATED
                     : c->http_status == 403 ? GRPC_PERMISSION_DENIED
                     : c->http_status == 404 ? GRPC_UNIMPLEMENTED
                     : (c->http_status == 429 || c->http_status == 502 || c->http_status == 503 ||
                        c->http_status == 504) ? GRPC_UNAVAILABLE
                     : c->http_status == 400 ? GRPC_INTERNAL : GRPC_UNKNOWN;
            finish(ch, c, code, "HTTP status %d from the server", c->http_status);
            return;
        }
        finish(ch, c, GRPC_INTERNAL, "stream ended without grpc-status");
        return;
    }
    if (c->code == GRPC_OK) {
        size_t off, len;
        const char *why;
        if (grpc_unframe(c->resp, c->resp_len, &off, &len, &why)) {
            finish(ch, c, GRPC_INTERNAL, "%s", why);
            return;
        }
        memmove(c->resp, c->resp + off, len);
        c->resp_len = len;
    }
    finish(ch, c, -1, NULL);
}

/* Calls still open on |conn| (what keeps it busy: a stream the server pushed or one already
 * reset does not). */
static int conn_calls(const grpc_channel *ch, const h2conn *conn)
{
    int n = 0;
    for (const call *c = ch->calls; c; c = c->next)
        n += c->conn == conn;
    return n;
}

/* The open call on stream |id| of |conn|, found without the stream (which a request nghttp2
 * has not sent yet does not have). */
static call *call_on_stream(grpc_channel *ch, const h2conn *conn, int32_t id)
{
    for (call *c = ch->calls; c; c = c->next)
        if (c->conn == conn && c->stream_id == id)
            return c;
    return NULL;
}

/* ---- nghttp2 callbacks ---- */

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ud)
{
    call *c;
    if (frame->hd.type != NGHTTP2_HEADERS ||
        !(c = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id)))
        return 0;
#define IS(n) (namelen == sizeof(n) - 1 && memcmp(name, n, namelen) == 0)
    if (IS(":status")) {
        c->http_status = atoi((const char *)value);
    } else if (IS("grpc-status")) {
        char v[8];
        snprintf(v, sizeof(v), "%.*s", (int)(valuelen < 7 ? valuelen : 7), (const char *)value);
        c->code = atoi(v);
        if (c->code < 0 || c->code > 16)
            c->code = GRPC_UNKNOWN;
    } else if (IS("grpc-message")) {
        grpc_percent_decode((const char *)value, valuelen, c->message, sizeof(c->message));
    } else if (IS("grpc-status-details-bin")) {
        grpc_status_detail_type((const char *)value, valuelen, c->detail_type,
                                sizeof(c->detail_type));
    }
#undef IS
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *ud)
{
    call *c = nghttp2_session_get_stream_user_data(s, stream_id);
    if (!c)
        return 0;
    if (c->resp_len + len > GRPC_MAX_RESPONSE + 5) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
        c->code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(c->message, sizeof(c->message), "response larger than %d bytes", GRPC_MAX_RESPONSE);
        return 0;
    }
    if (c->resp_len + len > c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap : 4096;
        while (cap < c->resp_len + len)
            cap *= 2;
        uint8_t *p = realloc(c->resp, cap);
        if (!p)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        c->resp = p;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, data, len);
    c->resp_len += len;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    h2conn *conn = ud;
    call *c = nghttp2_session_get_stream_user_data(s, stream_id);
    if (c)
        complete_stream(conn->ch, c, error_code);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud)
{
    h2conn *conn = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        conn->goaway = 1; /* streams above last_stream_id are refused and retried elsewhere */
        log_debug("grpc: GOAWAY (last stream %d, %s)", frame->goaway.last_stream_id,
                  nghttp2_http2_strerror(frame->goaway.error_code));
        /* A request still queued in nghttp2 (its HEADERS waiting for a stream the server's
         * concurrency limit allows) will never be sent now, and no stream close comes for it:
         * end it here, UNAVAILABLE, so that it is retried on a new connection instead of
         * waiting for its deadline. */
        for (call *c = conn->ch->calls, *next; c; c = next) {
            next = c->next;
            if (c->conn == conn && c->stream_id > 0 &&
                !nghttp2_session_find_stream(s, c->stream_id))
                finish(conn->ch, c, GRPC_UNAVAILABLE,
                       "request not sent: the server is going away (GOAWAY)");
        }
    } else if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        conn->ping_sent = 0;
    }
    return 0;
}

/* A request nghttp2 dropped unsent (the session is closing, no stream ids are left): no stream
 * close comes for it, so it ends here. */
static int on_frame_not_send(nghttp2_session *s, const nghttp2_frame *frame, int error, void *ud)
{
    h2conn *conn = ud;
    call *c = frame->hd.type == NGHTTP2_HEADERS
                  ? call_on_stream(conn->ch, conn, frame->hd.stream_id) : NULL;
    if (c)
        finish(conn->ch, c, GRPC_UNAVAILABLE, "request not sent: %s", nghttp2_strerror(error));
    return 0;
}

static ssize_t read_request(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    call *c = src->ptr;
    size_t n = c->req_len - c->req_off;
    if (n > length)
        n = length;
    memcpy(buf, c->req + c->req_off, n);
    c->req_off += n;
    if (c->req_off == c->req_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- connections ---- */

static void conn_free(h2conn *conn)
{
    nghttp2_session_del(conn->session);
    tp_close(conn->tp);
    free(conn->out);
    free(conn);
}

/* Ends every call on |conn| (they are retried by their callers) and marks it dead. */
static void conn_fail(grpc_channel *ch, h2conn *conn, const char *why)
{
    if (conn->dead)
        return;
    conn->dead = 1;
    log_debug("grpc: connection lost: %s", why);
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (c->conn == conn)
            finish(ch, c, GRPC_UNAVAILABLE, "connection to %s:%d lost: %s", ch->host, ch->port, why);
        else if (!c->conn && !conn->ready) /* waited for this connection, which never came up */
            finish(ch, c, GRPC_UNAVAILABLE, "%s", why);
    }
}

/* A new connection; the name lookup gets no longer than the connect timeout, nor past the
 * earliest deadline of the calls waiting for it. */
static h2conn *conn_new(grpc_channel *ch, char *err, size_t errlen)
{
    int64_t now = now_ms(), resolve_ms = ch->connect_timeout_ms;
    for (call *c = ch->calls; c; c = c->next)
        if (!c->conn && c->deadline - now < resolve_ms)
            resolve_ms = c->deadline - now;
    h2conn *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    conn->ch = ch;
    err[0] = '\0';
    if (tp_connect(&conn->tp, ch->host, ch->port, ch->tls, (int)(resolve_ms > 0 ? resolve_ms : 1),
                   err, errlen) != TP_OK) {
        free(conn);
        return NULL;
    }
    conn->connect_deadline = now_ms() + ch->connect_timeout_ms;
    ch->connections++;
    return conn;
}

static int session_start(grpc_channel *ch, h2conn *conn)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs))
        return -1;
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
    int rc = nghttp2_session_client_new(&conn->session, cbs, conn);
    nghttp2_session_callbacks_del(cbs);
    if (rc)
        return -1;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024},
    };
    if (nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 3) ||
        nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW))
        return -1;
    conn->ready = 1;
    conn->last_ping = now_ms();
    return 0;
}

static void submit(grpc_channel *ch, h2conn *conn, call *c)
{
    char timeout[24], authority[300], bearer[1100];
    grpc_timeout_value(c->deadline - now_ms(), timeout, sizeof(timeout));
    if (ch->authority)
        snprintf(authority, sizeof(authority), "%s", ch->authority);
    else
        snprintf(authority, sizeof(authority), "%s:%d", ch->host, ch->port);
    nghttp2_nv nv[16 + 64]; /* fixed headers + CFG_MAX_META extra ones */
    size_t n = 0;
#define NV(k, v) nv[n++] = (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), \
                                        NGHTTP2_NV_FLAG_NONE}
    NV(":method", "POST");
    NV(":scheme", ch->tls_on ? "https" : "http");
    NV(":path", c->path);
    NV(":authority", authority);
    NV("te", "trailers");
    NV("content-type", "application/grpc");
    NV("grpc-timeout", timeout);
    NV("user-agent", TW_SDK_NAME "/" TW_SDK_VERSION);
    NV("client-name", TW_SDK_NAME);
    NV("client-version", TW_SDK_VERSION);
    if ((c->flags & GRPC_NAMESPACED) && ch->namespace_name)
        NV("temporal-namespace", ch->namespace_name);
    if (ch->api_key) {
        snprintf(bearer, sizeof(bearer), "Bearer %s", ch->api_key);
        nv[n++] = (nghttp2_nv){(uint8_t *)"authorization", (uint8_t *)bearer, 13, strlen(bearer),
                               NGHTTP2_NV_FLAG_NO_INDEX}; /* kept out of HPACK tables */
    }
    for (size_t i = 0; i < ch->nheaders && n < sizeof(nv) / sizeof(nv[0]); i++)
        NV(ch->headers[i].name, ch->headers[i].value);
#undef NV
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = read_request};
    int32_t id = nghttp2_submit_request(conn->session, NULL, nv, n, &dp, c);
    if (id < 0) {
        finish(ch, c, GRPC_UNAVAILABLE, "cannot open a stream: %s", nghttp2_strerror(id));
        return;
    }
    c->conn = conn;
    c->stream_id = id;
}

/* Moves bytes from nghttp2 to the socket. Returns -1 when the connection broke. */
static int flush(h2conn *conn)
{
    for (;;) {
        if (conn->out_off == conn->out_len) {
            conn->out_off = conn->out_len = 0;
            const uint8_t *data;
            ssize_t n;
            while (conn->out_len < OUT_MAX &&
                   (n = nghttp2_session_mem_send(conn->session, &data)) > 0) {
                uint8_t *p = realloc(conn->out, conn->out_len + (size_t)n);
                if (!p)
                    return -1;
                conn->out = p;
                memcpy(conn->out + conn->out_len, data, (size_t)n);
                conn->out_len += (size_t)n;
            }
            if (conn->out_len == 0)
                return 0;
        }
        ssize_t w = tp_write(conn->tp, conn->out + conn->out_off, conn->out_len - conn->out_off);
        if (w == TP_AGAIN)
            return 0;
        if (w < 0)
            return -1;
        conn->out_off += (size_t)w;
    }
}

static int conn_read(h2conn *conn)
{
    uint8_t buf[16384];
    for (;;) {
        ssize_t n = tp_read(conn->tp, buf, sizeof(buf));
        if (n == TP_AGAIN)
            return 0;
        if (n == TP_EOF)
            return -1;
        if (n < 0)
            return -1;
        ssize_t rc = nghttp2_session_mem_recv(conn->session, buf, (size_t)n);
        if (rc < 0) {
            log_warn("grpc: HTTP/2 error: %s", nghttp2_strerror((int)rc));
            return -1;
        }
    }
}

/* The connection new calls go to: the first that is alive and not going away. */
static h2conn *active_conn(grpc_channel *ch)
{
    for (h2conn *c = ch->conns; c; c = c->next)
        if (!c->dead && !c->goaway)
            return c;
    return NULL;
}

static void drive_conn(grpc_channel *ch, h2conn *conn, short revents)
{
    if (!conn->ready) {
        int rc = tp_handshake(conn->tp);
        if (rc == TP_AGAIN)
            return;
        if (rc != TP_OK) {
            conn_fail(ch, conn, tp_error(conn->tp));
            return;
        }
        const char *alpn = tp_alpn(conn->tp);
        if (ch->tls_on && (!alpn || strcmp(alpn, "h2") != 0))
            log_warn("grpc: server did not negotiate ALPN h2; speaking HTTP/2 anyway");
        if (session_start(ch, conn)) {
            conn_fail(ch, conn, "HTTP/2 session set-up failed");
            return;
        }
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) || tp_pending(conn->tp)) {
        if (conn_read(conn)) {
            conn_fail(ch, conn, tp_error(conn->tp)[0] ? tp_error(conn->tp) : "closed by the server");
            return;
        }
    }
}

static void loop_timers(grpc_channel *ch, int64_t now)
{
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (now < c->deadline)
            continue;
        if (c->conn && c->stream_id > 0 && !c->conn->dead)
            nghttp2_submit_rst_stream(c->conn->session, NGHTTP2_FLAG_NONE, c->stream_id,
                                      NGHTTP2_CANCEL);
        finish(ch, c, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
    }
    for (h2conn *conn = ch->conns; conn; conn = conn->next) {
        if (conn->dead)
            continue;
        if (!conn->ready && now >= conn->connect_deadline) {
            conn_fail(ch, conn, "connect timed out");
            continue;
        }
        if (!conn->ready)
            continue;
        if (conn->ping_sent && now - conn->ping_sent > PING_TIMEOUT_MS) {
            conn_fail(ch, conn, "no answer to keepalive PING");
            continue;
        }
        if (conn_calls(ch, conn) > 0 && !conn->ping_sent &&
            now - conn->last_ping >= ch->keepalive_ms) {
            nghttp2_submit_ping(conn->session, NGHTTP2_FLAG_NONE, NULL);
            conn->ping_sent = conn->last_ping = now;
        }
    }
}

static void take_submitted(grpc_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    call *list = ch->submitted;
    ch->submitted = NULL;
    int cancel = ch->cancel_polls;
    ch->cancel_polls = 0;
    pthread_mutex_unlock(&ch->mu);
    while (list) {
        call *c = list;
        list = c->next;
        c->next = ch->calls;
        ch->calls = c;
    }
    if (!cancel)
        return;
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (!(c->flags & GRPC_LONG_POLL))
            continue;
        if (c->conn && c->stream_id > 0 && !c->conn->dead)
            nghttp2_submit_rst_stream(c->conn->session, NGHTTP2_FLAG_NONE, c->stream_id,
                                      NGHTTP2_CANCEL);
        finish(ch, c, GRPC_CANCELLED, "poll cancelled: the worker is stopping");
    }
}

/* Gives waiting calls a stream, connecting first when needed. */
static void dispatch(grpc_channel *ch)
{
    int waiting = 0;
    for (call *c = ch->calls; c; c = c->next)
        waiting |= c->conn == NULL;
    if (!waiting)
        return;
    h2conn *conn = active_conn(ch);
    if (!conn) {
        char err[256];
        conn = conn_new(ch, err, sizeof(err));
        if (!conn) {
            for (call *c = ch->calls, *next; c; c = next) {
                next = c->next;
                if (!c->conn)
                    finish(ch, c, GRPC_UNAVAILABLE, "%s", err);
            }
            return;
        }
        conn->next = ch->conns;
        ch->conns = conn;
        drive_conn(ch, conn, 0);
    }
    if (!conn->ready || conn->dead)
        return;
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (!c->conn)
            submit(ch, conn, c);
    }
}

static void reap_conns(grpc_channel *ch)
{
    for (h2conn **pp = &ch->conns; *pp;) {
        h2conn *conn = *pp;
        int idle_goaway = conn->goaway && conn_calls(ch, conn) == 0;
        int done = conn->ready && !conn->dead && !nghttp2_session_want_read(conn->session) &&
                   !nghttp2_session_want_write(conn->session);
        if (done || idle_goaway)
            conn_fail(ch, conn, "connection closed");
        if (conn->dead) {
            *pp = conn->next;
            conn_free(conn);
        } else {
            pp = &conn->next;
        }
    }
}

static void *loop(void *arg)
{
    grpc_channel *ch = arg;
    struct pollfd pfds[16];
    h2conn *polled[16];
    for (;;) {
        take_submitted(ch);
        pthread_mutex_lock(&ch->mu);
        int stopping = ch->stopping;
        pthread_mutex_unlock(&ch->mu);
        if (stopping)
            break;
        int64_t now = now_ms();
        loop_timers(ch, now);
        dispatch(ch);
        for (h2conn *conn = ch->conns; conn; conn = conn->next)
            if (conn->ready && !conn->dead && flush(conn))
                conn_fail(ch, conn, tp_error(conn->tp)[0] ? tp_error(conn->tp) : "write failed");
        reap_conns(ch);

        int timeout = 1000;
        for (call *c = ch->calls; c; c = c->next)
            if (c->deadline - now < timeout)
                timeout = c->deadline - now < 0 ? 0 : (int)(c->deadline - now);
        size_t n = 0;
        pfds[n++] = (struct pollfd){ch->wake_fd, POLLIN, 0};
        for (h2conn *conn = ch->conns; conn && n < 16; conn = conn->next) {
            short ev = tp_wants(conn->tp);
            if (conn->ready) {
                ev = POLLIN;
                if (conn->out_off < conn->out_len || nghttp2_session_want_write(conn->session))
                    ev |= POLLOUT;
                if (tp_pending(conn->tp))
                    timeout = 0;
            }
            polled[n] = conn;
            pfds[n++] = (struct pollfd){tp_fd(conn->tp), ev, 0};
        }
        if (poll(pfds, n, timeout) < 0 && errno != EINTR)
            continue;
        if (pfds[0].revents) {
            uint64_t v;
            ssize_t r = read(ch->wake_fd, &v, sizeof(v));
            (void)r;
        }
        for (size_t i = 1; i < n; i++)
            if (pfds[i].revents || tp_pending(polled[i]->tp))
                drive_conn(ch, polled[i], pfds[i].revents);
    }
    /* Stopping: every call still open ends now. */
    while (ch->calls)
        finish(ch, ch->calls, GRPC_CANCELLED, "channel closed");
    while (ch->conns) {
        h2conn *conn = ch->conns;
        ch->conns = conn->next;
        if (conn->ready && !conn->dead) {
            nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
            flush(conn);
        }
        conn_free(conn);
    }
    return NULL;
}

/* ---- public ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int grpc_channel_new(grpc_channel **out, const grpc_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->host || !*cfg->host || cfg->port <= 0 || cfg->port > 65535) {
        snprintf(err, errlen, "grpc: invalid address");
        return GRPC_INVALID_ARGUMENT;
    }
    grpc_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        goto nomem;
    ch->wake_fd = -1;
    ch->port = cfg->port;
    ch->tls_on = cfg->tls;
    ch->keepalive_ms = cfg->keepalive_ms ? cfg->keepalive_ms : 30000;
    if (ch->keepalive_ms < 10000)
        ch->keepalive_ms = 10000; /* the server refuses pings more often than every 10 s */
    ch->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000;
    ch->host = strdup(cfg->host);
    ch->authority = dup_or_null(cfg->authority);
    ch->namespace_name = dup_or_null(cfg->namespace_name);
    ch->api_key = dup_or_null(cfg->api_key);
    if (!ch->host || (cfg->authority && !ch->authority) ||
        (cfg->namespace_name && !ch->namespace_name) || (cfg->api_key && !ch->api_key))
        goto nomem;
    if (cfg->nheaders) {
        ch->headers = calloc(cfg->nheaders, sizeof(*ch->headers));
        if (!ch->headers)
            goto nomem;
        for (size_t i = 0; i < cfg->nheaders; i++, ch->nheaders++) {
            ch->headers[i].name = strdup(cfg->headers[i].name);
            ch->headers[i].value = strdup(cfg->headers[i].value);
            if (!ch->headers[i].name || !ch->headers[i].value) {
                ch->nheaders++;
                goto nomem;
            }
        }
    }
    if (cfg->tls && tp_tls_new(&ch->tls, &cfg->tls_cfg, err, errlen) != TP_OK) {
        grpc_channel_free(ch);
        return GRPC_INVALID_ARGUMENT;
    }
    pthread_mutex_init(&ch->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ch->cv, &ca);
    pthread_condattr_destroy(&ca);
    ch->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ch->wake_fd < 0 || pthread_create(&ch->thread, NULL, loop, ch)) {
        snprintf(err, errlen, "grpc: cannot start the network thread: %s", strerror(errno));
        if (ch->wake_fd >= 0)
            close(ch->wake_fd);
        ch->wake_fd = -2; /* no thread to join */
        grpc_channel_free(ch);
        return GRPC_INTERNAL;
    }
    *out = ch;
    return GRPC_OK;
nomem:
    snprintf(err, errlen, "out of memory");
    grpc_channel_free(ch);
    return GRPC_RESOURCE_EXHAUSTED;
}

void grpc_channel_free(grpc_channel *ch)
{
    if (!ch)
        return;
    if (ch->wake_fd >= 0) {
        pthread_mutex_lock(&ch->mu);
        ch->stopping = 1;
        pthread_mutex_unlock(&ch->mu);
        wake(ch);
        pthread_join(ch->thread, NULL);
        close(ch->wake_fd);
    }
    if (ch->wake_fd != -1) {
        pthread_mutex_destroy(&ch->mu);
        pthread_cond_destroy(&ch->cv);
    }
    tp_tls_free(ch->tls);
    for (size_t i = 0; i < ch->nheaders; i++) {
        free((char *)ch->headers[i].name);
        free((char *)ch->headers[i].value);
    }
    free(ch->headers);
    free(ch->host);
    free(ch->authority);
    free(ch->namespace_name);
    if (ch->api_key) {
        memset(ch->api_key, 0, strlen(ch->api_key));
        free(ch->api_key);
    }
    free(ch);
}

int grpc_channel_connections(grpc_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    int n = ch->connections;
    pthread_mutex_unlock(&ch->mu);
    return n;
}

void grpc_cancel_polls(grpc_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    ch->cancel_polls = 1;
    ch->polls_closed = 1;
    ch->poll_gen++;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
    wake(ch);
}

/* Runs one attempt of |c| and waits for it. */
static void run_once(grpc_channel *ch, call *c)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->stopping || ((c->flags & GRPC_LONG_POLL) && ch->polls_closed)) {
        c->code = GRPC_CANCELLED;
        snprintf(c->message, sizeof(c->message), ch->stopping ? "channel closed"
                                                 : "poll cancelled: the worker is stopping");
        pthread_mutex_unlock(&ch->mu);
        return;
    }
    c->next = ch->submitted;
    ch->submitted = c;
    pthread_mutex_unlock(&ch->mu);
    wake(ch);
    pthread_mutex_lock(&ch->mu);
    while (!c->done)
        pthread_cond_wait(&ch->cv, &ch->mu);
    pthread_mutex_unlock(&ch->mu);
}

/* Sleeps |ms| unless the channel stops or (for polls) polls are cancelled meanwhile. */
static int backoff_sleep(grpc_channel *ch, int flags, unsigned gen, int64_t ms)
{
    struct timespec until = clock_mono_after(ms);
    int interrupted = 0;
    pthread_mutex_lock(&ch->mu);
    while (!(interrupted = ch->stopping || ((flags & GRPC_LONG_POLL) && ch->poll_gen != gen)))
        if (pthread_cond_timedwait(&ch->cv, &ch->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&ch->mu);
    return interrupted ? -1 : 0;
}

int grpc_unary_raw(grpc_channel *ch, const char *method, int flags, const uint8_t *req,
                   size_t len, int timeout_ms, uint8_t **resp, size_t *resp_len,
                   grpc_status *st)
{
    memset(st, 0, sizeof(*st));
    *resp = NULL;
    *resp_len = 0;
    if (len > GRPC_MAX_REQUEST) {
        st->code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(st->message, sizeof(st->message),
                 "%s: request of %zu bytes exceeds the 4 MiB limit; not sent", method, len);
        return st->code;
    }
    uint8_t *framed = malloc(len + 5);
    if (!framed) {
        st->code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(st->message, sizeof(st->message), "out of memory");
        return st->code;
    }
    framed[0] = 0;
    framed[1] = (uint8_t)(len >> 24);
    framed[2] = (uint8_t)(len >> 16);
    framed[3] = (uint8_t)(len >> 8);
    framed[4] = (uint8_t)len;
    if (len)
        memcpy(framed + 5, req, len);

    pthread_mutex_lock(&ch->mu);
    unsigned gen = ch->poll_gen;
    pthread_mutex_unlock(&ch->mu);
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
    int64_t delay = 100;
    unsigned seed = (unsigned)(uintptr_t)st ^ (unsigned)now_ms();
    for (;;) {
        call c;
        memset(&c, 0, sizeof(c));
        snprintf(c.path, sizeof(c.path), SERVICE_PATH "%s", method);
        c.flags = flags;
        c.req = framed;
        c.req_len = len + 5;
        c.deadline = deadline;
        c.code = -1;
        st->attempts++;
        run_once(ch, &c);
        st->code = c.code < 0 ? GRPC_INTERNAL : c.code;
        snprintf(st->message, sizeof(st->message), "%s", c.message);
        snprintf(st->detail_type, sizeof(st->detail_type), "%s", c.detail_type);
        if (st->code == GRPC_OK) {
            *resp = c.resp;
            *resp_len = c.resp_len;
            break;
        }
        free(c.resp);
        if ((flags & GRPC_NO_RETRY) || !grpc_retryable(st->code, st->message))
            break;
        int64_t jittered = delay * (80 + (int64_t)(rand_r(&seed) % 41)) / 100;
        if (now_ms() + jittered >= deadline)
            break;
        log_debug("grpc: %s: %s: %s; retrying in %lld ms", method, grpc_code_name(st->code),
                  st->message, (long long)jittered);
        if (backoff_sleep(ch, flags, gen, jittered))
            break;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    free(framed);
    return st->code;
}

int grpc_unary(grpc_channel *ch, const char *method, int flags, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
               ProtobufCMessage **resp, int timeout_ms, grpc_status *st)
{
    *resp = NULL;
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        memset(st, 0, sizeof(*st));
        st->code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(st->message, sizeof(st->message), "out of memory");
        return st->code;
    }
    protobuf_c_message_pack(req, buf);
    uint8_t *out;
    size_t out_len;
    int code = grpc_unary_raw(ch, method, flags, buf, len, timeout_ms, &out, &out_len, st);
    free(buf);
    if (code != GRPC_OK)
        return code;
    *resp = protobuf_c_message_unpack(resp_desc, alloc, out_len, out);
    free(out);
    if (!*resp) {
        st->code = GRPC_INTERNAL;
        snprintf(st->message, sizeof(st->message), "%s: could not decode the %s response",
                 method, resp_desc->name);
    }
    return st->code;
}
