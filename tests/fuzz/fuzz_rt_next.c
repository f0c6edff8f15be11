/*
 * fuzz_rt_next: what the Lambda Runtime API answers to `next` (runtime/rt.h), two ways, chosen
 * by the first byte of the input:
 *
 *   even: the rest is header lines, one per '\n' or NUL, handed to rt_parse_next_headers() with
 *         a store of the size rt_next() gives it (or, by the first byte, smaller);
 *   odd:  the rest is a raw HTTP answer, sent by a loopback server to a real rt_client calling
 *         rt_next(): libcurl's parsing, the client's header and body callbacks, the header
 *         split and the parse together, as in production.
 *
 * Checked beyond crashes and leaks: an accepted invocation has a request id that is safe in a
 * path, a function ARN, a deadline, and a NUL-terminated payload of the length it reports; a
 * refused one comes with a message, and that message (it quotes what the API sent) still makes
 * a valid JSON error body for /runtime/invocation/{id}/error.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/rt.h"

#define MAX_LINES 64

#define check FUZZ_CHECK

/* The error the runtime would post about |msg|. */
static void check_error_body(const char *msg)
{
    char *body = rt_error_body("Runtime.InvalidAnswer", msg);
    check(body != NULL);
    cJSON *o = cJSON_Parse(body);
    check(o != NULL);
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(o, "errorMessage"));
    check(m && strcmp(m, msg) == 0);
    cJSON_Delete(o);
    free(body);
}

static void check_invocation(const rt_invocation *inv)
{
    check(inv->request_id && *inv->request_id && strlen(inv->request_id) <= 256);
    for (const char *p = inv->request_id; *p; p++)
        check(isgraph((unsigned char)*p) && !strchr("/?#%", *p));
    check(inv->function_arn && *inv->function_arn);
    check(inv->deadline_ms >= 0);
    check(!inv->invocation_id || (*inv->invocation_id && strlen(inv->invocation_id) <= 256));
}

/* ---- headers alone ---- */

static void parse_lines(uint8_t how, const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    const char *lines[MAX_LINES];
    size_t n = 0, need = 1;
    check(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0, start = 0; i <= size; i++) {
        if (i < size && copy[i] != '\n' && copy[i] != '\0')
            continue;
        copy[i] = '\0';
        if (i > start && n < MAX_LINES) { /* as the client keeps them: non-empty */
            lines[n++] = copy + start;
            need += i - start + 1;
        }
        start = i + 1;
    }
    /* rt_next gives a store as large as all header lines; a smaller one must be refused, not
     * overrun (exactly sized, so ASan sees a byte too far). */
    size_t storelen = need - (how >> 1) % (need + 1);
    char *store = malloc(storelen ? storelen : 1), err[256];
    rt_invocation inv;
    check(store != NULL);
    err[0] = '\0';
    int rc = rt_parse_next_headers(lines, n, &inv, store, storelen, err, sizeof(err));
    if (rc == RT_OK)
        check_invocation(&inv);
    else {
        check(rc == RT_EPROTO && err[0]);
        check_error_body(err);
    }
    free(store);
    free(copy);
}

/* ---- a whole answer over a socket ---- */

static struct {
    pthread_mutex_t mu;
    int fd;
    uint8_t *answer;
    size_t len;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static rt_client *client;

/* Answers each connection's first request with the current answer, then closes it. */
static void *serve(void *arg)
{
    for (;;) {
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        struct timeval tv = {2, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char req[8192];
        size_t got = 0;
        while (got < sizeof(req)) {
            ssize_t r = recv(c, req + got, sizeof(req) - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            if (memmem(req, got, "\r\n\r\n", 4))
                break;
        }
        pthread_mutex_lock(&srv.mu);
        uint8_t *a = malloc(srv.len ? srv.len : 1);
        size_t len = a ? srv.len : 0;
        if (a)
            memcpy(a, srv.answer, len);
        pthread_mutex_unlock(&srv.mu);
        for (size_t off = 0; off < len;) {
            ssize_t w = send(c, a + off, len - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        free(a);
        close(c);
    }
}

static void start_server(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    char api[64], err[256];
    rt_retry once = {1, 1, 1}; /* no retries: a broken answer is one attempt */
    pthread_t t;
    srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(srv.fd >= 0);
    check(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    check(listen(srv.fd, 16) == 0);
    check(getsockname(srv.fd, (struct sockaddr *)&sa, &sl) == 0);
    check(pthread_create(&t, NULL, serve, NULL) == 0);
    pthread_detach(t);
    snprintf(api, sizeof(api), "127.0.0.1:%d", ntohs(sa.sin_port));
    check(rt_client_new(&client, api, &once, err, sizeof(err)) == RT_OK);
}

static void next_over_socket(const uint8_t *data, size_t size)
{
    if (!client)
        start_server();
    pthread_mutex_lock(&srv.mu);
    free(srv.answer);
    srv.answer = malloc(size ? size : 1);
    check(srv.answer != NULL);
    memcpy(srv.answer, data, size);
    srv.len = size;
    pthread_mutex_unlock(&srv.mu);

    rt_invocation inv;
    int rc = rt_next(client, &inv);
    if (rc == RT_OK) {
        check_invocation(&inv);
        check(inv.payload && inv.payload[inv.payload_len] == '\0');
    } else {
        check(rc < 0 && rc >= RT_EINVAL && *rt_client_errmsg(client));
        check_error_body(rt_client_errmsg(client));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        next_over_socket(data + 1, size - 1);
    else
        parse_lines(data[0], data + 1, size - 1);
    return 0;
}
