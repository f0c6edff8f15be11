/*
 * grpc: the channel: its network thread and event loop (one poll() over the wake-up fd and
 * every connection, deadlines and keepalive timers, connecting when a call waits) and the
 * retrying unary calls its callers block in. See grpc.h; the HTTP/2 connections are h2.c and
 * the wire format grpc_wire.c.
 *
 * The network thread owns everything below `loop-owned` (grpc_int.h); callers only touch the
 * submit queue and their own call's `done` flag, both under the channel mutex. A call lives
 * on its caller's stack; the loop forgets it (and detaches it from its stream) before marking
 * it done.
 */
#define _GNU_SOURCE
#include "temporal/net/grpc_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime/log.h"
#include "temporal/clock.h"

#define SERVICE_PATH "/temporal.api.workflowservice.v1.WorkflowService/"

#define now_ms clock_mono_ms

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

void grpc_finish_call(grpc_channel *ch, call *c, int code, const char *fmt, ...)
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
    h2_detach(c);
    unlink_call(ch, c);
    pthread_mutex_lock(&ch->mu);
    c->done = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

static void loop_timers(grpc_channel *ch, int64_t now)
{
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (now < c->deadline)
            continue;
        h2_cancel_stream(c);
        grpc_finish_call(ch, c, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
    }
    for (h2conn *conn = ch->conns; conn; conn = conn->next)
        h2_timers(ch, conn, now);
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
        h2_cancel_stream(c);
        grpc_finish_call(ch, c, GRPC_CANCELLED, "poll cancelled: the worker is stopping");
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
    h2conn *conn = h2_active(ch);
    if (!conn) {
        char err[256];
        conn = h2_conn_new(ch, err, sizeof(err));
        if (!conn) {
            for (call *c = ch->calls, *next; c; c = next) {
                next = c->next;
                if (!c->conn)
                    grpc_finish_call(ch, c, GRPC_UNAVAILABLE, "%s", err);
            }
            return;
        }
        conn->next = ch->conns;
        ch->conns = conn;
        h2_drive(ch, conn, 0);
    }
    if (!conn->ready || conn->dead)
        return;
    for (call *c = ch->calls, *next; c; c = next) {
        next = c->next;
        if (!c->conn)
            h2_submit(ch, conn, c);
    }
}

static void reap_conns(grpc_channel *ch)
{
    for (h2conn **pp = &ch->conns; *pp;) {
        h2conn *conn = *pp;
        if (h2_closable(ch, conn))
            h2_conn_fail(ch, conn, "connection closed");
        if (conn->dead) {
            *pp = conn->next;
            h2_conn_free(conn);
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
            if (conn->ready && !conn->dead && h2_flush(conn))
                h2_conn_fail(ch, conn, tp_error(conn->tp)[0] ? tp_error(conn->tp) : "write failed");
        reap_conns(ch);

        int timeout = 1000;
        for (call *c = ch->calls; c; c = c->next)
            if (c->deadline - now < timeout)
                timeout = c->deadline - now < 0 ? 0 : (int)(c->deadline - now);
        size_t n = 0;
        pfds[n++] = (struct pollfd){ch->wake_fd, POLLIN, 0};
        for (h2conn *conn = ch->conns; conn && n < 16; conn = conn->next) {
            short ev = h2_poll_events(conn, &timeout);
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
                h2_drive(ch, polled[i], pfds[i].revents);
    }
    /* Stopping: every call still open ends now. */
    while (ch->calls)
        grpc_finish_call(ch, ch->calls, GRPC_CANCELLED, "channel closed");
    while (ch->conns) {
        h2conn *conn = ch->conns;
        ch->conns = conn->next;
        h2_close(conn);
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
    uint8_t *framed = malloc(len + GRPC_FRAME_HEADER);
    if (!framed) {
        st->code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(st->message, sizeof(st->message), "out of memory");
        return st->code;
    }
    grpc_frame_header(framed, (uint32_t)len);
    if (len)
        memcpy(framed + GRPC_FRAME_HEADER, req, len);

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
        c.req_len = len + GRPC_FRAME_HEADER;
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
