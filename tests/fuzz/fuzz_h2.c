/*
 * fuzz_h2: the gRPC client's HTTP/2 connection (temporal/net/h2.c: the nghttp2 session, its
 * header, data and stream-close callbacks, gRPC message reassembly, status parsing, GOAWAY and
 * connection loss) driven as a hostile server would: every byte the "server" sends is the
 * fuzzer's. The real channel runs (its network thread, its submit queue, one to three calls
 * in flight from their own threads); only the byte stream under it is this file's.
 *
 * The seam is the link: this file defines transport.h's functions and the target is linked
 * without temporal/net/transport.c, so grpc.c and h2.c run unchanged over a transport that
 * serves the input. Each connection's fd is an eventfd kept readable and writable, so the
 * channel's poll() always finds it ready; tp_read() hands out the input in chunks and then
 * TP_EOF.
 * The server's bytes are held back until every call's HEADERS frame has been written, so the
 * streams are 1, 3, 5 in every run and the same input always does the same thing.
 *
 * Input: byte 0 chooses the set-up, byte 1 more of it, the rest is the server.
 *   byte0 & 3          calls in flight: 1, 2, 3 (3 -> 1)
 *   byte0 & 4          the calls are long polls, cancelled (grpc_cancel_polls) at the point
 *                      (byte1 & 63) * 16 bytes into the server's
 *   (byte0 >> 3) & 3   read chunk: 16384, 1, 10 or 200 bytes
 *   byte0 & 0x20       the answer is unpacked as a GetSystemInfoResponse (grpc_unary)
 *   byte0 & 0x40       a second connection fails: at connect (byte1 & 0x40) or in its handshake
 *   byte0 & 0x80       writes take at most 100 bytes, every other one TP_AGAIN
 *   byte1 & 0x80       one more call, made at that point (or at the end of the bytes, before
 *                      the server's EOF); the server's next bytes wait until its HEADERS are
 *                      out: it meets the connection in whatever state the bytes left it
 *                      (going away, closed, idle, streams in flight) or a second one (which
 *                      serves only EOF)
 *
 * What must hold: every call ends, with a status in 0..16, well before its deadline (the
 * server's bytes end in EOF, so nothing may wait on them), a response only on OK, and the
 * channel frees everything (LeakSanitizer).
 *
 * Capture (how tests/fuzz/corpus/h2 was made): TW_FUZZ_H2_CAPTURE=<dir> TW_FUZZ_H2_PORT=<port
 * of a local Temporal server, e.g. build/temporal-server --port N> makes the transport a real
 * TCP one that records what the server sends, runs a few exchanges (GetSystemInfo, a missing
 * namespace, a missing method, a short poll, three calls at once, and with
 * TW_FUZZ_H2_TASK_QUEUE a poll that gets a workflow task) and writes each as a seed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "runtime/log.h"
#include "temporal/clock.h"
#include "temporal/net/grpc.h"
#include "temporal/engine/proto.h"
#include "temporal/net/transport.h"

#define CALL_TIMEOUT_MS 8000
#define MAX_CALLS 3
#define LATE_WAIT_MS 100

/* A call lives on its caller's stack: catch any use of one after its caller returned. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_stack_use_after_return=1";
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz_h2: %s\n", what);
    abort();
}

/* ---- the run: what the transport serves, under mu (the network thread reads it) ---- */

static struct {
    pthread_mutex_t mu;
    grpc_channel *ch;
    const uint8_t *server;     /* the server's bytes */
    size_t len, served;
    size_t chunk;
    size_t point;              /* where polls are cancelled and the late call starts */
    int cancel;                /* cancel polls at point */
    int cancelled;
    int calls;                 /* HEADERS frames the client must have sent first */
    int connect_fails;         /* connections after the first: 1 at connect, 2 in the handshake */
    int short_writes;
    int connections;
    int late;                  /* a late call: 1 wanted, 2 may start, 3 on its way or ended */
    int64_t late_since;        /* when it could start */
    pthread_cond_t cv;         /* signals late changing */
    /* capture mode */
    int capture_port;
    uint8_t *recorded;
    size_t recorded_len;
} run = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* ---- the transport ---- */

