/* Durability checker: see chaos_check.h for the input format and the checks. */
#include "chaos_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITION 100000
#define MAX_PRODUCER  ((1 << 23) - 1)
#define MAX_SEQ       ((INT64_C(1) << 40) - 1)
#define MAX_EXAMPLES  8
#define MAX_FIELDS    8

const char *const sl_chk_names[SL_CHK__COUNT] = {
    "lost", "duplicated", "inconsistent", "reordered", "phantom", "committed", "gaps",
};

enum { ST_NONE, ST_ACKED, ST_FAILED, ST_UNKNOWN };

typedef struct value {
    uint64_t key; /* 0 = empty slot */
    int32_t producer;
    int64_t seq;
    bool invoked;
    int32_t partition; /* sent to */
    int state;         /* last outcome seen */
    int32_t ack_partition;
    int64_t ack_offset;
    long acks;
    bool ack_conflict;
    /* from the read */
    long read_positions; /* distinct (partition, offset) holding it */
    int32_t first_partition;
    int64_t first_offset;
    bool other_partition;
    long walk_mark; /* reorder walk: partition index + 1 it was first seen in */
} value;

typedef struct rec {
    int64_t offset;
    uint64_t key; /* 0: not a p<id>-<seq> value */
    char *raw;    /* the value when key == 0 */
} rec;

typedef struct part {
    rec *recs;
    size_t n, cap;
    bool has_range;
    int64_t low, high;
} part;

typedef struct cevent {
    char *group;
    int32_t partition;
    int64_t offset;
    int64_t ts; /* -1: none */
    size_t seq; /* line order */
    bool fetched;
} cevent;

