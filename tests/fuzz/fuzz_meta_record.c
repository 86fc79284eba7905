/* libFuzzer target: the metadata record decoder and apply.
 *
 * Input: a sequence of frames [u16 big-endian length][record bytes]; an
 * input that is not such a sequence is taken as one record. Each record is
 * decoded (strict and as a padded Raft entry) and applied to a scratch image,
 * which exercises every apply-time check with fuzzer-chosen state. Checked
 * invariants: a decoded record re-encodes, and that encoding decodes and
 * re-encodes to the same bytes; the image's snapshot decodes back to an
 * equal image. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/bytes.h"
#include "meta/image.h"
#include "meta/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reencode(const sl_meta_record *rec, sl_arena *arena)
{
    if (rec->type == SL_META_REC_SKIP) return;
    sl_buf a, b;
    sl_buf_init(&a);
    sl_buf_init(&b);
    if (sl_meta_record_encode(rec, &a) != 0) abort();
    sl_meta_record again;
    if (sl_meta_record_decode(a.data, a.len, arena, &again) != 0) abort();
    if (sl_meta_record_encode(&again, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
        abort();
    sl_meta_record_pad(&a);
    if (sl_meta_record_decode_entry(a.data, a.len, arena, &again) != 0) abort();
    sl_buf_fini(&a);
    sl_buf_fini(&b);
}

static void one(sl_meta_image *img, const uint8_t *p, size_t n, int64_t offset, sl_arena *arena)
{
    sl_arena_reset(arena);
    sl_meta_record rec;
    if (sl_meta_record_decode(p, n, arena, &rec) == 0) {
        check_reencode(&rec, arena);
        sl_meta_image_apply(img, &rec, offset, NULL, NULL);
    }
    sl_arena_reset(arena);
    if (sl_meta_record_decode_entry(p, n, arena, &rec) == 0)
        sl_meta_image_apply(img, &rec, offset, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_meta_image *img = sl_meta_image_new("fuzz");
    sl_arena arena;
    sl_arena_init(&arena, 4096, 1 << 24);

    /* Is the input a clean frame sequence? */
    size_t off = 0;
    bool framed = size >= 2;
    while (framed && off < size) {
        if (size - off < 2) {
            framed = false;
            break;
        }
        size_t len = sl_load_be16(data + off);
        if (size - off - 2 < len) framed = false;
        off += 2 + len;
    }
    if (framed) {
        int64_t offset = 1;
        for (off = 0; off < size; offset++) {
            size_t len = sl_load_be16(data + off);
            one(img, data + off + 2, len, offset, &arena);
            off += 2 + len;
        }
    } else {
        one(img, data, size, 1, &arena);
    }

    sl_buf snap;
    sl_buf_init(&snap);
    sl_meta_image_encode(img, &snap);
    sl_meta_image *back = NULL;
    if (sl_meta_image_decode(snap.data, snap.len, &back) != 0 || !sl_meta_image_equal(img, back))
        abort();
    sl_meta_image_free(back);
    /* The snapshot decoder on raw fuzz bytes too. */
    if (sl_meta_image_decode(data, size, &back) == 0) sl_meta_image_free(back);
    sl_buf_fini(&snap);
    sl_arena_fini(&arena);
    sl_meta_image_free(img);
    return 0;
}
