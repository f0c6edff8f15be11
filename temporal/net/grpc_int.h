/*
 * grpc_int: what the channel (grpc.c: its network thread, event loop and retrying calls) and
 * its HTTP/2 connections (h2.c: one nghttp2 session over a transport) share. Nothing outside
 * temporal/net/grpc.c and h2.c includes this.
 *
 * Ownership: a call lives on its caller's stack (grpc_unary_raw); the loop forgets it (and
 * detaches it from its stream) in grpc_finish_call before marking it done. A connection
 * belongs to the channel's list and is freed only by the loop (h2_conn_free).
 *
 * Threading: the network thread owns everything marked `loop-owned` and every h2_ function
 * runs on it; callers only touch the submit queue and their own call's `done` flag, both
 * under the channel's mutex. The nghttp2 session is never touched from another thread.
 */
#ifndef TW_GRPC_INT_H
#define TW_GRPC_INT_H

#include <pthread.h>
#include <stdint.h>

#include "temporal/net/grpc.h"

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
    struct nghttp2_session *session;
    int ready;          /* TLS done, session made */
    int dead;
    int goaway;
    int64_t connect_deadline;
    int64_t last_ping, ping_sent;
    uint8_t *out;       /* bytes nghttp2 produced that the socket did not take yet */
    size_t out_len, out_off;
    h2conn *next;       /* the channel's list */
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

/* grpc.c: ends |c| with |code| (unless grpc-status already said, or |code| < 0) and |fmt|:
 * detaches it from its stream, unlinks it and wakes its caller. After this the loop never
 * touches |c| again. */
void grpc_finish_call(grpc_channel *ch, call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- h2.c: one HTTP/2 connection ---- */

/* Starts connecting (the handshake goes on in h2_drive). The name lookup gets no longer than
 * the connect timeout, nor past the earliest deadline of the calls waiting for a connection.
 * NULL with |err| when the connection cannot be started. */
h2conn *h2_conn_new(grpc_channel *ch, char *err, size_t errlen);
void h2_conn_free(h2conn *conn);
/* Ends every call on |conn| UNAVAILABLE (their callers retry), and those that waited for it
 * when it never came up, and marks it dead. Idempotent. */
void h2_conn_fail(grpc_channel *ch, h2conn *conn, const char *why);
/* Moves the connection on after poll() said |revents|: the TLS handshake and the session's
 * set-up, then reading what the server sent (into the calls' results). */
void h2_drive(grpc_channel *ch, h2conn *conn, short revents);
/* Moves bytes from nghttp2 to the socket. Returns -1 when the connection broke. */
int h2_flush(h2conn *conn);
/* Opens a stream for |c| on |conn| (ready); on failure |c| ends UNAVAILABLE. */
void h2_submit(grpc_channel *ch, h2conn *conn, call *c);
/* Forgets |c| on its stream, so that no callback finds it any more (grpc_finish_call). */
void h2_detach(call *c);
/* Resets |c|'s stream (CANCEL) if it has one on a live connection; the caller ends |c|. */
void h2_cancel_stream(call *c);
/* The connection new calls go to: the first alive and not going away, or NULL. */
h2conn *h2_active(grpc_channel *ch);
/* Connect timeout, keepalive PINGs while calls are open, and their answers' timeout. */
void h2_timers(grpc_channel *ch, h2conn *conn, int64_t now);
/* Is |conn| done with: going away with no call left, or a session that wants neither to read
 * nor to write? (The loop then fails and frees it.) */
int h2_closable(const grpc_channel *ch, const h2conn *conn);
/* What to poll |conn|'s fd for; *|timeout_ms| becomes 0 when the transport already holds
 * bytes poll() cannot see. */
short h2_poll_events(const h2conn *conn, int *timeout_ms);
/* Ends a live connection politely (GOAWAY, flushed), then frees it. */
void h2_close(h2conn *conn);

#endif