struct sl_chk {
    bool idempotent;
    value *tab;
    size_t tab_cap, tab_n;
    part *parts;
    int32_t nparts;
    cevent *cev;
    size_t ncev, cev_cap;
    bool any_read;
    char err[512];
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "chaos_check: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* ---- value table (open addressing) ---------------------------------------- */

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static value *tab_slot(value *tab, size_t cap, uint64_t key)
{
    size_t i = (size_t)hash64(key) & (cap - 1);
    while (tab[i].key != 0 && tab[i].key != key)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static value *tab_get(sl_chk *c, uint64_t key, bool create)
{
    if (c->tab_cap == 0) {
        if (!create) return NULL;
        c->tab_cap = 1024;
        c->tab = calloc(c->tab_cap, sizeof *c->tab);
        if (!c->tab) abort();
    }
    value *v = tab_slot(c->tab, c->tab_cap, key);
    if (v->key == key) return v;
    if (!create) return NULL;
    if ((c->tab_n + 1) * 2 > c->tab_cap) {
        size_t ncap = c->tab_cap * 2;
        value *nt = calloc(ncap, sizeof *nt);
        if (!nt) abort();
        for (size_t i = 0; i < c->tab_cap; i++)
            if (c->tab[i].key) *tab_slot(nt, ncap, c->tab[i].key) = c->tab[i];
        free(c->tab);
        c->tab = nt;
        c->tab_cap = ncap;
        v = tab_slot(c->tab, c->tab_cap, key);
    }
    memset(v, 0, sizeof *v);
    v->key = key;
    v->producer = (int32_t)((key - 1) >> 40);
    v->seq = (int64_t)((key - 1) & (uint64_t)MAX_SEQ);
    v->state = ST_NONE;
    c->tab_n++;
    return v;
}

/* ---- parsing ---------------------------------------------------------------- */

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* "p<producer>-<seq>" -> key; 0 if it is not one. */
static uint64_t value_key(const char *s, int32_t *producer, int64_t *seq)
{
    if (s[0] != 'p') return 0;
    const char *dash = strchr(s + 1, '-');
    if (!dash || dash == s + 1) return 0;
    char num[32];
    size_t n = (size_t)(dash - s - 1);
    if (n >= sizeof num) return 0;
    memcpy(num, s + 1, n);
    num[n] = 0;
    int64_t p, q;
    if (!parse_i64(num, 0, MAX_PRODUCER, &p) || !parse_i64(dash + 1, 0, MAX_SEQ, &q)) return 0;
    if (num[0] == '+' || num[0] == '-' || dash[1] == '+' || dash[1] == '-') return 0;
    *producer = (int32_t)p;
    *seq = q;
    return ((uint64_t)p << 40 | (uint64_t)q) + 1;
}

static int fail_at(sl_chk *c, const char *name, long line, const char *why)
{
    snprintf(c->err, sizeof c->err, "%s:%ld: %s", name, line, why);
    return -1;
}

static part *get_part(sl_chk *c, int32_t p)
{
    if (p >= c->nparts) {
        int32_t n = p + 1;
        c->parts = xrealloc(c->parts, sizeof *c->parts * (size_t)n);
        memset(c->parts + c->nparts, 0, sizeof *c->parts * (size_t)(n - c->nparts));
        c->nparts = n;
    }
    return &c->parts[p];
}

static int load_line(sl_chk *c, char **f, int nf, const char *name, long ln)
{
    const char *kind = f[0];
    int64_t partition, offset, low, high;
    if (strcmp(kind, "invoke") == 0 || strcmp(kind, "ack") == 0 || strcmp(kind, "fail") == 0 ||
        strcmp(kind, "unknown") == 0) {
        bool is_ack = strcmp(kind, "ack") == 0;
        int need = strcmp(kind, "invoke") == 0 ? 3 : is_ack ? 4 : 5;
        if (nf < need) return fail_at(c, name, ln, "too few fields");
        int32_t producer;
        int64_t seq;
        uint64_t key = value_key(f[1], &producer, &seq);
        if (!key) return fail_at(c, name, ln, "value is not p<producer>-<seq>");
        if (!parse_i64(f[2], 0, MAX_PARTITION - 1, &partition))
            return fail_at(c, name, ln, "bad partition");
        value *v = tab_get(c, key, true);
        if (kind[0] == 'i') {
            if (v->invoked) return fail_at(c, name, ln, "value invoked twice");
            v->invoked = true;
            v->partition = (int32_t)partition;
            return 0;
        }
        if (!v->invoked) return fail_at(c, name, ln, "outcome of a value never invoked");
        if (is_ack) {
            if (!parse_i64(f[3], 0, INT64_MAX, &offset)) return fail_at(c, name, ln, "bad offset");
            if (v->acks > 0 && (v->ack_partition != partition || v->ack_offset != offset))
                v->ack_conflict = true;
            if (partition != v->partition) v->ack_conflict = true;
            v->ack_partition = (int32_t)partition;
            v->ack_offset = offset;
            v->acks++;
            v->state = ST_ACKED;
        } else if (v->state != ST_ACKED) {
            v->state = kind[0] == 'f' ? ST_FAILED : ST_UNKNOWN;
        }
        return 0;
    }
    if (strcmp(kind, "read") == 0) {
        if (nf < 4) return fail_at(c, name, ln, "too few fields");
        if (!parse_i64(f[1], 0, MAX_PARTITION - 1, &partition) ||
            !parse_i64(f[2], 0, INT64_MAX, &offset))
            return fail_at(c, name, ln, "bad partition or offset");
        part *p = get_part(c, (int32_t)partition);
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 256;
            p->recs = xrealloc(p->recs, sizeof *p->recs * p->cap);
        }
        int32_t producer;
        int64_t seq;
        rec *r = &p->recs[p->n++];
        r->offset = offset;
        r->key = value_key(f[3], &producer, &seq);
        r->raw = r->key ? NULL : xstrdup(f[3]);
        c->any_read = true;
        return 0;
    }
    if (strcmp(kind, "range") == 0) {
        if (nf < 4) return fail_at(c, name, ln, "too few fields");
        if (!parse_i64(f[1], 0, MAX_PARTITION - 1, &partition) ||
            !parse_i64(f[2], 0, INT64_MAX, &low) || !parse_i64(f[3], low, INT64_MAX, &high))
            return fail_at(c, name, ln, "bad range");
        part *p = get_part(c, (int32_t)partition);
        if (p->has_range) {
            /* Several reads: every offset of each range must be there. */
            if (low < p->low) p->low = low;
            if (high > p->high) p->high = high;
        } else {
            p->low = low;
            p->high = high;
            p->has_range = true;
        }
        c->any_read = true;
        return 0;
    }
    if (strcmp(kind, "commit") == 0 || strcmp(kind, "fetched") == 0) {
        if (nf < 4) return fail_at(c, name, ln, "too few fields");
        if (!parse_i64(f[2], 0, MAX_PARTITION - 1, &partition) ||
            !parse_i64(f[3], -1, INT64_MAX, &offset))
            return fail_at(c, name, ln, "bad partition or offset");
        if (c->ncev == c->cev_cap) {
            c->cev_cap = c->cev_cap ? c->cev_cap * 2 : 64;
            c->cev = xrealloc(c->cev, sizeof *c->cev * c->cev_cap);
        }
        int64_t ts = -1;
        if (nf >= 5 && !parse_i64(f[4], 0, INT64_MAX, &ts))
            return fail_at(c, name, ln, "bad timestamp");
        cevent *e = &c->cev[c->ncev];
        e->group = xstrdup(f[1]);
        e->partition = (int32_t)partition;
        e->offset = offset;
        e->ts = ts;
        e->seq = c->ncev++;
        e->fetched = kind[0] == 'f';
        return 0;
    }
    if (strcmp(kind, "commitfail") == 0 || strcmp(kind, "fetchfail") == 0) return 0;
    return fail_at(c, name, ln, "unknown line kind");
}

int sl_chk_load(sl_chk *c, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long ln = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        ln++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0 || line[0] == '#') continue;
        char *fields[MAX_FIELDS], *save = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, " ", &save); t && nf < MAX_FIELDS;
             t = strtok_r(NULL, " ", &save))
            fields[nf++] = t;
        if (nf == 0) continue;
        rc = load_line(c, fields, nf, name, ln);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(c->err, sizeof c->err, "%s: read error", name);
        rc = -1;
    }
    free(line);
    return rc;
}

