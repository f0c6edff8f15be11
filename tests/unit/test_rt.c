/*
 * Unit tests of runtime/: header parsing of `next`, error bodies, and how the client reacts to
 * what only a broken or unusual Runtime API answers (500, 410, 413, nothing listening). Those
 * answers come from a scripted one-connection server here, since the emulator (a real Runtime
 * API) never gives them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/rt.h"

static void parse_deadline_accepts_epoch_ms(void **st)
{
    int64_t v = 0;
    assert_int_equal(rt_parse_deadline("1795590317294", &v), RT_OK);
    assert_true(v == 1795590317294LL);
    assert_int_equal(rt_parse_deadline("0", &v), RT_OK);
    assert_true(v == 0);
}

static void parse_deadline_rejects_malformed(void **st)
{
    int64_t v = 42;
    const char *bad[] = {"", "-5", "+5", " 5", "5 ", "12a", "1.5", "0x10",
                         "99999999999999999999", "9223372036854775808"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rt_parse_deadline(bad[i], &v), RT_EPROTO);
    assert_int_equal(rt_parse_deadline(NULL, &v), RT_EPROTO);
    assert_true(v == 42); /* untouched on failure */
    assert_int_equal(rt_parse_deadline("9223372036854775807", &v), RT_OK);
}

static int parse(const char *const *lines, size_t n, rt_invocation *inv, char *err)
{
    static char store[4096];
    return rt_parse_next_headers(lines, n, inv, store, sizeof(store), err, 256);
}

static void next_headers_parsed(void **st)
{
    const char *lines[] = {
        "Content-Type: application/json",
        "lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        "Lambda-Runtime-Deadline-Ms:   1542409706888  ",
        "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:fn:5",
        "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        "Lambda-Runtime-Client-Context: {\"custom\":{}}",
        "Lambda-Runtime-Invocation-Id: inv-1",
        "Lambda-Runtime-Aws-Tenant-Id: tenant-a",
    };
    rt_invocation inv;
    char err[256] = "";
    assert_int_equal(parse(lines, 8, &inv, err), RT_OK);
    assert_string_equal(inv.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_true(inv.deadline_ms == 1542409706888LL);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-2:123456789012:function:fn:5");
    assert_string_equal(inv.trace_id,
                        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
    assert_string_equal(inv.client_context, "{\"custom\":{}}");
    assert_string_equal(inv.invocation_id, "inv-1");
    assert_string_equal(inv.tenant_id, "tenant-a");
    assert_null(inv.cognito_identity);
}

static void next_headers_missing_or_malformed(void **st)
{
    rt_invocation inv;
    char err[256];
    const char *no_id[] = {"Lambda-Runtime-Deadline-Ms: 1", "Lambda-Runtime-Invoked-Function-Arn: a"};
    assert_int_equal(parse(no_id, 2, &inv, err), RT_EPROTO);
    assert_non_null(strstr(err, "Lambda-Runtime-Aws-Request-Id"));
    assert_null(inv.request_id);

    const char *no_deadline[] = {"Lambda-Runtime-Aws-Request-Id: r1",
                                 "Lambda-Runtime-Invoked-Function-Arn: a"};
    assert_int_equal(parse(no_deadline, 2, &inv, err), RT_EPROTO);
    assert_non_null(strstr(err, "missing Lambda-Runtime-Deadline-Ms"));
    assert_string_equal(inv.request_id, "r1"); /* still answerable */

    const char *bad_deadline[] = {"Lambda-Runtime-Aws-Request-Id: r1",
                                  "Lambda-Runtime-Deadline-Ms: soon",
                                  "Lambda-Runtime-Invoked-Function-Arn: a"};
    assert_int_equal(parse(bad_deadline, 3, &inv, err), RT_EPROTO);
    assert_non_null(strstr(err, "malformed Lambda-Runtime-Deadline-Ms \"soon\""));

    const char *no_arn[] = {"Lambda-Runtime-Aws-Request-Id: r1", "Lambda-Runtime-Deadline-Ms: 5"};
    assert_int_equal(parse(no_arn, 2, &inv, err), RT_EPROTO);
    assert_non_null(strstr(err, "Lambda-Runtime-Invoked-Function-Arn"));

    /* An id that would change the path of /response is refused, and not used. */
    const char *bad_id[] = {"Lambda-Runtime-Aws-Request-Id: ../../init/error",
                            "Lambda-Runtime-Deadline-Ms: 5",
                            "Lambda-Runtime-Invoked-Function-Arn: a"};
    assert_int_equal(parse(bad_id, 3, &inv, err), RT_EPROTO);
    assert_null(inv.request_id);

    const char *empty_id[] = {"Lambda-Runtime-Aws-Request-Id:   ", "Lambda-Runtime-Deadline-Ms: 5",
                              "Lambda-Runtime-Invoked-Function-Arn: a"};
    assert_int_equal(parse(empty_id, 3, &inv, err), RT_EPROTO);
}

static void next_headers_store_too_small(void **st)
{
    rt_invocation inv;
    char err[256], store[8];
    const char *lines[] = {"Lambda-Runtime-Aws-Request-Id: a-long-request-id"};
    assert_int_equal(rt_parse_next_headers(lines, 1, &inv, store, sizeof(store), err, sizeof(err)),
                     RT_EPROTO);
}

static void error_types(void **st)
{
    assert_true(rt_error_type_valid("Runtime.ConfigError"));
    assert_true(rt_error_type_valid("Function.Unhandled"));
    assert_false(rt_error_type_valid("Runtime.configError"));
    assert_false(rt_error_type_valid("Runtime."));
    assert_false(rt_error_type_valid("Runtime.A"));
    assert_false(rt_error_type_valid("Runtime.Bad-Type"));
    assert_false(rt_error_type_valid("Other.Thing"));
    assert_false(rt_error_type_valid(NULL));
}

static void error_body_shape_and_escaping(void **st)
{
    char *body = rt_error_body("Runtime.ConfigError", "TEMPORAL_ADDRESS: \"x\"\nis not host:port");
    assert_non_null(body);
    cJSON *o = cJSON_Parse(body);
    assert_non_null(o);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "errorType")),
                        "Runtime.ConfigError");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "errorMessage")),
                        "TEMPORAL_ADDRESS: \"x\"\nis not host:port");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(o, "stackTrace")));
    cJSON_Delete(o);
    free(body);

    body = rt_error_body("bad type", "m");
    o = cJSON_Parse(body);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "errorType")), "Runtime.Unknown");
    cJSON_Delete(o);
    free(body);
}

