/* sl_map: a hash map from byte-string keys to pointers.
 *
 * Keys are copied into the map; values are borrowed pointers the caller
 * owns. Integer keys use the sl_map_*_u64 helpers (8-byte keys). Open
 * addressing with linear probing and tombstones; grows at 70% load.
 * Iteration order is unspecified and invalidated by insertion.
 */
#ifndef SL_BASE_MAP_H
#define SL_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_map_slot sl_map_slot;

typedef struct sl_map {
    sl_map_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
} sl_map;

void sl_map_init(sl_map *m);
/* Frees the map's memory (not the values). */
void sl_map_fini(sl_map *m);

void *sl_map_get(const sl_map *m, const void *key, size_t key_len);
/* Inserts or replaces; returns the previous value or NULL. */
void *sl_map_put(sl_map *m, const void *key, size_t key_len, void *value);
/* Removes; returns the removed value or NULL. */
void *sl_map_del(sl_map *m, const void *key, size_t key_len);
static inline size_t sl_map_count(const sl_map *m)
{
    return m->count;
}

static inline void *sl_map_get_str(const sl_map *m, const char *s, size_t n)
{
    return sl_map_get(m, s, n);
}
static inline void *sl_map_get_u64(const sl_map *m, uint64_t k)
{
    return sl_map_get(m, &k, 8);
}
static inline void *sl_map_put_u64(sl_map *m, uint64_t k, void *v)
{
    return sl_map_put(m, &k, 8, v);
}
static inline void *sl_map_del_u64(sl_map *m, uint64_t k)
{
    return sl_map_del(m, &k, 8);
}

/* Iteration: `for (size_t it = 0; sl_map_next(m, &it, &key, &klen, &val);)` */
bool sl_map_next(const sl_map *m, size_t *iter, const void **key, size_t *key_len, void **value);

/* 64-bit FNV-1a style hash used by the map (exposed for partitioning). */
uint64_t sl_hash_bytes(const void *p, size_t n);

#endif
