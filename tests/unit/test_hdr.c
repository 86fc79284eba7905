/* The load generator's latency histogram (cli/hdr.c): bucket geometry and
 * precision, percentiles against an exact sort, overflow, merge, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* The CLI is its own executable; its histogram is compiled in here. */
#include "../../cli/hdr.c"

#define HIGHEST_NS (60LL * 1000 * 1000 * 1000)

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_bad_args(void **state)
{
    (void)state;
    assert_null(sl_hdr_new(0, 3));
    assert_null(sl_hdr_new(1000, 0));
    assert_null(sl_hdr_new(1000, 5));
    sl_hdr *h = sl_hdr_new(1, 1);
    assert_non_null(h);
    sl_hdr_free(h);
}

static void test_empty(void **state)
{
    (void)state;
    sl_hdr *h = sl_hdr_new(HIGHEST_NS, 3);
    assert_int_equal(sl_hdr_count(h), 0);
    assert_int_equal(sl_hdr_percentile(h, 50), 0);
    assert_int_equal(sl_hdr_percentile(h, 100), 0);
    assert_int_equal(sl_hdr_max(h), 0);
    assert_true(sl_hdr_mean(h) == 0.0);
    sl_hdr_free(h);
}

/* Every value lies inside its bucket, buckets tile the range without gaps,
 * and a bucket is never wider than value / 10^digits. */
static void check_geometry(int digits)
{
    sl_hdr *h = sl_hdr_new(HIGHEST_NS, digits);
    int64_t pow10 = 1;
    for (int i = 0; i < digits; i++)
        pow10 *= 10;
    int64_t v = 0, buckets = 0;
    while (v <= HIGHEST_NS) {
        int64_t lo = sl_hdr_lowest_equivalent(h, v);
        int64_t hi = sl_hdr_highest_equivalent(h, v);
        assert_int_equal(lo, v); /* walking bucket starts */
        assert_true(hi >= lo);
        if (hi > lo) assert_true((hi - lo + 1) * pow10 <= lo);
        assert_int_equal(sl_hdr_lowest_equivalent(h, hi), lo);
        assert_int_equal(sl_hdr_highest_equivalent(h, (lo + hi) / 2), hi);
        v = hi + 1;
        buckets++;
    }
    /* log-linear: far fewer buckets than values */
    assert_true(buckets < 40000 * digits);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 100000; i++) {
        int64_t x = (int64_t)(rng_next(&s) % (uint64_t)HIGHEST_NS);
        x >>= rng_next(&s) % 36; /* spread over magnitudes */
        int64_t lo = sl_hdr_lowest_equivalent(h, x);
        int64_t hi = sl_hdr_highest_equivalent(h, x);
        assert_true(lo <= x && x <= hi);
        if (x >= 2 * pow10) assert_true((hi - lo + 1) * pow10 <= x);
    }
    sl_hdr_free(h);
}

static void test_geometry(void **state)
{
    (void)state;
    check_geometry(2);
    check_geometry(3);
}

static void test_small_values_exact(void **state)
{
    (void)state;
    sl_hdr *h = sl_hdr_new(HIGHEST_NS, 3);
    for (int64_t v = 0; v < 2000; v++) {
        assert_int_equal(sl_hdr_lowest_equivalent(h, v), v);
        assert_int_equal(sl_hdr_highest_equivalent(h, v), v);
    }
    for (int64_t v = 1; v <= 1000; v++)
        sl_hdr_record(h, v);
    assert_int_equal(sl_hdr_count(h), 1000);
    assert_int_equal(sl_hdr_min(h), 1);
    assert_int_equal(sl_hdr_max(h), 1000);
    assert_int_equal(sl_hdr_percentile(h, 0), 1);
    assert_int_equal(sl_hdr_percentile(h, 50), 500);
    assert_int_equal(sl_hdr_percentile(h, 99), 990);
    assert_int_equal(sl_hdr_percentile(h, 99.9), 999);
    assert_int_equal(sl_hdr_percentile(h, 100), 1000);
    assert_true(sl_hdr_mean(h) > 500.49 && sl_hdr_mean(h) < 500.51);
    sl_hdr_free(h);
}

