/* sl_arena: a bump allocator for per-request data.
 *
 * Decoding a request allocates its arrays and structs from an arena; the
 * whole request is freed at once with sl_arena_reset, which keeps the first
 * block so steady-state requests allocate nothing. A `limit` bounds the total
 * so hostile input cannot make the broker allocate without bound.
 */
#ifndef SL_BASE_ARENA_H
#define SL_BASE_ARENA_H

#include <stddef.h>

typedef struct sl_arena_block sl_arena_block;

typedef struct sl_arena {
    sl_arena_block *head; /* current block (most recent first) */
    size_t used;          /* bytes allocated since the last reset */
    size_t limit;         /* 0 = unlimited */
    size_t block_size;    /* size of ordinary blocks */
} sl_arena;

void sl_arena_init(sl_arena *a, size_t block_size, size_t limit);
void sl_arena_fini(sl_arena *a);
/* Frees everything but the first block. */
void sl_arena_reset(sl_arena *a);
/* Returns zeroed, 16-byte-aligned memory or NULL if the limit would be passed. */
void *sl_arena_alloc(sl_arena *a, size_t n);
/* Overflow-checked count * size. */
void *sl_arena_alloc_array(sl_arena *a, size_t count, size_t size);
char *sl_arena_strndup(sl_arena *a, const char *s, size_t n);

#endif