static void client_rejects_bad_api_value(void **st)
{
    rt_client *c = (rt_client *)1;
    char err[256];
    assert_int_equal(rt_client_new(&c, NULL, NULL, err, sizeof(err)), RT_EINVAL);
    assert_null(c);
    assert_int_equal(rt_client_new(&c, "http://127.0.0.1:9001", NULL, err, sizeof(err)), RT_EINVAL);
    assert_non_null(strstr(err, "AWS_LAMBDA_RUNTIME_API"));
    rt_client_free(NULL);
}

/* A scripted server: accepts one connection, reads one request, sends |answer|, closes. */
typedef struct script {
    int fd;
    int port;
    const char *answer;
    char request[8192];
    pthread_t thread;
} script;

static void *serve(void *arg)
{
    script *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(c, s->request + n, sizeof(s->request) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        s->request[n] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strstr(s->request, "Content-Length: ");
        size_t want = cl ? (size_t)atol(cl + 16) : 0;
        if (n - (size_t)(end + 4 - s->request) >= want)
            break;
    }
    ssize_t w = write(c, s->answer, strlen(s->answer));
    (void)w;
    close(c);
    return NULL;
}

static void script_start(script *s, const char *answer)
{
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 1), 0);
    getsockname(s->fd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
}

static void script_stop(script *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static rt_client *client_for(const script *s)
{
    char api[64], err[256];
    rt_client *c;
    rt_retry r = {2, 1, 1};
    snprintf(api, sizeof(api), "127.0.0.1:%d", s->port);
    assert_int_equal(rt_client_new(&c, api, &r, err, sizeof(err)), RT_OK);
    return c;
}

static void next_with_bad_deadline_is_an_error_not_a_crash(void **st)
{
    script s;
    script_start(&s, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\n"
                     "Lambda-Runtime-Deadline-Ms: tomorrow\r\n"
                     "Lambda-Runtime-Invoked-Function-Arn: arn:x\r\nContent-Length: 2\r\n\r\n{}");
    rt_client *c = client_for(&s);
    rt_invocation inv;
    assert_int_equal(rt_next(c, &inv), RT_EPROTO);
    assert_non_null(strstr(rt_client_errmsg(c), "Lambda-Runtime-Deadline-Ms"));
    assert_string_equal(inv.request_id, "r-1");
    script_stop(&s);
    rt_client_free(c);
}

static void next_sets_trace_env_and_payload(void **st)
{
    script s;
    script_start(&s, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-2\r\n"
                     "Lambda-Runtime-Deadline-Ms: 1795590317294\r\n"
                     "Lambda-Runtime-Trace-Id: Root=1-abc\r\n"
                     "Lambda-Runtime-Invoked-Function-Arn: arn:x\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
    rt_client *c = client_for(&s);
    rt_invocation inv;
    assert_int_equal(rt_next(c, &inv), RT_OK);
    assert_string_equal(getenv("_X_AMZN_TRACE_ID"), "Root=1-abc");
    assert_int_equal(inv.payload_len, 7);
    assert_string_equal(inv.payload, "{\"a\":1}");
    assert_non_null(strstr(s.request, "GET /2018-06-01/runtime/invocation/next HTTP/1.1"));
    script_stop(&s);
    rt_client_free(c);
}

static void error_post_carries_type_and_invocation_id(void **st)
{
    script s;
    script_start(&s, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    rt_client *c = client_for(&s);
    rt_invocation inv = {.request_id = "r-3", .invocation_id = "i-9"};
    assert_int_equal(rt_fail(c, &inv, "Function.Timeout", "took too long"), RT_OK);
    assert_non_null(strstr(s.request, "POST /2018-06-01/runtime/invocation/r-3/error HTTP/1.1"));
    assert_non_null(strstr(s.request, "Content-Type: application/vnd.aws.lambda.error+json"));
    assert_non_null(strstr(s.request, "Lambda-Runtime-Function-Error-Type: Function.Timeout"));
    assert_non_null(strstr(s.request, "Lambda-Runtime-Invocation-Id: i-9"));
    assert_non_null(strstr(s.request, "\"errorMessage\":\"took too long\""));
    script_stop(&s);
    rt_client_free(c);
}

static void status_codes_map_to_errors(void **st)
{
    struct { const char *answer; int rc; } cases[] = {
        {"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", RT_EFATAL},
        {"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n", RT_EGONE},
        {"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n", RT_ETOOLARGE},
        {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", RT_EREFUSED},
        {"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", RT_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        script s;
        script_start(&s, cases[i].answer);
        rt_client *c = client_for(&s);
        rt_invocation inv = {.request_id = "r-4"};
        assert_int_equal(rt_respond(c, &inv, "{}", 2), cases[i].rc);
        assert_null(strstr(s.request, "Lambda-Runtime-Invocation-Id")); /* none to echo */
        script_stop(&s);
        rt_client_free(c);
    }
}

static void next_500_is_fatal(void **st)
{
    script s;
    script_start(&s, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    rt_client *c = client_for(&s);
    rt_invocation inv;
    assert_int_equal(rt_next(c, &inv), RT_EFATAL);
    script_stop(&s);
    rt_client_free(c);
}

static void unreachable_api_retries_then_fails(void **st)
{
    /* A port nobody listens on: bind, learn the port, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    char api[64], err[256];
    snprintf(api, sizeof(api), "127.0.0.1:%d", ntohs(sa.sin_port));
    rt_retry r = {3, 1, 2};
    rt_client *c;
    assert_int_equal(rt_client_new(&c, api, &r, err, sizeof(err)), RT_OK);
    rt_invocation inv;
    assert_int_equal(rt_next(c, &inv), RT_ETRANSPORT);
    assert_non_null(strstr(rt_client_errmsg(c), "attempt 3 of 3"));
    rt_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_deadline_accepts_epoch_ms),
        cmocka_unit_test(parse_deadline_rejects_malformed),
        cmocka_unit_test(next_headers_parsed),
        cmocka_unit_test(next_headers_missing_or_malformed),
        cmocka_unit_test(next_headers_store_too_small),
        cmocka_unit_test(error_types),
        cmocka_unit_test(error_body_shape_and_escaping),
        cmocka_unit_test(client_rejects_bad_api_value),
        cmocka_unit_test(next_with_bad_deadline_is_an_error_not_a_crash),
        cmocka_unit_test(next_sets_trace_env_and_payload),
        cmocka_unit_test(error_post_carries_type_and_invocation_id),
        cmocka_unit_test(status_codes_map_to_errors),
        cmocka_unit_test(next_500_is_fatal),
        cmocka_unit_test(unreachable_api_retries_then_fails),
    };
    return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
