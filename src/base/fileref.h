/* sl_fileref: a reference-counted open file descriptor.
 *
 * A log segment owns one reference to its .log file. Readers that hand a
 * file range to the network (a Fetch response waiting in a socket queue) or
 * to the fsync worker take their own reference, so retention can delete and
 * close a segment while those bytes are still being sent: on Linux an
 * unlinked file stays readable until its last descriptor closes.
 *
 * Owned by the event-loop thread: ref/unref are not atomic.
 */
#ifndef SL_BASE_FILEREF_H
#define SL_BASE_FILEREF_H

typedef struct sl_fileref sl_fileref;

/* Takes ownership of fd; refcount starts at 1. */
sl_fileref *sl_fileref_new(int fd);
sl_fileref *sl_fileref_ref(sl_fileref *f);
/* Drops a reference; the last one closes the descriptor. NULL is ignored. */
void sl_fileref_unref(sl_fileref *f);
int sl_fileref_fd(const sl_fileref *f);

#endif
