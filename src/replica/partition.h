/* sl_partition: one partition this broker hosts, as seen by the request
 * handlers: its log, its idempotent-producer state, its high watermark and
 * the requests waiting for new data (long-poll Fetch).
 *
 * Single node: this broker leads every partition, the ISR is {self} and the
 * high watermark is the log end. The cluster issue adds follower state and
 * ISR tracking here without changing the handlers' view.
 *
 * Thread: the loop thread.
 */
#ifndef SL_REPLICA_PARTITION_H
#define SL_REPLICA_PARTITION_H

#include <stdint.h>

#include "log/log.h"
#include "replica/producer_state.h"

typedef struct sl_partition sl_partition;

/* A waiter for appends (intrusive: the waiter owns the node). */
typedef struct sl_append_watch {
    struct sl_append_watch *prev, *next;
    sl_partition *partition; /* set while linked */
    /* Called after each append of `bytes` bytes, on the loop thread. The
     * callback may unlink this node (and others of the same waiter). */
    void (*on_append)(struct sl_append_watch *w, int64_t bytes);
} sl_append_watch;

struct sl_partition {
    const char *topic; /* borrowed from the owning topic */
    int32_t index;
    sl_plog *log; /* NULL when the log directory is offline */
    sl_pstate *pstate;
    int32_t leader_epoch;
    int64_t high_watermark;
    sl_append_watch watchers; /* list head (sentinel) */
};

sl_partition *sl_partition_new(const char *topic, int32_t index, sl_plog *log,
                               int32_t leader_epoch);
/* Unlinks every watcher (their owners must not touch them afterwards) and
 * frees the partition; the log itself belongs to the log directory. */
void sl_partition_free(sl_partition *p);

/* Called after the log grew: moves the high watermark and wakes watchers. */
void sl_partition_appended(sl_partition *p, int64_t bytes);

void sl_partition_watch(sl_partition *p, sl_append_watch *w);
void sl_partition_unwatch(sl_append_watch *w);

/* Snapshot path of the producer state of a partition's log. */
int sl_partition_pstate_path(const sl_partition *p, const char *log_dir, char *out, size_t len);

/* Rebuilds the producer state: loads the snapshot if valid, then replays
 * batch headers from its offset to the log end. */
int sl_partition_load_pstate(sl_partition *p, const char *log_dir, int64_t now_ms);
/* Writes the producer-state snapshot as of the log end. */
int sl_partition_save_pstate(sl_partition *p, const char *log_dir);

#endif
