/* CRC-32C: the hardware path (three interleaved chains joined with shift
 * tables on long inputs) against the portable slicing-by-8 table, over every
 * length around the block boundaries, every alignment, and continued CRCs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/crc32c.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rng_next(&seed);
    return b;
}

static void test_known_values(void **state)
{
    (void)state;
    assert_int_equal(sl_crc32c("123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(sl_crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    uint8_t ones[32];
    for (int i = 0; i < 32; i++)
        ones[i] = 0xff;
    assert_int_equal(sl_crc32c(ones, 32), 0x62A8AB43u);
}

/* Lengths around 3 x 256 and 3 x 4096 (where the interleaved paths start)
 * and their multiples, at every alignment. */
static void test_boundaries_and_alignment(void **state)
{
    (void)state;
    enum { MAX = 3 * 4096 * 3 + 64 };
    uint8_t *buf = random_bytes(MAX + 8, 42);
    const size_t centers[] = {0,           8, 768, 1536, 3 * 4096, 3 * 4096 + 768, 2 * 3 * 4096,
                              3 * 3 * 4096};
    for (size_t c = 0; c < sizeof centers / sizeof centers[0]; c++) {
        for (size_t len = centers[c] > 20 ? centers[c] - 20 : 0; len <= centers[c] + 20; len++) {
            if (len > MAX) continue;
            for (size_t off = 0; off < 8; off++)
                assert_int_equal(sl_crc32c(buf + off, len), sl_crc32c_sw(0, buf + off, len));
        }
    }
    free(buf);
}

static void test_random_lengths_and_continuation(void **state)
{
    (void)state;
    enum { MAX = 200000 };
    uint8_t *buf = random_bytes(MAX, 7);
    uint64_t s = 99;
    for (int i = 0; i < 3000; i++) {
        size_t off = rng_next(&s) % 64;
        size_t len = rng_next(&s) % (MAX - off);
        if (i % 2) len %= 20000;
        uint32_t init = (uint32_t)rng_next(&s);
        assert_int_equal(sl_crc32c_extend(init, buf + off, len),
                         sl_crc32c_sw(init, buf + off, len));
        /* a CRC continued at any split point equals one pass */
        size_t cut = len ? rng_next(&s) % len : 0;
        uint32_t two = sl_crc32c_extend(sl_crc32c(buf + off, cut), buf + off + cut, len - cut);
        assert_int_equal(two, sl_crc32c(buf + off, len));
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_boundaries_and_alignment),
        cmocka_unit_test(test_random_lengths_and_continuation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