struct tp_tls {
    int unused;
};

struct tp_conn {
    int fd;
    int index;                 /* 0: the connection the input is served on */
    int writes;
    /* the client's frames, parsed only to count HEADERS */
    size_t preface_left;
    uint8_t head[9];
    size_t head_have;
    size_t payload_left;
    int headers_seen;
    char err[128];
};

int tp_tls_new(tp_tls **out, const tp_tls_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "no TLS in fuzz_h2");
    return TP_ERR;
}

void tp_tls_free(tp_tls *t) { free(t); }

static int capture_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)run.capture_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("capture: cannot connect to the server");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        die("capture: non-blocking");
    return fd;
}

int tp_connect(tp_conn **out, const char *host, int port, tp_tls *tls, int resolve_ms, char *err,
               size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&run.mu);
    int index = run.connections++;
    int fails = index > 0 && run.connect_fails == 1;
    pthread_mutex_unlock(&run.mu);
    if (fails) {
        snprintf(err, errlen, "connect %s:%d: refused (fuzz_h2)", host, port);
        return TP_ERR;
    }
    tp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return TP_ERR;
    }
    c->index = index;
    c->preface_left = 24;
    if (run.capture_port) {
        c->fd = capture_connect();
    } else {
        c->fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* always readable and writable */
        if (c->fd < 0) {
            free(c);
            snprintf(err, errlen, "eventfd: %s", strerror(errno));
            return TP_ERR;
        }
    }
    *out = c;
    return TP_OK;
}

int tp_handshake(tp_conn *c)
{
    if (c->index > 0 && run.connect_fails == 2) {
        snprintf(c->err, sizeof(c->err), "handshake failed (fuzz_h2)");
        return TP_ERR;
    }
    return TP_OK;
}
int tp_fd(const tp_conn *c) { return c->fd; }
short tp_wants(const tp_conn *c) { return POLLIN; }
size_t tp_pending(const tp_conn *c) { return 0; }
const char *tp_error(const tp_conn *c) { return c->err; }
const char *tp_alpn(const tp_conn *c) { return NULL; }

void tp_close(tp_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&run.mu);
    if (c->index == 0 && run.late == 1) {
        run.late = 3; /* closed before its bytes were all read: no late call */
        pthread_cond_broadcast(&run.cv);
    }
    pthread_mutex_unlock(&run.mu);
    close(c->fd);
    free(c);
}

/* Sets run.late to |to| (under mu), waking whoever waits on it. */
static void late_step(int to)
{
    pthread_mutex_lock(&run.mu);
    run.late = to;
    pthread_cond_broadcast(&run.cv);
    pthread_mutex_unlock(&run.mu);
}

static void late_headers(void)
{
    pthread_mutex_lock(&run.mu);
    if (run.late == 2)
        run.late = 3;
    pthread_cond_broadcast(&run.cv);
    pthread_mutex_unlock(&run.mu);
}

/* Counts the HEADERS frames in what the client writes (after its 24-byte preface). */
static void parse_client(tp_conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->preface_left) {
            size_t k = n < c->preface_left ? n : c->preface_left;
            c->preface_left -= k, p += k, n -= k;
        } else if (c->payload_left) {
            size_t k = n < c->payload_left ? n : c->payload_left;
            c->payload_left -= k, p += k, n -= k;
        } else {
            c->head[c->head_have++] = *p++, n--;
            if (c->head_have == 9) {
                c->head_have = 0;
                c->payload_left = (size_t)c->head[0] << 16 | (size_t)c->head[1] << 8 | c->head[2];
                if (c->head[3] == 1 && (++c->headers_seen > run.calls || c->index > 0))
                    late_headers(); /* the late call's: its stream is open */
            }
        }
    }
}

