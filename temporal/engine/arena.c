/*
 * arena: a list of chunks; allocation bumps a pointer in the newest one. Chunks of the usual
 * size (CHUNK) that freed arenas held are kept for the next arenas, up to SPARE_CHUNKS for the
 * process: a task makes and frees an arena, and glibc's free of a 64 KiB block consolidates
 * its heap each time, a tenth of a short replay.
 */
#include "temporal/engine/arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)
#define SPARE_CHUNKS 8

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct arena {
    chunk *head;
    size_t limit, total;
    ProtobufCAllocator pb;
};

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static chunk *spare; /* kept chunks, linked by next */
static int nspare;

/* A chunk of |size| bytes: a kept one when |size| is CHUNK and one is kept, else malloc's. */
static chunk *chunk_new(size_t size)
{
    chunk *c = NULL;
    if (size == CHUNK) {
        pthread_mutex_lock(&spare_lock);
        if ((c = spare)) {
            spare = c->next;
            nspare--;
        }
        pthread_mutex_unlock(&spare_lock);
    }
    if (!c && !(c = malloc(sizeof(chunk) + size)))
        return NULL;
    c->size = size;
    c->used = 0;
    return c;
}

static void chunk_free(chunk *c)
{
    if (c->size == CHUNK) {
        pthread_mutex_lock(&spare_lock);
        int kept = nspare < SPARE_CHUNKS;
        if (kept) {
            c->next = spare;
            spare = c;
            nspare++;
        }
        pthread_mutex_unlock(&spare_lock);
        if (kept)
            return;
    }
    free(c);
}

static void *pb_alloc(void *ud, size_t n) { return arena_alloc(ud, n); }
static void pb_free(void *ud, void *p) { (void)ud; (void)p; }

arena *arena_new(size_t limit)
{
    arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->limit = limit;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    return a;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n > a->limit)
        return NULL; /* also keeps the rounding below from wrapping around */
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (!a->head || a->head->size - a->head->used < n) {
        size_t size = n > CHUNK ? n : CHUNK;
        if (a->total + size > a->limit)
            return NULL;
        chunk *c = chunk_new(size);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->total += size;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

void *arena_memdup(arena *a, const void *p, size_t n)
{
    void *d = arena_alloc(a, n);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_memdup(a, s, strlen(s) + 1) : NULL;
}

ProtobufCAllocator *arena_allocator(arena *a) { return &a->pb; }
size_t arena_used(const arena *a) { return a->total; }

void arena_free(arena *a)
{
    if (!a)
        return;
    while (a->head) {
        chunk *c = a->head;
        a->head = c->next;
        chunk_free(c);
    }
    free(a);
}
