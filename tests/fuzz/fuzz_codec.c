/*
 * fuzz_codec: the payload codec's walk (temporal/worker/codec.c) on what the server may send.
 * The first byte picks the message the rest is unpacked as (a polled workflow task, a polled
 * activity task, a history page, or a workflow task completion), as protobuf-c unpacks a
 * response into the task's arena; then the walk runs both ways with a codec that seals each
 * whole payload (tw_codec_marshal, bytes XORed, "binary/fuzz") and opens it again.
 *
 * Checked beyond crashes and leaks: after one normalising pass (a decode with a codec that
 * copies each payload), encoding and decoding again gives the very same bytes, and the encode
 * never changes the message it is given (codec_encode works on a copy). Bit 2 of the first
 * byte also moves failure attributes (then only the decode's success is checked).
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <string.h>

#include "temporal/api/history/v1/message.pb-c.h"
#include "temporal/engine/proto.h"
#include "temporal/worker/codec.h"

#define check FUZZ_CHECK

const tw_api *tw__api;
static tw_api api;

static int copy_fn(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    tw_metadata *md = tw_codec_alloc(c, (in->nmetadata ? in->nmetadata : 1) * sizeof(*md));
    uint8_t *d = tw_codec_alloc(c, in->len);
    if (!md || !d)
        return TW_ENOMEM;
    if (in->nmetadata)
        memcpy(md, in->metadata, in->nmetadata * sizeof(*md));
    if (in->len)
        memcpy(d, in->data, in->len);
    *out = (tw_codec_payload){.metadata = md, .nmetadata = in->nmetadata, .data = d, .len = in->len};
    return 0;
}

static const tw_metadata SEALED = {"encoding", (const uint8_t *)"binary/fuzz", 11};

static int seal(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    const uint8_t *b;
    size_t len;
    if (tw_codec_marshal(c, in, &b, &len) != 0)
        return TW_ENOMEM;
    uint8_t *x = tw_codec_alloc(c, len);
    if (!x)
        return TW_ENOMEM;
    for (size_t i = 0; i < len; i++)
        x[i] = b[i] ^ 0xa5;
    *out = (tw_codec_payload){.metadata = &SEALED, .nmetadata = 1, .data = x, .len = len};
    return 0;
}

static int open_sealed(tw_codec_ctx *c, void *arg, const tw_codec_payload *in,
                       tw_codec_payload *out)
{
    if (in->nmetadata != 1 || strcmp(in->metadata[0].key, "encoding") ||
        in->metadata[0].len != 11 || memcmp(in->metadata[0].value, "binary/fuzz", 11))
        return 0;
    uint8_t *x = tw_codec_alloc(c, in->len);
    if (!x)
        return TW_ENOMEM;
    for (size_t i = 0; i < in->len; i++)
        x[i] = in->data[i] ^ 0xa5;
    if (tw_codec_unmarshal(c, x, in->len, out) != 0) {
        tw_codec_error(c, "not a payload");
        return TW_EINVAL;
    }
    return 0;
}

static const ProtobufCMessageDescriptor *const KINDS[] = {
    &WFS_DESC(poll_workflow_task_queue_response),
    &WFS_DESC(poll_activity_task_queue_response),
    &temporal__api__history__v1__history__descriptor,
    &WFS_DESC(respond_workflow_task_completed_request),
};

static uint8_t *packed(arena *a, const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = arena_alloc(a, *len ? *len : 1);
    check(b != NULL);
    protobuf_c_message_pack(m, b);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    api.codec_alloc = codec_alloc;
    api.codec_error = codec_error;
    api.codec_marshal = codec_marshal;
    api.codec_unmarshal = codec_unmarshal;
    tw__api = &api;
    const ProtobufCMessageDescriptor *d = KINDS[data[0] % 4];
    int attributes = data[0] & 4;
    arena *a = arena_new(64 * 1024 * 1024);
    check(a != NULL);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, arena_allocator(a), size - 1, data + 1);
    char err[400] = "";
    reg_codec copy = {.codec = {.decode = copy_fn}};
    if (!m || codec_decode(&copy, a, m, err, sizeof(err)) != 0) {
        check(!m || !strncmp(err, "payload codec: ", 15)); /* an unreadable Any, too deep */
        arena_free(a);
        return 0;
    }
    size_t len0, len_after, len1;
    uint8_t *m0 = packed(a, m, &len0);
    if (!protobuf_c_message_unpack(d, arena_allocator(a), len0, m0)) {
        /* protobuf-c took the input but refuses what it packs from it (a oneof member twice
         * and the like): codec_encode's copy must fail, saying so, not crash */
        reg_codec c = {.codec = {.encode = seal}};
        const ProtobufCMessage *enc;
        check(codec_encode(&c, a, m, &enc, err, sizeof(err)) != 0);
        check(strstr(err, "could not be copied") != NULL);
        arena_free(a);
        return 0;
    }
    reg_codec c = {.codec = {.encode = seal, .decode = open_sealed,
                             .encode_failure_attributes = attributes}};
    const ProtobufCMessage *enc;
    if (codec_encode(&c, a, m, &enc, err, sizeof(err)) != 0)
        fprintf(stderr, "encode: %s\n", err);
    check(err[0] == '\0');
    uint8_t *after = packed(a, m, &len_after);
    check(len_after == len0 && !memcmp(after, m0, len0)); /* the original is untouched */
    if (codec_decode(&c, a, (ProtobufCMessage *)enc, err, sizeof(err)) != 0)
        fprintf(stderr, "decode: %s\n", err);
    check(err[0] == '\0');
    if (!attributes) {
        uint8_t *m1 = packed(a, enc, &len1);
        check(len1 == len0 && !memcmp(m1, m0, len0));
    }
    arena_free(a);
    return 0;
}
