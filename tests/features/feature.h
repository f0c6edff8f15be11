/*
 * feature.h: small helpers the scenario libraries of tests/features/ share (JSON numbers and
 * strings in payloads, results in workflow memory, failing with a message). Header-only: each
 * library is one feature.c built the way users build theirs, against include/tw.h alone.
 */
#ifndef TW_FEATURE_H
#define TW_FEATURE_H

#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw.h"

/* The JSON number in |p| (0 when |p| is NULL or holds no number); *ok (may be NULL) says
 * whether it held one. */
static inline long long ft_number(const tw_payload *p, int *ok)
{
    char buf[32];
    if (ok)
        *ok = 0;
    if (!p || !p->data || p->len == 0 || p->len >= sizeof(buf))
        return 0;
    memcpy(buf, p->data, p->len);
    buf[p->len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end != buf && *end == '\0' && ok)
        *ok = 1;
    return v;
}

/* Whether |p| holds exactly the bytes of |json| (for example "\"cancelled\""). */
static inline int ft_is(const tw_payload *p, const char *json)
{
    size_t n = strlen(json);
    return p && p->len == n && (n == 0 || memcmp(p->data, json, n) == 0);
}

/* A json/plain payload printed into workflow memory (lives until the task ends). */
static inline tw_payload ft_wf_json(tw_wf *wf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = tw_wf_alloc(wf, 256);
    int n = out ? vsnprintf(out, 256, fmt, ap) : -1;
    va_end(ap);
    if (n < 0 || n >= 256)
        return tw_null();
    return (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
}

/* The same in activity memory. */
static inline tw_payload ft_act_json(tw_act *act, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = tw_act_alloc(act, 256);
    int n = out ? vsnprintf(out, 256, fmt, ap) : -1;
    va_end(ap);
    if (n < 0 || n >= 256)
        return tw_null();
    return (tw_payload){"json/plain", (const uint8_t *)out, (size_t)n};
}

/* Fails the workflow with an application failure of type "FeatureCheck". */
static inline int ft_wf_fail(tw_wf *wf, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tw_failure f = {.type = "FeatureCheck", .message = msg, .non_retryable = 1};
    return tw_wf_fail(wf, &f);
}

/* Fails the workflow with the failure of the call that just returned TW_EFAILED, or names the
 * call's other error. */
static inline int ft_wf_fail_rc(tw_wf *wf, int rc, const char *what)
{
    const tw_failure *last = tw_wf_last_failure(wf);
    if (rc == TW_EFAILED && last)
        return tw_wf_fail(wf, last);
    return ft_wf_fail(wf, "%s returned %d", what, rc);
}

/* The text of the JSON string in |p| without its quotes (escapes are kept as they are), in
 * workflow memory; "" when |p| holds no string. */
static inline const char *ft_string(tw_wf *wf, const tw_payload *p)
{
    if (!p || !p->data || p->len < 2 || p->data[0] != '"' || p->data[p->len - 1] != '"')
        return "";
    char *s = tw_wf_alloc(wf, p->len - 1);
    if (!s)
        return "";
    memcpy(s, p->data + 1, p->len - 2);
    s[p->len - 2] = '\0';
    return s;
}

/* The type of the failure the last call that returned TW_EFAILED got, or "none". */
static inline const char *ft_failure_type(tw_wf *wf)
{
    const tw_failure *f = tw_wf_last_failure(wf);
    return f && f->type ? f->type : "none";
}

static inline void ft_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

#endif
