/*
 * codec: the walk that applies the user's payload codec to whole messages, the failure
 * attributes it moves, and the codec calls of tw_api. See codec.h.
 *
 * The walk visits every set message field of a message, by its descriptor (oneofs by their
 * case, repeated fields and maps element by element), and runs the codec on each Payload it
 * reaches. It does not go into Header and SearchAttributes (the official SDKs leave both as
 * they are), and goes into a google.protobuf.Any only when it knows the type (the update
 * protocol's Request, Acceptance, Rejection and Response: the only Any bodies a worker sees
 * with payloads): it unpacks it, walks it and packs it again. It changes messages in place,
 * so a request is walked on a copy (codec_encode).
 */
#define _GNU_SOURCE
#include "temporal/worker/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "google/protobuf/any.pb-c.h"
#include "runtime/log.h"
#include "temporal/api/common/v1/message.pb-c.h"
#include "temporal/api/failure/v1/message.pb-c.h"
#include "temporal/api/update/v1/message.pb-c.h"

#define MAX_DEPTH 64          /* deeper than any Temporal message; a cause chain is cut at 16 */
#define MAX_METADATA 1024     /* entries a codec may return for one payload */
#define ENCODED_FAILURE "Encoded failure" /* what sdk-go's failure converter writes */

typedef Temporal__Api__Common__V1__Payload pb_payload;
typedef Temporal__Api__Common__V1__Payload__MetadataEntry pb_metadata_entry;
typedef Temporal__Api__Failure__V1__Failure pb_failure;

struct tw_codec_ctx {
    arena *a;
    char why[256]; /* tw_codec_error()'s message, "" when none */
};

typedef struct walk {
    const reg_codec *c;
    tw_codec_fn fn;  /* the direction's function, or NULL */
    int encode;      /* 1: encode (and move failure attributes), 0: decode */
    arena *a;
    char *err;
    size_t errlen;
    /* the field the message being walked was reached by, for messages ("input" of
     * WorkflowExecutionStartedEventAttributes rather than "payloads" of Payloads) */
    const ProtobufCMessageDescriptor *outer;
    const ProtobufCFieldDescriptor *outer_field;
} walk;

static int walk_message(walk *wk, ProtobufCMessage *m, int depth);