const char *sl_chk_error(const sl_chk *c)
{
    return c->err;
}

/* ---- checks ------------------------------------------------------------------ */

typedef struct reporter {
    FILE *out;
    int shown[SL_CHK__COUNT];
    char lines[SL_CHK__COUNT][MAX_EXAMPLES][200];
} reporter;

static void example(reporter *rp, int check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void example(reporter *rp, int check, const char *fmt, ...)
{
    if (rp->shown[check] >= MAX_EXAMPLES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->lines[check][rp->shown[check]++], sizeof rp->lines[0][0], fmt, ap);
    va_end(ap);
}

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->key == 0) return strcmp(x->raw, y->raw);
    return 0;
}

static void vname(const value *v, char *buf, size_t n)
{
    snprintf(buf, n, "p%" PRId32 "-%" PRId64, v->producer, v->seq);
}

/* Sorts each partition's records and folds repeated identical reads. */
static void normalize_reads(sl_chk *c)
{
    for (int32_t p = 0; p < c->nparts; p++) {
        part *pt = &c->parts[p];
        if (pt->n == 0) continue;
        qsort(pt->recs, pt->n, sizeof *pt->recs, cmp_rec);
        size_t o = 0;
        for (size_t i = 0; i < pt->n; i++) {
            if (o > 0 && cmp_rec(&pt->recs[o - 1], &pt->recs[i]) == 0) {
                free(pt->recs[i].raw);
                continue;
            }
            pt->recs[o++] = pt->recs[i];
        }
        pt->n = o;
    }
}

static void check_positions(sl_chk *c, sl_chk_result *r, reporter *rp)
{
    for (int32_t p = 0; p < c->nparts; p++) {
        part *pt = &c->parts[p];
        for (size_t i = 0; i < pt->n; i++) {
            rec *x = &pt->recs[i];
            bool same_offset_next = i + 1 < pt->n && pt->recs[i + 1].offset == x->offset;
            bool same_offset_prev = i > 0 && pt->recs[i - 1].offset == x->offset;
            if (!same_offset_prev) {
                r->offsets_read++;
                if (same_offset_next) {
                    r->failed[SL_CHK_INCONSISTENT]++;
                    example(rp, SL_CHK_INCONSISTENT,
                            "partition %" PRId32 " offset %" PRId64 " read with two values", p,
                            x->offset);
                } else {
                    r->passed[SL_CHK_INCONSISTENT]++;
                }
            }
            if (x->key == 0) continue;
            value *v = tab_get(c, x->key, true);
            if (v->read_positions == 0) {
                v->first_partition = p;
                v->first_offset = x->offset;
            } else if (v->first_partition != p) {
                v->other_partition = true;
            }
            v->read_positions++;
        }
    }
}

