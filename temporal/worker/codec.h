/*
 * codec: the user's payload codec (tw.h, "payload codec") applied to whole protobuf messages:
 * a walk over a message by its protobuf-c descriptors that finds every
 * temporal.api.common.v1.Payload in it (in Payloads, Memo, failures, oneof attributes, maps,
 * and inside the google.protobuf.Any bodies of update messages) and runs the codec on each,
 * skipping temporal.api.common.v1.Header and SearchAttributes as the official SDKs do. It also
 * moves failures' message and stack trace into their encoded attributes (and back) when the
 * codec asks for it.
 *
 * Where it runs (one hook each, in the worker): codec_decode() on what comes in, before the
 * engine or an activity sees it (a workflow task as polled or handed back with an answer, its
 * history pages fetched later, an activity task); codec_encode() on every request the worker
 * sends with payloads (worker_call, worker_call_into, heartbeats). Without a codec both return
 * at once: no walk, no copy.
 *
 * Ownership: every byte the walk and the codec make lives in the caller's arena. Errors: 0, or
 * -1 with |err| saying which payload and why, "payload codec: ..."; a codec that fails never
 * crashes the worker (the task or activity fails with that message). Threading: any thread,
 * many at once (the codec must be thread-safe).
 */
#ifndef TW_CODEC_H
#define TW_CODEC_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "registry/reg.h"
#include "temporal/engine/arena.h"
#include "temporal/net/grpc.h"
#include "tw.h"

/* Decodes every payload of |msg| in place (|msg| and what the codec returns live in |a|), then
 * gives failures with encoded attributes their message and stack trace back. |c| NULL: 0 at
 * once. On failure |msg| may be half decoded: drop it. */
int codec_decode(const reg_codec *c, arena *a, ProtobufCMessage *msg, char *err, size_t errlen);

/* *out is |msg| as it goes out: |msg| itself when |c| is NULL or encodes nothing; else a deep
 * copy in |a| (|msg| is never changed: its payloads may be a kept run's) with failure
 * attributes moved (when asked) and every payload encoded. Returns 0, CODEC_EFAILED, or
 * CODEC_ETOOLARGE when the encoded copy is over GRPC_MAX_REQUEST (the server would refuse it:
 * a codec may make payloads larger than the size the caller checked). */
enum { CODEC_EFAILED = -1, CODEC_ETOOLARGE = -2 };
int codec_encode(const reg_codec *c, arena *a, const ProtobufCMessage *msg,
                 const ProtobufCMessage **out, char *err, size_t errlen);

/* A request's status when codec_encode() refused it with |rc|, no attempt made, the message
 * |why| ("payload codec: ..."): GRPC_RESOURCE_EXHAUSTED for CODEC_ETOOLARGE (as the server
 * answers a request over its limit), else GRPC_INVALID_ARGUMENT. Returns the code.
 * codec_refused() tells such a status from the server's. */
int codec_refusal(grpc_status *st, int rc, const char *why);
int codec_refused(int code, const grpc_status *st);

/* The codec calls of tw_api (tw.h documents them), valid inside a codec function only. */
void *codec_alloc(tw_codec_ctx *c, size_t n);
void codec_error(tw_codec_ctx *c, const char *message);
int codec_marshal(tw_codec_ctx *c, const tw_codec_payload *p, const uint8_t **out, size_t *len);
int codec_unmarshal(tw_codec_ctx *c, const uint8_t *data, size_t len, tw_codec_payload *out);

#endif
