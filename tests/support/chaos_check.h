/* The durability checker of the chaos tests: reads what the workload client
 * (tests/chaos/sl_workload.c) recorded — every send, every final read of
 * every partition, every committed group offset — and reports violations of
 * "acknowledged means durable". Used by tests/chaos/sl_check.c and unit-tested
 * by tests/unit/test_sl_check.c.
 *
 * Input lines (text, one event per line; '#' starts a comment line; fields
 * are separated by single spaces; a value is "p<producer>-<seq>"):
 *
 *   history (in the order the client saw the events)
 *     invoke <value> <partition>                      about to be sent
 *     ack <value> <partition> <offset>                acknowledged at offset
 *     fail <value> <partition> <status> <error>       definitely failed
 *     unknown <value> <partition> <status> <error>    fate unknown
 *   final read
 *     read <partition> <offset> <value>               one record
 *     range <partition> <low> <high>                  the read covered [low, high)
 *   consumer group (optionally ending in a wall-clock timestamp in ms: when
 *   the commit was acknowledged / the fetch sent; when every such line has
 *   one, events are ordered by it — stable, a fetch before a commit of the
 *   same millisecond — so several files can be combined; otherwise the
 *   order is that of the lines)
 *     commit <group> <partition> <offset> [<ms>]      commit acknowledged
 *     fetched <group> <partition> <offset> [<ms>]     committed offset read back
 *                                                     (-1: none)
 *     commitfail ... / fetchfail ...                  ignored
 *
 * Checks (each counts what passed and what failed):
 *   lost          an acknowledged value absent from the read
 *   duplicated    a value at two offsets (a violation only with idempotence)
 *   inconsistent  an offset read with two values; an acknowledgement whose
 *                 offset does not hold its value; a value acknowledged at
 *                 two positions or in another partition than it was sent to
 *   reordered     within a partition, a producer's values (first occurrence
 *                 of each) not in increasing sequence order by offset
 *   phantom       a value read that was never invoked
 *   committed     a committed offset read back lower than the latest commit
 *                 acknowledged before the fetch was sent (committed offsets
 *                 going backwards)
 *   gaps          an offset inside a read range that was not read
 */
#ifndef SL_CHAOS_CHECK_H
#define SL_CHAOS_CHECK_H

#include <stdbool.h>
#include <stdio.h>

enum {
    SL_CHK_LOST,
    SL_CHK_DUPLICATED,
    SL_CHK_INCONSISTENT,
    SL_CHK_REORDERED,
    SL_CHK_PHANTOM,
    SL_CHK_COMMITTED,
    SL_CHK_GAPS,
    SL_CHK__COUNT
};

typedef struct sl_chk_result {
    long passed[SL_CHK__COUNT];
    long failed[SL_CHK__COUNT];
    long invoked, acked, failed_sends, unknown;
    long values_read, offsets_read;
    long failed_present; /* definitely failed sends that are in the log anyway */
    long commits, fetches;
    long violations; /* failures that count (duplicates only with idempotence) */
} sl_chk_result;

typedef struct sl_chk sl_chk;

/* idempotent: duplicates are violations. */
sl_chk *sl_chk_new(bool idempotent);
void sl_chk_free(sl_chk *c);

/* Loads one file of any of the line kinds above. Returns 0, or -1 on a
 * malformed or contradictory line (sl_chk_error says which). */
int sl_chk_load(sl_chk *c, FILE *f, const char *name);
const char *sl_chk_error(const sl_chk *c);

/* Runs every check. With `report`, prints a summary, "<check>: N passed,
 * N failed" per check and a few examples of each failure. Returns -1 (see
 * sl_chk_error) if the input cannot support a verdict: acknowledged values
 * but no read at all. */
int sl_chk_run(sl_chk *c, sl_chk_result *r, FILE *report);

extern const char *const sl_chk_names[SL_CHK__COUNT];

#endif
