/* HDR-style histogram; see hdr.h for the bucket layout and its precision. */
#include "hdr.h"

#include <math.h>
#include <string.h>

#include "base/mem.h"

struct sl_hdr {
    int64_t highest;
    int sig_digits;
    int sub_bits;    /* S = 2^sub_bits linear buckets at the bottom */
    int64_t nbucket; /* index of `highest` + 1 */
    int64_t total;
    int64_t min, max;
    double sum;
    int64_t counts[]; /* nbucket */
};

static int msb(uint64_t v) /* v > 0 */
{
    return 63 - __builtin_clzll(v);
}

static int64_t index_of(const sl_hdr *h, int64_t v)
{
    int64_t s = (int64_t)1 << h->sub_bits;
    if (v < s) return v;
    int shift = msb((uint64_t)v) - (h->sub_bits - 1);
    int64_t sub = v >> shift; /* in [S/2, S) */
    return s + (int64_t)(shift - 1) * (s / 2) + (sub - s / 2);
}

static int64_t lowest_of_index(const sl_hdr *h, int64_t idx)
{
    int64_t s = (int64_t)1 << h->sub_bits;
    if (idx < s) return idx;
    int64_t j = idx - s;
    int shift = (int)(j / (s / 2)) + 1;
    int64_t sub = j % (s / 2) + s / 2;
    return sub << shift;
}

static int64_t width_of_index(const sl_hdr *h, int64_t idx)
{
    int64_t s = (int64_t)1 << h->sub_bits;
    if (idx < s) return 1;
    return (int64_t)1 << ((idx - s) / (s / 2) + 1);
}

sl_hdr *sl_hdr_new(int64_t highest, int sig_digits)
{
    if (highest < 1 || sig_digits < 1 || sig_digits > 4) return NULL;
    int64_t need = 2;
    for (int i = 0; i < sig_digits; i++)
        need *= 10;
    int bits = 1;
    while (((int64_t)1 << bits) < need)
        bits++;
    sl_hdr probe = {.sub_bits = bits};
    int64_t n = index_of(&probe, highest) + 1;
    sl_hdr *h = sl_calloc(1, sizeof *h + (size_t)n * sizeof(int64_t));
    h->highest = highest;
    h->sig_digits = sig_digits;
    h->sub_bits = bits;
    h->nbucket = n;
    return h;
}

void sl_hdr_free(sl_hdr *h)
{
    sl_free(h);
}

void sl_hdr_reset(sl_hdr *h)
{
    memset(h->counts, 0, (size_t)h->nbucket * sizeof(int64_t));
    h->total = h->min = h->max = 0;
    h->sum = 0;
}

void sl_hdr_record_n(sl_hdr *h, int64_t value, int64_t count)
{
    if (count <= 0) return;
    if (value < 0) value = 0;
    int64_t idx = index_of(h, value < h->highest ? value : h->highest);
    h->counts[idx] += count;
    if (h->total == 0 || value < h->min) h->min = value;
    if (h->total == 0 || value > h->max) h->max = value;
    h->total += count;
    h->sum += (double)value * (double)count;
}

int sl_hdr_add(sl_hdr *dst, const sl_hdr *src)
{
    if (dst->highest != src->highest || dst->sig_digits != src->sig_digits) return -1;
    if (src->total == 0) return 0;
    for (int64_t i = 0; i < src->nbucket; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min) dst->min = src->min;
    if (dst->total == 0 || src->max > dst->max) dst->max = src->max;
    dst->total += src->total;
    dst->sum += src->sum;
    return 0;
}

int64_t sl_hdr_count(const sl_hdr *h)
{
    return h->total;
}

int64_t sl_hdr_min(const sl_hdr *h)
{
    return h->min;
}

int64_t sl_hdr_max(const sl_hdr *h)
{
    return h->max;
}

double sl_hdr_mean(const sl_hdr *h)
{
    return h->total ? h->sum / (double)h->total : 0.0;
}

int64_t sl_hdr_lowest_equivalent(const sl_hdr *h, int64_t v)
{
    return lowest_of_index(h, index_of(h, v < 0 ? 0 : v));
}

int64_t sl_hdr_highest_equivalent(const sl_hdr *h, int64_t v)
{
    int64_t idx = index_of(h, v < 0 ? 0 : v);
    return lowest_of_index(h, idx) + width_of_index(h, idx) - 1;
}

static int64_t clamp_to_seen(const sl_hdr *h, int64_t v)
{
    if (v > h->max) return h->max;
    if (v < h->min) return h->min;
    return v;
}

int64_t sl_hdr_percentile(const sl_hdr *h, double p)
{
    if (h->total == 0) return 0;
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    /* rank = ceil(p% of total); the epsilon keeps 99.9% of 1000 at 999 despite
     * 99.9 having no exact binary form */
    int64_t want = (int64_t)ceil(p * (double)h->total / 100.0 - 1e-6);
    if (want < 1) want = 1;
    if (want > h->total) want = h->total;
    int64_t seen = 0;
    for (int64_t i = 0; i < h->nbucket; i++) {
        seen += h->counts[i];
        if (seen < want) continue;
        if (i == h->nbucket - 1) return h->max; /* holds everything above `highest` */
        return clamp_to_seen(h, lowest_of_index(h, i) + width_of_index(h, i) - 1);
    }
    return h->max;
}

void sl_hdr_print(const sl_hdr *h, FILE *out, double unit)
{
    int64_t seen = 0;
    fprintf(out, "%14s %12s %12s\n", "value", "percentile", "count");
    for (int64_t i = 0; i < h->nbucket; i++) {
        if (!h->counts[i]) continue;
        seen += h->counts[i];
        int64_t v = clamp_to_seen(h, lowest_of_index(h, i) + width_of_index(h, i) - 1);
        fprintf(out, "%14.3f %12.6f %12lld\n", (double)v / unit,
                100.0 * (double)seen / (double)h->total, (long long)h->counts[i]);
    }
}