static void check_values(sl_chk *c, sl_chk_result *r, reporter *rp)
{
    char nm[64];
    for (size_t i = 0; i < c->tab_cap; i++) {
        value *v = &c->tab[i];
        if (!v->key) continue;
        vname(v, nm, sizeof nm);
        if (v->invoked) r->invoked++;
        if (v->state == ST_ACKED) r->acked++;
        if (v->state == ST_FAILED) r->failed_sends++;
        if (v->state == ST_UNKNOWN || (v->invoked && v->state == ST_NONE)) r->unknown++;
        if (v->read_positions > 0) {
            r->values_read++;
            if (v->invoked) {
                r->passed[SL_CHK_PHANTOM]++;
            } else {
                r->failed[SL_CHK_PHANTOM]++;
                example(rp, SL_CHK_PHANTOM,
                        "%s read at partition %" PRId32 " offset %" PRId64 " was never sent", nm,
                        v->first_partition, v->first_offset);
            }
            if (v->read_positions > 1) {
                r->failed[SL_CHK_DUPLICATED]++;
                example(rp, SL_CHK_DUPLICATED,
                        "%s at %ld offsets (first: partition %" PRId32 " offset %" PRId64 ")", nm,
                        v->read_positions, v->first_partition, v->first_offset);
            } else {
                r->passed[SL_CHK_DUPLICATED]++;
            }
            if (v->state == ST_FAILED) r->failed_present++;
            if (v->other_partition || (v->invoked && v->first_partition != v->partition)) {
                r->failed[SL_CHK_INCONSISTENT]++;
                example(rp, SL_CHK_INCONSISTENT,
                        "%s sent to partition %" PRId32 " but read in partition %" PRId32, nm,
                        v->partition, v->first_partition);
            }
        }
        if (v->state != ST_ACKED) continue;
        if (v->read_positions == 0) {
            r->failed[SL_CHK_LOST]++;
            example(rp, SL_CHK_LOST,
                    "%s acknowledged at partition %" PRId32 " offset %" PRId64 " is not in the log",
                    nm, v->ack_partition, v->ack_offset);
            continue;
        }
        r->passed[SL_CHK_LOST]++;
        /* The acknowledged position must hold this value. */
        bool ok = !v->ack_conflict;
        if (ok) {
            ok = false;
            if (v->ack_partition < c->nparts) {
                part *pt = &c->parts[v->ack_partition];
                size_t lo = 0, hi = pt->n;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (pt->recs[mid].offset < v->ack_offset)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                for (; lo < pt->n && pt->recs[lo].offset == v->ack_offset; lo++)
                    if (pt->recs[lo].key == v->key) ok = true;
            }
        }
        if (ok) {
            r->passed[SL_CHK_INCONSISTENT]++;
        } else {
            r->failed[SL_CHK_INCONSISTENT]++;
            example(rp, SL_CHK_INCONSISTENT,
                    "%s acknowledged at partition %" PRId32 " offset %" PRId64
                    "%s but read at partition %" PRId32 " offset %" PRId64,
                    nm, v->ack_partition, v->ack_offset,
                    v->ack_conflict ? " (and at another position or partition)" : "",
                    v->first_partition, v->first_offset);
        }
    }
    for (int32_t p = 0; p < c->nparts; p++) {
        part *pt = &c->parts[p];
        for (size_t i = 0; i < pt->n; i++) {
            if (pt->recs[i].key) continue;
            r->failed[SL_CHK_PHANTOM]++;
            example(rp, SL_CHK_PHANTOM,
                    "'%.60s' at partition %" PRId32 " offset %" PRId64 " is not a workload value",
                    pt->recs[i].raw, p, pt->recs[i].offset);
        }
    }
}

