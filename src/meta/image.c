/* The metadata image and its snapshot format.
 *
 * Snapshot (the FSM state handed to libraft; stored by it in
 * snapshot-<term>-<index>-<ts> files) = sl_meta_image_encode output:
 *
 *   bytes 0-3   magic "SLMI"
 *   byte  4     version, 1
 *   bytes 5-7   zero
 *   bytes 8-11  CRC32C (big-endian) of every byte from 12 to the end
 *   then        varlong offset (Raft index of the last applied record)
 *               varlong next_producer_id
 *               str cluster_id
 *               uvarint n_brokers, n x (varint node_id, varint port,
 *                                       str host, nstr rack)       by node id
 *               uvarint n_config_sets, n x (varint node_id, uvarint n,
 *                                       n x (str key, str value))  by node id
 *               uvarint n_topics, n x TOPIC record body             by name
 * (field encodings as in record.c). Restoring re-applies the brokers,
 * configs and topics as records through the same checks as the log, so a
 * snapshot cannot build an image the log could not.
 *
 * Image invariants (kept by sl_meta_image_check before every mutation):
 *   1. Topic names are valid, unique, and pairwise distinct after mapping
 *      '.' to '_'; topic ids are unique and never all-zero.
 *   2. Every topic has 1..SL_META_MAX_PARTITIONS partitions numbered 0..n-1;
 *      partitions are only ever added.
 *   3. A partition's replicas are distinct node ids >= 0; its ISR is a
 *      subset of them; its leader is -1 or one of them; leader epochs never
 *      go down, and go up whenever the leader changes.
 *   4. Config keys are non-empty and unique per resource; keys and values
 *      contain no NUL byte.
 *   5. Producer id blocks are handed out contiguously from 0 upwards.
 */
#include "meta/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/mem.h"

typedef struct kv {
    char *key;
    char *value;
} kv;

typedef struct kvset {
    kv *items; /* sorted by key */
    uint32_t n, cap;
} kvset;

struct sl_meta_partition {
    int32_t leader;
    int32_t leader_epoch;
    uint32_t n_replicas;
    uint32_t n_isr;
    int32_t *ids; /* replicas, then isr: one allocation */
};

struct sl_meta_topic {
    char *name;
    uint32_t name_len;
    uint8_t id[16];
    uint64_t name_hash; /* of the '.'->'_' normalized name */
    size_t index;       /* position in image->topics */
    uint32_t n_partitions;
    sl_meta_partition *partitions;
    kvset configs;
};

struct sl_meta_broker {
    int32_t node_id;
    int32_t port;
    char *host;
    char *rack;
};

typedef struct broker_cfg {
    int32_t node_id;
    kvset kv;
} broker_cfg;

/* Open addressing, linear probing, backward-shift deletion (no tombstones). */
typedef struct table {
    sl_meta_topic **slots;
    size_t cap; /* power of two */
    size_t n;
} table;

struct sl_meta_image {
    char *cluster_id;
    int64_t offset;
    int64_t next_producer_id;
    sl_meta_topic **topics;
    size_t n_topics, cap_topics;
    table by_name; /* hash of normalized name */
    table by_id;
    sl_meta_broker *brokers; /* sorted by node id */
    size_t n_brokers;
    broker_cfg *bcfg; /* sorted by node id */
    size_t n_bcfg;
};

/* ---- names, ids ---------------------------------------------------------- */

bool sl_meta_valid_topic_name(const char *name, size_t len)
{
    if (!name || len == 0 || len > SL_META_MAX_TOPIC_NAME) return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static inline char norm(char c)
{
    return c == '.' ? '_' : c;
}

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)norm(s[i]);
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static uint64_t id_hash(const uint8_t id[16])
{
    /* Ids are random; fold them and mix so chosen ids still spread. */
    uint64_t h = sl_load_be64(id) ^ (sl_load_be64(id + 8) * 0x9E3779B97F4A7C15ULL);
    return h ^ (h >> 31);
}

