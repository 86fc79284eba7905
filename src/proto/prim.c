#include "proto/prim.h"

void sl_proto_skip_tags(sl_reader *r)
{
    uint32_t n = sl_read_uvarint(r);
    /* Each field takes at least two bytes, so this loop ends with the input. */
    for (uint32_t i = 0; i < n && !r->err; i++) {
        sl_reader sub;
        sl_proto_tag_open(r, &sub);
        sl_proto_tag_close(r, &sub, false);
    }
}
