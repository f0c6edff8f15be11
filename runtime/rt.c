/*
 * rt: the Lambda Runtime API client, on one reused libcurl easy handle (the connection to the
 * Runtime API stays open between calls). Transport failures are retried with back-off a bounded
 * number of times; HTTP answers are never retried. Nothing here asserts on what the API sends.
 */
#define _POSIX_C_SOURCE 200809L
#include "rt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "log.h"

#define API_VERSION "2018-06-01"
#define MAX_PAYLOAD (6 * 1024 * 1024 + 100) /* the synchronous invoke limit */
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_HEADER_LINES 64
#define ERRLEN 256
#define DEADLINE_HEADER "Lambda-Runtime-Deadline-Ms"

typedef struct buf {
    char *data;
    size_t len, cap, max;
    int overflow;
} buf;

struct rt_client {
    CURL *curl;
    char *base; /* http://host:port/2018-06-01 */
    rt_retry retry;
    buf body;
    buf headers;     /* raw header lines of the current answer, NUL-separated */
    size_t nlines;
    char *store;     /* the parsed invocation's strings */
    char errmsg[ERRLEN];
};

const char *rt_strerror(int code)
{
    switch (code) {
    case RT_OK: return "success";
    case RT_ENOMEM: return "out of memory";
    case RT_ETRANSPORT: return "Runtime API unreachable";
    case RT_EFATAL: return "Runtime API reported a fatal container error";
    case RT_EPROTO: return "malformed answer from the Runtime API";
    case RT_EGONE: return "invocation gone (timed out)";
    case RT_ETOOLARGE: return "response over the payload limit";
    case RT_EREFUSED: return "Runtime API refused the call";
    case RT_EINVAL: return "invalid argument";
    }
    return "unknown error";
}

const char *rt_client_errmsg(const rt_client *c)
{
    return c ? c->errmsg : "no client";
}

static int buf_append(buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->max) {
        b->overflow = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static void buf_reset(buf *b)
{
    b->len = 0;
    b->overflow = 0;
    if (b->data)
        b->data[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    rt_client *c = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new answer (e.g. after 100) */
        buf_reset(&c->headers);
        c->nlines = 0;
        return len;
    }
    if (c->nlines >= MAX_HEADER_LINES)
        return len; /* ignored; the ones we need come first in practice and are checked */
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (!len)
        return size * n;
    if (buf_append(&c->headers, p, len) || buf_append(&c->headers, "", 1)) /* NUL-separated */
        return 0;
    c->nlines++;
    return size * n;
}

int rt_client_new(rt_client **out, const char *api, const rt_retry *retry, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (!api || !*api || strchr(api, '/') || strchr(api, ' ')) {
        snprintf(err, errlen, "AWS_LAMBDA_RUNTIME_API: expected host:port, got \"%s\"",
                 api ? api : "");
        return RT_EINVAL;
    }
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
            snprintf(err, errlen, "libcurl failed to initialise");
            return RT_ENOMEM;
        }
        curl_ready = 1;
    }
    rt_client *c = calloc(1, sizeof(*c));
    if (!c)
        goto nomem;
    c->retry = retry ? *retry : (rt_retry){5, 50, 1000};
    if (c->retry.attempts < 1)
        c->retry.attempts = 1;
    c->body.max = MAX_PAYLOAD + 1;
    c->headers.max = MAX_HEADER_BYTES;
    size_t blen = strlen(api) + sizeof("http:///" API_VERSION);
    c->base = malloc(blen);
    c->curl = curl_easy_init();
    if (!c->base || !c->curl)
        goto nomem;
    snprintf(c->base, blen, "http://%s/" API_VERSION, api);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 0L); /* never on next: we may be frozen */
    curl_easy_setopt(c->curl, CURLOPT_PROXY, "");   /* loopback: ignore http_proxy */
    *out = c;
    return RT_OK;
nomem:
    rt_client_free(c);
    snprintf(err, errlen, "out of memory");
    return RT_ENOMEM;
}

void rt_client_free(rt_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->base);
    free(c->body.data);
    free(c->headers.data);
    free(c->store);
    free(c);
}

static int transport_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* One HTTP exchange with retries on transport failures. |body| NULL means GET. The answer's
 * body is in c->body, its headers in c->headers. Returns the HTTP status or a negative code. */