bool sl_meta_uuid_is_zero(const uint8_t id[16])
{
    for (int i = 0; i < 16; i++)
        if (id[i]) return false;
    return true;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void sl_meta_uuid_format(const uint8_t id[16], char out[23])
{
    int o = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = ((uint32_t)id[i] << 16) | ((uint32_t)id[i + 1] << 8) | id[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    out[o++] = b64url[id[15] >> 2];
    out[o++] = b64url[(id[15] & 3) << 4];
    out[o] = '\0';
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

bool sl_meta_uuid_parse(const char *s, uint8_t id[16])
{
    if (!s || strlen(s) != 22) return false;
    int v[22];
    for (int i = 0; i < 22; i++)
        if ((v[i] = b64val(s[i])) < 0) return false;
    if (v[21] & 15) /* the last character carries 2 bits */
        return false;
    for (int i = 0, o = 0; i < 20; i += 4, o += 3) {
        uint32_t w = ((uint32_t)v[i] << 18) | ((uint32_t)v[i + 1] << 12) |
                     ((uint32_t)v[i + 2] << 6) | (uint32_t)v[i + 3];
        id[o] = (uint8_t)(w >> 16);
        id[o + 1] = (uint8_t)(w >> 8);
        id[o + 2] = (uint8_t)w;
    }
    id[15] = (uint8_t)((v[20] << 2) | (v[21] >> 4));
    return true;
}

/* ---- hash tables --------------------------------------------------------- */

static void table_insert_raw(table *t, sl_meta_topic *topic, uint64_t h)
{
    size_t mask = t->cap - 1;
    size_t i = h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = topic;
    t->n++;
}

static void table_grow(table *t, uint64_t (*hash)(const sl_meta_topic *))
{
    size_t old_cap = t->cap;
    sl_meta_topic **old = t->slots;
    t->cap = old_cap ? old_cap * 2 : 16;
    t->slots = sl_calloc(t->cap, sizeof *t->slots);
    t->n = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) table_insert_raw(t, old[i], hash(old[i]));
    sl_free(old);
}

static uint64_t topic_name_hash(const sl_meta_topic *t)
{
    return t->name_hash;
}
static uint64_t topic_id_hash(const sl_meta_topic *t)
{
    return id_hash(t->id);
}

static void table_insert(table *t, sl_meta_topic *topic, uint64_t (*hash)(const sl_meta_topic *))
{
    if ((t->n + 1) * 2 > t->cap) /* load factor <= 1/2 */
        table_grow(t, hash);
    table_insert_raw(t, topic, hash(topic));
}

static void table_remove(table *t, sl_meta_topic *topic, uint64_t (*hash)(const sl_meta_topic *))
{
    size_t mask = t->cap - 1;
    size_t i = hash(topic) & mask;
    while (t->slots[i] != topic) {
        if (!t->slots[i]) return; /* not present: nothing to do */
        i = (i + 1) & mask;
    }
    /* Shift back later entries of the run whose home slot is not in (i, j]. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->slots[j]) break;
        size_t k = hash(t->slots[j]) & mask;
        bool between = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!between) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = NULL;
    t->n--;
}

static bool name_eq_norm(const sl_meta_topic *t, const char *name, size_t len)
{
    if (t->name_len != len) return false;
    for (size_t i = 0; i < len; i++)
        if (norm(t->name[i]) != norm(name[i])) return false;
    return true;
}

const sl_meta_topic *sl_meta_topic_by_name(const sl_meta_image *img, const char *name, size_t len)
{
    const table *t = &img->by_name;
    if (!t->cap || !name) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = name_hash(name, len) & mask; t->slots[i]; i = (i + 1) & mask) {
        const sl_meta_topic *tp = t->slots[i];
        if (tp->name_len == len && memcmp(tp->name, name, len) == 0) return tp;
    }
    return NULL;
}

const sl_meta_topic *sl_meta_topic_colliding(const sl_meta_image *img, const char *name, size_t len)
{
    const table *t = &img->by_name;
    if (!t->cap || !name) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = name_hash(name, len) & mask; t->slots[i]; i = (i + 1) & mask) {
        const sl_meta_topic *tp = t->slots[i];
        if (name_eq_norm(tp, name, len) && memcmp(tp->name, name, len) != 0) return tp;
    }
    return NULL;
}

const sl_meta_topic *sl_meta_topic_by_id(const sl_meta_image *img, const uint8_t id[16])
{
    const table *t = &img->by_id;
    if (!t->cap) return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = id_hash(id) & mask; t->slots[i]; i = (i + 1) & mask)
        if (memcmp(t->slots[i]->id, id, 16) == 0) return t->slots[i];
    return NULL;
}

/* ---- key/value sets ------------------------------------------------------ */

static void kvset_free(kvset *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        sl_free(s->items[i].key);
        sl_free(s->items[i].value);
    }
    sl_free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

/* Binary search; returns the index of `key` or where it would go (found=false). */
static uint32_t kvset_find(const kvset *s, const char *key, size_t len, bool *found)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *k = s->items[mid].key;
        size_t klen = strlen(k);
        int c = memcmp(k, key, klen < len ? klen : len);
        if (c == 0) c = (klen > len) - (klen < len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static const char *kvset_get(const kvset *s, const char *key)
{
    bool found;
    uint32_t i = kvset_find(s, key, strlen(key), &found);
    return found ? s->items[i].value : NULL;
}

static void kvset_set(kvset *s, sl_meta_str key, sl_meta_str value)
{
    bool found;
    uint32_t i = kvset_find(s, key.ptr, key.len, &found);
    if (found) {
        sl_free(s->items[i].value);
        s->items[i].value = sl_strndup(value.ptr, value.len);
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->items = sl_realloc(s->items, s->cap * sizeof *s->items);
    }
    memmove(&s->items[i + 1], &s->items[i], (s->n - i) * sizeof *s->items);
    s->items[i].key = sl_strndup(key.ptr, key.len);
    s->items[i].value = sl_strndup(value.ptr, value.len);
    s->n++;
}

static void kvset_del(kvset *s, sl_meta_str key)
{
    bool found;
    uint32_t i = kvset_find(s, key.ptr, key.len, &found);
    if (!found) return;
    sl_free(s->items[i].key);
    sl_free(s->items[i].value);
    memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof *s->items);
    s->n--;
}

/* Applies ops; returns whether anything changed. */
static bool kvset_apply(kvset *s, const sl_meta_config_op *ops, uint32_t n, bool replace)
{
    bool changed = false;
    if (replace) {
        /* Drop keys not named by any op. */
        for (uint32_t i = s->n; i-- > 0;) {
            bool named = false;
            for (uint32_t j = 0; j < n && !named; j++)
                named = ops[j].key.len == strlen(s->items[i].key) &&
                        memcmp(ops[j].key.ptr, s->items[i].key, ops[j].key.len) == 0;
            if (!named) {
                sl_meta_str k = sl_meta_cstr(s->items[i].key);
                kvset_del(s, k);
                changed = true;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *old = NULL;
        bool found;
        uint32_t at = kvset_find(s, ops[i].key.ptr, ops[i].key.len, &found);
        if (found) old = s->items[at].value;
        if (ops[i].value.ptr) {
            if (!old || strlen(old) != ops[i].value.len ||
                memcmp(old, ops[i].value.ptr, ops[i].value.len) != 0) {
                kvset_set(s, ops[i].key, ops[i].value);
                changed = true;
            }
        } else if (found) {
            kvset_del(s, ops[i].key);
            changed = true;
        }
    }
    return changed;
}

static size_t kvset_memory(const kvset *s)
{
    size_t m = s->cap * sizeof(kv);
    for (uint32_t i = 0; i < s->n; i++)
        m += strlen(s->items[i].key) + strlen(s->items[i].value) + 2;
    return m;
}

/* ---- image lifecycle ------------------------------------------------------ */

sl_meta_image *sl_meta_image_new(const char *cluster_id)
{
    sl_meta_image *img = SL_NEW(sl_meta_image);
    img->cluster_id = sl_strdup(cluster_id ? cluster_id : "");
    return img;
}

static void partition_free(sl_meta_partition *p)
{
    sl_free(p->ids);
}

static void topic_free(sl_meta_topic *t)
{
    for (uint32_t i = 0; i < t->n_partitions; i++)
        partition_free(&t->partitions[i]);
    sl_free(t->partitions);
    kvset_free(&t->configs);
    sl_free(t->name);
    sl_free(t);
}

void sl_meta_image_free(sl_meta_image *img)
{
    if (!img) return;
    for (size_t i = 0; i < img->n_topics; i++)
        topic_free(img->topics[i]);
    sl_free(img->topics);
    sl_free(img->by_name.slots);
    sl_free(img->by_id.slots);
    for (size_t i = 0; i < img->n_brokers; i++) {
        sl_free(img->brokers[i].host);
        sl_free(img->brokers[i].rack);
    }
    sl_free(img->brokers);
    for (size_t i = 0; i < img->n_bcfg; i++)
        kvset_free(&img->bcfg[i].kv);
    sl_free(img->bcfg);
    sl_free(img->cluster_id);
    sl_free(img);
}

/* ---- accessors ------------------------------------------------------------ */

const char *sl_meta_image_cluster_id(const sl_meta_image *img)
{
    return img->cluster_id;
}
int64_t sl_meta_image_offset(const sl_meta_image *img)
{
    return img->offset;
}
int64_t sl_meta_image_next_producer_id(const sl_meta_image *img)
{
    return img->next_producer_id;
}
size_t sl_meta_topic_count(const sl_meta_image *img)
{
    return img->n_topics;
}
const sl_meta_topic *sl_meta_topic_at(const sl_meta_image *img, size_t i)
{
    return i < img->n_topics ? img->topics[i] : NULL;
}
const char *sl_meta_topic_name(const sl_meta_topic *t)
{
    return t->name;
}
const uint8_t *sl_meta_topic_id(const sl_meta_topic *t)
{
    return t->id;
}
int32_t sl_meta_topic_partition_count(const sl_meta_topic *t)
{
    return (int32_t)t->n_partitions;
}
const sl_meta_partition *sl_meta_topic_partition(const sl_meta_topic *t, int32_t p)
{
    return (p >= 0 && (uint32_t)p < t->n_partitions) ? &t->partitions[p] : NULL;
}
size_t sl_meta_topic_config_count(const sl_meta_topic *t)
{
    return t->configs.n;
}
void sl_meta_topic_config_at(const sl_meta_topic *t, size_t i, const char **key, const char **value)
{
    *key = i < t->configs.n ? t->configs.items[i].key : NULL;
    *value = i < t->configs.n ? t->configs.items[i].value : NULL;
}
const char *sl_meta_topic_config(const sl_meta_topic *t, const char *key)
{
    return kvset_get(&t->configs, key);
}
int32_t sl_meta_partition_leader(const sl_meta_partition *p)
{
    return p->leader;
}
int32_t sl_meta_partition_leader_epoch(const sl_meta_partition *p)
{
    return p->leader_epoch;
}
const int32_t *sl_meta_partition_replicas(const sl_meta_partition *p, size_t *n)
{
    *n = p->n_replicas;
    return p->ids;
}
const int32_t *sl_meta_partition_isr(const sl_meta_partition *p, size_t *n)
{
    *n = p->n_isr;
    return p->ids + p->n_replicas;
}

size_t sl_meta_broker_count(const sl_meta_image *img)
{
    return img->n_brokers;
}
const sl_meta_broker *sl_meta_broker_at(const sl_meta_image *img, size_t i)
{
    return i < img->n_brokers ? &img->brokers[i] : NULL;
}

/* Index of node_id in a sorted array of structs whose first member is the
 * node id, or where it would be inserted. */
static size_t find_node(const void *base, size_t n, size_t size, int32_t node_id, bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t v;
        memcpy(&v, (const char *)base + mid * size, sizeof v);
        if (v == node_id) {
            *found = true;
            return mid;
        }
        if (v < node_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const sl_meta_broker *sl_meta_broker_by_id(const sl_meta_image *img, int32_t node_id)
{
    bool found;
    size_t i = find_node(img->brokers, img->n_brokers, sizeof *img->brokers, node_id, &found);
    return found ? &img->brokers[i] : NULL;
}
int32_t sl_meta_broker_node_id(const sl_meta_broker *b)
{
    return b->node_id;
}
const char *sl_meta_broker_host(const sl_meta_broker *b)
{
    return b->host;
}
int32_t sl_meta_broker_port(const sl_meta_broker *b)
{
    return b->port;
}
const char *sl_meta_broker_rack(const sl_meta_broker *b)
{
    return b->rack;
}

static const kvset *bcfg_get(const sl_meta_image *img, int32_t node_id)
{
    bool found;
    size_t i = find_node(img->bcfg, img->n_bcfg, sizeof *img->bcfg, node_id, &found);
    return found ? &img->bcfg[i].kv : NULL;
}

size_t sl_meta_broker_config_count(const sl_meta_image *img, int32_t node_id)
{
    const kvset *s = bcfg_get(img, node_id);
    return s ? s->n : 0;
}

void sl_meta_broker_config_at(const sl_meta_image *img, int32_t node_id, size_t i, const char **key,
                              const char **value)
{
    const kvset *s = bcfg_get(img, node_id);
    bool ok = s && i < s->n;
    *key = ok ? s->items[i].key : NULL;
    *value = ok ? s->items[i].value : NULL;
}

const char *sl_meta_broker_config(const sl_meta_image *img, int32_t node_id, const char *key)
{
    const kvset *s = bcfg_get(img, node_id);
    return s ? kvset_get(s, key) : NULL;
}

/* ---- checks --------------------------------------------------------------- */

static bool has_nul(sl_meta_str s)
{
    return s.ptr && memchr(s.ptr, 0, s.len) != NULL;
}

static bool contains(const int32_t *ids, uint32_t n, int32_t v)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == v) return true;
    return false;
}

static bool distinct_nonneg(const int32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (ids[i] < 0) return false;
        for (uint32_t j = 0; j < i; j++)
            if (ids[i] == ids[j]) return false;
    }
    return true;
}

static int check_isr(const int32_t *replicas, uint32_t n_replicas, const int32_t *isr,
                     uint32_t n_isr, int32_t leader)
{
    if (!distinct_nonneg(isr, n_isr)) return SL_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < n_isr; i++)
        if (!contains(replicas, n_replicas, isr[i])) return SL_ERR_INVALID_ARG;
    if (leader != -1 && !contains(replicas, n_replicas, leader)) return SL_ERR_INVALID_ARG;
    return 0;
}

static int check_pspecs(const sl_meta_partition_spec *ps, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const sl_meta_partition_spec *p = &ps[i];
        if (p->n_replicas < 1 || p->n_replicas > SL_META_MAX_REPLICAS)
            return SL_ERR_INVALID_REPLICATION_FACTOR;
        if (!distinct_nonneg(p->replicas, p->n_replicas)) return SL_ERR_INVALID_ARG;
        if (p->leader_epoch < 0) return SL_ERR_INVALID_ARG;
        int rc = check_isr(p->replicas, p->n_replicas, p->isr, p->n_isr, p->leader);
        if (rc) return rc;
    }
    return 0;
}

static int check_ops(const sl_meta_config_op *ops, uint32_t n, uint32_t existing)
{
    if (n > SL_META_MAX_CONFIG_OPS) return SL_ERR_INVALID_CONFIG;
    uint32_t sets = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!ops[i].key.ptr || ops[i].key.len == 0 || has_nul(ops[i].key) || has_nul(ops[i].value))
            return SL_ERR_INVALID_CONFIG;
        for (uint32_t j = 0; j < i; j++)
            if (ops[j].key.len == ops[i].key.len &&
                memcmp(ops[j].key.ptr, ops[i].key.ptr, ops[i].key.len) == 0)
                return SL_ERR_INVALID_CONFIG; /* the same key twice */
        sets += ops[i].value.ptr != NULL;
    }
    if ((uint64_t)existing + sets > SL_META_MAX_CONFIG_OPS) return SL_ERR_INVALID_CONFIG;
    return 0;
}

