/*
 * payload: protobuf <-> public views. See payload.h.
 */
#include "temporal/engine/payload.h"

#include <stdint.h>
#include <string.h>

int payloads_valid(const tw_payload *p, size_t n)
{
    if (n && !p)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].len && !p[i].data)
            return 0;
    return 1;
}

pb_payload *payload_to_pb(arena *a, const tw_payload *p)
{
    if (p->len && !p->data)
        return NULL; /* no bytes to copy: refused, never read through NULL */
    pb_payload *pb = arena_alloc(a, sizeof(*pb));
    pb_metadata_entry *enc = arena_alloc(a, sizeof(*enc));
    pb_metadata_entry **meta = arena_alloc(a, sizeof(*meta));
    if (!pb || !enc || !meta)
        return NULL;
    PB_INIT(temporal__api__common__v1__payload__descriptor, pb);
    PB_INIT(temporal__api__common__v1__payload__metadata_entry__descriptor, enc);
    const char *encoding = p->encoding ? p->encoding : "binary/plain";
    enc->key = "encoding";
    enc->value.data = (uint8_t *)arena_strdup(a, encoding);
    enc->value.len = strlen(encoding);
    if (!enc->value.data)
        return NULL;
    meta[0] = enc;
    pb->n_metadata = 1;
    pb->metadata = meta;
    if (p->len) {
        pb->data.data = arena_memdup(a, p->data, p->len);
        if (!pb->data.data)
            return NULL;
        pb->data.len = p->len;
    }
    return pb;
}

pb_payloads *payloads_to_pb(arena *a, const tw_payload *p, size_t n)
{
    if (!n)
        return NULL;
    pb_payloads *ps = arena_alloc(a, sizeof(*ps));
    pb_payload **items = arena_alloc(a, n * sizeof(*items));
    if (!ps || !items)
        return NULL;
    PB_INIT(temporal__api__common__v1__payloads__descriptor, ps);
    for (size_t i = 0; i < n; i++)
        if (!(items[i] = payload_to_pb(a, &p[i])))
            return NULL;
    ps->n_payloads = n;
    ps->payloads = items;
    return ps;
}

tw_payload payload_from_pb(arena *a, const pb_payload *pb)
{
    tw_payload p = {"binary/plain", pb->data.data, pb->data.len};
    for (size_t i = 0; i < pb->n_metadata; i++) {
        const pb_metadata_entry *m = pb->metadata[i];
        if (m->key && strcmp(m->key, "encoding") == 0) {
            char *e = arena_alloc(a, m->value.len + 1);
            if (e) {
                if (m->value.len) /* an empty value unpacks with data NULL */
                    memcpy(e, m->value.data, m->value.len);
                e[m->value.len] = '\0';
                p.encoding = e;
            }
        }
    }
    return p;
}

int payloads_from_pb(arena *a, const pb_payloads *pb, tw_payload **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!pb || !pb->n_payloads)
        return 0;
    tw_payload *v = arena_alloc(a, pb->n_payloads * sizeof(*v));
    if (!v)
        return -1;
    for (size_t i = 0; i < pb->n_payloads; i++)
        v[i] = payload_from_pb(a, pb->payloads[i]);
    *out = v;
    *n = pb->n_payloads;
    return 0;
}

/* Copies |p| (encoding and bytes) into |d|. 0, or -1 when |a| is full. */
static int payload_copy(arena *a, const tw_payload *p, tw_payload *d)
{
    *d = (tw_payload){NULL, NULL, p->len};
    if (p->encoding && !(d->encoding = arena_strdup(a, p->encoding)))
        return -1;
    if (p->len && !(d->data = arena_memdup(a, p->data, p->len)))
        return -1;
    return 0;
}

