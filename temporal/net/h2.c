/*
 * h2: one HTTP/2 connection of a gRPC channel: the transport (TCP or TLS) under it, the
 * nghttp2 session over it, a stream per call. The server's headers, data and trailers become
 * the call's result here (grpc-status, grpc-message, status details, the unframed message);
 * GOAWAY, refused or reset streams and a lost connection end the calls UNAVAILABLE so that
 * their callers retry them. See grpc_int.h for what the loop calls.
 *
 * All callbacks are static and wired in session_start; a call is attached to its stream at
 * submit time and found with nghttp2_session_get_stream_user_data (grpc_finish_call detaches
 * it). Runs only on the channel's network thread.
 */
#define _GNU_SOURCE
#include "temporal/net/grpc_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "runtime/log.h"
#include "temporal/clock.h"
#include "temporal/version.h"

#define STREAM_WINDOW (8 * 1024 * 1024)
#define CONN_WINDOW (32 * 1024 * 1024)
#define PING_TIMEOUT_MS 20000
#define OUT_MAX (1024 * 1024) /* bytes taken from nghttp2 before a write */

#define now_ms clock_mono_ms
/* Turns what the stream carried into the call's result. */
static void complete_stream(grpc_channel *ch, call *c, uint32_t error_code)
{
    if (c->code < 0) {
        if (error_code == NGHTTP2_REFUSED_STREAM) {
            grpc_finish_call(ch, c, GRPC_UNAVAILABLE,
                             "stream refused by the server (not processed)");
            return;
        }
        if (error_code) {
            grpc_finish_call(ch, c, error_code == NGHTTP2_CANCEL ? GRPC_CANCELLED : GRPC_INTERNAL,
                             "stream reset by the server: %s", nghttp2_http2_strerror(error_code));
            return;
        }
        if (c->http_status && c->http_status != 200) {
            grpc_finish_call(ch, c, grpc_code_from_http(c->http_status),
                             "HTTP status %d from the server", c->http_status);
            return;
        }
        grpc_finish_call(ch, c, GRPC_INTERNAL, "stream ended without grpc-status");
        return;
    }
    if (c->code == GRPC_OK) {
        size_t off, len;
        const char *why;
        if (grpc_unframe(c->resp, c->resp_len, &off, &len, &why)) {
            grpc_finish_call(ch, c, GRPC_INTERNAL, "%s", why);
            return;
        }
        memmove(c->resp, c->resp + off, len);
        c->resp_len = len;
    }
    grpc_finish_call(ch, c, -1, NULL);
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
        snprintf(c->message, sizeof(c->message), "response larger than %d bytes",
                 GRPC_MAX_RESPONSE);
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
                grpc_finish_call(conn->ch, c, GRPC_UNAVAILABLE,
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
        grpc_finish_call(conn->ch, c, GRPC_UNAVAILABLE, "request not sent: %s",
                         nghttp2_strerror(error));
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

void h2_conn_free(h2conn *conn)
{
    nghttp2_session_del(conn->session);
    tp_close(conn->tp);
    free(conn->out);
    free(conn);
}

/* Ends every call on |conn| (they are retried by their callers) and marks it dead. */
void h2_conn_fail(grpc_channel *ch, h2conn *conn, const char *why)
{
    if (conn->dead)
        return;
    conn->dead = 1;
    log_debug("grpc: connection lost: %s", why);
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (c->conn == conn)
            grpc_finish_call(ch, c, GRPC_UNAVAILABLE, "connection to %s:%d lost: %s", ch->host,
                             ch->port, why);
        else if (!c->conn && !conn->ready) /* waited for this connection, which never came up */
            grpc_finish_call(ch, c, GRPC_UNAVAILABLE, "%s", why);
    }
}

/* A new connection; the name lookup gets no longer than the connect timeout, nor past the
 * earliest deadline of the calls waiting for it. */
h2conn *h2_conn_new(grpc_channel *ch, char *err, size_t errlen)
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

void h2_submit(grpc_channel *ch, h2conn *conn, call *c)
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
        grpc_finish_call(ch, c, GRPC_UNAVAILABLE, "cannot open a stream: %s",
                         nghttp2_strerror(id));
        return;
    }
    c->conn = conn;
    c->stream_id = id;
}

/* Moves bytes from nghttp2 to the socket. Returns -1 when the connection broke. */
int h2_flush(h2conn *conn)
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
h2conn *h2_active(grpc_channel *ch)
{
    for (h2conn *c = ch->conns; c; c = c->next)
        if (!c->dead && !c->goaway)
            return c;
    return NULL;
}

void h2_drive(grpc_channel *ch, h2conn *conn, short revents)
{
    if (!conn->ready) {
        int rc = tp_handshake(conn->tp);
        if (rc == TP_AGAIN)
            return;
        if (rc != TP_OK) {
            h2_conn_fail(ch, conn, tp_error(conn->tp));
            return;
        }
        const char *alpn = tp_alpn(conn->tp);
        if (ch->tls_on && (!alpn || strcmp(alpn, "h2") != 0))
            log_warn("grpc: server did not negotiate ALPN h2; speaking HTTP/2 anyway");
        if (session_start(ch, conn)) {
            h2_conn_fail(ch, conn, "HTTP/2 session set-up failed");
            return;
        }
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) || tp_pending(conn->tp)) {
        if (conn_read(conn)) {
            h2_conn_fail(ch, conn,
                         tp_error(conn->tp)[0] ? tp_error(conn->tp) : "closed by the server");
            return;
        }
    }
}

void h2_detach(call *c)
{
    if (c->conn && c->stream_id > 0 && c->conn->session)
        nghttp2_session_set_stream_user_data(c->conn->session, c->stream_id, NULL);
}

void h2_cancel_stream(call *c)
{
    if (c->conn && c->stream_id > 0 && !c->conn->dead)
        nghttp2_submit_rst_stream(c->conn->session, NGHTTP2_FLAG_NONE, c->stream_id,
                                  NGHTTP2_CANCEL);
}

void h2_timers(grpc_channel *ch, h2conn *conn, int64_t now)
{
    if (conn->dead)
        return;
    if (!conn->ready) {
        if (now >= conn->connect_deadline)
            h2_conn_fail(ch, conn, "connect timed out");
        return;
    }
    if (conn->ping_sent && now - conn->ping_sent > PING_TIMEOUT_MS) {
        h2_conn_fail(ch, conn, "no answer to keepalive PING");
        return;
    }
    if (conn_calls(ch, conn) > 0 && !conn->ping_sent && now - conn->last_ping >= ch->keepalive_ms) {
        nghttp2_submit_ping(conn->session, NGHTTP2_FLAG_NONE, NULL);
        conn->ping_sent = conn->last_ping = now;
    }
}

int h2_closable(const grpc_channel *ch, const h2conn *conn)
{
    int idle_goaway = conn->goaway && conn_calls(ch, conn) == 0;
    int done = conn->ready && !conn->dead && !nghttp2_session_want_read(conn->session) &&
               !nghttp2_session_want_write(conn->session);
    return done || idle_goaway;
}

short h2_poll_events(const h2conn *conn, int *timeout_ms)
{
    if (!conn->ready)
        return tp_wants(conn->tp);
    short ev = POLLIN;
    if (conn->out_off < conn->out_len || nghttp2_session_want_write(conn->session))
        ev |= POLLOUT;
    if (tp_pending(conn->tp))
        *timeout_ms = 0;
    return ev;
}

void h2_close(h2conn *conn)
{
    if (conn->ready && !conn->dead) {
        nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        h2_flush(conn);
    }
    h2_conn_free(conn);
}