int sl_meta_image_check(const sl_meta_image *img, const sl_meta_record *rec)
{
    switch (rec->type) {
    case SL_META_REC_SKIP:
        return 0;
    case SL_META_REC_REGISTER_BROKER:
        if (rec->broker.node_id < 0 || rec->broker.port < 1 || rec->broker.port > 65535 ||
            !rec->broker.host.ptr || rec->broker.host.len == 0 || has_nul(rec->broker.host) ||
            has_nul(rec->broker.rack))
            return SL_ERR_INVALID_ARG;
        return 0;
    case SL_META_REC_TOPIC: {
        sl_meta_str name = rec->topic.name;
        if (!sl_meta_valid_topic_name(name.ptr, name.len)) return SL_ERR_INVALID_TOPIC;
        if (sl_meta_uuid_is_zero(rec->topic.id)) return SL_ERR_INVALID_ARG;
        if (sl_meta_topic_by_name(img, name.ptr, name.len)) return SL_ERR_EXISTS;
        if (sl_meta_topic_colliding(img, name.ptr, name.len)) return SL_ERR_INVALID_TOPIC;
        if (sl_meta_topic_by_id(img, rec->topic.id)) return SL_ERR_EXISTS;
        if (rec->topic.n_partitions < 1 || rec->topic.n_partitions > SL_META_MAX_PARTITIONS)
            return SL_ERR_INVALID_PARTITIONS;
        int rc = check_pspecs(rec->topic.partitions, rec->topic.n_partitions);
        if (rc) return rc;
        for (uint32_t i = 0; i < rec->topic.n_configs; i++)
            if (!rec->topic.configs[i].value.ptr) return SL_ERR_INVALID_CONFIG;
        return check_ops(rec->topic.configs, rec->topic.n_configs, 0);
    }
    case SL_META_REC_REMOVE_TOPIC:
        return sl_meta_topic_by_id(img, rec->remove_topic.id) ? 0 : SL_ERR_NOT_FOUND;
    case SL_META_REC_PARTITIONS: {
        const sl_meta_topic *t = sl_meta_topic_by_id(img, rec->partitions.id);
        if (!t) return SL_ERR_NOT_FOUND;
        if (rec->partitions.first != t->n_partitions || rec->partitions.n < 1 ||
            (uint64_t)t->n_partitions + rec->partitions.n > SL_META_MAX_PARTITIONS)
            return SL_ERR_INVALID_PARTITIONS;
        return check_pspecs(rec->partitions.partitions, rec->partitions.n);
    }
    case SL_META_REC_CONFIG: {
        const kvset *existing = NULL;
        if (rec->config.resource == SL_META_CONFIG_TOPIC) {
            const sl_meta_topic *t = sl_meta_topic_by_id(img, rec->config.topic_id);
            if (!t) return SL_ERR_NOT_FOUND;
            existing = &t->configs;
        } else if (rec->config.resource == SL_META_CONFIG_BROKER) {
            if (rec->config.node_id < -1) return SL_ERR_INVALID_ARG;
            existing = bcfg_get(img, rec->config.node_id);
        } else {
            return SL_ERR_INVALID_ARG;
        }
        uint32_t have = (existing && !rec->config.replace) ? existing->n : 0;
        return check_ops(rec->config.ops, rec->config.n_ops, have);
    }
    case SL_META_REC_PRODUCER_IDS:
        if (rec->producer_ids.node_id < 0 || rec->producer_ids.count < 1 ||
            rec->producer_ids.count > SL_META_MAX_PID_BLOCK)
            return SL_ERR_INVALID_ARG;
        if (rec->producer_ids.first_id != img->next_producer_id ||
            rec->producer_ids.first_id > INT64_MAX - rec->producer_ids.count)
            return SL_ERR_INVALID_ARG;
        return 0;
    case SL_META_REC_PARTITION_CHANGE: {
        const sl_meta_topic *t = sl_meta_topic_by_id(img, rec->partition_change.topic_id);
        if (!t) return SL_ERR_NOT_FOUND;
        const sl_meta_partition *p = sl_meta_topic_partition(t, rec->partition_change.partition);
        if (!p) return SL_ERR_NOT_FOUND;
        int32_t epoch = rec->partition_change.leader_epoch;
        if (epoch < p->leader_epoch ||
            (rec->partition_change.leader != p->leader && epoch <= p->leader_epoch))
            return SL_ERR_INVALID_ARG;
        return check_isr(p->ids, p->n_replicas, rec->partition_change.isr,
                         rec->partition_change.n_isr, rec->partition_change.leader);
    }
    default:
        return SL_ERR_UNSUPPORTED_VERSION;
    }
}