static int exchange(rt_client *c, const char *path, const char *content_type,
                    const char *invocation_id, const char *error_type, const char *body,
                    size_t len)
{
    char url[1024];
    if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url)) {
        snprintf(c->errmsg, ERRLEN, "request path too long");
        return RT_EINVAL;
    }
    struct curl_slist *hdrs = NULL, *h;
    char line[512];
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        if (!(h = curl_slist_append(hdrs, line)))
            goto nomem;
        hdrs = h;
    }
    if (invocation_id) {
        snprintf(line, sizeof(line), "Lambda-Runtime-Invocation-Id: %s", invocation_id);
        if (!(h = curl_slist_append(hdrs, line)))
            goto nomem;
        hdrs = h;
    }
    if (error_type) {
        snprintf(line, sizeof(line), "Lambda-Runtime-Function-Error-Type: %s", error_type);
        if (!(h = curl_slist_append(hdrs, line)))
            goto nomem;
        hdrs = h;
    }
    if (body && !(h = curl_slist_append(hdrs, "Expect:"))) /* no 100-continue round trip */
        goto nomem;
    if (body)
        hdrs = h;

    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }

    int status = RT_ETRANSPORT;
    long delay = c->retry.base_delay_ms;
    for (int attempt = 1;; attempt++) {
        buf_reset(&c->body);
        buf_reset(&c->headers);
        c->nlines = 0;
        CURLcode rc = curl_easy_perform(c->curl);
        if (rc == CURLE_OK) {
            long code = 0;
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
            status = (int)code;
            break;
        }
        if (c->body.overflow || c->headers.overflow) {
            snprintf(c->errmsg, ERRLEN, "%s: answer over the size limit", path);
            status = RT_EPROTO;
            break;
        }
        snprintf(c->errmsg, ERRLEN, "%s: %s (attempt %d of %d)", path, curl_easy_strerror(rc),
                 attempt, c->retry.attempts);
        if (!transport_retryable(rc) || attempt >= c->retry.attempts)
            break;
        log_warn("Runtime API: %s; retrying in %ld ms", c->errmsg, delay);
        sleep_ms(delay);
        delay = delay * 2 > c->retry.max_delay_ms ? c->retry.max_delay_ms : delay * 2;
    }
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return status;
nomem:
    curl_slist_free_all(hdrs);
    snprintf(c->errmsg, ERRLEN, "out of memory");
    return RT_ENOMEM;
}

/* Maps a status of a POST to a return code, with a message naming what happened. */
static int post_status(rt_client *c, const char *what, int status)
{
    if (status < 0)
        return status;
    if (status == 202 || status == 200)
        return RT_OK;
    snprintf(c->errmsg, ERRLEN, "%s: HTTP %d %.160s", what, status,
             c->body.data ? c->body.data : "");
    switch (status) {
    case 410: return RT_EGONE;
    case 413: return RT_ETOOLARGE;
    case 400:
    case 403: return RT_EREFUSED;
    default: return status >= 500 ? RT_EFATAL : RT_EPROTO;
    }
}

int rt_parse_deadline(const char *value, int64_t *out)
{
    if (!value || !*value)
        return RT_EPROTO;
    int64_t v = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9')
            return RT_EPROTO;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return RT_EPROTO;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return RT_OK;
}

typedef struct known_header {
    const char *name;
    size_t offset; /* of the const char * in rt_invocation */
} known_header;

static const known_header KNOWN[] = {
    {"Lambda-Runtime-Aws-Request-Id", offsetof(rt_invocation, request_id)},
    {"Lambda-Runtime-Invoked-Function-Arn", offsetof(rt_invocation, function_arn)},
    {"Lambda-Runtime-Trace-Id", offsetof(rt_invocation, trace_id)},
    {"Lambda-Runtime-Client-Context", offsetof(rt_invocation, client_context)},
    {"Lambda-Runtime-Cognito-Identity", offsetof(rt_invocation, cognito_identity)},
    {"Lambda-Runtime-Aws-Tenant-Id", offsetof(rt_invocation, tenant_id)},
    {"Lambda-Runtime-Invocation-Id", offsetof(rt_invocation, invocation_id)},
};

/* Characters allowed in an id we echo back in a header or use in a path. */
static int id_safe(const char *s)
{
    for (; *s; s++)
        if (!isgraph((unsigned char)*s) || *s == '/' || *s == '?' || *s == '#' || *s == '%')
            return 0;
    return 1;
}

