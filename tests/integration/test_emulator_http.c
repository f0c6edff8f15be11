/*
 * Integration: the local Lambda emulator's HTTP/1.1 on both of its APIs (Invoke, and the
 * Runtime API build/test-bootstrap polls) as clients really send it: an invoke sent by the
 * curl tool signed the way AWS SDKs sign, bodies after the headers, Connection: close,
 * pipelining, chunked bodies, ambiguous framing refused, and Python's urllib. The
 * invocations themselves are test_emulator.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/emu_fixture.h"
#include "tests/support/harness.h"

static double num(cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static const char *str(cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

/* The curl tool, signing with SigV4 and sending the headers the AWS SDK for Go v2 sends for
 * Invoke (Temporal's Worker Controller uses it): the function ARN URL-encoded in the path,
 * X-Amz-Invocation-Type: Event, no payload. */
static void curl_signed_like_an_sdk(void **st)
{
    emu_proc *p = *st;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null -w '%%{http_code}' --noproxy '*' -X POST "
             "--aws-sigv4 'aws:amz:us-east-1:lambda' --user 'AKIDEXAMPLE:secret' "
             "-H 'X-Amz-Invocation-Type: Event' -H 'Amz-Sdk-Invocation-Id: 1b2c' "
             "-H 'Amz-Sdk-Request: attempt=1; max=3' -H 'User-Agent: aws-sdk-go-v2/1.36.3' "
             "-H 'Content-Length: 0' --data-binary '' "
             "'http://127.0.0.1:%d/2015-03-31/functions/"
             "arn%%3Aaws%%3Alambda%%3Aus-east-1%%3A000000000000%%3Afunction%%3Afunction%%3A1/invocations'",
             p->port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char code[16] = "";
    assert_non_null(fgets(code, sizeof(code), f));
    pclose(f);
    assert_string_equal(code, "202");
    /* The empty payload reaches the function as {}: the test handler answers it with an
     * error (no "op"), which the emulator reports. */
    assert_int_equal(emu_wait_output(p, "Version: 1", 1, 3000), 0);
    assert_int_equal(emu_wait_output(p, "event has no \\\"op\\\"", 1, 3000), 0);
}

/* ---- HTTP framing on the wire, as clients really send it ---------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int connect_loopback(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* One exchange on a fresh connection to 127.0.0.1:|port|: each of |parts| (NULL-terminated)
 * in its own send, |gap_ms| apart (Python's urllib sends the head, then the body). Reads until
 * the server closes the connection or |wait_ms| passes; what it read (malloc'd) in *out.
 * Returns 1 when the server closed, 0 when it kept the connection open, -1 on a socket error. */
static int raw_exchange(int port, const char *const *parts, int gap_ms, int wait_ms, char **out)
{
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    int fd = connect_loopback(port), closed = -1;
    if (!m || fd < 0)
        goto out;
    for (int i = 0; parts[i]; i++) {
        if (i > 0)
            sleep_ms(gap_ms);
        if (send(fd, parts[i], strlen(parts[i]), MSG_NOSIGNAL) != (ssize_t)strlen(parts[i]))
            goto out;
    }
    closed = 0;
    for (int waited = 0; waited < wait_ms;) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, 50);
        if (rc == 0) {
            waited += 50;
            continue;
        }
        char buf[4096];
        ssize_t n = rc > 0 ? recv(fd, buf, sizeof(buf), 0) : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            closed = n == 0 ? 1 : -1;
            break;
        }
        fwrite(buf, 1, (size_t)n, m);
    }
out:
    if (fd >= 0)
        close(fd);
    if (m)
        fclose(m);
    *out = data ? data : strdup("");
    return closed;
}

/* Status of the |nth| (0-based) HTTP/1.1 answer in |resp|, 100 Continue ones included; -1. */
static int nth_status(const char *resp, int nth)
{
    const char *p = resp;
    for (int i = 0; (p = strstr(p, "HTTP/1.1 ")); i++, p++)
        if (i == nth)
            return atoi(p + 9);
    return -1;
}