/* ---- apply ---------------------------------------------------------------- */

static void partition_set(sl_meta_partition *p, const int32_t *replicas, uint32_t n_replicas,
                          const int32_t *isr, uint32_t n_isr)
{
    int32_t *ids = sl_malloc(((size_t)n_replicas + n_isr) * sizeof *ids);
    memcpy(ids, replicas, n_replicas * sizeof *ids);
    if (n_isr) memcpy(ids + n_replicas, isr, n_isr * sizeof *ids);
    sl_free(p->ids);
    p->ids = ids;
    p->n_replicas = n_replicas;
    p->n_isr = n_isr;
}

static void partitions_fill(sl_meta_partition *dst, const sl_meta_partition_spec *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i].leader = src[i].leader;
        dst[i].leader_epoch = src[i].leader_epoch;
        dst[i].ids = NULL;
        partition_set(&dst[i], src[i].replicas, src[i].n_replicas, src[i].isr, src[i].n_isr);
    }
}

static void emit(sl_meta_event_fn fn, void *ctx, sl_meta_event ev)
{
    if (fn) fn(ctx, &ev);
}

static void apply_broker(sl_meta_image *img, const sl_meta_record *rec, sl_meta_event_fn fn,
                         void *ctx)
{
    bool found;
    size_t i =
        find_node(img->brokers, img->n_brokers, sizeof *img->brokers, rec->broker.node_id, &found);
    if (!found) {
        img->brokers = sl_realloc(img->brokers, (img->n_brokers + 1) * sizeof *img->brokers);
        memmove(&img->brokers[i + 1], &img->brokers[i],
                (img->n_brokers - i) * sizeof *img->brokers);
        img->n_brokers++;
    } else {
        sl_free(img->brokers[i].host);
        sl_free(img->brokers[i].rack);
    }
    sl_meta_broker *b = &img->brokers[i];
    b->node_id = rec->broker.node_id;
    b->port = rec->broker.port;
    b->host = sl_strndup(rec->broker.host.ptr, rec->broker.host.len);
    b->rack = rec->broker.rack.ptr ? sl_strndup(rec->broker.rack.ptr, rec->broker.rack.len) : NULL;
    emit(fn, ctx,
         (sl_meta_event){.type = SL_META_EV_BROKER_REGISTERED, .broker = b, .node_id = b->node_id});
}