static int fail(walk *wk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(walk *wk, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(wk->err, wk->errlen, "payload codec: %s", msg);
    return -1;
}

/* ---- one payload ---- */

/* |p| as the codec sees it (views of |p|'s memory). 0, or -1 out of memory. */
static int view_of(arena *a, const pb_payload *p, tw_codec_payload *v)
{
    tw_metadata *md = p->n_metadata ? arena_alloc(a, p->n_metadata * sizeof(*md)) : NULL;
    if (p->n_metadata && !md)
        return -1;
    for (size_t i = 0; i < p->n_metadata; i++)
        md[i] = (tw_metadata){.key = p->metadata[i]->key ? p->metadata[i]->key : "",
                              .value = p->metadata[i]->value.data,
                              .len = p->metadata[i]->value.len};
    *v = (tw_codec_payload){.metadata = md, .nmetadata = p->n_metadata, .data = p->data.data,
                            .len = p->data.len};
    return 0;
}

/* Writes |v| into |p| (pointing at |v|'s memory: the codec's contract keeps it alive). 0, or
 * -1 out of memory. */
static int set_payload(arena *a, pb_payload *p, const tw_codec_payload *v)
{
    pb_metadata_entry **entries = v->nmetadata ? arena_alloc(a, v->nmetadata * sizeof(*entries))
                                               : NULL;
    if (v->nmetadata && !entries)
        return -1;
    for (size_t i = 0; i < v->nmetadata; i++) {
        pb_metadata_entry *e = arena_alloc(a, sizeof(*e));
        if (!e)
            return -1;
        temporal__api__common__v1__payload__metadata_entry__init(e);
        e->key = (char *)v->metadata[i].key;
        e->value = (ProtobufCBinaryData){.len = v->metadata[i].len,
                                         .data = (uint8_t *)v->metadata[i].value};
        entries[i] = e;
    }
    p->metadata = entries;
    p->n_metadata = v->nmetadata;
    p->data = (ProtobufCBinaryData){.len = v->len, .data = (uint8_t *)v->data};
    p->n_external_payloads = 0; /* a new payload, as a Go codec's */
    p->external_payloads = NULL;
    return 0;
}

static int same_view(const tw_codec_payload *x, const tw_codec_payload *y)
{
    return x->metadata == y->metadata && x->nmetadata == y->nmetadata && x->data == y->data &&
           x->len == y->len;
}

static const char *bad_view(const tw_codec_payload *v)
{
    if (v->nmetadata > MAX_METADATA)
        return "it returned more than 1024 metadata entries";
    if (v->nmetadata && !v->metadata)
        return "it returned metadata entries without their array";
    if (v->len && !v->data)
        return "it returned data without its bytes";
    for (size_t i = 0; i < v->nmetadata; i++)
        if (!v->metadata[i].key || (v->metadata[i].len && !v->metadata[i].value))
            return "it returned a metadata entry without its key or value";
    return NULL;
}

/* Runs the codec on |p|, in place. |where| names the field, for the message. */
static int code_payload(walk *wk, pb_payload *p, const char *where)
{
    tw_codec_payload in, out;
    if (view_of(wk->a, p, &in) != 0)
        return fail(wk, "out of memory in the worker");
    out = in;
    tw_codec_ctx ctx = {.a = wk->a};
    int rc = wk->fn(&ctx, wk->c->arg, &in, &out);
    const char *dir = wk->encode ? "encode" : "decode";
    if (rc < 0)
        return fail(wk, "%s of %s failed: %s", dir, where,
                    ctx.why[0] ? ctx.why : "the codec returned an error");
    if (same_view(&in, &out))
        return 0;
    const char *bad = bad_view(&out);
    if (bad)
        return fail(wk, "%s of %s: %s", dir, where, bad);
    if (set_payload(wk->a, p, &out) != 0)
        return fail(wk, "out of memory in the worker");
    return 0;
}

/* ---- failures' message and stack trace ---- */

static pb_payload *json_payload(arena *a, const char *json)
{
    pb_payload *p = arena_alloc(a, sizeof(*p));
    pb_metadata_entry *e = arena_alloc(a, sizeof(*e));
    pb_metadata_entry **entries = arena_alloc(a, sizeof(*entries));
    size_t len = strlen(json);
    uint8_t *data = arena_memdup(a, json, len ? len : 1);
    if (!p || !e || !entries || !data)
        return NULL;
    temporal__api__common__v1__payload__init(p);
    temporal__api__common__v1__payload__metadata_entry__init(e);
    e->key = "encoding";
    e->value = (ProtobufCBinaryData){.len = 10, .data = (uint8_t *)"json/plain"};
    entries[0] = e;
    p->metadata = entries;
    p->n_metadata = 1;
    p->data = (ProtobufCBinaryData){.len = len, .data = data};
    return p;
}

/* Moves |f|'s message and stack trace into its encoded attributes, as sdk-go's
 * EncodeCommonFailureAttributes (a failure that has attributes already keeps them). */
static int move_attributes(walk *wk, pb_failure *f)
{
    if (f->encoded_attributes)
        return 0;
    cJSON *o = cJSON_CreateObject();
    char *json = NULL;
    if (o && cJSON_AddStringToObject(o, "message", f->message ? f->message : "") &&
        cJSON_AddStringToObject(o, "stack_trace", f->stack_trace ? f->stack_trace : ""))
        json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    pb_payload *p = json ? json_payload(wk->a, json) : NULL;
    cJSON_free(json);
    if (!p)
        return fail(wk, "out of memory in the worker");
    f->encoded_attributes = p;
    f->message = ENCODED_FAILURE;
    f->stack_trace = "";
    return 0;
}

/* Does |p|'s "encoding" entry say |want|? */
static int encoding_is(const pb_payload *p, const char *want)
{
    size_t n = strlen(want);
    for (size_t i = 0; i < p->n_metadata; i++)
        if (p->metadata[i]->key && !strcmp(p->metadata[i]->key, "encoding"))
            return p->metadata[i]->value.len == n && n &&
                   !memcmp(p->metadata[i]->value.data, want, n);
    return 0;
}

/* Gives |f| its message and stack trace back from decoded json/plain attributes, as sdk-go's
 * DecodeCommonFailureAttributes: attributes it cannot read leave the failure as it is. */
static void restore_attributes(walk *wk, pb_failure *f)
{
    const pb_payload *p = f->encoded_attributes;
    if (!p || !encoding_is(p, "json/plain"))
        return;
    cJSON *o = cJSON_ParseWithLength((const char *)p->data.data, p->data.len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stack_trace");
    if (cJSON_IsString(m)) {
        char *msg = arena_strdup(wk->a, m->valuestring);
        char *trace = cJSON_IsString(st) ? arena_strdup(wk->a, st->valuestring) : "";
        if (msg && trace) {
            f->message = msg;
            f->stack_trace = trace;
        }
    }
    cJSON_Delete(o);
}

/* ---- the walk ---- */

/* The Any bodies the walk goes into: the update protocol's, carried by protocol messages. */
static const ProtobufCMessageDescriptor *any_type(const char *url)
{
    static const ProtobufCMessageDescriptor *const known[] = {
        &temporal__api__update__v1__request__descriptor,
        &temporal__api__update__v1__acceptance__descriptor,
        &temporal__api__update__v1__rejection__descriptor,
        &temporal__api__update__v1__response__descriptor,
    };
    const char *slash = url ? strrchr(url, '/') : NULL;
    const char *name = slash ? slash + 1 : url;
    for (size_t i = 0; name && i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(name, known[i]->name))
            return known[i];
    return NULL;
}

static int walk_any(walk *wk, Google__Protobuf__Any *any, int depth)
{
    const ProtobufCMessageDescriptor *d = any_type(any->type_url);
    if (!d)
        return 0;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, arena_allocator(wk->a), any->value.len,
                                                    any->value.data);
    if (!m)
        return wk->encode ? 0 : fail(wk, "a %s body could not be read", d->name);
    if (walk_message(wk, m, depth + 1) != 0)
        return -1;
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = arena_alloc(wk->a, len ? len : 1);
    if (!buf)
        return fail(wk, "out of memory in the worker");
    protobuf_c_message_pack(m, buf);
    any->value = (ProtobufCBinaryData){.len = len, .data = buf};
    return 0;
}

/* Runs the codec on payload |p| reached by field |f| of |parent|. The encoded attributes of a
 * failure the codec cannot encode are dropped instead (see tw.h). */
static int visit_payload(walk *wk, ProtobufCMessage *parent, const ProtobufCFieldDescriptor *f,
                         pb_payload *p)
{
    if (!wk->fn)
        return 0;
    char where[200];
    int in_list = parent->descriptor == &temporal__api__common__v1__payloads__descriptor &&
                  wk->outer;
    snprintf(where, sizeof(where), "%s.%s",
             in_list ? wk->outer->short_name : parent->descriptor->short_name,
             in_list ? wk->outer_field->name : f->name);
    if (wk->encode && parent->descriptor == &temporal__api__failure__v1__failure__descriptor &&
        (void *)p == (void *)((pb_failure *)parent)->encoded_attributes) {
        if (code_payload(wk, p, where) != 0) {
            log_warn("%s; the failure goes out as \"" ENCODED_FAILURE "\" without them",
                     wk->err);
            ((pb_failure *)parent)->encoded_attributes = NULL;
            wk->err[0] = '\0';
        }
        return 0;
    }
    return code_payload(wk, p, where);
}

static int visit(walk *wk, ProtobufCMessage *parent, const ProtobufCFieldDescriptor *f,
                 ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = f->descriptor;
    if (!m)
        return 0;
    if (d == &temporal__api__common__v1__payload__descriptor)
        return visit_payload(wk, parent, f, (pb_payload *)m);
    if (d == &temporal__api__common__v1__header__descriptor ||
        d == &temporal__api__common__v1__search_attributes__descriptor)
        return 0;
    if (d == &google__protobuf__any__descriptor)
        return walk_any(wk, (Google__Protobuf__Any *)m, depth);
    const ProtobufCMessageDescriptor *outer = wk->outer;
    const ProtobufCFieldDescriptor *outer_field = wk->outer_field;
    wk->outer = parent->descriptor;
    wk->outer_field = f;
    int rc = walk_message(wk, m, depth + 1);
    wk->outer = outer;
    wk->outer_field = outer_field;
    return rc;
}

static int walk_message(walk *wk, ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > MAX_DEPTH)
        return fail(wk, "a message nested deeper than %d levels", MAX_DEPTH);
    int failure = d == &temporal__api__failure__v1__failure__descriptor;
    if (failure && wk->encode && wk->c->codec.encode_failure_attributes &&
        move_attributes(wk, (pb_failure *)m) != 0)
        return -1;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
            for (size_t k = 0; arr && k < n; k++)
                if (visit(wk, m, f, arr[k], depth) != 0)
                    return -1;
        } else if (visit(wk, m, f, *(ProtobufCMessage **)(base + f->offset), depth) != 0) {
            return -1;
        }
    }
    if (failure && !wk->encode)
        restore_attributes(wk, (pb_failure *)m);
    return 0;
}

