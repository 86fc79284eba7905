#include "base/crc32c.h"

#include <string.h>

#define POLY 0x82F63B78u /* reflected 0x1EDC6F41 */

/* Filled once before main() runs, read-only afterwards (safe for any thread). */
static uint32_t table[8][256];

__attribute__((constructor)) static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t sl_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/* The crc32 instruction has a latency of three cycles but can start one per
 * cycle, so one dependent chain runs at a third of the possible speed.
 * Long inputs are cut into three adjacent blocks whose CRCs run as three
 * independent chains, then joined: the raw CRC register is linear, so
 *   reg(r, A|B|C) = shift_2L(reg(r, A)) ^ shift_L(reg(0, B)) ^ reg(0, C)
 * where shift_n(x) = reg(x, n zero bytes), a fixed 32x32 bit matrix, applied
 * as four byte-indexed tables built once at start-up. */
#define CRC_BIG   4096
#define CRC_SMALL 256

/* [0] shift by CRC_BIG, [1] by 2*CRC_BIG, [2] by CRC_SMALL, [3] by 2*CRC_SMALL.
 * Filled once before main() runs, read-only afterwards. */
static uint32_t shift_tab[4][4][256];

__attribute__((target("sse4.2"))) static uint32_t zeros_hw(uint32_t c, size_t n)
{
    uint64_t r = c;
    for (size_t i = 0; i < n / 8; i++)
        r = _mm_crc32_u64(r, 0);
    return (uint32_t)r;
}

__attribute__((target("sse4.2"))) static void shift_init(void)
{
    const size_t n[4] = {CRC_BIG, 2 * CRC_BIG, CRC_SMALL, 2 * CRC_SMALL};
    for (int s = 0; s < 4; s++) {
        uint32_t basis[32];
        for (int i = 0; i < 32; i++)
            basis[i] = zeros_hw(1u << i, n[s]);
        for (int k = 0; k < 4; k++)
            for (uint32_t v = 0; v < 256; v++) {
                uint32_t t = 0;
                for (int b = 0; b < 8; b++)
                    if (v >> b & 1) t ^= basis[8 * k + b];
                shift_tab[s][k][v] = t;
            }
    }
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t x)
{
    return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
}

/* Three chains over blocks of `blk` bytes at p, p + blk, p + 2 * blk. */
__attribute__((target("sse4.2"))) static uint32_t crc3_hw(uint32_t c, const uint8_t *p, size_t blk,
                                                          const uint32_t t1[4][256],
                                                          const uint32_t t2[4][256])
{
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < blk; i += 8) {
        uint64_t wa, wb, wd;
        memcpy(&wa, p + i, 8);
        memcpy(&wb, p + blk + i, 8);
        memcpy(&wd, p + 2 * blk + i, 8);
        a = _mm_crc32_u64(a, wa);
        b = _mm_crc32_u64(b, wb);
        d = _mm_crc32_u64(d, wd);
    }
    return shift(t2, (uint32_t)a) ^ shift(t1, (uint32_t)b) ^ (uint32_t)d;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                            size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    while (len >= 3 * CRC_BIG) {
        c = crc3_hw((uint32_t)c, p, CRC_BIG, shift_tab[0], shift_tab[1]);
        p += 3 * CRC_BIG;
        len -= 3 * CRC_BIG;
    }
    while (len >= 3 * CRC_SMALL) {
        c = crc3_hw((uint32_t)c, p, CRC_SMALL, shift_tab[2], shift_tab[3]);
        p += 3 * CRC_SMALL;
        len -= 3 * CRC_SMALL;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int have_hw; /* set once before main() */

__attribute__((constructor)) static void detect_hw(void)
{
    __builtin_cpu_init();
    have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (have_hw) shift_init();
}

uint32_t sl_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    return have_hw ? crc32c_hw(crc, data, len) : sl_crc32c_sw(crc, data, len);
}
#else
uint32_t sl_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    return sl_crc32c_sw(crc, data, len);
}
#endif
