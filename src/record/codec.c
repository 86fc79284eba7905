/* Placeholder until the codec implementation lands: refuses every codec. */
#include "record/codec.h"

#include "base/err.h"

int sl_compress(enum sl_compression codec, const void *in, size_t len, sl_buf *out)
{
    (void)codec, (void)in, (void)len, (void)out;
    return SL_ERR_UNSUPPORTED_COMPRESSION;
}

int64_t sl_decompress(enum sl_compression codec, const void *in, size_t len, size_t max_out,
                      sl_buf *out)
{
    (void)codec, (void)in, (void)len, (void)max_out, (void)out;
    return SL_ERR_UNSUPPORTED_COMPRESSION;
}