ssize_t tp_write(tp_conn *c, const void *buf, size_t n)
{
    if (run.capture_port) {
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN ? TP_AGAIN : TP_ERR;
        parse_client(c, buf, (size_t)w);
        return w;
    }
    if (run.short_writes) {
        if (c->writes++ % 2)
            return TP_AGAIN;
        if (n > 100)
            n = 100;
    }
    parse_client(c, buf, n);
    return (ssize_t)n;
}

static ssize_t capture_read(tp_conn *c, void *buf, size_t n)
{
    ssize_t r = recv(c->fd, buf, n, 0);
    if (r == 0)
        return TP_EOF;
    if (r < 0)
        return errno == EAGAIN ? TP_AGAIN : TP_ERR;
    pthread_mutex_lock(&run.mu);
    uint8_t *p = realloc(run.recorded, run.recorded_len + (size_t)r);
    if (!p)
        die("out of memory");
    memcpy(p + run.recorded_len, buf, (size_t)r);
    run.recorded = p;
    run.recorded_len += (size_t)r;
    pthread_mutex_unlock(&run.mu);
    return r;
}

ssize_t tp_read(tp_conn *c, void *buf, size_t n)
{
    if (run.capture_port)
        return capture_read(c, buf, n);
    if (c->index > 0)
        return TP_EOF; /* the input was the first connection's */
    if (c->headers_seen < run.calls)
        return TP_AGAIN; /* not every call is on its stream yet */
    pthread_mutex_lock(&run.mu);
    if (run.served >= run.point && run.cancel && !run.cancelled) {
        run.cancelled = 1;
        pthread_mutex_unlock(&run.mu);
        grpc_cancel_polls(run.ch); /* seen by the loop before it reads again */
        return TP_AGAIN;
    }
    size_t left = run.len - run.served;
    if (run.late == 1 && (run.served >= run.point || !left)) {
        run.late = 2; /* the late call may start; more bytes once it is on its way */
        run.late_since = clock_mono_ms();
        pthread_cond_broadcast(&run.cv);
    }
    /* Its HEADERS may also wait for a stream the server does not allow: then go on anyway,
     * soon (the only timing in the run; it decides nothing but the wait). */
    if (run.late == 2 && clock_mono_ms() - run.late_since < LATE_WAIT_MS) {
        pthread_mutex_unlock(&run.mu);
        return TP_AGAIN;
    }
    if (!left) {
        pthread_mutex_unlock(&run.mu);
        return TP_EOF;
    }
    size_t k = n < run.chunk ? n : run.chunk;
    if (k > left)
        k = left;
    if (run.point > run.served && k > run.point - run.served)
        k = run.point - run.served;
    memcpy(buf, run.server + run.served, k);
    run.served += k;
    pthread_mutex_unlock(&run.mu);
    return (ssize_t)k;
}

/* ---- the calls ---- */

typedef struct call_run {
    pthread_t thread;
    const char *method;
    int flags;
    int decode;
    const uint8_t *req;        /* the request's bytes (raw calls) */
    size_t req_len;
    int timeout_ms;
    int code;
    grpc_status st;
    int64_t ms;                /* how long it took */
} call_run;

static void check_status(const call_run *cr)
{
    if (getenv("TW_FUZZ_VERBOSE")) /* to look at what seeds do */
        fprintf(stderr, "fuzz_h2: %s: %s: %s%s%s\n", cr->method, grpc_code_name(cr->code),
                cr->st.message, cr->st.detail_type[0] ? " detail " : "", cr->st.detail_type);
    if (cr->code != cr->st.code)
        die("the returned code is not the status's");
    if (cr->code < 0 || cr->code > 16)
        die("a status outside 0..16");
    if (memchr(cr->st.message, '\0', sizeof(cr->st.message)) == NULL ||
        memchr(cr->st.detail_type, '\0', sizeof(cr->st.detail_type)) == NULL)
        die("an unterminated status text");
    /* The server's bytes end in EOF, so nothing may wait for its deadline (a status
     * DEADLINE_EXCEEDED alone proves nothing: the server may send that). */
    if (cr->ms >= CALL_TIMEOUT_MS / 2 && !run.capture_port) {
        fprintf(stderr, "fuzz_h2: %s: %s after %lld ms\n", cr->method, cr->st.message,
                (long long)cr->ms);
        die("a call outlived the server's bytes");
    }
}

