/*
 * emf: Embedded Metric Format documents, written into a bounded buffer. See emf.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "emf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* CloudWatch's metric units (MetricDatum's Unit), as the specification's schema lists them. */
static const char *const UNITS[] = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None"};

int emf_unit_valid(const char *unit)
{
    for (size_t i = 0; unit && i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
        if (strcmp(unit, UNITS[i]) == 0)
            return 1;
    return 0;
}

/* xorshift64*: enough to pick which sample a new value replaces. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

void emf_samples_add(emf_samples *s, double value)
{
    s->seen++;
    if (s->n < EMF_MAX_VALUES) {
        s->v[s->n++] = value;
        return;
    }
    /* Algorithm R: the k-th value replaces a random one with probability 100/k. */
    uint64_t j = next_random(&s->rng) % s->seen;
    if (j < EMF_MAX_VALUES)
        s->v[j] = value;
}

/* ---- the bounded writer ---- */

typedef struct writer {
    char *out;
    size_t cap, len;
    int full;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->full || w->len + n >= w->cap) {
        w->full = 1;
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static void puts_raw(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void putf(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(writer *w, const char *fmt, ...)
{
    char tmp[64]; /* a number, or a short prefix with one */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        w->full = 1;
    else
        put(w, tmp, (size_t)n);
}

/* |s| as a JSON string, quotes included. */
static void put_string(writer *w, const char *s)
{
    put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            put(w, esc, 2);
        } else if (ch < 0x20) {
            putf(w, "\\u%04x", ch);
        } else {
            put(w, s, 1);
        }
    }
    put(w, "\"", 1);
}

/* A JSON number: whole values without a fraction, others to the microsecond of a millisecond
 * (three decimals); NaN and infinities, which JSON has no words for, as 0. */
static void put_number(writer *w, double v)
{
    if (!isfinite(v))
        v = 0;
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) /* no libm: the runtime has none */
        putf(w, "%lld", (long long)v);
    else
        putf(w, "%.3f", v);
}

static int metric_present(const emf_metric *m)
{
    return !m->samples || m->samples->n > 0;
}

static int doc_valid(const emf_doc *d)
{
    if (!d->ns || !*d->ns || d->ndims > EMF_MAX_DIMENSIONS || d->nmetrics > EMF_MAX_METRICS)
        return 0;
    for (int i = 0; i < d->ndims; i++) {
        size_t n = strlen(d->dims[i].value);
        if (!*d->dims[i].name || n == 0 || n > EMF_MAX_DIMENSION_VALUE)
            return 0;
    }
    for (int i = 0; i < d->nmetrics; i++)
        if (!*d->metrics[i].name || !emf_unit_valid(d->metrics[i].unit))
            return 0;
    return 1;
}

int emf_format(const emf_doc *d, char *out, size_t cap)
{
    if (!cap || !doc_valid(d))
        return -1;
    writer w = {.out = out, .cap = cap};
    putf(&w, "{\"_aws\":{\"Timestamp\":%lld,", (long long)d->timestamp_ms);
    puts_raw(&w, "\"CloudWatchMetrics\":[{\"Namespace\":");
    put_string(&w, d->ns);
    puts_raw(&w, ",\"Dimensions\":[[");
    for (int i = 0; i < d->ndims; i++) {
        if (i)
            put(&w, ",", 1);
        put_string(&w, d->dims[i].name);
    }
    puts_raw(&w, "]],\"Metrics\":[");
    int first = 1;
    for (int i = 0; i < d->nmetrics; i++) {
        const emf_metric *m = &d->metrics[i];
        if (!metric_present(m))
            continue;
        puts_raw(&w, first ? "{\"Name\":" : ",{\"Name\":");
        first = 0;
        put_string(&w, m->name);
        puts_raw(&w, ",\"Unit\":");
        put_string(&w, m->unit);
        put(&w, "}", 1);
    }
    puts_raw(&w, "]}]}");
    for (int i = 0; i < d->ndims; i++) {
        put(&w, ",", 1);
        put_string(&w, d->dims[i].name);
        put(&w, ":", 1);
        put_string(&w, d->dims[i].value);
    }
    for (int i = 0; i < d->nprops; i++) {
        put(&w, ",", 1);
        put_string(&w, d->props[i].name);
        put(&w, ":", 1);
        put_string(&w, d->props[i].value);
    }
    for (int i = 0; i < d->nmetrics; i++) {
        const emf_metric *m = &d->metrics[i];
        if (!metric_present(m))
            continue;
        put(&w, ",", 1);
        put_string(&w, m->name);
        put(&w, ":", 1);
        if (!m->samples) {
            put_number(&w, m->value);
            continue;
        }
        put(&w, "[", 1);
        for (uint32_t k = 0; k < m->samples->n; k++) {
            if (k)
                put(&w, ",", 1);
            put_number(&w, m->samples->v[k]);
        }
        put(&w, "]", 1);
    }
    puts_raw(&w, "}\n");
    if (w.full)
        return -1;
    out[w.len] = '\0';
    return (int)w.len;
}
