/*
 * codec: a money transfer whose data only its worker and its clients can read. The library
 * registers a payload codec that seals every payload with AES-256-GCM before it leaves the
 * worker (the server stores only ciphertext: inputs, results, signals, queries, updates,
 * heartbeat and failure details, and failure messages) and opens what comes back. A client
 * reads them with the same key through the official SDKs' PayloadCodec (the Go one:
 * local/temporal/driver/feature_dc.go, aesCodec).
 *
 * The sealed payload, as Temporal's encryption samples make it: the payload's protobuf bytes
 * (tw_codec_marshal) sealed with a random 12-byte nonce written in front and the 16-byte tag
 * behind, metadata {"encoding": "binary/encrypted", "encryption-key-id": <id>}.
 *
 * The key comes from the function's environment: CODEC_KEY (64 hex digits), CODEC_KEY_ID (its
 * name, default "default"; a payload sealed under another id is refused, naming both). In a
 * real deployment, keep the key in a secret store (AWS Secrets Manager, KMS) and fetch it in
 * setup. aes256gcm.c is a small self-contained AES-GCM so the example builds with a C compiler
 * alone; read its header before reusing it.
 *
 * "Transfer" takes {"from": ..., "to": ..., "amount": N}: over 1000 it fails at once
 * ("OverLimit", non-retryable, details {"limit":1000}); otherwise it waits for an "approve"
 * update (its answer: {"approved_by": <the update's argument>}, also written to the memo), keeps
 * the last "note" signal, answers the "status" query, and runs "Charge", whose first attempt
 * records a heartbeat and fails ("CardDeclined", details {"code":51}); the retry resumes from
 * that heartbeat and returns the receipt, the workflow's result.
 *
 * Build: cc -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection -Iinclude \
 *            -o libcodec.so worker.c aes256gcm.c
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "aes256gcm.h"
#include "tw.h"

#define ENCRYPTED "binary/encrypted"
#define LIMIT 1000

/* ---- the codec ---- */

typedef struct sealer {
    gcm_key key;
    char id[64];
} sealer;

static sealer the_sealer; /* set in setup, read-only after: any thread may use it */

static int meta_is(const tw_codec_payload *p, const char *key, const char *want, size_t *len,
                   const uint8_t **value)
{
    for (size_t i = 0; i < p->nmetadata; i++)
        if (!strcmp(p->metadata[i].key, key)) {
            if (len)
                *len = p->metadata[i].len;
            if (value)
                *value = p->metadata[i].value;
            return want && p->metadata[i].len == strlen(want) &&
                   !memcmp(p->metadata[i].value, want, p->metadata[i].len);
        }
    return 0;
}

static int seal(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    const sealer *s = arg;
    const uint8_t *plain;
    size_t len;
    if (tw_codec_marshal(c, in, &plain, &len) != 0)
        return TW_ENOMEM;
    uint8_t *box = tw_codec_alloc(c, GCM_NONCE + len + GCM_TAG);
    tw_metadata *md = tw_codec_alloc(c, 2 * sizeof(*md));
    if (!box || !md)
        return TW_ENOMEM;
    if (getrandom(box, GCM_NONCE, 0) != GCM_NONCE) {
        tw_codec_error(c, "no random bytes for the nonce");
        return TW_EINVAL;
    }
    gcm_seal(&s->key, box, plain, len, box + GCM_NONCE, box + GCM_NONCE + len);
    md[0] = (tw_metadata){"encoding", (const uint8_t *)ENCRYPTED, strlen(ENCRYPTED)};
    md[1] = (tw_metadata){"encryption-key-id", (const uint8_t *)s->id, strlen(s->id)};
    *out = (tw_codec_payload){.metadata = md, .nmetadata = 2, .data = box,
                              .len = GCM_NONCE + len + GCM_TAG};
    return 0;
}

static int open_sealed(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                       tw_codec_payload *out)
{
    const sealer *s = arg;
    if (!meta_is(in, "encoding", ENCRYPTED, NULL, NULL))
        return 0; /* not sealed (a client without the codec): as it is */
    size_t idlen = 0;
    const uint8_t *id = NULL;
    if (!meta_is(in, "encryption-key-id", s->id, &idlen, &id)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "payload sealed with key \"%.*s\", this worker has \"%s\"",
                 (int)(idlen < 64 ? idlen : 64), id ? (const char *)id : "", s->id);
        tw_codec_error(c, msg);
        return TW_EINVAL;
    }
    if (in->len < GCM_NONCE + GCM_TAG) {
        tw_codec_error(c, "sealed payload too short");
        return TW_EINVAL;
    }
    size_t len = in->len - GCM_NONCE - GCM_TAG;
    uint8_t *plain = tw_codec_alloc(c, len);
    if (!plain)
        return TW_ENOMEM;
    if (gcm_open(&s->key, in->data, in->data + GCM_NONCE, len, in->data + GCM_NONCE + len,
                 plain) != 0) {
        tw_codec_error(c, "sealed payload does not open with this key (changed, or another key)");
        return TW_EINVAL;
    }
    if (tw_codec_unmarshal(c, plain, len, out) != 0) {
        tw_codec_error(c, "sealed payload holds no payload");
        return TW_EINVAL;
    }
    return 0;
}

/* ---- JSON bits ---- */

/* The number after "|key|": in |p|'s JSON (0 when none). */
static long long json_number(const tw_payload *p, const char *key)
{
    char pat[64], buf[512];
    size_t n = p->len < sizeof(buf) - 1 ? p->len : sizeof(buf) - 1;
    memcpy(buf, p->data, n);
    buf[n] = '\0';
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *at = strstr(buf, pat);
    return at ? strtoll(at + strlen(pat), NULL, 10) : 0;
}