/* ---- public ---- */

int codec_decode(const reg_codec *c, arena *a, ProtobufCMessage *msg, char *err, size_t errlen)
{
    if (!c || !msg)
        return 0;
    walk wk = {.c = c, .fn = c->codec.decode, .encode = 0, .a = a, .err = err, .errlen = errlen};
    return walk_message(&wk, msg, 0);
}

int codec_encode(const reg_codec *c, arena *a, const ProtobufCMessage *msg,
                 const ProtobufCMessage **out, char *err, size_t errlen)
{
    *out = msg;
    if (!c || !msg || (!c->codec.encode && !c->codec.encode_failure_attributes))
        return 0;
    walk wk = {.c = c, .fn = c->codec.encode, .encode = 1, .a = a, .err = err, .errlen = errlen};
    /* The copy: the request's messages may belong to a kept run (payloads it keeps). */
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = arena_alloc(a, len ? len : 1);
    if (!buf)
        return fail(&wk, "out of memory in the worker");
    protobuf_c_message_pack(msg, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, arena_allocator(a), len,
                                                       buf);
    if (!copy) /* out of memory, or bytes protobuf-c packed but refuses (fuzz_codec met some) */
        return fail(&wk, "the %s could not be copied to encode it", msg->descriptor->short_name);
    if (walk_message(&wk, copy, 0) != 0)
        return CODEC_EFAILED;
    size_t size = protobuf_c_message_get_packed_size(copy);
    if (size > GRPC_MAX_REQUEST) {
        fail(&wk, "the encoded %s is %zu bytes (%zu before), over the %d-byte (4 MiB) limit of "
             "a request to Temporal", msg->descriptor->short_name, size, len, GRPC_MAX_REQUEST);
        return CODEC_ETOOLARGE;
    }
    *out = copy;
    return 0;
}

