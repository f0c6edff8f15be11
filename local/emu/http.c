/*
 * http: request parsing and answering for the emulator's two servers. A connection owns a
 * bounded input buffer (bytes not yet parsed), the current request (its head and its body, each
 * owned and bounded) and an output buffer; the event loop in main.c decides when to read and
 * write. Each request is parsed incrementally: the head once it is complete, then the body as it
 * arrives (Content-Length or chunked), so a body may come in any number of reads after its head.
 * A request is dispatched only once whole; Connection: close takes effect after its answer.
 * Pipelined requests wait in the input buffer while the one before them is held.
 *
 * Why a parser of our own rather than an embedded server library (libmicrohttpd, libevent's
 * evhttp): the emulator holds requests open for long (a runtime's `next`, a synchronous invoke)
 * and must learn when the peer of a held request goes away (an invoking client that gave up,
 * a runtime that died). libmicrohttpd's way of holding a request, MHD_suspend_connection, stops
 * watching the socket: its manual says disconnects are not detected while suspended, and its
 * daemon may not be stopped with suspended connections. evhttp would move the whole emulator
 * (signals, child logs, timers, one listener per environment) onto libevent's loop. Both mean
 * rewriting the emulator around the library for a development tool; HTTP/1.1 framing on
 * loopback is small enough to do here with checks (RFC 9112: refuse what is ambiguous).
 */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Input not yet parsed: a whole head plus one read; body bytes move on to the body at once. */
#define IN_CAP (HTTP_MAX_HEAD + 16384)
#define CHUNK_LINE_MAX 1024

enum parse_state {
    P_HEAD,           /* waiting for a complete head */
    P_BODY_LENGTH,    /* Content-Length body: |left| bytes to come */
    P_CHUNK_SIZE,     /* chunked: a chunk-size line */
    P_CHUNK_DATA,     /* chunked: |left| data bytes of the current chunk */
    P_CHUNK_DATA_END, /* chunked: the CRLF after a chunk's data */
    P_TRAILER,        /* chunked: trailer lines up to an empty one */
};

struct http_conn {
    int fd;
    size_t max_body;
    http_handler handler;
    void *ud;
    void *tag;
    char *in;              /* IN_CAP bytes once anything was read */
    size_t in_len;
    char *out;
    size_t out_len, out_off, out_cap;
    enum parse_state state;
    http_req req;          /* the current request; its strings point into |head| */
    char *head;            /* owned, until the next request's head replaces it */
    char *body;            /* owned, NUL-terminated once the request is whole */
    size_t body_len, body_cap;
    size_t left;           /* P_BODY_LENGTH, P_CHUNK_DATA: bytes still to come */
    size_t trailer_len;
    int req_close;         /* the current request ends the connection once answered */
    int http10;            /* ... and came as HTTP/1.0 (no interim answers) */
    int held;
    int resume;            /* answered after a hold with input waiting: parse on */
    int close_after;       /* no request after the current one; close once it is answered */
    int eof;               /* the peer ended its side */
    int broken;
};

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 505: return "HTTP Version Not Supported";
    }
    return "Status";
}

http_conn *http_conn_new(int fd, size_t max_body, http_handler h, void *ud)
{
    http_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->max_body = max_body;
    c->handler = h;
    c->ud = ud;
    return c;
}

void http_conn_free(http_conn *c)
{
    if (!c)
        return;
    /* Bytes the peer sent that were never read make close() send a reset, which can destroy
     * the answer before the peer reads it (a refused request with its body behind it). End our
     * side first and drop what is already there. */
    char sink[4096];
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 256 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->head);
    free(c->body);
    free(c);
}

int http_conn_fd(const http_conn *c) { return c->fd; }
void *http_conn_tag(const http_conn *c) { return c->tag; }
void http_conn_set_tag(http_conn *c, void *tag) { c->tag = tag; }
int http_is_held(const http_conn *c) { return c->held; }
void http_hold(http_conn *c) { c->held = 1; }
int http_conn_wants_write(const http_conn *c) { return c->out_off < c->out_len; }

int http_conn_wants_read(const http_conn *c)
{
    return !c->eof && !c->broken && c->in_len < IN_CAP;
}

