#include "base/arena.h"

#include <stdint.h>
#include <string.h>

#include "base/mem.h"

struct sl_arena_block {
    sl_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void sl_arena_init(sl_arena *a, size_t block_size, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
    a->block_size = block_size ? block_size : 4096;
}

void sl_arena_fini(sl_arena *a)
{
    sl_arena_block *b = a->head;
    while (b) {
        sl_arena_block *next = b->next;
        sl_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

void sl_arena_reset(sl_arena *a)
{
    sl_arena_block *b = a->head;
    if (!b) return;
    while (b->next) { /* keep only the oldest (first) block */
        sl_arena_block *next = b->next;
        sl_free(b);
        b = next;
    }
    a->used = 0;
    if (b->size > a->block_size) { /* an outsized block is not worth keeping */
        sl_free(b);
        a->head = NULL;
        return;
    }
    a->head = b;
    b->used = 0;
}

void *sl_arena_alloc(sl_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (a->limit && (n > a->limit || a->used > a->limit - n)) return NULL;
    sl_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        sl_arena_block *nb = sl_malloc(sizeof *nb + size);
        nb->size = size;
        nb->used = 0;
        /* New blocks go in front; the first-ever block stays last and is the
         * one reset keeps. */
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void *sl_arena_alloc_array(sl_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return sl_arena_alloc(a, count * size);
}

char *sl_arena_strndup(sl_arena *a, const char *s, size_t n)
{
    char *d = sl_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