static void apply_topic(sl_meta_image *img, const sl_meta_record *rec, sl_meta_event_fn fn,
                        void *ctx)
{
    sl_meta_topic *t = SL_NEW(sl_meta_topic);
    t->name = sl_strndup(rec->topic.name.ptr, rec->topic.name.len);
    t->name_len = rec->topic.name.len;
    t->name_hash = name_hash(t->name, t->name_len);
    memcpy(t->id, rec->topic.id, 16);
    t->n_partitions = rec->topic.n_partitions;
    t->partitions = sl_calloc(t->n_partitions, sizeof *t->partitions);
    partitions_fill(t->partitions, rec->topic.partitions, t->n_partitions);
    kvset_apply(&t->configs, rec->topic.configs, rec->topic.n_configs, false);

    if (img->n_topics == img->cap_topics) {
        img->cap_topics = img->cap_topics ? img->cap_topics * 2 : 16;
        img->topics = sl_realloc(img->topics, img->cap_topics * sizeof *img->topics);
    }
    t->index = img->n_topics;
    img->topics[img->n_topics++] = t;
    table_insert(&img->by_name, t, topic_name_hash);
    table_insert(&img->by_id, t, topic_id_hash);
    emit(fn, ctx, (sl_meta_event){.type = SL_META_EV_TOPIC_CREATED, .topic = t});
}