/* Percentiles of a long-tailed sample against the exact sorted answer: the
 * histogram reports the top of the exact value's bucket. */
static void test_percentiles_vs_sort(void **state)
{
    (void)state;
    enum { N = 200000 };
    int64_t *vals = malloc(N * sizeof *vals);
    assert_non_null(vals);
    sl_hdr *h = sl_hdr_new(HIGHEST_NS, 3);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        /* ~50 us typical, rare spikes up to tens of ms */
        int64_t v = 20000 + (int64_t)(rng_next(&s) % 60000);
        if (rng_next(&s) % 1000 == 0) v += (int64_t)(rng_next(&s) % 50000000);
        vals[i] = v;
        sl_hdr_record(h, v);
    }
    qsort(vals, N, sizeof *vals, cmp_i64);
    const double ps[] = {0, 1, 25, 50, 90, 99, 99.9, 99.99, 99.999, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        int64_t rank = (int64_t)ceil(ps[i] * N / 100.0 - 1e-6);
        if (rank < 1) rank = 1;
        int64_t exact = vals[rank - 1];
        int64_t got = sl_hdr_percentile(h, ps[i]);
        int64_t want = sl_hdr_highest_equivalent(h, exact);
        if (want > vals[N - 1]) want = vals[N - 1];
        assert_int_equal(got, want);
        assert_true(got >= exact && got - exact <= exact / 1000);
    }
    assert_int_equal(sl_hdr_min(h), vals[0]);
    assert_int_equal(sl_hdr_max(h), vals[N - 1]);
    free(vals);
    sl_hdr_free(h);
}

static void test_overflow_and_negative(void **state)
{
    (void)state;
    sl_hdr *h = sl_hdr_new(1000000, 3);
    sl_hdr_record(h, -5);
    sl_hdr_record(h, 10);
    sl_hdr_record(h, 5000000); /* above highest: kept in the top bucket */
    assert_int_equal(sl_hdr_count(h), 3);
    assert_int_equal(sl_hdr_min(h), 0);
    assert_int_equal(sl_hdr_max(h), 5000000);
    assert_int_equal(sl_hdr_percentile(h, 30), 0);
    assert_int_equal(sl_hdr_percentile(h, 60), 10);
    int64_t top = sl_hdr_percentile(h, 100);
    assert_int_equal(top, 5000000);
    assert_true(sl_hdr_percentile(h, 90) >= 1000000 - 1000000 / 1000);
    sl_hdr_free(h);
}

static void test_add_and_reset(void **state)
{
    (void)state;
    sl_hdr *a = sl_hdr_new(HIGHEST_NS, 3), *b = sl_hdr_new(HIGHEST_NS, 3);
    sl_hdr *all = sl_hdr_new(HIGHEST_NS, 3), *other = sl_hdr_new(HIGHEST_NS, 2);
    uint64_t s = 777;
    for (int i = 0; i < 50000; i++) {
        int64_t v = (int64_t)(rng_next(&s) % 100000000);
        sl_hdr_record(i % 3 ? a : b, v);
        sl_hdr_record(all, v);
    }
    sl_hdr_record_n(a, 42, 7);
    sl_hdr_record_n(all, 42, 7);
    assert_int_equal(sl_hdr_add(a, b), 0);
    assert_int_equal(sl_hdr_count(a), sl_hdr_count(all));
    assert_int_equal(sl_hdr_min(a), sl_hdr_min(all));
    assert_int_equal(sl_hdr_max(a), sl_hdr_max(all));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(sl_hdr_percentile(a, p), sl_hdr_percentile(all, p));
    assert_int_equal(sl_hdr_add(a, other), -1);
    sl_hdr_reset(a);
    assert_int_equal(sl_hdr_count(a), 0);
    assert_int_equal(sl_hdr_percentile(a, 99), 0);
    sl_hdr_record(a, 3);
    assert_int_equal(sl_hdr_min(a), 3);
    assert_int_equal(sl_hdr_percentile(a, 99), 3);
    sl_hdr_free(a);
    sl_hdr_free(b);
    sl_hdr_free(all);
    sl_hdr_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_percentiles_vs_sort),
        cmocka_unit_test(test_overflow_and_negative),
        cmocka_unit_test(test_add_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
