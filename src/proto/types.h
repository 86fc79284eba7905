/* Value types of the generated Kafka protocol structs.
 *
 * Decoded strings, bytes and records point into the request buffer (zero
 * copy): they live as long as that buffer, are not NUL-terminated, and a
 * length of -1 means null. Encoders read them the same way, so a handler can
 * answer with slices of the request or of its own arena.
 */
#ifndef SL_PROTO_TYPES_H
#define SL_PROTO_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/fileref.h"

typedef struct sl_str {
    const char *ptr;
    int32_t len; /* -1 = null */
} sl_str;

typedef struct sl_bytes {
    const uint8_t *ptr;
    int32_t len; /* -1 = null */
} sl_bytes;

typedef struct sl_uuid {
    uint8_t b[16];
} sl_uuid;

/* Record data: either memory [ptr, ptr+len) or, when file != NULL, the file
 * range [file_pos, file_pos+len). The encoder writes the length prefix and
 * splices the file range into the sl_buf instead of copying it, which is how
 * Fetch sends stored batches without reading them into memory. The encoder
 * takes its own reference on the file; the caller keeps its own. */
typedef struct sl_records {
    const uint8_t *ptr;
    int32_t len; /* -1 = null */
    sl_fileref *file;
    int64_t file_pos;
} sl_records;

#define SL_STR_NULL     ((sl_str){NULL, -1})
#define SL_BYTES_NULL   ((sl_bytes){NULL, -1})
#define SL_RECORDS_NULL ((sl_records){NULL, -1, NULL, 0})
/* A string literal as an sl_str, e.g. SL_STR_LIT("sluice"). */
#define SL_STR_LIT(s) ((sl_str){"" s, (int32_t)(sizeof(s) - 1)})

/* A borrowed C string (NULL gives a null string). */
static inline sl_str sl_str_c(const char *s)
{
    sl_str r = {s, s ? (int32_t)strlen(s) : -1};
    return r;
}
static inline sl_str sl_str_n(const char *s, int32_t len)
{
    sl_str r = {s, len};
    return r;
}
static inline bool sl_str_is_null(sl_str s)
{
    return s.len < 0;
}
static inline bool sl_str_eq(sl_str a, sl_str b)
{
    if (a.len != b.len) return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}
/* Compares with a C string; a null sl_str equals only NULL. */
static inline bool sl_str_eq_c(sl_str a, const char *c)
{
    return sl_str_eq(a, sl_str_c(c));
}

static inline sl_bytes sl_bytes_n(const void *p, int32_t len)
{
    sl_bytes r = {(const uint8_t *)p, len};
    return r;
}

static inline sl_records sl_records_mem(const void *p, int32_t len)
{
    sl_records r = {(const uint8_t *)p, len, NULL, 0};
    return r;
}
static inline sl_records sl_records_file(sl_fileref *file, int64_t file_pos, int32_t len)
{
    sl_records r = {NULL, len, file, file_pos};
    return r;
}

static inline bool sl_uuid_is_zero(const sl_uuid *u)
{
    static const sl_uuid zero;
    return memcmp(u->b, zero.b, sizeof u->b) == 0;
}

#endif