static void *do_call(void *arg)
{
    call_run *cr = arg;
    int64_t start = clock_mono_ms();
    if (cr->decode) {
        WFS(GetSystemInfoRequest) req;
        PB_INIT(WFS_DESC(get_system_info_request), &req);
        ProtobufCMessage *resp = NULL;
        cr->code = grpc_unary(run.ch, cr->method, cr->flags, &req.base,
                              &WFS_DESC(get_system_info_response), NULL, &resp, cr->timeout_ms,
                              &cr->st);
        if ((cr->code == GRPC_OK) != (resp != NULL))
            die("grpc_unary: a response without OK, or OK without one");
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
    } else {
        uint8_t *resp = NULL;
        size_t len = 0;
        cr->code = grpc_unary_raw(run.ch, cr->method, cr->flags, cr->req, cr->req_len,
                                  cr->timeout_ms, &resp, &len, &cr->st);
        if (cr->code != GRPC_OK && (resp || len))
            die("grpc_unary_raw: a response without OK");
        if (cr->code == GRPC_OK && !resp)
            die("grpc_unary_raw: OK without a response");
        free(resp);
    }
    cr->ms = clock_mono_ms() - start;
    check_status(cr);
    return NULL;
}

/* The late call: starts once the server's bytes are all served, and lets the server's EOF
 * come once it has a stream or has ended. */
static void *late_call(void *arg)
{
    pthread_mutex_lock(&run.mu);
    while (run.late == 1)
        pthread_cond_wait(&run.cv, &run.mu);
    int go = run.late == 2;
    pthread_mutex_unlock(&run.mu);
    if (go) /* else the connection ended before its bytes did */
        do_call(arg);
    late_step(3);
    return NULL;
}

/* Runs |n| calls of |method| at once on a new channel, each sending |req| (|len| bytes) or, with
 * |decode|, an empty GetSystemInfoRequest whose answer is unpacked; and with run.late the late
 * call. */
static void exchange(const char *method, int flags, int decode, const uint8_t *req, size_t len,
                     int timeout_ms, int n)
{
    grpc_config cfg = {.host = "fuzz.invalid", .port = 7233, .namespace_name = "default"};
    char err[256];
    if (grpc_channel_new(&run.ch, &cfg, err, sizeof(err)) != GRPC_OK)
        die(err);
    call_run calls[MAX_CALLS + 1];
    int late = run.late != 0;
    for (int i = 0; i < n + late; i++) {
        calls[i] = (call_run){.method = method, .flags = flags | GRPC_NO_RETRY, .decode = decode,
                              .req = req, .req_len = len, .timeout_ms = timeout_ms};
        if (i > 0 && pthread_create(&calls[i].thread, NULL, i < n ? do_call : late_call,
                                    &calls[i]) != 0)
            die("pthread_create");
    }
    do_call(&calls[0]);
    for (int i = 1; i < n + late; i++)
        pthread_join(calls[i].thread, NULL);
    grpc_channel_free(run.ch);
    run.ch = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[] = {16384, 1, 10, 200};
    if (size < 2)
        return 0;
    uint8_t b = data[0];
    int n = 1 + (b & 3) % 3;
    int polls = (b & 4) != 0;
    run.server = data + 2;
    run.len = size - 2;
    run.served = 0;
    run.chunk = chunks[(b >> 3) & 3];
    run.point = (size_t)(data[1] & 63) * 16;
    run.cancel = polls;
    run.cancelled = 0;
    run.calls = n;
    run.connect_fails = !(b & 0x40) ? 0 : (data[1] & 0x40) ? 1 : 2;
    run.late = (data[1] & 0x80) ? 1 : 0;
    run.short_writes = (b & 0x80) != 0;
    run.connections = 0;
    exchange(polls ? "PollWorkflowTaskQueue" : "GetSystemInfo",
             polls ? GRPC_LONG_POLL | GRPC_NAMESPACED : 0, (b & 0x20) != 0, NULL, 0,
             CALL_TIMEOUT_MS, n);
    return 0;
}