static int out_append(http_conn *c, const char *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *d = realloc(c->out, cap);
        if (!d) {
            c->broken = 1;
            return -1;
        }
        c->out = d;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

const char *http_get_header(const http_req *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static int hex_digit(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h = (char)(h | 32);
    return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

int http_url_decode(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p != '%') {
            *w++ = *p;
            continue;
        }
        int hi = hex_digit(p[1]), lo = hi >= 0 ? hex_digit(p[2]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        *w++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *w = '\0';
    return 0;
}

/* Answers a request that cannot be served as sent; the connection ends after the answer (what
 * follows on it cannot be framed reliably). Returns 0: the caller stops parsing. */
static int refuse(http_conn *c, int status, const char *msg)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);
    c->close_after = 1;
    c->held = 0;
    c->state = P_HEAD;
    http_respond_json(c, status, NULL, body);
    return 0;
}

static void consume(http_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* Length of the head at the start of the input (through its empty line), 0 when incomplete.
 * Lines end in CRLF or, tolerated as RFC 9112 allows, a bare LF. */
static size_t head_length(const char *p, size_t n)
{
    for (const char *nl = p; (nl = memchr(nl, '\n', n - (size_t)(nl - p))); nl++) {
        size_t at = (size_t)(nl - p) + 1;
        if (at < n && p[at] == '\n')
            return at + 1;
        if (at + 1 < n && p[at] == '\r' && p[at + 1] == '\n')
            return at + 2;
    }
    return 0;
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* Whether comma-separated list |list| holds |token| (case-insensitive). */
static int list_has(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Splits c->head (NUL-terminated, |len| bytes) into c->req. Returns 0, or an HTTP status with
 * *why set when the head is malformed. */
static int split_head(http_conn *c, size_t len, const char **why)
{
    http_req *r = &c->req;
    char *p = c->head, *end = c->head + len;
    if (memchr(c->head, '\0', len)) {
        *why = "NUL byte in the request head";
        return 400;
    }
    for (int line_no = 0; p < end; line_no++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        *nl = '\0';
        if (nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        char *line = p;
        p = nl + 1;
        if (strchr(line, '\r')) {
            *why = "bare CR in the request head";
            return 400;
        }
        if (!*line)
            break; /* the empty line that ends the head */
        if (line_no == 0) {
            char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (!sp1 || !sp2 || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ')) {
                *why = "malformed request line";
                return 400;
            }
            *sp1 = *sp2 = '\0';
            const char *v = sp2 + 1;
            if (!is_token(line) || strncmp(v, "HTTP/", 5) != 0 || strlen(v) != 8 ||
                v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') {
                *why = "malformed request line";
                return 400;
            }
            if (v[5] != '1') {
                *why = "only HTTP/1.x is served";
                return 505;
            }
            r->method = line;
            r->target = sp1 + 1;
            c->http10 = v[7] == '0';
            c->req_close = c->http10; /* HTTP/1.0: one request per connection */
            continue;
        }
        if (*line == ' ' || *line == '\t') {
            *why = "obsolete line folding in a header";
            return 400;
        }
        char *colon = strchr(line, ':');
        if (!colon) {
            *why = "malformed header";
            return 400;
        }
        *colon = '\0';
        if (!is_token(line)) {
            *why = "malformed header name";
            return 400;
        }
        if (r->nheaders == HTTP_MAX_HEADERS) {
            *why = "too many headers";
            return 431;
        }
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        r->headers[r->nheaders++] = (http_header){line, v};
    }
    if (!r->method) {
        *why = "empty request";
        return 400;
    }
    return 0;
}

/* Reads the framing headers of the split head and sets the body state. Returns 0, or an HTTP
 * status with *why set. */
static int framing(http_conn *c, const char **why)
{
    const http_req *r = &c->req;
    const char *te = NULL, *cl = NULL;
    int nte = 0;
    for (int i = 0; i < r->nheaders; i++) {
        const char *name = r->headers[i].name, *v = r->headers[i].value;
        if (strcasecmp(name, "Connection") == 0 && list_has(v, "close"))
            c->req_close = 1;
        if (strcasecmp(name, "Transfer-Encoding") == 0) {
            te = v;
            nte++;
        }
        if (strcasecmp(name, "Content-Length") == 0) {
            if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18) {
                *why = "malformed Content-Length";
                return 400;
            }
            if (cl && strtoull(cl, NULL, 10) != strtoull(v, NULL, 10)) {
                *why = "conflicting Content-Length headers";
                return 400;
            }
            cl = v;
        }
    }
    if (te && cl) { /* the classic request-smuggling shape: refuse rather than pick one */
        *why = "both Transfer-Encoding and Content-Length";
        return 400;
    }
    if (te) {
        if (nte != 1 || strcasecmp(te, "chunked") != 0) {
            *why = "only the chunked transfer coding is supported";
            return 501;
        }
        c->state = P_CHUNK_SIZE;
        return 0;
    }
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    if (n > c->max_body) {
        *why = "request body too large";
        return 413;
    }
    c->left = (size_t)n;
    c->state = n ? P_BODY_LENGTH : P_HEAD;
    return 0;
}

static int body_reserve(http_conn *c, size_t more)
{
    size_t need = c->body_len + more + 1;
    if (need <= c->body_cap)
        return 0;
    size_t cap = c->body_cap ? c->body_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > c->max_body + 1 && need <= c->max_body + 1)
        cap = c->max_body + 1;
    char *b = realloc(c->body, cap);
    if (!b) {
        c->broken = 1;
        return -1;
    }
    c->body = b;
    c->body_cap = cap;
    return 0;
}

/* Moves up to c->left body bytes from the input into the body. */
static void take_body(http_conn *c)
{
    size_t n = c->in_len < c->left ? c->in_len : c->left;
    memcpy(c->body + c->body_len, c->in, n);
    c->body_len += n;
    c->left -= n;
    consume(c, n);
}

/* Parses a complete head at the start of the input: 1 when parsed (the body state is set),
 * 0 when more input is needed or the request was refused. */
static int parse_head(http_conn *c)
{
    if (!c->in_len)
        return 0;
    size_t skip = 0; /* empty lines before a request line are ignored (RFC 9112 2.2) */
    while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n'))
        skip++;
    consume(c, skip);
    size_t len = head_length(c->in, c->in_len);
    if (!len)
        return c->in_len > HTTP_MAX_HEAD ? refuse(c, 431, "request head too large") : 0;
    if (len > HTTP_MAX_HEAD)
        return refuse(c, 431, "request head too large");
    /* The previous request is done with: its head and body go now. */
    free(c->head);
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    c->trailer_len = 0;
    memset(&c->req, 0, sizeof(c->req));
    c->head = malloc(len + 1);
    if (!c->head) {
        c->broken = 1;
        return 0;
    }
    memcpy(c->head, c->in, len);
    c->head[len] = '\0';
    consume(c, len);
    const char *why = NULL;
    int status = split_head(c, len, &why);
    if (!status)
        status = framing(c, &why);
    if (status)
        return refuse(c, status, why);
    if (c->state == P_BODY_LENGTH && body_reserve(c, c->left) != 0)
        return 0;
    const char *expect = http_get_header(&c->req, "Expect");
    if (c->state != P_HEAD && expect && strcasecmp(expect, "100-continue") == 0 && !c->http10 &&
        c->in_len == 0)
        out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25); /* once: the head is parsed once */
    return 1;
}

/* One chunk-size line: 1 parsed, 0 incomplete or refused. */
static int parse_chunk_size(http_conn *c)
{
    char *nl = memchr(c->in, '\n', c->in_len);
    if (!nl)
        return c->in_len > CHUNK_LINE_MAX ? refuse(c, 400, "malformed chunked body") : 0;
    size_t linelen = (size_t)(nl - c->in) + 1, size = 0;
    const char *p = c->in;
    int digits = 0;
    for (int d; (d = hex_digit(*p)) >= 0; p++, digits++) {
        if (size > (c->max_body >> 4))
            return refuse(c, 413, "request body too large");
        size = size * 16 + (size_t)d;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (!digits || (*p != ';' && *p != '\r' && *p != '\n') ||
        (*p == '\r' && p + 1 != nl))
        return refuse(c, 400, "malformed chunked body");
    if (size > c->max_body - c->body_len)
        return refuse(c, 413, "request body too large");
    consume(c, linelen);
    if (size == 0) {
        c->state = P_TRAILER;
        return 1;
    }
    if (body_reserve(c, size) != 0)
        return 0;
    c->left = size;
    c->state = P_CHUNK_DATA;
    return 1;
}

/* Trailer lines (read and dropped) up to the empty line: 1 when the body is complete. */
static int parse_trailer(http_conn *c)
{
    for (;;) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (!nl)
            return c->trailer_len + c->in_len > HTTP_MAX_HEAD
                       ? refuse(c, 431, "trailer too large") : 0;
        size_t linelen = (size_t)(nl - c->in) + 1;
        int empty = linelen == 1 || (linelen == 2 && c->in[0] == '\r');
        c->trailer_len += linelen;
        consume(c, linelen);
        if (c->trailer_len > HTTP_MAX_HEAD)
            return refuse(c, 431, "trailer too large");
        if (empty)
            return 1;
    }
}

/* Dispatches the whole request to the handler. */
static void dispatch(http_conn *c)
{
    if (!c->body && body_reserve(c, 0) != 0)
        return;
    c->body[c->body_len] = '\0';
    c->req.body = c->body;
    c->req.body_len = c->body_len;
    c->state = P_HEAD;
    c->close_after = c->req_close;
    c->held = 0;
    c->handler(c, &c->req, c->ud);
}

/* Advances the parse with the input at hand. 1: a request was dispatched; 0: more input is
 * needed, or the request was refused (an answer is queued and the connection will end). */
static int advance(http_conn *c)
{
    for (;;) {
        if (c->broken || c->close_after)
            return 0;
        switch (c->state) {
        case P_HEAD:
            if (!parse_head(c))
                return 0;
            if (c->state == P_HEAD) {
                dispatch(c);
                return 1;
            }
            break;
        case P_BODY_LENGTH:
            take_body(c);
            if (c->left)
                return 0;
            dispatch(c);
            return 1;
        case P_CHUNK_SIZE:
            if (!parse_chunk_size(c))
                return 0;
            break;
        case P_CHUNK_DATA:
            take_body(c);
            if (c->left)
                return 0;
            c->state = P_CHUNK_DATA_END;
            break;
        case P_CHUNK_DATA_END:
            if (c->in_len >= 1 && c->in[0] == '\n') {
                consume(c, 1);
            } else if (c->in_len < 2) {
                return 0;
            } else if (c->in[0] == '\r' && c->in[1] == '\n') {
                consume(c, 2);
            } else {
                return refuse(c, 400, "malformed chunked body");
            }
            c->state = P_CHUNK_SIZE;
            break;
        case P_TRAILER:
            if (!parse_trailer(c))
                return 0;
            dispatch(c);
            return 1;
        }
    }
}

/* Parses and dispatches buffered requests while none is held. */
static void pump(http_conn *c)
{
    while (!c->held && advance(c) > 0)
        ;
}

int http_conn_on_readable(http_conn *c)
{
    while (http_conn_wants_read(c)) {
        if (!c->in && !(c->in = malloc(IN_CAP)))
            return -1;
        ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (!c->held)
                pump(c);
            continue;
        }
        if (n == 0) {
            c->eof = 1;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        return -1;
    }
    if (c->broken)
        return -1;
    if (c->eof) {
        /* The peer ended its side. A held request can no longer be answered (the caller left);
         * a request cut short never will be. Answers already queued still go out. */
        if (c->held || c->state != P_HEAD || !http_conn_wants_write(c))
            return -1;
        c->close_after = 1;
    }
    return 0;
}

int http_conn_resume(http_conn *c)
{
    if (c->resume && !c->held) {
        c->resume = 0;
        pump(c);
    }
    return c->broken ? -1 : 0;
}

int http_conn_on_writable(http_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    c->out_off = c->out_len = 0;
    if (c->close_after && !c->held)
        return -1;
    return c->broken ? -1 : 0;
}

void http_respond(http_conn *c, int status, const char *headers, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s", status, reason(status), len,
                     c->close_after ? "Connection: close\r\n" : "");
    out_append(c, head, (size_t)n);
    if (headers)
        out_append(c, headers, strlen(headers));
    out_append(c, "\r\n", 2);
    if (len)
        out_append(c, body, len);
    if (c->held && !c->close_after && c->in_len)
        c->resume = 1; /* the peer sent its next request meanwhile: main.c parses it */
    c->held = 0;
}

void http_respond_json(http_conn *c, int status, const char *extra_headers, const char *json)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s",
             extra_headers ? extra_headers : "");
    http_respond(c, status, headers, json, strlen(json));
}