static void apply_remove_topic(sl_meta_image *img, const sl_meta_record *rec, sl_meta_event_fn fn,
                               void *ctx)
{
    sl_meta_topic *t = (sl_meta_topic *)sl_meta_topic_by_id(img, rec->remove_topic.id);
    table_remove(&img->by_name, t, topic_name_hash);
    table_remove(&img->by_id, t, topic_id_hash);
    size_t last = img->n_topics - 1;
    if (t->index != last) {
        img->topics[t->index] = img->topics[last];
        img->topics[t->index]->index = t->index;
    }
    img->n_topics--;
    emit(fn, ctx, (sl_meta_event){.type = SL_META_EV_TOPIC_DELETED, .topic = t});
    topic_free(t);
}

static void apply_partitions(sl_meta_image *img, const sl_meta_record *rec, sl_meta_event_fn fn,
                             void *ctx)
{
    sl_meta_topic *t = (sl_meta_topic *)sl_meta_topic_by_id(img, rec->partitions.id);
    uint32_t old = t->n_partitions;
    t->partitions = sl_realloc(t->partitions, (old + rec->partitions.n) * sizeof *t->partitions);
    partitions_fill(t->partitions + old, rec->partitions.partitions, rec->partitions.n);
    t->n_partitions = old + rec->partitions.n;
    emit(fn, ctx,
         (sl_meta_event){
             .type = SL_META_EV_PARTITIONS_ADDED, .topic = t, .old_count = (int32_t)old});
}

static void apply_config(sl_meta_image *img, const sl_meta_record *rec, sl_meta_event_fn fn,
                         void *ctx)
{
    if (rec->config.resource == SL_META_CONFIG_TOPIC) {
        sl_meta_topic *t = (sl_meta_topic *)sl_meta_topic_by_id(img, rec->config.topic_id);
        if (kvset_apply(&t->configs, rec->config.ops, rec->config.n_ops, rec->config.replace))
            emit(fn, ctx, (sl_meta_event){.type = SL_META_EV_TOPIC_CONFIG_CHANGED, .topic = t});
        return;
    }
    int32_t node = rec->config.node_id;
    bool found;
    size_t i = find_node(img->bcfg, img->n_bcfg, sizeof *img->bcfg, node, &found);
    if (!found) {
        img->bcfg = sl_realloc(img->bcfg, (img->n_bcfg + 1) * sizeof *img->bcfg);
        memmove(&img->bcfg[i + 1], &img->bcfg[i], (img->n_bcfg - i) * sizeof *img->bcfg);
        img->n_bcfg++;
        memset(&img->bcfg[i], 0, sizeof img->bcfg[i]);
        img->bcfg[i].node_id = node;
    }
    bool changed =
        kvset_apply(&img->bcfg[i].kv, rec->config.ops, rec->config.n_ops, rec->config.replace);
    if (img->bcfg[i].kv.n == 0) {
        /* Keep the canonical form: no empty sets. */
        kvset_free(&img->bcfg[i].kv);
        memmove(&img->bcfg[i], &img->bcfg[i + 1], (img->n_bcfg - i - 1) * sizeof *img->bcfg);
        img->n_bcfg--;
    }
    if (changed)
        emit(fn, ctx, (sl_meta_event){.type = SL_META_EV_BROKER_CONFIG_CHANGED, .node_id = node});
}

static void apply_partition_change(sl_meta_image *img, const sl_meta_record *rec,
                                   sl_meta_event_fn fn, void *ctx)
{
    sl_meta_topic *t = (sl_meta_topic *)sl_meta_topic_by_id(img, rec->partition_change.topic_id);
    sl_meta_partition *p = &t->partitions[rec->partition_change.partition];
    int32_t *replicas = sl_malloc(p->n_replicas * sizeof *replicas);
    memcpy(replicas, p->ids, p->n_replicas * sizeof *replicas);
    partition_set(p, replicas, p->n_replicas, rec->partition_change.isr,
                  rec->partition_change.n_isr);
    sl_free(replicas);
    p->leader = rec->partition_change.leader;
    p->leader_epoch = rec->partition_change.leader_epoch;
    emit(fn, ctx,
         (sl_meta_event){.type = SL_META_EV_PARTITION_CHANGED,
                         .topic = t,
                         .partition = rec->partition_change.partition});
}

