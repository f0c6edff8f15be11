/*
 * Unit tests of the gRPC channel (grpc.c, h2.c): the request size limit (refused before
 * anything is sent), an unreachable server, and servers that behave in one particular way
 * (nghttpd, a scripted one sending raw frames). The wire format alone is test_grpc_wire.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "temporal/net/grpc.h"

static void oversized_request_refused_before_sending(void **st)
{
    /* Port 1 on loopback: nothing listens; a refused request never tries to connect. */
    grpc_config cfg = {.host = "127.0.0.1", .port = 1};
    grpc_channel *ch;
    char err[256];
    assert_int_equal(grpc_channel_new(&ch, &cfg, err, sizeof(err)), GRPC_OK);
    size_t len = GRPC_MAX_REQUEST + 1;
    uint8_t *big = calloc(1, len);
    uint8_t *resp;
    size_t resp_len;
    grpc_status s;
    assert_int_equal(grpc_unary_raw(ch, "GetSystemInfo", 0, big, len, 1000, &resp, &resp_len, &s),
                     GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(s.message, "exceeds the 4 MiB limit"));
    assert_int_equal(s.attempts, 0);
    assert_int_equal(grpc_channel_connections(ch), 0);
    free(big);
    grpc_channel_free(ch);
}

static void unreachable_server_is_unavailable_within_deadline(void **st)
{
    grpc_config cfg = {.host = "127.0.0.1", .port = 1};
    grpc_channel *ch;
    char err[256];
    assert_int_equal(grpc_channel_new(&ch, &cfg, err, sizeof(err)), GRPC_OK);
    uint8_t *resp;
    size_t resp_len;
    grpc_status s;
    int code = grpc_unary_raw(ch, "GetSystemInfo", 0, NULL, 0, 1500, &resp, &resp_len, &s);
    assert_int_equal(code, GRPC_UNAVAILABLE);
    assert_non_null(strstr(s.message, "Connection refused"));
    assert_true(s.attempts >= 2); /* retried with back-off inside the deadline */
    grpc_channel_free(ch);
}

/* The request headers, as a real HTTP/2 server (nghttpd, verbose) receives them. */
static void request_headers_as_sent(void **st)
{
    char log[] = "/tmp/tw-nghttpd-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    int port = 0;
    pid_t pid = -1;
    for (int attempt = 0; attempt < 5 && pid < 0; attempt++) {
        port = 20000 + (int)(getpid() % 20000) + attempt * 7;
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port);
        pid = fork();
        if (pid == 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            execlp("nghttpd", "nghttpd", "--no-tls", "-v", "-a", "127.0.0.1", portstr, (char *)NULL);
            _exit(127);
        }
        usleep(300 * 1000);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            pid = -1; /* port taken: try another */
    }
    assert_true(pid > 0);
    grpc_header extra[] = {{"x-team", "serverless"}};
    grpc_config cfg = {.host = "127.0.0.1", .port = port, .namespace_name = "orders",
                       .api_key = "secret-key-123", .headers = extra, .nheaders = 1,
                       .authority = "temporal.example:7233"};
    grpc_channel *ch;
    char err[256];
    assert_int_equal(grpc_channel_new(&ch, &cfg, err, sizeof(err)), GRPC_OK);
    uint8_t *resp;
    size_t resp_len;
    grpc_status s;
    /* nghttpd serves files, not gRPC: the 404 comes back as UNIMPLEMENTED, not retried. */
    int code = grpc_unary_raw(ch, "PollWorkflowTaskQueue", GRPC_NAMESPACED, (const uint8_t *)"ab", 2,
                              70000, &resp, &resp_len, &s);
    assert_int_equal(code, GRPC_UNIMPLEMENTED);
    assert_int_equal(s.attempts, 1);
    grpc_channel_free(ch);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    char buf[65536];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(log);
    assert_true(n > 0);
    buf[n] = '\0';
    const char *want[] = {
        ":method: POST", ":scheme: http",
        ":path: /temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue",
        ":authority: temporal.example:7233", "te: trailers", "content-type: application/grpc",
        "client-name: temporal-lambda-c", "temporal-namespace: orders",
        "authorization: Bearer secret-key-123", "x-team: serverless", "grpc-timeout: ",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(buf, want[i]))
            fail_msg("header \"%s\" not received; server saw:\n%s", want[i], buf);
    const char *gt = strstr(buf, "grpc-timeout: ");
    long ms = atol(gt + 14);
    assert_true(ms > 69000 && ms <= 70000); /* the call's remaining deadline, in ms */
    assert_true(gt[14 + strspn(gt + 14, "0123456789")] == 'm');
}

/* ---- a scripted HTTP/2 server: raw frames over loopback TCP ---- */

typedef struct script_server {
    int listen_fd, port;
    pthread_t thread;
    int goaway_after_ms;   /* GOAWAY (last stream 1) this long after the first request */
    int stop;              /* under mu */
    pthread_mutex_t mu;
} script_server;