#define INVOKE_PATH "/2015-03-31/functions/function/invocations"

/* The regression from issue 8: with Connection: close and the body in a second send, the
 * emulator never answered. Also with Expect: 100-continue, which asks for an interim answer. */
static void invoke_body_after_head_with_connection_close(void **st)
{
    emu_proc *p = *st;
    const char *body = "{\"op\":\"echo\",\"x\":7}";
    char head[512], *resp;
    snprintf(head, sizeof(head),
             "POST " INVOKE_PATH " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n"
             "Content-Type: application/json\r\nConnection: close\r\n\r\n", strlen(body));
    const char *parts[] = {head, body, NULL};
    assert_int_equal(raw_exchange(p->port, parts, 100, 5000, &resp), 1); /* answered, closed */
    assert_int_equal(nth_status(resp, 0), 200);
    assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(resp, "\"x\":7"));
    free(resp);

    snprintf(head, sizeof(head),
             "POST " INVOKE_PATH " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n"
             "Expect: 100-continue\r\nConnection: close\r\n\r\n", strlen(body));
    assert_int_equal(raw_exchange(p->port, parts, 100, 5000, &resp), 1);
    assert_int_equal(nth_status(resp, 0), 100);
    assert_int_equal(nth_status(resp, 1), 200);
    assert_int_equal(nth_status(resp, 2), -1); /* one interim answer, not one per read */
    assert_non_null(strstr(resp, "\"x\":7"));
    free(resp);
}

/* Keep-alive and pipelining: a second request arrives while the first (a synchronous invoke)
 * is still held; both are answered, in order, and Connection: close on the second ends it. */
static void pipelined_invokes_answered_in_order(void **st)
{
    emu_proc *p = *st;
    const char *b1 = "{\"op\":\"echo\",\"x\":1}", *b2 = "{\"op\":\"echo\",\"x\":2}";
    char first[1024], *resp;
    snprintf(first, sizeof(first),
             "POST " INVOKE_PATH " HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%s"
             "POST " INVOKE_PATH " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n{\"op\":",
             strlen(b1), b1, strlen(b2));
    const char *parts[] = {first, b2 + 6, NULL};
    assert_int_equal(raw_exchange(p->port, parts, 100, 5000, &resp), 1);
    assert_int_equal(nth_status(resp, 0), 200);
    assert_int_equal(nth_status(resp, 1), 200);
    char *x1 = strstr(resp, "\"x\":1"), *x2 = strstr(resp, "\"x\":2");
    assert_non_null(x1);
    assert_non_null(x2);
    assert_true(x1 < x2);
    free(resp);

    /* Without Connection: close the connection stays open for the next request. */
    char one[512];
    snprintf(one, sizeof(one),
             "POST " INVOKE_PATH " HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", strlen(b1));
    const char *keep[] = {one, b1, NULL};
    assert_int_equal(raw_exchange(p->port, keep, 100, 1500, &resp), 0);
    assert_int_equal(nth_status(resp, 0), 200);
    assert_non_null(strstr(resp, "\"x\":1"));
    free(resp);
}

/* A chunked body cut in odd places (inside a size line, inside data, before the last CRLF). */
static void chunked_body_split_across_sends(void **st)
{
    emu_proc *p = *st;
    char *resp;
    const char *parts[] = {
        "POST " INVOKE_PATH " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n1",
        "3\r\n{\"op\":\"echo\",\"x\"",
        ":3}\r\n0\r\n",
        "\r\n",
        NULL};
    assert_int_equal(raw_exchange(p->port, parts, 100, 5000, &resp), 1);
    assert_int_equal(nth_status(resp, 0), 200);
    assert_non_null(strstr(resp, "\"x\":3"));
    free(resp);
}