int codec_refusal(grpc_status *st, int rc, const char *why)
{
    memset(st, 0, sizeof(*st));
    st->code = rc == CODEC_ETOOLARGE ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT;
    snprintf(st->message, sizeof(st->message), "%s", why);
    return st->code;
}

int codec_refused(int code, const grpc_status *st)
{
    return (code == GRPC_INVALID_ARGUMENT || code == GRPC_RESOURCE_EXHAUSTED) &&
           st->attempts == 0 && !strncmp(st->message, "payload codec: ", 15);
}

/* ---- the codec calls of tw_api ---- */

void *codec_alloc(tw_codec_ctx *c, size_t n)
{
    return c ? arena_alloc(c->a, n ? n : 1) : NULL;
}

void codec_error(tw_codec_ctx *c, const char *message)
{
    if (c)
        snprintf(c->why, sizeof(c->why), "%s", message ? message : "");
}

int codec_marshal(tw_codec_ctx *c, const tw_codec_payload *p, const uint8_t **out, size_t *len)
{
    if (!c || !p || !out || !len || bad_view(p))
        return TW_EINVAL;
    pb_payload pb;
    temporal__api__common__v1__payload__init(&pb);
    if (set_payload(c->a, &pb, p) != 0)
        return TW_ENOMEM;
    *len = protobuf_c_message_get_packed_size(&pb.base);
    uint8_t *buf = arena_alloc(c->a, *len ? *len : 1);
    if (!buf)
        return TW_ENOMEM;
    protobuf_c_message_pack(&pb.base, buf);
    *out = buf;
    return TW_OK;
}

int codec_unmarshal(tw_codec_ctx *c, const uint8_t *data, size_t len, tw_codec_payload *out)
{
    if (!c || (!data && len) || !out)
        return TW_EINVAL;
    pb_payload *p = temporal__api__common__v1__payload__unpack(arena_allocator(c->a), len,
                                                               data ? data : (const uint8_t *)"");
    if (!p)
        return TW_EINVAL;
    return view_of(c->a, p, out) == 0 ? TW_OK : TW_ENOMEM;
}
