/*
 * http: request parsing and answering for the emulator's two servers. A connection owns an
 * input buffer (bounded by the head limit plus the largest body accepted) and an output
 * buffer; the event loop in main.c decides when to read and write.
 */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct http_conn {
    int fd;
    size_t max_body;
    http_handler handler;
    void *ud;
    void *tag;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    http_req req;
    char *req_copy; /* the current request's head and body, owned */
    size_t consumed; /* bytes of |in| taken by the current request */
    int held;
    int close_after;
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
    case 502: return "Bad Gateway";
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
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->req_copy);
    free(c->req.body);
    free(c);
}

int http_conn_fd(const http_conn *c) { return c->fd; }
void *http_conn_tag(const http_conn *c) { return c->tag; }
void http_conn_set_tag(http_conn *c, void *tag) { c->tag = tag; }
int http_is_held(const http_conn *c) { return c->held; }
void http_hold(http_conn *c) { c->held = 1; }
int http_conn_wants_write(const http_conn *c) { return c->out_off < c->out_len; }

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

int http_url_decode(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p != '%') {
            *w++ = *p;
            continue;
        }
        int hi, lo;
        char h = p[1], l = h ? p[2] : 0;
        hi = h >= '0' && h <= '9' ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : -1;
        lo = l >= '0' && l <= '9' ? l - '0' : (l | 32) >= 'a' && (l | 32) <= 'f' ? (l | 32) - 'a' + 10 : -1;
        if (hi < 0 || lo < 0)
            return -1;
        *w++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *w = '\0';
    return 0;
}

/* Answers a request that could not be parsed and closes after the answer. */
static void refuse(http_conn *c, int status, const char *msg)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);
    c->close_after = 1;
    c->held = 0;
    http_respond_json(c, status, NULL, body);
}

/* Decodes a chunked body starting at |p| (|n| bytes available). Returns bytes consumed, 0 when
 * incomplete, -1 when malformed or too large. The decoded body goes to |*out|. */
static long dechunk(const char *p, size_t n, size_t max, char **out, size_t *outlen)
{
    size_t off = 0, len = 0;
    char *body = NULL;
    for (;;) {
        const char *eol = memmem(p + off, n - off, "\r\n", 2);
        if (!eol)
            goto incomplete;
        char *end;
        errno = 0;
        unsigned long sz = strtoul(p + off, &end, 16);
        if (end == p + off || errno || (*end != '\r' && *end != ';') || sz > max || len + sz > max)
            goto bad;
        off = (size_t)(eol - p) + 2;
        if (sz == 0) { /* trailers, then an empty line */
            for (;;) {
                const char *e2 = memmem(p + off, n - off, "\r\n", 2);
                if (!e2)
                    goto incomplete;
                size_t l = (size_t)(e2 - (p + off));
                off += l + 2;
                if (l == 0)
                    break;
            }
            char *b = realloc(body, len + 1);
            if (!b)
                goto bad;
            b[len] = '\0';
            *out = b;
            *outlen = len;
            return (long)off;
        }
        if (n - off < sz + 2)
            goto incomplete;
        char *b = realloc(body, len + sz + 1);
        if (!b)
            goto bad;
        body = b;
        memcpy(body + len, p + off, sz);
        len += sz;
        off += sz;
        if (memcmp(p + off, "\r\n", 2) != 0)
            goto bad;
        off += 2;
    }
incomplete:
    free(body);
    return 0;
bad:
    free(body);
    return -1;
}

