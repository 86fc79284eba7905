/* Records of the internal topic __consumer_offsets.
 *
 * The layouts follow Kafka's own (so Kafka's tools can read them), written
 * here from the field lists; all integers big-endian, strings int16 length
 * + bytes (-1 = null), bytes int32 length + data (-1 = null).
 *
 * Offset commit — key version 1:
 *     int16 version=1 | string group | string topic | int32 partition
 *   value version 3 (null value = tombstone: offset deleted):
 *     int16 version=3 | int64 offset | int32 leader_epoch | string metadata |
 *     int64 commit_timestamp_ms
 *
 * Group metadata — key version 2:
 *     int16 version=2 | string group
 *   value version 3 (null value = tombstone: group deleted):
 *     int16 version=3 | string protocol_type | int32 generation |
 *     nullable string protocol | nullable string leader |
 *     int64 current_state_timestamp_ms | int32 member count, then per member:
 *       string member_id | nullable string group_instance_id |
 *       string client_id | string client_host | int32 rebalance_timeout_ms |
 *       int32 session_timeout_ms | bytes subscription | bytes assignment
 *
 * Invariants: records of one group live in one partition (see
 * sl_coord_partition_for) and are applied in log order; the latest record
 * for a key wins; a tombstone removes the key.
 */
#ifndef SL_GROUP_RECORDS_H
#define SL_GROUP_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "group/coordinator.h"

#define SL_GREC_KEY_OFFSET_V0 0
#define SL_GREC_KEY_OFFSET_V1 1
#define SL_GREC_KEY_GROUP     2

void sl_grec_offset_key(sl_buf *b, sl_gstr group, sl_gstr topic, int32_t partition);
void sl_grec_offset_value(sl_buf *b, int64_t offset, int32_t leader_epoch, sl_gstr metadata,
                          int64_t commit_ms);
void sl_grec_group_key(sl_buf *b, sl_gstr group);

typedef struct sl_grec_member {
    sl_gstr member_id;
    sl_gstr instance_id;
    sl_gstr client_id;
    sl_gstr client_host;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    sl_gstr subscription;
    sl_gstr assignment;
} sl_grec_member;

typedef struct sl_grec_group {
    sl_gstr protocol_type;
    int32_t generation;
    sl_gstr protocol;
    sl_gstr leader;
    int64_t state_ms;
    int32_t nmembers;
} sl_grec_group;

/* Writes the group value header; then call sl_grec_group_member nmembers times. */
void sl_grec_group_value(sl_buf *b, const sl_grec_group *g);
void sl_grec_group_member(sl_buf *b, const sl_grec_member *m);

/* Decoding (borrowed pointers into the input). Return 0 or SL_ERR_CORRUPT /
 * SL_ERR_UNSUPPORTED_VERSION. */
typedef struct sl_grec_key {
    int16_t version;
    sl_gstr group;
    sl_gstr topic;     /* offset keys */
    int32_t partition; /* offset keys */
} sl_grec_key;
int sl_grec_decode_key(const uint8_t *p, int32_t len, sl_grec_key *out);

typedef struct sl_grec_offset {
    int64_t offset;
    int32_t leader_epoch;
    sl_gstr metadata;
    int64_t commit_ms;
} sl_grec_offset;
int sl_grec_decode_offset(const uint8_t *p, int32_t len, sl_grec_offset *out);

/* Decodes the header; members follow through sl_grec_next_member on the
 * same reader. */
int sl_grec_decode_group(sl_reader *r, sl_grec_group *out);
int sl_grec_next_member(sl_reader *r, sl_grec_member *out);

#endif
