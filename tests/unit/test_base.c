/* Unit tests for src/base: varints, reader bounds, CRC32C, arena, buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/map.h"

static void test_crc32c_check_value(void **state)
{
    (void)state;
    assert_int_equal(sl_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(sl_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    uint8_t big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (uint8_t)(i * 7);
    for (size_t off = 0; off < 9; off++) {
        uint32_t a = sl_crc32c(big + off, sizeof big - off);
        assert_int_equal(a, sl_crc32c_sw(0, big + off, sizeof big - off));
        /* extending in two parts equals one pass */
        uint32_t b =
            sl_crc32c_extend(sl_crc32c(big + off, 100), big + off + 100, sizeof big - off - 100);
        assert_int_equal(a, b);
    }
}

static void test_varints(void **state)
{
    (void)state;
    int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        sl_buf b;
        sl_buf_init(&b);
        sl_buf_put_varlong(&b, vals[i]);
        assert_int_equal(b.len, sl_varlong_size(vals[i]));
        sl_reader r;
        sl_reader_init(&r, b.data, b.len);
        assert_true(sl_read_varlong(&r) == vals[i]);
        assert_int_equal(r.err, 0);
        assert_int_equal(sl_reader_left(&r), 0);
        sl_buf_fini(&b);
    }
    /* over-long uvarint: 6 continuation bytes for a 32-bit value */
    const uint8_t longv[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    sl_reader r;
    sl_reader_init(&r, longv, sizeof longv);
    sl_read_uvarint(&r);
    assert_int_equal(r.err, SL_ERR_DECODE);
    /* value above UINT32_MAX in 5 bytes */
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    sl_reader_init(&r, big, sizeof big);
    sl_read_uvarint(&r);
    assert_int_equal(r.err, SL_ERR_DECODE);
    /* truncated */
    sl_reader_init(&r, longv, 3);
    sl_read_uvarint(&r);
    assert_int_equal(r.err, SL_ERR_TRUNCATED);
}

static void test_reader_sticky(void **state)
{
    (void)state;
    const uint8_t d[] = {0, 1, 0, 0, 0};
    sl_reader r;
    sl_reader_init(&r, d, sizeof d);
    assert_int_equal(sl_read_i16(&r), 1);
    assert_int_equal(sl_read_i32(&r), 0); /* only 3 left */
    assert_int_equal(r.err, SL_ERR_TRUNCATED);
    assert_int_equal(sl_reader_offset(&r), 2);
    assert_int_equal(sl_read_i8(&r), 0); /* sticky */
    assert_int_equal(sl_reader_offset(&r), 2);
}

static void test_arena_limit(void **state)
{
    (void)state;
    sl_arena a;
    sl_arena_init(&a, 256, 4096);
    for (int i = 0; i < 10; i++)
        assert_non_null(sl_arena_alloc(&a, 100));
    assert_null(sl_arena_alloc(&a, 4096));
    assert_null(sl_arena_alloc_array(&a, SIZE_MAX / 2, 4));
    sl_arena_reset(&a);
    assert_non_null(sl_arena_alloc(&a, 3000));
    sl_arena_fini(&a);
}

static void test_buf_splices(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    sl_fileref *f = sl_fileref_new(fd);
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i32(&b, 7);
    sl_buf_put_file(&b, f, 10, 100);
    sl_buf_put_i16(&b, 1);
    assert_int_equal(b.nsplices, 1);
    assert_int_equal(b.splices[0].at, 4);
    assert_int_equal(sl_buf_total(&b), 106);
    sl_fileref_unref(f); /* the buffer still holds a reference */
    assert_int_equal(sl_fileref_fd(b.splices[0].file), fd);
    sl_buf_fini(&b);
}

static void test_map(void **state)
{
    (void)state;
    sl_map m;
    sl_map_init(&m);
    char key[64];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key-%d-with-a-long-suffix-%d", i, i % 7);
        assert_null(
            sl_map_put(&m, key, (size_t)(i % 3 ? n : 5 + i % 5), (void *)(intptr_t)(i + 1)));
        if (i % 3 == 0) /* short keys collide on purpose: replace */
            sl_map_del(&m, key, (size_t)(5 + i % 5));
    }
    for (int i = 0; i < 5000; i++) {
        if (i % 3 == 0) continue;
        int n = snprintf(key, sizeof key, "key-%d-with-a-long-suffix-%d", i, i % 7);
        assert_ptr_equal(sl_map_get(&m, key, (size_t)n), (void *)(intptr_t)(i + 1));
    }
    size_t it = 0, seen = 0;
    while (sl_map_next(&m, &it, NULL, NULL, NULL))
        seen++;
    assert_int_equal(seen, sl_map_count(&m));
    for (uint64_t k = 0; k < 1000; k++)
        sl_map_put_u64(&m, k << 40, (void *)(uintptr_t)(k + 1));
    for (uint64_t k = 0; k < 1000; k += 2)
        assert_ptr_equal(sl_map_del_u64(&m, k << 40), (void *)(uintptr_t)(k + 1));
    for (uint64_t k = 1; k < 1000; k += 2)
        assert_ptr_equal(sl_map_get_u64(&m, k << 40), (void *)(uintptr_t)(k + 1));
    assert_null(sl_map_get_u64(&m, 0));
    sl_map_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value), cmocka_unit_test(test_varints),
        cmocka_unit_test(test_reader_sticky),      cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_buf_splices),        cmocka_unit_test(test_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
