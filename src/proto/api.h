/* The API table, generic dispatch and request/response headers.
 *
 * The table is generated from the proto/ definitions (see proto_gen.c); one entry per
 * API the broker implements, sorted by key. It drives the ApiVersions
 * response, header-version selection and dispatch by (key, version).
 *
 * Version vocabulary:
 *  - min_version..max_version is what ApiVersions advertises; the codecs
 *    decode and encode every version in it.
 *  - served_min_version is the lowest version the broker answers normally;
 *    below it (Produce v0-2) a handler replies UNSUPPORTED_VERSION. Kafka
 *    does the same, because old clients test the advertised minimum.
 *
 * All functions are pure (no state); any thread may call them.
 */
#ifndef SL_PROTO_API_H
#define SL_PROTO_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/bytes.h"
#include "proto/types.h"
#include "proto_gen.h"

typedef int (*sl_api_decode_fn)(sl_reader *r, sl_arena *a, int16_t version, void *out);
typedef void (*sl_api_encode_fn)(sl_buf *b, int16_t version, const void *in);
typedef size_t (*sl_api_size_fn)(int16_t version, const void *in);
typedef void (*sl_api_init_fn)(void *msg);

typedef struct sl_api_info {
    int16_t key;
    const char *name; /* "Produce" */
    int16_t min_version;
    int16_t served_min_version;
    int16_t max_version;
    int16_t first_flexible_version; /* -1: no flexible version */
    /* Typed codecs behind void pointers, for generic callers (dispatch,
     * fuzzing, tools). Handlers call the typed functions directly. */
    size_t request_sizeof, response_sizeof;
    sl_api_init_fn request_init, response_init;
    sl_api_decode_fn request_decode, response_decode;
    sl_api_encode_fn request_encode, response_encode;
    sl_api_size_fn request_size, response_size;
} sl_api_info;

/* The entry for `api_key`, or NULL if the broker does not implement it. */
const sl_api_info *sl_api_get(int16_t api_key);
/* Every entry, sorted by key (for building the ApiVersions response). */
const sl_api_info *sl_api_list(size_t *count);

static inline bool sl_api_is_flexible(const sl_api_info *api, int16_t version)
{
    return api->first_flexible_version >= 0 && version >= api->first_flexible_version;
}
static inline bool sl_api_version_supported(const sl_api_info *api, int16_t version)
{
    return version >= api->min_version && version <= api->max_version;
}

/* Decodes a request body into a struct allocated from `a` (*out, typed as
 * the API's <Name>Request). Returns 0, SL_ERR_NOT_FOUND (unknown key),
 * SL_ERR_UNSUPPORTED_VERSION (outside the advertised range), or the decode
 * error with r->pos at the failing byte. */
int sl_api_decode_request(int16_t api_key, int16_t version, sl_reader *r, sl_arena *a, void **out);
int sl_api_decode_response(int16_t api_key, int16_t version, sl_reader *r, sl_arena *a, void **out);
/* Encode a body of a known key at a supported version (a bug otherwise:
 * the process aborts, since no valid bytes can be produced). */
void sl_api_encode_request(int16_t api_key, int16_t version, sl_buf *b, const void *req);
void sl_api_encode_response(int16_t api_key, int16_t version, sl_buf *b, const void *resp);
size_t sl_api_request_size(int16_t api_key, int16_t version, const void *req);
size_t sl_api_response_size(int16_t api_key, int16_t version, const void *resp);

/* ---- headers ------------------------------------------------------------ */

/* Request header version for a request of (key, version): 2 when the body
 * version is flexible, else 1. Versions above the advertised maximum count
 * as flexible when the API has flexible versions (as Kafka parses them), so
 * the correlation id of an ApiVersions request from a newer client can
 * still be read. Unknown keys get 1. */
int16_t sl_api_request_header_version(int16_t api_key, int16_t version);
/* Response header version: 1 when the body version is flexible, else 0;
 * ApiVersions always 0 so a client can read it before negotiating. */
int16_t sl_api_response_header_version(int16_t api_key, int16_t version);

/* Decodes a request header (the frame minus its size prefix): peeks key and
 * version, then reads the header version they call for. On success r->pos
 * is at the body. */
int sl_proto_request_header_decode(sl_reader *r, sl_arena *a, RequestHeader *h);
void sl_proto_request_header_encode(sl_buf *b, const RequestHeader *h);
void sl_proto_response_header_encode(sl_buf *b, int16_t api_key, int16_t version,
                                     int32_t correlation_id);
size_t sl_proto_response_header_size(int16_t api_key, int16_t version);

/* Size-prefixed frames: begin reserves the int32 size and returns where it
 * is; end fills it with the bytes written since (memory and splices). */
size_t sl_proto_frame_begin(sl_buf *b);
void sl_proto_frame_end(sl_buf *b, size_t at);

/* Formats a decode failure for the log, e.g.
 * "api=Produce v=9 offset=123: truncated". Returns snprintf's result. */
int sl_proto_format_error(char *buf, size_t n, int16_t api_key, int16_t version, size_t offset,
                          int err);

#endif
