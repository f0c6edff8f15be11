/*
 * invoke: Lambda's Invoke API (RequestResponse, Event, DryRun) and GetFunction, for the one
 * function this emulator serves, named by name, partial ARN or ARN, qualified or not. Answers
 * carry the headers and error shapes AWS SDKs look for (x-amzn-ErrorType, X-Amz-Function-Error).
 */
#define _GNU_SOURCE
#include "emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#define API_PREFIX "/2015-03-31/functions/"

static void aws_error(http_conn *c, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void aws_error(http_conn *c, int status, const char *type, const char *fmt, ...)
{
    char msg[512], headers[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Type", "User");
    cJSON_AddStringToObject(o, "Message", msg);
    cJSON_AddStringToObject(o, "__type", type);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    snprintf(headers, sizeof(headers), "x-amzn-ErrorType: %s\r\n", type);
    http_respond_json(c, status, headers, body ? body : "{}");
    free(body);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)p[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)p[i + 2];
        *w++ = B64[(v >> 18) & 63];
        *w++ = B64[(v >> 12) & 63];
        *w++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        *w++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *w = '\0';
    return out;
}

/* Decodes standard base64; NULL when malformed. */
static char *base64_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 4 * 3 + 4);
    unsigned v = 0;
    int bits = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        const char *p = s[i] ? strchr(B64, s[i]) : NULL;
        if (!p) {
            free(out);
            return NULL;
        }
        v = (v << 6) | (unsigned)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

/* Resolves |name| (URL-decoded) and an optional ?Qualifier= to this function. Writes the
 * executed version ("$LATEST" or "N") to |version|. Returns 0, or -1 after answering 404/400. */
static int resolve(emu *e, http_conn *c, char *name, const char *query_qualifier,
                   char version[16])
{
    char *fn = name, *qual = NULL;
    const emu_config *cfg = &e->cfg;
    if (strncmp(name, "arn:", 4) == 0) {
        /* arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] */
        char *parts[8] = {0};
        int np = 0;
        for (char *p = name; np < 8;) {
            parts[np++] = p;
            char *colon = strchr(p, ':');
            if (!colon)
                break;
            *colon = '\0';
            p = colon + 1;
        }
        if (np < 7 || strcmp(parts[2], "lambda") || strcmp(parts[5], "function")) {
            aws_error(c, 400, "ValidationException", "1 validation error detected: Value '%s' at "
                      "'functionName' failed to satisfy constraint", name);
            return -1;
        }
        if (strcmp(parts[3], cfg->region) || strcmp(parts[4], cfg->account))
            goto not_found;
        fn = parts[6];
        qual = np == 8 ? parts[7] : NULL;
    } else {
        char *colon = strchr(name, ':');
        if (colon && strncmp(colon + 1, "function:", 9) == 0) { /* ACCOUNT:function:NAME[:Q] */
            *colon = '\0';
            if (strcmp(name, cfg->account))
                goto not_found;
            fn = colon + 10;
            colon = strchr(fn, ':');
        }
        if (colon) {
            *colon = '\0';
            qual = colon + 1;
        }
    }
    if (strcmp(fn, cfg->function_name))
        goto not_found;
    if (qual && query_qualifier && strcmp(qual, query_qualifier)) {
        aws_error(c, 400, "InvalidParameterValueException",
                  "The derived qualifier from the function name does not match the specified "
                  "qualifier.");
        return -1;
    }
    if (!qual)
        qual = (char *)query_qualifier;
    if (!qual || strcmp(qual, "$LATEST") == 0) {
        snprintf(version, 16, "$LATEST");
        return 0;
    }
    char *end;
    long v = strtol(qual, &end, 10);
    if (*qual >= '1' && *qual <= '9' && !*end && v >= 1 && v <= cfg->versions) {
        snprintf(version, 16, "%ld", v);
        return 0;
    }
not_found:
    aws_error(c, 404, "ResourceNotFoundException", "Function not found: %s%s%s", e->arn,
              qual ? ":" : "", qual ? qual : "");
    return -1;
}

