/*
 * wfcache: kept runs by run id in a chained hash table, on a list from the most to the least
 * recently used. See wfcache.h.
 */
#define _GNU_SOURCE
#include "temporal/worker/wfcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "temporal/clock.h"

typedef struct entry {
    char *run_id;
    wf_exec *x;
    int held;                    /* taken by a caller, not given back yet */
    struct entry *chain;         /* the next one in its bucket */
    struct entry *newer, *older; /* recency list */
} entry;

struct wfcache {
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* broadcast when a held run comes back or goes */
    int capacity, size;
    entry **buckets;
    size_t nbuckets;             /* a power of two */
    entry *newest, *oldest;
};

/* Runs freed outside the lock, up to this many per call (the rest on the next one). */
#define FREE_BATCH 16

static size_t bucket_of(const wfcache *c, const char *run_id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = run_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)h & (c->nbuckets - 1);
}

wfcache *wfcache_new(int capacity)
{
    if (capacity < 1)
        return NULL;
    wfcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->capacity = capacity;
    c->nbuckets = 16;
    while (c->nbuckets < (size_t)capacity * 2)
        c->nbuckets *= 2;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    return c;
}

static entry *find(wfcache *c, const char *run_id)
{
    for (entry *e = c->buckets[bucket_of(c, run_id)]; e; e = e->chain)
        if (strcmp(e->run_id, run_id) == 0)
            return e;
    return NULL;
}

static void unlink_recency(wfcache *c, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void make_newest(wfcache *c, entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (!c->oldest)
        c->oldest = e;
}

/* Takes |e| out of the cache and frees it, but not its run. */
static void remove_entry(wfcache *c, entry *e)
{
    entry **p = &c->buckets[bucket_of(c, e->run_id)];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    unlink_recency(c, e);
    c->size--;
    free(e->run_id);
    free(e);
    pthread_cond_broadcast(&c->cv);
}

wf_exec *wfcache_take(wfcache *c, const char *run_id, int64_t wait_ms)
{
    pthread_mutex_lock(&c->mu);
    struct timespec until = clock_mono_after(wait_ms > 0 ? wait_ms : 0);
    wf_exec *x = NULL;
    for (;;) {
        entry *e = find(c, run_id);
        if (!e)
            break;
        if (!e->held) {
            e->held = 1;
            unlink_recency(c, e);
            make_newest(c, e);
            x = e->x;
            break;
        }
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) {
            e = find(c, run_id);
            if (e && e->held)
                remove_entry(c, e); /* forgotten: its holder frees the run */
            else if (e)
                continue;           /* came back just now */
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return x;
}

/* Takes up to |max| of the least recently used runs not held out of the cache while it holds
 * more than its capacity, into |out|. Returns how many. */
static int evict(wfcache *c, wf_exec **out, int max)
{
    int n = 0;
    for (entry *e = c->oldest; e && c->size > c->capacity && n < max;) {
        entry *newer = e->newer;
        if (!e->held) {
            out[n++] = e->x;
            remove_entry(c, e);
        }
        e = newer;
    }
    return n;
}

void wfcache_put(wfcache *c, const char *run_id, wf_exec *x)
{
    wf_exec *drop[FREE_BATCH + 1];
    int n = 0;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, run_id);
    if (e && e->x != x) {
        /* Another run of it came in while this one was forgotten: keep the one further on. */
        if (wf_exec_next_event(x) > wf_exec_next_event(e->x) && !e->held) {
            drop[n++] = e->x;
            e->x = x;
        } else {
            drop[n++] = x;
            x = NULL;
        }
    }
    if (!e && (e = calloc(1, sizeof(*e))) && !(e->run_id = strdup(run_id))) {
        free(e);
        e = NULL;
    }
    if (!e) {
        drop[n++] = x; /* out of memory: the run is simply not kept */
    } else if (x) {
        if (e->x == x) {
            unlink_recency(c, e);
        } else if (!e->x) {
            size_t b = bucket_of(c, run_id);
            e->chain = c->buckets[b];
            c->buckets[b] = e;
            c->size++;
        }
        e->x = x;
        e->held = 0;
        make_newest(c, e);
    }
    n += evict(c, drop + n, FREE_BATCH);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < n; i++)
        wf_exec_free(drop[i]);
}

void wfcache_drop(wfcache *c, const char *run_id, wf_exec *x)
{
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, run_id);
    if (e && e->x == x)
        remove_entry(c, e);
    pthread_mutex_unlock(&c->mu);
    wf_exec_free(x);
}

int wfcache_size(wfcache *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->size;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void wfcache_visit(wfcache *c, void (*fn)(void *arg, const wf_exec *x), void *arg)
{
    pthread_mutex_lock(&c->mu);
    for (entry *e = c->newest; e; e = e->older)
        if (!e->held)
            fn(arg, e->x);
    pthread_mutex_unlock(&c->mu);
}

void wfcache_free(wfcache *c)
{
    if (!c)
        return;
    for (size_t b = 0; b < c->nbuckets; b++)
        for (entry *e = c->buckets[b], *next; e; e = next) {
            next = e->chain;
            if (!e->held)
                wf_exec_free(e->x);
            free(e->run_id);
            free(e);
        }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