/* Tries to parse one complete request from the input. 1: dispatched, 0: need more, -1: done. */
static int parse_one(http_conn *c)
{
    char *end = c->in_len ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
    if (!end) {
        if (c->in_len > HTTP_MAX_HEAD) {
            refuse(c, 431, "request head too large");
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    const char *cl = NULL, *te = NULL, *expect = NULL;
    /* Scan the head for the framing headers before copying anything. */
    char *head = strndup(c->in, head_len);
    if (!head)
        return -1;
    http_req r = {0};
    char *save = NULL;
    char *line = strtok_r(head, "\r\n", &save);
    if (!line) {
        free(head);
        refuse(c, 400, "empty request line");
        return -1;
    }
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        free(head);
        refuse(c, 400, "malformed request line");
        return -1;
    }
    *sp1 = *sp2 = '\0';
    r.method = line;
    r.target = sp1 + 1;
    if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
        c->close_after = 1;
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            free(head);
            refuse(c, 400, "malformed header");
            return -1;
        }
        if (r.nheaders == HTTP_MAX_HEADERS) {
            free(head);
            refuse(c, 431, "too many headers");
            return -1;
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        r.headers[r.nheaders++] = (http_header){line, v};
    }
    cl = http_get_header(&r, "Content-Length");
    te = http_get_header(&r, "Transfer-Encoding");
    expect = http_get_header(&r, "Expect");
    const char *conn = http_get_header(&r, "Connection");
    if (conn && strcasecmp(conn, "close") == 0)
        c->close_after = 1;

    char *body = NULL;
    size_t body_len = 0, total;
    if (te && strcasecmp(te, "chunked") == 0) {
        long used = dechunk(c->in + head_len, c->in_len - head_len, c->max_body, &body, &body_len);
        if (used < 0) {
            free(head);
            refuse(c, 413, "malformed or oversized chunked body");
            return -1;
        }
        if (used == 0) {
            if (expect && strcasecmp(expect, "100-continue") == 0 && c->in_len == head_len)
                out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            free(head);
            return 0;
        }
        total = head_len + (size_t)used;
    } else {
        unsigned long long n = 0;
        if (cl) {
            char *e;
            errno = 0;
            n = strtoull(cl, &e, 10);
            if (*cl < '0' || *cl > '9' || *e || errno) {
                free(head);
                refuse(c, 400, "malformed Content-Length");
                return -1;
            }
        }
        if (n > c->max_body) {
            free(head);
            refuse(c, 413, "request body too large");
            return -1;
        }
        if (c->in_len - head_len < n) {
            if (expect && strcasecmp(expect, "100-continue") == 0 && c->in_len == head_len)
                out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            free(head);
            return 0;
        }
        body = malloc(n + 1);
        if (!body) {
            free(head);
            return -1;
        }
        memcpy(body, c->in + head_len, n);
        body[n] = '\0';
        body_len = n;
        total = head_len + n;
    }
    /* The request keeps pointers into |head|; both are owned until the next request. */
    free(c->req_copy);
    c->req_copy = head;
    free(c->req.body);
    r.body = body;
    r.body_len = body_len;
    c->req = r;
    c->consumed = total;
    c->held = 0;
    c->handler(c, &c->req, c->ud);
    return 1;
}

/* Drops the consumed request from the input and parses on while nothing is held. */
static int pump(http_conn *c)
{
    while (!c->held && !c->broken) {
        if (c->consumed) {
            memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
            c->in_len -= c->consumed;
            c->consumed = 0;
        }
        if (c->close_after)
            return 0;
        int rc = parse_one(c);
        if (rc <= 0)
            return rc;
    }
    return c->broken ? -1 : 0;
}

int http_conn_on_readable(http_conn *c)
{
    size_t limit = HTTP_MAX_HEAD + c->max_body + 64 * 1024;
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            if (cap > limit)
                cap = limit;
            if (cap <= c->in_len) {
                /* Full: nothing more is read until the held request is answered. */
                return c->held ? 0 : (refuse(c, 413, "request too large"), 0);
            }
            char *d = realloc(c->in, cap);
            if (!d)
                return -1;
            c->in = d;
            c->in_cap = cap;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == 0)
            return -1; /* peer closed: a held request can no longer be answered */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        return -1;
    }
    return c->held ? 0 : pump(c);
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
    int was_held = c->held;
    c->held = 0;
    if (was_held)
        pump(c); /* the peer may have sent its next request meanwhile */
}

void http_respond_json(http_conn *c, int status, const char *extra_headers, const char *json)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s",
             extra_headers ? extra_headers : "");
    http_respond(c, status, headers, json, strlen(json));
}
