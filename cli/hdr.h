/* A small HDR-style latency histogram: log-linear buckets with a fixed
 * relative precision, constant-time recording, no allocation after creation.
 *
 * Values are non-negative integers in any unit (the load generator records
 * nanoseconds). Every value up to `highest` is kept with at least
 * `sig_digits` significant decimal digits: the width of the bucket holding a
 * value v is at most v / 10^sig_digits. Values above `highest` are counted
 * in the top bucket (and in sl_hdr_max exactly), so nothing is dropped.
 *
 * Layout: with S = 2^k the smallest power of two >= 2 * 10^sig_digits,
 * values 0..S-1 get one bucket each; above that, every power-of-two range
 * [2^m, 2^(m+1)) is split into S/2 equal buckets.
 *
 * One owner: a histogram is not thread-safe; give each thread its own and
 * merge them with sl_hdr_add. */
#ifndef SL_CLI_HDR_H
#define SL_CLI_HDR_H

#include <stdint.h>
#include <stdio.h>

typedef struct sl_hdr sl_hdr;

/* highest >= 1, sig_digits 1..4; NULL on bad arguments. */
sl_hdr *sl_hdr_new(int64_t highest, int sig_digits);
void sl_hdr_free(sl_hdr *h);
void sl_hdr_reset(sl_hdr *h);

/* Records `count` occurrences of `value` (negative values count as 0). */
void sl_hdr_record_n(sl_hdr *h, int64_t value, int64_t count);
static inline void sl_hdr_record(sl_hdr *h, int64_t value)
{
    sl_hdr_record_n(h, value, 1);
}
/* Adds every count of `src` to `dst`; both must have the same shape
 * (highest, sig_digits). Returns 0 or -1 on a shape mismatch. */
int sl_hdr_add(sl_hdr *dst, const sl_hdr *src);

int64_t sl_hdr_count(const sl_hdr *h);
int64_t sl_hdr_min(const sl_hdr *h); /* exact; 0 when empty */
int64_t sl_hdr_max(const sl_hdr *h); /* exact; 0 when empty */
double sl_hdr_mean(const sl_hdr *h);

/* The value at percentile p (0..100): the largest value equivalent to the
 * bucket where the cumulative count first reaches p% of all values
 * (rounded up, so p=100 gives the max), clamped to [min, max]. An upper
 * bound within the histogram's precision. 0 when empty. */
int64_t sl_hdr_percentile(const sl_hdr *h, double p);

/* Bucket geometry, exposed for tests: the lowest and highest values that
 * land in the same bucket as v. */
int64_t sl_hdr_lowest_equivalent(const sl_hdr *h, int64_t v);
int64_t sl_hdr_highest_equivalent(const sl_hdr *h, int64_t v);

/* Prints "value  percentile  count" lines for the non-empty buckets,
 * values divided by `unit` (e.g. 1000 for ns -> us). */
void sl_hdr_print(const sl_hdr *h, FILE *out, double unit);

#endif
