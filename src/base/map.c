#include "base/map.h"

#include <string.h>

#include "base/mem.h"

/* Short keys are stored inline, longer ones on the heap. */
#define INLINE_KEY 16

struct sl_map_slot {
    uint64_t hash; /* 0 = empty, 1 = tombstone, else hash | 2 */
    void *value;
    uint32_t key_len;
    union {
        uint8_t inline_key[INLINE_KEY];
        uint8_t *heap_key;
    } k;
};

#define SLOT_EMPTY 0
#define SLOT_DEAD  1

uint64_t sl_hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static inline const uint8_t *slot_key(const sl_map_slot *s)
{
    return s->key_len <= INLINE_KEY ? s->k.inline_key : s->k.heap_key;
}

static inline uint64_t tag(uint64_t h)
{
    return h | 2; /* never 0 or 1 */
}

void sl_map_init(sl_map *m)
{
    memset(m, 0, sizeof *m);
}

void sl_map_fini(sl_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash > SLOT_DEAD && m->slots[i].key_len > INLINE_KEY)
            sl_free(m->slots[i].k.heap_key);
    sl_free(m->slots);
    memset(m, 0, sizeof *m);
}

static sl_map_slot *find(const sl_map *m, const void *key, size_t len, uint64_t h)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        sl_map_slot *s = &m->slots[i];
        if (s->hash == SLOT_EMPTY) return NULL;
        if (s->hash == h && s->key_len == len && memcmp(slot_key(s), key, len) == 0) return s;
    }
}

static void grow(sl_map *m)
{
    size_t old_cap = m->cap;
    sl_map_slot *old = m->slots;
    size_t cap = old_cap ? old_cap : 8;
    while ((m->count + 1) * 10 >= cap * 7)
        cap *= 2;
    m->slots = sl_calloc(cap, sizeof *m->slots);
    m->cap = cap;
    m->used = m->count;
    size_t mask = cap - 1;
    for (size_t j = 0; j < old_cap; j++) {
        if (old[j].hash <= SLOT_DEAD) continue;
        size_t i = old[j].hash & mask;
        while (m->slots[i].hash != SLOT_EMPTY)
            i = (i + 1) & mask;
        m->slots[i] = old[j];
    }
    sl_free(old);
}

void *sl_map_get(const sl_map *m, const void *key, size_t key_len)
{
    sl_map_slot *s = find(m, key, key_len, tag(sl_hash_bytes(key, key_len)));
    return s ? s->value : NULL;
}

void *sl_map_put(sl_map *m, const void *key, size_t key_len, void *value)
{
    uint64_t h = tag(sl_hash_bytes(key, key_len));
    sl_map_slot *s = find(m, key, key_len, h);
    if (s) {
        void *prev = s->value;
        s->value = value;
        return prev;
    }
    if ((m->used + 1) * 10 >= m->cap * 7) grow(m);
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].hash > SLOT_DEAD)
        i = (i + 1) & mask;
    s = &m->slots[i];
    if (s->hash == SLOT_EMPTY) m->used++;
    s->hash = h;
    s->value = value;
    s->key_len = (uint32_t)key_len;
    if (key_len <= INLINE_KEY) {
        memcpy(s->k.inline_key, key, key_len);
    } else {
        s->k.heap_key = sl_malloc(key_len);
        memcpy(s->k.heap_key, key, key_len);
    }
    m->count++;
    return NULL;
}

void *sl_map_del(sl_map *m, const void *key, size_t key_len)
{
    sl_map_slot *s = find(m, key, key_len, tag(sl_hash_bytes(key, key_len)));
    if (!s) return NULL;
    void *prev = s->value;
    if (s->key_len > INLINE_KEY) sl_free(s->k.heap_key);
    s->hash = SLOT_DEAD;
    s->value = NULL;
    s->key_len = 0;
    m->count--;
    return prev;
}

bool sl_map_next(const sl_map *m, size_t *iter, const void **key, size_t *key_len, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        const sl_map_slot *s = &m->slots[i];
        if (s->hash <= SLOT_DEAD) continue;
        if (key) *key = slot_key(s);
        if (key_len) *key_len = s->key_len;
        if (value) *value = s->value;
        *iter = i + 1;
        return true;
    }
    *iter = m->cap;
    return false;
}
