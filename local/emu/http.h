/*
 * http: the small HTTP/1.1 server side the emulator needs: non-blocking connections, requests
 * parsed incrementally with checks (Content-Length or chunked bodies arriving in any number of
 * reads, bounded sizes, ambiguous framing refused), keep-alive and pipelining, Connection: close
 * honoured after the answer, and a request that can be held open until its answer is known (a
 * Runtime API `next`, a synchronous invoke). No TLS, no HTTP/2: both APIs are plain HTTP/1.1 on
 * loopback. Single-threaded: every call comes from main.c's loop or a handler it runs.
 */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 48
#define HTTP_MAX_HEAD (64 * 1024)

typedef struct http_header {
    char *name;
    char *value;
} http_header;

typedef struct http_req {
    char *method;
    char *target; /* path and query, as sent */
    http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    char *body; /* NUL-terminated */
    size_t body_len;
} http_req;

typedef struct http_conn http_conn;

/* Called for each complete request. The request lives until the handler answers it (at once
 * or later: then it must call http_hold() and answer with http_respond() later). */
typedef void (*http_handler)(http_conn *c, http_req *req, void *ud);

http_conn *http_conn_new(int fd, size_t max_body, http_handler h, void *ud);
/* Reads what is there and dispatches complete requests. Returns -1 when the connection is
 * finished (closed by the peer while a request is held or incomplete, or broken); the caller
 * then frees it. */
int http_conn_on_readable(http_conn *c);
/* Whether to poll for input: false once the peer ended its side, or while the input buffer is
 * full behind a held request (TCP then holds the peer back). */
int http_conn_wants_read(const http_conn *c);
/* Parses requests that arrived while the previous one was held, once it was answered. Called
 * by the loop after handlers ran (never from inside one, so handlers do not nest). -1: broken. */
int http_conn_resume(http_conn *c);
int http_conn_on_writable(http_conn *c);
int http_conn_wants_write(const http_conn *c);
int http_conn_fd(const http_conn *c);
void http_conn_free(http_conn *c);
void *http_conn_tag(const http_conn *c);
void http_conn_set_tag(http_conn *c, void *tag);

/* Marks the current request as answered later. */
void http_hold(http_conn *c);
int http_is_held(const http_conn *c);
/* Queues an answer; |headers| is a block of "Name: value\r\n" lines (may be NULL). Releases a
 * held request; what the peer sent next is parsed at the next http_conn_resume(). */
void http_respond(http_conn *c, int status, const char *headers, const char *body, size_t len);
/* Convenience: JSON answer with an AWS error type header. */
void http_respond_json(http_conn *c, int status, const char *extra_headers, const char *json);

const char *http_get_header(const http_req *r, const char *name);
/* Decodes %XX in place. Returns -1 on a malformed escape. */
int http_url_decode(char *s);

#endif