static void put_frame(int fd, int type, int flags, int32_t stream, const uint8_t *p, size_t n)
{
    uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)type,
                    (uint8_t)flags, (uint8_t)(stream >> 24), (uint8_t)(stream >> 16),
                    (uint8_t)(stream >> 8), (uint8_t)stream};
    assert_int_equal(send(fd, h, 9, MSG_NOSIGNAL), 9);
    if (n)
        assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Allows one stream at a time (SETTINGS_MAX_CONCURRENT_STREAMS 1), answers nothing, and sends
 * GOAWAY(last stream 1, NO_ERROR) goaway_after_ms after the client's first bytes; then reads
 * until told to stop. */
static void *script_server_main(void *arg)
{
    script_server *sv = arg;
    int fd = accept(sv->listen_fd, NULL, NULL);
    assert_true(fd >= 0);
    static const uint8_t one_stream[] = {0, 3, 0, 0, 0, 1};
    put_frame(fd, 4, 0, 0, one_stream, sizeof(one_stream)); /* SETTINGS */
    put_frame(fd, 4, 1, 0, NULL, 0);                          /* ACK of the client's */
    int64_t goaway_at = 0;
    for (;;) {
        pthread_mutex_lock(&sv->mu);
        int stop = sv->stop;
        pthread_mutex_unlock(&sv->mu);
        if (stop)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) > 0) {
            char buf[4096];
            if (recv(fd, buf, sizeof(buf), 0) <= 0)
                break;
            if (!goaway_at)
                goaway_at = mono_ms() + sv->goaway_after_ms;
        }
        if (goaway_at && mono_ms() >= goaway_at) {
            static const uint8_t last1[] = {0, 0, 0, 1, 0, 0, 0, 0};
            put_frame(fd, 7, 0, 0, last1, sizeof(last1));
            goaway_at = INT64_MAX;
        }
    }
    close(fd);
    return NULL;
}

static void script_server_start(script_server *sv, int goaway_after_ms)
{
    memset(sv, 0, sizeof(*sv));
    pthread_mutex_init(&sv->mu, NULL);
    sv->goaway_after_ms = goaway_after_ms;
    sv->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(sv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(sv->listen_fd, 4), 0);
    assert_int_equal(getsockname(sv->listen_fd, (struct sockaddr *)&sa, &len), 0);
    sv->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&sv->thread, NULL, script_server_main, sv), 0);
}

static void script_server_stop(script_server *sv)
{
    pthread_mutex_lock(&sv->mu);
    sv->stop = 1;
    pthread_mutex_unlock(&sv->mu);
    pthread_join(sv->thread, NULL);
    close(sv->listen_fd);
    pthread_mutex_destroy(&sv->mu);
}

typedef struct bg_call {
    grpc_channel *ch;
    int code;
    grpc_status st;
} bg_call;

static void *bg_call_main(void *arg)
{
    bg_call *b = arg;
    uint8_t *resp;
    size_t len;
    b->code = grpc_unary_raw(b->ch, "GetSystemInfo", GRPC_NO_RETRY, NULL, 0, 4000, &resp, &len,
                             &b->st);
    if (b->code == GRPC_OK)
        free(resp);
    return NULL;
}

/* A request queued behind the server's concurrency limit is never sent once the server says
 * GOAWAY, and nghttp2 reports no stream close for it: it ended only at its deadline. Now it
 * ends at the GOAWAY, UNAVAILABLE (retried on a new connection). Seen while writing
 * tests/fuzz/fuzz_h2.c. */
static void queued_request_ends_at_goaway(void **st)
{
    script_server sv;
    script_server_start(&sv, 600);
    grpc_config cfg = {.host = "127.0.0.1", .port = sv.port};
    grpc_channel *ch;
    char err[256];
    assert_int_equal(grpc_channel_new(&ch, &cfg, err, sizeof(err)), GRPC_OK);
    bg_call first = {.ch = ch};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bg_call_main, &first), 0); /* takes the one stream */
    usleep(200 * 1000);
    uint8_t *resp;
    size_t len;
    grpc_status s;
    int64_t start = mono_ms();
    int code = grpc_unary_raw(ch, "GetSystemInfo", GRPC_NO_RETRY, NULL, 0, 4000, &resp, &len, &s);
    int64_t took = mono_ms() - start;
    assert_int_equal(code, GRPC_UNAVAILABLE);
    assert_non_null(strstr(s.message, "not sent: the server is going away (GOAWAY)"));
    if (took > 2500)
        fail_msg("the queued request ended after %lld ms, not at the GOAWAY", (long long)took);
    grpc_channel_free(ch); /* ends the first call: the server never answers it */
    pthread_join(t, NULL);
    assert_int_equal(first.code, GRPC_CANCELLED);
    script_server_stop(&sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oversized_request_refused_before_sending),
        cmocka_unit_test(unreachable_server_is_unavailable_within_deadline),
        cmocka_unit_test(request_headers_as_sent),
        cmocka_unit_test(queued_request_ends_at_goaway),
    };
    return cmocka_run_group_tests_name("grpc", tests, NULL, NULL);
}