/* Per partition, in offset order, the first occurrence of each producer's
 * values must have increasing sequence numbers. */
static void check_order(sl_chk *c, sl_chk_result *r, reporter *rp)
{
    /* last sequence per producer, reset per partition (small dense map). */
    int64_t *last = NULL;
    int64_t *last_off = NULL;
    int32_t *touched = NULL;
    size_t last_cap = 0, ntouched = 0;
    char nm[64];
    for (int32_t p = 0; p < c->nparts; p++) {
        part *pt = &c->parts[p];
        for (size_t i = 0; i < pt->n; i++) {
            if (!pt->recs[i].key) continue;
            value *v = tab_get(c, pt->recs[i].key, false);
            if (!v || v->walk_mark == (long)p + 1) continue; /* a later copy */
            v->walk_mark = (long)p + 1;
            size_t pr = (size_t)v->producer;
            if (pr >= last_cap) {
                size_t ncap = pr + 64;
                last = xrealloc(last, ncap * sizeof *last);
                last_off = xrealloc(last_off, ncap * sizeof *last_off);
                touched = xrealloc(touched, ncap * sizeof *touched);
                for (size_t k = last_cap; k < ncap; k++)
                    last[k] = -1;
                last_cap = ncap;
            }
            if (last[pr] < 0) touched[ntouched++] = (int32_t)pr;
            if (v->seq > last[pr]) {
                if (last[pr] >= 0) r->passed[SL_CHK_REORDERED]++;
                last[pr] = v->seq;
                last_off[pr] = pt->recs[i].offset;
            } else {
                r->failed[SL_CHK_REORDERED]++;
                vname(v, nm, sizeof nm);
                example(rp, SL_CHK_REORDERED,
                        "%s at partition %" PRId32 " offset %" PRId64 " comes after p%" PRId32
                        "-%" PRId64 " at offset %" PRId64,
                        nm, p, pt->recs[i].offset, v->producer, last[pr], last_off[pr]);
            }
        }
        for (size_t k = 0; k < ntouched; k++)
            last[touched[k]] = -1;
        ntouched = 0;
    }
    free(last);
    free(last_off);
    free(touched);
}

static void check_gaps(sl_chk *c, sl_chk_result *r, reporter *rp)
{
    for (int32_t p = 0; p < c->nparts; p++) {
        part *pt = &c->parts[p];
        if (!pt->has_range) continue;
        size_t i = 0;
        int64_t missing_from = -1;
        for (int64_t o = pt->low; o < pt->high; o++) {
            while (i < pt->n && pt->recs[i].offset < o)
                i++;
            if (i < pt->n && pt->recs[i].offset == o) {
                r->passed[SL_CHK_GAPS]++;
                if (missing_from >= 0) {
                    example(rp, SL_CHK_GAPS,
                            "partition %" PRId32 " offsets %" PRId64 "..%" PRId64 " not read", p,
                            missing_from, o - 1);
                    missing_from = -1;
                }
            } else {
                r->failed[SL_CHK_GAPS]++;
                if (missing_from < 0) missing_from = o;
            }
        }
        if (missing_from >= 0)
            example(rp, SL_CHK_GAPS,
                    "partition %" PRId32 " offsets %" PRId64 "..%" PRId64 " not read", p,
                    missing_from, pt->high - 1);
    }
}