/* A json/plain payload printed into |mem| (|size| bytes). */
static tw_payload json_into(char *mem, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tw_payload json_into(char *mem, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = mem ? vsnprintf(mem, size, fmt, ap) : -1;
    va_end(ap);
    return n < 0 || (size_t)n >= size ? tw_null() : tw_json(mem);
}

/* ---- the activity ---- */

static int charge(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_act_info *info = tw_act_info_get(act);
    if (info->attempt == 1) {
        tw_payload hb = tw_json("{\"step\":\"reserved\"}");
        tw_heartbeat(act, &hb, 1);
        tw_payload code = tw_json("{\"code\":51}");
        tw_failure f = {.type = "CardDeclined", .message = "card declined, retrying",
                        .details = &code, .ndetails = 1};
        return tw_act_fail(act, &f);
    }
    const tw_payload *from = info->nheartbeat_details ? &info->heartbeat_details[0] : NULL;
    long long amount = nargs ? json_number(&args[0], "amount") : 0;
    *result = json_into(tw_act_alloc(act, 512), 512,
                        "{\"receipt\":\"R-%lld\",\"attempt\":%d,\"resumed_from\":%.*s}", amount,
                        (int)info->attempt, from ? (int)from->len : 4,
                        from ? (const char *)from->data : "null");
    return 0;
}

/* ---- the workflow ---- */

typedef struct transfer {
    const char *state;
    tw_payload note;     /* the last note (workflow memory) */
    int approved;
} transfer;

static void on_note(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    transfer *t = arg;
    if (!nargs)
        return;
    uint8_t *copy = tw_wf_alloc(wf, args[0].len + 1);
    if (!copy)
        return;
    memcpy(copy, args[0].data, args[0].len);
    t->note = (tw_payload){"json/plain", copy, args[0].len};
}

static int status(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    (void)args;
    (void)nargs;
    transfer *t = arg;
    *result = json_into(tw_wf_alloc(wf, 1024), 1024, "{\"state\":\"%s\",\"note\":%.*s}", t->state,
                        t->note.len ? (int)t->note.len : 4,
                        t->note.len ? (const char *)t->note.data : "null");
    return 0;
}

static int approve(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    transfer *t = arg;
    if (nargs != 1 || strcmp(args[0].encoding, "json/plain") != 0) {
        tw_failure f = {.type = "BadApproval", .message = "approve takes the approver's name"};
        return tw_wf_fail(wf, &f);
    }
    t->approved = 1;
    t->state = "approved";
    tw_upsert_memo(wf, "approved_by", &args[0]); /* the memo is sealed too */
    *result = json_into(tw_wf_alloc(wf, 512), 512, "{\"approved_by\":%.*s}", (int)args[0].len,
                        (const char *)args[0].data);
    return 0;
}

static int is_approved(tw_wf *wf, void *arg)
{
    (void)wf;
    return ((transfer *)arg)->approved;
}

static int transfer_wf(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 1) {
        tw_failure f = {.type = "BadTransfer", .message = "Transfer takes one argument"};
        return tw_wf_fail(wf, &f);
    }
    if (json_number(&args[0], "amount") > LIMIT) {
        tw_payload limit = tw_json("{\"limit\":1000}");
        tw_failure f = {.type = "OverLimit", .message = "amount over the limit",
                        .non_retryable = 1, .details = &limit, .ndetails = 1};
        return tw_wf_fail(wf, &f);
    }
    transfer *t = tw_wf_alloc(wf, sizeof(*t));
    if (!t)
        return TW_ENOMEM;
    *t = (transfer){.state = "waiting for approval"};
    tw_set_signal_handler(wf, "note", on_note, t);
    tw_set_query_handler(wf, "status", status, t);
    tw_set_update_handler(wf, "approve", approve, NULL, t);
    int rc = tw_await_condition(wf, is_approved, t, -1);
    if (rc != 0)
        return rc;
    t->state = "charging";
    tw_retry_policy retry = {.initial_interval_ms = 1000, .maximum_attempts = 3};
    tw_activity_options o = {.start_to_close_ms = 30000, .heartbeat_ms = 10000, .retry = &retry};
    rc = tw_execute_activity(wf, "Charge", &o, &args[0], 1, result);
    if (rc == TW_EFAILED)
        return tw_wf_fail(wf, tw_wf_last_failure(wf));
    if (rc == 0)
        t->state = "done";
    return rc;
}

/* ---- setup ---- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int hex_key(const char *hex, uint8_t key[32])
{
    if (!hex || strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int setup(tw_registry *r)
{
    uint8_t key[32];
    if (hex_key(getenv("CODEC_KEY"), key) != 0) {
        fprintf(stderr, "codec example: CODEC_KEY must hold the AES-256 key as 64 hex digits\n");
        return TW_EINVAL;
    }
    gcm_init(&the_sealer.key, key);
    memset(key, 0, sizeof(key));
    const char *id = getenv("CODEC_KEY_ID");
    snprintf(the_sealer.id, sizeof(the_sealer.id), "%s", id && *id ? id : "default");
    static const tw_codec codec = {.encode = seal, .decode = open_sealed,
                                   .encode_failure_attributes = 1};
    int rc = tw_register_codec(r, &codec, &the_sealer);
    if (rc == 0)
        rc = tw_register_workflow(r, "Transfer", transfer_wf, TW_PINNED);
    if (rc == 0)
        rc = tw_register_activity(r, "Charge", charge);
    return rc;
}

TW_LIBRARY(setup)
