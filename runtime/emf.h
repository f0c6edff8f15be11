/*
 * emf: CloudWatch Embedded Metric Format documents. One JSON object on one line whose "_aws"
 * member tells CloudWatch Logs which of its other members are metrics (a number, or an array
 * of at most 100 numbers) and which are dimensions (strings); Lambda sends the line to
 * CloudWatch Logs, which extracts the metrics, with no agent or API call. It formats into the
 * caller's buffer and allocates nothing; it knows nothing of Temporal (what an invocation
 * reports is temporal/worker/metrics.h's).
 *
 * Threading: functions touch only their arguments; an emf_samples is its owner's to lock.
 */
#ifndef TW_EMF_H
#define TW_EMF_H

#include <stddef.h>
#include <stdint.h>

/* The specification's limits: values in a metric's array, metrics in a directive, keys in a
 * dimension set; a dimension value's length. */
enum { EMF_MAX_VALUES = 100, EMF_MAX_METRICS = 100, EMF_MAX_DIMENSIONS = 30,
       EMF_MAX_DIMENSION_VALUE = 1024 };

/* The values of one metric for one document: all of them while there are at most
 * EMF_MAX_VALUES, then a uniform random sample of that many of all offered (reservoir
 * sampling), so averages and percentiles stay right; |seen| counts every value. Zeroed memory
 * is an empty one. */
typedef struct emf_samples {
    uint32_t n;     /* values held in |v| */
    uint64_t seen;  /* values offered */
    uint64_t rng;   /* the sampler's state */
    double v[EMF_MAX_VALUES];
} emf_samples;

void emf_samples_add(emf_samples *s, double value);

/* One metric: |value|, or the values of |samples| when it is not NULL (a metric whose
 * samples are empty is left out of the document: no datapoint rather than a made-up one).
 * |unit| must be one emf_unit_valid() takes. */
typedef struct emf_metric {
    const char *name;
    const char *unit;
    double value;
    const emf_samples *samples;
} emf_metric;

/* A string member of the document: a dimension, or a property (searchable in CloudWatch Logs
 * Insights, no metric). */
typedef struct emf_member {
    const char *name;
    const char *value;
} emf_member;

/* A document: its metrics in |ns|, under one dimension set made of every member of |dims|,
 * with |props| as further string members. Timestamp: Unix ms. */
typedef struct emf_doc {
    const char *ns;
    int64_t timestamp_ms;
    const emf_member *dims;
    int ndims;
    const emf_metric *metrics;
    int nmetrics;
    const emf_member *props;
    int nprops;
} emf_doc;

/* Is |unit| one of CloudWatch's metric units ("Count", "Milliseconds", "Bytes/Second", ...,
 * "None")? */
int emf_unit_valid(const char *unit);

/* Writes |d| into |out| (|cap| bytes) as one line ending in '\n', NUL-terminated. Returns its
 * length (without the NUL), or -1 when it does not fit or |d| breaks the specification (no
 * namespace, more than EMF_MAX_DIMENSIONS dimensions or EMF_MAX_METRICS metrics, a unit not
 * valid, a dimension value empty or longer than EMF_MAX_DIMENSION_VALUE). Strings are
 * JSON-escaped; a value that is not finite is written as 0. */
int emf_format(const emf_doc *d, char *out, size_t cap);

#endif
