/*
 * Unit tests of temporal/net/grpc_wire.c, linked alone: message framing (golden bytes both
 * ways), grpc-timeout values, the percent-decoding of grpc-message, grpc-status-details-bin,
 * which codes are retried, code names and the HTTP statuses of answers without grpc-status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "temporal/net/grpc_wire.h"

static void frame_header_golden_bytes(void **st)
{
    uint8_t hdr[GRPC_FRAME_HEADER];
    grpc_frame_header(hdr, 0x01020304u);
    const uint8_t want[] = {0, 1, 2, 3, 4};
    assert_memory_equal(hdr, want, sizeof(want));
    /* What it frames, grpc_unframe reads back. */
    uint8_t msg[GRPC_FRAME_HEADER + 3] = {0};
    grpc_frame_header(msg, 3);
    memcpy(msg + GRPC_FRAME_HEADER, "abc", 3);
    size_t off, len;
    const char *why = NULL;
    assert_int_equal(grpc_unframe(msg, sizeof(msg), &off, &len, &why), 0);
    assert_int_equal(off, GRPC_FRAME_HEADER);
    assert_int_equal(len, 3);
}

static void unframe_one_message(void **st)
{
    const uint8_t ok[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    size_t off, len;
    const char *why = NULL;
    assert_int_equal(grpc_unframe(ok, sizeof(ok), &off, &len, &why), 0);
    assert_int_equal(off, 5);
    assert_int_equal(len, 3);
    const uint8_t empty[] = {0, 0, 0, 0, 0};
    assert_int_equal(grpc_unframe(empty, sizeof(empty), &off, &len, &why), 0);
    assert_int_equal(len, 0);
}

static void unframe_rejects_bad_frames(void **st)
{
    size_t off, len;
    const char *why = NULL;
    const uint8_t short_hdr[] = {0, 0, 0};
    assert_int_equal(grpc_unframe(short_hdr, sizeof(short_hdr), &off, &len, &why), -1);
    const uint8_t compressed[] = {1, 0, 0, 0, 1, 'x'};
    assert_int_equal(grpc_unframe(compressed, sizeof(compressed), &off, &len, &why), -1);
    assert_non_null(strstr(why, "compressed"));
    const uint8_t truncated[] = {0, 0, 0, 0, 9, 'x'};
    assert_int_equal(grpc_unframe(truncated, sizeof(truncated), &off, &len, &why), -1);
    assert_non_null(strstr(why, "truncated"));
    const uint8_t two[] = {0, 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0};
    assert_int_equal(grpc_unframe(two, sizeof(two), &off, &len, &why), -1);
    const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(grpc_unframe(huge, sizeof(huge), &off, &len, &why), -1);
}

static void timeout_values(void **st)
{
    char v[24];
    grpc_timeout_value(70000, v, sizeof(v));
    assert_string_equal(v, "70000m");
    grpc_timeout_value(0, v, sizeof(v));
    assert_string_equal(v, "1m"); /* never zero or negative */
    grpc_timeout_value(-5, v, sizeof(v));
    assert_string_equal(v, "1m");
    grpc_timeout_value(99999999, v, sizeof(v));
    assert_string_equal(v, "99999999m");
    grpc_timeout_value(100000000, v, sizeof(v)); /* 9 digits are not allowed */
    assert_string_equal(v, "100000S");
}

static void percent_decoding(void **st)
{
    char out[64];
    const char *in = "Namespace %22x%22 not found%3A 100%";
    grpc_percent_decode(in, strlen(in), out, sizeof(out));
    assert_string_equal(out, "Namespace \"x\" not found: 100%");
    grpc_percent_decode("abc", 3, out, 3); /* truncated, still terminated */
    assert_string_equal(out, "ab");
}

static void status_details(void **st)
{
    /* google.rpc.Status{code:5, message:"nf", details:[Any{type_url:"type.googleapis.com/x.NotFound"}]} */
    const char *b64 = "CAUSAm5mGiAKHnR5cGUuZ29vZ2xlYXBpcy5jb20veC5Ob3RGb3VuZA";
    char type[160];
    assert_int_equal(grpc_status_detail_type(b64, strlen(b64), type, sizeof(type)), 0);
    assert_string_equal(type, "type.googleapis.com/x.NotFound");
    assert_int_equal(grpc_status_detail_type("CAU", 3, type, sizeof(type)), 0); /* no details */
    assert_string_equal(type, "");
    assert_int_equal(grpc_status_detail_type("!!!", 3, type, sizeof(type)), -1);
    assert_int_equal(grpc_status_detail_type("GgUKAw", 6, type, sizeof(type)), -1); /* truncated */
}

static void retryable_codes(void **st)
{
    int yes[] = {GRPC_UNAVAILABLE, GRPC_INTERNAL, GRPC_UNKNOWN, GRPC_ABORTED, GRPC_OUT_OF_RANGE,
                 GRPC_DATA_LOSS, GRPC_RESOURCE_EXHAUSTED};
    int no[] = {GRPC_OK, GRPC_CANCELLED, GRPC_INVALID_ARGUMENT, GRPC_DEADLINE_EXCEEDED,
                GRPC_NOT_FOUND, GRPC_ALREADY_EXISTS, GRPC_PERMISSION_DENIED,
                GRPC_FAILED_PRECONDITION, GRPC_UNIMPLEMENTED, GRPC_UNAUTHENTICATED};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(grpc_retryable(yes[i], "busy"));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(grpc_retryable(no[i], ""));
    assert_false(grpc_retryable(GRPC_RESOURCE_EXHAUSTED,
                                "grpc: received message larger than max (5000000 vs. 4194304)"));
}

static void code_names(void **st)
{
    assert_string_equal(grpc_code_name(GRPC_OK), "OK");
    assert_string_equal(grpc_code_name(GRPC_UNAVAILABLE), "UNAVAILABLE");
    assert_string_equal(grpc_code_name(GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(grpc_code_name(17), "INVALID_CODE");
    assert_string_equal(grpc_code_name(-1), "INVALID_CODE");
}

/* gRPC's mapping for an answer that carries an HTTP error and no grpc-status (a proxy or load
 * balancer in between): the retried ones are the gateway and throttling statuses. */
static void http_status_codes(void **st)
{
    assert_int_equal(grpc_code_from_http(400), GRPC_INTERNAL);
    assert_int_equal(grpc_code_from_http(401), GRPC_UNAUTHENTICATED);
    assert_int_equal(grpc_code_from_http(403), GRPC_PERMISSION_DENIED);
    assert_int_equal(grpc_code_from_http(404), GRPC_UNIMPLEMENTED);
    const int unavailable[] = {429, 502, 503, 504};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(grpc_code_from_http(unavailable[i]), GRPC_UNAVAILABLE);
    assert_int_equal(grpc_code_from_http(500), GRPC_UNKNOWN);
    assert_int_equal(grpc_code_from_http(302), GRPC_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_header_golden_bytes),
        cmocka_unit_test(unframe_one_message),
        cmocka_unit_test(unframe_rejects_bad_frames),
        cmocka_unit_test(timeout_values),
        cmocka_unit_test(percent_decoding),
        cmocka_unit_test(status_details),
        cmocka_unit_test(retryable_codes),
        cmocka_unit_test(code_names),
        cmocka_unit_test(http_status_codes),
    };
    return cmocka_run_group_tests_name("grpc_wire", tests, NULL, NULL);
}
