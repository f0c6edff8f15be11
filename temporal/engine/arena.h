/*
 * arena: bump allocation for one task's memory (the unpacked poll response, commands,
 * workflow allocations), released at once when the task ends. Also a ProtobufCAllocator whose
 * free does nothing, for unpacking straight into the arena. Capped: an arena refuses to grow
 * past its limit instead of eating the function's memory.
 */
#ifndef TW_ARENA_H
#define TW_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct arena arena;

arena *arena_new(size_t limit);          /* NULL when out of memory */
void *arena_alloc(arena *a, size_t n);   /* 16-byte aligned; NULL past the limit */
char *arena_strdup(arena *a, const char *s);
void *arena_memdup(arena *a, const void *p, size_t n);
ProtobufCAllocator *arena_allocator(arena *a);
size_t arena_used(const arena *a);
void arena_free(arena *a);               /* NULL is a no-op */

#endif
