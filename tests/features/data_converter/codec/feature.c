/*
 * data_converter/codec: a codec that writes each payload as the base64 of its protobuf bytes
 * under the encoding "my-encoding" (the upstream scenario's Go codec), and reads such payloads
 * back. "Workflow" echoes its argument, {"spec":true}: the client (with the same codec) sent it
 * encoded, the worker decoded it, and its result, encoded by the worker, must be the very
 * bytes of the argument in the history. Check: local/temporal/driver/feature_dc.go.
 */
#include "feature.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(uint8_t c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

static int find_encoding(const tw_codec_payload *p, const char *want)
{
    for (size_t i = 0; i < p->nmetadata; i++)
        if (!strcmp(p->metadata[i].key, "encoding"))
            return p->metadata[i].len == strlen(want) &&
                   !memcmp(p->metadata[i].value, want, p->metadata[i].len);
    return 0;
}

static const tw_metadata MY_ENCODING = {"encoding", (const uint8_t *)"my-encoding", 11};

static int encode(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    const uint8_t *raw;
    size_t len;
    if (tw_codec_marshal(c, in, &raw, &len) != 0)
        return TW_ENOMEM;
    uint8_t *text = tw_codec_alloc(c, (len + 2) / 3 * 4);
    if (!text)
        return TW_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < len ? (uint32_t)raw[i + 1] << 8 : 0) |
                     (i + 2 < len ? raw[i + 2] : 0);
        text[n++] = (uint8_t)B64[v >> 18 & 63];
        text[n++] = (uint8_t)B64[v >> 12 & 63];
        text[n++] = i + 1 < len ? (uint8_t)B64[v >> 6 & 63] : '=';
        text[n++] = i + 2 < len ? (uint8_t)B64[v & 63] : '=';
    }
    *out = (tw_codec_payload){.metadata = &MY_ENCODING, .nmetadata = 1, .data = text, .len = n};
    return 0;
}

static int decode(tw_codec_ctx *c, void *arg, const tw_codec_payload *in, tw_codec_payload *out)
{
    if (!find_encoding(in, "my-encoding"))
        return 0; /* not ours: *out is *in */
    if (in->len % 4) {
        tw_codec_error(c, "my-encoding: the data is not base64");
        return TW_EINVAL;
    }
    uint8_t *raw = tw_codec_alloc(c, in->len / 4 * 3);
    size_t n = 0;
    for (size_t i = 0; raw && i < in->len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = in->data[i + k] == '=' && i + 4 == in->len && k >= 2 ? 0
                                                                       : b64_value(in->data[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
            tw_codec_error(c, "my-encoding: the data is not base64");
            return TW_EINVAL;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        raw[n++] = (uint8_t)(w >> 16);
        if (in->data[i + 2] != '=')
            raw[n++] = (uint8_t)(w >> 8);
        if (in->data[i + 3] != '=')
            raw[n++] = (uint8_t)w;
    }
    if (!raw)
        return TW_ENOMEM;
    if (tw_codec_unmarshal(c, raw, n, out) != 0) {
        tw_codec_error(c, "my-encoding: the data is not a payload");
        return TW_EINVAL;
    }
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 1 || strcmp(args[0].encoding, "json/plain") != 0)
        return ft_wf_fail_rc(wf, TW_EINVAL, "want one decoded json/plain argument");
    *result = args[0];
    return 0;
}

static int setup(tw_registry *r)
{
    static const tw_codec base64 = {.encode = encode, .decode = decode};
    int rc = tw_register_codec(r, &base64, NULL);
    return rc ? rc : tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
}

TW_LIBRARY(setup)
