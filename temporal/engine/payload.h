/*
 * payload: conversions between the public tw_payload / tw_failure views and the protobuf
 * messages, allocated in a task's arena, and deep copies of what user code hands the runtime.
 * A payload's encoding travels as the `encoding` metadata entry, as every official SDK does.
 */
#ifndef TW_PAYLOAD_H
#define TW_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "temporal/api/failure/v1/message.pb-c.h"
#include "temporal/engine/arena.h"
#include "temporal/engine/proto.h"
#include "tw.h"

typedef Temporal__Api__Failure__V1__Failure pb_failure;
typedef Google__Protobuf__Duration pb_duration;

/* 1 when every payload of |p| (|n| of them) has its bytes: none has len > 0 with data NULL
 * (and |p| is not NULL when |n| > 0); else 0. */
int payloads_valid(const tw_payload *p, size_t n);
/* Copies in |a|; NULL when |a| is full, when |n| is 0 (payloads_to_pb), or when a payload has
 * len > 0 and data NULL (check with payloads_valid() first to tell that apart). */
pb_payload *payload_to_pb(arena *a, const tw_payload *p);
pb_payloads *payloads_to_pb(arena *a, const tw_payload *p, size_t n);
/* A view of |pb| (its bytes are borrowed, its encoding copied into |a|). */
tw_payload payload_from_pb(arena *a, const pb_payload *pb);
/* Views of every payload; *out NULL when none. 0 or -1 (out of memory). */
int payloads_from_pb(arena *a, const pb_payloads *pb, tw_payload **out, size_t *n);

/* The longest cause chain kept, both ways (deeper causes are dropped). */
#define FAILURE_MAX_DEPTH 16

/* A deep copy of |f| into |a|: type, message, non_retryable, the details array, and each
 * detail's encoding and bytes, so nothing in *|out| points into |f|. For the *_fail calls,
 * which keep a failure past the call although user code usually builds it, details
 * included, in its own stack frame. NULL strings stay NULL (failure_to_pb supplies the
 * defaults); ndetails 0 copies as no details. Returns TW_OK with *|out| set; TW_EINVAL when
 * |f| is NULL, has ndetails > 0 with details NULL, or a detail with len > 0 and data NULL;
 * TW_ENOMEM when |a| is full (*|out| NULL on both errors). Reads only the fields of ABI 1.0;
 * the copy is a whole tw_failure (the others zero). */
int failure_copy(arena *a, const tw_failure *f, tw_failure **out);
/* failure_copy() of a failure from a library built against ABI minor |minor|: from 1 on also
 * kind, timeout_type, retry_state, the activity's type and id, the stack trace, and the cause
 * chain (each cause copied the same way, FAILURE_MAX_DEPTH deep). A kind out of range is
 * TW_EINVAL. */
int failure_copy_abi(arena *a, const tw_failure *f, unsigned minor, tw_failure **out);

/* |f| (a whole tw_failure: one of the runtime's, or a copy) as Temporal carries it, by kind
 * (ApplicationFailureInfo, ActivityFailureInfo with its cause, TimeoutFailureInfo with the
 * details as last heartbeat details, CanceledFailureInfo, ...), |source| "CSDK", with its
 * cause chain; NULL when |a| is full. */
pb_failure *failure_to_pb(arena *a, const tw_failure *f);
/* |f| with its kind and cause chain. An activity's or a child's failure takes its type,
 * message, details and non_retryable from its cause (see tw.h). NULL when |a| is full. */
tw_failure *failure_from_pb(arena *a, const pb_failure *f);
/* The failure workflow code sees when activity |activity_type| / |activity_id| failed with
 * |cause| (converted from the event's failure, or made by the engine): kind
 * TW_FAILURE_ACTIVITY, as failure_from_pb() makes of an ActivityFailure. NULL when |a| is
 * full. */
tw_failure *failure_of_activity(arena *a, tw_failure *cause, const char *activity_type,
                                const char *activity_id, int retry_state);

pb_duration *duration_ms(arena *a, int64_t ms);
/* Seconds and nanos (a Timestamp's or a Duration's) as milliseconds, saturated at INT64_MIN /
 * INT64_MAX: a time far out of range, which no server sends but a broken history may hold,
 * must not overflow. */
int64_t time_to_ms(int64_t seconds, int32_t nanos);
int64_t duration_to_ms(const pb_duration *d); /* 0 for NULL; saturated like time_to_ms */

#endif
