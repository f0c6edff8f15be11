/*
 * Integration: tests/support/stallproxy (the proxy the worker's deadline tests put between the
 * runtime and the Temporal server) against an echo server on plain sockets. Checks what those
 * tests rely on: bytes pass both ways, STALL holds them with the sockets open and lets them go in
 * order afterwards, RANDOM_STALL alternates stalls of the configured length with forwarding,
 * VANISH resets open and new connections, RANDOM delays bytes without reordering them and
 * mixes resets, stalls and delays (what the chaos run relies on), and the counters.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/stallproxy.h"

/* ---- an echo server: one thread, every connection echoed back ------------------------- */

#define ECHO_MAX 16

typedef struct echo_server {
    int lfd, port;
    int wake[2];
    pthread_t thread;
    int fds[ECHO_MAX];
    atomic_long bytes_in;  /* bytes received from all connections */
    atomic_int open;       /* connections open now */
    atomic_int closed;     /* connections the peer ended (EOF or reset) */
} echo_server;

static void *echo_run(void *arg)
{
    echo_server *s = arg;
    for (;;) {
        struct pollfd pf[2 + ECHO_MAX];
        int n = 0, idx[ECHO_MAX];
        pf[n++] = (struct pollfd){s->wake[0], POLLIN, 0};
        pf[n++] = (struct pollfd){s->lfd, POLLIN, 0};
        for (int i = 0; i < ECHO_MAX; i++)
            if (s->fds[i] >= 0) {
                idx[n - 2] = i;
                pf[n++] = (struct pollfd){s->fds[i], POLLIN, 0};
            }
        if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        for (int k = 2; k < n; k++) {
            if (!pf[k].revents)
                continue;
            int i = idx[k - 2];
            char buf[4096];
            ssize_t got = recv(s->fds[i], buf, sizeof(buf), 0);
            if (got > 0) {
                atomic_fetch_add(&s->bytes_in, got);
                if (send(s->fds[i], buf, (size_t)got, MSG_NOSIGNAL) == got)
                    continue;
            }
            close(s->fds[i]);
            s->fds[i] = -1;
            atomic_fetch_sub(&s->open, 1);
            atomic_fetch_add(&s->closed, 1);
        }
        if (pf[1].revents) {
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            int i = 0;
            while (fd >= 0 && i < ECHO_MAX && s->fds[i] >= 0)
                i++;
            if (fd >= 0 && i < ECHO_MAX) {
                s->fds[i] = fd;
                atomic_fetch_add(&s->open, 1);
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
    return NULL;
}

static void echo_start(echo_server *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < ECHO_MAX; i++)
        s->fds[i] = -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pipe2(s->wake, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, echo_run, s), 0);
}

static void echo_stop(echo_server *s)
{
    assert_int_equal(write(s->wake[1], "x", 1), 1);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < ECHO_MAX; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
}

/* ---- client side ------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Reads up to |want| bytes within |ms|. Returns the count read, or -1 when the connection ended
 * (EOF or reset) before anything came. */
static ssize_t read_within(int fd, char *buf, size_t want, int ms)
{
    size_t got = 0;
    int64_t end = now_ms() + ms;
    while (got < want) {
        int64_t left = end - now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = recv(fd, buf + got, want - got, 0);
        if (n <= 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void send_all(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

typedef struct fixture {
    echo_server echo;
    stallproxy *proxy;
} fixture;

static int setup_with(void **st, const stallproxy_options *extra)
{
    fixture *f = calloc(1, sizeof(*f));
    echo_start(&f->echo);
    stallproxy_options o = extra ? *extra : (stallproxy_options){0};
    o.target_port = f->echo.port;
    if (stallproxy_start(&f->proxy, &o) != 0) {
        echo_stop(&f->echo);
        free(f);
        return -1;
    }
    *st = f;
    return 0;
}

static int setup(void **st)
{
    return setup_with(st, NULL);
}

static int teardown(void **st)
{
    fixture *f = *st;
    stallproxy_stop(f->proxy);
    echo_stop(&f->echo);
    free(f);
    return 0;
}

static void pass_forwards_both_ways_and_counts(void **st)
{
    fixture *f = *st;
    assert_int_equal(stallproxy_connections(f->proxy), 0);
    int a = dial(stallproxy_port(f->proxy)), b = dial(stallproxy_port(f->proxy));
    char buf[64] = "";
    send_all(a, "ping");
    assert_int_equal(read_within(a, buf, 4, 2000), 4);
    assert_memory_equal(buf, "ping", 4);
    send_all(b, "pong!");
    assert_int_equal(read_within(b, buf, 5, 2000), 5);
    assert_memory_equal(buf, "pong!", 5);
    assert_int_equal(stallproxy_connections(f->proxy), 2);
    assert_int_equal(stallproxy_open_connections(f->proxy), 2);
    /* A client that leaves ends the connection to the server too. */
    close(a);
    for (int i = 0; i < 200 && atomic_load(&f->echo.closed) < 1; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&f->echo.closed), 1);
    for (int i = 0; i < 200 && stallproxy_open_connections(f->proxy) > 1; i++)
        sleep_ms(10);
    assert_int_equal(stallproxy_open_connections(f->proxy), 1);
    close(b);
}

static void stall_holds_bytes_then_resumes_in_order(void **st)
{
    fixture *f = *st;
    int fd = dial(stallproxy_port(f->proxy));
    char buf[64] = "";
    send_all(fd, "warm");
    assert_int_equal(read_within(fd, buf, 4, 2000), 4);
    stallproxy_set_mode(f->proxy, STALLPROXY_STALL);
    assert_int_equal(stallproxy_get_mode(f->proxy), STALLPROXY_STALL);
    sleep_ms(50);
    send_all(fd, "abc");
    send_all(fd, "def");
    /* Nothing reaches the server, nothing comes back, and the connection stays open. */
    assert_int_equal(read_within(fd, buf, 6, 400), 0);
    assert_int_equal(atomic_load(&f->echo.bytes_in), 4);
    assert_int_equal(atomic_load(&f->echo.closed), 0);
    /* A connection made during the stall is accepted but silent too. */
    int late = dial(stallproxy_port(f->proxy));
    send_all(late, "late");
    assert_int_equal(read_within(late, buf, 4, 300), 0);
    stallproxy_set_mode(f->proxy, STALLPROXY_PASS);
    assert_int_equal(read_within(fd, buf, 6, 2000), 6);
    assert_memory_equal(buf, "abcdef", 6);
    assert_int_equal(read_within(late, buf, 4, 2000), 4);
    assert_memory_equal(buf, "late", 4);
    assert_int_equal(stallproxy_connections(f->proxy), 2);
    close(fd);
    close(late);
}

static int setup_random(void **st)
{
    stallproxy_options o = {.stall_min_ms = 300, .stall_max_ms = 500, .pass_min_ms = 100,
                            .pass_max_ms = 200, .seed = 7, .mode = STALLPROXY_RANDOM_STALL};
    return setup_with(st, &o);
}

/* Sends a byte every 20 ms for 2.5 s and looks at when the echoes come back: in order, all of
 * them, with gaps as long as the configured stalls (300-500 ms) between runs of forwarding. */
static void random_stall_alternates(void **st)
{
    fixture *f = *st;
    int fd = dial(stallproxy_port(f->proxy));
    int64_t start = now_ms(), last = 0, longest = 0;
    char sent = 0, expect = 0;
    int stalls = 0, got_total = 0;
    while (now_ms() - start < 2500) {
        char c = (char)('a' + sent++ % 26);
        assert_int_equal(send(fd, &c, 1, MSG_NOSIGNAL), 1);
        char buf[64];
        ssize_t n = read_within(fd, buf, sizeof(buf), 20);
        assert_true(n >= 0);
        for (ssize_t i = 0; i < n; i++, expect++)
            assert_int_equal(buf[i], (char)('a' + expect % 26));
        if (n > 0) {
            int64_t t = now_ms();
            if (last && t - last > longest)
                longest = t - last;
            if (last && t - last >= 250)
                stalls++;
            last = t;
            got_total += (int)n;
        }
    }
    stallproxy_set_mode(f->proxy, STALLPROXY_PASS);
    char buf[256];
    ssize_t n;
    while (expect != sent && (n = read_within(fd, buf, sizeof(buf), 1000)) > 0)
        for (ssize_t i = 0; i < n; i++, expect++)
            assert_int_equal(buf[i], (char)('a' + expect % 26));
    assert_int_equal(expect, sent); /* nothing lost */
    assert_true(stalls >= 2);
    /* A gap is one direction's stall, or the two directions' stalls one after the other. */
    assert_true(longest >= 250 && longest <= 2000);
    assert_true(got_total > 0);
    close(fd);
}

static void vanish_resets_open_and_new_connections(void **st)
{
    fixture *f = *st;
    int fd = dial(stallproxy_port(f->proxy));
    char buf[16];
    send_all(fd, "hi");
    assert_int_equal(read_within(fd, buf, 2, 2000), 2);
    stallproxy_set_mode(f->proxy, STALLPROXY_VANISH);
    assert_int_equal(read_within(fd, buf, 1, 2000), -1); /* reset */
    for (int i = 0; i < 200 && atomic_load(&f->echo.closed) < 1; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&f->echo.closed), 1); /* the server side went too */
    close(fd);

    /* A new connection gets in (the port is there) and is reset at once. */
    fd = dial(stallproxy_port(f->proxy));
    ssize_t n = send(fd, "x", 1, MSG_NOSIGNAL);
    (void)n; /* may already fail with the reset */
    assert_int_equal(read_within(fd, buf, 1, 2000), -1);
    close(fd);
    assert_int_equal(stallproxy_connections(f->proxy), 2);
    assert_int_equal(stallproxy_open_connections(f->proxy), 0);
    assert_int_equal(atomic_load(&f->echo.open), 0);

    /* The server is back. */
    stallproxy_set_mode(f->proxy, STALLPROXY_PASS);
    fd = dial(stallproxy_port(f->proxy));
    send_all(fd, "back");
    assert_int_equal(read_within(fd, buf, 4, 2000), 4);
    assert_memory_equal(buf, "back", 4);
    assert_int_equal(stallproxy_connections(f->proxy), 3);
    close(fd);
}

/* Stopping with stalled connections open closes and frees everything (LeakSanitizer checks). */
static void stop_with_open_stalled_connections(void **st)
{
    fixture *f = *st;
    int a = dial(stallproxy_port(f->proxy)), b = dial(stallproxy_port(f->proxy));
    send_all(a, "one");
    char buf[8];
    assert_int_equal(read_within(a, buf, 3, 2000), 3);
    stallproxy_set_mode(f->proxy, STALLPROXY_STALL);
    send_all(b, "two");
    for (int i = 0; i < 200 && stallproxy_open_connections(f->proxy) < 2; i++)
        sleep_ms(10);
    stallproxy_stop(f->proxy);
    f->proxy = NULL;
    assert_int_equal(read_within(a, buf, 1, 2000), -1);
    assert_int_equal(read_within(b, buf, 1, 2000), -1);
    close(a);
    close(b);
}

static int setup_latency(void **st)
{
    stallproxy_options o = {.latency_weight = 1, .latency_min_ms = 200, .latency_max_ms = 250,
                            .pass_min_ms = 100, .pass_max_ms = 200, .seed = 11,
                            .mode = STALLPROXY_RANDOM};
    return setup_with(st, &o);
}

/* Only latency periods: every byte waits 200-250 ms each way, and arrives, in order. */
static void random_latency_delays_without_reordering(void **st)
{
    fixture *f = *st;
    int fd = dial(stallproxy_port(f->proxy));
    sleep_ms(300); /* past the first (plain) period */
    char buf[64];
    int64_t t0 = now_ms();
    send_all(fd, "abc");
    assert_int_equal(read_within(fd, buf, 3, 3000), 3);
    int64_t rtt = now_ms() - t0;
    assert_memory_equal(buf, "abc", 3);
    assert_true(rtt >= 390 && rtt < 1500);
    /* A stream sent in many small writes comes back whole and in order. */
    char want[200];
    for (int i = 0; i < 200; i++) {
        want[i] = (char)('a' + i % 26);
        assert_int_equal(send(fd, &want[i], 1, MSG_NOSIGNAL), 1);
        if (i % 20 == 0)
            sleep_ms(15);
    }
    char got[200];
    assert_int_equal(read_within(fd, got, sizeof(got), 5000), 200);
    assert_memory_equal(got, want, 200);
    stallproxy_counters c;
    stallproxy_get_counters(f->proxy, &c);
    assert_true(c.latency_periods >= 1);
    assert_int_equal(c.resets, 0);
    assert_int_equal(c.stalls, 0);
    assert_int_equal(c.connections, 1);
    assert_int_equal(c.open, 1);
    close(fd);
}

static int setup_mix(void **st)
{
    stallproxy_options o = {.reset_weight = 1, .stall_weight = 1, .latency_weight = 1,
                            .pass_weight = 1, .pass_min_ms = 50, .pass_max_ms = 100,
                            .stall_min_ms = 200, .stall_max_ms = 300, .latency_min_ms = 20,
                            .latency_max_ms = 50, .seed = 3, .mode = STALLPROXY_RANDOM};
    return setup_with(st, &o);
}

#define MIX_CONNS 6

/* Resets, stalls and delays at random: clients see their connections reset now and then
 * (and redial), and on every connection the echoes that come back are exactly what was sent,
 * in order, up to the reset. */
static void random_mixes_resets_stalls_and_delays(void **st)
{
    fixture *f = *st;
    int fds[MIX_CONNS], sent[MIX_CONNS], expect[MIX_CONNS], dials = 0, resets_seen = 0;
    long echoed = 0;
    for (int i = 0; i < MIX_CONNS; i++, dials++) {
        fds[i] = dial(stallproxy_port(f->proxy));
        sent[i] = expect[i] = 0;
    }
    int64_t start = now_ms();
    while (now_ms() - start < 3000) {
        for (int i = 0; i < MIX_CONNS; i++) {
            char c = (char)('a' + sent[i] % 26), buf[256];
            int broke = send(fds[i], &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 &&
                        errno != EAGAIN && errno != EWOULDBLOCK;
            if (!broke)
                sent[i]++;
            ssize_t n = -1;
            while (!broke && (n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
                if (n < 0) {
                    broke = errno != EAGAIN && errno != EWOULDBLOCK;
                    break;
                }
                for (ssize_t k = 0; k < n; k++, expect[i]++)
                    assert_int_equal(buf[k], (char)('a' + expect[i] % 26));
                echoed += n;
                assert_true(expect[i] <= sent[i]);
            }
            if (broke || n == 0) { /* reset (or ended): dial again */
                resets_seen++;
                close(fds[i]);
                fds[i] = dial(stallproxy_port(f->proxy));
                dials++;
                sent[i] = expect[i] = 0;
            }
        }
        sleep_ms(10);
    }
    stallproxy_counters c;
    stallproxy_get_counters(f->proxy, &c);
    assert_true(c.resets >= 2);
    assert_true(c.stalls >= 2);
    assert_true(c.latency_periods >= 2);
    assert_true(resets_seen >= 1 && resets_seen <= c.resets);
    assert_int_equal(c.connections, dials);
    assert_true(echoed > 100);
    for (int i = 0; i < MIX_CONNS; i++)
        close(fds[i]);
}

static void bad_options_are_refused(void **st)
{
    stallproxy *p = (stallproxy *)1;
    stallproxy_options none = {0};
    assert_int_equal(stallproxy_start(&p, &none), -EINVAL);
    assert_null(p);
    stallproxy_options inverted = {.target_port = 1, .stall_min_ms = 5000, .stall_max_ms = 10};
    assert_int_equal(stallproxy_start(&p, &inverted), -EINVAL);
    assert_null(p);
    stallproxy_options slow = {.target_port = 1, .latency_min_ms = 90, .latency_max_ms = 10};
    assert_int_equal(stallproxy_start(&p, &slow), -EINVAL);
    stallproxy_options negative = {.target_port = 1, .reset_weight = -1, .pass_weight = 2};
    assert_int_equal(stallproxy_start(&p, &negative), -EINVAL);
    assert_null(p);
    stallproxy_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pass_forwards_both_ways_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(stall_holds_bytes_then_resumes_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(random_stall_alternates, setup_random, teardown),
        cmocka_unit_test_setup_teardown(vanish_resets_open_and_new_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_with_open_stalled_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(random_latency_delays_without_reordering, setup_latency,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_mixes_resets_stalls_and_delays, setup_mix,
                                        teardown),
        cmocka_unit_test(bad_options_are_refused),
    };
    return cmocka_run_group_tests_name("stallproxy", tests, NULL, NULL);
}