int sl_meta_image_apply(sl_meta_image *img, const sl_meta_record *rec, int64_t offset,
                        sl_meta_event_fn fn, void *ctx)
{
    if (offset > img->offset) img->offset = offset;
    int rc = sl_meta_image_check(img, rec);
    if (rc) return rc;
    switch (rec->type) {
    case SL_META_REC_REGISTER_BROKER:
        apply_broker(img, rec, fn, ctx);
        break;
    case SL_META_REC_TOPIC:
        apply_topic(img, rec, fn, ctx);
        break;
    case SL_META_REC_REMOVE_TOPIC:
        apply_remove_topic(img, rec, fn, ctx);
        break;
    case SL_META_REC_PARTITIONS:
        apply_partitions(img, rec, fn, ctx);
        break;
    case SL_META_REC_CONFIG:
        apply_config(img, rec, fn, ctx);
        break;
    case SL_META_REC_PRODUCER_IDS:
        img->next_producer_id = rec->producer_ids.first_id + rec->producer_ids.count;
        emit(
            fn, ctx,
            (sl_meta_event){.type = SL_META_EV_PRODUCER_IDS, .node_id = rec->producer_ids.node_id});
        break;
    case SL_META_REC_PARTITION_CHANGE:
        apply_partition_change(img, rec, fn, ctx);
        break;
    default: /* SKIP */
        break;
    }
    return 0;
}

/* ---- snapshot ------------------------------------------------------------- */

#define SNAP_MAGIC   "SLMI"
#define SNAP_VERSION 1
#define SNAP_HEADER  12

static int cmp_topic_name(const void *a, const void *b)
{
    const sl_meta_topic *x = *(const sl_meta_topic *const *)a;
    const sl_meta_topic *y = *(const sl_meta_topic *const *)b;
    return strcmp(x->name, y->name);
}

static void put_kvset(sl_buf *out, const kvset *s)
{
    sl_buf_put_uvarint(out, s->n);
    for (uint32_t i = 0; i < s->n; i++) {
        sl_meta_put_str(out, sl_meta_cstr(s->items[i].key));
        sl_meta_put_str(out, sl_meta_cstr(s->items[i].value));
    }
}

void sl_meta_image_encode(const sl_meta_image *img, sl_buf *out)
{
    size_t start = out->len;
    sl_buf_put(out, SNAP_MAGIC, 4);
    sl_buf_put_i8(out, SNAP_VERSION);
    sl_buf_put(out, "\0\0\0", 3);
    sl_buf_put_i32(out, 0); /* CRC, filled in below */
    sl_buf_put_varlong(out, img->offset);
    sl_buf_put_varlong(out, img->next_producer_id);
    sl_meta_put_str(out, sl_meta_cstr(img->cluster_id));

    sl_buf_put_uvarint(out, img->n_brokers);
    for (size_t i = 0; i < img->n_brokers; i++) {
        const sl_meta_broker *b = &img->brokers[i];
        sl_buf_put_varint(out, b->node_id);
        sl_buf_put_varint(out, b->port);
        sl_meta_put_str(out, sl_meta_cstr(b->host));
        sl_meta_put_nstr(out, sl_meta_cstr(b->rack));
    }
    sl_buf_put_uvarint(out, img->n_bcfg);
    for (size_t i = 0; i < img->n_bcfg; i++) {
        sl_buf_put_varint(out, img->bcfg[i].node_id);
        put_kvset(out, &img->bcfg[i].kv);
    }

    sl_meta_topic **sorted = sl_malloc((img->n_topics ? img->n_topics : 1) * sizeof *sorted);
    if (img->n_topics) memcpy(sorted, img->topics, img->n_topics * sizeof *sorted);
    qsort(sorted, img->n_topics, sizeof *sorted, cmp_topic_name);
    sl_buf_put_uvarint(out, img->n_topics);
    for (size_t i = 0; i < img->n_topics; i++) {
        const sl_meta_topic *t = sorted[i];
        sl_buf_put_uvarint(out, t->name_len);
        sl_buf_put(out, t->name, t->name_len);
        sl_buf_put(out, t->id, 16);
        sl_buf_put_uvarint(out, t->n_partitions);
        for (uint32_t p = 0; p < t->n_partitions; p++) {
            const sl_meta_partition *pp = &t->partitions[p];
            sl_buf_put_varint(out, pp->leader);
            sl_buf_put_varint(out, pp->leader_epoch);
            sl_buf_put_uvarint(out, pp->n_replicas);
            for (uint32_t k = 0; k < pp->n_replicas; k++)
                sl_buf_put_varint(out, pp->ids[k]);
            sl_buf_put_uvarint(out, pp->n_isr);
            for (uint32_t k = 0; k < pp->n_isr; k++)
                sl_buf_put_varint(out, pp->ids[pp->n_replicas + k]);
        }
        put_kvset(out, &t->configs);
    }
    sl_free(sorted);

    uint32_t crc = sl_crc32c(out->data + start + SNAP_HEADER, out->len - start - SNAP_HEADER);
    sl_store_be32(out->data + start + 8, crc);
}