/* ---- capture ---- */

static void capture(const char *dir, const char *name, uint8_t head, const char *method,
                    int flags, int decode, const ProtobufCMessage *req, int timeout_ms, int n)
{
    uint8_t buf[512];
    size_t len = req ? protobuf_c_message_get_packed_size(req) : 0;
    if (len > sizeof(buf))
        die("capture: request too big");
    if (req)
        protobuf_c_message_pack(req, buf);
    free(run.recorded);
    run.recorded = NULL;
    run.recorded_len = 0;
    run.connections = 0;
    run.calls = n;
    run.late = 0;
    run.cancel = 0;
    exchange(method, flags, decode, buf, len, timeout_ms, n);
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    uint8_t point = 63; /* polls cancelled after everything (see the input's layout) */
    if (!f || fwrite(&head, 1, 1, f) != 1 || fwrite(&point, 1, 1, f) != 1 ||
        fwrite(run.recorded, 1, run.recorded_len, f) != run.recorded_len)
        die("capture: cannot write");
    fclose(f);
    fprintf(stderr, "fuzz_h2: %s: %zu bytes from the server\n", name, run.recorded_len);
}

static void capture_all(const char *dir)
{
    WFS(DescribeNamespaceRequest) missing;
    PB_INIT(WFS_DESC(describe_namespace_request), &missing);
    missing.namespace_ = "no-such-namespace";
    WFS(PollWorkflowTaskQueueRequest) poll;
    PB_INIT(WFS_DESC(poll_workflow_task_queue_request), &poll);
    pb_task_queue tq;
    PB_INIT(temporal__api__taskqueue__v1__task_queue__descriptor, &tq);
    tq.name = "fuzz-h2-empty";
    poll.namespace_ = "default";
    poll.task_queue = &tq;
    capture(dir, "system-info", 0x20, "GetSystemInfo", 0, 1, NULL, 5000, 1);
    capture(dir, "system-info-raw", 0x00, "GetSystemInfo", 0, 0, NULL, 5000, 1);
    capture(dir, "three-calls", 0x02, "GetSystemInfo", 0, 0, NULL, 5000, 3);
    capture(dir, "no-such-method", 0x00, "NoSuchMethod", 0, 0, NULL, 5000, 1);
    /* NotFound, with grpc-status-details-bin. */
    capture(dir, "missing-namespace", 0x00, "DescribeNamespace", GRPC_NAMESPACED, 0,
            &missing.base, 5000, 1);
    /* An empty poll: the server answers just before the deadline. */
    capture(dir, "poll-empty", 0x04, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL, 0,
            &poll.base, 3000, 1);
    /* A workflow task, when one waits on the queue named by TW_FUZZ_H2_TASK_QUEUE (start one
     * first, e.g. tw-driver start --type Greet --task-queue Q --input '"Fuzz"'). */
    const char *queue = getenv("TW_FUZZ_H2_TASK_QUEUE");
    if (queue && *queue) {
        tq.name = (char *)queue;
        capture(dir, "poll-task", 0x04, "PollWorkflowTaskQueue", GRPC_NAMESPACED | GRPC_LONG_POLL,
                0, &poll.base, 5000, 1);
    }
    free(run.recorded);
    run.recorded = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("AWS_LAMBDA_LOG_LEVEL", "FATAL", 1);
    log_init();
    const char *dir = getenv("TW_FUZZ_H2_CAPTURE"), *port = getenv("TW_FUZZ_H2_PORT");
    if (dir && *dir) {
        if (!port || (run.capture_port = atoi(port)) <= 0)
            die("TW_FUZZ_H2_CAPTURE needs TW_FUZZ_H2_PORT");
        capture_all(dir);
        exit(0);
    }
    return 0;
}