int failure_copy(arena *a, const tw_failure *f, tw_failure **out)
{
    *out = NULL;
    if (!f || f->ndetails > SIZE_MAX / sizeof(tw_payload) ||
        !payloads_valid(f->details, f->ndetails))
        return TW_EINVAL;
    tw_failure *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return TW_ENOMEM;
    *c = (tw_failure){.non_retryable = f->non_retryable};
    if ((f->type && !(c->type = arena_strdup(a, f->type))) ||
        (f->message && !(c->message = arena_strdup(a, f->message))))
        return TW_ENOMEM;
    if (f->ndetails) {
        tw_payload *d = arena_alloc(a, f->ndetails * sizeof(*d));
        if (!d)
            return TW_ENOMEM;
        for (size_t i = 0; i < f->ndetails; i++)
            if (payload_copy(a, &f->details[i], &d[i]))
                return TW_ENOMEM;
        c->details = d;
        c->ndetails = f->ndetails;
    }
    *out = c;
    return TW_OK;
}

pb_failure *failure_to_pb(arena *a, const tw_failure *f)
{
    pb_failure *pf = arena_alloc(a, sizeof(*pf));
    Temporal__Api__Failure__V1__ApplicationFailureInfo *info = arena_alloc(a, sizeof(*info));
    if (!pf || !info)
        return NULL;
    temporal__api__failure__v1__failure__init(pf);
    temporal__api__failure__v1__application_failure_info__init(info);
    pf->message = arena_strdup(a, f->message ? f->message : "");
    pf->source = "CSDK";
    info->type = arena_strdup(a, f->type ? f->type : "Error");
    info->non_retryable = f->non_retryable ? 1 : 0;
    info->details = payloads_to_pb(a, f->details, f->ndetails);
    if (f->ndetails && !info->details)
        return NULL;
    pf->failure_info_case = TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO;
    pf->application_failure_info = info;
    return pf->message && info->type ? pf : NULL;
}

tw_failure *failure_from_pb(arena *a, const pb_failure *f)
{
    tw_failure *out = arena_alloc(a, sizeof(*out));
    if (!out)
        return NULL;
    memset(out, 0, sizeof(*out));
    /* An activity failure wraps the application error, or a timeout, in its cause. */
    const pb_failure *use = f;
    if (f && f->failure_info_case ==
                 TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_ACTIVITY_FAILURE_INFO &&
        f->cause)
        use = f->cause;
    out->message = use && use->message ? use->message : "unknown failure";
    out->type = "Error";
    if (use && use->failure_info_case ==
                   TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_APPLICATION_FAILURE_INFO &&
        use->application_failure_info) {
        out->type = use->application_failure_info->type ? use->application_failure_info->type : "Error";
        out->non_retryable = use->application_failure_info->non_retryable;
        tw_payload *d;
        size_t n;
        if (payloads_from_pb(a, use->application_failure_info->details, &d, &n) == 0) {
            out->details = d;
            out->ndetails = n;
        }
    } else if (use && use->failure_info_case ==
                          TEMPORAL__API__FAILURE__V1__FAILURE__FAILURE_INFO_TIMEOUT_FAILURE_INFO) {
        out->type = "Timeout";
    }
    return out;
}

pb_duration *duration_ms(arena *a, int64_t ms)
{
    if (ms <= 0)
        return NULL;
    pb_duration *d = arena_alloc(a, sizeof(*d));
    if (!d)
        return NULL;
    google__protobuf__duration__init(d);
    d->seconds = ms / 1000;
    d->nanos = (int32_t)((ms % 1000) * 1000000);
    return d;
}

int64_t time_to_ms(int64_t seconds, int32_t nanos)
{
    /* Beyond +-(INT64_MAX / 1000 - 3) s even the nanos' 2147 ms could overflow. */
    const int64_t limit = INT64_MAX / 1000 - 3;
    if (seconds > limit)
        return INT64_MAX;
    if (seconds < -limit)
        return INT64_MIN;
    return seconds * 1000 + nanos / 1000000;
}

int64_t duration_to_ms(const pb_duration *d)
{
    return d ? time_to_ms(d->seconds, d->nanos) : 0;
}