int sl_meta_image_decode(const void *data, size_t len, sl_meta_image **out)
{
    *out = NULL;
    const uint8_t *d = data;
    if (len < SNAP_HEADER) return SL_ERR_TRUNCATED;
    if (memcmp(d, SNAP_MAGIC, 4) != 0 || d[5] || d[6] || d[7]) return SL_ERR_DECODE;
    if (d[4] != SNAP_VERSION)
        return d[4] > SNAP_VERSION ? SL_ERR_UNSUPPORTED_VERSION : SL_ERR_DECODE;
    if (sl_crc32c(d + SNAP_HEADER, len - SNAP_HEADER) != sl_load_be32(d + 8)) return SL_ERR_CORRUPT;

    sl_reader r;
    sl_reader_init(&r, d + SNAP_HEADER, len - SNAP_HEADER);
    int64_t offset = sl_read_varlong(&r);
    int64_t next_pid = sl_read_varlong(&r);
    sl_meta_str cluster = sl_meta_read_str(&r, 255);
    if (r.err) return r.err;
    if (offset < 0 || next_pid < 0 || has_nul(cluster)) return SL_ERR_DECODE;

    char *cid = sl_strndup(cluster.ptr, cluster.len);
    sl_meta_image *img = sl_meta_image_new(cid);
    sl_free(cid);
    sl_arena arena;
    sl_arena_init(&arena, 4096, len * 16 + 65536);
    int rc = 0;

    /* Brokers and config sets must come strictly sorted: canonical form. */
    uint32_t n = sl_read_uvarint(&r);
    int64_t prev = INT64_MIN;
    for (uint32_t i = 0; i < n && !r.err && !rc; i++) {
        sl_meta_record rec = {.type = SL_META_REC_REGISTER_BROKER};
        rec.broker.node_id = sl_read_varint(&r);
        rec.broker.port = sl_read_varint(&r);
        rec.broker.host = sl_meta_read_str(&r, SL_META_MAX_HOST);
        rec.broker.rack = sl_meta_read_nstr(&r, SL_META_MAX_RACK);
        if (r.err) break;
        if (rec.broker.node_id <= prev) rc = SL_ERR_DECODE;
        prev = rec.broker.node_id;
        if (!rc) rc = sl_meta_image_apply(img, &rec, 0, NULL, NULL);
    }
    n = sl_read_uvarint(&r);
    prev = INT64_MIN;
    for (uint32_t i = 0; i < n && !r.err && !rc; i++) {
        sl_arena_reset(&arena);
        sl_meta_record rec = {.type = SL_META_REC_CONFIG};
        rec.config.resource = SL_META_CONFIG_BROKER;
        rec.config.node_id = sl_read_varint(&r);
        uint32_t nops = sl_read_uvarint(&r);
        if (r.err) break;
        if (rec.config.node_id <= prev || nops == 0 || nops > SL_META_MAX_CONFIG_OPS ||
            (size_t)nops * 2 > sl_reader_left(&r)) {
            rc = SL_ERR_DECODE;
            break;
        }
        prev = rec.config.node_id;
        sl_meta_config_op *ops = sl_arena_alloc_array(&arena, nops, sizeof *ops);
        if (!ops) {
            rc = SL_ERR_TOO_LARGE;
            break;
        }
        for (uint32_t k = 0; k < nops; k++) {
            ops[k].key = sl_meta_read_str(&r, SL_META_MAX_CONFIG_KEY);
            ops[k].value = sl_meta_read_str(&r, SL_META_MAX_CONFIG_VALUE);
        }
        rec.config.ops = ops;
        rec.config.n_ops = nops;
        if (!r.err) rc = sl_meta_image_apply(img, &rec, 0, NULL, NULL);
    }
    n = sl_read_uvarint(&r);
    for (uint32_t i = 0; i < n && !r.err && !rc; i++) {
        sl_arena_reset(&arena);
        sl_meta_record rec = {.type = SL_META_REC_TOPIC};
        if (sl_meta_decode_topic_body(&r, &arena, &rec)) break;
        rc = sl_meta_image_apply(img, &rec, 0, NULL, NULL);
    }
    sl_arena_fini(&arena);
    if (!rc && r.err) rc = r.err;
    if (!rc && sl_reader_left(&r) != 0) rc = SL_ERR_DECODE;
    if (rc) {
        sl_meta_image_free(img);
        return rc;
    }
    img->offset = offset;
    img->next_producer_id = next_pid;
    *out = img;
    return 0;
}

bool sl_meta_image_equal(const sl_meta_image *a, const sl_meta_image *b)
{
    sl_buf x, y;
    sl_buf_init(&x);
    sl_buf_init(&y);
    sl_meta_image_encode(a, &x);
    sl_meta_image_encode(b, &y);
    bool eq = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    sl_buf_fini(&x);
    sl_buf_fini(&y);
    return eq;
}

size_t sl_meta_image_memory(const sl_meta_image *img)
{
    size_t m = sizeof *img + strlen(img->cluster_id) + 1;
    m += img->cap_topics * sizeof(sl_meta_topic *);
    m += (img->by_name.cap + img->by_id.cap) * sizeof(sl_meta_topic *);
    for (size_t i = 0; i < img->n_topics; i++) {
        const sl_meta_topic *t = img->topics[i];
        m += sizeof *t + t->name_len + 1 + kvset_memory(&t->configs);
        m += t->n_partitions * sizeof(sl_meta_partition);
        for (uint32_t p = 0; p < t->n_partitions; p++)
            m += (t->partitions[p].n_replicas + t->partitions[p].n_isr) * sizeof(int32_t);
    }
    for (size_t i = 0; i < img->n_brokers; i++)
        m += sizeof(sl_meta_broker) + strlen(img->brokers[i].host) + 1 +
             (img->brokers[i].rack ? strlen(img->brokers[i].rack) + 1 : 0);
    for (size_t i = 0; i < img->n_bcfg; i++)
        m += sizeof(broker_cfg) + kvset_memory(&img->bcfg[i].kv);
    return m;
}
