#include "base/buf.h"

#include "base/mem.h"

void sl_buf_init(sl_buf *b)
{
    memset(b, 0, sizeof *b);
}

void sl_buf_reset(sl_buf *b)
{
    for (size_t i = 0; i < b->nsplices; i++)
        sl_fileref_unref(b->splices[i].file);
    b->nsplices = 0;
    b->splice_bytes = 0;
    b->len = 0;
}

void sl_buf_fini(sl_buf *b)
{
    sl_buf_reset(b);
    sl_free(b->data);
    sl_free(b->splices);
    memset(b, 0, sizeof *b);
}

uint8_t *sl_buf_reserve(sl_buf *b, size_t extra)
{
    if (b->cap - b->len < extra) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < extra)
            cap *= 2;
        b->data = sl_realloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void sl_buf_shrink(sl_buf *b, size_t keep)
{
    if (b->cap > keep && b->len <= keep) {
        b->data = sl_realloc(b->data, keep);
        b->cap = keep;
    }
}

void sl_buf_put_file(sl_buf *b, sl_fileref *file, int64_t pos, int64_t len)
{
    if (len <= 0) return;
    if (b->nsplices == b->splice_cap) {
        b->splice_cap = b->splice_cap ? b->splice_cap * 2 : 8;
        b->splices = sl_realloc(b->splices, b->splice_cap * sizeof *b->splices);
    }
    sl_splice *s = &b->splices[b->nsplices++];
    s->at = b->len;
    s->file = sl_fileref_ref(file);
    s->pos = pos;
    s->len = len;
    b->splice_bytes += len;
}
