/*
 * fuzz_emu_http: the emulator's HTTP/1.1 request parser (local/emu/http.c) on an arbitrary byte
 * stream from a client, arriving in arbitrary pieces, through the same calls main.c's loop makes
 * on a real (socketpair) connection: read, write, resume, with requests answered at once or
 * held and answered later, as `next` and synchronous invokes are.
 *
 * Input: byte 0 chooses the body limit (low 4 bits: 0 is the invoke API's, n is n * 32 bytes)
 * and, with byte 1, seeds the choices (piece sizes, holding, answering); the rest is the stream.
 *
 * Checked beyond crashes and leaks: a dispatched request has a method and a target, at most
 * HTTP_MAX_HEADERS headers with token names, a NUL-terminated body within the limit that stays
 * readable while the request is held; whatever the connection sends starts as an HTTP/1.1
 * answer; the connection ends or waits, it never spins.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local/emu/http.h"

#define INVOKE_MAX_BODY (6 * 1024 * 1024 + 1024) /* main.c: SYNC_PAYLOAD_MAX + 1024 */

typedef struct run {
    uint32_t rng;
    size_t max_body;
    http_req *held;   /* the request the handler held, answered later */
    int requests;
} run;

#define check FUZZ_CHECK

static uint32_t next_rand(run *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 17;
    r->rng ^= r->rng << 5;
    return r->rng;
}

static void check_request(const run *r, const http_req *req)
{
    check(req->method && *req->method && req->target);
    check(req->nheaders >= 0 && req->nheaders <= HTTP_MAX_HEADERS);
    for (int i = 0; i < req->nheaders; i++)
        check(req->headers[i].name && *req->headers[i].name && req->headers[i].value &&
              !strpbrk(req->headers[i].name, " \t:\r\n"));
    check(req->body && req->body_len <= r->max_body && req->body[req->body_len] == '\0');
}

static void answer(http_conn *c, const http_req *req, uint32_t how)
{
    if (how & 1)
        http_respond(c, 200, "X-Echo: 1\r\n", req->body, req->body_len);
    else
        http_respond_json(c, how & 2 ? 202 : 404, NULL, "{}");
}

static void on_request(http_conn *c, http_req *req, void *ud)
{
    run *r = ud;
    check(r->held == NULL); /* never a second request while one is held */
    check_request(r, req);
    r->requests++;
    (void)http_get_header(req, "Content-Type");
    char *target = strdup(req->target);
    check(target != NULL);
    if (http_url_decode(target) == 0)
        check(strlen(target) <= strlen(req->target));
    free(target);
    uint32_t how = next_rand(r);
    if (how % 3 == 0) {
        http_hold(c);
        check(http_is_held(c));
        r->held = req;
        return;
    }
    answer(c, req, how >> 2);
}

/* Reads what the connection sent; checks the first bytes ever look like an answer. */
static size_t drain(int fd, size_t *total, char *first, size_t firstcap)
{
    char buf[65536];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        if (*total < firstcap) {
            size_t k = (size_t)n < firstcap - *total ? (size_t)n : firstcap - *total;
            memcpy(first + *total, buf, k);
        }
        *total += (size_t)n;
        got += (size_t)n;
    }
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    run r = {.rng = (uint32_t)data[0] << 8 | data[1] | 0x10000u};
    r.max_body = data[0] & 0x0f ? (size_t)(data[0] & 0x0f) * 32 : INVOKE_MAX_BODY;
    const uint8_t *stream = data + 2;
    size_t len = size - 2, off = 0, out_total = 0;
    char first[16] = {0};
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    http_conn *c = http_conn_new(sv[0], r.max_body, on_request, &r);
    check(c != NULL);
    int alive = 1, peer_done = 0;
    for (int rounds = 0; alive; rounds++) {
        check(rounds < 100000); /* the loop must end */
        int progress = 0;
        /* The client sends its next piece; once all is sent, it ends its side. */
        if (off < len) {
            uint32_t pick = next_rand(&r);
            size_t piece = pick & 1 ? 1 + (pick >> 1) % 16 : 1 + (pick >> 1) % 4096;
            if (piece > len - off)
                piece = len - off;
            ssize_t w = write(sv[1], stream + off, piece);
            if (w > 0) {
                off += (size_t)w;
                progress = 1;
            }
        } else if (!peer_done) {
            shutdown(sv[1], SHUT_WR);
            peer_done = progress = 1;
        }
        /* The loop's turn: read (which parses and dispatches), write, resume. */
        int rc = 0;
        if (http_conn_wants_read(c))
            rc = http_conn_on_readable(c);
        if (rc == 0 && http_conn_wants_write(c))
            rc = http_conn_on_writable(c);
        /* A held request is answered some rounds later, or when nothing else can move. */
        if (rc == 0 && r.held && (next_rand(&r) % 4 == 0 || !progress)) {
            check_request(&r, r.held); /* still there while held */
            http_req *req = r.held;
            r.held = NULL;
            answer(c, req, next_rand(&r));
            progress = 1;
        }
        if (rc == 0)
            rc = http_conn_resume(c);
        if (rc == 0 && http_conn_wants_write(c))
            rc = http_conn_on_writable(c);
        if (drain(sv[1], &out_total, first, sizeof(first) - 1))
            progress = 1;
        if (rc < 0)
            alive = 0;
        else if (!progress && peer_done && !r.held)
            alive = 0; /* everything sent and answered: the connection just waits */
    }
    if (out_total)
        check(strncmp(first, "HTTP/1.1 ", out_total < 9 ? out_total : 9) == 0);
    http_conn_free(c);
    close(sv[1]);
    return 0;
}