static cJSON *configuration(const emu *e, const char *version)
{
    const emu_config *cfg = &e->cfg;
    char arn[300], modified[64];
    time_t t = time(NULL);
    strftime(modified, sizeof(modified), "%Y-%m-%dT%H:%M:%S.000+0000", gmtime(&t));
    snprintf(arn, sizeof(arn), "%s%s%s", e->arn, strcmp(version, "$LATEST") ? ":" : "",
             strcmp(version, "$LATEST") ? version : "");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "FunctionName", cfg->function_name);
    cJSON_AddStringToObject(o, "FunctionArn", arn);
    cJSON_AddStringToObject(o, "Runtime", cfg->runtime_name);
    char role[160];
    snprintf(role, sizeof(role), "arn:aws:iam::%s:role/lambda-emu", cfg->account);
    cJSON_AddStringToObject(o, "Role", role);
    cJSON_AddStringToObject(o, "Handler", cfg->handler);
    cJSON_AddNumberToObject(o, "CodeSize", 0);
    cJSON_AddStringToObject(o, "Description", "local Lambda emulator");
    cJSON_AddNumberToObject(o, "Timeout", cfg->timeout_s);
    cJSON_AddNumberToObject(o, "MemorySize", cfg->memory_mb);
    cJSON_AddStringToObject(o, "LastModified", modified);
    cJSON_AddStringToObject(o, "CodeSha256", "");
    cJSON_AddStringToObject(o, "Version", version);
    cJSON *vars = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "Environment"), "Variables");
    for (int i = 0; i < cfg->nenv; i++) {
        char *eq = strchr(cfg->env[i], '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - cfg->env[i]), cfg->env[i]);
        cJSON_AddStringToObject(vars, key, eq + 1);
    }
    cJSON_AddStringToObject(o, "State", "Active");
    cJSON_AddStringToObject(o, "LastUpdateStatus", "Successful");
    cJSON_AddStringToObject(o, "PackageType", "Zip");
    cJSON *arch = cJSON_AddArrayToObject(o, "Architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(cfg->architecture));
    cJSON *eph = cJSON_AddObjectToObject(o, "EphemeralStorage");
    cJSON_AddNumberToObject(eph, "Size", 512);
    return o;
}

static void get_function(emu *e, http_conn *c, const char *version, int config_only)
{
    cJSON *conf = configuration(e, version), *o = conf;
    if (!config_only) {
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "Configuration", conf);
        cJSON *code = cJSON_AddObjectToObject(o, "Code");
        cJSON_AddStringToObject(code, "RepositoryType", "S3");
        cJSON_AddStringToObject(code, "Location", "file://local");
        cJSON_AddObjectToObject(o, "Tags");
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    http_respond_json(c, 200, NULL, body ? body : "{}");
    free(body);
}

static void new_trace_id(char *out, size_t n, const char *given)
{
    if (given && strncmp(given, "Root=", 5) == 0 && strlen(given) < n) {
        snprintf(out, n, "%s", given);
        return;
    }
    char root[25], parent[17];
    random_hex(root, sizeof(root));
    random_hex(parent, sizeof(parent));
    snprintf(out, n, "Root=1-%08lx-%s;Parent=%s;Sampled=0", (unsigned long)time(NULL), root,
             parent);
}

static void invoke(emu *e, http_conn *c, http_req *req, const char *version)
{
    const char *type = http_get_header(req, "X-Amz-Invocation-Type");
    int async = 0;
    if (!type || strcmp(type, "RequestResponse") == 0)
        async = 0;
    else if (strcmp(type, "Event") == 0)
        async = 1;
    else if (strcmp(type, "DryRun") == 0) {
        http_respond(c, 204, NULL, NULL, 0);
        return;
    } else {
        aws_error(c, 400, "InvalidParameterValueException",
                  "Invalid invocation type '%s': expected RequestResponse, Event or DryRun", type);
        return;
    }
    size_t limit = async ? ASYNC_PAYLOAD_MAX : SYNC_PAYLOAD_MAX;
    if (req->body_len > limit) {
        aws_error(c, 413, "RequestEntityTooLargeException",
                  "%zu byte payload is too large for the %s invocation type (limit %zu bytes)",
                  req->body_len, async ? "Event" : "RequestResponse", limit);
        return;
    }
    cJSON *check = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
    if (req->body_len && !check) {
        aws_error(c, 400, "InvalidRequestContentException",
                  "Could not parse request body into json: payload is not valid JSON");
        return;
    }
    cJSON_Delete(check);
    invocation *inv = calloc(1, sizeof(*inv));
    if (!inv) {
        aws_error(c, 500, "ServiceException", "out of memory");
        return;
    }
    make_uuid(inv->id);
    snprintf(inv->version, sizeof(inv->version), "%s", version);
    new_trace_id(inv->trace_id, sizeof(inv->trace_id), http_get_header(req, "X-Amzn-Trace-Id"));
    /* An empty payload reaches the function as {} (what Lambda's console and SDKs do). */
    inv->payload = req->body_len ? strndup(req->body, req->body_len) : strdup("{}");
    inv->payload_len = req->body_len ? req->body_len : 2;
    const char *cc = http_get_header(req, "X-Amz-Client-Context");
    if (cc && !(inv->client_context = base64_decode(cc))) {
        invocation_free(inv);
        aws_error(c, 400, "InvalidParameterValueException",
                  "Client context must be a valid Base64-encoded JSON object.");
        return;
    }
    const char *log = http_get_header(req, "X-Amz-Log-Type");
    inv->tail = !async && log && strcmp(log, "Tail") == 0;
    inv->async = async;
    inv->attempt = 1;
    inv->received_ms = now_mono_ms();
    if (!inv->payload) {
        invocation_free(inv);
        aws_error(c, 500, "ServiceException", "out of memory");
        return;
    }
    if (async) {
        char headers[128];
        snprintf(headers, sizeof(headers), "x-amzn-RequestId: %s\r\n", inv->id);
        *e->queue_tail = inv;
        e->queue_tail = &inv->next;
        http_respond(c, 202, headers, NULL, 0);
        env_dispatch_queue(e);
        return;
    }
    inv->client = c;
    http_hold(c);
    if (env_assign(e, inv) != 0) {
        inv->client = NULL;
        invocation_free(inv);
        aws_error(c, 429, "TooManyRequestsException", "Rate Exceeded.");
    }
}

void invoke_on_request(http_conn *c, http_req *req, void *ud)
{
    emu *e = ud;
    char *target = strdup(req->target);
    if (!target) {
        aws_error(c, 500, "ServiceException", "out of memory");
        return;
    }
    char *query = strchr(target, '?');
    const char *qualifier = NULL;
    if (query) {
        *query++ = '\0';
        for (char *kv = strtok(query, "&"); kv; kv = strtok(NULL, "&"))
            if (strncmp(kv, "Qualifier=", 10) == 0 && http_url_decode(kv + 10) == 0)
                qualifier = kv + 10;
    }
    if (strncmp(target, API_PREFIX, strlen(API_PREFIX)) != 0) {
        aws_error(c, 404, "UnknownOperationException", "Unknown operation %s %s", req->method,
                  target);
        goto out;
    }
    char *name = target + strlen(API_PREFIX), *op = strchr(name, '/');
    if (op)
        *op++ = '\0';
    char version[16];
    if (http_url_decode(name) != 0 || !*name) {
        aws_error(c, 400, "ValidationException", "malformed function name");
        goto out;
    }
    int post = strcmp(req->method, "POST") == 0, get = strcmp(req->method, "GET") == 0;
    if (!(post && op && strcmp(op, "invocations") == 0) && !(get && !op) &&
        !(get && op && strcmp(op, "configuration") == 0)) {
        aws_error(c, 404, "UnknownOperationException", "Unknown operation %s %s", req->method,
                  req->target);
        goto out;
    }
    if (resolve(e, c, name, qualifier, version) != 0)
        goto out;
    if (post)
        invoke(e, c, req, version);
    else
        get_function(e, c, version, op != NULL);
out:
    free(target);
}

void invocation_free(invocation *inv)
{
    if (!inv)
        return;
    free(inv->payload);
    free(inv->client_context);
    free(inv);
}

void invoke_finish(emu *e, invocation *inv, const char *function_error, const char *body,
                   size_t len)
{
    if (inv->async) {
        if (function_error && inv->attempt <= e->cfg.async_retries) {
            int delay = e->cfg.async_retry_delay_s * inv->attempt;
            emu_print("lambda-emu: async invocation %s failed (attempt %d); retrying in %d s\n",
                      inv->id, inv->attempt, delay);
            inv->attempt++;
            inv->start_ms = inv->start_us = 0;
            inv->not_before = now_mono_ms() + (int64_t)delay * 1000;
            inv->next = NULL;
            *e->queue_tail = inv;
            e->queue_tail = &inv->next;
            return;
        }
        if (function_error)
            emu_print("lambda-emu: async invocation %s failed after %d attempt(s); dropped\n",
                      inv->id, inv->attempt);
        invocation_free(inv);
        return;
    }
    if (inv->client) {
        char headers[6000];
        int n = snprintf(headers, sizeof(headers),
                         "x-amzn-RequestId: %s\r\nX-Amz-Executed-Version: %s\r\n"
                         "Content-Type: application/json\r\n",
                         inv->id, inv->version);
        if (function_error)
            n += snprintf(headers + n, sizeof(headers) - (size_t)n, "X-Amz-Function-Error: %s\r\n",
                          function_error);
        if (inv->tail) {
            environment *env = e->envs; /* the tail is in the env that ran it */
            while (env && env->current != inv)
                env = env->next;
            char *b64 = env ? base64_encode(env->tail, env->tail_len) : NULL;
            if (b64)
                snprintf(headers + n, sizeof(headers) - (size_t)n, "X-Amz-Log-Result: %s\r\n", b64);
            free(b64);
        }
        http_respond(inv->client, 200, headers, body, len);
    }
    invocation_free(inv);
}

void invoke_conn_closed(emu *e, http_conn *c)
{
    for (environment *env = e->envs; env; env = env->next)
        if (env->current && env->current->client == c)
            env->current->client = NULL;
    for (invocation *q = e->queue; q; q = q->next)
        if (q->client == c)
            q->client = NULL;
}
