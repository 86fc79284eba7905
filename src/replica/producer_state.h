/* Idempotent-producer state of one partition.
 *
 * For every producer id that wrote to the partition we keep its epoch and
 * its last 5 batches (first/last sequence and base offset). That is what
 * Kafka keeps, and what lets the broker answer a retried batch with its
 * original offset instead of appending it twice, and refuse a gap or a
 * fenced (older) epoch.
 *
 * Rules (same as Kafka's):
 *  - epoch lower than the known one           -> SL_ERR_INVALID_PRODUCER_EPOCH
 *  - same epoch, batch equal to a cached one   -> duplicate: answer with its offset
 *  - same epoch, first_seq != last_seq + 1     -> SL_ERR_OUT_OF_ORDER_SEQUENCE
 *    (sequence wraps from INT32_MAX to 0)
 *  - new (higher) epoch with first_seq != 0    -> SL_ERR_OUT_OF_ORDER_SEQUENCE
 *  - unknown producer id                        -> accepted with any sequence
 *    (its state may have expired or been removed with old segments)
 *
 * Persistence: a snapshot file written at clean shutdown (and periodically)
 * records the state as of an offset; after a restart the broker loads it and
 * replays batch headers from that offset to the log end. Without a valid
 * snapshot it replays the whole log.
 *
 * Snapshot file format (all integers big-endian):
 *   0   4  magic "SLPS"
 *   4   2  version (1)
 *   6   2  reserved (0)
 *   8   8  offset: the state covers every batch below this offset
 *   16  4  entry count N
 *   20  .. N entries:
 *          8 producer id, 2 epoch, 1 batch count B (1..5), 1 reserved,
 *          8 last append wall-clock ms,
 *          B x (4 first sequence, 4 last sequence, 8 base offset), oldest first
 *   end-4  4  CRC-32C of every byte before it
 * A file that is short, has the wrong magic/version or a bad CRC is ignored
 * (full replay instead).
 *
 * Thread: the loop thread that owns the partition.
 */
#ifndef SL_REPLICA_PRODUCER_STATE_H
#define SL_REPLICA_PRODUCER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "record/batch.h"

#define SL_PSTATE_CACHED_BATCHES 5

typedef struct sl_pstate sl_pstate;

sl_pstate *sl_pstate_new(void);
void sl_pstate_free(sl_pstate *s);
void sl_pstate_clear(sl_pstate *s);
size_t sl_pstate_count(const sl_pstate *s);

/* Checks a batch from a producer (h->producer_id >= 0) before it is
 * appended. Returns 0 to append; SL_ERR_DUPLICATE_SEQUENCE with
 * *dup_base_offset set when the batch was already appended; or
 * SL_ERR_OUT_OF_ORDER_SEQUENCE / SL_ERR_INVALID_PRODUCER_EPOCH. */
int sl_pstate_check(const sl_pstate *s, const sl_batch_header *h, int64_t *dup_base_offset);

/* Records an appended batch (also used when replaying the log). Batches
 * without a producer id are ignored. */
void sl_pstate_record(sl_pstate *s, const sl_batch_header *h, int64_t base_offset, int64_t now_ms);

/* Forgets producers idle for longer than max_idle_ms. */
void sl_pstate_expire(sl_pstate *s, int64_t now_ms, int64_t max_idle_ms);

/* Forgets cached batches at or above `offset` (log truncation); producers
 * left without batches are removed. */
void sl_pstate_truncate(sl_pstate *s, int64_t offset);

/* Writes a snapshot atomically (temp file, fsync, rename). */
int sl_pstate_save(const sl_pstate *s, const char *path, int64_t offset);
/* Replaces the state with a snapshot's; *offset receives its offset.
 * SL_ERR_NOT_FOUND if absent, SL_ERR_CORRUPT if unusable. */
int sl_pstate_load(sl_pstate *s, const char *path, int64_t *offset);

#endif
