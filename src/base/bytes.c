#include "base/bytes.h"

#include "base/err.h"

uint64_t sl_read_uvarint_n(sl_reader *r, int maxlen)
{
    uint64_t v = 0;
    for (int i = 0; i < maxlen; i++) {
        if (!sl_reader_need(r, 1)) return 0;
        uint8_t b = *r->pos++;
        if (i == 9 && b > 1) { /* bits beyond 64 */
            sl_reader_fail(r, SL_ERR_DECODE);
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    sl_reader_fail(r, SL_ERR_DECODE);
    return 0;
}