static int cmp_cevent(const void *a, const void *b)
{
    const cevent *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    if (x->fetched != y->fetched) return x->fetched ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void check_commits(sl_chk *c, sl_chk_result *r, reporter *rp)
{
    bool all_ts = c->ncev > 0;
    for (size_t i = 0; i < c->ncev && all_ts; i++)
        all_ts = c->cev[i].ts >= 0;
    if (all_ts) qsort(c->cev, c->ncev, sizeof *c->cev, cmp_cevent);
    /* Latest acknowledged commit per (group, partition), in event order: a
     * client may commit a lower offset after seeking back, and then that is
     * what the broker must keep. */
    typedef struct acked {
        const char *group;
        int32_t partition;
        int64_t offset;
    } acked;
    acked *a = NULL;
    size_t na = 0;
    for (size_t i = 0; i < c->ncev; i++) {
        cevent *e = &c->cev[i];
        acked *slot = NULL;
        for (size_t k = 0; k < na && !slot; k++)
            if (a[k].partition == e->partition && strcmp(a[k].group, e->group) == 0) slot = &a[k];
        if (!e->fetched) {
            r->commits++;
            if (!slot) {
                a = xrealloc(a, sizeof *a * (na + 1));
                slot = &a[na++];
                *slot = (acked){e->group, e->partition, -1};
            }
            slot->offset = e->offset; /* the latest acknowledged commit counts */
            continue;
        }
        r->fetches++;
        if (!slot || e->offset >= slot->offset) {
            r->passed[SL_CHK_COMMITTED]++;
        } else {
            r->failed[SL_CHK_COMMITTED]++;
            example(rp, SL_CHK_COMMITTED,
                    "group %s partition %" PRId32 ": committed offset read "
                    "back as %" PRId64 " after a commit of %" PRId64 " was acknowledged",
                    e->group, e->partition, e->offset, slot->offset);
        }
    }
    free(a);
}

int sl_chk_run(sl_chk *c, sl_chk_result *r, FILE *report)
{
    memset(r, 0, sizeof *r);
    reporter *rp = calloc(1, sizeof *rp);
    if (!rp) abort();
    normalize_reads(c);
    check_positions(c, r, rp);
    check_values(c, r, rp);
    check_order(c, r, rp);
    check_gaps(c, r, rp);
    check_commits(c, r, rp);
    int rc = 0;
    if (r->acked > 0 && !c->any_read) {
        snprintf(c->err, sizeof c->err,
                 "acknowledged values but no read: nothing to check them against");
        rc = -1;
    }
    for (int k = 0; k < SL_CHK__COUNT; k++)
        if (k != SL_CHK_DUPLICATED || c->idempotent) r->violations += r->failed[k];
    if (report) {
        fprintf(report,
                "sl_check: invoked=%ld acknowledged=%ld failed=%ld unknown=%ld read: values=%ld "
                "offsets=%ld; commits=%ld fetched=%ld\n",
                r->invoked, r->acked, r->failed_sends, r->unknown, r->values_read, r->offsets_read,
                r->commits, r->fetches);
        for (int k = 0; k < SL_CHK__COUNT; k++) {
            fprintf(report, "%s: %ld passed, %ld failed%s\n", sl_chk_names[k], r->passed[k],
                    r->failed[k],
                    k == SL_CHK_DUPLICATED && !c->idempotent && r->failed[k]
                        ? " (allowed: not idempotent)"
                        : "");
            for (int i = 0; i < rp->shown[k]; i++)
                fprintf(report, "    %s\n", rp->lines[k][i]);
            if (r->failed[k] > rp->shown[k])
                fprintf(report, "    ... %ld more\n", r->failed[k] - rp->shown[k]);
        }
        if (r->failed_present)
            fprintf(report, "note: %ld sends that failed are in the log anyway (allowed)\n",
                    r->failed_present);
        if (rc < 0)
            fprintf(report, "sl_check: cannot decide: %s\n", c->err);
        else if (r->violations)
            fprintf(report, "sl_check: FAILED (%ld violations)\n", r->violations);
        else
            fprintf(report, "sl_check: OK\n");
    }
    free(rp);
    return rc;
}

sl_chk *sl_chk_new(bool idempotent)
{
    sl_chk *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->idempotent = idempotent;
    return c;
}

void sl_chk_free(sl_chk *c)
{
    if (!c) return;
    for (int32_t p = 0; p < c->nparts; p++) {
        for (size_t i = 0; i < c->parts[p].n; i++)
            free(c->parts[p].recs[i].raw);
        free(c->parts[p].recs);
    }
    free(c->parts);
    for (size_t i = 0; i < c->ncev; i++)
        free(c->cev[i].group);
    free(c->cev);
    free(c->tab);
    free(c);
}