int rt_parse_next_headers(const char *const *lines, size_t n, rt_invocation *inv, char *store,
                          size_t storelen, char *err, size_t errlen)
{
    const char *deadline = NULL;
    size_t used = 0;
    memset(inv, 0, sizeof(*inv));
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(lines[i], ':');
        if (!colon)
            continue;
        size_t nlen = (size_t)(colon - lines[i]);
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vlen = strlen(v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        const char **slot = NULL;
        int is_deadline = nlen == sizeof(DEADLINE_HEADER) - 1 &&
                          strncasecmp(lines[i], DEADLINE_HEADER, nlen) == 0;
        for (size_t k = 0; !is_deadline && k < sizeof(KNOWN) / sizeof(KNOWN[0]); k++)
            if (strlen(KNOWN[k].name) == nlen && strncasecmp(lines[i], KNOWN[k].name, nlen) == 0)
                slot = (const char **)((char *)inv + KNOWN[k].offset);
        if (!slot && !is_deadline)
            continue;
        if (used + vlen + 1 > storelen) {
            snprintf(err, errlen, "header %.*s too long", (int)nlen, lines[i]);
            return RT_EPROTO;
        }
        memcpy(store + used, v, vlen);
        store[used + vlen] = '\0';
        if (is_deadline)
            deadline = store + used;
        else
            *slot = store + used;
        used += vlen + 1;
    }
    if (!inv->request_id || !*inv->request_id) {
        snprintf(err, errlen, "next: missing Lambda-Runtime-Aws-Request-Id header");
        return RT_EPROTO;
    }
    if (!id_safe(inv->request_id) || strlen(inv->request_id) > 256) {
        snprintf(err, errlen, "next: malformed Lambda-Runtime-Aws-Request-Id \"%.64s\"",
                 inv->request_id);
        inv->request_id = NULL; /* not usable in a path: nothing can be answered */
        return RT_EPROTO;
    }
    if (inv->invocation_id && (!*inv->invocation_id || !id_safe(inv->invocation_id) ||
                               strlen(inv->invocation_id) > 256)) {
        snprintf(err, errlen, "next: malformed Lambda-Runtime-Invocation-Id \"%.64s\"",
                 inv->invocation_id);
        return RT_EPROTO;
    }
    if (!deadline) {
        snprintf(err, errlen, "next: missing Lambda-Runtime-Deadline-Ms header");
        return RT_EPROTO;
    }
    if (rt_parse_deadline(deadline, &inv->deadline_ms) != RT_OK) {
        snprintf(err, errlen, "next: malformed Lambda-Runtime-Deadline-Ms \"%.32s\"", deadline);
        return RT_EPROTO;
    }
    if (!inv->function_arn || !*inv->function_arn) {
        snprintf(err, errlen, "next: missing Lambda-Runtime-Invoked-Function-Arn header");
        return RT_EPROTO;
    }
    return RT_OK;
}

int rt_next(rt_client *c, rt_invocation *inv)
{
    memset(inv, 0, sizeof(*inv));
    int status = exchange(c, "/runtime/invocation/next", NULL, NULL, NULL, NULL, 0);
    if (status < 0)
        return status;
    if (status != 200) {
        int rc = post_status(c, "next", status);
        return rc == RT_OK ? RT_EPROTO : rc;
    }
    const char *lines[MAX_HEADER_LINES];
    size_t n = 0;
    for (size_t off = 0; n < c->nlines && off < c->headers.len; n++) {
        lines[n] = c->headers.data + off;
        off += strlen(lines[n]) + 1;
    }
    free(c->store);
    c->store = malloc(c->headers.len + 1);
    if (!c->store) {
        snprintf(c->errmsg, ERRLEN, "out of memory");
        return RT_ENOMEM;
    }
    int rc = rt_parse_next_headers(lines, n, inv, c->store, c->headers.len + 1, c->errmsg, ERRLEN);
    if (rc != RT_OK)
        return rc;
    inv->payload = c->body.data ? c->body.data : "";
    inv->payload_len = c->body.len;
    if (inv->trace_id)
        setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
    return RT_OK;
}

int rt_respond(rt_client *c, const rt_invocation *inv, const char *body, size_t len)
{
    char path[512];
    if ((size_t)snprintf(path, sizeof(path), "/runtime/invocation/%s/response",
                         inv->request_id) >= sizeof(path))
        return RT_EINVAL;
    int status = exchange(c, path, "application/json", inv->invocation_id, NULL,
                          body ? body : "", body ? len : 0);
    return post_status(c, "response", status);
}

int rt_error_type_valid(const char *type)
{
    const char *rest;
    if (!type)
        return 0;
    if (strncmp(type, "Runtime.", 8) == 0)
        rest = type + 8;
    else if (strncmp(type, "Function.", 9) == 0)
        rest = type + 9;
    else
        return 0;
    if (!isupper((unsigned char)rest[0]) || !rest[1])
        return 0;
    for (const char *p = rest + 1; *p; p++)
        if (!isalpha((unsigned char)*p))
            return 0;
    return 1;
}

char *rt_error_body(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    if (!o)
        return NULL;
    if (!cJSON_AddStringToObject(o, "errorMessage", message ? message : "") ||
        !cJSON_AddStringToObject(o, "errorType",
                                 rt_error_type_valid(type) ? type : "Runtime.Unknown") ||
        !cJSON_AddArrayToObject(o, "stackTrace"))
        goto out;
    out = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return out;
}

static int post_error(rt_client *c, const char *path, const char *invocation_id,
                      const char *type, const char *message)
{
    char *body = rt_error_body(type, message);
    if (!body) {
        snprintf(c->errmsg, ERRLEN, "out of memory");
        return RT_ENOMEM;
    }
    const char *t = rt_error_type_valid(type) ? type : "Runtime.Unknown";
    int status = exchange(c, path, "application/vnd.aws.lambda.error+json", invocation_id, t,
                          body, strlen(body));
    free(body);
    return post_status(c, "error", status);
}

int rt_fail(rt_client *c, const rt_invocation *inv, const char *type, const char *message)
{
    char path[512];
    if ((size_t)snprintf(path, sizeof(path), "/runtime/invocation/%s/error", inv->request_id) >=
        sizeof(path))
        return RT_EINVAL;
    return post_error(c, path, inv->invocation_id, type, message);
}

int rt_init_error(rt_client *c, const char *type, const char *message)
{
    return post_error(c, "/runtime/init/error", NULL, type, message);
}