/* Framing a server must not guess at (request smuggling): refused, and the connection ends. */
static void ambiguous_framing_is_refused(void **st)
{
    emu_proc *p = *st;
    const char *cases[][2] = {
        {"POST " INVOKE_PATH " HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n", "400"},
        {"POST " INVOKE_PATH " HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}", "400"},
        {"POST " INVOKE_PATH " HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400"},
        {"POST " INVOKE_PATH " HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
        {"POST " INVOKE_PATH " HTTP/1.1\r\nHost : h\r\n\r\n", "400"},
        {"POST " INVOKE_PATH " HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", "400"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *parts[] = {cases[i][0], NULL};
        char *resp;
        if (raw_exchange(p->port, parts, 0, 5000, &resp) != 1 ||
            nth_status(resp, 0) != atoi(cases[i][1]))
            fail_msg("case %zu: want %s and a close, got: %s", i, cases[i][1], resp);
        free(resp);
    }
}

/* A bootstrap that only tells the test its Runtime API address (in CODE/api), then waits:
 * the test itself plays the runtime. Its path (malloc'd) is returned; remove it after. */
static char *write_script(const char *name, const char *text)
{
    char dir[] = "/tmp/tw-emu-script-XXXXXX", *path = NULL;
    if (!mkdtemp(dir) || asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0755);
    return path;
}

static void remove_script(char *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rmdir(path);
    free(path);
}

typedef struct payload_call {
    emu_proc *p;
    const char *payload;
    http_answer a;
} payload_call;

static void *invoke_payload(void *arg)
{
    payload_call *c = arg;
    emu_invoke(c->p, NULL, NULL, c->payload, NULL, &c->a);
    return NULL;
}

static void runtime_response_after_head_with_connection_close(void **st)
{
    char *boot = write_script("bootstrap",
                              "#!/bin/sh\n"
                              "printf '%s' \"$AWS_LAMBDA_RUNTIME_API\" >\"$LAMBDA_TASK_ROOT/api.tmp\"\n"
                              "mv \"$LAMBDA_TASK_ROOT/api.tmp\" \"$LAMBDA_TASK_ROOT/api\"\n"
                              "exec sleep 30\n");
    assert_non_null(boot);
    emu_proc p;
    const char *args[] = {"--timeout", "5", NULL};
    assert_int_equal(emu_start(&p, boot, args), 0);
    payload_call pc = {&p, "{\"op\":\"anything\"}", {0}};
    pthread_t t;
    pthread_create(&t, NULL, invoke_payload, &pc);

    char apifile[300], *api = NULL;
    snprintf(apifile, sizeof(apifile), "%s/api", p.dir);
    for (int i = 0; i < 300 && access(apifile, R_OK) != 0; i++)
        sleep_ms(10);
    api = read_all(apifile, NULL);
    char *colon = strchr(api, ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);

    /* `next`, as a runtime asks for it, Connection: close included. */
    char *resp, rid[64] = "";
    const char *next[] = {"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: h\r\n"
                          "Connection: close\r\n\r\n", NULL};
    assert_int_equal(raw_exchange(port, next, 0, 5000, &resp), 1);
    assert_int_equal(nth_status(resp, 0), 200);
    const char *h = strstr(resp, "Lambda-Runtime-Aws-Request-Id: ");
    assert_non_null(h);
    sscanf(h + 31, "%63[^\r]", rid);
    assert_non_null(strstr(resp, "{\"op\":\"anything\"}"));
    free(resp);

    /* The answer: head, then 100 ms later the body, in a second send. */
    const char *answer = "{\"answered\":\"in two sends\"}";
    char head[512];
    snprintf(head, sizeof(head),
             "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: h\r\n"
             "Content-Length: %zu\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
             rid, strlen(answer));
    const char *parts[] = {head, answer, NULL};
    assert_int_equal(raw_exchange(port, parts, 100, 5000, &resp), 1);
    assert_int_equal(nth_status(resp, 0), 202);
    free(resp);
    pthread_join(t, NULL);
    assert_int_equal(pc.a.status, 200);
    assert_string_equal(pc.a.body, answer);
    http_answer_free(&pc.a);
    free(api);
    assert_int_equal(emu_stop(&p), 0);
    remove_script(boot);
}

/* The path of python3 (malloc'd), or NULL when there is none. */
static char *find_python3(void)
{
    FILE *f = popen("command -v python3", "r");
    char line[1024] = "";
    if (!f)
        return NULL;
    char *got = fgets(line, sizeof(line), f);
    pclose(f);
    line[strcspn(line, "\n")] = '\0';
    return got && line[0] == '/' ? strdup(line) : NULL;
}

/* Python's urllib on both sides: a runtime written with it (next, response) and an invoke
 * sent with it. urllib sends Connection: close, and the body in a send of its own after the
 * head; here the body also comes 100 ms late (an iterable body, as urllib takes it), so the
 * server surely reads the head alone first. */
static void python_urllib_on_both_apis(void **st)
{
    char *py = find_python3();
    if (!py)
        skip();
    char script[2048];
    snprintf(script, sizeof(script),
             "#!%s\n"
             "import json, os, time, urllib.request\n"
             "api = 'http://' + os.environ['AWS_LAMBDA_RUNTIME_API'] + '/2018-06-01/runtime/'\n"
             "def late(b):\n"
             "    time.sleep(0.1)\n"
             "    yield b\n"
             "while True:\n"
             "    with urllib.request.urlopen(api + 'invocation/next') as r:\n"
             "        rid = r.headers['Lambda-Runtime-Aws-Request-Id']\n"
             "        event = json.loads(r.read())\n"
             "    out = json.dumps({'runtime': 'urllib', 'event': event}).encode()\n"
             "    req = urllib.request.Request(api + 'invocation/' + rid + '/response',\n"
             "                                 data=late(out), method='POST',\n"
             "                                 headers={'Content-Length': str(len(out))})\n"
             "    with urllib.request.urlopen(req, timeout=5) as r:\n"
             "        print('response status', r.status, flush=True)\n",
             py);
    char *boot = write_script("bootstrap", script);
    assert_non_null(boot);
    emu_proc p;
    const char *args[] = {"--timeout", "5", NULL};
    assert_int_equal(emu_start(&p, boot, args), 0);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "'%s' -c 'import time, urllib.request as u\n"
             "def late(b):\n    time.sleep(0.1)\n    yield b\n"
             "body = b\"{\\\"n\\\": 42}\"\n"
             "req = u.Request(\"http://127.0.0.1:%d" INVOKE_PATH "\", data=late(body), "
             "method=\"POST\", headers={\"Content-Length\": str(len(body))})\n"
             "with u.urlopen(req, timeout=8) as r: print(r.status, r.read().decode())' 2>&1",
             py, p.port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[1024] = "";
    char *got = fgets(line, sizeof(line), f);
    pclose(f);
    if (!got || strncmp(line, "200 ", 4) != 0)
        fail_msg("urllib invoke: %s", line);
    cJSON *o = cJSON_Parse(line + 4);
    assert_non_null(o);
    assert_string_equal(str(o, "runtime"), "urllib");
    assert_int_equal((int)num(cJSON_GetObjectItem(o, "event"), "n"), 42);
    cJSON_Delete(o);
    /* The runtime's own urllib POST got its 202. */
    assert_int_equal(emu_wait_output(&p, "response status 202", 1, 3000), 0);
    assert_int_equal(emu_stop(&p), 0);
    remove_script(boot);
    free(py);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(curl_signed_like_an_sdk, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(invoke_body_after_head_with_connection_close, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(pipelined_invokes_answered_in_order, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(chunked_body_split_across_sends, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(ambiguous_framing_is_refused, emu_setup, emu_teardown),
        cmocka_unit_test(runtime_response_after_head_with_connection_close),
        cmocka_unit_test(python_urllib_on_both_apis),
    };
    return cmocka_run_group_tests_name("emulator_http", tests, NULL, NULL);
}
